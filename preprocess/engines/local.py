"""Local engine: in-process for one worker, else a process pool whose workers load models once.

Pool workers are spawned (no fork of a parent holding threads or model state) and build their
`StageWorker` in the pool initializer; tasks are fed through a bounded window so that millions
of inputs never sit in the executor's queue at once.

A worker that dies (a native crash in a model library, the out-of-memory killer) breaks the
pool. The tasks that were in flight are then retried one at a time in a fresh pool: the one that
kills its worker again gets an error record ("worker process died"), the others complete, and the
batch goes on. (In-process mode, for tests and debugging, cannot survive such a crash.)
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from vtonkit.preprocess.engines import Task, WorkerSpec, build_worker
from vtonkit.preprocess.stage_worker import ClothTask, SampleResult, StageWorker

from vtonkit.core.native_logs import redirect_native_stderr

logger = logging.getLogger(__name__)

_WORKER: StageWorker | None = None
WINDOW_PER_WORKER = 4


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a `kill -9` of `vtonkit prep` leaves no orphan
    worker writing into the dataset while the next run starts."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux / no glibc: the orphan finishes its task and exits
        pass


def _initialize(spec: WorkerSpec) -> None:
    global _WORKER
    _die_with_parent()
    if spec.native_log:
        redirect_native_stderr(spec.native_log)
    _WORKER = build_worker(spec)


def _run(task: Task) -> SampleResult:
    assert _WORKER is not None, "pool worker used before its initializer ran"
    return _WORKER.run(task)


def worker_died(task: Task) -> SampleResult:
    """The error result of a task whose worker process died while running it alone."""
    kind = "cloth" if isinstance(task, ClothTask) else "person"
    return SampleResult(kind, task.split, task.stem, task.source, ok=False, error={
        "stage": "worker", "file": task.source, "error_type": "WorkerDied",
        "reason": "the worker process died while processing this input alone (native crash or out of memory)"})


def _pool(spec: WorkerSpec, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_initialize, initargs=(spec,))


def _run_window(tasks: Iterator[Task], spec: WorkerSpec, workers: int, window: int,
                orphans: list[Task]) -> Iterator[SampleResult]:
    """Run `tasks` on one pool; on a broken pool, put the unfinished tasks into `orphans` and stop."""
    pending: dict[Future[SampleResult], Task] = {}
    with _pool(spec, workers) as executor:
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    task = next(tasks)
                except StopIteration:
                    exhausted = True
                    break
                try:
                    pending[executor.submit(_run, task)] = task
                except BrokenProcessPool:  # broke between two results
                    orphans.append(task)
                    orphans.extend(pending.values())
                    return
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = pending.pop(future)
                if isinstance(future.exception(), BrokenProcessPool):
                    orphans.append(task)
                    broken = True
                else:
                    yield future.result()
            if broken:  # every other unfinished task of this pool is lost with it: hand them back
                for future, task in pending.items():
                    if future.done() and not future.cancelled() and future.exception() is None:
                        yield future.result()
                    else:
                        orphans.append(task)
                return


def run_local(tasks: Iterable[Task], spec: WorkerSpec, *, workers: int = 1,
              in_process: bool = False) -> Iterator[SampleResult]:
    """Yield one result per task.

    Args:
        workers: pool size (a pool of one still isolates the main process from native crashes).
        in_process: run one worker in this process instead (tests, debugging).
    """
    workers = max(1, int(workers))
    if in_process:
        worker = build_worker(spec)
        for task in tasks:
            yield worker.run(task)
        return
    pool_spec = dataclasses.replace(spec, single_thread=True)
    remaining = iter(tasks)
    while True:
        orphans: list[Task] = []
        yield from _run_window(remaining, pool_spec, workers, workers * WINDOW_PER_WORKER, orphans)
        if not orphans:
            return
        logger.warning("a worker process died; retrying the %d tasks it left, one at a time", len(orphans))
        for task in orphans:
            alone: list[Task] = []
            yield from _run_window(iter([task]), pool_spec, 1, 1, alone)
            if alone:
                yield worker_died(task)
