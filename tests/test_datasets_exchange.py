"""Import, export and round trips on the shared Dress Code and VITON-HD samples.

The target readers below are written from the published data-loading code of each target (facts
in docs/formats.md), not from the exporters: names derived the way the loaders derive them, files
opened with OpenCV / PIL as they open them, masks binarised as they binarise them.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.export import exporter
from vtonkit.datasets.export.dresscode import export_dresscode
from vtonkit.datasets.export.mask_inpaint import export_mask_inpaint
from vtonkit.datasets.export.stableviton import export_stableviton
from vtonkit.datasets.importers.dresscode import import_dresscode
from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.review.store import DecisionStore
from vtonkit.datasets.roundtrip import compare_datasets
from vtonkit.datasets.table import write_table
from vtonkit.datasets.validate import validate
from vtonkit.datasets.pairs import read_pairs
from vtonkit.datasets.io.densepose import read_densepose
from vtonkit.datasets.manifest import placeholder_stems

from vtonkit.core.errors import InputError, VtonkitError

from tests.conftest import shared_path
from vtonkit.cli import app

VITONHD_STEMS = {"train": ["00000_00"], "test": ["00006_00", "00008_00"]}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exchange")


@pytest.fixture(scope="module")
def vitonhd_dataset(work: Path) -> Path:
    """VITON-HD imported from a three-sample view of ../shared (symlinks: the data is read in place)."""
    shared = shared_path("data", "vitonhd")
    view = work / "vitonhd-view"
    for split, stems in VITONHD_STEMS.items():
        for folder in (shared / split).iterdir():
            for path in folder.iterdir():
                if any(path.name.startswith(stem) for stem in stems):
                    (view / split / folder.name).mkdir(parents=True, exist_ok=True)
                    (view / split / folder.name / path.name).symlink_to(path)
    report = import_vitonhd(view, work / "vitonhd", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    return work / "vitonhd"


@pytest.fixture(scope="module")
def dresscode_lower(work: Path) -> Path:
    report = import_dresscode(shared_path("data", "dresscode"), work / "dc-lower", category="lower", progress=False)
    assert report.failures == []
    assert sorted(s for _, s in report.converted) == ["013563_0.jpg", "013564_0.jpg", "013565_0.jpg"]
    return work / "dc-lower"


@pytest.fixture(scope="module")
def dresscode_export(vitonhd_dataset: Path, dresscode_lower: Path, work: Path) -> Path:
    """Both imported datasets exported to one Dress Code root (upper_body from VITON-HD, lower_body)."""
    out = work / "to-dresscode"
    for dataset in (vitonhd_dataset, dresscode_lower):
        report = export_dresscode(dataset, out, progress=False)
        assert report.failures == [] and report.converted
    return out


def test_import_then_validate_is_clean(vitonhd_dataset: Path, dresscode_lower: Path) -> None:
    for dataset, category in ((vitonhd_dataset, "upper"), (dresscode_lower, "lower")):
        report = validate(dataset, category=category, duplicates=False)
        assert report.errors == [], [f.message for f in report.errors]
        assert sum(len(v) for v in report.samples.values()) == 3
    # Dress Code ids 0..24 re-rendered in PARULA, labels converted: spot-check one sample.
    parse = np.array(Image.open(dresscode_lower / "train" / "image-parse-v3" / "013564.png"))
    genuine = np.array(Image.open(shared_path("data", "dresscode", "lower_body", "label_maps", "013564_4.png")))
    assert Image.open(dresscode_lower / "train" / "image-parse-v3" / "013564.png").mode == "P"
    assert ((genuine == 6) == (parse == 9)).all()  # Dress Code pants (6) are CIHP pants (9)
    body = json.loads((dresscode_lower / "train" / "openpose_json" / "013564_keypoints.json").read_text())
    assert len(body["people"][0]["pose_keypoints_2d"]) == 75
    # The shipped DensePose rendering is kept as it is (it was replaced by a re-render, 1.4 % of its
    # pixels off by more than 30 levels); a source without one gets it rendered from dense/.
    for stem in ("013563", "013564", "013565"):
        assert (dresscode_lower / "train" / "image-densepose" / f"{stem}.jpg").read_bytes() == \
            shared_path("data", "dresscode", "lower_body", "image-densepose", f"{stem}_0.jpg").read_bytes()


def test_a_dresscode_source_without_renderings_gets_densepose_rendered_from_its_part_ids(work: Path) -> None:
    source = _dresscode_view(work / "no-renderings")
    report = import_dresscode(source, work / "no-renderings-out", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    for path in (work / "no-renderings-out" / "train" / "image-densepose").glob("*.jpg"):
        parts = np.array(Image.open(source / "dense" / f"{path.stem}_5.png"))
        assert np.mean(read_densepose(path) == parts) > 0.98


def test_a_lower_sample_without_its_legs_is_flagged(dresscode_lower: Path, tmp_path: Path) -> None:
    """prep warned "legs cut off" of a lower-body photo, but validate (and so review's flag filter)
    said nothing of the sample. The genuine Dress Code samples have their legs; one whose ankles are
    taken out of its keypoints is flagged, and only under a lower or dress category."""
    from vtonkit.datasets.io.keypoints import read_keypoints, write_openpose_json

    dataset = tmp_path / "dc-lower"
    shutil.copytree(dresscode_lower, dataset)
    assert not [f for f in validate(dataset, category="lower", duplicates=False).findings if f.code == "legs-cut-off"]
    pose = dataset / "train" / "openpose_json" / "013564_keypoints.json"
    body25 = read_keypoints(pose)
    body25[[11, 14]] = 0  # the ankles
    write_openpose_json(pose, body25)
    flagged = [f for f in validate(dataset, category="lower", duplicates=False).findings if f.code == "legs-cut-off"]
    assert [(f.sample, f.severity) for f in flagged] == [("013564", "warning")]
    assert "knees or ankles not visible: a lower try-on needs the legs" in flagged[0].message
    assert not [f for f in validate(dataset, category="upper", duplicates=False).findings if f.code == "legs-cut-off"]


def _dresscode_view(root: Path) -> Path:
    """A symlinked copy of ../shared's Dress Code upper_body (images, keypoints, label maps, dense)."""
    source = root / "upper_body"
    shared = shared_path("data", "dresscode", "upper_body")
    for folder in ("images", "keypoints", "label_maps", "dense"):
        (source / folder).mkdir(parents=True)
        for path in (shared / folder).iterdir():
            (source / folder / path.name).symlink_to(path)
    return source


def test_import_names_samples_that_cannot_convert(work: Path) -> None:
    source = _dresscode_view(work / "broken-dc")
    (source / "keypoints" / "000001_2.json").unlink()
    report = import_dresscode(source, work / "broken-out", progress=False)
    assert [f.sample for f in report.failures] == ["000001_0.jpg"]
    assert "000001_2.json" in report.failures[0].reason and "not found" in report.failures[0].reason
    assert len(report.converted) == 2 and report.exit_code() == 1


def test_a_reason_with_brackets_is_printed_whole(work: Path) -> None:
    """Rich read "[x, y, score, id]" in a failure reason as markup and dropped it: the import said
    "must be 18 rows of , got (72,)"."""
    source = _dresscode_view(work / "brackets-dc")
    (source / "keypoints" / "000001_2.json").unlink()
    (source / "keypoints" / "000001_2.json").write_text(json.dumps({"keypoints": [0.0] * 72}))
    result = CliRunner().invoke(app, ["import", "dresscode", str(source), "--out", str(work / "brackets-out")])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "must be 18 rows of [x, y, score, id], got (72,)" in output, output


def test_a_sample_failing_at_its_last_step_leaves_no_files(work: Path) -> None:
    """Keypoints with every joint missing pass the reader but not the agnostic recipe: the import named
    the sample as failed and left its image, cloth, parse, DensePose and pose files behind."""
    source = _dresscode_view(work / "late-failure")
    (source / "keypoints" / "000001_2.json").unlink()
    (source / "keypoints" / "000001_2.json").write_text(json.dumps({"keypoints": [[-1.0, -1.0, 0.0, -1.0]] * 18}))
    out = work / "late-failure-out"
    report = import_dresscode(source, out, progress=False)
    assert [f.sample for f in report.failures] == ["000001_0.jpg"], report.failures
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("000001*"))
    assert left == [], left
    assert len(report.converted) == 2


