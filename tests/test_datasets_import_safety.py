"""An import into an existing dataset never costs that dataset a file: a failed sample takes back
what it wrote and nothing more, an interrupted import records what it finished, a re-run lists each
person once, and a folder holding samples vtonkit knows nothing of is refused.

Every test works on copies of the real VITON-HD and Dress Code samples in ../shared.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from vtonkit.datasets.importers.dresscode import import_dresscode
from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.manifest import Manifest
from vtonkit.datasets.validate import validate

from tests.conftest import shared_path


def _copy(tmp_path: Path, name: str, *parts: str) -> Path:
    """A writable copy of ../shared/data/<parts> (the tests break files of their source)."""
    copy = tmp_path / name
    shutil.copytree(shared_path("data", *parts), copy)
    return copy


def _files(root: Path) -> dict[str, str]:
    """sha256 of every file under the split folders of `root`, hidden ones included (a stray
    temporary or backup file counts)."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for split in ("train", "test") if (root / split).is_dir()
            for path in sorted((root / split).rglob("*")) if path.is_file()}


def test_a_failed_reimport_keeps_the_samples_the_dataset_held(tmp_path: Path) -> None:
    """A re-import after the source lost a DensePose file and got a garbled keypoints file deleted the
    two samples' 20 good files while the manifest and test_pairs.txt still named them (validate: 24
    errors); a sample failing at its agnostic step lost the agnostic files and keypoints it had."""
    source = _copy(tmp_path, "src", "vitonhd")
    out = tmp_path / "ds"
    report = import_vitonhd(source, out, progress=False)
    assert report.failures == [] and len(report.converted) == 8
    before = _files(out)
    (source / "test" / "image-densepose" / "00006_00.jpg").unlink()
    (source / "test" / "openpose_json" / "00008_00_keypoints.json").write_text("x")
    # 00013_00: its source lacks the agnostic files (made again, the dataset's copies removed first) and its
    # keypoints read but hold no joint, so the sample fails at its last step, after its files were written
    for folder, name in (("agnostic-v3.2", "00013_00.jpg"), ("agnostic-mask", "00013_00_mask.png"),
                         ("image-parse-agnostic-v3.2", "00013_00.png")):
        (source / "test" / folder / name).unlink()
    keypoints = source / "test" / "openpose_json" / "00013_00_keypoints.json"
    pose = json.loads(keypoints.read_text())
    pose["people"][0]["pose_keypoints_2d"] = [0.0] * 75
    keypoints.write_text(json.dumps(pose))
    report = import_vitonhd(source, out, progress=False)
    reasons = {failure.sample: failure.reason for failure in report.failures}
    assert sorted(reasons) == ["00006_00", "00008_00", "00013_00"], reasons
    assert "image-densepose/00006_00.jpg: missing" in reasons["00006_00"]
    assert "00008_00_keypoints.json: not valid JSON" in reasons["00008_00"]
    assert "00013_00_keypoints.json" in reasons["00013_00"]
    assert _files(out) == before  # every file as it was, no stray backup beside them
    manifest = Manifest.load(out)
    assert {"00006_00", "00008_00", "00013_00"} <= set(manifest.entries("test", "persons"))
    assert validate(out, ["test"], category="upper").exit_code(False) == 0


def test_a_broken_sample_of_another_photo_under_a_taken_name_is_refused_as_such(tmp_path: Path) -> None:
    """Merging a source whose 00000_00 is another person, with its DensePose missing, deleted every file
    of the dataset's own 00000_00: the missing file was found before the name clash."""
    out = tmp_path / "ds"
    assert import_vitonhd(shared_path("data", "vitonhd"), out, progress=False).failures == []
    before = _files(out)
    source = tmp_path / "src2"
    test = shared_path("data", "vitonhd", "test")
    for folder in test.iterdir():
        for path in folder.glob("00006_00*"):
            if folder.name != "image-densepose":
                (source / "train" / folder.name).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, source / "train" / folder.name / path.name.replace("00006_00", "00000_00"))
    report = import_vitonhd(source, out, progress=False)
    (failure,) = report.failures
    assert failure.sample == "00000_00" and report.converted == []
    assert "already holds a sample 00000_00 made from another photo" in failure.reason, failure.reason
    assert _files(out) == before


def test_a_failed_dresscode_reimport_keeps_the_sample_the_dataset_held(tmp_path: Path) -> None:
    """The Dress Code importer deleted the dataset's 000001 when its keypoints file went bad."""
    source = _copy(tmp_path, "dc", "dresscode")
    out = tmp_path / "ds"
    report = import_dresscode(source, out, category="upper", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    before = _files(out)
    (source / "upper_body" / "keypoints" / "000001_2.json").write_text(json.dumps({"keypoints": [[1, 2]]}))
    report = import_dresscode(source, out, category="upper", progress=False)
    (failure,) = report.failures
    assert failure.sample == "000001_0.jpg" and "000001_2.json" in failure.reason, failure
    assert len(report.converted) == 2
    assert _files(out) == before
