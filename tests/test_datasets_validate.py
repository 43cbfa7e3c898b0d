"""`validate` on genuine VITON-HD samples (no flag at all) and on copies with injected defects."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.findings import Report
from vtonkit.datasets.io.keypoints import COCO18_TO_BODY25, read_keypoints
from vtonkit.datasets.sample_copy import copy_dataset
from vtonkit.datasets.validate import validate

from vtonkit.cli import app


@pytest.fixture(scope="module")
def genuine(vitonhd: Path, tmp_path_factory) -> Path:
    return copy_dataset(vitonhd, tmp_path_factory.mktemp("genuine"))


@pytest.fixture(scope="module")
def genuine_report(genuine: Path) -> Report:
    return validate(genuine)


def test_genuine_samples_raise_no_flag(genuine_report: Report) -> None:
    assert genuine_report.findings == [], [f.message for f in genuine_report.findings]
    assert genuine_report.samples == {
        "train": ["00000_00", "00001_00", "00002_00"],
        "test": ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"],
    }
    # Every check family really ran on every sample (an "ok" row each).
    checks = {check for _, _, check in genuine_report.checks_run}
    assert {"completeness", "format", "agnostic", "quality", "leakage", "duplicates"} <= checks
    assert genuine_report.exit_code(strict=True) == 0


def test_pair_lines_that_point_outside_or_carry_a_bom_are_flagged_once(vitonhd: Path, tmp_path) -> None:
    """A byte-order mark is one finding, not a phantom sample whose every file is missing."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.datasets.validate import lint_pairs

    pairs = tmp_path / "test_pairs.txt"
    pairs.write_bytes(b"\xef\xbb\xbf00006_00.jpg 00006_00.jpg\r\n../../../etc/passwd x.jpg\n"
                      b"00006_00.jpg ../cloth/00008_00.jpg\n00008_00.jpg 00008_00.jpg\n")
    report = Report(dataset=str(tmp_path), splits=["test"])
    usable = lint_pairs(pairs, "test", SplitDir(vitonhd / "test"), report)
    assert usable == [("00006_00.jpg", "00006_00.jpg"), ("00008_00.jpg", "00008_00.jpg")]
    messages = sorted(f.message for f in report.findings)
    assert [f.code for f in report.findings] == ["pair-list-invalid"] * 3
    assert messages == [
        "test_pairs.txt line 2: '../../../etc/passwd' holds a folder; a pair names files inside image/ and cloth/",
        "test_pairs.txt line 3: '../cloth/00008_00.jpg' holds a folder; a pair names files inside image/ and cloth/",
        "test_pairs.txt: starts with a UTF-8 byte-order mark, which the official loaders read as part of the first "
        "person's name; save the file as UTF-8 without BOM",
    ]


def test_a_pair_name_with_a_nul_byte_is_a_finding_not_a_crash(genuine: Path, tmp_path: Path) -> None:
    """A NUL in a pair list used to reach os.stat and stop `validate` with "embedded null byte"."""
    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    with (target / "test_pairs.txt").open("ab") as pairs:
        pairs.write(b"00006\x00_00.jpg 00006_00.jpg\n")
    report = validate(target)
    invalid = [f.message for f in report.findings if f.code == "pair-list-invalid"]
    assert len(invalid) == 1 and "holds a control character" in invalid[0], invalid
    assert report.samples["test"] == ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]


def test_a_file_name_that_is_not_utf8_is_a_finding_and_left_out(genuine: Path, tmp_path: Path) -> None:
    """A photo named with a Latin-1 byte (b"bad\\xff.jpg") used to crash `validate` writing its JSON
    report and `table` writing Parquet (UnicodeEncodeError: surrogates not allowed)."""
    import os

    from vtonkit.datasets.table import write_table

    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    name = os.fsdecode(b"bad\xff.jpg")
    for folder in ("image", "cloth"):
        shutil.copy(target / "test" / folder / "00006_00.jpg", target / "test" / folder / name)
    report = validate(target)
    found = [(f.code, f.file, f.message) for f in report.findings if f.code == "name-not-utf8"]
    assert found == [("name-not-utf8", f"{folder}/bad\\xff.jpg",
                      f"{folder}/bad\\xff.jpg: the file name is not UTF-8, so no pair list can name it; rename it")
                     for folder in ("cloth", "image")]
    assert report.samples["test"] == ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]
    report.write_json(tmp_path / "report.json")
    assert "name-not-utf8" in (tmp_path / "report.json").read_text(encoding="utf-8")
    assert write_table(target, tmp_path / "table.parquet") == 8
    assert sorted(pd.read_parquet(tmp_path / "table.parquet")["sample"])[:2] == ["00000_00", "00001_00"]


def test_photos_that_are_no_jpg_names_are_a_warning(genuine: Path, tmp_path: Path) -> None:
    """`a.JPG` or `a.jpeg` in image/ was silently no sample (validate counted 4 persons of 5)."""
    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    (target / "test" / "image" / "00006_00.jpg").rename(target / "test" / "image" / "00006_00.JPG")
    shutil.copy(target / "test" / "cloth" / "00008_00.jpg", target / "test" / "cloth" / "extra.jpeg")
    report = validate(target)
    found = sorted((f.code, f.file) for f in report.findings if f.code == "name-not-jpg")
    assert found == [("name-not-jpg", "cloth/extra.jpeg"), ("name-not-jpg", "image/00006_00.JPG")]
    assert all(f.severity == "warning" for f in report.findings if f.code == "name-not-jpg")


def test_an_exif_orientation_tag_on_a_dataset_photo_is_a_warning(genuine: Path, tmp_path: Path) -> None:
    """A person photo saved with EXIF orientation 6 passed: PIL (the loaders) reads it as stored, OpenCV
    and viewers turn it, so the reviewer saw another picture than the one that trains."""
    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    photo = target / "test" / "image" / "00006_00.jpg"
    with Image.open(photo) as image:
        exif = image.getexif()
        exif[0x0112] = 6
        pixels = image.copy()
    pixels.save(photo, quality=95, exif=exif)
    report = validate(target)
    found = [(f.code, f.sample, f.severity) for f in report.findings]
    assert found == [("exif-orientation", "00006_00", "warning")], [f.message for f in report.findings]


