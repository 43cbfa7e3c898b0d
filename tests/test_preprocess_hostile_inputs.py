"""Hostile inputs and hostile surroundings of `prep`, `prep-person` and `prep-cloth`, through the real CLIs.

Clashing or loader-unsafe file names, a catalog whose records hold junk instead of a path, a file
the user may not read among the arguments, an output folder that cannot be written, and a disk
that fills up: each must give a clear message naming the file, cost at most that file, and leave
an honest summary. Garment shots (the cheap classic cloth-mask backend),
in-process.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner
from vtonkit.datasets.layout import SplitDir
from vtonkit.preprocess.pipeline import PrepOptions, run_prep
from vtonkit.core.errors import InputError

from vtonkit.cli import app

pytestmark = pytest.mark.timeout(120)


def _shot(path: Path, shade: int = 40, size: tuple[int, int] = (600, 800)) -> Path:
    """A garment-like shot: a dark block on white (the cv masker separates it)."""
    image = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(image).rectangle((size[0] // 4, size[1] // 5, size[0] * 3 // 4, size[1] * 4 // 5),
                                    fill=(shade, shade, shade + 30))
    image.save(path)
    return path


def _flat(output: str) -> str:
    # undo rich's line wrapping, and its error box's borders (where a line wraps depends on the path's length)
    return " ".join(output.replace("│", " ").split())


def test_prep_cloth_gives_clashing_and_unsafe_names_their_own_loader_safe_stems(tmp_path):
    """`shirt.jpg` and `shirt.png` (other bytes) both got stem "shirt": the second overwrote the first
    while the summary said 2 written. Names with a space, a newline or a second dot became stems the
    official loaders cannot read (they split pair lists at whitespace and names at the first dot)."""
    shots = tmp_path / "shots"
    shots.mkdir()
    names = ["shirt.jpg", "shirt.png", "a b.v2.jpg", "new\nline.JPG"]
    for shade, name in enumerate(names):
        _shot(shots / name, shade=20 + 30 * shade)
    (shots / "copy.jpg").write_bytes((shots / "shirt.jpg").read_bytes())  # same bytes: skipped, said so
    out = tmp_path / "dataset" / "test"
    result = CliRunner().invoke(app, ["prep-cloth", *(str(shots / n) for n in [*names, "copy.jpg"]), "--out", str(out)])
    output = _flat(result.output)
    assert result.exit_code == 0, output
    assert "4 written" in output and "1 skipped" in output and "same bytes as" in output
    stems = SplitDir(out).cloth_stems()
    assert len(stems) == 4, stems
    assert all(stem.replace("_", "").isalnum() for stem in stems), stems
    assert "a_b_v2" in stems and "new_line" in stems
    assert len({Image.open(SplitDir(out).cloth(stem)).tobytes() for stem in stems}) == 4


def test_catalog_records_with_junk_paths_cost_only_themselves(tmp_path):
    """A path that is a number, a list or holds a NUL byte (a hand-edited or foreign catalog) ended the
    whole run with a TypeError; a path that is a symbolic link loop ended it with a RuntimeError."""
    crawl = tmp_path / "crawl"
    (crawl / "images").mkdir(parents=True)
    _shot(crawl / "images" / "good.jpg")
    (crawl / "images" / "loop.jpg").symlink_to(crawl / "images" / "loop.jpg")
    paths = ["images/good.jpg", 123, ["images/good.jpg"], "images/nul\0.jpg", "images/loop.jpg", None]
    (crawl / "catalog.jsonl").write_text("".join(
        json.dumps({"store": "s", "product_id": f"p{n}", "category": "upper", "is_garment_shot": True, "path": path})
        + "\n" for n, path in enumerate(paths)))
    report = run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(crawl), in_process=True))
    assert report.ok == {"cloth": 1}
    assert [(Path(e["file"]).name, e["reason"]) for e in report.errors] == [("loop.jpg", "symbolic link loop")]


def test_catalog_records_pointing_outside_the_crawl_folder_are_skipped(tmp_path, caplog):
    """An absolute path or one climbing out with ".." (a foreign catalog) brought any picture of this
    machine into the dataset."""
    private = _shot(tmp_path / "private.jpg", shade=120)
    crawl = tmp_path / "crawl"
    (crawl / "images").mkdir(parents=True)
    _shot(crawl / "images" / "good.jpg")
    paths = ["images/good.jpg", str(private), "../private.jpg", "images/../../private.jpg"]
    (crawl / "catalog.jsonl").write_text("".join(
        json.dumps({"store": "s", "product_id": f"p{n}", "category": "upper", "is_garment_shot": True, "path": path})
        + "\n" for n, path in enumerate(paths)))
    with caplog.at_level(logging.WARNING):
        report = run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(crawl), in_process=True))
    assert report.ok == {"cloth": 1} and not report.errors
    assert SplitDir(tmp_path / "ds" / "test").cloth_stems() == ["p0"]
    assert caplog.text.count("leaves the crawl folder") == 3, caplog.text


def test_a_catalog_whose_every_record_is_refused_says_so(tmp_path):
    """Every garment shot refused for its path read "no garment shots of category upper among its 3
    records (3 upper garment shots)", which contradicts itself."""
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    (crawl / "catalog.jsonl").write_text("".join(
        json.dumps({"store": "s", "product_id": f"p{n}", "category": "upper", "is_garment_shot": True, "path": path})
        + "\n" for n, path in enumerate(["/etc/passwd", "../x.jpg", 7])))
    with pytest.raises(InputError, match=r"all 3 garment shots of category upper were skipped: their paths are not "
                                         r"file names or leave the crawl folder"):
        run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(crawl), in_process=True))


