"""Ray engine: one actor per worker holds the models; tasks are spread with an actor pool.

`address=None` starts a local Ray instance (`ray.init(num_cpus=workers)`, ~10 s) and shuts it
down afterwards; an address (`ray://host:10001` or `auto`) joins an existing cluster, whose nodes
need vtonkit installed and the dataset folder on a shared filesystem (actors write the files).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from vtonkit.preprocess.engines import Task, WorkerSpec, build_worker
from vtonkit.preprocess.stage_worker import SampleResult

logger = logging.getLogger(__name__)

RAY_HINT = "the ray engine needs Ray: pip install 'vtonkit[ray]' (or pip install 'ray>=2.9')"


class _ActorBody:
    """What each Ray actor runs: a `StageWorker` built once in the constructor."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.worker = build_worker(spec)

    def run(self, task: Task) -> SampleResult:
        return self.worker.run(task)


def run_ray(tasks: Iterable[Task], spec: WorkerSpec, *, workers: int = 1,
            address: str | None = None) -> Iterator[SampleResult]:
    """Yield one result per task, computed by `workers` Ray actors (one task in flight per actor).

    An actor that dies on a task (native crash, out of memory) yields a "worker died" error record
    for exactly that task and is replaced by a new actor; the batch goes on.
    """
    try:
        import ray
        from ray.exceptions import RayActorError
    except ImportError as exc:
        raise ImportError(RAY_HINT) from exc
    from vtonkit.preprocess.engines.local import worker_died

    workers = max(1, int(workers))
    started_here = not ray.is_initialized()
    if started_here:
        # A local instance sees this interpreter's import path, so that plugin backends registered
        # by module path (`WorkerSpec.registrations`) import in the actors as they do here.
        init: dict[str, Any] = {"address": address} if address else {
            "num_cpus": workers, "include_dashboard": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}}
        ray.init(log_to_driver=False, logging_level=logging.WARNING, **init)
    actor_spec = dataclasses.replace(spec, single_thread=workers > 1)
    actor_class = ray.remote(num_cpus=1, max_restarts=0)(_ActorBody)
    idle = [actor_class.remote(actor_spec) for _ in range(workers)]
    in_flight: dict[Any, tuple[Any, Task]] = {}
    remaining = iter(tasks)
    try:
        while True:
            while idle:
                task = next(remaining, None)
                if task is None:
                    break
                actor = idle.pop()
                in_flight[actor.run.remote(task)] = (actor, task)
            if not in_flight:
                return
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            actor, task = in_flight.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except RayActorError:
                logger.warning("Ray actor died on %s; starting a new one", task.source)
                ray.kill(actor)
                actor = actor_class.remote(actor_spec)
                result = worker_died(task)
            idle.append(actor)
            yield result
    finally:
        for actor in idle + [a for a, _ in in_flight.values()]:
            ray.kill(actor)
        if started_here:
            ray.shutdown()
