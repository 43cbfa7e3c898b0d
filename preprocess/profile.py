"""`prep-profile.json`: per-stage counts and seconds, per-worker model loads and memory, throughput.

`count` is the number of times a stage actually computed; `cache_hits` the times its output came
from the stage cache. Stage seconds are wall-clock; `cpu_s_per_sample` is CPU time. Model loads are counted per worker process (or Ray actor): each must be 1
per model, which is the whole point of building the backends in the worker initializer.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from vtonkit.preprocess.stage_worker import SampleResult, peak_rss_bytes


@dataclass
class ProfileBuilder:
    stage_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    stage_cache_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    clocks: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, result: SampleResult) -> None:
        for stage, seconds in result.seconds.items():
            if stage not in result.cache_hits:
                self.stage_seconds[stage].append(seconds)
        for stage in result.cache_hits:
            self.stage_cache_hits[stage] += 1
        (self.ok if result.ok else self.failed)[result.kind] += 1
        worker = self.workers.setdefault(result.worker, {"samples": 0})
        worker["samples"] += 1
        worker["model_loads"] = dict(result.model_loads)
        worker["model_load_seconds"] = {k: round(v, 3) for k, v in result.load_seconds.items()}
        worker["peak_rss_bytes"] = max(worker.get("peak_rss_bytes", 0), result.peak_rss_bytes)
        worker["cpu_s"] = round(max(worker.get("cpu_s", 0.0), result.cpu_seconds), 3)
        worker["startup_cpu_s"] = round(result.startup_cpu_s, 3)
        clock = self.clocks.setdefault(result.worker, {"started_at": result.worker_started_at,
                                                       "ready_at": result.worker_ready_at, "busy_s": 0.0,
                                                       "first_began_at": result.began_at, "last_ended_at": 0.0})
        clock["busy_s"] += result.ended_at - result.began_at
        clock["first_began_at"] = min(clock["first_began_at"], result.began_at)
        clock["last_ended_at"] = max(clock["last_ended_at"], result.ended_at)

    def timeline(self, run_started_at: float, marks: dict[str, float]) -> dict[str, Any]:
        """Where the wall time of a run went, in seconds from `run_started_at` (epoch seconds).

        `marks` are the main process's moments (`{"tasks_planned": epoch, ...}` -> `tasks_planned_s`);
        per worker: when its process started, when its models were loaded (`ready_s`), when its first
        task began and its last task ended, and its busy seconds. Worker time that is not busy (models
        still loading, waiting for the main process, idle at the end) is what keeps N workers from
        doing N times the work of one.
        """
        def rel(when: float) -> float:
            return round(when - run_started_at, 3)

        workers = {name: {"started_s": rel(c["started_at"]), "ready_s": rel(c["ready_at"]),
                          "first_task_s": rel(c["first_began_at"]), "last_task_end_s": rel(c["last_ended_at"]),
                          "busy_s": round(c["busy_s"], 3)} for name, c in self.clocks.items()}
        return {**{f"{mark}_s": rel(when) for mark, when in marks.items()}, "workers": workers}

    def to_json(self, *, wall_seconds: float, engine: str, workers: int, skipped_complete: dict[str, int],
                backends: dict[str, str]) -> dict[str, Any]:
        stages = {}
        for stage in sorted(set(self.stage_seconds) | set(self.stage_cache_hits)):
            seconds = self.stage_seconds.get(stage, [])
            stages[stage] = {"count": len(seconds), "cache_hits": self.stage_cache_hits.get(stage, 0),
                             "total_s": round(sum(seconds), 4),
                             "mean_s": round(sum(seconds) / len(seconds), 4) if seconds else 0.0}
        processed = sum(self.ok.values()) + sum(self.failed.values())
        worker_rss = [w["peak_rss_bytes"] for w in self.workers.values()]
        return {
            "engine": engine, "workers": workers, "backends": backends,
            "wall_s": round(wall_seconds, 3),
            "samples": {"ok": dict(self.ok), "failed": dict(self.failed), "skipped_complete": skipped_complete},
            "images_per_s": round(processed / wall_seconds, 4) if wall_seconds > 0 and processed else 0.0,
            # CPU seconds of the workers (model loading included) per sample: 1 / this is the rate one
            # free core sustains, a figure that holds on a shared machine where wall time does not.
            "cpu_s_per_sample": round(sum(w["cpu_s"] for w in self.workers.values()) / processed, 4) if processed else 0.0,
            "stages": stages,
            "per_worker": self.workers,
            "max_model_loads_per_worker": max((n for w in self.workers.values()
                                               for n in w.get("model_loads", {}).values()), default=0),
            "peak_rss_bytes": {"main": peak_rss_bytes(), "max_worker": max(worker_rss, default=0)},
        }