def test_an_unreadable_argument_costs_only_itself(tmp_path, monkeypatch):
    """Click's own readability check on the arguments refused the whole `prep-cloth` command (exit 2,
    nothing done) when one of many files could not be read (simulated: the tests may run as root)."""
    good, locked = _shot(tmp_path / "good.jpg"), _shot(tmp_path / "locked.jpg", shade=90)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, *a, **k: Path(path) != locked and real_access(path, mode))
    out = tmp_path / "ds" / "test"
    result = CliRunner().invoke(app, ["prep-cloth", str(good), str(locked), "--out", str(out)])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "locked.jpg: cannot read (permission denied)" in output and "1 written" in output
    assert SplitDir(out).cloth_stems() == ["good"]


@pytest.mark.parametrize("command", ["prep", "prep-cloth", "prep-person"])
def test_an_output_folder_that_cannot_be_made_is_a_clear_error(tmp_path, command):
    """An output below a regular file (like a read-only or full disk: the folder cannot be made)
    ended with a traceback instead of a message naming the folder."""
    shot = _shot(tmp_path / "good.jpg")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    out = blocker / "ds"
    args = (["prep", "--cloths", str(tmp_path / "*.jpg"), "--out", str(out), "--split", "test", "--in-process",
             "--no-progress"] if command == "prep" else [command, str(shot), "--out", str(out / "test")])
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2
    assert "error" in result.output and str(blocker) in _flat(result.output).replace(" ", "")