def _defective(genuine: Path, target: Path) -> dict[tuple[str, str, str], str]:
    """Copy `genuine` and inject one defect per entry; returns {(split, sample, code): what}."""
    shutil.copytree(genuine, target)
    test, train = target / "test", target / "train"
    # 1. missing cloth mask of a person's own garment
    (test / "cloth-mask/00006_00.jpg").unlink()
    # 2. wrong size
    Image.open(test / "image/00008_00.jpg").resize((600, 800)).save(test / "image/00008_00.jpg", quality=95)
    # 3. greyscale parse with out-of-range ids
    parse = np.array(Image.open(test / "image-parse-v3/00013_00.png"))
    parse[parse == 2] = 30
    Image.fromarray(parse, "L").save(test / "image-parse-v3/00013_00.png")
    # 4. COCO-18 keypoints in the BODY_25 file
    body = read_keypoints(test / "openpose_json/00017_00_keypoints.json")
    coco = body[COCO18_TO_BODY25].reshape(-1).tolist()
    (test / "openpose_json/00017_00_keypoints.json").write_text(
        json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": coco}]})
    )
    # 5. left/right arm labels swapped
    parse = np.array(Image.open(train / "image-parse-v3/00001_00.png"))
    swapped = parse.copy()
    swapped[parse == 14], swapped[parse == 15] = 15, 14
    image = Image.fromarray(swapped, "P")
    image.putpalette(Image.open(train / "image-parse-v3/00001_00.png").getpalette())
    image.save(train / "image-parse-v3/00001_00.png")
    # 6. the same garment in train and test (re-encoded, so only the perceptual hash can tell)
    Image.open(train / "cloth/00002_00.jpg").save(test / "cloth/00034_00.jpg", quality=88)
    shutil.copy(train / "cloth-mask/00002_00.jpg", test / "cloth-mask/00034_00.jpg")
    # 7. a pair naming a cloth that does not exist
    with open(target / "train_pairs.txt", "a") as handle:
        handle.write("00002_00.jpg 99999_00.jpg\n")
    # 8. garbage parse-agnostic (nothing removed) and an agnostic image that is the plain photo
    shutil.copy(train / "image-parse-v3/00000_00.png", train / "image-parse-agnostic-v3.2/00000_00.png")
    shutil.copy(train / "image/00002_00.jpg", train / "agnostic-v3.2/00002_00.jpg")
    # 9. RGBA skeleton, a PNG saved under a .jpg name, a soft (non-binary) cloth mask
    Image.open(test / "openpose_img/00034_00_rendered.png").convert("RGBA").save(
        test / "openpose_img/00034_00_rendered.png"
    )
    Image.open(test / "image-densepose/00013_00.jpg").save(
        test / "image-densepose/00013_00.jpg", format="PNG"
    )
    soft = np.array(Image.open(train / "cloth-mask/00000_00.jpg"), dtype=np.float64)
    Image.fromarray((soft * 0.5 + 60).astype(np.uint8), "L").save(
        train / "cloth-mask/00000_00.jpg", quality=95
    )
    # 10. a blank line in a pair list, a duplicate line
    with open(target / "test_pairs.txt", "a") as handle:
        handle.write("\n00006_00.jpg 00008_00.jpg\n")
    return {
        ("test", "00006_00", "missing-file"): "missing cloth mask",
        ("test", "00008_00", "wrong-size"): "600x800 image",
        ("test", "00013_00", "parse-ids-out-of-range"): "L parse with id 30",
        ("test", "00017_00", "keypoints-not-body25"): "COCO-18 json",
        ("train", "00001_00", "arm-labels-swapped"): "14 <-> 15",
        ("test", "00034_00", "leakage"): "train garment re-encoded into test",
        ("train", "00002_00", "pair-missing-cloth"): "pair names 99999_00.jpg",
        ("train", "00000_00", "agnostic-mismatch"): "parse-agnostic = parse",
        ("train", "00002_00", "agnostic-mismatch"): "agnostic = photo",
        ("test", "00034_00", "wrong-mode"): "RGBA skeleton",
        ("test", "00013_00", "wrong-file-type"): "PNG bytes in .jpg",
        ("train", "00000_00", "mask-not-binary"): "soft mask",
        ("test", "", "pair-list-invalid"): "blank line",
        ("test", "00006_00", "pair-duplicate"): "repeated line",
    }


@pytest.fixture(scope="module")
def defective(genuine: Path, tmp_path_factory) -> tuple[Path, dict]:
    target = tmp_path_factory.mktemp("defective") / "ds"
    return target, _defective(genuine, target)


def test_every_injected_defect_is_flagged_with_its_code(defective) -> None:
    root, expected = defective
    report = validate(root)
    found = {(f.split, f.sample, f.code) for f in report.findings}
    missed = {key: what for key, what in expected.items() if key not in found}
    assert not missed, f"not flagged: {missed}"
    by_key = {(f.split, f.sample, f.code): f for f in report.findings}
    assert "cloth-mask/00006_00.jpg" in by_key[("test", "00006_00", "missing-file")].file
    assert "expected body25" in by_key[("test", "00017_00", "keypoints-not-body25")].message
    assert "train/cloth/00002_00.jpg" in by_key[("test", "00034_00", "leakage")].message
    assert by_key[("train", "00001_00", "arm-labels-swapped")].severity == "warning"
    assert report.exit_code() == 1
    # The samples nobody touched in a defect's file stay free of that defect's code.
    assert ("test", "00008_00", "keypoints-not-body25") not in found
    assert not any(f.code == "arm-labels-swapped" and f.sample != "00001_00" for f in report.findings)


