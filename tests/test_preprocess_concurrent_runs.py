"""Two writers of one dataset at once, through the real CLIs (separate processes, as users start them).

`prep-cloth` and `prep-person` took no lock: two `prep-cloth` runs into one split, each with its own
`a.jpg`, both read the manifest before either saved it, both gave their garment the stem `a`, and
one garment was lost without a word (both runs said "1 written", exit 0). A `prep` started beside
them deleted their in-flight temporary files and rewrote their manifest entries. All three now take
the one dataset lock `prep` takes, and the second writer is refused with a message.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vtonkit.preprocess.pipeline import dataset_lock

pytestmark = pytest.mark.timeout(600)

VTONKIT = [sys.executable, "-m", "vtonkit"]
REFUSED = "is writing this dataset"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*VTONKIT, *args], capture_output=True, text=True, timeout=300)


def _said(done: subprocess.CompletedProcess) -> str:
    return " ".join((done.stdout + done.stderr).split())  # rich wraps long lines


def _two_garments_named_a(photos: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two different real garment photos, both named a.jpg, in folders X and Y."""
    garments = sorted((photos / "garments").glob("*.jpg"))
    first, second = tmp_path / "X" / "a.jpg", tmp_path / "Y" / "a.jpg"
    for source, target in ((garments[0], first), (garments[1], second)):
        target.parent.mkdir()
        shutil.copyfile(source, target)
    return first, second


def _cloths(dataset: Path) -> dict:
    manifest = dataset / ".vtonkit" / "manifest.json"
    if not manifest.exists():
        return {}
    return json.loads(manifest.read_text()).get("splits", {}).get("test", {}).get("cloths", {})


def test_prep_cloth_and_prep_person_are_refused_while_another_writer_holds_the_dataset(photos, tmp_path):
    first, second = _two_garments_named_a(photos, tmp_path)
    person = tmp_path / "P" / "anna.jpg"
    person.parent.mkdir()
    shutil.copyfile(sorted((photos / "persons").glob("*.jpg"))[0], person)
    dataset = tmp_path / "ds"
    split = dataset / "test"
    split.mkdir(parents=True)
    with dataset_lock(dataset.resolve()):  # what `prep` holds while it writes (another process from theirs)
        for args in (["prep-cloth", str(first), "--out", str(split)],
                     ["prep-person", str(person), "--out", str(split)]):
            done = _run(*args)
            said = _said(done)
            assert done.returncode == 2, said
            assert REFUSED in said and "prep-cloth" in said and "Traceback" not in said, said
        assert not any(split.rglob("*.jpg")), sorted(split.rglob("*"))
        assert _cloths(dataset) == {}

    # The lock released: one after the other, both garments are kept, each under its own stem.
    for garment in (first, second):
        done = _run("prep-cloth", str(garment), "--out", str(split))
        assert done.returncode == 0 and "1 written" in _said(done), _said(done)
    stems = sorted(path.stem for path in (split / "cloth").glob("*.jpg"))
    assert len(stems) == 2 and stems[0] == "a" and stems[1].startswith("a_"), stems
    assert sorted(path.stem for path in (split / "cloth-mask").glob("*.jpg")) == stems
    records = _cloths(dataset)
    assert sorted(records) == stems
    assert {records[stem]["source"] for stem in stems} == {str(first), str(second)}


def test_prep_is_refused_while_a_prep_cloth_run_writes(photos, tmp_path):
    """`prep` beside a running `prep-cloth`: it cleaned up the other run's temporary files as stale and
    saved a manifest without its entries. It is refused now, and the `prep-cloth` run keeps everything."""
    shots = tmp_path / "shots"
    shots.mkdir()
    garments = sorted((photos / "garments").glob("*.jpg"))
    for round_ in range(2):  # distinct bytes (a trailing byte after the JPEG's end), or they would be duplicates
        for garment in garments:
            (shots / f"{garment.stem}_{round_}.jpg").write_bytes(garment.read_bytes() + bytes([round_]))
    other = tmp_path / "other"
    other.mkdir()
    shutil.copyfile(garments[0], other / "z.jpg")
    dataset = tmp_path / "ds"
    split = dataset / "test"
    holder = subprocess.Popen([*VTONKIT, "prep-cloth", str(shots), "--out", str(split)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any((split / "cloth").glob("*.jpg")) and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        done = _run("prep", "--cloths", str(other), "--out", str(dataset), "--split", "test", "--in-process",
                    "--no-progress")
        holder_still_running = holder.poll() is None
        held = holder.communicate(timeout=300)[0]
    finally:
        if holder.poll() is None:
            holder.kill()
    if not holder_still_running and done.returncode != 2:
        pytest.skip("the prep-cloth run finished before prep started (a fast machine): nothing was concurrent")
    said = _said(done)
    assert done.returncode == 2 and REFUSED in said and "Traceback" not in said, said
    assert holder.returncode == 0 and f"{2 * len(garments)} written" in " ".join(held.split()), held
    assert len(list((split / "cloth").glob("*.jpg"))) == 2 * len(garments)
    assert len(_cloths(dataset)) == 2 * len(garments)
    assert not (split / "cloth" / "z.jpg").exists()
