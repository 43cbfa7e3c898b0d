"""The `vtonkit prep` worker: one sample through every stage, the unit of work the engines run (in-process, pool, Ray).

A `StageWorker` builds its backends once (`model_loads` counts the builds; the profile shows one
per model and worker) and then runs `PersonTask`s and `ClothTask`s through the same per-sample
chains as `prep-person` / `prep-cloth`, with caching and timing added per stage:

* person: `person.process_person` (normalise, which runs the pose model to refocus, and pose ->
  parse -> DensePose -> agnostic) -> write the 8 person files;
* cloth: `cloth.process_cloth` (prepare -> cloth mask) -> write `cloth/` and `cloth-mask/`.

Pose, parse, DensePose and cloth-mask outputs come from the stage cache when their key is there
(see `cache.py`; pose is replayed into the refocus, see `pose_replay.py`); normalise, cloth preparation
and agnostic are cheap pure functions and are recomputed whenever a sample is (re)written. A
sample's completion marker is written after all its files, and removed before they are
rewritten, so a killed run never leaves a sample that looks complete but is not. Every failure
becomes an error record (nothing is raised) and removes the sample's files from an earlier run,
which no longer match the inputs and backends.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from vtonkit.datasets.io.files import atomic_write_json
from vtonkit.datasets.layout import DatasetLayout, SplitDir
from vtonkit.preprocess import cloth, person
from vtonkit.preprocess.cache import CachedError, StageCache
from vtonkit.preprocess.pose_replay import RecordingPose, ReplayMismatch, replay_normalise
from vtonkit.preprocess.stages import PoseResult

from vtonkit.core.errors import VtonkitError
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

PERSON_STAGES = ("normalize", "pose", "parse", "densepose", "agnostic", "write")
CLOTH_STAGES = ("cloth", "cloth_mask", "cloth_write")
# Stages whose outputs the cache keeps (as arrays under these names); the others are cheap and pure.
CACHED_ARRAYS = {"parse": "labels", "densepose": "part_ids", "cloth_mask": "mask"}

# Versions of the pure steps (normalise, garment preparation, agnostic, writers): part of the cache
# keys and completion markers; bump one when its outputs change.
NORMALIZE_VERSION = "1"
CLOTH_PREP_VERSION = "1"
AGNOSTIC_VERSION = "1"
WRITER_VERSION = "1"


@dataclass(frozen=True)
class PersonTask:
    """A person photo to turn into `image/`, `openpose_*`, `image-parse-*`, `image-densepose/`, `agnostic*`.

    `keys` maps each stage to its cache key and "sample" to the key the completion marker holds.
    """

    dataset: str
    split: str
    stem: str
    source: str
    category: str
    keys: dict[str, str]
    keep_framing: bool = False


@dataclass(frozen=True)
class ClothTask:
    """A garment shot to turn into `cloth/<stem>.jpg` and `cloth-mask/<stem>.jpg`."""

    dataset: str
    split: str
    stem: str
    source: str
    keys: dict[str, str]


@dataclass
class SampleResult:
    """What happened to one task (picklable; sent back from pool workers and Ray actors)."""

    kind: str
    split: str
    stem: str
    source: str
    ok: bool
    error: dict[str, str] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: list[str] = field(default_factory=list)
    worker: str = ""
    model_loads: dict[str, int] = field(default_factory=dict)
    load_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    cpu_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    uncached: bool = False  # set when a cached entry proved stale: the sample is recomputed whole


def marker_path(dataset: str | Path, split: str, kind: str, stem: str) -> Path:
    """Completion marker of a sample: `<dataset>/.vtonkit/done/<split>/<kind>/<stem>.json`."""
    return state_dir(dataset) / "done" / split / kind / f"{stem}.json"


def sample_files(dataset: str | Path, split: str, kind: str, stem: str) -> dict[str, Path]:
    layout = DatasetLayout(dataset).split(split)
    return layout.person_files(stem) if kind == "person" else layout.cloth_files(stem)


def is_complete(dataset: str | Path, split: str, kind: str, stem: str, sample_key: str) -> bool:
    """True when the sample's marker holds `sample_key` and all its files exist."""
    path = marker_path(dataset, split, kind, stem)
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("key") != sample_key:
        return False
    if "files" in marker:  # what the sample wrote (a person whose agnostic cannot be computed has 5 files)
        return all((Path(dataset) / name).is_file() for name in marker["files"])
    return all(p.is_file() for p in sample_files(dataset, split, kind, stem).values())