def test_name_leakage_and_exact_duplicate(genuine: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    shutil.copy(root / "train/image/00000_00.jpg", root / "train/image/00000_00_copy.jpg")
    # same garment name in both splits
    shutil.copy(root / "test/cloth/00006_00.jpg", root / "train/cloth/00006_00.jpg")
    report = validate(root, category=None)
    codes = {(f.split, f.sample, f.code) for f in report.findings}
    assert ("train", "00000_00_copy", "duplicate") in codes
    assert ("test", "00006_00", "leakage") in codes
    dup = next(f for f in report.findings if f.code == "duplicate")
    assert "identical file (sha256)" in dup.message


def test_several_persons_blur_exposure_and_greyscale_flags(genuine: Path, tmp_path: Path) -> None:
    from PIL import ImageEnhance, ImageFilter

    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    path = root / "test/openpose_json/00006_00_keypoints.json"
    data = json.loads(path.read_text())
    data["people"].append(data["people"][0])
    path.write_text(json.dumps(data))
    image = root / "test/image/00017_00.jpg"
    Image.open(image).filter(ImageFilter.GaussianBlur(6)).save(image, quality=95)
    def retake(stem: str, change) -> None:  # the photo taken otherwise, and its agnostic image made from it
        photo = root / f"test/image/{stem}.jpg"
        change(Image.open(photo)).save(photo, quality=95)
        agnostic = root / f"test/agnostic-v3.2/{stem}.jpg"  # the same photo, grey where masked
        masked = np.asarray(Image.open(root / f"test/agnostic-mask/{stem}_mask.png").convert("L"))[..., None] > 127
        Image.fromarray(np.where(masked, np.asarray(Image.open(agnostic)), np.asarray(Image.open(photo)))).save(agnostic)

    retake("00034_00", lambda im: ImageEnhance.Brightness(im).enhance(0.35))  # dim light: dark, not blurred
    retake("00008_00", lambda im: im.convert("L").convert("RGB"))  # black and white
    report = validate(root, ["test"], duplicates=False)
    codes = {(f.sample, f.code) for f in report.findings}
    assert codes == {("00006_00", "several-persons"), ("00017_00", "blurry"), ("00034_00", "person-underexposed"),
                     ("00008_00", "person-greyscale")}
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1  # warnings only
    runner = CliRunner()
    args = ["validate", str(root), "--split", "test", "--workers", "1", "--json", str(tmp_path / "r.json")]
    assert runner.invoke(app, args).exit_code == 0
    assert runner.invoke(app, [*args, "--strict"]).exit_code == 1


def test_cli_writes_json_and_parquet_and_exit_codes(genuine: Path, defective, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["validate", str(genuine), "--json", str(tmp_path / "ok.json"), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    root, expected = defective
    out_json, out_parquet = tmp_path / "bad.json", tmp_path / "bad.parquet"
    result = runner.invoke(
        app, ["validate", str(root), "--json", str(out_json), "--parquet", str(out_parquet), "--workers", "1"]
    )
    assert result.exit_code == 1, result.output
    data = json.loads(out_json.read_text())
    assert data["summary"]["errors"] > 0 and data["findings"][0]["code"]
    table = pd.read_parquet(out_parquet)
    assert list(table.columns) == ["split", "sample", "check", "status", "code", "file", "message"]
    assert ((table["sample"] == "00017_00") & (table["code"] == "keypoints-not-body25")).any()
    assert (table["status"] == "ok").any()  # passed checks are rows too
    assert Report.read_json(out_json).counts() == Report.from_dict(data).counts()
    # `review` reads the copy kept inside the dataset
    assert Report.read_json(root / ".vtonkit/validate.json").counts() == Report.from_dict(data).counts()


def test_unreadable_file_does_not_stop_the_run(genuine: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    (root / "test/cloth/00008_00.jpg").write_bytes(b"\xff\xd8 truncated")
    (root / "test/openpose_json/00013_00_keypoints.json").write_text("{not json")
    report = validate(root, ["test"], duplicates=False)
    codes = {(f.sample, f.code) for f in report.findings}
    assert ("00008_00", "wrong-file-type") in codes
    assert ("00013_00", "keypoints-invalid") in codes
    assert report.samples["test"] == ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]


def test_report_round_trip_bytes(genuine_report: Report) -> None:
    buffer = io.StringIO(json.dumps(genuine_report.to_dict()))
    assert Report.from_dict(json.load(buffer)).samples == genuine_report.samples


def test_worker_processes_give_the_same_report(defective) -> None:
    root, _ = defective
    inline, pooled = validate(root, ["test"]), validate(root, ["test"], workers=2)
    assert sorted(map(repr, pooled.findings)) == sorted(map(repr, inline.findings))
    assert pooled.checks_run == inline.checks_run


def test_every_code_is_documented() -> None:
    from vtonkit.datasets.findings import CODES

    docs = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
    undocumented = [code for code in CODES if f"| `{code}` |" not in docs]
    assert undocumented == [], f"add a row '| `code` | severity | check family | meaning |' to docs/validation.md for {undocumented}"


def test_a_finding_of_an_unknown_code_says_where_codes_are_declared() -> None:
    """A new check whose code was not declared died on a bare KeyError: 'its-code'."""
    from vtonkit.datasets.findings import finding

    with pytest.raises(ValueError, match="unknown finding code 'cloth-mask-at-border': .* CODES in datasets/findings.py"):
        finding("cloth-mask-at-border", "test", "00001_00", "cloth/00001_00.jpg", "touches the border")


def test_near_duplicates_real_images_and_many_hashes(vitonhd: Path) -> None:
    """A resized, re-encoded garment is a near duplicate; different garments are not, among thousands."""
    from vtonkit.datasets.duplicates import (
        HashedImage,
        colour_signature,
        find_duplicates,
        hash_image,
        perceptual_bits,
    )

    cloth = vitonhd / "train/cloth/00000_00.jpg"
    original = hash_image("cloth", "train", "00000_00", cloth)
    buffer = io.BytesIO()
    Image.open(cloth).resize((600, 800)).save(buffer, format="JPEG", quality=70)
    copy = HashedImage(
        "cloth", "test", "copy", Path("copy.jpg"), "other", perceptual_bits(Image.open(buffer)),
        colour_signature(Image.open(buffer)),
    )
    others = [
        hash_image("cloth", split, path.stem, path)
        for split in ("train", "test")
        for path in sorted((vitonhd / split / "cloth").glob("*.jpg"))
        if path != cloth
    ]
    rng = np.random.default_rng(0)  # random 512-bit hashes: ~128 bits from anything, never near
    noise = [
        HashedImage("cloth", "train", f"r{i}", Path(f"r{i}"), f"r{i}", rng.random(512) > 0.5, original.colour)
        for i in range(3000)
    ]
    pairs = find_duplicates([original, *others, *noise, copy])
    assert [(p.first.stem, p.second.stem, p.exact, p.cross_split) for p in pairs] == [
        ("00000_00", "copy", False, True)
    ]


def test_colour_variants_of_one_cut_are_not_near_duplicates(vitonhd: Path) -> None:
    """Same shape, other colour (a catalog's colour variants): grey hashes agree, colours do not."""
    from vtonkit.datasets.duplicates import HashedImage, colour_signature, find_duplicates, perceptual_bits

    cloth = Image.open(vitonhd / "train/cloth/00000_00.jpg").convert("RGB")
    recoloured = Image.fromarray(np.asarray(cloth)[..., ::-1].copy())  # same structure, other colours
    bits = perceptual_bits(cloth)  # identical grey hashes: only the colour can tell them apart

    def item(name: str, image: Image.Image) -> HashedImage:
        return HashedImage("cloth", "test", name, Path(name), name, bits, colour_signature(image))

    assert find_duplicates([item("a", cloth), item("b", recoloured)]) == []
    assert len(find_duplicates([item("a", cloth), item("c", cloth)])) == 1


def test_agnostic_check_follows_the_category(genuine: Path) -> None:
    """The VITON-HD files are upper-body agnostics: checked as lower-body ones they all disagree (and
    their photos, cut above the knee, lack the legs a lower-body try-on needs)."""
    report = validate(genuine, ["test"], category="lower", duplicates=False)
    mismatched = {f.sample for f in report.findings if f.code == "agnostic-mismatch"}
    assert mismatched == set(report.samples["test"])
    assert {f.code for f in report.findings} == {"agnostic-mismatch", "legs-cut-off"}
    assert not [f for f in validate(genuine, ["test"], duplicates=False).findings if f.code == "legs-cut-off"]


def test_quality_flags_fire_on_injected_problems(genuine: Path, tmp_path: Path) -> None:
    """Each remaining quality flag on a copy of a genuine sample (warnings only: exit code 0)."""
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    test = root / "test"

    def edit_mask(stem: str, edit) -> None:
        path = test / f"cloth-mask/{stem}.jpg"
        mask = np.array(Image.open(path))
        edit(mask)
        Image.fromarray(mask, "L").save(path, quality=95)

    def holes(mask):  # two black squares inside the garment
        ys, xs = np.nonzero(mask > 128)
        cy, cx = int(ys.mean()), int(xs.mean())
        mask[cy - 80 : cy + 80, cx - 80 : cx + 80] = 0

    def pieces(mask):  # three separate pieces
        mask[:, 300:320] = 0
        mask[:, 450:470] = 0

    def tiny(mask):  # a sliver only
        mask[:] = 0
        mask[500:540, 380:420] = 255

    edit_mask("00006_00", holes)
    edit_mask("00008_00", pieces)
    edit_mask("00013_00", tiny)
    cloth = np.array(Image.open(test / "cloth/00017_00.jpg"))
    cloth[:40] = np.random.default_rng(0).integers(0, 255, cloth[:40].shape, dtype=np.uint8)
    Image.fromarray(cloth).save(test / "cloth/00017_00.jpg", quality=95)
    parse_path = test / "image-parse-v3/00034_00.png"
    parse_image = Image.open(parse_path)
    parse = np.array(parse_image)
    small = np.zeros_like(parse)
    small[:400] = np.array(Image.fromarray(parse).resize((parse.shape[1], 400), Image.NEAREST))
    small[100:160, :60] = 13  # and a face cut by the left edge (the top edge cuts Dress Code's faces: no cut-off)
    out = Image.fromarray(small, "P")
    out.putpalette(parse_image.getpalette())
    out.save(parse_path)
    keypoints = test / "openpose_json/00034_00_keypoints.json"
    data = json.loads(keypoints.read_text())
    flat = data["people"][0]["pose_keypoints_2d"]
    data["people"][0]["pose_keypoints_2d"] = [v * 0.1 if i % 3 == 2 else v for i, v in enumerate(flat)]
    keypoints.write_text(json.dumps(data))

    report = validate(root, ["test"], category=None, duplicates=False)
    found = {(f.sample, f.code) for f in report.findings}
    assert {
        ("00006_00", "mask-holes"),
        ("00008_00", "mask-components"),
        ("00013_00", "mask-area"),
        ("00017_00", "cloth-background"),
        ("00034_00", "person-too-small"),
        ("00034_00", "person-cut-off"),
        ("00034_00", "pose-low-confidence"),
    } <= found
    assert report.errors == [] and report.exit_code() == 0


def test_swapped_cloth_masks_are_flagged(genuine: Path, tmp_path: Path) -> None:
    """Two garments' masks exchanged pass every file and shape check (both are clean garment
    silhouettes): only the mask against its own garment's outline gives them away."""
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    masks = root / "test/cloth-mask"
    first, second = (masks / "00006_00.jpg").read_bytes(), (masks / "00013_00.jpg").read_bytes()
    (masks / "00006_00.jpg").write_bytes(second)
    (masks / "00013_00.jpg").write_bytes(first)
    report = validate(root, ["test"], category=None, duplicates=False)
    flagged = [f for f in report.findings if f.code == "mask-mismatch"]
    assert {f.sample for f in flagged} == {"00006_00", "00013_00"}
    assert all(f.severity == "warning" and f.file.startswith("test/cloth-mask/") and "IoU 0." in f.message
               for f in flagged)
    assert report.exit_code() == 0


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"people": [{"pose_keypoints_2d": [1.0] * 54}]}, "keypoints-not-body25"),  # COCO-18
        ({"people": [{"pose_keypoints_2d": [1.0] * 45}]}, "keypoints-not-body25"),  # MPI-15
        ({"keypoints": [[10.0, 20.0, 0.9, i] for i in range(18)]}, "keypoints-not-body25"),  # Dress Code
        ({"people": []}, "keypoints-invalid"),
        ({"version": 1.3}, "keypoints-invalid"),
        ({"people": [{"pose_keypoints_2d": [1.0] * 75}]}, None),
    ],
)
def test_keypoint_file_codes(tmp_path: Path, document: dict, code: str | None) -> None:
    from vtonkit.datasets.file_checks import check_keypoint_file

    path = tmp_path / "x_keypoints.json"
    path.write_text(json.dumps(document))
    findings, body25, _ = check_keypoint_file(path, "test", "x", path.name)
    assert [f.code for f in findings] == ([code] if code else [])
    assert (body25 is None) == (code is not None)


