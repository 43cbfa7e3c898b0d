"""The four preprocessing stages: one small interface each, and a registry of named backends.

The pipeline only sees these interfaces. A backend is a class with `name` and `version`
attributes (bump `version` whenever its outputs change: cached stage outputs are keyed by its
registered name and `version`) and a keyword-only constructor. Backends register lazily by dotted
path, so listing them costs nothing and heavy imports (mediapipe, onnxruntime, detectron2) happen
only when one is resolved. Resolving checks the class against its stage's `Contract` once (a
`version`, the stage's method, known abilities and their methods); building turns a failing
constructor into a `BackendSetupError` naming the stage and backend.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
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


# Abilities that are methods: a backend declaring one must have the method (checked when resolved).
ABILITY_METHODS = {"close": "close"}


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


class BackendError(VtonkitError):
    """A backend broke its stage's contract: the backend's fault, never the input's (prep does not
    cache it, so a fixed backend runs again without a version bump)."""


class BackendOutputError(BackendError):
    """A backend returned what its stage's interface does not allow (a newly written backend's bug,
    named here instead of as a broadcasting error deep in a later stage)."""


class BackendSetupError(BackendError):
    """A registered backend cannot be built: its target does not import, its class breaks the
    stage's `Contract`, or its constructor failed (a mistyped option)."""


class BackendFailure(Exception):
    """A backend's own exception (a bug, not a `VtonkitError` about the input), with the stage and
    backend that raised it: reported as that backend's failure, never cached."""

    def __init__(self, stage: str, backend: Any, error: Exception) -> None:
        self.error = error
        super().__init__(f"{stage} backend {getattr(backend, 'name', '?')!r} failed: {type(error).__name__}: {error}")


R = TypeVar("R")


def backend_call(stage: str, backend: Any, call: Callable[[], R]) -> R:
    """`call()` (one call of `backend`'s stage method), its own exceptions raised as a `BackendFailure`.

    A `VtonkitError` (no person in the photo) is about the input, and an `OSError` may be a full disk
    the batch must stop at: both pass unchanged."""
    try:
        return call()
    except (VtonkitError, BackendFailure, OSError):
        raise
    except Exception as exc:
        raise BackendFailure(stage, backend, exc) from exc


def _who(stage: str, backend: Any) -> str:
    return f"{stage} backend {getattr(backend, 'name', '?')!r} ({type(backend).__module__}.{type(backend).__qualname__})"


def _value_range(array: np.ndarray) -> str:
    if not array.size or array.dtype.kind not in "uifb":
        return "(none)"
    low, high = array.min(), array.max()
    return f"{low:.3g}..{high:.3g}" if array.dtype.kind == "f" else f"{low}..{high}"


def checked_output(stage: str, backend: Any, value: Any, shape: tuple[int, ...], *,
                   integers: bool = False, max_value: int | None = None, boolean: bool = False) -> np.ndarray:
    """`value` as an array when it is what the `stage` interface returns: `shape`, with `integers`
    whole numbers 0..`max_value`, with `boolean` a bool mask; else a :class:`BackendOutputError`
    naming the backend."""
    array = np.asarray(value)
    who = _who(stage, backend)
    if array.shape != shape:
        raise BackendOutputError(f"{who} returned an array of shape {array.shape}; the {stage} interface "
                                 f"(vtonkit.preprocess.stages) returns {shape}, the input image's size")
    if integers and (array.dtype.kind not in "uib" or (array.size and (array.min() < 0 or array.max() > max_value))):
        raise BackendOutputError(f"{who} returned {array.dtype} values {_value_range(array)}; the {stage} "
                                 f"interface returns integer labels 0..{max_value}")
    if boolean and array.dtype != bool:  # a soft 0.1/0.9 mask would turn all True under astype(bool)
        raise BackendOutputError(f"{who} returned {array.dtype} values {_value_range(array)}; the {stage} "
                                 "interface returns a bool mask (threshold soft masks in the backend)")
    return array


def checked_pose(backend: Any, result: Any, shape: tuple[int, int]) -> PoseResult:
    """`result` when it is what the pose interface returns for an image of `shape`: a `PoseResult`
    with BODY_25 `(25, 3)` keypoints and no silhouette or a `shape` bool one; else a
    :class:`BackendOutputError` naming the backend."""
    who = _who("pose", backend)
    if not isinstance(result, PoseResult):
        raise BackendOutputError(f"{who} returned {type(result).__name__}; the pose interface "
                                 "(vtonkit.preprocess.stages) returns a PoseResult")
    keypoints = np.asarray(result.keypoints)
    if keypoints.shape != (25, 3) or keypoints.dtype.kind not in "uif":
        raise BackendOutputError(f"{who} returned {keypoints.dtype} keypoints of shape {keypoints.shape}; the pose "
                                 "interface returns BODY_25 [x, y, confidence] numbers of shape (25, 3)")
    mask = None if result.person_mask is None else np.asarray(result.person_mask)
    if mask is not None and (mask.shape != shape or mask.dtype != bool):
        raise BackendOutputError(f"{who} returned a {mask.dtype} person_mask of shape {mask.shape}; the pose "
                                 f"interface returns None or a bool mask of {shape}, the input image's size")
    return result