def test_a_full_disk_is_a_clear_error_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    """A full disk (simulated: every atomic write fails with ENOSPC) ended `prep` with a traceback when
    it wrote its manifest or, after a batch of failed samples, its prep-errors.jsonl."""
    import vtonkit.datasets.io.files as files

    shots = tmp_path / "shots"
    shots.mkdir()
    _shot(shots / "a.jpg")
    _shot(shots / "b.jpg", shade=90)
    out = tmp_path / "ds"
    real_atomic_write = files.atomic_write

    @contextlib.contextmanager
    def full_disk(path, mode="wb"):  # every atomic write: "No space left on device", as a full disk says it
        with real_atomic_write(path, mode) as handle:
            yield handle
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "atomic_write", full_disk)
    result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(out), "--split", "test",
                                      "--in-process", "--no-progress"])
    output = _flat(result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, output
    assert "No space left on device" in output and "Traceback" not in output
    assert not list(out.rglob("*.tmp"))


def test_a_one_pixel_strip_is_refused_before_it_is_padded_to_gigabytes(tmp_path):
    """A 1x20000 garment PNG (a few hundred bytes, far under the decompression-bomb limit) was padded to
    3:4 at full size first: 15000x20000 pixels, a 900 MB array per copy (1x60000: 8 GB)."""
    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 20000), (200, 10, 10)).save(strip)
    result = CliRunner().invoke(app, ["prep-cloth", str(strip), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "strip.png: 1x20000 is too far from 3:4" in output


def test_a_one_pixel_strip_is_no_person_rather_than_an_internal_error(tmp_path):
    """The detection pass shrinks a photo to 1024 px: a 1x20000 strip became 0 px wide and OpenCV's
    assertion surfaced as an "internal error" with a logged traceback."""
    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 20000), (200, 10, 10)).save(strip)
    result = CliRunner().invoke(app, ["prep-person", str(strip), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "strip.png: no person" in output and "internal error" not in output


def test_a_blank_photo_is_called_blank_not_black_and_white(tmp_path):
    """A pure white photo was refused as "a black-and-white photo, where the detectors find people less
    often": true of its colour, but it holds nothing at all."""
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (768, 1024), (255, 255, 255)).save(blank)
    result = CliRunner().invoke(app, ["prep-person", str(blank), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "blank.jpg: no person detected" in output and "the photo is blank (one flat colour)" in output, output
    assert "black-and-white" not in output


def test_an_empty_cloth_mask_is_said_once_with_the_file_name(tmp_path, caplog):
    """The cv masker also logged a warning of its own for an empty mask: a line on the terminal naming no file."""
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (600, 800), (255, 255, 255)).save(blank)
    with caplog.at_level(logging.WARNING):
        result = CliRunner().invoke(app, ["prep-cloth", str(blank), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "blank.jpg: no garment found" in output
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_disk_that_fills_up_mid_run_stops_the_batch_and_the_next_run_goes_on(tmp_path, monkeypatch):
    """A disk that fills up after the first sample used to fail every later input one by one, each
    an "internal error" with a logged traceback. The batch now stops at the first refused write,
    keeps the finished sample, and a run after space is freed does only the rest."""
    import vtonkit.datasets.io.files as files

    shots = tmp_path / "shots"
    shots.mkdir()
    for name, shade in (("a", 40), ("b", 90), ("c", 60)):
        _shot(shots / f"{name}.jpg", shade=shade)
    out = tmp_path / "ds"
    real_atomic_write = files.atomic_write
    attempted: list[str] = []

    @contextlib.contextmanager
    def full_after_a(path, mode="wb"):  # samples are run in name order in one process: a, then b, then c
        with real_atomic_write(path, mode) as handle:
            yield handle
            if Path(path).parent.name == "cloth":
                attempted.append(Path(path).stem)
                if Path(path).stem != "a":
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    command = ["prep", "--cloths", str(shots), "--out", str(out), "--split", "test", "--in-process", "--no-progress"]
    monkeypatch.setattr(files, "atomic_write", full_after_a)
    result = CliRunner().invoke(app, command)
    output = _flat(result.output)
    assert result.exit_code == 2, output
    assert "stopped" in output and "No space left on device" in output and "cloth/b.jpg" in output, output
    assert "Traceback" not in output and "internal error" not in output
    assert "b" in attempted and "c" not in attempted, attempted  # c never started
    assert (out / "test" / "cloth" / "a.jpg").is_file() and not (out / "test" / "cloth" / "b.jpg").exists()

    monkeypatch.setattr(files, "atomic_write", real_atomic_write)  # space freed
    result = CliRunner().invoke(app, command)
    output = _flat(result.output)
    assert result.exit_code == 0, output
    assert "2 samples written" in output and "1 already complete" in output, output
    assert sorted(p.name for p in (out / "test" / "cloth").iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]


def _interruptible() -> None:
    """Ctrl-C reaches the child even when this test runs in a background job, whose shell ignores
    SIGINT for everything it starts (Python then installs no KeyboardInterrupt handler at all)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_says_how_to_go_on(tmp_path):
    """Ctrl-C used to end `prep` with exit status 130 and not a word; the user was left to guess
    whether the finished samples count and what to run next. A real SIGINT to a real run."""
    import signal
    import subprocess
    import sys
    import time

    shots = tmp_path / "shots"
    shots.mkdir()
    for index in range(40):
        _shot(shots / f"s{index:02d}.jpg", shade=30 + index)
    out = tmp_path / "ds"
    run = subprocess.Popen([sys.executable, "-m", "vtonkit", "prep", "--cloths", str(shots), "--out", str(out),
                            "--split", "test", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, preexec_fn=_interruptible)
    deadline = time.monotonic() + 60
    while not list((out / "test" / "cloth").glob("*.jpg")) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    output = _flat(run.communicate(timeout=60)[0])
    if run.returncode == 0:
        pytest.fail(f"the run finished before the interrupt arrived: {output}")
    assert run.returncode == 130, output
    assert "interrupted" in output and "run the same command again" in output, output
    assert "Traceback" not in output, output


def test_agnostic_with_an_output_folder_blocked_by_a_file_stops_with_its_name(vitonhd: Path, tmp_path: Path):
    """`agnostic` when agnostic-v3.2 is a file: mkdir's FileExistsError was an "internal error", and the
    clean-up of the failed sample's outputs then died on NotADirectoryError with a traceback."""
    import shutil

    split = tmp_path / "test"
    shutil.copytree(vitonhd / "test", split)
    shutil.rmtree(split / "agnostic-v3.2")
    (split / "agnostic-v3.2").write_text("a file where a folder belongs\n")
    result = CliRunner().invoke(app, ["agnostic", str(split)])
    output = _flat(result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code != 0 and "Traceback" not in output
    assert f"cannot write {split / 'agnostic-v3.2'}: File exists" in output, output
    assert (split / "agnostic-v3.2").read_text() == "a file where a folder belongs\n"


def test_agnostic_with_a_folder_where_one_file_goes_fails_that_sample_only(vitonhd: Path, tmp_path: Path):
    """A folder in place of one sample's agnostic mask: its other two files were already replaced, a
    temporary file stayed behind on every run, and the failure was an "internal error" traceback."""
    import shutil

    from vtonkit.datasets.layout import SplitDir

    split = SplitDir(tmp_path / "test")
    shutil.copytree(vitonhd / "test", split.root)
    stem = split.person_stems()[0]
    split.agnostic_mask(stem).unlink()
    split.agnostic_mask(stem).mkdir()
    kept = {path: path.read_bytes() for path in (split.parse_agnostic(stem), split.agnostic(stem))}
    for _ in range(2):
        result = CliRunner().invoke(app, ["agnostic", str(split.root)])
        output = _flat(result.output)
        assert result.exit_code == 1 and "Traceback" not in output and "internal error" not in output, output
        assert f"cannot write {split.agnostic_mask(stem)}: a folder is in the way" in output, output
        assert f"{len(split.person_stems()) - 1}/{len(split.person_stems())} samples" in output, output
    assert {path: path.read_bytes() for path in kept} == kept
    assert not [p for p in split.root.rglob("*") if p.name.endswith(".tmp")]


def test_a_file_where_the_datasets_state_folder_goes_is_named_not_a_traceback(vitonhd: Path, tmp_path: Path):
    """`<dataset>/.vtonkit` as a file: validate, clean and review ended in a FileExistsError traceback."""
    import shutil
    import subprocess
    import sys

    dataset = tmp_path / "ds"
    shutil.copytree(vitonhd / "test", dataset / "test")
    (dataset / ".vtonkit").write_text("not a folder\n")
    for args in (["validate", str(dataset), "--workers", "1"], ["review", str(dataset), "--static", str(tmp_path / "r.html")]):
        done = subprocess.run([sys.executable, "-m", "vtonkit", *args], capture_output=True, text=True, timeout=300)
        said = _flat(done.stdout + done.stderr)
        assert done.returncode == 2 and "Traceback" not in said, said
        assert f"{dataset / '.vtonkit'}: a file is in the way of a folder vtonkit writes into" in said, said
    assert (dataset / ".vtonkit").read_text() == "not a folder\n"


def test_agnostic_leaves_a_failed_samples_genuine_files_untouched(vitonhd: Path, tmp_path: Path):
    """A recompute that failed for a sample (no person in its pose file) deleted that sample's genuine
    agnostic files: the clean-up meant for a half-written sample of `prep` removed what was there."""
    import shutil

    split = SplitDir(tmp_path / "test")
    shutil.copytree(vitonhd / "test", split.root)
    stems = split.person_stems()
    bad, good = stems[0], stems[1]
    split.openpose_json(bad).write_text(json.dumps({"people": []}))
    genuine = {path: path.read_bytes() for path in (split.parse_agnostic(bad), split.agnostic(bad), split.agnostic_mask(bad))}
    split.agnostic(good).unlink()  # recomputed from its inputs
    result = CliRunner().invoke(app, ["agnostic", str(split.root)])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert f"{bad}:" in output and str(split.openpose_json(bad)) in output and "no person" in output, output
    assert f"{len(stems) - 1}/{len(stems)} samples" in output, output
    assert {path: path.read_bytes() for path in genuine} == genuine
    assert split.agnostic(good).is_file()
    assert not [p for p in split.root.rglob("*") if p.name.endswith(".tmp")]


def test_prep_onto_a_genuine_dataset_keeps_a_sample_of_the_same_stem(vitonhd: Path, tmp_path: Path):
    """`prep --out` onto a VITON-HD dataset: a new garment shot named like a genuine sample (00006_00.jpg)
    overwrote its cloth/ and cloth-mask/ files, since only the manifest (none there) was asked."""
    import shutil

    split = SplitDir(tmp_path / "ds" / "test")
    stem = "00006_00"
    for folder in ("cloth", "cloth-mask"):
        (split.root / folder).mkdir(parents=True)
        shutil.copy(vitonhd / "test" / folder / f"{stem}.jpg", split.root / folder)
    genuine = {path: path.read_bytes() for path in split.cloth_files(stem).values()}
    shots = tmp_path / "shots"
    shots.mkdir()
    _shot(shots / f"{stem}.jpg")
    report = run_prep(PrepOptions(out=split.root.parent, split="test", cloths=str(shots), in_process=True))
    assert report.ok == {"cloth": 1}, report.errors
    assert {path: path.read_bytes() for path in genuine} == genuine
    stems = split.cloth_stems()
    assert len(stems) == 2 and stem in stems, stems
    new = next(s for s in stems if s != stem)
    assert new.startswith(f"{stem}_") and split.cloth_mask(new).is_file()


def test_prep_takes_file_names_that_are_not_utf8(tmp_path: Path):
    """A shot named with Latin-1 bytes (b'\\xe9t\\xe9.jpg', held by Python as lone surrogates) ended the
    whole `prep` with a UnicodeEncodeError traceback when its path went into the manifest."""
    shots = tmp_path / "shots"
    shots.mkdir()
    _shot(shots / "plain.jpg")
    _shot(Path(os.fsdecode(os.fsencode(shots) + b"/\xe9t\xe9.jpg")), shade=90)
    Path(os.fsdecode(os.fsencode(shots) + b"/bro\xefken.jpg")).write_bytes(b"not a JPEG")
    out = tmp_path / "ds"
    result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(out), "--split", "test",
                                      "--in-process", "--no-progress"])
    output = _flat(result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and "Traceback" not in output, output
    assert "bro\\xefken.jpg" in output, output
    assert SplitDir(out / "test").cloth_stems() == ["plain", "t"]
    written = [p for p in out.rglob("*") if p.suffix in (".json", ".jsonl")]
    records = {p.name: p.read_bytes().decode("utf-8") for p in written}  # strict UTF-8, no surrogates
    manifest = json.loads(records["manifest.json"])
    assert manifest["splits"]["test"]["cloths"]["t"]["source"] == f"{shots}/\\xe9t\\xe9.jpg"  # escaped, readable
    errors = [json.loads(line) for line in records["prep-errors.jsonl"].splitlines()]
    assert [error["file"] for error in errors] == [f"{shots}/bro\\xefken.jpg"]


def test_a_damaged_exif_block_is_named_once_as_the_shots_warning(tmp_path: Path):
    """Pillow's "Tag data larger than file" on a damaged EXIF block named no file (and came four times):
    in a batch of thousands nobody could tell which photo it was about. It is now the shot's warning,
    once (`frames_note`, which the prep chains add to the shot's warnings), and no raw Python warning."""
    import struct
    import warnings

    from vtonkit.datasets.io.images import frames_note
    from vtonkit.preprocess.cloth import prepare_cloth

    entries = [struct.pack("<HHII", 0x010E, 2, 100, 1000),  # a description said to lie past the end of the block
               struct.pack("<HHIHH", 0x0112, 3, 1, 1, 0)]   # orientation: upright
    tiff = b"II*\x00" + struct.pack("<IH", 8, len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    shot = tmp_path / "damaged-exif.jpg"
    Image.new("RGB", (600, 800), "white").save(shot, exif=b"Exif\x00\x00" + tiff)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare_cloth(shot)
        notes = frames_note(shot)
    assert [str(w.message) for w in caught] == []
    assert notes == ["damaged metadata ignored (Tag data larger than file. Skipping tag 270)"], notes


@pytest.mark.parametrize("command", ["prep", "prep-person", "prep-cloth"])
def test_a_photo_with_corrupt_exif_gets_one_warning_line_counted_and_kept(photos: Path, tmp_path: Path, command):
    """A photo with a corrupt EXIF block printed Python's warning with a source line, then Pillow's again
    without the file's name, and the summary said "0 with warnings" (prep-warnings.jsonl empty)."""
    import warnings

    folder = tmp_path / "in"
    folder.mkdir()
    photo = folder / "c.jpg"
    with Image.open(photos / "persons" / "01008_00.jpg") as image:
        image.save(photo, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff\x01\x12")
    out = tmp_path / "ds"
    args = ([command, "--persons", str(folder), "--out", str(out), "--split", "test", "--in-process", "--no-progress"]
            if command == "prep" else [command, str(photo), "--out", str(out / "test")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, args)
    output = _flat(result.output)
    assert result.exit_code == 0, output
    assert [str(w.message) for w in caught if "EXIF" in str(w.message)] == []
    note = "damaged metadata ignored (Corrupt EXIF data. Expecting to read 12 bytes but only got 2.)"
    assert output.count(f"{photo}: {note}") == 1, output
    assert "(1 with warnings)" in output, output
    if command == "prep":
        records = [json.loads(line) for line in (out / "prep-warnings.jsonl").read_text().splitlines()]
        assert records == [{"kind": "person", "stem": "c", "file": str(photo), "warning": note}]


def test_prep_person_onto_a_genuine_dataset_neither_overwrites_nor_deletes_its_sample(vitonhd: Path, tmp_path: Path):
    """`prep-person --out` onto a VITON-HD split: another photo named like a genuine sample (00006_00.jpg)
    overwrote its eight files, and a junk file of that name deleted them (the failure policy removed the
    stem's files). Now the photo gets its own stem, the junk costs only itself, and the same photo run
    again keeps the stem it got (the split's dataset manifest records it)."""
    import shutil

    split = SplitDir(tmp_path / "ds" / "test")
    stem = "00006_00"
    for folder, path in split.person_files(stem).items():
        path.parent.mkdir(parents=True)
        shutil.copy(vitonhd / "test" / folder / path.name, path)
    genuine = {path: path.read_bytes() for path in split.person_files(stem).values()}
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(vitonhd / "test" / "image" / "00034_00.jpg", photos / f"{stem}.jpg")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / f"{stem}.jpg").write_bytes(b"not a photo")

    failed = CliRunner().invoke(app, ["prep-person", str(junk / f"{stem}.jpg"), "--out", str(split.root)])
    assert failed.exit_code == 1 and f"junk/{stem}.jpg" in _flat(failed.output), failed.output
    assert {path: path.read_bytes() for path in genuine} == genuine

    for run in range(2):  # the second run redoes the same sample
        result = CliRunner().invoke(app, ["prep-person", str(photos / f"{stem}.jpg"), "--out", str(split.root),
                                          "--keep-framing"])
        assert result.exit_code == 0, result.output
        stems = split.person_stems()
        assert len(stems) == 2 and stem in stems, stems
        new = next(s for s in stems if s != stem)
        assert new.startswith(f"{stem}_") and split.agnostic_mask(new).is_file()
        why = f"another file has the name {stem}" if run == 0 else f"the dataset's manifest holds this file as {new}"
        assert f"written as sample {new}: {why}" in _flat(result.output)
    assert {path: path.read_bytes() for path in genuine} == genuine


def test_prep_cloth_run_again_keeps_its_stem_and_a_new_shot_of_that_name_gets_its_own(tmp_path: Path):
    """prep-cloth: rerunning a shot rewrites its own sample; a different shot with the same file name,
    from another folder, no longer replaces it."""
    split = tmp_path / "ds" / "test"
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _shot(first / "shirt.jpg", shade=40)
    _shot(second / "shirt.jpg", shade=90)
    for _ in range(2):
        result = CliRunner().invoke(app, ["prep-cloth", str(first / "shirt.jpg"), "--out", str(split)])
        assert result.exit_code == 0 and "written as sample" not in result.output, result.output
        assert SplitDir(split).cloth_stems() == ["shirt"]
    kept = SplitDir(split).cloth("shirt").read_bytes()
    moved = tmp_path / "moved.jpg"  # the same shot under another name keeps its sample
    moved.write_bytes((first / "shirt.jpg").read_bytes())
    result = CliRunner().invoke(app, ["prep-cloth", str(moved), "--out", str(split)])
    assert result.exit_code == 0 and SplitDir(split).cloth_stems() == ["shirt"], result.output
    assert "written as sample shirt: the dataset's manifest holds this file as shirt" in _flat(result.output)
    result = CliRunner().invoke(app, ["prep-cloth", str(second / "shirt.jpg"), "--out", str(split)])
    assert result.exit_code == 0, result.output
    stems = SplitDir(split).cloth_stems()
    assert len(stems) == 2 and SplitDir(split).cloth("shirt").read_bytes() == kept
    manifest = json.loads((tmp_path / "ds" / ".vtonkit" / "manifest.json").read_text())
    assert {record["source"] for record in manifest["splits"]["test"]["cloths"].values()} == {
        str(moved), str(second / "shirt.jpg")}  # a sample's source is the file that last made it


def test_prep_cloth_with_an_unreadable_manifest_is_a_clear_error(tmp_path: Path):
    split = tmp_path / "ds" / "test"
    state = tmp_path / "ds" / ".vtonkit"
    state.mkdir(parents=True)
    (state / "manifest.json").write_text("{not json")
    shot = _shot(tmp_path / "shirt.jpg")
    result = CliRunner().invoke(app, ["prep-cloth", str(shot), "--out", str(split)])
    assert result.exit_code == 2, result.output
    assert "manifest.json" in _flat(result.output) and "unreadable manifest" in _flat(result.output)


def test_agnostic_keeps_to_the_category_the_manifest_records(vitonhd: Path, tmp_path: Path):
    """`agnostic SPLIT --category lower` on a split prep recorded as upper rewrote its agnostic files
    with the lower recipe and left the manifest at upper: validate then flagged every sample and infer
    ran it as upper. The other category is refused; without --category the recorded one is used."""
    import shutil

    from vtonkit.datasets.layout import SplitDir
    from vtonkit.datasets.manifest import PERSONS, Manifest

    split = SplitDir(tmp_path / "data" / "test")
    shutil.copytree(vitonhd / "test", split.root)
    manifest = Manifest.load(tmp_path / "data")
    for stem in split.person_stems():
        manifest.entries("test", PERSONS)[stem] = {"category": "upper"}
    manifest.save()
    kept = {p: p.read_bytes() for p in split.root.rglob("*") if p.is_file()}
    refused = CliRunner().invoke(app, ["agnostic", str(split.root), "--category", "lower"])
    output = _flat(refused.output)
    assert refused.exit_code == 2 and "the manifest says split test holds upper garments, not lower" in output, output
    assert {p: p.read_bytes() for p in split.root.rglob("*") if p.is_file()} == kept
    recorded = CliRunner().invoke(app, ["agnostic", str(split.root)])
    assert recorded.exit_code == 0 and "agnostic (upper)" in _flat(recorded.output), recorded.output


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_a_108_megapixel_phone_photo_is_read_at_a_reduced_scale(photos, tmp_path):
    """Phones take 64, 108 and 200 Mpx photos: a 64 Mpx one was refused as "too large" and a 108 Mpx
    one as a "decompression bomb". A JPEG is now decoded at 1/2-1/8 scale by the decoder itself (it
    never holds the full size); a PNG that big is still refused, as too large, by name."""
    from vtonkit.datasets.io.images import open_image

    shot = tmp_path / "phone108.jpg"
    Image.open(photos / "garments" / "00126_00.jpg").convert("L").resize((9000, 12000)).save(shot, quality=80)
    with open_image(shot) as image:
        assert image.size == (4500, 6000)
    result = CliRunner().invoke(app, ["prep-cloth", str(shot), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 0, output
    with Image.open(tmp_path / "ds" / "test" / "cloth" / "phone108.jpg") as written:
        assert written.size == (768, 1024)
    huge = tmp_path / "huge.png"
    Image.new("L", (9000, 8000), 255).save(huge)
    result = CliRunner().invoke(app, ["prep-cloth", str(huge), "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1 and "huge.png: image too large (9000x8000 > 64000000 pixels" in output, output
    assert "bomb" not in output


def test_a_garment_on_a_patterned_background_fails_instead_of_a_whole_frame_mask(photos, tmp_path):
    """A garment on a checkered background got a cloth mask of the whole frame, a warning with no
    code and exit code 0: the try-on then warps a rectangle. It now fails by name, the batch goes on."""
    import numpy as np

    shot = np.array(Image.open(photos / "garments" / "051946_1.jpg").convert("RGB"))
    rows, cols = np.mgrid[:shot.shape[0], :shot.shape[1]]
    squares = ((rows // 40 + cols // 40) % 2).astype(np.uint8)
    checkered = np.stack([squares * 200 + 30, squares * 50 + 100, (1 - squares) * 180 + 40], axis=-1).astype(np.uint8)
    garment = shot.min(axis=-1) < 235
    checkered[garment] = shot[garment]
    Image.fromarray(checkered).save(tmp_path / "checkered.jpg")
    result = CliRunner().invoke(app, ["prep-cloth", str(tmp_path / "checkered.jpg"), str(photos / "garments" / "051946_1.jpg"),
                                      "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 1, output
    assert "checkered.jpg: no garment separable from the background: the cloth mask covers" in output
    assert "1 written" in output and not (tmp_path / "ds" / "test" / "cloth-mask" / "checkered.jpg").exists()


def test_prep_reports_the_renames_prep_cloth_reports(tmp_path: Path):
    """`vtonkit prep` gave `사람.jpg`, `사진.jpg` and `sample.jpg` (all sanitised to "sample") the stems
    `sample_<digest>` and said "0 with warnings" with an empty prep-warnings.jsonl, while prep-cloth
    warns of each rename. Both now say the same, on every run while the rename holds."""
    shots = tmp_path / "shots"
    shots.mkdir()
    names = ["사람.jpg", "사진.jpg", "sample.jpg"]
    for shade, name in enumerate(names):
        _shot(shots / name, shade=20 + 30 * shade)
    single = CliRunner().invoke(app, ["prep-cloth", str(shots), "--out", str(tmp_path / "single" / "test")])
    assert single.exit_code == 0, single.output
    dataset = tmp_path / "ds"
    for run in range(2):
        result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(dataset), "--split", "test",
                                          "--in-process"])
        output = _flat(result.output)
        assert result.exit_code == 0, output
        stems = SplitDir(dataset / "test").cloth_stems()
        assert len(stems) == 3 and all(stem.startswith("sample_") for stem in stems), stems
        listed = [json.loads(line) for line in (dataset / "prep-warnings.jsonl").read_text().splitlines()]
        assert sorted(Path(w["file"]).name for w in listed) == sorted(names), listed
        if run == 0:
            assert "3 samples written (3 with warnings)" in output, output
            said = {line for line in _flat(single.output).split("warning ") if "written as sample" in line}
            for record in listed:
                assert record["warning"] == f"written as sample {record['stem']}: another file has the name sample"
                assert any(record["warning"] in line for line in said), said
        else:  # complete samples: the rename is still said
            assert "3 already complete (3 with warnings" in output, output
            assert all(w["warning"] == f"written as sample {w['stem']}: the dataset's manifest holds this file as "
                       f"{w['stem']}" for w in listed), listed


def test_a_long_file_name_gets_a_short_distinct_stem_whose_every_file_fits(photos: Path, tmp_path: Path):
    """A legal file name of about 228 characters or more ended its sample as "internal error" with a
    traceback: `<stem>_keypoints.json` plus the atomic writer's `.<name>.XXXXXXXX.tmp` passed the file
    system's 255 bytes. Such a stem is now cut, with a digest of the whole name so that long names
    alike at the start stay apart, and the rename is reported (prep-person and prep alike); a long
    name that fitted keeps its stem."""
    folder = tmp_path / "long"
    folder.mkdir()
    # links (named by the link: `sources._absolute`) to three different photos: no duplicate skipped
    names = {"p" * 200 + ".jpg": "01008_00.jpg", "p" * 236 + "_a.jpg": "01861_00.jpg", "p" * 236 + "_b.jpg": "02849_00.jpg"}
    for name, photo in names.items():
        (folder / name).symlink_to(photos / "persons" / photo)
    split = SplitDir(tmp_path / "ds" / "test")
    result = CliRunner().invoke(app, ["prep-person", str(folder), "--out", str(split.root), "--keep-framing"])
    output = _flat(result.output)
    assert result.exit_code == 0 and "3 written" in output and "internal error" not in output, output
    from vtonkit.datasets.io.files import NAME_MAX, TEMP_NAME_EXTRA
    from vtonkit.preprocess.sources import MAX_STEM_BYTES

    stems = split.person_stems()
    assert len(stems) == 3 and "p" * 200 in stems, stems
    cut = [stem for stem in stems if stem != "p" * 200]
    assert all(len(stem.encode()) <= MAX_STEM_BYTES and stem.startswith("p" * 200) for stem in cut), cut
    for stem in cut:
        assert f"written as sample {stem}: its name is longer than the {MAX_STEM_BYTES} bytes" in output
    for stem in stems:
        for path in [*split.person_files(stem).values()]:
            assert path.is_file() and len(path.name.encode()) + TEMP_NAME_EXTRA <= NAME_MAX, path.name

    report = run_prep(PrepOptions(out=tmp_path / "prepped", split="test", persons=str(folder), keep_framing=True,
                                  in_process=True))
    assert report.ok == {"person": 3} and not report.errors, report.errors
    assert SplitDir(tmp_path / "prepped" / "test").person_stems() == stems  # one naming rule for both commands
    assert sorted(w["stem"] for w in report.warnings if "its name is longer than" in w["warning"]) == sorted(cut)


def test_long_names_stay_within_the_limit_when_they_clash_too():
    """The clash digest (`<stem>_<8 hex>`) comes on top of a name: a long name taken twice must still fit,
    counted in UTF-8 bytes, never cutting a character in half."""
    from vtonkit.preprocess.sources import MAX_STEM_BYTES, Source, assign_stems, sanitize_stem, with_digest

    name = "q" * 300 + ".jpg"
    sources = [Source("cloth", Path(f"/{folder}/{name}"), digit * 64, meta={"candidate": sanitize_stem(name)})
               for folder, digit in (("a", "1"), ("b", "2"))]
    kept, _ = assign_stems(sources, {})
    stems = [source.stem for source in kept]
    assert len(set(stems)) == 2 and all(len(stem.encode()) <= MAX_STEM_BYTES for stem in stems), stems
    assert all(source.renamed == f"another file has the name {sanitize_stem(name)}" for source in kept)
    assert sanitize_stem("x" * MAX_STEM_BYTES + ".jpg") == "x" * MAX_STEM_BYTES  # a name that fits is kept whole
    korean = with_digest("가" * 100, "ab" * 32)
    assert len(korean.encode()) <= MAX_STEM_BYTES and korean.endswith("_abababab") and "\ufffd" not in korean


@pytest.mark.parametrize("adding", ["prep-cloth", "prep"])
def test_a_persons_own_garment_added_after_pairs_replaces_its_placeholder(photos: Path, tmp_path: Path, adding: str):
    """`vtonkit pairs` run before a person's own garment was prepared writes a placeholder
    cloth/<person>.jpg; the own garment added later became `<person>_<digest>` ("another file has the
    name"), so the person could never be paired with it. A placeholder is no garment: the real one
    now takes its name, its files and its manifest record."""
    folders = {name: tmp_path / name for name in ("persons", "others", "own")}
    for folder in folders.values():
        folder.mkdir()
    (folders["persons"] / "01008_00.jpg").symlink_to(photos / "persons" / "01008_00.jpg")
    (folders["others"] / "00151_00.jpg").symlink_to(photos / "garments" / "00151_00.jpg")
    (folders["own"] / "01008_00.jpg").symlink_to(photos / "garments" / "00470_00.jpg")
    dataset = tmp_path / "ds"
    split = SplitDir(dataset / "test")
    runner = CliRunner()
    for args in (["prep-person", str(folders["persons"]), "--out", str(split.root), "--keep-framing"],
                 ["prep-cloth", str(folders["others"]), "--out", str(split.root)], ["pairs", str(dataset)]):
        assert runner.invoke(app, args).exit_code == 0, args
    manifest_path = dataset / ".vtonkit" / "manifest.json"
    assert "01008_00" in json.loads(manifest_path.read_text())["splits"]["test"]["placeholders"]

    if adding == "prep-cloth":
        result = runner.invoke(app, ["prep-cloth", str(folders["own"]), "--out", str(split.root)])
    else:
        result = runner.invoke(app, ["prep", "--persons", str(folders["persons"]), "--cloths", str(folders["own"]),
                                     "--out", str(dataset), "--split", "test", "--keep-framing", "--in-process"])
    output = _flat(result.output)
    assert result.exit_code == 0 and "written as sample" not in output, output
    assert split.cloth_stems() == ["00151_00", "01008_00"]
    for folder in ("cloth", "cloth-mask"):  # the copies of the other garment are gone
        assert (split.root / folder / "01008_00.jpg").read_bytes() != (split.root / folder / "00151_00.jpg").read_bytes()
    manifest = json.loads(manifest_path.read_text())["splits"]["test"]
    assert manifest["placeholders"] == {} and manifest["cloths"]["01008_00"]["source"].endswith("own/01008_00.jpg")
    paired = runner.invoke(app, ["pairs", str(dataset), "--mode", "paired"])
    assert paired.exit_code == 0, paired.output
    assert (dataset / "test_pairs.txt").read_text() == "01008_00.jpg 01008_00.jpg\n"
    checked = runner.invoke(app, ["validate", str(dataset)])
    assert checked.exit_code == 0, checked.output


def test_a_file_prepared_into_the_other_split_is_said_to_leak(tmp_path: Path):
    """`prep --split train` of garments the manifest holds in test wrote them again with no word; the
    leakage showed only later, when pairs refused and validate reported it. prep, prep-cloth and a
    re-run of complete samples say it at once."""
    shots = tmp_path / "shots"
    shots.mkdir()
    _shot(shots / "tee.jpg", shade=40)
    dataset = tmp_path / "ds"
    first = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(dataset), "--split", "test",
                                     "--in-process"])
    assert first.exit_code == 0 and "leak" not in first.output, first.output
    for run in range(2):
        result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(dataset), "--split", "train",
                                          "--in-process"])
        assert result.exit_code == 0, result.output
        listed = [json.loads(line)["warning"] for line in (dataset / "prep-warnings.jsonl").read_text().splitlines()]
        assert listed == ["the same file is sample test/tee already: a photo in train and test leaks (validate "
                          "reports it, pairs refuses it); remove one of them"], (run, listed)
    single = CliRunner().invoke(app, ["prep-cloth", str(shots), "--out", str(dataset / "train")])
    assert single.exit_code == 0 and "sample test/tee already" in _flat(single.output), single.output


def test_a_folder_given_twice_is_one_input_not_a_duplicate_of_itself(tmp_path: Path):
    """`prep-cloth shots shots` said "skipped shots/tee.jpg: same bytes as shots/tee.jpg" (the file itself)
    and counted it skipped."""
    shots = tmp_path / "shots"
    shots.mkdir()
    _shot(shots / "tee.jpg", shade=40)
    result = CliRunner().invoke(app, ["prep-cloth", str(shots), str(tmp_path / "." / "shots"), str(shots / "tee.jpg"),
                                      "--out", str(tmp_path / "ds" / "test")])
    output = _flat(result.output)
    assert result.exit_code == 0 and "same bytes" not in output and "skipped" not in output, output
    assert "1 written" in output and SplitDir(tmp_path / "ds" / "test").cloth_stems() == ["tee"]