def test_test_only_dataset_and_recorded_placeholders(genuine: Path, tmp_path: Path) -> None:
    """A test-only dataset is complete; a requested missing split is an error; recorded
    placeholder own-garments (copies written by `vtonkit pairs`) are not reported as duplicates."""
    from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest

    root = tmp_path / "test_only"
    shutil.copytree(genuine / "test", root / "test")
    shutil.copy(genuine / "test_pairs.txt", root / "test_pairs.txt")
    test = root / "test"
    for folder in ("cloth", "cloth-mask"):  # 00006_00's own garment becomes a copy of 00008_00's
        shutil.copy(test / folder / "00008_00.jpg", test / folder / "00006_00.jpg")
    report = validate(root, duplicates=True, category=None)
    assert report.splits == ["test"]
    assert {f.code for f in report.findings} == {"duplicate"}
    manifest = Manifest.load(root)
    manifest.entries("test", PLACEHOLDERS)["00006_00"] = {"copied_from": "00008_00", "reason": "test"}
    manifest.save()
    assert validate(root, category=None).findings == []
    assert [f.code for f in validate(root, ["train"], category=None).findings] == ["missing-split"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [f.code for f in validate(empty).findings] == ["missing-split"]


def test_cli_accepts_one_split_folder(genuine: Path, tmp_path: Path) -> None:
    """`vtonkit validate DATASET/test` checks that split alone and names the missing file."""
    root = tmp_path / "one_split"
    shutil.copytree(genuine / "test", root / "test")
    shutil.copy(genuine / "test_pairs.txt", root / "test_pairs.txt")
    (root / "test" / "cloth-mask" / "00034_00.jpg").unlink()
    result = CliRunner().invoke(app, ["validate", str(root / "test"), "--category", "none", "--workers", "1"])
    assert result.exit_code == 1
    report = json.loads((root / ".vtonkit" / "validate.json").read_text())
    assert report["splits"] == ["test"]
    found = {(f["code"], f["file"]) for f in report["findings"]}
    assert found == {("missing-file", "test/cloth-mask/00034_00.jpg"), ("pair-missing-cloth", "test_pairs.txt")}


def test_pair_names_must_be_jpg_file_names_a_file_system_can_hold() -> None:
    """A name without .jpg passed `read_pairs` (infer then looked for image/00006_00.png.jpg, "# comment"
    became a pair), and a 300-byte name reached os.stat ("File name too long", a validate traceback)."""
    from vtonkit.datasets.pairs import pair_of

    assert pair_of("00006_00.jpg 00008_00.jpg") == ("00006_00.jpg", "00008_00.jpg")
    for line, problem in [("00006_00.png 00008_00.jpg", "is no .jpg file name"),
                          ("# comment", "is no .jpg file name"),
                          (f"{'a' * 300}.jpg 00006_00.jpg", "longer than a file name may be"),
                          (f"{'a' * 241}.jpg 00006_00.jpg", "longer than a file name may be")]:  # its _keypoints.json: 256
        with pytest.raises(ValueError, match=problem):
            pair_of(line)
    assert pair_of(f"{'a' * 240}.jpg 00006_00.jpg")[0] == f"{'a' * 240}.jpg"


def test_huge_or_odd_keypoints_are_findings_and_the_run_goes_on(genuine: Path, tmp_path: Path) -> None:
    """An x of 3e9 crashed the agnostic drawing, deep nesting the JSON parser: each is one finding."""
    root = tmp_path / "ds"
    shutil.copytree(genuine / "test", root / "test")
    shutil.copy(genuine / "test_pairs.txt", root / "test_pairs.txt")
    pose = root / "test" / "openpose_json"
    doc = json.loads((pose / "00006_00_keypoints.json").read_text())
    doc["people"][0]["pose_keypoints_2d"][6] = 3e9
    (pose / "00006_00_keypoints.json").write_text(json.dumps(doc))
    (pose / "00008_00_keypoints.json").write_text("[" * 100_000 + "]" * 100_000)
    doc["people"][0]["pose_keypoints_2d"] = [str(v) for v in doc["people"][0]["pose_keypoints_2d"][:6]] + \
        doc["people"][0]["pose_keypoints_2d"][6:]
    doc["people"][0]["pose_keypoints_2d"][6] = 300.0
    (pose / "00013_00_keypoints.json").write_text(json.dumps(doc))
    report = validate(root, ["test"], duplicates=False, workers=1)
    found = {(f.sample, f.code) for f in report.findings}
    assert found == {("00006_00", "keypoints-invalid"), ("00008_00", "keypoints-invalid"),
                     ("00013_00", "keypoints-invalid")}, [f.message for f in report.findings]
    assert all("openpose_json/" in f.message for f in report.findings)
    assert ("test", "00017_00", "agnostic") in report.checks_run  # the other samples carried on


def _rename_sample(split_dir: Path, pairs: Path, old: str, new: str) -> None:
    for path in list(split_dir.rglob(f"{old}*")):
        path.rename(path.with_name(path.name.replace(old, new)))
    pairs.write_text(pairs.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_pair_names_lose_only_the_jpg_suffix_as_in_the_official_loader(genuine: Path, tmp_path: Path) -> None:
    """`a.b.jpg` is sample `a.b` (the loader's name.replace('.jpg', ...)), not `a`; `00006_00.x.jpg`
    names a file that does not exist even though `00006_00.jpg` does."""
    from vtonkit.datasets.importers.vitonhd import import_vitonhd
    from vtonkit.datasets.layout import stem_of
    from vtonkit.datasets.pairs import pair_of

    assert stem_of("00891_00.jpg") == "00891_00" and stem_of("a.b.jpg") == "a.b"
    with pytest.raises(ValueError, match="'.jpg' before its end"):
        pair_of("a.jpg.jpg 00008_00.jpg")
    root = tmp_path / "dotted"
    shutil.copytree(genuine / "test", root / "test")
    shutil.copy(genuine / "test_pairs.txt", root / "test_pairs.txt")
    _rename_sample(root / "test", root / "test_pairs.txt", "00006_00", "a.b")
    report = validate(root, ["test"], duplicates=False, workers=1)
    assert report.findings == [], [f.message for f in report.findings]
    assert "a.b" in report.samples["test"]
    imported = import_vitonhd(root, tmp_path / "imported", progress=False)
    assert imported.failures == []
    # every line kept, the a.b ones included (they were dropped without a word)
    assert (tmp_path / "imported" / "test_pairs.txt").read_text() == (root / "test_pairs.txt").read_text()
    assert "a.b.jpg" in (root / "test_pairs.txt").read_text()

    (root / "test_pairs.txt").write_text("00008_00.x.jpg 00013_00.jpg\n")
    report = validate(root, ["test"], duplicates=False, category=None, workers=1)
    assert "test_pairs.txt line 1: image/00008_00.x.jpg does not exist" in [f.message for f in report.findings]


@pytest.mark.parametrize(("encoding", "reason"), [("utf-16", "UTF-16 text"), ("latin-1", "not UTF-8 text")])
def test_a_pair_list_that_is_not_utf8_is_one_finding(genuine: Path, tmp_path: Path, encoding: str,
                                                     reason: str) -> None:
    """Decoded anyway, a UTF-16 list showed names full of NULs; say what read_pairs says instead."""
    root = tmp_path / "ds"
    shutil.copytree(genuine / "test", root / "test")
    text = (genuine / "test_pairs.txt").read_text() + "café.jpg café.jpg\n"
    (root / "test_pairs.txt").write_bytes(text.encode(encoding))
    report = validate(root, ["test"], duplicates=False, category=None, workers=1)
    assert [(f.code, f.file) for f in report.findings] == [("pair-list-invalid", "test_pairs.txt")]
    assert reason in report.findings[0].message and "\x00" not in report.findings[0].message


def test_a_pose_the_agnostic_recipe_cannot_use_is_a_warning_not_a_silent_pass(genuine: Path, tmp_path: Path) -> None:
    """Both hips on one point: the recipe cannot run, so the stored agnostic files (here replaced by
    the photo itself) go unchecked; validate says so instead of calling the sample clean."""
    root = tmp_path / "ds"
    shutil.copytree(genuine / "test", root / "test")
    shutil.copy(genuine / "test_pairs.txt", root / "test_pairs.txt")
    keypoints = root / "test" / "openpose_json" / "00006_00_keypoints.json"
    doc = json.loads(keypoints.read_text())
    joints = doc["people"][0]["pose_keypoints_2d"]
    joints[12 * 3: 12 * 3 + 2] = joints[9 * 3: 9 * 3 + 2]
    keypoints.write_text(json.dumps(doc))
    shutil.copy(root / "test" / "image" / "00006_00.jpg", root / "test" / "agnostic-v3.2" / "00006_00.jpg")
    report = validate(root, ["test"], duplicates=False, workers=1)
    unchecked = [f for f in report.findings if f.code == "agnostic-unchecked"]
    assert [(f.sample, f.severity) for f in unchecked] == [("00006_00", "warning")], [f.message for f in report.findings]
    assert "openpose_json/00006_00_keypoints.json" in unchecked[0].message


def test_an_animated_png_is_a_warning_naming_the_file(genuine: Path, tmp_path: Path) -> None:
    """An animated PNG skeleton passes type, size and mode: the loaders read its first frame and drop
    the rest silently, so validate says so (a warning), and still checks the file as usual."""
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    skeleton = root / "test/openpose_img/00006_00_rendered.png"
    first = Image.open(skeleton).convert("RGB")
    first.save(skeleton, format="PNG", save_all=True, append_images=[Image.new("RGB", first.size)])
    assert Image.open(skeleton).n_frames == 2
    report = validate(root, ["test"], duplicates=False)
    found = [f for f in report.findings if f.file.endswith("00006_00_rendered.png")]
    assert [(f.severity, f.code) for f in found] == [("warning", "multi-frame")], found
    assert "2 frames" in found[0].message and "first one only" in found[0].message
    assert not report.errors


def test_a_folder_or_link_loop_in_place_of_a_file_says_which(genuine: Path, tmp_path: Path) -> None:
    """A missing file that is really a folder or a link loop: the finding says so, not only that the
    file is missing (a user looking at `ls` sees something there)."""
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    parse = root / "test/image-parse-v3/00006_00.png"
    parse.unlink()
    parse.mkdir()
    densepose = root / "test/image-densepose/00006_00.jpg"
    densepose.unlink()
    densepose.symlink_to(densepose)
    cloth = root / "test/cloth/00006_00.jpg"
    cloth.unlink()
    report = validate(root, ["test"], duplicates=False)
    messages = {f.file: f.message for f in report.findings if f.code == "missing-file"}
    assert messages["test/image-parse-v3/00006_00.png"].endswith("is missing: not a regular file (a folder)")
    assert messages["test/image-densepose/00006_00.jpg"].endswith("is missing: symbolic link loop")
    assert messages["test/cloth/00006_00.jpg"].startswith("test/cloth/00006_00.jpg is missing (the official")


def test_an_empty_pair_list_is_a_warning(genuine: Path, tmp_path: Path) -> None:
    """A pair list with nothing in it passed without a word; training or testing on it gives nothing."""
    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    (root / "test_pairs.txt").write_text("\n")
    report = validate(root, ["test"], duplicates=False)
    empty = [f for f in report.findings if f.code == "pair-list-empty"]
    assert [(f.severity, f.file, f.message) for f in empty] == [("warning", "test_pairs.txt", "test_pairs.txt: names no pair")]


@pytest.mark.parametrize(("args", "option", "suggested"), [
    (["validate", "{ds}", "--json", "{folder}"], "--json", "validate.json"),
    (["validate", "{ds}", "--parquet", "{folder}"], "--parquet", "validate.parquet"),
    (["review", "{ds}", "--static", "{folder}"], "--static", "review.html"),
    (["table", "{ds}", "--out", "{folder}"], "--out", "dataset.parquet"),
    (["pairs", "{ds}", "--split", "test", "--output", "{folder}"], "--output", "test_pairs.txt"),
    (["eval-prep", "--json", "{folder}"], "--json", "eval-prep.json"),
])
def test_a_folder_given_as_an_output_file_is_a_usage_error_before_any_work(
        vitonhd: Path, tmp_path: Path, args: list[str], option: str, suggested: str) -> None:
    """Before: table and review --static ended in a traceback from the atomic rename onto the folder."""
    dataset = copy_dataset(vitonhd, tmp_path / "ds")
    folder = tmp_path / "reports"
    folder.mkdir()
    argv = [a.format(ds=dataset, folder=folder) for a in args]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "400"})
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert f"Invalid value for {option}: {folder} is a folder; give a file name such as {folder / suggested}" in said
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list(folder.iterdir()) == [] and not (dataset / ".vtonkit" / "validate.json").exists()


