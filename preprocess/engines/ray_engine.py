"""Ray engine: one actor per worker holds the models; items are spread over the actors.

`address=None` starts a local Ray instance (`vtonkit.core.ray_session`, ~10 s) and shuts it
down afterwards; an address (`ray://host:10001` or `auto`) joins an existing cluster, whose nodes
need vtonkit installed and the dataset folder on a shared filesystem (actors write the files).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from vtonkit.core.ray_session import ray_session
from vtonkit.preprocess.engines import WorkerFactory, limit_threads, worker_environment

logger = logging.getLogger(__name__)

class _ActorBody:
    """What each Ray actor runs: the worker built once in the constructor."""

    def __init__(self, make_worker: WorkerFactory[Any, Any], single_thread: bool) -> None:
        if single_thread:
            limit_threads()
        self.worker = make_worker()

    def run(self, item: Any) -> Any:
        return self.worker.run(item)


class RayEngine:
    """`workers` Ray actors, one item in flight per actor.

    An actor that dies on an item (native crash, out of memory) yields the factory's `lost` result
    for exactly that item and is replaced by a new actor; the batch goes on.
    """

    name = "ray"
    abilities = frozenset({"parallel", "separate_processes", "native_log", "cluster"})

    def __init__(self, workers: int = 1, native_log: str | None = None, address: str | None = None) -> None:
        self.workers = max(1, int(workers))
        self.native_log = native_log  # accepted for the interface; Ray keeps the actors' output in its own logs
        self.address = address

    def run(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        with ray_session(self.address, self.workers) as ray:
            yield from self._run_actors(ray, make_worker, items)

    def _run_actors(self, ray: Any, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        from ray.exceptions import RayActorError

        single_thread = self.workers > 1
        options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0}
        if single_thread:  # from the actor process's start, as the pool does (`spawning_workers`)
            options["runtime_env"] = {"env_vars": worker_environment(os.environ)}
        actor_class = ray.remote(**options)(_ActorBody)
        idle = [actor_class.remote(make_worker, single_thread) for _ in range(self.workers)]
        in_flight: dict[Any, tuple[Any, Any]] = {}
        remaining = iter(items)
        exhausted = False
        try:
            while True:
                while idle and not exhausted:
                    try:
                        item = next(remaining)
                    except StopIteration:
                        exhausted = True
                        break
                    actor = idle.pop()
                    in_flight[actor.run.remote(item)] = (actor, item)
                if not in_flight:
                    return
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                actor, item = in_flight.pop(ready[0])
                try:
                    result = ray.get(ready[0])
                except RayActorError:
                    logger.warning("Ray actor died on %r; starting a new one", item)
                    ray.kill(actor)
                    actor = actor_class.remote(make_worker, single_thread)
                    result = make_worker.lost(item)
                idle.append(actor)
                yield result
        finally:
            for actor in idle + [a for a, _ in in_flight.values()]:
                ray.kill(actor)
