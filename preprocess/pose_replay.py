"""Cacheable pose: record the pose results of the normalise step, and replay them without the model.

`person.normalise_person` runs the pose backend twice (detect on the source photo to refocus the
crop, then BODY_25 on the 1024x768 result). To cache pose without storing full-resolution images,
the prep worker hands it a `RecordingPose` that stores each `PoseResult` (keypoints, count,
warnings, silhouette); when only a later stage must be recomputed, a `ReplayPose` returns the
stored results instead of running the model, and the refocus reproduces the same image from them.
Each recorded result keeps the digest of the image it was computed on: a replay that is asked
about another image (the normalise code changed without a version bump) raises `ReplayMismatch`,
and the sample is recomputed without the cache.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from vtonkit.preprocess import person
from vtonkit.preprocess.stages import PoseResult, has_ability


class ReplayMismatch(RuntimeError):
    """The normalise step asked pose for another image than the one recorded (its code changed)."""


def image_digest(image_rgb: np.ndarray) -> str:
    """sha1 of an image's shape and pixels: which image a recorded pose result belongs to."""
    array = np.ascontiguousarray(image_rgb)
    return hashlib.sha1(repr(array.shape).encode() + array.tobytes()).hexdigest()


class RecordingPose:
    """Wraps a pose backend: forwards `estimate` and records every result (and the model time)."""

    # Forwarded to the backend when it declares them too (stages.POSE_ABILITIES).
    abilities = frozenset({"count_people", "silhouette_only"})

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.results: list[PoseResult] = []
        self.inputs: list[str] = []
        self.seconds = 0.0
        self._forwarded = {name for name in self.abilities if has_ability(backend, name)}

    def estimate(self, image_rgb: np.ndarray, count_people: bool = True, silhouette_only: bool = False) -> PoseResult:
        # Only what differs from the defaults: a backend's own count_people setting stands otherwise.
        options = {"count_people": False} if not count_people else {}
        if silhouette_only:
            options["silhouette_only"] = True
        started = time.perf_counter()
        try:
            result = self.backend.estimate(image_rgb, **{k: v for k, v in options.items() if k in self._forwarded})
        finally:
            self.seconds += time.perf_counter() - started
        self.results.append(result)
        self.inputs.append(image_digest(image_rgb))
        return result

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The recorded results as arrays for the stage cache."""
        arrays: dict[str, np.ndarray] = {"count": np.int64(len(self.results))}
        for index, result in enumerate(self.results):
            arrays[f"keypoints_{index}"] = np.asarray(result.keypoints, dtype=np.float64)
            arrays[f"num_persons_{index}"] = np.int64(result.num_persons)
            arrays[f"input_{index}"] = np.array(self.inputs[index])
            arrays[f"warnings_{index}"] = np.array(json.dumps(list(result.warnings)))
            if result.person_mask is not None:
                arrays[f"person_mask_{index}"] = np.asarray(result.person_mask, dtype=bool)
        return arrays


class ReplayPose:
    """Stands in for the pose backend with results read back from the cache, in call order."""

    abilities = RecordingPose.abilities  # what RecordingPose declared when the results were recorded

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.results = [
            PoseResult(keypoints=arrays[f"keypoints_{i}"], num_persons=int(arrays[f"num_persons_{i}"]),
                       warnings=json.loads(str(arrays[f"warnings_{i}"])),
                       person_mask=arrays.get(f"person_mask_{i}"))
            for i in range(int(arrays["count"]))]
        self.inputs = [str(arrays[f"input_{i}"]) if f"input_{i}" in arrays else "" for i in range(len(self.results))]

    def estimate(self, image_rgb: np.ndarray, count_people: bool = True, silhouette_only: bool = False) -> PoseResult:
        if not self.results:
            raise ReplayMismatch("the normalise step called pose more often than recorded")
        if self.inputs[0] != image_digest(image_rgb):
            raise ReplayMismatch("the normalise step called pose on another image than recorded")
        self.inputs.pop(0)
        return self.results.pop(0)


def replay_normalise(path: Path, recorded: dict[str, np.ndarray], *, keep_framing: bool = False) -> tuple[Any, PoseResult]:
    """`person.normalise_person` with the pose results read back from the cache (no model runs).

    Raises:
        ReplayMismatch: the normalise step no longer asks pose the recorded questions.
    """
    replay = ReplayPose(recorded)
    normalized, pose = person.normalise_person(path, replay, keep=keep_framing)
    if replay.results:
        raise ReplayMismatch("the normalise step called pose fewer times than recorded")
    return normalized, pose
