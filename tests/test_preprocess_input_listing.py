"""Which files the preprocessing commands take as inputs, and what they say of an output they cannot
write, through the real CLI (a separate process).

A recursive glob over a folder that holds the output dataset (`--persons 'nest/**/*.jpg' --out
nest/out`) listed the dataset's own files on the next run: its person images, agnostic images,
DensePose images and garments became new "person photos" (junk samples, errors, exit 1). Files in
the dataset's own folders are left out now, with a note of how many; photos kept elsewhere in the
dataset's folder are still inputs. Several distinct empty files are each reported as empty (all but
the first were "same bytes as" the first, as if they were copies of a photo). An output folder
without write permission fails each sample with a line naming the output (it was an "internal error"
with a traceback, against the input photo; in `prep-cloth`, the clean-up of an earlier run's file
there ended the whole batch).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.permissions import without_root_override

pytestmark = pytest.mark.timeout(600)


def _vtonkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vtonkit", *args], capture_output=True, text=True, timeout=300)


def _said(done: subprocess.CompletedProcess) -> str:
    return " ".join((done.stdout + done.stderr).split())  # rich wraps long lines


def _manifest(dataset: Path) -> dict:
    return json.loads((dataset / ".vtonkit" / "manifest.json").read_text())["splits"]["test"]


def test_a_recursive_glob_over_the_output_dataset_leaves_its_files_out(photos: Path, tmp_path: Path):
    nest = tmp_path / "nest"
    nest.mkdir()
    shutil.copyfile(sorted((photos / "persons").glob("*.jpg"))[0], nest / "anna.jpg")
    out = nest / "out"
    first = _vtonkit("prep", "--persons", str(nest), "--out", str(out), "--split", "test", "--no-progress")
    assert first.returncode == 0 and "1 samples written" in _said(first), _said(first)
    written = sorted(p.relative_to(out) for p in out.rglob("*.jpg"))
    assert len(written) > 2, written  # image, agnostic, DensePose: all matched by the glob below

    again = _vtonkit("prep", "--persons", str(nest / "**" / "*.jpg"), "--out", str(out), "--split", "test",
                     "--no-progress")
    said = _said(again)
    assert again.returncode == 0, said
    assert f"left out {len(written)} input files inside this dataset's own folders" in said, said
    assert "0 samples written" in said and "1 already complete" in said and "0 failed" in said, said
    assert sorted(p.relative_to(out) for p in out.rglob("*.jpg")) == written
    assert list(_manifest(out)["persons"]) == ["anna"]
    assert (out / "prep-errors.jsonl").read_text() == ""


def test_the_output_folders_given_as_inputs_are_left_out_and_other_photos_in_the_dataset_folder_are_kept(
        photos: Path, tmp_path: Path):
    """Garments (the cheap chain): the dataset's own cloth/ is no input of prep-cloth into it, while a
    folder of shots kept beside the splits (`ds/raw/`) is an ordinary input of `prep`."""
    dataset = tmp_path / "ds"
    raw = dataset / "raw"
    raw.mkdir(parents=True)
    garments = sorted((photos / "garments").glob("*.jpg"))[:2]
    for garment in garments:
        shutil.copyfile(garment, raw / garment.name)
    done = _vtonkit("prep", "--cloths", str(raw), "--out", str(dataset), "--split", "test", "--in-process",
                    "--no-progress")
    assert done.returncode == 0 and "2 samples written" in _said(done) and "left out" not in _said(done), _said(done)
    cloths = sorted(path.name for path in (dataset / "test" / "cloth").iterdir())
    assert cloths == sorted(garment.name for garment in garments)

    again = _vtonkit("prep-cloth", str(dataset / "test" / "cloth"), "--out", str(dataset / "test"))
    said = _said(again)
    assert again.returncode == 0 and "left out 2 input files inside this dataset's own folders" in said, said
    assert "prep-cloth: 0 written" in said, said
    assert sorted(path.name for path in (dataset / "test" / "cloth").iterdir()) == cloths
    assert sorted(_manifest(dataset)["cloths"]) == [Path(name).stem for name in cloths]


def test_an_output_folder_without_write_permission_is_named_per_sample_and_the_batch_goes_on(
        photos: Path, tmp_path: Path):
    prefix = without_root_override()
    dataset = tmp_path / "ds"
    split = dataset / "test"
    shots = tmp_path / "shots"
    shots.mkdir()
    garments = sorted((photos / "garments").glob("*.jpg"))[:2]
    for garment in garments:
        shutil.copyfile(garment, shots / garment.name)
    person = tmp_path / "persons" / "anna.jpg"
    person.parent.mkdir()
    shutil.copyfile(sorted((photos / "persons").glob("*.jpg"))[0], person)
    first = _vtonkit("prep-cloth", str(shots / garments[0].name), "--out", str(split))
    assert first.returncode == 0, _said(first)
    (split / "openpose_json").mkdir()
    for folder in ("cloth-mask", "openpose_json"):
        (split / folder).chmod(0o555)
    try:
        cloths = subprocess.run([*prefix, sys.executable, "-m", "vtonkit", "prep-cloth", str(shots), "--out",
                                 str(split)], capture_output=True, text=True, timeout=300)
        persons = subprocess.run([*prefix, sys.executable, "-m", "vtonkit", "prep", "--persons", str(person.parent),
                                  "--out", str(dataset), "--split", "test", "--no-progress"],
                                 capture_output=True, text=True, timeout=300)
    finally:
        for folder in ("cloth-mask", "openpose_json"):
            (split / folder).chmod(0o755)
    said = _said(cloths)
    assert cloths.returncode == 1 and "Traceback" not in said and "internal error" not in said, said
    for garment in garments:  # both failed on their own: the first one's did not end the batch
        assert f"{shots / garment.name}: cannot write {split / 'cloth-mask' / garment.name}: Permission denied" \
            in said, said
    assert "prep-cloth: 0 written (0 with warnings), 2 failed" in said, said

    said = _said(persons)
    assert persons.returncode == 1 and "Traceback" not in said and "internal error" not in said, said
    records = [json.loads(line) for line in (dataset / "prep-errors.jsonl").read_text().splitlines()]
    assert records == [{"kind": "person", "stem": "anna", "stage": "write", "file": str(person),
                        "reason": f"cannot write {split / 'openpose_json' / 'anna_keypoints.json'}: Permission denied",
                        "error_type": "OutputWriteError"}]
    assert not list(split.rglob(".*.tmp"))


def test_every_empty_file_is_said_to_be_empty_none_is_a_copy_of_another(photos: Path, tmp_path: Path):
    shots = tmp_path / "shots"
    shots.mkdir()
    shutil.copyfile(sorted((photos / "garments").glob("*.jpg"))[0], shots / "ok.jpg")
    empty = ("a.jpg", "b.jpg", "c.png")
    for name in empty:
        (shots / name).write_bytes(b"")
    dataset = tmp_path / "ds"
    done = _vtonkit("prep", "--cloths", str(shots), "--out", str(dataset), "--split", "test", "--in-process",
                    "--no-progress")
    said = _said(done)
    assert done.returncode == 1 and "1 samples written" in said and "3 failed" in said, said
    assert "same bytes" not in said, said
    records = [json.loads(line) for line in (dataset / "prep-errors.jsonl").read_text().splitlines()]
    assert {(Path(r["file"]).name, r["reason"]) for r in records} == {(name, "empty file (0 bytes)") for name in empty}

    done = _vtonkit("prep-cloth", *(str(shots / name) for name in ("ok.jpg", *empty)), "--out",
                    str(tmp_path / "other" / "test"))
    said = _said(done)
    assert done.returncode == 1 and "1 written" in said and "3 failed" in said and "skipped" not in said, said
    for name in empty:
        assert f"{shots / name}: empty file (0 bytes)" in said, said