def test_validate_on_a_folder_that_is_no_dataset_is_refused_and_leaves_nothing(genuine: Path, tmp_path: Path) -> None:
    """`vtonkit validate DATASET/test/image` reported missing splits and left a .vtonkit/ folder inside image/."""
    folder = tmp_path / "ds" / "test" / "image"
    shutil.copytree(genuine / "test" / "image", folder)
    result = CliRunner().invoke(app, ["validate", str(folder)])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "no train/ or test/ folder and no pair list here" in output, output
    assert not (folder / ".vtonkit").exists()


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"splits": {"test": null}}'])
def test_an_unreadable_dataset_manifest_does_not_stop_validate(genuine: Path, tmp_path: Path, caplog, text: str) -> None:
    """`.vtonkit/manifest.json` nested too deep for the JSON reader (a RecursionError traceback in
    validate, pairs, export and table) or of the wrong shape (a FormatError traceback in validate,
    which read it only for its placeholder garments): validate names it in a warning and checks every
    sample; `Manifest.load` says which file it cannot read."""
    from vtonkit.core.errors import FormatError
    from vtonkit.datasets.manifest import Manifest, manifest_path

    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    manifest_path(root).parent.mkdir(parents=True, exist_ok=True)
    manifest_path(root).write_text(text)
    with pytest.raises(FormatError, match="unreadable manifest"):
        Manifest.load(root)
    report = validate(root, ["test"])
    assert report.samples["test"] == ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]
    assert report.exit_code() == 0
    assert any(str(manifest_path(root)) in r.getMessage() for r in caplog.records)
    result = CliRunner().invoke(app, ["validate", str(root), "--split", "test", "--workers", "1"])
    assert result.exit_code == 0, result.output  # a traceback is exit code 1


