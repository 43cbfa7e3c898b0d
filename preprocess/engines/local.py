"""Local engine: in-process for one worker, else a process pool whose workers load models once.

Pool workers are spawned (no fork of a parent holding threads or model state) and build their
`StageWorker` in the pool initializer; tasks are fed through a bounded window so that millions
of inputs never sit in the executor's queue at once.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from vtonkit.preprocess.engines import Task, WorkerSpec, build_worker
from vtonkit.preprocess.samples import SampleResult, StageWorker

_WORKER: StageWorker | None = None
WINDOW_PER_WORKER = 4


def _initialize(spec: WorkerSpec) -> None:
    global _WORKER
    _WORKER = build_worker(spec)


def _run(task: Task) -> SampleResult:
    assert _WORKER is not None, "pool worker used before its initializer ran"
    return _WORKER.run(task)


def run_local(tasks: Iterable[Task], spec: WorkerSpec, *, workers: int = 1,
              in_process: bool | None = None) -> Iterator[SampleResult]:
    """Yield one result per task.

    Args:
        workers: pool size; 1 runs in this process unless `in_process=False` (the benchmark uses a
            one-worker pool to compare like with like).
    """
    workers = max(1, int(workers))
    if in_process is None:
        in_process = workers == 1
    if in_process:
        worker = build_worker(spec)
        for task in tasks:
            yield worker.run(task)
        return
    context = multiprocessing.get_context("spawn")
    pool_spec = WorkerSpec(spec.backends, spec.registrations, single_thread=True, extra=spec.extra)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_initialize,
                             initargs=(pool_spec,)) as executor:
        pending: set[Future[SampleResult]] = set()
        iterator = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < workers * WINDOW_PER_WORKER:
                try:
                    pending.add(executor.submit(_run, next(iterator)))
                except StopIteration:
                    exhausted = True
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
