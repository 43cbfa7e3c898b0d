"""A backend written by following docs/extending.md is held to its stage's contract, and each breach is
said once, naming the stage and the registered backend (a newcomer's findings):

* a constructor error (a mistyped `[options.mine] thresold = 200`) marked every input of `prep` as a
  worker death after a traceback per worker, and was a traceback of its own in prep-cloth;
* two registrations of one class `name` shared their cached outputs;
* a pose result of 18 joints, a bare array or a silhouette of another size failed later as an
  internal error of the parse stage;
* eval-prep gave a traceback for an unknown backend and scored unchecked masks;
* a `BackendOutputError` was cached as if the input were at fault: the fixed backend never ran;
* a soft (float) cloth mask passed and became all True;
* registration mistakes (a mistyped class, no `version`, an ability without its method) went
  unnamed, unnoticed, or crashed after the files were written;
* an exception inside a backend was an "internal error" naming the stage only.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.layout import DatasetLayout, SplitDir
from vtonkit.preprocess.cache import StageCache
from vtonkit.preprocess.cloth import process_cloth
from vtonkit.preprocess.evaluation import evaluate_cloth
from vtonkit.preprocess.person import PersonBackends, process_person
from vtonkit.preprocess.pipeline import PrepOptions, backend_identity, cloth_keys, run_prep
from vtonkit.preprocess.stages import REGISTRIES, BackendFailure, BackendOutputError, BackendSetupError, PoseResult

from tests.conftest import shared_path
from tests.test_preprocess_pipeline import TinyDensePose, TinyParser, TinyPose
from vtonkit.cli import app
from vtonkit.core.errors import VtonkitError
from vtonkit.core.paths import state_dir

runner = CliRunner()
ME = __name__


def _person() -> Path:
    return shared_path("data", "photos", "persons", "01008_00.jpg")


def _garment() -> Path:
    return shared_path("data", "photos", "garments", "00055_00.jpg")


# --- small backends ------------------------------------------------------------------------------

class BodyPose(TinyPose):
    """The pipeline tests' stand-in pose (a fixed standing body), under this file's name."""

    name, version = "contract-pose", "1"


class Coco18Pose(BodyPose):
    name = "contract-coco18"

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        result = super().estimate(image_rgb)
        return PoseResult(result.keypoints[:18], person_mask=result.person_mask)


class ArrayPose(BodyPose):
    name = "contract-array"

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        return super().estimate(image_rgb).keypoints  # type: ignore[return-value]


class HalfMaskPose(BodyPose):
    name = "contract-half-mask"

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        result = super().estimate(image_rgb)
        return PoseResult(result.keypoints, person_mask=result.person_mask[::2, ::2])


class BlockParser(TinyParser):
    name, version = "contract-parser", "1"


class BlockDensePose(TinyDensePose):
    name, version = "contract-densepose", "1"


class OptionMask:
    name, version = "contract-option", "1"

    def __init__(self, *, threshold: int = 240) -> None:
        self.threshold = threshold

    def mask(self, image: np.ndarray) -> np.ndarray:
        return (image[..., :3] < self.threshold).any(axis=2)


class CopiedMask(OptionMask):
    """A copy of `OptionMask` with other logic that kept its `name` (registered as another)."""

    def mask(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        box = np.zeros((height, width), bool)
        box[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = True
        return box


class SoftMask(OptionMask):
    name = "contract-soft"

    def mask(self, image: np.ndarray) -> np.ndarray:
        return np.where(super().mask(image), 0.9, 0.1).astype(np.float32)


FIXABLE = {"broken": True}


class FixableMask(OptionMask):
    """Half size while `FIXABLE["broken"]`: the backend's bug, fixed in place without a version bump."""

    name = "contract-fixable"

    def mask(self, image: np.ndarray) -> np.ndarray:
        mask = super().mask(image)
        return mask[::2, ::2] if FIXABLE["broken"] else mask


class ExplodingMask(OptionMask):
    name = "contract-exploding"

    def mask(self, image: np.ndarray) -> np.ndarray:
        raise RuntimeError("probe masker exploded")


class NoVersionMask:
    name = "contract-noversion"

    def mask(self, image: np.ndarray) -> np.ndarray:
        return (image[..., :3] < 240).any(axis=2)


class MethodTypoMask:
    name, version = "contract-typo", "1"

    def masks(self, image: np.ndarray) -> np.ndarray:
        return (image[..., :3] < 240).any(axis=2)


class CloselessMask(OptionMask):
    """Declares `close` and has no close()."""

    name = "contract-closeless"
    abilities = frozenset({"close"})


