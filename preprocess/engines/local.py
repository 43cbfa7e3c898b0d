"""Pool engine: a local process pool whose workers build their worker (load models) once.

Pool workers are spawned (no fork of a parent holding threads or model state), limit numeric
libraries to one thread each from their start (the workers share the cores), run on a core of
their own when the pool takes every core, and build their worker in the pool initializer; items
are fed through a bounded window so that millions of inputs never sit in the executor's queue at
once.

A worker that dies (a native crash in a model library, the out-of-memory killer) breaks the
pool. The items that were in flight are then retried one at a time in a fresh pool: the one that
kills its worker again gets the factory's `lost` result ("worker process died"), the others
complete, and the batch goes on.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from vtonkit.preprocess.engines import Worker, WorkerFactory, limit_threads, spawning_workers

from vtonkit.core.errors import VtonkitError
from vtonkit.core.native_logs import redirect_native_stderr

logger = logging.getLogger(__name__)

_WORKER: Worker[Any, Any] | None = None
SETUP_ERROR_BYTES = 4096


class WorkerSetupError(VtonkitError):
    """The pool's workers could not build their worker (for instance a backend's weights are missing)."""
WINDOW_PER_WORKER = 4


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies, so a `kill -9` of `vtonkit prep` leaves no orphan
    worker writing into the dataset while the next run starts."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux / no glibc: the orphan finishes its task and exits
        pass


def _leave_without_teardown() -> None:
    """Exit a pool worker at once when the pool shuts it down (registered with `atexit`, so it runs first).

    By then every result has been sent back and every file written (atomically), so there is nothing
    left to clean up; the interpreter's own teardown of the loaded models would cost ~0.45 CPU s per
    worker at the end of every run, while the pool waits for its workers to exit.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _pin_to_own_core(counter: Any, cores: list[int]) -> None:
    """Run this worker, every thread of it, on one core of `cores`: the next one by pool start order.

    A worker's backends keep threads of their own (mediapipe's graph, OpenCV): left free, the
    scheduler moves them onto the other workers' cores (2 workers on 2 cores, 32 photos: 11,700-15,000
    involuntary context switches instead of ~2,100, and 0.2-0.5 s longer).
    """
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    core = {cores[index % len(cores)]}
    for thread in os.listdir("/proc/self/task"):  # threads started later inherit the main thread's
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setaffinity(int(thread), core)


def _initialize(make_worker: WorkerFactory[Any, Any], native_log: str | None, core_counter: Any = None,
                cores: list[int] | None = None, setup_error: Any = None) -> None:
    global _WORKER
    _die_with_parent()
    if core_counter is not None and cores:
        _pin_to_own_core(core_counter, cores)
    if native_log:
        redirect_native_stderr(native_log)
    limit_threads()
    try:
        _WORKER = make_worker()
    except Exception as exc:  # missing weights, a bad backend option: the run's problem, not an item's
        if setup_error is None:
            raise
        # Any failure here fails every worker the same way: raised, it broke the pool, and every
        # item was then reported as a worker death, after a traceback per worker.
        said = str(exc) if isinstance(exc, VtonkitError) else f"the worker could not be built: {type(exc).__name__}: {exc}"
        with setup_error.get_lock():
            setup_error.value = said.encode("utf-8", "replace")[:SETUP_ERROR_BYTES - 1]
        os._exit(3)  # no traceback per worker: the parent reports the message once
    atexit.register(_leave_without_teardown)  # after a successful build: a failed one exits the usual way


def _run(item: Any) -> Any:
    assert _WORKER is not None, "pool worker used before its initializer ran"
    return _WORKER.run(item)


class PoolEngine:
    """`workers` spawned processes (a pool even of one isolates this process from native crashes).

    Args:
        native_log: file the workers send what native libraries print to (MediaPipe's TFLite lines
            would otherwise break the progress bars); None keeps the terminal.
    """

    name = "pool"
    abilities = frozenset({"parallel", "separate_processes", "native_log"})

    def __init__(self, workers: int = 1, native_log: str | None = None) -> None:
        self.workers = max(1, int(workers))
        self.native_log = native_log
        self._setup_error: Any = None  # shared buffer a worker writes its setup failure into

    def run(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        with spawning_workers():  # pools start their workers while items are submitted
            yield from self._run_all(make_worker, items)

    def _run_all(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        remaining = iter(items)
        while True:
            orphans: list[Any] = []
            yield from self._run_window(make_worker, remaining, self.workers, self.workers * WINDOW_PER_WORKER,
                                        orphans)
            if not orphans:
                return
            self._raise_setup_error()
            logger.warning("a worker process died; retrying the %d items it left, one at a time", len(orphans))
            for item in orphans:
                alone: list[Any] = []
                yield from self._run_window(make_worker, iter([item]), 1, 1, alone)
                if alone:
                    self._raise_setup_error()
                    yield make_worker.lost(item)

    def _raise_setup_error(self) -> None:
        """A worker that could not build itself (missing weights) broke the pool: every item would be
        reported as a worker death. Raise its error once instead."""
        if self._setup_error is not None and self._setup_error.value:
            raise WorkerSetupError(self._setup_error.value.decode("utf-8", "replace"))

    def _pool(self, make_worker: WorkerFactory[Any, Any], workers: int) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        # Pinned only when the pool takes every core this process may use (`--workers` = cores): a pool
        # on part of a machine leaves the placement to the scheduler, so that two runs side by
        # side do not pile onto the same cores.
        counter = context.Value("i", 0) if workers > 1 and workers == len(cores) else None
        if self._setup_error is None:
            self._setup_error = context.Array("c", SETUP_ERROR_BYTES)
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_initialize,
                                   initargs=(make_worker, self.native_log, counter, cores, self._setup_error))

    def _run_window(self, make_worker: WorkerFactory[Any, Any], items: Iterator[Any], workers: int, window: int,
                    orphans: list[Any]) -> Iterator[Any]:
        """Run `items` on one pool; on a broken pool, put the unfinished items into `orphans` and stop."""
        pending: dict[Future[Any], Any] = {}
        with self._pool(make_worker, workers) as executor:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        item = next(items)
                    except StopIteration:
                        exhausted = True
                        break
                    try:
                        pending[executor.submit(_run, item)] = item
                    except BrokenProcessPool:  # broke between two results
                        orphans.append(item)
                        orphans.extend(pending.values())
                        return
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    item = pending.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        orphans.append(item)
                        broken = True
                    else:
                        yield future.result()
                if broken:  # every other unfinished item of this pool is lost with it: hand them back
                    for future, item in pending.items():
                        if future.done() and not future.cancelled() and future.exception() is None:
                            yield future.result()
                        else:
                            orphans.append(item)
                    return
