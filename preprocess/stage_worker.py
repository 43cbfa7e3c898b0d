"""The `vtonkit prep` worker: one sample through every stage, what the batch runner (`batch.run_each`) runs on its engines.

`WorkerSpec` is the picklable factory an engine calls in each worker process. A `StageWorker`
builds its backends once (`model_loads` counts the builds; the profile shows one
per model and worker) and then runs `PersonTask`s and `ClothTask`s through the same per-sample
chains as `prep-person` / `prep-cloth`, with caching and timing added per stage:

* person: `person.process_person` (normalise, which runs the pose model to refocus, and pose ->
  parse -> DensePose -> agnostic) -> write the 8 person files;
* cloth: `cloth.process_cloth` (prepare -> cloth mask) -> write `cloth/` and `cloth-mask/`.

Pose, parse, DensePose and cloth-mask outputs come from the stage cache when their key is there
(see `cache.py`; pose is replayed into the refocus, see `pose_replay.py`); normalise, cloth preparation
and agnostic are cheap pure functions and are recomputed whenever a sample is (re)written. A
sample's completion marker is written after all its files, and removed before they are
rewritten, so a killed run never leaves a sample that looks complete but is not (`markers.py`).
Failures follow the runner's one policy (`batch.attempt`): a failure record naming the stage
(nothing is raised), and the sample's files from an earlier run, which no longer match the inputs
and backends, are removed.
"""
from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from vtonkit.datasets.layout import SplitDir
from vtonkit.preprocess import cloth, person
from vtonkit.preprocess.batch import ItemResult, StageError, attempt, failure_of, worker_died, writing_outputs
from vtonkit.preprocess.cache import CachedError, StageCache
from vtonkit.preprocess.markers import CompletionMarker, marker_path, sample_files
from vtonkit.preprocess.pose_replay import RecordingPose, ReplayMismatch, replay_normalise
from vtonkit.preprocess.stages import BackendError, BackendOutputError, PoseResult, close_backend

from vtonkit.core.errors import VtonkitError
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

PERSON_STAGES = ("normalize", "pose", "parse", "densepose", "agnostic", "write")
CLOTH_STAGES = ("cloth", "cloth_mask", "cloth_write")
WRITE_STAGES = ("write", "cloth_write")  # an OSError there is the output's (`batch.writing_outputs`)
# Stages whose outputs the cache keeps (as arrays under these names); the others are cheap and pure.
CACHED_ARRAYS = {"parse": "labels", "densepose": "part_ids", "cloth_mask": "mask"}

# Versions of the pure steps (normalise, garment preparation, agnostic, writers): part of the cache
# keys and completion markers; bump one when its outputs change.
NORMALIZE_VERSION = "3"  # 2: torso shots cut by both edges give up side margin, not rows; 3: a side that cuts the person is padded with the backdrop
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


@dataclass(kw_only=True)
class SampleResult(ItemResult):
    """What happened to one task (picklable; sent back from pool workers and Ray actors).

    `path` is the input file; `failure.record()` is its line of `prep-errors.jsonl`.
    """

    kind: str
    split: str
    seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: list[str] = field(default_factory=list)
    worker: str = ""
    model_loads: dict[str, int] = field(default_factory=dict)
    load_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    cpu_seconds: float = 0.0
    # Clock times (epoch seconds, comparable between the processes of one machine) for the profile's
    # timeline: when the worker's process started and when its backends were built, with the CPU
    # seconds that start-up took; when this sample began and ended.
    worker_started_at: float = 0.0
    worker_ready_at: float = 0.0
    startup_cpu_s: float = 0.0
    began_at: float = 0.0
    ended_at: float = 0.0
    uncached: bool = False  # set when a cached entry proved stale: the sample is recomputed whole

    @classmethod
    def of(cls, task: PersonTask | ClothTask, **fields: Any) -> SampleResult:
        kind = "person" if isinstance(task, PersonTask) else "cloth"
        return cls(Path(task.source), task.stem, kind=kind, split=task.split, **fields)


