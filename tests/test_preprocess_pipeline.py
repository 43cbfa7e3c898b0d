"""`vtonkit prep`: broken inputs, resumability after kill -9, incremental recompute, engines agree.

End-to-end cases run the real embedded backends (mediapipe pose, geometric parser and DensePose,
cv cloth mask) on real photos from ../shared/data/photos. The incremental-recompute test uses
tiny backends defined here (registered as plugins) so that it can count stage computations
cheaply; they are not a stand-in for the real ones, which the other tests exercise.
"""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.io.densepose import decode_densepose
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.layout import DatasetLayout
from vtonkit.datasets.manifest import Manifest
from vtonkit.datasets.pairing import split_of
from vtonkit.preprocess.pipeline import ERRORS_FILE, PROFILE_FILE, WARNINGS_FILE, PrepOptions, run_prep
from vtonkit.preprocess.markers import marker_path
from vtonkit.preprocess.sources import assign_stems, cloth_sources, person_sources
from vtonkit.preprocess.stages import PoseResult

from vtonkit.core.errors import NoPersonError, VtonkitError

REAL_PERSONS = ("01008_00.jpg", "049713_0.jpg")
GARMENTS = ("00055_00.jpg", "00126_00.jpg")


# --- tiny plugin backends (incremental test only) ------------------------------------------------

def _body(height: int, width: int) -> np.ndarray:
    joints = {0: (.5, .12), 1: (.5, .22), 2: (.38, .23), 3: (.33, .38), 4: (.31, .52), 5: (.62, .23), 6: (.67, .38),
              7: (.69, .52), 8: (.5, .52), 9: (.43, .52), 10: (.43, .72), 11: (.43, .92), 12: (.57, .52),
              13: (.57, .72), 14: (.57, .92)}
    keypoints = np.zeros((25, 3))
    for index, (x, y) in joints.items():
        keypoints[index] = (x * width, y * height, 0.9)
    return keypoints


class TinyPose:
    name, version = "tiny-pose", "1"

    def estimate(self, image_rgb: np.ndarray) -> PoseResult:
        if image_rgb.std() < 1:
            raise NoPersonError(None, "flat image")
        height, width = image_rgb.shape[:2]
        silhouette = np.zeros((height, width), bool)
        silhouette[int(.05 * height):int(.95 * height), int(.3 * width):int(.7 * width)] = True
        return PoseResult(_body(height, width), person_mask=silhouette)


class TinyPoseV2(TinyPose):
    version = "2"


