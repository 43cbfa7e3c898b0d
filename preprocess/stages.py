"""The four preprocessing stages: one small interface each, and a registry of named backends.

The pipeline only sees these interfaces. A backend is a class with `name` and `version`
attributes (bump `version` whenever its outputs change: cached stage outputs are keyed by it)
and a keyword-only constructor. Backends register lazily by dotted path, so listing them costs
nothing and heavy imports (mediapipe, onnxruntime, detectron2) happen only when one is built.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
from vtonkit.core.errors import VtonkitError


@dataclass
class PoseResult:
    """Pose of the main person in an image.

    Attributes:
        keypoints: `(25, 3)` float64 BODY_25 [x, y, confidence] in pixels; missing joints = 0, 0, 0.
        num_persons: how many people the estimator saw (the main person is the largest).
        warnings: human-readable notes (person cut off, low confidence, ...).
        person_mask: optional `(H, W)` bool silhouette of the main person, when the backend has one.
    """

    keypoints: np.ndarray
    num_persons: int = 1
    warnings: list[str] = field(default_factory=list)
    person_mask: np.ndarray | None = None


# Optional abilities a backend declares in its class attribute `abilities` (a frozenset of these
# names; a backend without the attribute has none). The pipeline passes the matching keyword only
# to a backend that declares it; it never guesses from signatures.
POSE_ABILITIES = frozenset({
    "count_people",  # estimate(image, count_people=False) skips counting people (a crop already counted)
    "silhouette_only",  # estimate(image, silhouette_only=True): only the silhouette (and joints enough to
    # pick the person) is wanted, e.g. to refocus the photo; work that only refines the joints is skipped
})
PARSER_ABILITIES = frozenset({
    "person_mask",  # parse(image, keypoints, person_mask=...) reuses the pose stage's silhouette
})
BACKEND_ABILITIES = frozenset({
    "close",  # close() stops the threads the backend started (MediaPipe graphs load their models on
    # threads of their own): its owner calls it while native output still goes to the native log
})


def has_ability(backend: Any, ability: str) -> bool:
    """Whether `backend` declares `ability` (one of `POSE_ABILITIES`, `PARSER_ABILITIES`, `BACKEND_ABILITIES`)."""
    if ability not in POSE_ABILITIES | PARSER_ABILITIES | BACKEND_ABILITIES:
        raise ValueError(f"unknown backend ability {ability!r}")
    return ability in getattr(backend, "abilities", frozenset())


def close_backend(backend: Any) -> None:
    """Close `backend` when it declares "close" (`BACKEND_ABILITIES`); the others hold nothing to close."""
    if backend is not None and has_ability(backend, "close"):
        backend.close()


@runtime_checkable
class PoseEstimator(Protocol):
    """Optional abilities (`abilities` class attribute): `POSE_ABILITIES`."""

    name: str
    version: str

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        """`(H, W, 3)` uint8 RGB -> BODY_25 pose. Raises `NoPersonError` when nobody is found."""
        ...


@runtime_checkable
class HumanParser(Protocol):
    """Optional abilities (`abilities` class attribute): `PARSER_ABILITIES`."""

    name: str
    version: str

    def parse(self, image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` uint8 RGB + BODY_25 `(25, 3)` -> `(H, W)` uint8 CIHP-20 label map."""
        ...


@runtime_checkable
class DensePoser(Protocol):
    name: str
    version: str

    def densepose(self, image_rgb: np.ndarray, keypoints: np.ndarray, parse: np.ndarray) -> np.ndarray:
        """-> `(H, W)` uint8 DensePose fine part ids 0..24 (0 = background)."""
        ...


