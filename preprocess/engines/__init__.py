"""Execution engines of the batch runner (`batch.run_each`): where the per-item work runs.

The runner only sees the `Engine` interface; engines are named backends in `ENGINES`:

* `inline`: one worker in the calling process (prep-person, prep-cloth, agnostic; `prep --in-process`);
* `pool`: a local process pool (`prep`'s default, even of one worker: a native crash costs one input);
* `ray`: Ray actors, locally or on a cluster.

An engine builds one worker per worker slot by calling the `WorkerFactory` there (so each worker
loads its models once), feeds it items, and yields one result per item in completion order. The
work per item is the same whichever engine runs it, so the outputs are too.

What an engine can do beyond that is declared in its `abilities` class attribute (names from
`ENGINE_ABILITIES`); the caller passes the matching constructor options only to an engine that
declares them (`has_engine_ability`), it never guesses from signatures.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

from vtonkit.preprocess.stages import Registry

Item = TypeVar("Item")
Result = TypeVar("Result")
Item_contra = TypeVar("Item_contra", contravariant=True)
Result_co = TypeVar("Result_co", covariant=True)

ENGINE_ABILITIES = frozenset({
    "parallel",  # Engine(workers=N): N workers at once
    "separate_processes",  # workers run in other processes: the factory and items are pickled, a worker
    # that dies costs its item only (the factory's `lost` result)
    "native_log",  # Engine(native_log=path): what native libraries (MediaPipe/TFLite) print goes there,
    # not over the progress bars
    "cluster",  # Engine(address=...): join a running cluster instead of starting a local one
})


class Worker(Protocol[Item_contra, Result_co]):
    """Runs one item at a time with what it built once (models); never raises (see `batch.attempt`)."""

    def run(self, item: Item_contra) -> Result_co: ...

    def close(self) -> None:
        """Release what the worker built (model threads) now. An engine running the worker in the
        caller's process calls it when the items are done; a worker process just exits."""
        ...


@runtime_checkable
class WorkerFactory(Protocol[Item, Result]):
    """Builds a worker where it runs (picklable for engines with "separate_processes")."""

    def __call__(self) -> Worker[Item, Result]: ...

    def lost(self, item: Item) -> Result:
        """The result of an item whose worker process died while running it alone."""
        ...


class Engine(Protocol):
    """Optional abilities (`abilities` class attribute): `ENGINE_ABILITIES`."""

    name: str
    abilities: frozenset[str]

    def run(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield one result per item, in completion order."""
        ...


def has_engine_ability(engine: Any, ability: str) -> bool:
    """Whether the engine (class or instance) declares `ability` (one of `ENGINE_ABILITIES`)."""
    if ability not in ENGINE_ABILITIES:
        raise ValueError(f"unknown engine ability {ability!r}")
    return ability in getattr(engine, "abilities", frozenset())


# Read once, when each numeric library loads: OpenBLAS (numpy's and OpenCV's own copy) starts its
# thread pool at import, so these must be in a worker's environment before it imports numpy.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def limit_threads() -> None:
    """One thread per numeric library in this process (set in workers that share the cores).

    Libraries already imported keep the pools they started with: a process started by this one
    gets the limits from the start only through `spawning_workers`.
    """
    os.environ.update(SINGLE_THREAD_ENV)
    import cv2

    cv2.setNumThreads(1)


# glibc >= 2.35 reads this at process start: malloc asks the kernel for transparent huge pages
# (madvise), so a worker's first inference, where TFLite/XNNPACK set up and touch ~400 MB, takes
# about half the page faults (prep, 2 workers, 32 photos: 370,000 -> 215,000, kernel time 3.2 s ->
# 1.8-2.1 s). Other C libraries ignore it; with transparent huge pages off it changes nothing.
MALLOC_HUGE_PAGES = "glibc.malloc.hugetlb=1"


def worker_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables a worker process must start with, given the parent's `environment`.

    `SINGLE_THREAD_ENV` (a user's own thread settings are overridden: the workers share the cores),
    and `MALLOC_HUGE_PAGES` added to the user's `GLIBC_TUNABLES` unless those set it already.
    """
    tunables = environment.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb=" not in tunables:
        tunables = f"{tunables}:{MALLOC_HUGE_PAGES}" if tunables else MALLOC_HUGE_PAGES
    return {**SINGLE_THREAD_ENV, "GLIBC_TUNABLES": tunables}


@contextlib.contextmanager
def spawning_workers() -> Iterator[None]:
    """`worker_environment` in this process's environment while it starts worker processes (they inherit it).

    Without it each spawned worker's numpy starts OpenBLAS with a thread per core, whose threads
    spin after every call and take CPU from the other workers (prep, 2 workers, 32 photos: ~2 s
    more CPU, docs/pipeline.md); `limit_threads` in the worker comes too late for them.
    """
    wanted = worker_environment(os.environ)
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


ENGINES: Registry[Engine] = Registry("engine", default="inline")
_E = "vtonkit.preprocess.engines"
ENGINES.register_lazy("inline", f"{_E}.inline:InlineEngine", "one worker in this process")
ENGINES.register_lazy("pool", f"{_E}.local:PoolEngine", "local process pool; a native crash costs one input")
ENGINES.register_lazy("ray", f"{_E}.ray_engine:RayEngine", "Ray actors, local or on a cluster (pip install ray)")