class MisspeltAbilityParser(BlockParser):
    name = "contract-misspelt"
    abilities = frozenset({"person-mask"})


def _registered(stage: str, name: str, cls: str) -> tuple[str, str, str]:
    """Register `name` -> this module's class `cls` in this process (once) and return the registration."""
    target = f"{ME}:{cls}"
    if name not in REGISTRIES[stage].names():
        REGISTRIES[stage].register_lazy(name, target)
    return stage, name, target


def _persons_backends() -> tuple[tuple[str, str, str], ...]:
    return (_registered("pose", "contract-pose", "BodyPose"), _registered("parser", "contract-parser", "BlockParser"),
            _registered("densepose", "contract-densepose", "BlockDensePose"))


def _one_garment(tmp_path: Path) -> Path:
    folder = tmp_path / "garments"
    folder.mkdir(exist_ok=True)
    shutil.copy(_garment(), folder / "shirt.jpg")
    return folder


# --- 1. a backend that cannot be built --------------------------------------------------------------

def test_a_constructor_error_is_a_setup_error_naming_stage_and_backend():
    _registered("cloth_mask", "contract-option", "OptionMask")
    with pytest.raises(BackendSetupError, match=r"^cloth-mask backend 'contract-option': cannot be built: TypeError: "
                                                r".*unexpected keyword argument 'thresold'"):
        REGISTRIES["cloth_mask"].build("contract-option", thresold=200)


@pytest.mark.parametrize("in_process", [True, False], ids=["in-process", "pool"])
def test_prep_stops_once_before_any_work_when_a_backend_cannot_be_built(tmp_path, in_process):
    persons = tmp_path / "persons"
    persons.mkdir()
    shutil.copy(_person(), persons / "anna.jpg")
    options = PrepOptions(out=tmp_path / "ds", split="test", persons=str(persons), cloths=str(_one_garment(tmp_path)),
                          backends={"pose": "contract-pose", "parser": "contract-parser",
                                    "densepose": "contract-densepose", "cloth_mask": "contract-option"},
                          backend_options={"cloth_mask": {"thresold": 200}}, in_process=in_process,
                          registrations=(*_persons_backends(), _registered("cloth_mask", "contract-option", "OptionMask")))
    with pytest.raises(VtonkitError, match="cloth-mask backend 'contract-option': cannot be built: TypeError: "
                                           ".*'thresold'"):
        run_prep(options)  # not a report of every input failed as a worker death
    assert not (tmp_path / "ds").exists()  # nothing was written: the run stopped at its set-up


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "vtonkit.toml"
    config.write_text('[backends]\ncloth_mask = "cv"\n\n[options.cv]\nthresold = 200\n')
    return config


def test_prep_command_says_a_mistyped_option_once_and_exits_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vtonkit", "prep", "--out", str(tmp_path / "ds"), "--split", "test",
                           "--cloths", str(_one_garment(tmp_path)), "--workers", "2", "--config", str(_config(tmp_path))],
                          capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "COLUMNS": "1000"})
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert said.count("cloth-mask backend 'cv': cannot be built: TypeError") == 1, said
    assert "unexpected keyword argument 'thresold'" in said
    assert "Traceback" not in said and "initializer" not in said and "WorkerDied" not in said


def test_prep_cloth_says_a_mistyped_option_in_one_line(tmp_path):
    out = tmp_path / "ds" / "test"
    result = runner.invoke(app, ["prep-cloth", str(_garment()), "--out", str(out), "--config", str(_config(tmp_path))])
    assert result.exit_code == 2, result.output
    assert "cloth-mask backend 'cv': cannot be built: TypeError" in " ".join(result.output.split())
    assert not SplitDir(out).cloth_mask("00055_00").exists()


# --- 2. the cache identity is the registered name ------------------------------------------------

def test_two_registrations_of_one_class_name_do_not_share_cached_outputs(tmp_path):
    original = _registered("cloth_mask", "contract-option", "OptionMask")
    copy = _registered("cloth_mask", "contract-copy", "CopiedMask")
    assert backend_identity("cloth_mask", "contract-copy", {}).startswith("contract-copy@1")
    common = dict(out=tmp_path / "ds", split="test", cloths=str(_one_garment(tmp_path)), in_process=True,
                  registrations=(original, copy))
    first = run_prep(PrepOptions(backends={"cloth_mask": "contract-option"}, **common))
    mask = SplitDir(tmp_path / "ds" / "test").cloth_mask("shirt")
    before = read_mask(mask)
    second = run_prep(PrepOptions(backends={"cloth_mask": "contract-copy"}, **common))
    assert first.ok == second.ok == {"cloth": 1}  # written again, not skipped as complete
    assert not np.array_equal(read_mask(mask), before)  # the copy's own mask, not the original's from the cache