def test_a_name_no_pair_list_can_hold_costs_only_its_sample(work: Path) -> None:
    """A Dress Code file named with a space stopped the import after every sample was written, before
    any pair list: the good samples were left without one."""
    source = _dresscode_view(work / "spaced")
    for folder, suffix in (("images", "_0.jpg"), ("images", "_1.jpg"), ("keypoints", "_2.json"),
                           ("label_maps", "_4.png"), ("dense", "_5.png")):
        (source / folder / f"000000{suffix}").rename(source / folder / f"my photo{suffix}")
    out = work / "spaced-out"
    report = import_dresscode(source, out, progress=False)
    assert [f.sample for f in report.failures] == ["my photo_0.jpg"]
    assert "cannot stand in a pair list" in report.failures[0].reason
    assert not list(out.rglob("my photo*")) and not list(out.rglob("my_photo*"))
    pairs = (out / "train_pairs.txt").read_text().split()
    assert sorted(set(pairs)) == ["000001.jpg", "000002.jpg"]


def test_importing_into_an_existing_dataset_keeps_its_pairs(vitonhd_dataset: Path, work: Path) -> None:
    """The pair list of the dataset imported into used to be replaced by the new samples' pairs alone."""
    import shutil

    target = work / "merged"
    shutil.copytree(vitonhd_dataset, target, symlinks=True)
    before = (target / "train_pairs.txt").read_text().splitlines()
    report = import_dresscode(shared_path("data", "dresscode"), target, category="upper", progress=False)
    assert report.failures == []
    after = (target / "train_pairs.txt").read_text().splitlines()
    assert after[: len(before)] == before and len(after) > len(before)
    assert len(after) == len(set(after))


def test_a_full_disk_while_writing_the_pair_list_is_a_clear_error(vitonhd_dataset: Path, tmp_path: Path,
                                                                  monkeypatch) -> None:
    """A full disk when import / export wrote a pair list or the manifest ended in an OSError traceback.
    Simulated: every text file written atomically fails with ENOSPC (the image files still go in)."""
    import contextlib
    import errno
    import os

    import vtonkit.datasets.io.files as files

    real_atomic_write = files.atomic_write

    @contextlib.contextmanager
    def full_for_text(path, mode="wb"):
        with real_atomic_write(path, mode) as handle:
            yield handle
            if "b" not in mode:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(files, "atomic_write", full_for_text)
    for args in (["import", "vitonhd", str(vitonhd_dataset), "--out", str(tmp_path / "imported")],
                 ["export", str(vitonhd_dataset), "--to", "dresscode", "--category", "upper", "--out",
                  str(tmp_path / "exported"), "--no-progress"]):
        result = CliRunner().invoke(app, args)
        output = " ".join(result.output.split())
        # import: the samples go in, the pair list fails (2); export: its samples write JSON, each fails (1)
        assert isinstance(result.exception, SystemExit) and result.exit_code in (1, 2), (args[0], result.output)
        assert "No space left on device" in output and "Traceback" not in output, output