class TinyParser:
    name, version = "tiny-parser", "1"

    def parse(self, image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        height, width = image_rgb.shape[:2]
        labels = np.zeros((height, width), np.uint8)
        labels[int(.05 * height):int(.2 * height), int(.4 * width):int(.6 * width)] = 13
        labels[int(.2 * height):int(.5 * height), int(.35 * width):int(.65 * width)] = 5
        labels[int(.5 * height):int(.95 * height), int(.4 * width):int(.6 * width)] = 9
        return labels


class TinyDensePose:
    name, version = "tiny-densepose", "1"

    def densepose(self, image_rgb: np.ndarray, keypoints: np.ndarray, parse: np.ndarray) -> np.ndarray:
        return np.where(parse > 0, 2, 0).astype(np.uint8)


class TinyDensePoseV2(TinyDensePose):
    version = "2"


class TinyClothMask:
    name, version = "tiny-mask", "1"

    def mask(self, image: np.ndarray) -> np.ndarray:
        return image[..., :3].mean(axis=2) < 240


class CrashingClothMask(TinyClothMask):
    """Dies like a native crash (no exception, no clean-up) on a pure red image."""

    name = "crashing-mask"

    def mask(self, image: np.ndarray) -> np.ndarray:
        if (image[..., 0] > 200).mean() > 0.9 and (image[..., 1] < 50).mean() > 0.9:
            os._exit(3)
        return super().mask(image)


class BuggyClothMask(TinyClothMask):
    """Raises a plain bug (not an input error) on a pure red image, like a backend with a defect."""

    name = "buggy-mask"

    def mask(self, image: np.ndarray) -> np.ndarray:
        if (image[..., 0] > 200).mean() > 0.9 and (image[..., 1] < 50).mean() > 0.9:
            raise RuntimeError("index out of range in the red branch")
        return super().mask(image)


TINY = tuple((stage, name, f"{__name__}:{cls}") for stage, name, cls in (
    ("pose", "tiny-pose", "TinyPose"), ("pose", "tiny-pose-v2", "TinyPoseV2"), ("parser", "tiny-parser", "TinyParser"),
    ("densepose", "tiny-densepose", "TinyDensePose"), ("densepose", "tiny-densepose-v2", "TinyDensePoseV2"),
    ("cloth_mask", "tiny-mask", "TinyClothMask"), ("cloth_mask", "crashing-mask", "CrashingClothMask"),
    ("cloth_mask", "buggy-mask", "BuggyClothMask")))


# --- corpus -----------------------------------------------------------------------------------

def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims `width x height` (a decompression bomb if decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def make_corpus(photos: Path, folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write broken and convertible person inputs; returns ({file: expected stage of failure}, {file: kind})."""
    folder.mkdir(parents=True)
    persons = photos / "persons"
    real = Image.open(persons / REAL_PERSONS[0]).convert("RGB")
    good: dict[str, str] = {}
    for name in REAL_PERSONS:
        (folder / name).write_bytes((persons / name).read_bytes())
        good[name] = "real photo"
    data = (persons / REAL_PERSONS[0]).read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is a text file, not a photo\n")
    _png_header_only(folder / "bomb.png", 40_000, 40_000)
    grey16 = (np.asarray(real.convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(grey16).save(folder / "sixteen_bit.png")  # mode I;16
    real.convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    rgba = real.convert("RGBA")
    rgba.putalpha(255)
    rgba.save(folder / "alpha.png")
    real.convert("L").save(folder / "greyscale.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored pixels are the photo turned 90 CCW
    real.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.jpg", exif=exif, quality=95)
    good.update({n: "converted" for n in ("sixteen_bit.png", "cmyk.jpg", "alpha.png", "greyscale.jpg",
                                          "exif_rotated.jpg")})
    (folder / "garment_only.jpg").write_bytes((photos / "garments" / GARMENTS[0]).read_bytes())
    other = Image.open(persons / REAL_PERSONS[1]).convert("RGB")
    two = Image.new("RGB", (real.width * 2, real.height))
    two.paste(real, (0, 0))
    two.paste(other, (real.width, 0))
    two.save(folder / "two_persons.jpg", quality=95)
    broken = {"truncated.jpg": "normalize", "empty.jpg": "normalize", "notes.jpg": "normalize",
              "bomb.png": "normalize", "garment_only.jpg": "pose", "two_persons.jpg": "pose"}
    return broken, good


def assert_complete_person(dataset: Path, split: str, stem: str) -> None:
    """Every person file exists and loads with the foundation readers at 1024 x 768."""
    sd = DatasetLayout(dataset).split(split)
    assert read_rgb(sd.image(stem)).shape == (1024, 768, 3)
    assert read_parse(sd.parse(stem)).shape == (1024, 768)
    assert read_parse(sd.parse_agnostic(stem)).shape == (1024, 768)
    assert read_rgb(sd.agnostic(stem)).shape == (1024, 768, 3)
    assert read_mask(sd.agnostic_mask(stem)).shape == (1024, 768)
    assert decode_densepose(read_rgb(sd.densepose(stem))).max() > 0
    assert read_rgb(sd.openpose_img(stem)).shape == (1024, 768, 3)
    assert read_keypoints(sd.openpose_json(stem)).shape == (25, 3)
    assert marker_path(dataset, split, "person", stem).is_file()


def _errors(dataset: Path) -> list[dict]:
    return [json.loads(line) for line in (dataset / ERRORS_FILE).read_text().splitlines()]


# --- tests ------------------------------------------------------------------------------------

def test_stems_are_sanitised_stable_and_collision_free(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a b.v2.jpg").write_bytes(b"one")
    (folder / "x.jpg").write_bytes(b"two")
    (folder / "x.png").write_bytes(b"three")
    (folder / "copy.jpg").write_bytes(b"one")
    (folder / "readme.txt").write_text("not listed")
    kept, duplicates = assign_stems(person_sources(folder), {})
    stems = {s.path.name: s.stem for s in kept}
    assert stems["a b.v2.jpg"] == "a_b_v2"
    assert stems["x.jpg"] != stems["x.png"] and all(stems[n].startswith("x_") for n in ("x.jpg", "x.png"))
    assert [(d.path.name, d.duplicate_of.name) for d in duplicates] == [("copy.jpg", "a b.v2.jpg")] or \
        [(d.path.name, d.duplicate_of.name) for d in duplicates] == [("a b.v2.jpg", "copy.jpg")]
    # A later run with the manifest keeps every stem, and a renamed file keeps its stem too.
    existing = {s.stem: {"source": str(s.path), "sha256": s.sha256} for s in kept}
    (folder / "x.png").rename(folder / "renamed.png")
    again, _ = assign_stems(person_sources(folder), existing)
    assert {s.stem for s in again} == set(existing)


def test_stems_that_differ_only_in_case_get_a_hash_each(tmp_path):
    """`Anna.jpg` and `anna.jpg` were written as two samples whose files are one on macOS, Windows and
    exFAT (a copy of the dataset there keeps one of each pair); case-only twins now get a hash each,
    and so does a new photo whose stem differs from a recorded one by case."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "Anna.jpg").write_bytes(b"one")
    (folder / "anna.jpg").write_bytes(b"two")
    (folder / "ben.jpg").write_bytes(b"three")
    kept, _ = assign_stems(person_sources(folder), {})
    stems = {s.path.name: s.stem for s in kept}
    assert stems["ben.jpg"] == "ben"
    assert stems["Anna.jpg"].startswith("Anna_") and stems["anna.jpg"].startswith("anna_")
    assert stems["Anna.jpg"].casefold() != stems["anna.jpg"].casefold()
    (folder / "BEN.png").write_bytes(b"four")
    ben = next(s for s in kept if s.path.name == "ben.jpg")
    again, _ = assign_stems(person_sources(folder), {"ben": {"source": str(ben.path), "sha256": ben.sha256}})
    assert {s.path.name: s.stem for s in again}["BEN.png"].startswith("BEN_")


def test_linked_and_dash_named_photos_keep_the_names_the_user_gave(tmp_path):
    store, folder = tmp_path / "store", tmp_path / "in"
    store.mkdir()
    folder.mkdir()
    (store / "IMG_0412.jpg").write_bytes(b"anna's photo")
    (folder / "anna.jpg").symlink_to(store / "IMG_0412.jpg")
    (folder / "-ben.jpg").write_bytes(b"ben's photo")
    kept, _ = assign_stems(person_sources(folder), {})
    assert {s.path.name: s.stem for s in kept} == {"anna.jpg": "anna", "-ben.jpg": "ben"}
    assert {s.path for s in kept} == {folder / "anna.jpg", folder / "-ben.jpg"}  # what an error record names


def test_catalog_takes_garment_shots_of_the_requested_category(photos, tmp_path):
    crawl = tmp_path / "crawl"
    (crawl / "images" / "upper").mkdir(parents=True)
    records = []
    for index, (name, category, shot, product) in enumerate([
            (GARMENTS[0], "upper", True, "P1"), (GARMENTS[1], "upper", True, "P1"),
            ("02015_00.jpg", "upper", False, "P2"), ("02305_00.jpg", "lower", True, "P3")]):
        path = crawl / "images" / "upper" / f"{index}.jpg"
        path.write_bytes((photos / "garments" / name).read_bytes())
        records.append({"store": "demo", "product_id": product, "category": category, "is_garment_shot": shot,
                        "path": f"images/upper/{index}.jpg", "image_url": f"http://shop/{index}.jpg"})
    (crawl / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + "{broken\n")
    kept, _ = assign_stems(cloth_sources(crawl / "catalog.jsonl", "upper"), {})
    assert sorted(s.path.name for s in kept) == ["0.jpg", "1.jpg"]
    assert all(s.stem.startswith("P1_") and s.meta["store"] == "demo" for s in kept)  # two shots of P1
    assert [s.path.name for s in cloth_sources(crawl, "lower")] == ["3.jpg"]


def test_a_catalog_under_any_name_with_a_bom_or_a_bad_line_still_gives_its_garments(photos, tmp_path, caplog):
    """A copied or Parquet catalog is a catalog (not an empty image folder: 0 samples, rc 0 and no
    word before); a BOM or one bad line does not cost the other records; a catalog with nothing
    of the category asked for says what it holds instead of writing nothing."""
    import pandas as pd
    from vtonkit.core.errors import InputError

    crawl = tmp_path / "crawl"
    (crawl / "images").mkdir(parents=True)
    records = []
    for index, (name, category) in enumerate([(GARMENTS[0], "upper"), (GARMENTS[1], "upper"), (GARMENTS[0], "other")]):
        (crawl / "images" / f"{index}.jpg").write_bytes((photos / "garments" / name).read_bytes())
        records.append({"product_id": f"P{index}", "category": category, "is_garment_shot": True,
                        "path": f"images/{index}.jpg"})
    lines = [json.dumps(records[0]), "{not json", json.dumps(records[1]), json.dumps(records[2])]
    copied = crawl / "my-selection.jsonl"
    copied.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    with caplog.at_level("WARNING"):
        found = cloth_sources(copied, "upper")
    assert sorted(s.path.name for s in found) == ["0.jpg", "1.jpg"]
    assert "my-selection.jsonl: skipping line 2" in caplog.text
    # Parquet: list columns come back as arrays and absent fields as null; read like the JSON lines
    rows = [{**r, "shot_reasons": ["plain background", "centred"], "brand": "Acme" if i else None} for i, r in enumerate(records)]
    pd.DataFrame.from_records(rows).to_parquet(crawl / "catalog.parquet")
    from_parquet = cloth_sources(crawl / "catalog.parquet", "upper")
    assert sorted(s.path.name for s in from_parquet) == ["0.jpg", "1.jpg"]
    assert {s.path.name: s.meta.get("brand") for s in from_parquet} == {"0.jpg": None, "1.jpg": "Acme"}
    # product ids holding slashes keep their folders as words, so they do not clash
    slashed = crawl / "slashed.jsonl"
    slashed.write_text("".join(json.dumps({**records[i], "product_id": pid}) + "\n"
                               for i, pid in ((0, "men/tee/9"), (1, "women/tee/9"))))
    kept, _ = assign_stems(cloth_sources(slashed, "upper"), {})
    assert sorted(s.stem for s in kept) == ["men_tee_9", "women_tee_9"]
    with pytest.raises(InputError, match=r"no garment shots of category lower among its 3 records "
                                         r"\(1 other garment shots, 2 upper garment shots\)"):
        cloth_sources(copied, "lower")


def test_broken_inputs_get_error_records_and_good_ones_complete_samples(photos, tmp_path):
    broken, good = make_corpus(photos, tmp_path / "persons")
    garments = tmp_path / "garments"
    garments.mkdir()
    (garments / "00126_00.jpg").write_bytes((photos / "garments" / "00126_00.jpg").read_bytes())
    (garments / "half_garment.jpg").write_bytes((photos / "garments" / "00126_00.jpg").read_bytes()[:2000])
    Image.new("RGB", (768, 1024), (246, 246, 246)).save(garments / "blank_shot.jpg")  # no garment at all
    dataset = tmp_path / "ds"
    report = run_prep(PrepOptions(out=dataset, split="test", persons=str(tmp_path / "persons"), cloths=str(garments),
                                  in_process=True))
    errors = {Path(e["file"]).name: e for e in _errors(dataset)}
    assert errors.pop("half_garment.jpg")["stage"] == "cloth"
    blank = errors.pop("blank_shot.jpg")
    assert blank["stage"] == "cloth_mask" and "no garment found" in blank["reason"]
    assert set(errors) == set(broken), errors
    for name, stage in broken.items():
        assert errors[name]["stage"] == stage and errors[name]["reason"], errors[name]
    assert errors["two_persons.jpg"]["error_type"] == "MultiplePersonsError"
    assert errors["garment_only.jpg"]["error_type"] == "NoPersonError"
    assert "decompression bomb" in errors["bomb.png"]["reason"] or "too large" in errors["bomb.png"]["reason"]
    assert "not an image" in errors["notes.jpg"]["reason"] and "empty" in errors["empty.jpg"]["reason"]
    manifest = Manifest.load(dataset).entries("test", "persons")
    by_source = {Path(r["source"]).name: stem for stem, r in manifest.items()}
    for name in good:
        assert_complete_person(dataset, "test", by_source[name])
    assert report.ok == {"person": len(good), "cloth": 1}
    assert report.failed == {"person": len(broken), "cloth": 2}
    # EXIF orientation applied: the rotated file gives the upright photo's sample.
    split = DatasetLayout(dataset).split("test")
    upright = read_rgb(split.image(by_source[REAL_PERSONS[0]])).astype(int)
    rotated = read_rgb(split.image(by_source["exif_rotated.jpg"])).astype(int)
    assert np.abs(upright - rotated).mean() < 4
    profile = json.loads((dataset / PROFILE_FILE).read_text())
    assert profile["stages"]["pose"]["count"] == len(good) + 2  # the no-person and two-person photos too
    assert profile["max_model_loads_per_worker"] == 1
    assert read_mask(split.cloth_mask("00126_00")).any()


def test_backend_change_recomputes_only_its_stage_and_downstream(photos, tmp_path):
    options = dict(out=tmp_path / "ds", split="train", persons=str(photos / "persons" / "0100*.jpg"),
                   cloths=str(photos / "garments" / "0005*.jpg"), registrations=TINY, in_process=True)
    backends = {"pose": "tiny-pose", "parser": "tiny-parser", "densepose": "tiny-densepose", "cloth_mask": "cv"}

    def counts(**changes):
        report = run_prep(PrepOptions(**options, backends={**backends, **changes}))
        return {stage: v["count"] for stage, v in report.profile["stages"].items() if v["count"]}, report

    first, report = counts()
    assert first["pose"] == first["parse"] == first["densepose"] == 1 and first["cloth_mask"] == 1
    again, report = counts()
    assert again == {} and report.skipped_complete == {"person": 1, "cloth": 1}
    image = DatasetLayout(options["out"]).split("train").image("01008_00")
    first_image = image.read_bytes()
    dense, _ = counts(densepose="tiny-densepose-v2")
    assert image.read_bytes() == first_image  # the refocus replayed from the cached pose is identical
    assert dense.get("densepose") == 1 and "pose" not in dense and "parse" not in dense and "cloth_mask" not in dense
    pose, _ = counts(pose="tiny-pose-v2", densepose="tiny-densepose-v2")
    assert pose.get("pose") == pose.get("parse") == pose.get("densepose") == 1 and "cloth_mask" not in pose
    mask, _ = counts(pose="tiny-pose-v2", densepose="tiny-densepose-v2", cloth_mask="tiny-mask")
    assert mask == {"cloth": 1, "cloth_mask": 1, "cloth_write": 1}
    back, report = counts()  # the first configuration again: everything comes from the cache
    assert all(stage not in back for stage in ("pose", "parse", "densepose", "cloth_mask"))
    assert report.profile["stages"]["pose"]["cache_hits"] == 1
    # A cached pose recorded for another image (normalise code changed without a version bump) is
    # detected on replay, and the whole sample is recomputed instead of mixing stale outputs.
    for entry in (options["out"] / ".vtonkit" / "cache" / "pose").glob("*.npz"):
        with np.load(entry) as data:
            arrays = {name: data[name] for name in data.files}
        arrays["input_1"] = np.array("0" * 40)
        np.savez_compressed(entry, **arrays)
    stale, _ = counts(densepose="tiny-densepose-v2", parser="tiny-parser")
    assert stale.get("pose") == stale.get("parse") == stale.get("densepose") == 1


def _tree(dataset: Path) -> dict[str, bytes]:
    return {str(p.relative_to(dataset)): p.read_bytes() for p in sorted((dataset / "test").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("engine", ["local", pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow])])
def test_a_worker_crash_costs_only_the_input_that_caused_it(photos, tmp_path, engine):
    if engine == "ray":
        pytest.importorskip("ray")
    garments = tmp_path / "garments"
    garments.mkdir()
    for name in GARMENTS:
        (garments / name).write_bytes((photos / "garments" / name).read_bytes())
    Image.new("RGB", (300, 400), (255, 0, 0)).save(garments / "red.png")
    report = run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(garments), workers=2, engine=engine,
                                  backends={"cloth_mask": "crashing-mask"}, registrations=TINY))
    assert report.ok == {"cloth": 2} and report.failed == {"cloth": 1}
    assert [(Path(e["file"]).name, e["error_type"]) for e in report.errors] == [("red.png", "WorkerDied")]
    split = DatasetLayout(tmp_path / "ds").split("test")
    assert split.cloth_stems() == ["00055_00", "00126_00"]


@pytest.mark.slow
def test_local_engine_outputs_equal_for_one_and_two_workers(photos, tmp_path):
    common = dict(split="test", persons=str(photos / "persons" / "01[08]*_00.jpg"),
                  cloths=str(photos / "garments" / "0012*.jpg"))
    one = run_prep(PrepOptions(out=tmp_path / "one", workers=1, in_process=True, **common))
    two = run_prep(PrepOptions(out=tmp_path / "two", workers=2, **common))
    assert one.ok == two.ok == {"person": 2, "cloth": 1}
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    workers = two.profile["per_worker"]
    assert len(workers) == 2 and all(set(w["model_loads"].values()) == {1} for w in workers.values())


@pytest.mark.slow
@pytest.mark.ray
def test_ray_engine_matches_local(photos, tmp_path):
    pytest.importorskip("ray")
    common = dict(split="test", persons=str(photos / "persons" / "01008_00.jpg"),
                  cloths=str(photos / "garments" / "0012*.jpg"))
    local = run_prep(PrepOptions(out=tmp_path / "local", in_process=True, **common))
    ray = run_prep(PrepOptions(out=tmp_path / "ray", engine="ray", workers=1, **common))
    assert ray.ok == local.ok == {"person": 1, "cloth": 1}
    assert _tree(tmp_path / "local") == _tree(tmp_path / "ray")
    assert all(set(w["model_loads"].values()) == {1} for w in ray.profile["per_worker"].values())


@pytest.mark.slow
def test_kill_during_prep_then_rerun_gives_a_complete_valid_dataset(photos, tmp_path):
    persons = tmp_path / "persons"
    persons.mkdir()
    for name in ("01008_00.jpg", "01861_00.jpg", "02849_00.jpg"):
        (persons / name).write_bytes((photos / "persons" / name).read_bytes())
    dataset = tmp_path / "ds"
    command = [sys.executable, "-m", "vtonkit", "prep", "--persons", str(persons), "--cloths",
               str(photos / "garments" / "0012*.jpg"), "--out", str(dataset), "--split", "test", "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_dir = dataset / ".vtonkit" / "done" / "test" / "person"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (done_dir.is_dir() and any(done_dir.glob("*.json"))):
        assert process.poll() is None, "prep ended before it could be killed"
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    assert workers  # the pool's worker(s)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "pool workers outlived the killed prep (they would keep writing into the dataset)"
    finished = {p.stem for p in done_dir.glob("*.json")}
    assert 1 <= len(finished) < 3, finished  # killed mid-way
    for stem in finished:  # whatever looks complete is complete
        assert_complete_person(dataset, "test", stem)
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    profile = json.loads((dataset / PROFILE_FILE).read_text())
    assert profile["samples"]["skipped_complete"]["person"] == len(finished)
    split = DatasetLayout(dataset).split("test")
    assert split.person_stems() == ["01008_00", "01861_00", "02849_00"]
    for stem in split.person_stems():
        assert_complete_person(dataset, "test", stem)
    assert not [p for p in (dataset / "test").rglob(".*.tmp")]
    result = CliRunner().invoke(__import__("vtonkit.cli", fromlist=["app"]).app,
                                ["pairs", str(dataset), "--split", "test", "--mode", "unpaired"])
    assert result.exit_code == 0, result.output
    from vtonkit.datasets.validate import validate

    report = validate(dataset, ["test"], category="upper")
    assert report.exit_code(False) == 0, report.errors()[:5]


def test_auto_split_keeps_each_photo_and_product_on_one_side(photos, tmp_path):
    crawl = tmp_path / "crawl"
    (crawl / "images").mkdir(parents=True)
    records = []
    for index, name in enumerate(sorted(p.name for p in (photos / "garments").glob("0*.jpg"))[:6]):
        (crawl / "images" / name).write_bytes((photos / "garments" / name).read_bytes())
        records.append({"store": "s", "product_id": f"P{index // 2}", "category": "upper", "is_garment_shot": True,
                        "path": f"images/{name}"})
    (crawl / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = run_prep(PrepOptions(out=tmp_path / "ds", split="auto", test_fraction=0.5, split_seed=1,
                                  persons=str(photos / "persons" / "0100*.jpg"), cloths=str(crawl),
                                  backends={"pose": "tiny-pose", "parser": "tiny-parser", "densepose": "tiny-densepose",
                                            "cloth_mask": "tiny-mask"}, registrations=TINY, in_process=True))
    assert report.ok == {"person": 1, "cloth": 6}
    manifest = Manifest.load(tmp_path / "ds")
    sides = {}
    for split in ("train", "test"):
        for stem, record in manifest.entries(split, "cloths").items():
            sides.setdefault(record["product_id"], set()).add(split)
            assert DatasetLayout(tmp_path / "ds").split(split).cloth(stem).is_file()
    assert len(sides) == 3 and all(len(s) == 1 for s in sides.values())
    from vtonkit.datasets.pairing import find_leakage

    assert find_leakage(manifest, DatasetLayout(tmp_path / "ds")) == []


def test_prep_command_tallies_the_warnings_it_does_not_list(photos, tmp_path):
    """Past the first 10 warning lines, a run of thousands said only "... N more warnings"; it now
    counts all of them by kind, so a batch of dark or small shots shows at a glance."""
    from PIL import Image
    from vtonkit.cli import app

    shots = tmp_path / "shots"
    shots.mkdir()
    names = sorted(p.name for p in (photos / "garments").glob("0*.jpg"))[:12]
    for name in names:  # delivered small: cloth-low-resolution each
        Image.open(photos / "garments" / name).convert("RGB").resize((300, 400)).save(shots / name)
    result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(tmp_path / "ds"), "--split", "test",
                                      "--no-progress", "--in-process"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    warnings = [json.loads(line) for line in (tmp_path / "ds" / "prep-warnings.jsonl").read_text().splitlines()]
    low = sum(w["warning"].startswith("cloth-low-resolution:") for w in warnings)
    assert low == len(names) and len(warnings) > 10
    assert f"... {len(warnings) - 10} more warnings; all {len(warnings)} by kind: cloth-low-resolution {low}" in said


def test_prep_command_reports_failures_and_exits_non_zero(photos, tmp_path):
    from vtonkit.cli import app

    garments = tmp_path / "garments"
    garments.mkdir()
    (garments / "00055_00.jpg").write_bytes((photos / "garments" / "00055_00.jpg").read_bytes())
    (garments / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    args = ["prep", "--cloths", str(garments), "--out", str(tmp_path / "ds"), "--split", "test", "--no-progress",
            "--in-process"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "1 samples written" in result.output and "1 failed" in result.output
    assert "broken.jpg" in result.output
    # a copy under another name is skipped by name (prep said only "listed in the profile")
    (garments / "copy of 00055.jpg").write_bytes((photos / "garments" / "00055_00.jpg").read_bytes())
    copied = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert "1 inputs skipped: same bytes as another input" in copied.output, copied.output
    assert f"skipped {garments / 'copy of 00055.jpg'}: same bytes as {garments / '00055_00.jpg'}" in copied.output
    (garments / "copy of 00055.jpg").unlink()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "1 already complete" in again.output
    bad = CliRunner().invoke(app, ["prep", "--cloths", str(garments), "--out", str(tmp_path / "ds"), "--split", "val"])
    assert bad.exit_code == 2 and "split must be one of" in bad.output
    # A folder without images (a mistyped one, or only a readme) is refused: it "succeeded" with 0 samples.
    empty = tmp_path / "people"
    empty.mkdir()
    (empty / "readme.txt").write_text("photos go here")
    nothing = CliRunner().invoke(app, ["prep", "--persons", str(empty), "--cloths", str(garments), "--out",
                                       str(tmp_path / "ds2"), "--split", "test", "--no-progress", "--in-process"])
    said = " ".join(nothing.output.split())
    assert nothing.exit_code == 2, said
    assert f"{empty}: no image files there (" in said and "samples written" not in said


def test_prep_command_reports_each_warning_per_file_and_in_the_dataset(photos, tmp_path):
    """Pre-flight findings reach the user of `prep` (they used to stop at the worker's result)."""
    from vtonkit.cli import app

    garments = tmp_path / "garments"
    garments.mkdir()
    (garments / "00055_00.jpg").write_bytes((photos / "garments" / "00055_00.jpg").read_bytes())
    Image.open(photos / "garments" / "00126_00.jpg").resize((300, 400)).save(garments / "small.jpg", quality=95)
    dataset = tmp_path / "ds"
    result = CliRunner().invoke(app, ["prep", "--cloths", str(garments), "--out", str(dataset), "--split", "test",
                                      "--no-progress", "--in-process"])
    assert result.exit_code == 0, result.output
    assert "2 samples written (1 with warnings)" in result.output
    assert f"warning {garments / 'small.jpg'}: cloth-low-resolution:" in result.output
    records = [json.loads(line) for line in (dataset / WARNINGS_FILE).read_text().splitlines()]
    assert [(r["kind"], r["stem"], Path(r["file"]).name) for r in records] == [("cloth", "small", "small.jpg")]
    assert records[0]["warning"].startswith("cloth-low-resolution: ")
    assert (dataset / "test" / "cloth" / "small.jpg").is_file()  # a warning never stops the photo
    # a repeated (or resumed) run skips the complete samples; their warnings stay in the file
    (garments / "00126_00.jpg").write_bytes((photos / "garments" / "00126_00.jpg").read_bytes())
    again = CliRunner().invoke(app, ["prep", "--cloths", str(garments), "--out", str(dataset), "--split", "test",
                                     "--no-progress", "--in-process"])
    said = " ".join(again.output.split())
    assert again.exit_code == 0 and "2 already complete (1 with warnings, listed in the warnings file)" in said, said
    records = [json.loads(line) for line in (dataset / WARNINGS_FILE).read_text().splitlines()]
    assert [(r["stem"], r["warning"].split(":")[0]) for r in records] == [("small", "cloth-low-resolution")]

def test_catalog_on_model_shots_become_persons_paired_with_their_product_garment(photos, tmp_path):
    from vtonkit.datasets.pairing import write_pair_list
    from vtonkit.datasets.pairs import read_pairs

    crawl = tmp_path / "crawl"
    (crawl / "images").mkdir(parents=True)
    shots = [("01008_00.jpg", "persons", "P1", False), ("00055_00.jpg", "garments", "P1", True),
             ("01861_00.jpg", "persons", "P2", False), ("02849_00.jpg", "persons", "P2", False),
             ("00126_00.jpg", "garments", "P2", True), ("02015_00.jpg", "garments", "P3", True)]
    records = []
    for name, folder, product, garment in shots:
        (crawl / "images" / name).write_bytes((photos / folder / name).read_bytes())
        records.append({"store": "shop", "product_id": product, "category": "upper", "is_garment_shot": garment,
                        "path": f"images/{name}"})
    (crawl / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    dataset = tmp_path / "ds"
    report = run_prep(PrepOptions(out=dataset, split="test", persons=str(crawl), cloths=str(crawl), registrations=TINY,
                                  backends={"pose": "tiny-pose", "parser": "tiny-parser", "densepose": "tiny-densepose",
                                            "cloth_mask": "tiny-mask"}, in_process=True))
    assert report.ok == {"person": 3, "cloth": 3}
    split = DatasetLayout(dataset).split("test")
    p2 = [s for s in split.person_stems() if s.startswith("P2_")]
    assert split.person_stems() == sorted(["P1", *p2]) and len(p2) == 2
    assert split.cloth_stems() == ["P1", "P2", "P3"]
    paired = write_pair_list(dataset, "test", "paired")
    assert read_pairs(paired.path) == [(f"{s}.jpg", f"{s}.jpg") for s in sorted(["P1", *p2])]
    assert paired.own_copies == {s: "P2" for s in p2}
    for stem in p2:  # the own garment the official loader opens is the product's garment shot
        assert split.cloth(stem).read_bytes() == split.cloth("P2").read_bytes()
    unpaired = write_pair_list(dataset, "test", "unpaired", seed=3)
    assert not unpaired.placeholders and not unpaired.own_copies  # all own, copies already there
    assert {c for _, c in read_pairs(unpaired.path)} <= {"P1.jpg", "P2.jpg", "P3.jpg"}


@pytest.mark.parametrize("in_process", [True, False])
def test_prep_and_prep_cloth_share_one_failure_policy(photos, tmp_path, in_process):
    """A bug in a backend and an unreadable shot fail the same way through `prep` (inline or pool
    engine) and through `prep-cloth`'s batch: the same reason naming the file, the batch goes on,
    and a stale file of an earlier run of the failed shot is removed."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess.batch import prep_cloth_files

    garments = tmp_path / "garments"
    garments.mkdir()
    (garments / "00055_00.jpg").write_bytes((photos / "garments" / "00055_00.jpg").read_bytes())
    Image.new("RGB", (300, 400), (255, 0, 0)).save(garments / "red.png")
    (garments / "broken.jpg").write_bytes(b"not a JPEG")
    dataset = tmp_path / "ds"
    stale = DatasetLayout(dataset).split("test").cloth("red")
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier run's garment")
    earlier = Manifest.load(dataset)  # an earlier run recorded the stem before writing (no record: not prep's file)
    earlier.entries("test", "cloths")["red"] = {"source": str(garments / "red.png"), "sha256": "0" * 64}
    earlier.save()
    report = run_prep(PrepOptions(out=dataset, split="test", cloths=str(garments), registrations=TINY,
                                  backends={"cloth_mask": "buggy-mask"}, in_process=in_process))
    assert report.ok == {"cloth": 1} and report.failed == {"cloth": 2}
    records = {Path(e["file"]).name: e for e in report.errors}
    assert records["red.png"]["stage"] == "cloth_mask" and records["red.png"]["error_type"] == "RuntimeError"
    assert records["red.png"]["reason"] == ("cloth-mask backend 'buggy-mask' failed: "
                                            "RuntimeError: index out of range in the red branch")
    assert records["broken.jpg"]["stage"] == "cloth" and records["broken.jpg"]["error_type"] == "InputError"
    assert not stale.exists()
    assert DatasetLayout(dataset).split("test").cloth_stems() == ["00055_00"]

    results = prep_cloth_files(sorted(garments.iterdir()), SplitDir(tmp_path / "cloth-only"), BuggyClothMask())
    by_name = {r.path.name: r for r in results}
    assert [r.path.name for r in results if r.ok] == ["00055_00.jpg"]
    for name in ("red.png", "broken.jpg"):  # the message is the record's reason, prefixed by the file
        assert by_name[name].error == f"{garments / name}: {records[name]['reason']}"
        assert by_name[name].failure.error_type == records[name]["error_type"]


def test_prep_picks_its_engine_by_name_and_passes_only_declared_options(tmp_path):
    from vtonkit.preprocess.engines import ENGINES, has_engine_ability
    from vtonkit.preprocess.pipeline import build_engine

    inline = build_engine(PrepOptions(out=tmp_path, split="test", in_process=True, workers=3))
    assert inline.name == "inline" and inline.abilities == {"native_log"}  # nothing passed that it cannot take
    assert inline.native_log == str(tmp_path / ".vtonkit" / "native.log")
    pool = build_engine(PrepOptions(out=tmp_path, split="test", workers=3))
    assert pool.name == "pool" and pool.workers == 3 and pool.native_log == str(tmp_path / ".vtonkit" / "native.log")
    ray = build_engine(PrepOptions(out=tmp_path, split="test", engine="ray", workers=2, ray_address="auto"))
    assert ray.name == "ray" and (ray.workers, ray.address) == (2, "auto")
    assert build_engine(PrepOptions(out=tmp_path, split="test", engine="pool")).name == "pool"
    with pytest.raises(VtonkitError, match="engine must be one of local, inline, pool, ray"):
        build_engine(PrepOptions(out=tmp_path, split="test", engine="spark"))
    for name in ENGINES.names():
        assert ENGINES.resolve(name).abilities <= {"parallel", "separate_processes", "native_log", "cluster"}
    with pytest.raises(ValueError, match="unknown engine ability"):
        has_engine_ability(pool, "gpu")


def test_profile_timeline_shows_where_each_pool_worker_spent_the_run(photos, tmp_path):
    garments = tmp_path / "garments"
    garments.mkdir()
    for name in ("00055_00.jpg", "00126_00.jpg", "02015_00.jpg", "02305_00.jpg"):
        (garments / name).write_bytes((photos / "garments" / name).read_bytes())
    report = run_prep(PrepOptions(out=tmp_path / "ds", split="test", cloths=str(garments), workers=2,
                                  backends={"cloth_mask": "tiny-mask"}, registrations=TINY))
    timeline = report.profile["timeline"]
    assert 0 <= timeline["backends_resolved_s"] <= timeline["tasks_planned_s"] <= timeline["last_result_s"]
    workers = timeline["workers"]
    assert set(workers) == set(report.profile["per_worker"]) and 1 <= len(workers) <= 2
    for clock in workers.values():  # a worker starts, loads its models, then works
        assert clock["started_s"] <= clock["ready_s"] <= clock["first_task_s"] <= clock["last_task_end_s"]
        assert clock["last_task_end_s"] <= timeline["last_result_s"] and clock["busy_s"] > 0
        # the three figures are each rounded to the millisecond: up to 1.5 ms apart from rounding alone
        assert clock["busy_s"] <= clock["last_task_end_s"] - clock["first_task_s"] + 1.6e-3
    assert all(w["startup_cpu_s"] > 0 for w in report.profile["per_worker"].values())


def test_missing_weights_are_one_clear_error_not_a_worker_death_per_input(photos, tmp_path):
    """A real-model backend without its weights failed in every pool worker's set-up: three
    tracebacks, then every input recorded as "the worker process died ... (native crash or out of
    memory)", and an empty dataset left behind. Now: the model's own message once, exit code 2,
    nothing left."""
    out = tmp_path / "data"
    run = subprocess.run([sys.executable, "-m", "vtonkit", "prep", "--persons",
                          str(photos / "persons" / REAL_PERSONS[0]), "--out", str(out), "--split", "test",
                          "--parser", "schp-lip"], capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "VTONKIT_HOME": str(tmp_path / "empty-store")})
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert "model schp-lip is not available: run `vtonkit models download schp-lip`" in run.stderr
    assert "Traceback" not in run.stderr and "worker process died" not in run.stdout + run.stderr
    assert not out.exists()


@pytest.mark.parametrize("split", ["test", "train"])
def test_prep_refuses_to_mix_categories_in_one_dataset(photos, tmp_path, split):
    """A lower-body dataset prepared again with --category upper rewrote its samples with the upper
    recipe, exit 0 (or, into its other split, added upper samples); validate, which checks one
    category per dataset, then blamed the samples that were right."""
    garment = str(photos / "garments" / GARMENTS[0])
    run_prep(PrepOptions(out=tmp_path, split="test", cloths=garment, category="lower", in_process=True))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    with pytest.raises(VtonkitError, match=r"holds lower samples: prep --category upper would mix garment "
                                           r"categories in one dataset; give another --out"):
        run_prep(PrepOptions(out=tmp_path, split=split, cloths=garment, category="upper", in_process=True))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()) == before


def test_prep_auto_says_how_many_samples_went_to_each_split(photos, tmp_path):
    """`prep --split auto` said only "N samples written": a small shop whose every sample went to
    train then met "test: no complete person sample" at `pairs --split test`."""
    from vtonkit.cli import app

    garments = tmp_path / "garments"
    garments.mkdir()
    for name in GARMENTS:
        (garments / name).write_bytes((photos / "garments" / name).read_bytes())
    result = CliRunner().invoke(app, ["prep", "--cloths", str(garments), "--out", str(tmp_path / "ds"), "--split",
                                      "auto", "--test-fraction", "0.5", "--in-process", "--no-progress"])
    assert result.exit_code == 0, result.output
    counts = {split: len(list((tmp_path / "ds" / split / "cloth").glob("*.jpg"))) if (tmp_path / "ds" / split).is_dir()
              else 0 for split in ("train", "test")}
    assert sum(counts.values()) == len(GARMENTS)
    assert f"prep auto: 2 samples written (train {counts['train']}, test {counts['test']})" in result.output


def test_auto_split_keeps_a_person_with_the_garment_of_its_name(vitonhd, tmp_path):
    """Keyed by bytes, `prep --split auto` put person 00000 in test and its own garment
    cloth/00000.jpg in train: the garment leaked and training lost the person. Folder files are
    now keyed by name; bytes seen before keep their split, so a renamed copy stays a duplicate."""
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir()
    garments.mkdir()
    names = sorted(p.name for p in (vitonhd / "test" / "image").glob("*.jpg"))
    names += sorted(p.name for p in (vitonhd / "train" / "image").glob("*.jpg"))
    for name in names:
        split = "test" if (vitonhd / "test" / "image" / name).is_file() else "train"
        (persons / name).write_bytes((vitonhd / split / "image" / name).read_bytes())
        (garments / name).write_bytes((vitonhd / split / "cloth" / name).read_bytes())
    backends = {"pose": "tiny-pose", "parser": "tiny-parser", "densepose": "tiny-densepose", "cloth_mask": "tiny-mask"}
    options = dict(out=tmp_path / "ds", split="auto", test_fraction=0.5, split_seed=0, backends=backends,
                   registrations=TINY, in_process=True)
    report = run_prep(PrepOptions(persons=str(persons), cloths=str(garments), **options))
    assert report.ok == {"person": len(names), "cloth": len(names)}
    layout = DatasetLayout(tmp_path / "ds")
    sides = {split: {p.stem for p in (layout.split(split).root / "image").glob("*.jpg")} for split in ("train", "test")}
    assert sides["train"] and sides["test"], sides  # both splits used: the check below can fail
    for split, stems in sides.items():
        assert stems == {p.stem for p in (layout.split(split).root / "cloth").glob("*.jpg")}
    # a renamed copy of a test photo, whose new name alone would hash to train, stays in test
    moved = next(f"copy{i}.jpg" for i in range(100) if split_of(f"name:copy{i}", 0.5, 0) == "train")
    test_person = sorted(sides["test"])[0]
    (persons / moved).write_bytes((persons / f"{test_person}.jpg").read_bytes())
    again = run_prep(PrepOptions(persons=str(persons), **options))
    assert [(d["file"], d["same_bytes_as"]) for d in again.duplicates] == [(str(persons / moved),
                                                                             str(persons / f"{test_person}.jpg"))]
    assert not any(layout.split(s).root.joinpath("image", moved).exists() for s in ("train", "test"))