BUILT_IN = {"pose": ("mediapipe", "dwpose"), "parser": ("geometric", "schp-lip", "schp-atr", "schp-pascal"),
            "densepose": ("geometric", "detectron2"), "cloth_mask": ("cv", "u2net", "carvekit")}


@pytest.mark.parametrize("stage, name", [(stage, name) for stage, names in BUILT_IN.items() for name in names])
def test_built_in_cache_keys_are_unchanged(stage, name):
    cls = REGISTRIES[stage].resolve(name)
    # their class `name` is their registered name: keys made from either are the same, caches stay valid
    assert cls.name == name
    assert backend_identity(stage, name, {"a": 1}) == f"{cls.name}@{cls.version}" + '{"a": 1}'


# --- 3. pose output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, said", [
    ("Coco18Pose", r"keypoints of shape \(18, 3\); the pose interface returns BODY_25"),
    ("ArrayPose", "returned ndarray; the pose interface .* returns a PoseResult"),
    ("HalfMaskPose", r"bool person_mask of shape \(\d+, \d+\); the pose interface returns None or a bool mask"),
])
@pytest.mark.parametrize("keep", [True, False], ids=["keep-framing", "refocus"])
def test_a_pose_result_outside_the_interface_names_the_pose_backend(cls, said, keep):
    backend = globals()[cls]()
    backends = PersonBackends(pose=backend, parser=BlockParser(), densepose=BlockDensePose())
    with pytest.raises(BackendOutputError, match=f"pose backend '{backend.name}' .*{cls}.*{said}"):
        process_person(_person(), backends, keep=keep)


def test_prep_names_the_pose_backend_not_its_recorder(tmp_path):
    persons = tmp_path / "persons"
    persons.mkdir()
    shutil.copy(_person(), persons / "anna.jpg")
    registrations = (*_persons_backends(), _registered("pose", "contract-coco18", "Coco18Pose"))
    report = run_prep(PrepOptions(out=tmp_path / "ds", split="test", persons=str(persons), in_process=True,
                                  backends={"pose": "contract-coco18", "parser": "contract-parser",
                                            "densepose": "contract-densepose"}, registrations=registrations))
    [error] = report.errors
    assert error["stage"] == "pose" and error["error_type"] == "BackendOutputError", error
    assert "pose backend 'contract-coco18'" in error["reason"] and "(18, 3)" in error["reason"], error


# --- 4. eval-prep -----------------------------------------------------------------------------------