@pytest.mark.parametrize("separator", ["\u2028", "\x85", "\x0c", "\x1e"])
def test_a_unicode_line_break_inside_a_pair_line_is_one_line_as_the_loader_reads_it(
        genuine: Path, tmp_path: Path, separator: str) -> None:
    """The official loaders read a pair list in text mode (lines end at \\n, \\r or \\r\\n only) and split
    each line on any whitespace: `a.jpg a.jpg<U+2028>b.jpg b.jpg` is one line of 4 names, a
    ValueError in HR-VITON. `str.splitlines` cut it in two, so validate passed it (exit 0)."""
    from vtonkit.core.errors import FormatError
    from vtonkit.datasets.pairs import read_pairs

    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    (root / "test_pairs.txt").write_text(f"00006_00.jpg 00006_00.jpg{separator}00008_00.jpg 00008_00.jpg\n",
                                         encoding="utf-8")
    report = validate(root, ["test"], duplicates=False, category=None)
    invalid = [f for f in report.findings if f.code == "pair-list-invalid"]
    assert len(invalid) == 1 and "line 1: 4 fields" in invalid[0].message, invalid
    with pytest.raises(FormatError, match="line 1: 4 fields"):
        read_pairs(root / "test_pairs.txt")


def test_the_summary_names_each_example_sample_once() -> None:
    """A sample whose person photo and garment both duplicate another's holds two `duplicate`
    findings: the table's examples read "test/00006_00, test/00006_00"."""
    from rich.console import Console
    from vtonkit.datasets.findings import Finding
    from vtonkit.datasets.summary import print_summary

    report = Report("ds", ["test"], samples={"test": ["00006_00", "00008_00"]})
    for stem, file in (("00006_00", "image/00006_00.jpg"), ("00006_00", "cloth/00006_00.jpg"),
                       ("00008_00", "image/00008_00.jpg")):
        report.add(Finding("warning", "duplicate", "test", stem, file, "same as another"))
    console = Console(file=io.StringIO(), width=200)
    print_summary(report, console)
    shown = console.file.getvalue()
    assert "test/00006_00, test/00008_00" in shown and "test/00006_00, test/00006_00" not in shown, shown