@dataclass(frozen=True)
class Contract:
    """What a stage's backend class must have: the stage's `method`, and the `abilities` it may declare."""

    method: str
    abilities: frozenset[str] = BACKEND_ABILITIES


def contract_problems(cls: Any, contract: Contract) -> list[str]:
    """What `cls` lacks of `contract` (empty when it keeps it): read from the class, never by calling it."""
    if not isinstance(cls, type):
        return [f"is a {type(cls).__name__}, not a class"]
    problems = []
    version = getattr(cls, "version", None)
    if not isinstance(version, str) or not version:
        problems.append("has no `version` (a str class attribute; prep's cache is keyed by it)")
    if not callable(getattr(cls, contract.method, None)):
        problems.append(f"has no `{contract.method}` method (the stage's interface)")
    declared = getattr(cls, "abilities", frozenset())
    if not isinstance(declared, (frozenset, set)):
        return [*problems, f"`abilities` is a {type(declared).__name__}, not a frozenset of names"]
    if unknown := sorted(set(declared) - contract.abilities):
        problems.append(f"declares unknown abilities {', '.join(map(repr, unknown))} (this stage's: "
                        f"{', '.join(sorted(contract.abilities))})")
    problems += [f"declares the {ability!r} ability but has no `{ABILITY_METHODS[ability]}()` method"
                 for ability in sorted(set(declared) & set(ABILITY_METHODS))
                 if not callable(getattr(cls, ABILITY_METHODS[ability], None))]
    return problems


T = TypeVar("T")


class Registry(Generic[T]):
    """Named backends of one stage. `build(name, **options)` imports and instantiates lazily.

    With a `contract`, a resolved class is checked against it and a failing constructor is a
    `BackendSetupError`; an import or class that cannot be found is one either way.
    """

    def __init__(self, stage: str, default: str, contract: Contract | None = None) -> None:
        self.stage = stage
        self.default = default
        self.contract = contract
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
        """The backend class registered as `name` (imports its module; checks it against the contract).

        Raises:
            KeyError: no backend of that name.
            BackendSetupError: its module does not import, has no such class, or the class breaks the contract.
        """
        if name not in self._targets:
            raise KeyError(f"unknown {self.stage} backend {name!r}; available: {', '.join(self._targets)} (vtonkit models backends)")
        target = self._targets[name]
        module_name, class_name = target.split(":")
        cannot = f"{self.stage} backend {name!r} ({target}) cannot be built"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a mistyped module, or one whose own imports fail
            raise BackendSetupError(f"{cannot}: importing {module_name}: {type(exc).__name__}: {exc}") from exc
        cls = getattr(module, class_name, None)
        if cls is None:
            raise BackendSetupError(f"{cannot}: {module_name} has no {class_name!r}")
        problems = contract_problems(cls, self.contract) if self.contract is not None else []
        if problems:
            raise BackendSetupError(f"{cannot}: the class {'; '.join(problems)} (docs/extending.md)")
        return cls

    def build(self, name: str | None = None, **options: Any) -> T:
        """Instantiate backend `name` (the default when None) with its keyword options.

        Raises:
            BackendSetupError: see `resolve`; and, with a contract, a constructor that raised
                anything but a `VtonkitError` (those, such as missing weights, name their file already).
        """
        name = name or self.default
        cls = self.resolve(name)
        if self.contract is None:
            return cls(**options)
        try:
            return cls(**options)
        except VtonkitError:
            raise
        except Exception as exc:  # a mistyped option from a config file, a missing optional package
            raise BackendSetupError(f"{self.stage} backend {name!r}: cannot be built: "
                                    f"{type(exc).__name__}: {exc}") from exc


POSE_ESTIMATORS: Registry[PoseEstimator] = Registry(
    "pose", default="mediapipe", contract=Contract("estimate", POSE_ABILITIES | BACKEND_ABILITIES))
HUMAN_PARSERS: Registry[HumanParser] = Registry(
    "parser", default="geometric", contract=Contract("parse", PARSER_ABILITIES | BACKEND_ABILITIES))
DENSEPOSERS: Registry[DensePoser] = Registry("densepose", default="geometric", contract=Contract("densepose"))
CLOTH_MASKERS: Registry[ClothMasker] = Registry("cloth-mask", default="cv", contract=Contract("mask"))

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
