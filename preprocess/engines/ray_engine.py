"""Ray engine: one actor per worker holds the models; tasks are spread with an actor pool.

`address=None` starts a local Ray instance (`ray.init(num_cpus=workers)`, ~10 s) and shuts it
down afterwards; an address (`ray://host:10001` or `auto`) joins an existing cluster, whose nodes
need vtonkit installed and the dataset folder on a shared filesystem (actors write the files).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from vtonkit.preprocess.engines import Task, WorkerSpec, build_worker
from vtonkit.preprocess.samples import SampleResult

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
    """Yield one result per task, computed by `workers` Ray actors."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as exc:
        raise ImportError(RAY_HINT) from exc
    workers = max(1, int(workers))
    started_here = not ray.is_initialized()
    if started_here:
        init: dict[str, Any] = {"address": address} if address else {
            "num_cpus": workers, "include_dashboard": False}
        ray.init(log_to_driver=False, logging_level=logging.WARNING, **init)
    actor_spec = WorkerSpec(spec.backends, spec.registrations, single_thread=workers > 1, extra=spec.extra)
    actor_class = ray.remote(num_cpus=1)(_ActorBody)
    actors = [actor_class.remote(actor_spec) for _ in range(workers)]
    try:
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda actor, task: actor.run.remote(task), tasks)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            ray.shutdown()