def test_a_photo_whose_name_no_pair_list_can_hold_is_a_warning(genuine: Path, tmp_path: Path) -> None:
    """`image/my sample.jpg` was listed by review, which then refused every tile and decision for it
    (a space splits a pair line), while validate said nothing about the name."""
    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    shutil.copy(target / "test" / "image" / "00006_00.jpg", target / "test" / "image" / "my sample.jpg")
    shutil.copy(target / "test" / "cloth" / "00006_00.jpg", target / "test" / "cloth" / "a.jpg.jpg")
    report = validate(target)
    found = sorted((f.code, f.sample, f.file, f.severity) for f in report.findings if f.code == "name-unlistable")
    assert found == [("name-unlistable", "", "cloth/a.jpg.jpg", "warning"),
                     ("name-unlistable", "my sample", "image/my sample.jpg", "warning")]


def test_a_photo_whose_name_the_review_app_refuses_is_a_warning(genuine: Path, tmp_path: Path) -> None:
    """`x+y&z` and `it's"q` passed validate, yet the review app, which serves files by name and takes
    letters, digits, '_', '-' and '.' only, showed broken tiles for them and refused every decision
    (so clean could never quarantine them). validate now says so; plain and accented names stay quiet."""
    from vtonkit.datasets.review.safe_paths import MAX_STEM, is_plain_name

    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    long_name = "long_" + "x" * 180 + "_end"  # plain characters, too long: the message said only characters
    for name in ("x+y&z", "it's\"q", "café_ü-2.v1", long_name):
        shutil.copy(target / "test" / "image" / "00006_00.jpg", target / "test" / "image" / f"{name}.jpg")
    report = validate(target)
    found = sorted((f.code, f.sample) for f in report.findings if f.code.startswith("name-"))
    assert found == [("name-unreviewable", "it's\"q"), ("name-unreviewable", long_name),
                     ("name-unreviewable", "x+y&z")]
    messages = {f.sample: f.message for f in report.findings if f.code == "name-unreviewable"}
    assert f"it is 189 characters long, more than {MAX_STEM}" in messages[long_name]
    assert "it holds '+'" in messages["x+y&z"]
    assert [is_plain_name(n, MAX_STEM) for n in ("x+y&z", "café_ü-2.v1")] == [False, True]  # the app's own rule