def cpu_seconds() -> float:
    """User + system CPU time this process has used so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class _StageFailed(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        super().__init__(str(error))


def _error_record(stage: str, source: str, error: BaseException) -> dict[str, str]:
    if isinstance(error, CachedError):
        error_type, reason = error.error_type, error.reason
    else:
        error_type = type(error).__name__
        reason = getattr(error, "reason", None) or str(error) or error_type
    return {"stage": stage, "file": source, "reason": reason, "error_type": error_type}


class StageWorker:
    """Holds the backends of one worker and runs tasks with them.

    Args:
        backends: `{"pose"|"parser"|"densepose"|"cloth_mask": (name, options)}` of the stages to build
            (from the stage registries).
    """

    def __init__(self, backends: dict[str, tuple[str, dict[str, Any]]]) -> None:
        from vtonkit.preprocess.stages import REGISTRIES

        self.worker_id = f"{os.uname().nodename}:{os.getpid()}"
        self.model_loads: dict[str, int] = {}
        self.load_seconds: dict[str, float] = {}
        self.backends: dict[str, Any] = {}
        for stage, (name, options) in backends.items():
            started = time.perf_counter()
            self.backends[stage] = REGISTRIES[stage].build(name, **options)
            self.load_seconds[stage] = time.perf_counter() - started
            self.model_loads[f"{stage}:{name}"] = self.model_loads.get(f"{stage}:{name}", 0) + 1
        self._caches: dict[str, StageCache] = {}

    def _cache(self, dataset: str) -> StageCache:
        if dataset not in self._caches:
            self._caches[dataset] = StageCache(state_dir(dataset) / "cache")
        return self._caches[dataset]

    def run(self, task: PersonTask | ClothTask) -> SampleResult:
        kind = "person" if isinstance(task, PersonTask) else "cloth"
        result = SampleResult(kind, task.split, task.stem, task.source, ok=False, worker=self.worker_id)
        marker = marker_path(task.dataset, task.split, kind, task.stem)
        try:
            marker.unlink(missing_ok=True)  # the files below are about to change
            if kind == "person":
                files = self._run_person(task, result)  # type: ignore[arg-type]
            else:
                files = self._run_cloth(task, result)  # type: ignore[arg-type]
            atomic_write_json(marker, {"key": task.keys["sample"], "source": task.source, "warnings": result.warnings,
                                       "files": sorted(str(Path(p).relative_to(task.dataset)) for p in files)})
            result.ok = True
        except _StageFailed as failed:
            result.error = _error_record(failed.stage, task.source, failed.error)
        except Exception as exc:  # a bug or an I/O failure: still one record, never a dead batch
            logger.exception("unexpected failure on %s", task.source)
            result.error = _error_record("write", task.source, exc)
        if result.error is not None:
            # Files of an earlier run (other backends) would pass for this sample: remove them.
            for path in sample_files(task.dataset, task.split, kind, task.stem).values():
                path.unlink(missing_ok=True)
        result.model_loads = dict(self.model_loads)
        result.load_seconds = dict(self.load_seconds)
        result.peak_rss_bytes = peak_rss_bytes()
        result.cpu_seconds = cpu_seconds()
        return result

    # --- stage plumbing -------------------------------------------------------------------------

    def _timed(self, result: SampleResult, stage: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            value = fn()
        except Exception as exc:
            raise _StageFailed(stage, exc) from exc
        finally:
            result.seconds[stage] = result.seconds.get(stage, 0.0) + time.perf_counter() - started
        return value

    def _cached(self, task: PersonTask | ClothTask, result: SampleResult, stage: str,
                compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Load the stage output for `task.keys[stage]`, or compute, time and store it."""
        cache, key = self._cache(task.dataset), task.keys[stage]
        try:
            arrays = None if result.uncached else cache.load(stage, key)
        except CachedError as exc:
            result.cache_hits.append(stage)
            raise _StageFailed(stage, exc) from exc
        if arrays is not None:
            result.cache_hits.append(stage)
            return arrays
        try:
            arrays = self._timed(result, stage, compute)
        except _StageFailed as failed:
            if isinstance(failed.error, VtonkitError):  # input-caused: the same bytes fail again
                record = _error_record(stage, task.source, failed.error)
                cache.save_error(stage, key, record["error_type"], record["reason"])
            raise
        cache.save(stage, key, arrays)
        return arrays

    def _stage(self, task: PersonTask | ClothTask, result: SampleResult, stage: str, compute: Callable[[], Any]) -> Any:
        """The chains' stage runner: cached stages go through the cache, the others are timed."""
        if stage not in CACHED_ARRAYS:
            return self._timed(result, stage, compute)
        name = CACHED_ARRAYS[stage]
        return self._cached(task, result, stage, lambda: {name: compute()})[name]

    # --- person -----------------------------------------------------------------------------

    def _run_person(self, task: PersonTask, result: SampleResult) -> list[Path]:
        backends = person.PersonBackends(pose=self.backends.get("pose"), parser=self.backends.get("parser"),
                                         densepose=self.backends.get("densepose"))
        outputs = person.process_person(
            Path(task.source), backends, category=task.category, keep=task.keep_framing,
            run_stage=lambda stage, compute: self._stage(task, result, stage, compute),
            normalise=lambda path, _pose, _keep: self._normalise_and_pose(task, result, path))
        result.warnings = outputs.warnings
        split = SplitDir(Path(task.dataset) / task.split)
        return self._timed(result, "write", lambda: person.write_person_outputs(split, task.stem, outputs))

    def _normalise_and_pose(self, task: PersonTask, result: SampleResult, source: Path) -> tuple[Any, PoseResult]:
        """Normalise (refocus) and pose: the pose model runs inside the refocus, so its results are
        recorded into the cache, and replayed from it when only later stages must be recomputed."""
        cache, key = self._cache(task.dataset), task.keys["pose"]
        try:
            recorded = cache.load("pose", key)
        except CachedError as exc:
            result.cache_hits.append("pose")
            raise _StageFailed("pose", exc) from exc
        if recorded is not None:
            try:
                replayed = self._timed(result, "normalize", lambda: replay_normalise(
                    source, recorded, keep_framing=task.keep_framing))
            except _StageFailed as failed:
                if not isinstance(failed.error, ReplayMismatch):
                    raise
                # The normalise code changed without a version bump: nothing cached for this
                # sample can be trusted any more; recompute every stage and overwrite the cache.
                logger.warning("%s: cached pose does not match the normalised image; recomputing", source)
                result.uncached = True
                result.seconds.pop("normalize", None)
            else:
                result.cache_hits.append("pose")
                return replayed
        recorder = RecordingPose(self.backends["pose"])
        started = time.perf_counter()
        try:
            normalized, pose = person.normalise_person(source, recorder, keep=task.keep_framing)
        except Exception as exc:
            stage = "pose" if recorder.seconds > 0 else "normalize"  # the photo could not even be read
            if stage == "pose" and isinstance(exc, VtonkitError):  # input-caused: the same bytes fail again
                record = _error_record(stage, task.source, exc)
                cache.save_error(stage, key, record["error_type"], record["reason"])
            raise _StageFailed(stage, exc) from exc
        finally:
            if recorder.seconds > 0:
                result.seconds["pose"] = recorder.seconds
            result.seconds["normalize"] = time.perf_counter() - started - recorder.seconds
        cache.save("pose", key, recorder.to_arrays())
        return normalized, pose

    # --- cloth ------------------------------------------------------------------------------

    def _run_cloth(self, task: ClothTask, result: SampleResult) -> list[Path]:
        outputs = cloth.process_cloth(Path(task.source), self.backends["cloth_mask"],
                                      run_stage=lambda stage, compute: self._stage(task, result, stage, compute))
        result.warnings += outputs.warnings
        split = SplitDir(Path(task.dataset) / task.split)
        return self._timed(result, "cloth_write",
                           lambda: cloth.write_cloth_outputs(split, task.stem, outputs.rgb, outputs.mask))