def test_eval_prep_refuses_an_unknown_backend_as_prep_does(tmp_path):
    (tmp_path / "vitonhd").mkdir()
    result = runner.invoke(app, ["eval-prep", "--data", str(tmp_path), "--cloth-mask", "minee"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "error: unknown cloth-mask backend 'minee'; available: cv" in said
    assert "Traceback" not in said


def test_eval_prep_checks_the_masks_it_scores(tmp_path):
    shot, truth = tmp_path / "shot.jpg", tmp_path / "truth.jpg"
    image = np.full((1024, 768, 3), 255, np.uint8)
    image[300:700, 200:560] = 40
    Image.fromarray(image).save(shot)
    Image.fromarray(np.where(image[..., 0] < 128, 255, 0).astype(np.uint8)).save(truth)
    assert evaluate_cloth("shot", shot, truth, OptionMask())["cloth_iou"] > 0.9
    with pytest.raises(BackendOutputError, match="cloth-mask backend 'contract-soft'"):
        evaluate_cloth("shot", shot, truth, SoftMask())


# --- 5. a backend's fault is not cached --------------------------------------------------------------

def test_a_fixed_backend_runs_again_without_a_version_bump(tmp_path):
    options = PrepOptions(out=tmp_path / "ds", split="test", cloths=str(_one_garment(tmp_path)), in_process=True,
                          backends={"cloth_mask": "contract-fixable"},
                          registrations=(_registered("cloth_mask", "contract-fixable", "FixableMask"),))
    FIXABLE["broken"] = True
    try:
        first = run_prep(options)
        assert [e["error_type"] for e in first.errors] == ["BackendOutputError"]
        FIXABLE["broken"] = False  # the backend's author fixes it, keeping its version
        second = run_prep(options)
    finally:
        FIXABLE["broken"] = True
    assert second.ok == {"cloth": 1} and second.errors == []


def test_a_backend_output_error_an_earlier_version_cached_is_recomputed(tmp_path):
    garments = _one_garment(tmp_path)
    registration = _registered("cloth_mask", "contract-option", "OptionMask")
    dataset = tmp_path / "ds"
    digest = hashlib.sha256((garments / "shirt.jpg").read_bytes()).hexdigest()
    key = cloth_keys(digest, {"cloth_mask": backend_identity("cloth_mask", "contract-option", {})})["cloth_mask"]
    StageCache(state_dir(dataset) / "cache").save_error("cloth_mask", key, "BackendOutputError", "old bug")
    report = run_prep(PrepOptions(out=dataset, split="test", cloths=str(garments), in_process=True,
                                  backends={"cloth_mask": "contract-option"}, registrations=(registration,)))
    assert report.ok == {"cloth": 1} and report.errors == []


# --- 6. a soft mask ---------------------------------------------------------------------------------

def test_a_soft_cloth_mask_is_refused_naming_the_backend():
    with pytest.raises(BackendOutputError, match=r"cloth-mask backend 'contract-soft' .* returned float32 values "
                                                 r"0\.1\.\.0\.9; the cloth-mask interface returns a bool mask"):
        process_cloth(_garment(), SoftMask())


# --- 7/8/9. registration mistakes ----------------------------------------------------------------------

@pytest.mark.parametrize("stage, name, target, said", [
    ("cloth_mask", "contract-badcls", f"{ME}:NoVersio", f"{ME} has no 'NoVersio'"),
    ("cloth_mask", "contract-badmod", "tests.no_such_backend:NoVersionMask",
     "importing tests.no_such_backend: ModuleNotFoundError"),
    ("cloth_mask", "contract-noversion", f"{ME}:NoVersionMask", "the class has no `version`"),
    ("cloth_mask", "contract-typo", f"{ME}:MethodTypoMask", "has no `mask` method"),
    ("cloth_mask", "contract-closeless", f"{ME}:CloselessMask",
     r"declares the 'close' ability but has no `close\(\)` method"),
    ("parser", "contract-misspelt", f"{ME}:MisspeltAbilityParser", "declares unknown abilities 'person-mask'"),
])
def test_a_registration_that_breaks_the_contract_is_refused_naming_it(stage, name, target, said):
    if name not in REGISTRIES[stage].names():
        REGISTRIES[stage].register_lazy(name, target)
    label = REGISTRIES[stage].stage
    with pytest.raises(BackendSetupError, match=f"^{label} backend '{name}' .*cannot be built: .*{said}"):
        REGISTRIES[stage].build(name)


def test_prep_refuses_a_broken_registration_before_any_work(tmp_path):
    registration = _registered("cloth_mask", "contract-noversion", "NoVersionMask")
    with pytest.raises(BackendSetupError, match="contract-noversion"):
        run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(_one_garment(tmp_path)),
                             backends={"cloth_mask": "contract-noversion"}, registrations=(registration,)))
    assert not (tmp_path / "ds").exists()


def test_prep_cloth_refuses_a_close_it_cannot_call_before_writing(tmp_path):
    _registered("cloth_mask", "contract-closeless", "CloselessMask")
    out = tmp_path / "ds" / "test"
    result = runner.invoke(app, ["prep-cloth", str(_garment()), "--out", str(out), "--cloth-mask", "contract-closeless"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "cloth-mask backend 'contract-closeless'" in said and "no `close()` method" in said
    assert not DatasetLayout(tmp_path / "ds").split("test").cloth_mask("00055_00").exists()


# --- 10. an exception inside a backend ---------------------------------------------------------------

def test_an_exception_inside_a_backend_names_it_and_is_not_cached(tmp_path):
    dataset = tmp_path / "ds"
    report = run_prep(PrepOptions(out=dataset, split="test", cloths=str(_one_garment(tmp_path)), in_process=True,
                                  backends={"cloth_mask": "contract-exploding"},
                                  registrations=(_registered("cloth_mask", "contract-exploding", "ExplodingMask"),)))
    [error] = report.errors
    assert error["stage"] == "cloth_mask" and error["error_type"] == "RuntimeError", error
    assert error["reason"] == "cloth-mask backend 'contract-exploding' failed: RuntimeError: probe masker exploded"
    assert not list((state_dir(dataset) / "cache").rglob("*.error.json"))  # a backend's bug: run again next time


class ExplodingPose(BodyPose):
    name = "contract-exploding-pose"

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        raise IndexError("joint 25 of 25")


def test_an_exception_inside_a_pose_backend_names_it():
    backends = PersonBackends(pose=ExplodingPose(), parser=BlockParser(), densepose=BlockDensePose())
    with pytest.raises(BackendFailure, match="^pose backend 'contract-exploding-pose' failed: IndexError: joint 25"):
        process_person(_person(), backends, keep=True)