def cpu_seconds() -> float:
    """User + system CPU time this process has used so far (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_started_at() -> float:
    """When this process started (epoch seconds, to the clock tick: the age from `/proc/self/stat`;
    psutil's create time adds the boot time rounded to whole seconds)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - age
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux
        import psutil

        return psutil.Process().create_time()


def peak_rss_bytes() -> int:
    """This process's peak resident set size (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# Failures earlier versions cached that are a backend's fault: read back, they are recomputed instead.
BACKEND_FAULTS = frozenset({BackendOutputError.__name__})


def _remember_failure(cache: StageCache, stage: str, key: str, source: str, error: BaseException) -> None:
    """Cache an input-caused failure (`VtonkitError`): the same bytes fail again, a re-run reports it unrun.
    A `BackendError` is the backend's: cached, its fix would not be seen until the version changed."""
    if isinstance(error, VtonkitError) and not isinstance(error, BackendError):
        failure = failure_of(Path(source), error, stage)
        cache.save_error(stage, key, failure.error_type, failure.reason)


def _load(cache: StageCache, stage: str, key: str, result: SampleResult) -> dict[str, np.ndarray] | None:
    """`cache.load`, with a cached failure raised as the stage's (a backend's fault: None, recompute)."""
    try:
        return cache.load(stage, key)
    except CachedError as exc:
        if exc.error_type in BACKEND_FAULTS:
            return None
        result.cache_hits.append(stage)
        raise StageError(stage, exc) from exc


@dataclass(frozen=True)
class WorkerSpec:
    """How a `prep` worker builds its backends: the picklable `WorkerFactory` engines call in each worker.

    Attributes:
        backends: `{stage: (backend name, options)}` for the stages this run needs.
        registrations: extra `(stage, name, "module:Class")` backends registered in every worker
            before building (plugins, and the test backends of the test suite).
    """

    backends: dict[str, tuple[str, dict[str, Any]]]
    registrations: tuple[tuple[str, str, str], ...] = ()

    def __call__(self) -> StageWorker:
        """Apply the registrations, then build the worker (its backends load here, once)."""
        from vtonkit.preprocess.stages import REGISTRIES

        for stage, name, target in self.registrations:
            if name not in REGISTRIES[stage].names():
                REGISTRIES[stage].register_lazy(name, target)
        return StageWorker(self.backends)

    def lost(self, task: PersonTask | ClothTask) -> SampleResult:
        return worker_died(SampleResult.of(task))


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
        self.started_at = process_started_at()
        self.ready_at = time.time()
        self.startup_cpu_s = cpu_seconds()  # interpreter start, imports and model loads
        self._caches: dict[str, StageCache] = {}

    def close(self) -> None:
        """Close the backends that declare it (`stages.close_backend`)."""
        for backend in self.backends.values():
            close_backend(backend)

    def _cache(self, dataset: str) -> StageCache:
        if dataset not in self._caches:
            self._caches[dataset] = StageCache(state_dir(dataset) / "cache")
        return self._caches[dataset]

    def run(self, task: PersonTask | ClothTask) -> SampleResult:
        result = SampleResult.of(task, worker=self.worker_id, worker_started_at=self.started_at,
                                 worker_ready_at=self.ready_at, startup_cpu_s=self.startup_cpu_s, began_at=time.time())
        chain = self._run_person if result.kind == "person" else self._run_cloth
        marker = CompletionMarker(marker_path(task.dataset, task.split, result.kind, task.stem), task.keys["sample"],
                                  Path(task.dataset))
        attempt(result, lambda: chain(task, result),  # type: ignore[operator]
                lambda: sample_files(task.dataset, task.split, result.kind, task.stem).values(),
                marker=marker, stage="write")
        result.model_loads = dict(self.model_loads)
        result.load_seconds = dict(self.load_seconds)
        result.peak_rss_bytes = peak_rss_bytes()
        result.cpu_seconds = cpu_seconds()
        result.ended_at = time.time()
        return result

    # --- stage plumbing -------------------------------------------------------------------------

    def _timed(self, result: SampleResult, stage: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            if stage in WRITE_STAGES:
                with writing_outputs():  # a folder that refuses the sample's files: named, not an internal error
                    value = fn()
            else:
                value = fn()
        except Exception as exc:
            raise StageError(stage, exc) from exc
        finally:
            result.seconds[stage] = result.seconds.get(stage, 0.0) + time.perf_counter() - started
        return value

    def _cached(self, task: PersonTask | ClothTask, result: SampleResult, stage: str,
                compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """Load the stage output for `task.keys[stage]`, or compute, time and store it."""
        cache, key = self._cache(task.dataset), task.keys[stage]
        arrays = None if result.uncached else _load(cache, stage, key, result)
        if arrays is not None:
            result.cache_hits.append(stage)
            return arrays
        try:
            arrays = self._timed(result, stage, compute)
        except StageError as failed:
            _remember_failure(cache, stage, key, task.source, failed.error)
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

    def _run_person(self, task: PersonTask, result: SampleResult) -> None:
        backends = person.PersonBackends(pose=self.backends.get("pose"), parser=self.backends.get("parser"),
                                         densepose=self.backends.get("densepose"))
        outputs = person.process_person(
            Path(task.source), backends, category=task.category, keep=task.keep_framing,
            run_stage=lambda stage, compute: self._stage(task, result, stage, compute),
            normalise=lambda path, _pose, _keep: self._normalise_and_pose(task, result, path))
        result.warnings = outputs.warnings
        split = SplitDir(Path(task.dataset) / task.split)
        result.written = self._timed(result, "write", lambda: person.write_person_outputs(split, task.stem, outputs))

    def _normalise_and_pose(self, task: PersonTask, result: SampleResult, source: Path) -> tuple[Any, PoseResult]:
        """Normalise (refocus) and pose: the pose model runs inside the refocus, so its results are
        recorded into the cache, and replayed from it when only later stages must be recomputed."""
        cache, key = self._cache(task.dataset), task.keys["pose"]
        recorded = _load(cache, "pose", key, result)
        if recorded is not None:
            try:
                replayed = self._timed(result, "normalize", lambda: replay_normalise(
                    source, recorded, keep_framing=task.keep_framing))
            except StageError as failed:
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
        recorder = RecordingPose(person.CheckedPose(self.backends["pose"]))  # a bad result names the backend
        started = time.perf_counter()
        try:
            normalized, pose = person.normalise_person(source, recorder, keep=task.keep_framing)
        except Exception as exc:
            stage = "pose" if recorder.seconds > 0 else "normalize"  # the photo could not even be read
            if stage == "pose":
                _remember_failure(cache, stage, key, task.source, exc)
            raise StageError(stage, exc) from exc
        finally:
            if recorder.seconds > 0:
                result.seconds["pose"] = recorder.seconds
            result.seconds["normalize"] = time.perf_counter() - started - recorder.seconds
        cache.save("pose", key, recorder.to_arrays())
        return normalized, pose

    # --- cloth ------------------------------------------------------------------------------

    def _run_cloth(self, task: ClothTask, result: SampleResult) -> None:
        outputs = cloth.process_cloth(Path(task.source), self.backends["cloth_mask"],
                                      run_stage=lambda stage, compute: self._stage(task, result, stage, compute))
        result.warnings += outputs.warnings
        split = SplitDir(Path(task.dataset) / task.split)
        result.written = self._timed(result, "cloth_write",
                                     lambda: cloth.write_cloth_outputs(split, task.stem, outputs.rgb, outputs.mask))