@runtime_checkable
class ClothMasker(Protocol):
    name: str
    version: str

    def mask(self, image: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` RGB or `(H, W, 4)` RGBA uint8 garment shot -> `(H, W)` bool garment mask."""
        ...


class BackendOutputError(VtonkitError):
    """A backend returned what its stage's interface does not allow (a newly written backend's bug,
    named here instead of as a broadcasting error deep in a later stage)."""


def checked_output(stage: str, backend: Any, value: Any, shape: tuple[int, ...], *,
                   integers: bool = False, max_value: int | None = None) -> np.ndarray:
    """`value` as an array when it is what the `stage` interface returns: `shape`, and with
    `integers` whole numbers 0..`max_value`; else a :class:`BackendOutputError` naming the backend."""
    array = np.asarray(value)
    who = f"{stage} backend {getattr(backend, 'name', '?')!r} ({type(backend).__module__}.{type(backend).__qualname__})"
    if array.shape != shape:
        raise BackendOutputError(f"{who} returned an array of shape {array.shape}; the {stage} interface "
                                 f"(vtonkit.preprocess.stages) returns {shape}, the input image's size")
    if integers and (array.dtype.kind not in "uib" or (array.size and (array.min() < 0 or array.max() > max_value))):
        raise BackendOutputError(f"{who} returned {array.dtype} values {array.min()}..{array.max()}; the {stage} "
                                 f"interface returns integer labels 0..{max_value}")
    return array


T = TypeVar("T")


class Registry(Generic[T]):
    """Named backends of one stage. `build(name, **options)` imports and instantiates lazily."""

    def __init__(self, stage: str, default: str) -> None:
        self.stage = stage
        self.default = default
        self._targets: dict[str, str] = {}
        self._descriptions: dict[str, str] = {}

    def register_lazy(self, name: str, target: str, description: str = "") -> None:
        """Register `name` -> `"package.module:ClassName"`; duplicate names are an error."""
        if name in self._targets:
            raise ValueError(f"{self.stage} backend {name!r} is already registered ({self._targets[name]})")
        if ":" not in target:
            raise ValueError(f"target must be 'module:Class', got {target!r}")
        self._targets[name] = target
        self._descriptions[name] = description

    def names(self) -> list[str]:
        return list(self._targets)

    def describe(self, name: str) -> str:
        return self._descriptions[name]

    def resolve(self, name: str) -> type[T]:
        """The backend class registered as `name` (imports its module)."""
        if name not in self._targets:
            raise KeyError(f"unknown {self.stage} backend {name!r}; available: {', '.join(self._targets)} (vtonkit models backends)")
        module_name, class_name = self._targets[name].split(":")
        return getattr(importlib.import_module(module_name), class_name)

    def build(self, name: str | None = None, **options: Any) -> T:
        """Instantiate backend `name` (the default when None) with its keyword options."""
        return self.resolve(name or self.default)(**options)


POSE_ESTIMATORS: Registry[PoseEstimator] = Registry("pose", default="mediapipe")
HUMAN_PARSERS: Registry[HumanParser] = Registry("parser", default="geometric")
DENSEPOSERS: Registry[DensePoser] = Registry("densepose", default="geometric")
CLOTH_MASKERS: Registry[ClothMasker] = Registry("cloth-mask", default="cv")

REGISTRIES: dict[str, Registry[Any]] = {
    "pose": POSE_ESTIMATORS,
    "parser": HUMAN_PARSERS,
    "densepose": DENSEPOSERS,
    "cloth_mask": CLOTH_MASKERS,
}

_B = "vtonkit.preprocess.backends"
# Embedded defaults: run from what pip installs, offline.
POSE_ESTIMATORS.register_lazy("mediapipe", f"{_B}.mediapipe_pose:MediapipePose",
                              "mediapipe 0.10 pose landmarks (bundled model) converted to BODY_25")
HUMAN_PARSERS.register_lazy("geometric", f"{_B}.geometric_parser:GeometricParser",
                            "person mask + pose geometry + per-image colour models -> CIHP-20")
DENSEPOSERS.register_lazy("geometric", f"{_B}.geometric_densepose:GeometricDensePose",
                          "24 DensePose parts approximated from the person mask and skeleton")
CLOTH_MASKERS.register_lazy("cv", f"{_B}.cloth_mask_cv:ClassicClothMasker",
                            "background estimation + flood fill; white/grey/transparent backgrounds")
# Real-model backends (local weights): see `vtonkit models list`.
HUMAN_PARSERS.register_lazy("schp-lip", f"{_B}.schp_onnx:SchpLipParser", "SCHP (LIP-20) ONNX via onnxruntime")
HUMAN_PARSERS.register_lazy("schp-atr", f"{_B}.schp_onnx:SchpAtrParser", "SCHP (ATR-18) ONNX via onnxruntime")
HUMAN_PARSERS.register_lazy("schp-pascal", f"{_B}.schp_onnx:SchpPascalParser", "SCHP (Pascal-Person-Part) ONNX")
POSE_ESTIMATORS.register_lazy("dwpose", f"{_B}.dwpose_onnx:DwPose", "DWPose / RTMPose ONNX (detector + pose)")
CLOTH_MASKERS.register_lazy("u2net", f"{_B}.u2net_onnx:U2NetClothMasker", "U2-Net family ONNX (u2net_cloth_seg, ISNet)")
CLOTH_MASKERS.register_lazy("carvekit", f"{_B}.carvekit_masker:CarvekitClothMasker",
                            "carvekit with a local weights directory (optional extra)")
DENSEPOSERS.register_lazy("detectron2", f"{_B}.detectron2_densepose:Detectron2DensePose",
                          "detectron2 DensePose R_50_FPN_s1x (needs detectron2 installed)")
