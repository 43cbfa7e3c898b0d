"""An import into an existing dataset never costs that dataset a file: a failed sample takes back
what it wrote and nothing more, an interrupted import records what it finished, a re-run lists each
person once, and a folder holding samples vtonkit knows nothing of is refused.

Every test works on copies of the real VITON-HD and Dress Code samples in ../shared.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vtonkit.datasets.importers.dresscode import import_dresscode
from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.layout import DatasetLayout
from vtonkit.datasets.conversion import sample_outputs
from vtonkit.datasets.manifest import Manifest
from vtonkit.datasets.validate import validate

from vtonkit.core.errors import InputError

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


def _dresscode_lower_copies(root: Path, count: int) -> Path:
    """A Dress Code root whose lower_body holds `count` ids, each the files of one of the three real
    lower-body samples (links): enough samples for an import to be interrupted in the middle."""
    shared = shared_path("data", "dresscode", "lower_body")
    real = ["013563", "013564", "013565"]
    files = (("images", "_0.jpg"), ("images", "_1.jpg"), ("keypoints", "_2.json"), ("label_maps", "_4.png"),
             ("dense", "_5.png"), ("image-densepose", "_0.jpg"))
    for number in range(count):
        for folder, suffix in files:
            (root / "lower_body" / folder).mkdir(parents=True, exist_ok=True)
            (root / "lower_body" / folder / f"{200000 + number}{suffix}").symlink_to(
                shared / folder / f"{real[number % 3]}{suffix}")
    return root


def test_an_interrupted_import_records_what_it_wrote_and_leaves_no_half_sample(tmp_path: Path) -> None:
    """Ctrl-C during an import left the samples it had written without a manifest entry (it was saved
    after the last sample), so validate checked a lower-body set with the upper recipe and export
    refused it, and the sample in progress half-written. Now the manifest records every complete
    sample and the one in progress is taken back."""
    source = _dresscode_lower_copies(tmp_path / "dc", 12)
    out = tmp_path / "ds"
    command = [sys.executable, "-m", "vtonkit", "import", "dresscode", str(source), "--category", "lower",
               "--out", str(out), "--no-progress"]
    # Ctrl-C as a terminal sends it: a pytest-xdist worker ignores SIGINT, and its children inherited
    # that (the import ran to its end, 12 of 12, under `make test`)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # the agnostic files are a sample's last: once the second sample has them, the first is complete
    done_marker = out / "train" / "agnostic-mask"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and len(list(done_marker.glob("*.png"))) < 2:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    data = DatasetLayout(out).split("train")
    stems = data.person_stems()
    assert 0 < len(stems) < 12, (len(stems), stderr)  # interrupted after a sample, before the last
    persons = Manifest.load(out).entries("train", "persons")
    assert set(persons) == set(stems) and {record["category"] for record in persons.values()} == {"lower"}
    wanted = {path.relative_to(out).as_posix() for stem in stems for path in sample_outputs(data, stem)}
    found = {path.relative_to(out).as_posix() for path in (out / "train").rglob("*") if path.is_file()}
    assert found == wanted, sorted(found ^ wanted)  # every sample whole, nothing of the interrupted one
    # the same command again imports the rest
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(data.person_stems()) == 12 and set(Manifest.load(out).entries("train", "persons")) == set(
        data.person_stems())


def test_a_rerun_import_lists_each_person_once_as_a_fresh_import_does(tmp_path: Path) -> None:
    """A re-run after the source gained 00034_00 appended the new default rotation's lines after the old
    ones: 00017_00 was listed twice, in two garments."""
    source = _copy(tmp_path, "src", "vitonhd")
    held = tmp_path / "held"
    held.mkdir()
    for path in sorted((source / "test").rglob("00034_00*")):  # not downloaded yet
        path.rename(held / f"{path.parent.name}--{path.name}")
    out = tmp_path / "ds"
    assert import_vitonhd(source, out, progress=False).failures == []
    for path in held.iterdir():
        folder, name = path.name.split("--")
        path.rename(source / "test" / folder / name)
    assert import_vitonhd(source, out, progress=False).failures == []
    fresh = tmp_path / "fresh"
    assert import_vitonhd(source, fresh, progress=False).failures == []
    lines = (out / "test_pairs.txt").read_text().splitlines()
    persons = [line.split()[0] for line in lines]
    assert len(persons) == len(set(persons)) == 5, lines
    assert lines == (fresh / "test_pairs.txt").read_text().splitlines()
    assert (out / "train_pairs.txt").read_text() == (fresh / "train_pairs.txt").read_text()


def test_a_folder_holding_samples_no_manifest_records_is_refused(tmp_path: Path) -> None:
    """A lower-body HR-VITON-layout set made by other tools (no .vtonkit/manifest.json) took VITON-HD's
    upper-body samples without a word: the category guard reads only the manifest."""
    lower = tmp_path / "lower"
    assert import_dresscode(shared_path("data", "dresscode"), lower, category="lower", progress=False).converted
    shutil.rmtree(lower / ".vtonkit")  # as another tool leaves it
    before = _files(lower)
    with pytest.raises(InputError) as refused:
        import_vitonhd(shared_path("data", "vitonhd"), lower, progress=False)
    said = str(refused.value)
    assert said.startswith(f"{lower}: already holds 3 samples (3 in train) that no vtonkit manifest records"), said
    assert "give another --out" in said
    assert _files(lower) == before and not (lower / ".vtonkit").exists()
    with pytest.raises(InputError, match="already holds 3 samples"):
        import_dresscode(shared_path("data", "dresscode"), lower, category="upper", progress=False)
    assert _files(lower) == before


def test_an_import_killed_before_its_manifest_was_saved_runs_again(tmp_path: Path) -> None:
    """The samples an import wrote before a `kill -9` (no manifest yet) are its own photos: the same
    import runs again and records them, where another source's would be refused."""
    out = tmp_path / "ds"
    assert import_vitonhd(shared_path("data", "vitonhd"), out, progress=False).failures == []
    shutil.rmtree(out / ".vtonkit")
    report = import_vitonhd(shared_path("data", "vitonhd"), out, progress=False)
    assert report.failures == [] and len(report.converted) == 8
    assert len(Manifest.load(out).entries("test", "persons")) == 5


def test_pair_lines_the_import_leaves_out_are_said(tmp_path: Path) -> None:
    """A VITON-HD import dropped the source pair list's lines naming a sample it does not have, and
    left persons the list pairs with no garment out of every pair, without a word (a Dress Code
    import names them)."""
    source = _copy(tmp_path, "src", "vitonhd")
    (source / "test_pairs.txt").write_text("00006_00.jpg 00034_00.jpg\n00008_00.jpg 00017_00.jpg\n"
                                           "00013_00.jpg 99999_00.jpg\n00017_00.jpg 00006_00.jpg\n",
                                           encoding="utf-8")
    report = import_vitonhd(source, tmp_path / "out", progress=False)
    assert report.failures == []
    assert [(m.split, m.sample) for m in report.missing] == [("test", "99999_00")]
    assert "file not found, though" in report.missing[0].reason and "test_pairs.txt" in report.missing[0].reason
    notes = " ".join(report.notes)
    assert "1 of 4 lines left out of the imported test pair list" in notes, notes
    assert "pairs no garment with 2 imported test person(s) (00013_00, 00034_00)" in notes, notes
    written = (tmp_path / "out" / "test_pairs.txt").read_text(encoding="utf-8").splitlines()
    assert written == ["00006_00.jpg 00034_00.jpg", "00008_00.jpg 00017_00.jpg", "00017_00.jpg 00006_00.jpg"]