def test_files_validate_rejects_are_not_imported_or_exported(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """A 384x512 garment or DensePose image and an all-black cloth mask were copied as they were by
    `import vitonhd` and `export` (rc 0, no warning); `validate` then rejected what they wrote."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(vitonhd_dataset, source, symlinks=False)
    cloth, mask, dense = (source / "test" / "cloth" / "00006_00.jpg", source / "test" / "cloth-mask" / "00008_00.jpg",
                          source / "train" / "image-densepose" / "00000_00.jpg")
    for path in (cloth, mask, dense):
        path.unlink()
    Image.new("RGB", (384, 512), "white").save(cloth)
    Image.new("L", (768, 1024), 0).save(mask)
    Image.new("RGB", (384, 512), "black").save(dense)
    expected = {("test", "00006_00"): "image is 384x512", ("test", "00008_00"): "cloth mask is empty",
                ("train", "00000_00"): "image is 384x512"}
    report = import_vitonhd(source, tmp_path / "imported", progress=False)
    failed = {(f.split, f.sample): f.reason for f in report.failures}
    assert failed.keys() == expected.keys() and all(expected[k] in failed[k] for k in expected), failed
    assert not any((tmp_path / "imported").rglob("0000[068]_00*"))
    exported = export_dresscode(source, tmp_path / "exported", category="upper", progress=False)
    failed = {(f.split, f.sample): f.reason for f in exported.failures}
    assert failed.keys() == expected.keys() and all(expected[k] in failed[k] for k in expected), failed


def test_a_dresscode_folder_without_photos_says_so(work: Path) -> None:
    """A category folder with no images/ said "0 samples written, 0 failed" and exited 1 with no reason."""
    source = work / "no-images" / "upper_body"
    (source / "keypoints").mkdir(parents=True)
    result = CliRunner().invoke(app, ["import", "dresscode", str(source), "--out", str(work / "no-images-out")])
    output = "".join(result.output.split())
    assert result.exit_code == 2 and f"{source / 'images'}:nopersonphoto" in output, result.output


def _dresscode_reader(root: Path, folder: str, pair_file: str) -> list[dict]:
    """Dress Code's dataset.py conventions: per-category pair file split on whitespace, names by replace()."""
    base = root / folder
    samples = []
    for line in (base / pair_file).read_text().splitlines():
        im_name, c_name = line.strip().split()
        parse = np.array(Image.open(base / "label_maps" / im_name.replace("_0.jpg", "_4.png")))
        keypoints = np.array(json.loads((base / "keypoints" / im_name.replace("_0.jpg", "_2.json")).read_text())
                             ["keypoints"]).reshape((-1, 4))
        samples.append({
            "cloth": Image.open(base / "images" / c_name), "image": Image.open(base / "images" / im_name),
            "skeleton": Image.open(base / "skeletons" / im_name.replace("_0", "_5")),
            "parse_mode": Image.open(base / "label_maps" / im_name.replace("_0.jpg", "_4.png")).mode,
            "parse": parse, "keypoints": keypoints,
            "dense": np.array(Image.open(base / "dense" / im_name.replace("_0.jpg", "_5.png"))),
            "densepose": Image.open(base / "image-densepose" / im_name),  # IDM-VTON's reader
            "catvton_mask": Image.open(base / "agnostic_masks" / im_name.replace(".jpg", ".png")),
        })
    return samples


def test_export_dresscode_reads_with_the_dresscode_conventions(dresscode_export: Path) -> None:
    out = dresscode_export
    for folder, count in (("upper_body", 3), ("lower_body", 3)):
        samples = [s for name in ("train_pairs.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt")
                   for s in _dresscode_reader(out, folder, name)]
        assert len(samples) == count + (2 if folder == "upper_body" else 0)  # + 2 unpaired test lines
        for sample in samples:
            assert sample["image"].size == sample["cloth"].size == sample["skeleton"].size == (768, 1024)
            assert sample["image"].mode == "RGB" and sample["skeleton"].mode == "RGB"
            assert sample["parse_mode"] == "P" and sample["parse"].max() < 18
            assert sample["keypoints"].shape == (18, 4)
            present = sample["keypoints"][:, 0] > 1
            assert (sample["keypoints"][present, 0] <= 384).all() and (sample["keypoints"][present, 1] <= 512).all()
            assert (sample["keypoints"][~present] == [-1, -1, 0, -1]).all()
            assert set(np.unique(sample["dense"])) <= set(range(25)) and sample["dense"].shape == (1024, 768)
            assert sample["densepose"].mode == "RGB"
            assert sample["catvton_mask"].mode == "L" and set(np.unique(sample["catvton_mask"])) <= {0, 255}
    # CatVTON splits Dress Code pair lines on a single space.
    for line in (out / "upper_body" / "test_pairs_unpaired.txt").read_text().splitlines():
        assert len(line.strip().split(" ")) == 2


def test_export_stableviton_reads_with_its_dataset_conventions(vitonhd_dataset: Path, work: Path) -> None:
    out = work / "to-stableviton"
    assert export_stableviton(vitonhd_dataset, out, progress=False).failures == []
    read = 0
    for data_type in ("train", "test"):
        for line in (out / f"{data_type}_pairs.txt").read_text().splitlines():
            im_name, c_name = line.strip().split()
            folder = out / data_type
            names = {"agnostic-v3.2": im_name, "agnostic-mask": im_name.replace(".jpg", "_mask.png"), "cloth": c_name,
                     "cloth-mask": c_name, "image": im_name, "image-densepose": im_name}
            if data_type == "train":
                names["gt_cloth_warped_mask"] = im_name
            for sub, name in names.items():
                image = cv2.imread(str(folder / sub / name))  # OpenCV decodes by content, BGR
                assert image is not None and image.shape == (1024, 768, 3), (sub, name)
                if "mask" in sub:
                    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                    assert (grey >= 128).any()
            if data_type == "train":
                worn = cv2.cvtColor(cv2.imread(str(folder / "gt_cloth_warped_mask" / im_name)), cv2.COLOR_BGR2GRAY) >= 128
                genuine = cv2.imread(str(shared_path("data", "vitonhd", "train", "gt_cloth_wraped_mask", im_name)), 0) >= 128
                assert (worn == genuine).all()
            read += 1
    assert read == 3


@pytest.mark.parametrize("recipe", ["stored", "lower"])
def test_export_mask_inpaint_reads_with_idm_vton_and_catvton_conventions(vitonhd_dataset: Path, work: Path,
                                                                         recipe: str) -> None:
    out = work / f"to-inpaint-{recipe}"
    assert export_mask_inpaint(vitonhd_dataset, out, mask_recipe=recipe, progress=False).failures == []
    masks = {}
    for line in (out / "test_pairs_unpaired.txt").read_text().splitlines():  # CatVTON: split(" ")
        person, cloth = line.strip().split(" ")
        mask = Image.open(out / "test" / "agnostic-mask" / person.replace(".jpg", "_mask.png"))
        assert mask.mode == "L" and mask.size == (768, 1024)
        values = np.array(mask)
        assert set(np.unique(values)) == {0, 255}  # IDM-VTON uses it unthresholded: must be binary
        assert Image.open(out / "test" / "image-densepose" / person).size == (768, 1024)
        assert Image.open(out / "test" / "cloth" / cloth).mode == "RGB"
        masks[person] = values > 0
    assert len(masks) == 2
    stored = np.array(Image.open(vitonhd_dataset / "test" / "agnostic-mask" / "00006_00_mask.png").convert("L")) >= 128
    # the stored recipe is the dataset's mask; the lower-body recipe masks a different region
    assert (masks["00006_00.jpg"] == stored).all() == (recipe == "stored")


def test_round_trip_hrviton_dresscode_hrviton_lists_the_lossy_fields(vitonhd_dataset: Path, dresscode_export: Path,
                                                                     work: Path) -> None:
    back = import_dresscode(dresscode_export, work / "rt-back", category="upper", progress=False)
    assert back.failures == []
    comparison = compare_datasets(vitonhd_dataset, work / "rt-back")
    assert comparison.identical["image"] == comparison.identical["cloth"] == 3
    # the rendering travels as image-densepose/<id>_0.jpg both ways (it came back re-rendered from dense/)
    assert comparison.identical["image-densepose"] == 3
    assert comparison.identical["pairs"] == 2  # stems and pair lists come back unchanged
    lossy = comparison.by_folder()
    assert set(lossy) <= {"image-parse-v3", "image-parse-agnostic-v3.2", "agnostic-v3.2", "agnostic-mask",
                          "openpose_img", "openpose_json", "cloth-mask"}
    # Dress Code has no neck: CIHP 10 comes back as face (13), nothing else changes in the parse.
    for item in lossy["image-parse-v3"]:
        assert "10->13" in item.detail and item.detail.count("->") == 1
    for item in lossy["openpose_json"]:
        assert item.detail.startswith("joints differ: mid_hip")  # BODY_25's own mid-hip is re-derived
    for item in lossy.get("cloth-mask", []):
        assert "IoU 1.0000" in item.detail  # JPEG bytes differ, the binarised mask does not


def test_table_opens_in_pandas_with_findings_review_and_licence(dresscode_lower: Path, work: Path) -> None:
    validate(dresscode_lower, category="lower", duplicates=False).write_json(
        dresscode_lower / ".vtonkit" / "validate.json")
    DecisionStore(dresscode_lower).set("train", "013564", "reject", "shadow on the trousers")
    out = work / "dc-lower.parquet"
    assert write_table(dresscode_lower, out) == 3
    frame = pd.read_parquet(out)
    row = frame.set_index("sample").loc["013564"]
    assert row["review_decision"] == "reject" and row["category"] == "lower"
    assert row["width"] == 768 and row["height"] == 1024 and row["errors"] == 0
    assert row["person_source_url"] == "https://github.com/aimagelab/dress-code"
    assert "non-commercial" in row["person_licence"]
    assert (dresscode_lower / row["path_image_parse_v3"]).is_file()
    assert frame["review_decision"].tolist().count("undecided") == 2  # one spelling, decided or not yet
    DecisionStore(dresscode_lower).set_note("train", "013565", "check the hem")
    write_table(dresscode_lower, out)
    assert pd.read_parquet(out)["review_decision"].tolist().count("undecided") == 2


def test_cli_export_help_states_the_licence_and_bad_target_fails(vitonhd_dataset: Path, work: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "forbids" not in result.output  # the wording is the help's own
    assert "redistribute Dress Code-derived files" in " ".join(result.output.split())
    result = runner.invoke(app, ["export", str(vitonhd_dataset), "--to", "viton", "--out", str(work / "x")])
    assert result.exit_code != 0
    result = runner.invoke(app, ["export", str(vitonhd_dataset), "--to", "stableviton", "--out",
                                 str(work / "cli-sv"), "--split", "test", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (work / "cli-sv" / "test" / "image").iterdir()) == ["00006_00.jpg", "00008_00.jpg"]


def test_table_keeps_a_row_for_an_unreadable_photo(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """A truncated or empty person photo is a row with the reason, not a table that is never written."""
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    photo = root / "test" / "image" / "00006_00.jpg"
    photo.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    (root / "train" / "image" / "00000_00.jpg").write_bytes(b"")
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(app, ["table", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out).set_index("sample")
    assert len(frame) == 3
    assert frame.loc["00006_00", "width"] == 0 and "truncated" in frame.loc["00006_00", "image_problem"]
    assert frame.loc["00000_00", "image_problem"] == "empty file (0 bytes)"
    assert frame.loc["00008_00", "width"] == 768 and frame.loc["00008_00", "image_problem"] == ""


def test_table_refuses_an_out_that_is_no_parquet_file_name(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """`--out tdir/` (a folder meant) wrote a Parquet file named tdir, and `--out t.csv` Parquet under a
    CSV name; both are refused before anything is written, with a name that would do."""
    for given, hint in (("tdir", "tdir/dataset.parquet"), ("t.csv", "t.parquet")):
        result = CliRunner().invoke(app, ["table", str(vitonhd_dataset), "--out", str(tmp_path / given)],
                                    env={"COLUMNS": "300"})
        assert result.exit_code == 2 and hint in " ".join(result.output.split()), result.output
        assert not (tmp_path / given).exists()


def test_a_failed_sample_or_pair_list_leaves_no_exported_file_behind(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """Every input of a sample is read before its first output is written; a pair list the
    exporters cannot read stops the export before its first sample."""
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    (root / "test" / "cloth-mask" / "00006_00.jpg").unlink()
    (root / "test" / "densepose_gone").mkdir()
    (root / "test" / "image-densepose" / "00008_00.jpg").rename(root / "test" / "densepose_gone" / "x.jpg")
    both, densepose_only = {"00006_00", "00008_00"}, {"00008_00"}  # mask-inpaint reads no garment mask
    for name, export, expected in (("dresscode", export_dresscode, both), ("stableviton", export_stableviton, both),
                                   ("mask-inpaint", export_mask_inpaint, densepose_only)):
        out = tmp_path / name
        report = export(root, out, progress=False)
        failed = {f.sample for f in report.failures}
        assert failed == expected, (name, report.failures)
        written = [p.name for p in out.rglob("*") if p.is_file()]
        for stem in failed:
            assert not [n for n in written if n.startswith((stem, stem.replace("_", "-")))], (name, stem, written)
        assert any(n.startswith(("00000_00", "00000-00")) for n in written), name  # the train sample is there
    pairs = root / "test_pairs.txt"
    pairs.write_bytes(b"\xef\xbb\xbf" + pairs.read_bytes())
    for name, export in (("dresscode", export_dresscode), ("stableviton", export_stableviton)):
        out = tmp_path / f"{name}-bom"
        with pytest.raises(Exception, match="byte-order mark"):
            export(root, out, progress=False)
        assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("state_file, text", [
    ("validate.json", '{"dataset": "x", "splits": ["test"], "findings": [{"code": "wrong-size"'),  # cut short
    ("validate.json", '{"dataset": "x", "splits": ["test"], "samples": {"test": "00006_00"}, "findings": []}'),
    ("manifest.json", '{"version": 1, "splits": {"test": {"persons": ["00006_00"]}}}'),
    # a sha256 that is no string was a TypeError (unhashable) in `pairs`
    ("manifest.json", '{"version": 1, "splits": {"test": {"persons": {"00006_00": {"sha256": [1]}}}}}'),
])
def test_a_damaged_state_file_is_named_not_a_traceback(vitonhd_dataset: Path, tmp_path: Path, state_file: str,
                                                       text: str) -> None:
    """A cut-short or hand-edited .vtonkit/validate.json or manifest.json: table, pairs, export and
    sheet exit with the file named; review, whose report is a cache of validate, runs validate again."""
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    damaged = root / ".vtonkit" / state_file
    damaged.write_text(text)
    commands = [["table", root, "--out", tmp_path / "t.parquet"]]
    if state_file == "manifest.json":
        commands += [["pairs", root, "--output", tmp_path / "pairs.txt"],
                     ["export", root, "--to", "mask-inpaint", "--out", tmp_path / "out", "--no-progress"],
                     ["sheet", root, "--person", "00006_00", "--limit", "1", "--out", tmp_path / "sheet"]]
    for args in commands:
        result = CliRunner().invoke(app, [str(a) for a in args])
        said = "".join(result.output.split())
        assert result.exit_code != 0 and isinstance(result.exception, SystemExit), (args[0], result.output)
        assert f"{damaged}:unreadable" in said, (args[0], result.output)
    if state_file == "validate.json":
        result = CliRunner().invoke(app, ["review", str(root), "--static", str(tmp_path / "r.html")])
        assert result.exit_code == 0, result.output
        assert "running validate again" in result.output and (tmp_path / "r.html").is_file()


def test_an_undecodable_photo_is_named_not_copied(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """Exporters and the VITON-HD importer copy photos byte for byte: a truncated JPEG or a text file
    named .jpg fails its sample by name instead of landing in the output as it is."""
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    photo = root / "test" / "image" / "00006_00.jpg"
    photo.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    cloth = root / "test" / "cloth" / "00008_00.jpg"
    cloth.write_text("<html>404 Not Found</html>")
    for name, export in (("dresscode", export_dresscode), ("stableviton", export_stableviton),
                         ("mask-inpaint", export_mask_inpaint)):
        report = export(root, tmp_path / name, progress=False)
        reasons = {f.sample: f.reason for f in report.failures}
        assert set(reasons) == {"00006_00", "00008_00"}, (name, report.failures)
        assert str(photo) in reasons["00006_00"] and "truncated" in reasons["00006_00"], name
        assert str(cloth) in reasons["00008_00"] and "not an image" in reasons["00008_00"], name
        assert [s for _, s in report.converted] == ["00000_00"], name
    report = import_vitonhd(root, tmp_path / "imported", progress=False)
    assert {f.sample for f in report.failures} == {"00006_00", "00008_00"}, report.failures
    assert not list((tmp_path / "imported" / "test" / "image").glob("00006_00*"))


@pytest.mark.parametrize("args", [
    ["export", "{ds}", "--to", "stableviton", "--category", "upper", "--out", "{file}"],
    ["export", "{ds}", "--to", "dresscode", "--category", "upper", "--out", "{file}"],
    ["import", "vitonhd", "{ds}", "--out", "{file}"],
    ["demo", "--out", "{file}"],
    ["prep-person", "{ds}/test/image/00006_00.jpg", "--out", "{file}"],
    ["prep-cloth", "{ds}/test/cloth/00006_00.jpg", "--out", "{file}"],
])
def test_an_output_folder_that_is_a_file_is_a_usage_error(vitonhd: Path, tmp_path: Path, args: list[str]) -> None:
    """import and demo ended in a FileExistsError / NotADirectoryError traceback; export failed every
    sample one by one with the same 'Not a directory'; prep-person and prep-cloth stopped at the first
    photo advising to free the space."""
    taken = tmp_path / "results.txt"
    taken.write_text("a file, not a folder")
    result = CliRunner().invoke(app, [a.format(ds=vitonhd, file=taken) for a in args], env={"COLUMNS": "400"})
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert f"Invalid value for --out: {taken} exists and is not a folder" in said
    assert taken.read_text() == "a file, not a folder"


def test_files_of_the_wrong_mode_or_format_are_not_imported_or_exported(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """A greyscale person photo, a CMYK garment and a PNG named .jpg for DensePose were copied as they were
    by `import vitonhd` and `export` (rc 0): only their size was checked, and the loaders need 3-channel
    RGB (HR-VITON opens the photo and DensePose without a convert) and `validate` rejects them."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(vitonhd_dataset, source, symlinks=False)
    person, cloth, dense = (source / "test" / "image" / "00006_00.jpg", source / "test" / "cloth" / "00008_00.jpg",
                            source / "train" / "image-densepose" / "00000_00.jpg")
    Image.open(person).convert("L").save(person, "JPEG")
    Image.open(cloth).convert("CMYK").save(cloth, "JPEG")
    Image.open(dense).save(dense, "PNG")
    expected = {("test", "00006_00"): f"{person}: mode L, expected RGB",
                ("test", "00008_00"): f"{cloth}: mode CMYK, expected RGB or L",
                ("train", "00000_00"): f"{dense}: content is PNG, the name and the loaders expect JPEG"}
    report = import_vitonhd(source, tmp_path / "imported", progress=False)
    failed = {(f.split, f.sample): f.reason for f in report.failures}
    assert failed == expected
    assert not any((tmp_path / "imported").rglob("0000[068]_00*"))
    exported = export_dresscode(source, tmp_path / "exported", category="upper", progress=False)
    assert {(f.split, f.sample): f.reason for f in exported.failures} == expected


@pytest.mark.parametrize("target", ["stableviton", "dresscode", "mask-inpaint"])
def test_a_parse_map_of_the_wrong_size_fails_its_sample_in_every_export(vitonhd_dataset: Path, tmp_path: Path,
                                                                       target: str) -> None:
    """A 384x512 parse map was exported by stableviton as a success with a 384x512
    gt_cloth_warped_mask beside 768x1024 files; every export now fails that sample, naming the file."""
    source = tmp_path / "source"
    shutil.copytree(vitonhd_dataset, source, symlinks=False)
    parse = source / "test" / "image-parse-v3" / "00008_00.png"
    Image.open(parse).resize((384, 512), Image.NEAREST).save(parse)
    options = {"mask_recipe": "upper"} if target == "mask-inpaint" else {}
    report = exporter(target)(source, tmp_path / "out", category="upper", progress=False, **options)
    assert [(f.split, f.sample) for f in report.failures] == [("test", "00008_00")]
    assert f"{parse}: image is 384x512 (W x H), expected 768x1024" in report.failures[0].reason
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file() and "00008" in p.name]


def test_an_rgb_cloth_mask_is_imported_as_the_single_channel_mask_the_loaders_need(vitonhd_dataset: Path,
                                                                                   tmp_path: Path) -> None:
    """An RGB cloth mask was copied as it was: HR-VITON opens it without a convert, so its array had three
    channels where one belongs. A binary mask rewritten as L 0/255 loses nothing the loaders see."""
    import shutil

    source = tmp_path / "source"
    shutil.copytree(vitonhd_dataset, source, symlinks=False)
    mask = source / "test" / "cloth-mask" / "00006_00.jpg"
    Image.open(mask).convert("RGB").save(mask, "JPEG", quality=100)
    report = import_vitonhd(source, tmp_path / "imported", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    assert any(str(mask) in note and "mode RGB" in note for note in report.notes), report.notes
    written = Image.open(tmp_path / "imported" / "test" / "cloth-mask" / "00006_00.jpg")
    assert written.mode == "L" and written.format == "JPEG"
    assert np.array_equal(np.array(written) >= 128, np.array(Image.open(mask))[..., 0] >= 128)
    genuine = tmp_path / "imported" / "test" / "cloth-mask" / "00008_00.jpg"  # a mask that was L stays byte for byte
    assert genuine.read_bytes() == (source / "test" / "cloth-mask" / "00008_00.jpg").read_bytes()


def test_a_dresscode_pair_across_splits_is_left_out_with_a_note(work: Path) -> None:
    """A test pair putting a test person in a train garment vanished from the imported list without a word."""
    source = _dresscode_view(work / "cross-split")
    (source / "train_pairs.txt").write_text("000000_0.jpg\t000000_1.jpg\n")
    (source / "test_pairs_unpaired.txt").write_text("000001_0.jpg\t000000_1.jpg\n000002_0.jpg\t000002_1.jpg\n")
    report = import_dresscode(source, work / "cross-split-out", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    assert read_pairs(work / "cross-split-out" / "test_pairs.txt") == [("000002.jpg", "000002.jpg")]
    assert any("1 line(s) of" in note and "000001_0.jpg 000000_1.jpg" in note and "left out" in note
               for note in report.notes), report.notes


def test_a_grey_cloth_mask_is_imported_as_the_0_255_mask_validate_asks_for(vitonhd_dataset: Path,
                                                                           tmp_path: Path) -> None:
    """A cloth mask with grey values (garment at 180, a corner at 100) was copied byte for byte with no
    note, and validate then failed the imported dataset with mask-not-binary. It is now split at 128,
    as the loaders split it, with a note; validate passes."""
    source = tmp_path / "source"
    shutil.copytree(vitonhd_dataset, source, symlinks=False)
    mask = source / "test" / "cloth-mask" / "00006_00.jpg"
    values = np.where(np.array(Image.open(mask)) >= 128, 180, 0).astype(np.uint8)
    values[:100, :100] = 100
    Image.fromarray(values, "L").save(mask, "JPEG", quality=100)
    report = import_vitonhd(source, tmp_path / "imported", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    assert any(str(mask) in note and "grey" in note for note in report.notes), report.notes
    written = np.array(Image.open(tmp_path / "imported" / "test" / "cloth-mask" / "00006_00.jpg"))
    assert np.array_equal(written >= 128, values >= 128)
    findings = validate(tmp_path / "imported", category="upper", duplicates=False)
    assert findings.errors == [], [f.message for f in findings.errors]


def test_a_person_photo_a_pair_file_lists_but_that_is_missing_is_named_and_counted(work: Path) -> None:
    """A pair file naming a person photo that is not in images/ lost that sample without a word: only the
    photos found were imported, and the summary said nothing about the one the pair file promised."""
    source = _dresscode_view(work / "lost-photo")
    (source / "train_pairs.txt").write_text("".join(f"{i}_0.jpg\t{i}_1.jpg\n" for i in ("000000", "000001", "000009")))
    result = CliRunner().invoke(app, ["import", "dresscode", str(source), "--out", str(work / "lost-photo-out")])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "3 samples written" in output and "1 listed in a pair file but missing" in output, output
    assert f"train/000009_0.jpg: {source / 'images' / '000009_0.jpg'}: file not found, though train_pairs.txt lists it" \
        in output, output


def _digests(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("target, out", [("stableviton", "{ds}"), ("mask-inpaint", "{ds}/test"),
                                         ("dresscode", "{ds}/export")])
def test_an_export_into_its_own_dataset_is_refused(vitonhd_dataset: Path, tmp_path: Path, target: str,
                                                   out: str) -> None:
    """`export ds --to stableviton --out ds` rewrote the dataset's genuine cloth and agnostic masks
    in place with binarised copies; an output folder inside the dataset wrote into it."""
    dataset = tmp_path / "ds"
    import shutil

    shutil.copytree(vitonhd_dataset, dataset)
    before = _digests(dataset)
    result = CliRunner().invoke(app, ["export", str(dataset), "--to", target, "--category", "upper",
                                      "--out", out.format(ds=dataset), "--no-progress"], env={"COLUMNS": "400"})
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "overlaps the source" in said, said
    assert _digests(dataset) == before


def test_an_import_keeps_the_genuine_agnostic_files_beside_a_missing_one(tmp_path: Path) -> None:
    """A VITON-HD sample missing only agnostic-v3.2: the import made it and also replaced the two
    genuine agnostic files it had just copied with recomputed ones."""
    shared = shared_path("data", "vitonhd")
    view = tmp_path / "view"
    for folder in (shared / "test").iterdir():
        for path in folder.glob("00008_00*"):
            if folder.name != "agnostic-v3.2":
                (view / "test" / folder.name).mkdir(parents=True, exist_ok=True)
                (view / "test" / folder.name / path.name).symlink_to(path)
    report = import_vitonhd(view, tmp_path / "out", progress=False)
    assert report.failures == [] and len(report.converted) == 1
    out = tmp_path / "out" / "test"
    for genuine in ("image-parse-agnostic-v3.2/00008_00.png", "agnostic-mask/00008_00_mask.png"):
        assert (out / genuine).read_bytes() == (shared / "test" / genuine).read_bytes(), genuine
    assert Image.open(out / "agnostic-v3.2" / "00008_00.jpg").size == (768, 1024)
    # and an import into its own source is refused
    with pytest.raises(InputError, match="overlaps the source"):
        import_vitonhd(tmp_path / "out", tmp_path / "out", progress=False)


def test_a_bad_line_in_a_dresscode_pair_file_costs_only_itself(tmp_path: Path) -> None:
    """One line with a space in a name (or '../') in Dress Code's 1,800-line test_pairs_paired.txt
    stopped the whole import with exit code 2, the error printed twice."""
    import shutil

    source = tmp_path / "dc" / "lower_body"
    shutil.copytree(shared_path("data", "dresscode", "lower_body"), source)
    with (source / "test_pairs_paired.txt").open("a") as pairs:
        pairs.write("a b_0.jpg 013564_1.jpg\n../../x_0.jpg ../y_1.jpg\n")
    lines = (source / "test_pairs_paired.txt").read_text().count("\n")
    report = import_dresscode(source.parent, tmp_path / "out", category="lower", progress=False)
    assert report.failures == [] and len(report.converted) == 3
    skipped = [note for note in report.notes if "skipped" in note]
    assert skipped == [f"{source / 'test_pairs_paired.txt'}: line {lines - 1} skipped: 3 fields; expected "
                       "'<person file> <cloth file>'",
                       f"{source / 'test_pairs_paired.txt'}: line {lines} skipped: '../../x_0.jpg' holds a folder; "
                       "a pair names files inside image/ and cloth/"]


def test_validate_and_review_check_a_lower_body_dataset_as_lower_body(dresscode_lower: Path, tmp_path: Path) -> None:
    """An imported lower-body Dress Code dataset: `review` (which validates first) and `validate`
    without --category checked it against the upper-body agnostic and flagged all 3 samples with
    agnostic-mismatch, though the manifest records their category."""
    import shutil

    dataset = tmp_path / "dc"
    shutil.copytree(dresscode_lower, dataset)
    result = CliRunner().invoke(app, ["review", str(dataset), "--static", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    codes = {f["code"] for f in json.loads((dataset / ".vtonkit" / "validate.json").read_text())["findings"]}
    assert "agnostic-mismatch" not in codes, codes
    result = CliRunner().invoke(app, ["validate", str(dataset), "--workers", "1"])
    codes = {f["code"] for f in json.loads((dataset / ".vtonkit" / "validate.json").read_text())["findings"]}
    assert result.exit_code == 0 and "agnostic-mismatch" not in codes, (result.output, codes)
    result = CliRunner().invoke(app, ["validate", str(dataset), "--workers", "1", "--category", "upper"])
    codes = {f["code"] for f in json.loads((dataset / ".vtonkit" / "validate.json").read_text())["findings"]}
    # asked for, the other recipe is refused as infer and agnostic refuse it, and the stored report stays
    assert result.exit_code == 2 and "agnostic-mismatch" not in codes, (result.output, codes)


def test_each_export_target_runs_its_own_exporter() -> None:
    """`--to` dispatched through an if/elif whose last branch caught every other name: a target added
    to the list without its branch silently wrote the mask-inpaint layout. Targets now name their
    function, and a name without one is refused."""
    from vtonkit.datasets.export import EXPORTERS, exporter

    assert exporter("dresscode") is export_dresscode
    assert exporter("stableviton") is export_stableviton
    assert exporter("mask-inpaint") is export_mask_inpaint
    assert len({exporter(target) for target in EXPORTERS}) == len(EXPORTERS)
    with pytest.raises(KeyError, match="unknown export target 'flat'; known: dresscode, stableviton, mask-inpaint"):
        exporter("flat")


def test_a_shop_dataset_exports_its_garments_and_unpaired_pairs(vitonhd: Path, tmp_path: Path) -> None:
    """A dataset built by prep from a shop: garments under their own stems, persons whose own garment
    is a placeholder copy. Every export wrote the persons only: the unpaired lists came out empty
    (each pair names a shop garment) and the shop garments were lost; the paired lists claimed each
    person wears its placeholder."""
    from vtonkit.datasets.pairing import write_pair_list

    from tests.test_datasets_pairing import _crawled_like

    dataset = _crawled_like(vitonhd, tmp_path / "shop")
    unpaired = read_pairs(write_pair_list(dataset, "test", "unpaired", seed=0).path)
    shop = {f"shop_{n}" for n in range(3)}
    assert unpaired and {Path(c).stem for _, c in unpaired} <= shop
    persons = sorted(p.stem for p in (dataset / "test" / "image").glob("*.jpg"))

    for target, export in (("sv", export_stableviton), ("mi", export_mask_inpaint)):
        report = export(dataset, tmp_path / target, category="upper", progress=False)
        assert report.failures == []
        assert read_pairs(tmp_path / target / "test_pairs.txt") == unpaired
        assert {p.stem for p in (tmp_path / target / "test" / "cloth").glob("*.jpg")} >= shop
        assert all((tmp_path / target / "test" / "cloth-mask" / f"{s}.jpg").is_file() for s in shop)
    assert read_pairs(tmp_path / "mi" / "test_pairs_unpaired.txt") == unpaired
    assert (tmp_path / "mi" / "test_pairs_paired.txt").read_text() == ""  # no person wears its own garment

    report = export_dresscode(dataset, tmp_path / "dc", category="upper", progress=False)
    assert report.failures == []
    folder = tmp_path / "dc" / "upper_body"
    dc_unpaired = read_pairs(folder / "test_pairs_unpaired.txt")
    assert [(p.removesuffix("_0.jpg"), c.removesuffix("_1.jpg")) for p, c in dc_unpaired] == [
        (Path(p).stem.replace("_", "-"), Path(c).stem.replace("_", "-")) for p, c in unpaired]
    assert all((folder / "images" / c).is_file() for _, c in dc_unpaired)
    assert read_pairs(folder / "test_pairs_paired.txt") == []
    assert len(persons) == len(list((folder / "images").glob("*_0.jpg")))
    # and back: the shop garments and the pair list come home unchanged (before: a rotating default list)
    back = import_dresscode(tmp_path / "dc", tmp_path / "back", category="upper", progress=False)
    assert back.failures == [] and back.missing == []
    assert read_pairs(tmp_path / "back" / "test_pairs.txt") == unpaired
    for stem in shop:
        assert (tmp_path / "back" / "test" / "cloth" / f"{stem}.jpg").read_bytes() == \
            (dataset / "test" / "cloth" / f"{stem}.jpg").read_bytes()
    # the persons' placeholder garments come back recorded as placeholders, not as their own garments
    # (before: a paired list put each person in a garment it does not wear)
    assert placeholder_stems(tmp_path / "back", "test") == placeholder_stems(dataset, "test") == set(persons)
    with pytest.raises(VtonkitError, match="own garment"):
        write_pair_list(tmp_path / "back", "test", "paired", seed=0)


def _vitonhd_view(view: Path, stem: str, *, photo_of: str | None = None, without: tuple[str, ...] = ()) -> Path:
    """A one-sample VITON-HD view of ../shared's test `stem` (symlinks), its photo optionally another
    sample's, some folders left out."""
    shared = shared_path("data", "vitonhd", "test")
    for folder in shared.iterdir():
        if folder.name in without:
            continue
        for path in folder.glob(f"{stem}*"):
            source = shared / folder.name / path.name.replace(stem, photo_of) if folder.name == "image" and photo_of else path
            (view / "test" / folder.name).mkdir(parents=True, exist_ok=True)
            (view / "test" / folder.name / path.name).symlink_to(source)
    return view


def test_an_import_never_replaces_another_photos_sample_nor_keeps_its_stale_files(tmp_path: Path) -> None:
    """Importing into a dataset that held sample 00006_00 from another photo replaced its files
    without a word, and kept the old agnostic files beside the new photo (validate: agnostic-mismatch).
    Now another photo under a taken name is refused with the files untouched, and a re-import of
    the same photo makes again every file its source lacks."""
    out = tmp_path / "out"
    report = import_vitonhd(_vitonhd_view(tmp_path / "first", "00006_00"), out, progress=False)
    assert report.failures == [] and len(report.converted) == 1
    before = {p: p.read_bytes() for p in (out / "test").rglob("*") if p.is_file()}
    other = _vitonhd_view(tmp_path / "other", "00006_00", photo_of="00008_00", without=("agnostic-v3.2",))
    report = import_vitonhd(other, out, progress=False)
    (failure,) = report.failures
    assert "already holds a sample 00006_00 made from another photo" in failure.reason and report.converted == []
    assert {p: p.read_bytes() for p in (out / "test").rglob("*") if p.is_file()} == before
    # the same photo again, its source now without agnostic-v3.2: the file is made, not kept from before
    agnostic = out / "test" / "agnostic-v3.2" / "00006_00.jpg"
    agnostic.write_bytes((shared_path("data", "vitonhd", "test", "agnostic-v3.2") / "00008_00.jpg").read_bytes())
    again = import_vitonhd(_vitonhd_view(tmp_path / "again", "00006_00", without=("agnostic-v3.2",)), out,
                           progress=False)
    assert again.failures == [] and len(again.converted) == 1
    assert agnostic.read_bytes() != (shared_path("data", "vitonhd", "test", "agnostic-v3.2") / "00008_00.jpg").read_bytes()
    assert validate(out, ["test"], category="upper").exit_code(False) == 0


def test_validating_one_split_keeps_the_other_splits_findings(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """`validate --split train` replaced the stored report whole: `table` then marked the test samples
    validated with no error (a truncated photo among them) and `review` dropped them. The stored
    report now keeps what the earlier run found in the splits a run did not check, and the table
    marks as validated only the samples a report checked."""
    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    photo = root / "test" / "image" / "00008_00.jpg"
    photo.write_bytes(photo.read_bytes()[: photo.stat().st_size // 2])
    runner = CliRunner()
    assert runner.invoke(app, ["validate", str(root)]).exit_code == 1
    assert runner.invoke(app, ["validate", str(root), "--split", "train"]).exit_code == 0
    out = tmp_path / "t.parquet"
    assert runner.invoke(app, ["table", str(root), "--out", str(out)]).exit_code == 0
    frame = pd.read_parquet(out).set_index("sample")
    assert frame["validated"].all()
    assert frame.loc["00008_00", "errors"] >= 1 and "wrong-file-type" in frame.loc["00008_00", "finding_codes"]
    from vtonkit.datasets.summary import load_or_run_report

    assert load_or_run_report(root).samples["test"] == ["00006_00", "00008_00"]
    # a dataset validated only in train: its test samples are rows, not validated ones
    fresh = tmp_path / "fresh"
    shutil.copytree(vitonhd_dataset, fresh)
    assert runner.invoke(app, ["validate", str(fresh), "--split", "train"]).exit_code == 0
    assert runner.invoke(app, ["table", str(fresh), "--out", str(out)]).exit_code == 0
    frame = pd.read_parquet(out).set_index("sample")
    assert frame.loc["00000_00", "validated"] and not frame.loc["00006_00", "validated"]


def test_table_of_a_folder_that_is_no_dataset_is_an_error(tmp_path: Path) -> None:
    """`vtonkit table` on a folder of garment photos wrote an empty table and said "0 rows"."""
    shots = tmp_path / "shots"
    shots.mkdir()
    shutil.copy(shared_path("data", "photos", "garments", "00126_00.jpg"), shots / "00126_00.jpg")
    result = CliRunner().invoke(app, ["table", str(shots), "--out", str(tmp_path / "t.parquet")])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "not a dataset: no train/ or test/ folder" in said, said
    assert not (tmp_path / "t.parquet").exists()


def test_an_import_of_another_category_into_a_dataset_is_refused(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """Dress Code lower-body samples imported into an upper-body dataset were added beside them:
    validate then checked them with the upper-body recipe (false agnostic-mismatch errors) and an
    export wrote both category folders. prep refuses this; import now does too, writing nothing."""
    dataset = tmp_path / "upper"
    shutil.copytree(vitonhd_dataset, dataset, symlinks=True)
    before = _digests(dataset)
    with pytest.raises(VtonkitError, match=r"holds upper samples: importing Dress Code lower_body samples would mix"):
        import_dresscode(shared_path("data", "dresscode"), dataset, category="lower", progress=False)
    assert _digests(dataset) == before
    result = CliRunner().invoke(app, ["import", "dresscode", str(shared_path("data", "dresscode", "lower_body")),
                                      "--out", str(dataset)])
    assert result.exit_code != 0 and "would mix garment categories" in " ".join(result.output.split()), result.output
    lower = tmp_path / "lower"
    import_dresscode(shared_path("data", "dresscode"), lower, category="lower", progress=False)
    with pytest.raises(VtonkitError, match=r"holds lower samples: importing VITON-HD"):
        import_vitonhd(shared_path("data", "vitonhd"), lower, progress=False)


@pytest.mark.parametrize("target", ["dresscode", "stableviton", "mask-inpaint"])
def test_an_export_over_an_earlier_one_is_refused_or_replaced(vitonhd_dataset: Path, dresscode_lower: Path,
                                                              tmp_path: Path, target: str) -> None:
    """A second export into the same folder kept the first one's samples beside its own while its pair
    lists and stem map named only its own: a Dress Code import of it brought the stale ones back under
    raw ids, test samples in train. Now refused; --replace empties the folders first."""
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(app, ["export", str(vitonhd_dataset), "--to", target, "--out", str(out), "--no-progress"])
    assert first.exit_code == 0, first.output
    before = _digests(out)
    shutil.copytree(vitonhd_dataset, tmp_path / "fewer", symlinks=True)
    for folder in (tmp_path / "fewer" / "test").iterdir():
        for path in folder.glob("00008_00*"):
            path.unlink()
    (tmp_path / "fewer" / "test_pairs.txt").write_text("00006_00.jpg 00006_00.jpg\n")
    again = runner.invoke(app, ["export", str(tmp_path / "fewer"), "--to", target, "--out", str(out), "--no-progress"])
    output = " ".join(again.output.split())
    assert again.exit_code == 2 and "already holds" in output and "--replace" in output, output
    assert _digests(out) == before
    replaced = runner.invoke(app, ["export", str(tmp_path / "fewer"), "--to", target, "--out", str(out),
                                   "--replace", "--no-progress"])
    assert replaced.exit_code == 0, replaced.output
    written = [p.name for p in out.rglob("*") if p.is_file()]
    assert not any("00008" in name for name in written), sorted(written)
    assert any("00006" in name for name in written)


def test_a_shop_garment_no_pair_names_survives_the_dresscode_round_trip(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """A garment-only stem that no pair line names was exported (`images/<id>_1.jpg`) but not
    imported back, and the round-trip comparison did not see it go; a single-category export (its
    other categories stub folders) now imports without --category too."""
    root = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, root)
    test = root / "test"
    shutil.copy(test / "cloth" / "00008_00.jpg", test / "cloth" / "shopx.jpg")
    shutil.copy(test / "cloth-mask" / "00008_00.jpg", test / "cloth-mask" / "shopx.jpg")
    report = export_dresscode(root, tmp_path / "dc", category="upper", progress=False)
    assert report.failures == []
    assert "shopx shopx test" in (tmp_path / "dc" / "upper_body" / "vtonkit_stems.txt").read_text().splitlines()
    back = import_dresscode(tmp_path / "dc", tmp_path / "back", progress=False)  # lower_body, dresses: stubs
    assert back.failures == []
    assert (tmp_path / "back" / "test" / "cloth" / "shopx.jpg").read_bytes() == (test / "cloth" / "shopx.jpg").read_bytes()
    assert (tmp_path / "back" / "test_pairs.txt").read_bytes() == (root / "test_pairs.txt").read_bytes()
    comparison = compare_datasets(root, tmp_path / "back")
    assert not [d for d in comparison.differences if "missing" in d.detail]
    (tmp_path / "back" / "test" / "cloth" / "shopx.jpg").unlink()
    assert [(d.sample, d.folder) for d in compare_datasets(root, tmp_path / "back").differences
            if "missing" in d.detail] == [("shopx", "cloth")]


def test_a_refused_conversion_leaves_no_folder_behind(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """The output folder was made before the refusal: an export into its own dataset left an empty
    `ds/export/deeper` inside the source, a bad --mask-recipe an empty --out. A folder that was there
    before stays."""
    import shutil

    dataset = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, dataset)
    runs = [["export", str(dataset), "--to", "dresscode", "--out", str(dataset / "export" / "deeper")],
            ["import", "vitonhd", str(dataset), "--out", str(dataset / "imported")],
            ["export", str(dataset), "--to", "mask-inpaint", "--mask-recipe", "bogus", "--out", str(tmp_path / "bogus")]]
    for args in runs:
        result = CliRunner().invoke(app, [*args, "--no-progress"], env={"COLUMNS": "400"})
        assert result.exit_code == 2, result.output
    assert not (dataset / "export").exists() and not (dataset / "imported").exists()
    assert not (tmp_path / "bogus").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    result = CliRunner().invoke(app, ["export", str(dataset), "--to", "mask-inpaint", "--mask-recipe", "bogus",
                                      "--out", str(kept), "--no-progress"], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and kept.is_dir()


def test_a_paired_test_line_is_not_exported_as_an_unpaired_one(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """A test list holding a person in its own garment exported that line into
    test_pairs_unpaired.txt, where it is scored as an unpaired try-on."""
    import shutil

    dataset = tmp_path / "ds"
    shutil.copytree(vitonhd_dataset, dataset)
    (dataset / "test_pairs.txt").write_text("00006_00.jpg 00008_00.jpg\n00008_00.jpg 00008_00.jpg\n", encoding="utf-8")
    report = export_dresscode(dataset, tmp_path / "dc", progress=False)
    folder = tmp_path / "dc" / "upper_body"
    unpaired = (folder / "test_pairs_unpaired.txt").read_text(encoding="utf-8").split()
    assert unpaired == ["00006-00_0.jpg", "00008-00_1.jpg"], unpaired
    assert "00008-00_0.jpg" in (folder / "test_pairs_paired.txt").read_text(encoding="utf-8")
    assert any("1 line(s) of the test pair list pair a person with its own garment" in n for n in report.notes)