def test_a_placeholder_garment_is_not_flagged_again_on_its_person(genuine: Path, tmp_path: Path) -> None:
    """`vtonkit pairs` copies a person's first garment to cloth/<person>.jpg for the official test
    loader; validate flagged that copy's cloth-background and hanger on the person sample, repeating
    the garment's own flags (9 of 19 warnings of a probed dataset)."""
    from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest

    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    cloth = np.array(Image.open(target / "test" / "cloth" / "00006_00.jpg"))
    cloth[:40] = np.random.default_rng(0).integers(0, 255, cloth[:40].shape, dtype=np.uint8)
    Image.fromarray(cloth).save(target / "test" / "cloth" / "00006_00.jpg", quality=95)
    flagged = {(f.sample, f.code) for f in validate(target, ["test"], duplicates=False).findings}
    assert ("00006_00", "cloth-background") in flagged
    manifest = Manifest.load(target)
    manifest.entries("test", PLACEHOLDERS)["00006_00"] = {"copied_from": "00008_00", "own": True}
    manifest.save()
    flagged = {(f.sample, f.code) for f in validate(target, ["test"], duplicates=False).findings}
    assert ("00006_00", "cloth-background") not in flagged


def test_a_source_prepared_into_both_splits_is_leakage(genuine: Path, tmp_path: Path) -> None:
    """One source photo prepared into train and into test: prep re-crops it, so the two dataset files
    are no (near-)duplicates, and validate called the dataset clean while `pairs` refused it for the
    leak its manifest records."""
    from vtonkit.datasets.manifest import PERSONS, Manifest

    root = tmp_path / "ds"
    shutil.copytree(genuine, root)
    train_stem, test_stem = sorted(p.stem for p in (root / "train" / "image").glob("*.jpg"))[0], "00013_00"
    manifest = Manifest.load(root)
    manifest.entries("train", PERSONS)[train_stem] = {"sha256": "one-source", "category": "upper"}
    manifest.entries("test", PERSONS)[test_stem] = {"sha256": "one-source", "category": "upper"}
    manifest.save()
    leaks = [f for f in validate(root, duplicates=False).findings if f.code == "leakage"]
    assert [(f.split, f.sample, f.severity) for f in leaks] == [("test", test_stem, "error")]
    assert f"made from the same source file as train/image/{train_stem}.jpg" in leaks[0].message


def test_a_garment_no_pair_list_names_yet_is_checked_too(genuine: Path, tmp_path: Path) -> None:
    """A shop's garment shot on a dark background that no pair list named yet got no pre-flight flag
    from validate (only the pair-listed garments were checked), though `pairs` may pick it later."""
    target = tmp_path / "ds"
    shutil.copytree(genuine, target)
    cloth = np.array(Image.open(target / "test" / "cloth" / "00008_00.jpg"))
    mask = np.array(Image.open(target / "test" / "cloth-mask" / "00008_00.jpg")) >= 128
    cloth[~mask] = 30  # the same garment on a dark backdrop
    Image.fromarray(cloth).save(target / "test" / "cloth" / "shop_dark.jpg", quality=95)
    shutil.copy(target / "test" / "cloth-mask" / "00008_00.jpg", target / "test" / "cloth-mask" / "shop_dark.jpg")
    assert "shop_dark" not in (target / "test_pairs.txt").read_text()
    flagged = {(f.file, f.code) for f in validate(target, ["test"], duplicates=False).findings}
    assert ("test/cloth/shop_dark.jpg", "cloth-background") in flagged, flagged


def test_a_person_in_a_garment_of_another_category_is_flagged(tmp_path: Path) -> None:
    """A person in a dress among lower-body samples (the lower agnostic takes the whole dress, torso
    too, and a model learns trousers on it) passed prep and validate without a word. The real Dress
    Code lower-body and dress imports raise no such flag; a dress person's parse among the lower-body
    ones and a lower-body person's among the dresses do."""
    from vtonkit.datasets.importers.dresscode import import_dresscode

    from tests.conftest import shared_path

    roots = {}
    for category, folder in (("lower", "lower_body"), ("dresses", "dresses")):
        roots[category] = tmp_path / category
        assert import_dresscode(shared_path("data", "dresscode", folder), roots[category], category=category,
                                progress=False).converted
    for category, root in roots.items():
        codes = {f.code for f in validate(root, category=category).findings}
        assert "worn-garment-not-category" not in codes, (category, codes)
    for category, other in (("lower", "dresses"), ("dresses", "lower")):
        target = sorted(roots[category].glob("*/image-parse-v3/*.png"))[0]
        shutil.copy(sorted(roots[other].glob("*/image-parse-v3/*.png"))[-1], target)  # not the one replaced
        flagged = [f for f in validate(roots[category], category=category).findings
                   if f.code == "worn-garment-not-category"]
        assert [f.sample for f in flagged] == [target.stem], (category, flagged)
        assert ("wears a dress" if category == "lower" else "no dress") in flagged[0].message


def test_prep_warns_of_a_dress_photo_prepared_as_lower_body(tmp_path: Path) -> None:
    """The same rule in prep: a photo of a person in a dress prepared with --category lower."""
    import subprocess
    import sys

    from tests.conftest import shared_path

    photo = shared_path("data", "photos", "persons", "053514_0.jpg")
    run = subprocess.run([sys.executable, "-m", "vtonkit", "prep-person", str(photo), "--category", "lower", "--out",
                          str(tmp_path / "ds" / "test")], capture_output=True, text=True, timeout=600, check=False)
    said = " ".join((run.stdout + run.stderr).split())
    assert "worn-garment-not-category: the person wears a dress" in said, said[-2000:]
