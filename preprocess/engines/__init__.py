"""Engines run `StageWorker` tasks: in-process, on a local process pool, or on Ray actors.

Every engine builds one `StageWorker` per worker from the same `WorkerSpec` (so each worker loads
each model once) and yields one `SampleResult` per task, in completion order. The work per task
is identical whichever engine runs it, so the outputs are too.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vtonkit.preprocess.stage_worker import ClothTask, PersonTask, SampleResult, StageWorker

Task = PersonTask | ClothTask
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class WorkerSpec:
    """How a worker builds its backends.

    Attributes:
        backends: `{stage: (backend name, options)}` for the stages this run needs.
        registrations: extra `(stage, name, "module:Class")` backends registered in every worker
            before building (plugins, and the test backends of the test suite).
        single_thread: limit numeric libraries to one thread per worker (set when several
            workers share the cores, so they do not oversubscribe them).
        native_log: file that pool workers send what native libraries print to (MediaPipe's
            TFLite lines would otherwise break the progress bars); None keeps the terminal.
    """

    backends: dict[str, tuple[str, dict[str, Any]]]
    registrations: tuple[tuple[str, str, str], ...] = ()
    single_thread: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    native_log: str | None = None


def limit_threads() -> None:
    """One thread per numeric library in this process (workers share the cores)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import cv2

    cv2.setNumThreads(1)


def build_worker(spec: WorkerSpec) -> StageWorker:
    """Apply the spec's registrations, then build the worker (its backends load here, once)."""
    from vtonkit.preprocess.stages import REGISTRIES

    if spec.single_thread:
        limit_threads()
    for stage, name, target in spec.registrations:
        if name not in REGISTRIES[stage].names():
            REGISTRIES[stage].register_lazy(name, target)
    return StageWorker(spec.backends)


def run_tasks(engine: str, tasks: Iterable[Task], spec: WorkerSpec, *, workers: int = 1,
              ray_address: str | None = None, in_process: bool = False) -> Iterator[SampleResult]:
    """Run `tasks` on `engine` ("local" or "ray") with `workers` workers; yields results as they finish."""
    if engine == "local":
        module = importlib.import_module("vtonkit.preprocess.engines.local")
        return module.run_local(tasks, spec, workers=workers, in_process=in_process)
    if engine == "ray":
        module = importlib.import_module("vtonkit.preprocess.engines.ray_engine")
        return module.run_ray(tasks, spec, workers=workers, address=ray_address)
    raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
