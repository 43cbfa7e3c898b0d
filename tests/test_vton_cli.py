"""`vtonkit infer --method warp` and `vtonkit sheet` as a user runs them, on real VITON-HD samples."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vtonkit.cli import app

PAIRS = [("00013_00", "00017_00"), ("00006_00", "00008_00"), ("00034_00", "00006_00")]


def make_dataset(vitonhd: Path, root: Path, pairs: list[tuple[str, str]]) -> Path:
    (root / "test").mkdir(parents=True)
    for folder in (vitonhd / "test").iterdir():
        (root / "test" / folder.name).symlink_to(folder, target_is_directory=True)
    (root / "test_pairs.txt").write_text("".join(f"{p}.jpg {c}.jpg\n" for p, c in pairs))
    return root


def dataset_with_an_incomplete_person(vitonhd: Path, root: Path) -> Path:
    """`make_dataset` of PAIRS plus person 99999_00: a photo, but no parse, pose or agnostic."""
    import shutil

    dataset = make_dataset(vitonhd, root, PAIRS)
    images = dataset / "test" / "image"
    images.unlink()
    shutil.copytree(vitonhd / "test" / "image", images)
    shutil.copy(images / "00013_00.jpg", images / "99999_00.jpg")
    return dataset


def test_warp_baseline_writes_labelled_pngs_in_order_and_skips_a_bad_pair(vitonhd: Path, tmp_path: Path) -> None:
    pairs = PAIRS + [("99999_00", "00008_00")]  # a person that does not exist
    dataset = make_dataset(vitonhd, tmp_path / "ds", pairs)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["infer", str(dataset), "--pairs", "test_pairs.txt", "--out", str(out),
                                      "--method", "warp", "--batch-size", "2", "--grids"])
    assert result.exit_code == 1, result.output  # one pair failed, the others were written
    assert "3/4 pairs written" in result.output and "99999_00" in result.output
    assert "BASELINE" in result.output
    for person, cloth in PAIRS:
        png = Image.open(out / f"{person}_{cloth}.png")
        assert png.format == "PNG" and png.size == (768, 1024) and png.mode == "RGB"
        assert "baseline" in png.text["vtonkit-method"]
        grid = Image.open(out / "grid" / f"{person}_{cloth}.png")
        assert grid.format == "PNG" and "baseline" in grid.text["vtonkit-method"]
    # the garment region of the person changed, the face (top rows) did not
    person = np.asarray(Image.open(vitonhd / "test/image/00013_00.jpg")).astype(int)
    tried = np.asarray(Image.open(out / "00013_00_00017_00.png")).astype(int)
    assert np.abs(tried[:150] - person[:150]).mean() < 2
    assert np.abs(tried[450:600, 250:500] - person[450:600, 250:500]).mean() > 20


@pytest.mark.parametrize(("category", "person", "garment"), [("lower_body", "013563", "013564"),
                                                            ("dresses", "020714", "020715")])
def test_warp_baseline_on_dress_code_lower_body_and_dresses(dresscode: Path, category: str, person: str,
                                                             garment: str) -> None:
    """Trousers/skirts and dresses: the garment replaces the person's garment, the head stays. Dresses
    fit the old garment's region; lower garments are placed by the pose (waist to their own length)."""
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.datasets.io.keypoints import read_keypoints
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.labels import to_cihp
    from vtonkit.preprocess.stages import CLOTH_MASKERS
    from vtonkit.vton_infer.warp_baseline import try_on_warp
    from vtonkit.vton_infer.warp_upper import GARMENT_LABELS

    root = dresscode / category
    if not (root / "images" / f"{person}_0.jpg").is_file():
        pytest.skip(f"sample {person} not in {root}")
    image = read_rgb(root / "images" / f"{person}_0.jpg")
    cloth = read_rgb(root / "images" / f"{garment}_1.jpg")
    parse = to_cihp(read_parse(root / "label_maps" / f"{person}_4.png", check_ids=False), "dresscode")
    pose = read_keypoints(root / "keypoints" / f"{person}_2.json")
    cloth_mask = CLOTH_MASKERS.build("cv").mask(cloth)
    kind = "lower" if category == "lower_body" else "dresses"
    result = try_on_warp(image, parse, pose, cloth, cloth_mask, kind)
    region = np.isin(parse, GARMENT_LABELS[kind])
    covered = result.alpha > 0.5
    assert covered[region].mean() > 0.6  # most of the old garment is replaced
    if kind == "dresses":
        assert not covered[~region].any()  # nothing is painted outside it
    else:  # from the waist down, between the person's hips and below: nothing on the torso or the arms
        assert not covered[: int(pose[[9, 12], 1].min() - 0.5 * (pose[[10, 13], 1].mean() - pose[[9, 12], 1].mean()))].any()
        assert not covered[np.isin(parse, (14, 15))].any()
    head = np.isin(parse, (2, 13))
    assert np.array_equal(result.output[head], image[head])


def test_warp_baseline_with_shoulders_outside_the_image_uses_the_garment_region(vitonhd: Path) -> None:
    """Keypoints of another framing (shoulders thousands of pixels off the image) used to index the
    centre line out of bounds (IndexError, reported as an internal error); the garment region's
    middle is the centre line then, as without shoulder keypoints."""
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.datasets.io.keypoints import read_keypoints
    from vtonkit.datasets.io.masks import read_mask
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.vton_infer.warp_baseline import try_on_warp
    from vtonkit.vton_infer.warp_upper import person_centre_x, target_region

    test = vitonhd / "test"
    image, parse = read_rgb(test / "image/00013_00.jpg"), read_parse(test / "image-parse-v3/00013_00.png")
    pose = read_keypoints(test / "openpose_json/00013_00_keypoints.json")
    cloth, mask = read_rgb(test / "cloth/00017_00.jpg"), read_mask(test / "cloth-mask/00017_00.jpg")
    shifted = pose.copy()
    shifted[:, 0] -= 3000.0
    region = target_region(parse, np.zeros(parse.shape, bool), "upper")
    columns = np.flatnonzero(region.any(axis=0))
    assert person_centre_x(region, shifted, "upper") == (columns[0] + columns[-1]) / 2
    assert person_centre_x(region, pose, "upper") == (pose[2, 0] + pose[5, 0]) / 2
    result = try_on_warp(image, parse, shifted, cloth, mask, "upper")
    assert (result.alpha[region] > 0.5).mean() > 0.6  # the old top is replaced


def test_hrviton_without_checkpoints_is_refused_with_a_hint(vitonhd: Path, tmp_path: Path) -> None:
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    result = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(tmp_path / "o"), "--method", "hrviton"])
    assert result.exit_code == 2
    assert "--method warp" in result.output


def test_checkpoints_are_checked_before_anything_else(vitonhd: Path, tmp_path: Path) -> None:
    """A lone --tocg-checkpoint (even of a file that does not exist) was dropped without a word and the
    warp baseline ran, exit 0; a missing checkpoint over an earlier run's folder was reported as "this
    output folder holds a run with other settings"."""
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    weights = tmp_path / "mtviton.pth"
    weights.write_bytes(b"not read: refused before")
    lone = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(tmp_path / "o1"), "--tocg-checkpoint",
                                    str(weights)])
    assert lone.exit_code == 2 and "HR-VITON needs both checkpoints" in lone.output, lone.output
    assert "--gen-checkpoint" in lone.output and not (tmp_path / "o1").exists()
    warp = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(tmp_path / "o2"), "--method", "warp",
                                    "--tocg-checkpoint", str(weights), "--gen-checkpoint", str(weights)])
    assert warp.exit_code == 2 and "the warp baseline takes no checkpoint" in warp.output, warp.output
    earlier = tmp_path / "earlier"
    assert CliRunner().invoke(app, ["infer", str(dataset), "--out", str(earlier), "--method", "warp"]).exit_code == 0
    missing = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(earlier), "--tocg-checkpoint",
                                       str(weights), "--gen-checkpoint", str(tmp_path / "gen.pth")])
    assert missing.exit_code == 2 and "checkpoint not found" in missing.output, missing.output
    assert "Invalid value for --gen-checkpoint" in missing.output
    assert "other settings" not in missing.output


def test_sheet_one_garment_across_persons(vitonhd: Path, tmp_path: Path) -> None:
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    out = tmp_path / "sheet"
    result = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_00",
                                      "--persons", "00006_00,00013_00,00034_00", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = Image.open(out / "garment_00008_00.png")
    assert sheet.format == "PNG" and sheet.width == 4 * 192  # its cells: a 5-tile canvas left a column empty
    html = (out / "garment_00008_00.html").read_text()
    assert html.count("<img src=\"data:image/jpeg;base64,") == 4  # garment + 3 try-ons, all embedded
    assert "BASELINE" in html and "src=\"http" not in html
    for person in ("00006_00", "00013_00", "00034_00"):
        assert (out / f"{person}_00008_00.png").is_file()


def test_sheet_one_person_across_garments(vitonhd: Path, tmp_path: Path) -> None:
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    out = tmp_path / "sheet"
    result = CliRunner().invoke(app, ["sheet", str(dataset), "--person", "00013_00", "--limit", "2",
                                      "--method", "warp", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "person_00013_00.png").is_file()
    assert sorted(p.name for p in out.glob("00013_00_*.png")) == ["00013_00_00006_00.png", "00013_00_00008_00.png"]


def test_a_sheet_whose_every_try_on_failed_is_not_written(vitonhd: Path, tmp_path: Path) -> None:
    """A person whose other files are missing: every try-on failed and an empty sheet ("0 try-ons")
    was still written."""
    dataset = dataset_with_an_incomplete_person(vitonhd, tmp_path / "ds")
    out = tmp_path / "sheet"
    result = CliRunner().invoke(app, ["sheet", str(dataset), "--person", "99999_00", "--limit", "2",
                                      "--method", "warp", "--out", str(out)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "every try-on failed: no sheet written" in output, output
    assert not list(out.glob("person_99999_00.*"))


def test_sheet_names_may_be_file_names_and_a_missing_one_is_one_error(vitonhd: Path, tmp_path: Path) -> None:
    """`--garment 00008_00.jpg` was refused as "'00008_00.jpg.jpg' holds '.jpg' before its end"; a
    mistyped garment printed "file not found" twice per person, then "every try-on failed"."""
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    named = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_00.jpg", "--persons",
                                     "00006_00.jpg", "--method", "warp", "--out", str(tmp_path / "s1")])
    assert named.exit_code == 0, named.output
    assert (tmp_path / "s1" / "garment_00008_00.png").is_file()
    typo = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_09", "--method", "warp",
                                    "--out", str(tmp_path / "s2")], env={"COLUMNS": "400"})
    assert typo.exit_code == 2, typo.output
    assert "no garment '00008_09' in" in typo.output and "not found" not in typo.output, typo.output
    split = CliRunner().invoke(app, ["sheet", str(dataset / "test"), "--garment", "00008_00", "--method", "warp",
                                     "--out", str(tmp_path / "s3")], env={"COLUMNS": "400"})
    assert split.exit_code == 2 and "is a split folder (it holds image/); give its dataset root" in split.output, \
        split.output


def test_a_megabyte_name_in_the_pair_list_is_refused_by_its_line(vitonhd: Path, tmp_path: Path) -> None:
    """A 5 MB token passed the pair-list reader; infer computed the other pairs in a second and then
    spent minutes (Rich highlighting the name) printing the failure line of that one."""
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    with (dataset / "test_pairs.txt").open("a") as pairs:
        pairs.write("a" * 5_000_000 + ".jpg 00006_00.jpg\n")
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(tmp_path / "o")])
    output = " ".join(result.output.split())
    squeezed = "".join(result.output.split())  # rich may fold the path anywhere
    assert result.exit_code != 0 and "test_pairs.txt:line2" in squeezed, output[:500]
    assert "longerthanafilenamemaybe" in squeezed and len(output) < 2000


def test_bad_options_are_usage_errors_before_any_work(vitonhd: Path, tmp_path: Path) -> None:
    import torch

    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    infer = ["infer", str(dataset), "--method", "warp"]
    cases = [
        ([*infer, "--out", str(a_file)], "--out", "exists and is not a folder"),
        ([*infer, "--out", str(tmp_path / "o1"), "--category", "shoes"], "--category", "'shoes' is not one of"),
        ([*infer, "--out", str(tmp_path / "o2"), "--evaluate", "--eval-protocol", "nope"], "--eval-protocol", "nope"),
        (["sheet", str(dataset), "--split", "val", "--garment", "00013_00", "--out", str(tmp_path / "s")], "--split",
         "'val' is not one of train, test"),
        (["evaluate", "--pred", str(tmp_path), "--real", str(dataset), "--out", str(tmp_path)], "--out", "is a folder"),
        (["evaluate", "--pred", str(tmp_path), "--real", str(dataset), "--protocol", "nope"], "--protocol", "nope"),
        # these drew the evaluation's progress bar first, and a file as --pred was "folder not found"
        (["evaluate", "--pred", str(tmp_path), "--real", str(dataset), "--metrics", "ssim,ssmi"], "--metrics",
         "'ssmi' is not one of ssim, psnr, lpips, fid, kid"),
        (["evaluate", "--pred", str(a_file), "--real", str(dataset)], "--pred", "is a file"),
        # torch's RuntimeError / OpenCV's resize assertion / an out-of-memory kill, before these bounds
        ([*infer, "--out", str(tmp_path / "o4"), "--threads", "-1"], "--threads", "greater than or equal to 1"),
        (["train", str(dataset), "--stage", "condition", "--out", str(tmp_path / "t"), "--threads", "0"], "--threads",
         "greater than or equal to 1"),
        (["review", str(dataset), "--static", str(tmp_path / "r.html"), "--thumb", "0"], "--thumb",
         "greater than or equal to 16"),
        (["review", str(dataset), "--static", str(tmp_path / "r.html"), "--thumb", "100000"], "--thumb",
         "less than or equal to 1024"),
        # a --name with folders wrote the sheet outside --out; an empty --garment read image/None.jpg,
        # and a --garment with folders read files outside the split
        (["sheet", str(dataset), "--garment", "00013_00", "--out", str(tmp_path / "s1"), "--name", "../../escaped"],
         "--name", "give a plain file name"),
        (["sheet", str(dataset), "--garment", "", "--out", str(tmp_path / "s2")], "--garment", "empty name"),
        (["sheet", str(dataset), "--person", "../train/00000_00", "--out", str(tmp_path / "s3")], "--garment/--person",
         "holds a folder"),
    ]
    if not torch.cuda.is_available():
        cases.append(([*infer, "--out", str(tmp_path / "o3"), "--device", "cuda"], "--device", "CUDA is not available"))
    for args, option, message in cases:
        result = CliRunner().invoke(app, args)
        text = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == 2 and option in text and message in text, (args, result.output)
        assert not isinstance(result.exception, (AssertionError, OSError, KeyError)), result.exception
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()  # refused before anything was made


def test_a_run_that_failed_before_its_first_pair_does_not_lock_its_folder(vitonhd: Path, tmp_path: Path) -> None:
    """A mistyped checkpoint path: the folder holds no output, so the corrected command runs there."""
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    out = tmp_path / "out"
    missing = tmp_path / "gne.pth"
    first = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(out), "--tocg-checkpoint", str(missing),
                                     "--gen-checkpoint", str(missing)])
    assert first.exit_code != 0 and "checkpoint not found" in first.output, first.output
    second = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(out), "--method", "warp"])
    assert second.exit_code == 0, second.output
    assert (out / "00013_00_00017_00.png").is_file()
    # once it holds finished pairs, other settings are refused as before
    third = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(out), "--method", "warp", "--category",
                                     "dresses"])
    assert third.exit_code == 2 and "other settings" in third.output
    # and a sheet does not write over them
    sheet = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00017_00", "--persons", "00013_00",
                                     "--method", "warp", "--out", str(out)])
    assert sheet.exit_code == 2 and "holds a `vtonkit infer` run" in " ".join(sheet.output.replace("│", " ").split())


def test_evaluate_scores_a_repeated_pair_line_once(vitonhd: Path, tmp_path: Path) -> None:
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.evaluation.matching import match_predictions

    pred = tmp_path / "pred"
    pred.mkdir()
    Image.open(vitonhd / "test/image/00006_00.jpg").save(pred / "00006_00_00006_00.png")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("00006_00.jpg 00006_00.jpg\n" * 3)
    predictions, skipped = match_predictions(pred, SplitDir(vitonhd / "test"), pairs_file=pairs)
    assert [p.name for p in predictions] == ["00006_00_00006_00.png"] and skipped == []


@pytest.mark.parametrize(("content", "message"), [(b"", "empty file (0 bytes)"),
                                                  (b"https://drive.google.com/file/d/x/view", "not a PyTorch checkpoint")])
def test_a_checkpoint_that_is_no_checkpoint_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    from vtonkit.core.errors import FormatError
    from vtonkit.vton_infer.checkpoints import read_state_dict

    path = tmp_path / "gen.pth"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=re.escape(message)) as raised:
        read_state_dict(path)
    assert str(path) in str(raised.value)


def test_damaged_or_pickled_module_checkpoints_say_what_to_do(tmp_path: Path) -> None:
    """Torch's refusal text advises weights_only=False (which runs the file's code) for random bytes
    too; the message says instead what the file is and what to do."""
    import torch

    from vtonkit.core.errors import FormatError
    from vtonkit.vton_infer.checkpoints import read_state_dict

    whole = tmp_path / "whole.pth"
    torch.save({"w": torch.zeros(4)}, whole)
    cases = {"junk.pth": (bytes(range(244, 256)) * 40, "not a PyTorch checkpoint (unreadable pickle data"),
             "cut.pth": (whole.read_bytes()[:200], "damaged or cut-short checkpoint"),
             "module.pth": (None, "holds Python objects, not only tensors (torch.nn.modules.linear.Linear)")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if content is None:
            torch.save(torch.nn.Linear(2, 2), path)
        else:
            path.write_bytes(content)
        with pytest.raises(FormatError, match=re.escape(message)) as raised:
            read_state_dict(path)
        assert str(path) in str(raised.value) and "weights_only" not in str(raised.value), raised.value


def test_an_animated_input_is_used_on_its_first_frame_with_a_warning(vitonhd: Path, tmp_path: Path, caplog) -> None:
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS + [("00006_00", "00017_00")])
    images = dataset / "test" / "image"
    images.unlink()
    images.mkdir()
    for photo in (vitonhd / "test" / "image").iterdir():
        (images / photo.name).symlink_to(photo)
    first = Image.open(vitonhd / "test/image/00006_00.jpg").convert("RGB")
    (images / "00006_00.jpg").unlink()  # an animated GIF under the photo's name
    first.save(images / "00006_00.jpg", format="GIF", save_all=True, append_images=[first.rotate(180)])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["infer", str(dataset), "--out", str(out), "--method", "warp"])
    assert result.exit_code == 0, result.output
    assert "4/4 pairs written" in result.output
    warnings = [r.getMessage() for r in caplog.records if "frames" in r.getMessage()]
    # once, though the person is in two pairs; and only for that file
    assert warnings == [f"{images / '00006_00.jpg'}: 2 frames (an animation or a multi-page file): "
                        "the first one is used"]


def test_an_out_folder_inside_the_dataset_is_refused_before_any_dataset_file_is_replaced(
        vitonhd: Path, tmp_path: Path) -> None:
    """`sheet --out <ds>/test/image-parse-v3 --name 00008_00` replaced that person's parse map with the sheet
    PNG (exit 0); infer wrote its outputs and run log among the dataset files. A copy, never the shared data."""
    import hashlib
    import shutil

    dataset = tmp_path / "ds"
    shutil.copytree(vitonhd / "test", dataset / "test", symlinks=False)
    (dataset / "test_pairs.txt").write_text("00013_00.jpg 00017_00.jpg\n")
    parse = dataset / "test/image-parse-v3/00008_00.png"
    before = hashlib.sha256(parse.read_bytes()).hexdigest()
    (tmp_path / "link").symlink_to(dataset / "test", target_is_directory=True)  # the same folder by another path
    cases = [
        ["sheet", str(dataset), "--person", "00006_00", "--garments", "00013_00", "--method", "warp",
         "--out", str(parse.parent), "--name", "00008_00"],
        ["sheet", str(dataset), "--person", "00006_00", "--garments", "00013_00", "--method", "warp",
         "--out", str(tmp_path / "link/image-parse-v3"), "--name", "00008_00"],
        ["infer", str(dataset), "--method", "warp", "--out", str(dataset)],
        ["infer", str(dataset), "--method", "warp", "--out", str(dataset / "test/image-parse-v3/new")],
        ["infer", str(dataset), "--method", "warp", "--grids", "--out", str(tmp_path / "out")],  # grid/ links in
    ]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "grid").symlink_to(parse.parent, target_is_directory=True)
    for args in cases:
        result = CliRunner().invoke(app, args)
        text = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == 2 and "--out" in text and "dataset" in text, (args, result.output)
        assert hashlib.sha256(parse.read_bytes()).hexdigest() == before, args
    assert not list(dataset.glob("*.png")) and not list(dataset.glob("infer-*"))
    assert not (dataset / "test/image-parse-v3/new").exists()
    # a folder beside the splits holds no dataset file: allowed
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(dataset / "previews")])
    assert result.exit_code == 0, result.output


def test_a_sheet_of_many_try_ons_holds_thumbnails_not_every_full_image(vitonhd: Path, tmp_path: Path) -> None:
    """Every try-on was read at full size (1024x768: 2.4 MB) and kept until the sheet was drawn: ~2.8 MB a
    tile at the peak, so a catalog sheet of thousands of persons was killed for memory after every try-on
    had been computed. Memory now grows by a thumbnail a tile (the PNG tile and the HTML data URI)."""
    import tracemalloc

    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.sheets import write_tryon_sheet

    tryon = tmp_path / "00013_00_00017_00.png"
    Image.open(vitonhd / "test/image/00013_00.jpg").save(tryon)
    count = 40
    tracemalloc.start()
    try:
        png, html = write_tryon_sheet(SplitDir(vitonhd / "test"), [tryon] * count, tmp_path / "sheet", "label",
                                      baseline=True, garment="00017_00")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"{peak / 1e6:.0f} MB traced for {count} tiles"  # full images: 112 MB; thumbnails: ~20 MB
    assert Image.open(png).size == (5 * 192, 30 + 9 * (256 + 30))
    assert html.read_text().count('<img src="data:image/jpeg;base64,') == count + 1


def test_infer_and_evaluate_take_the_category_the_manifest_records(vitonhd: Path, tmp_path: Path) -> None:
    """On a lower-body dataset, infer, sheet and evaluate used upper unless told (train already read
    the manifest): the warp baseline put shorts over the person's top, and evaluate's masked metrics
    scored the top's region; an explicit --category upper was accepted too."""
    import json

    from vtonkit.datasets.manifest import PERSONS, Manifest

    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    manifest = Manifest.load(dataset)
    for stem in ("00013_00", "00017_00"):
        manifest.entries("test", PERSONS)[stem] = {"source": f"/photos/{stem}.jpg", "sha256": stem, "category": "lower"}
    manifest.save()
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "infer-settings.json").read_text())["category"] == "lower"
    for args in (["infer", str(dataset), "--method", "warp", "--out", str(tmp_path / "o2"), "--category", "upper"],
                 ["evaluate", "--pred", str(tmp_path / "o"), "--real", str(dataset), "--category", "upper"]):
        result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
        said = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == 2 and "the manifest says split test holds lower garments, not upper" in said, said


def test_an_empty_pair_list_is_an_error_not_zero_pairs_written(vitonhd: Path, tmp_path: Path) -> None:
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS[:1])
    (dataset / "test_pairs.txt").write_text("")
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(tmp_path / "o")],
                                env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "the pair list names no pair" in said and "0/0 pairs" not in said, said


def test_png_captions_draw_accented_names() -> None:
    """Pillow's default font drew every letter outside ASCII as the same box: a sheet captioned
    `café_ü` read `caf□_□`. Captions use DejaVu Sans (inside matplotlib) now."""
    import numpy as np
    from vtonkit.vton_infer.grids import caption_font
    from vtonkit.vton_infer.sheets import SheetTile, render_png

    font = caption_font()
    assert len({bytes(font.getmask(letter)) for letter in "éüñ"}) == 3  # three letters, not one box
    thumb = np.full((64, 48, 3), 255, np.uint8)
    accented, plain = (render_png(name, [SheetTile(name, thumb, "")]) for name in ("café_ü", "cafe_u"))
    assert not np.array_equal(accented, plain)


def test_png_captions_draw_korean_japanese_and_chinese_names() -> None:
    """Korean, Japanese and Chinese product names (CJK shops) came out as rows of identical boxes in
    PNG sheets: DejaVu Sans has no CJK glyphs. A CJK font (`make system-deps`) draws them."""
    import numpy as np
    from vtonkit.vton_infer.grids import CJK_FONTS, caption_font
    from vtonkit.vton_infer.sheets import SheetTile, render_png

    from tests.conftest import in_ci

    if not any(Path(path).is_file() for path in CJK_FONTS):
        message = f"no CJK font installed ({', '.join(CJK_FONTS)}); `make system-deps` installs one"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    for name in ("린넨팬츠", "ワンピース", "连衣裙"):
        font = caption_font(text=name)
        assert len({bytes(font.getmask(char)) for char in name}) == len(set(name)), name  # not one box
    assert len({bytes(caption_font().getmask(char)) for char in "린넨팬"}) == 1  # DejaVu: boxes
    thumb = np.full((64, 48, 3), 255, np.uint8)
    korean, other = (render_png(name, [SheetTile(name, thumb, "")]) for name in ("린넨 팬츠", "린넨 바지"))
    assert not np.array_equal(korean, other)


def test_a_sheet_names_the_persons_whose_try_on_failed(vitonhd: Path, tmp_path: Path) -> None:
    """A sheet of one garment on 2 of 3 persons said "on 2 persons" and nothing of the third, whose
    files were incomplete: it read as a sheet of every person asked for."""
    dataset = dataset_with_an_incomplete_person(vitonhd, tmp_path / "ds")
    out = tmp_path / "sheet"
    result = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_00", "--persons",
                                      "00006_00,99999_00,00013_00", "--method", "warp", "--out", str(out)])
    assert result.exit_code == 1, result.output  # one try-on failed, the sheet is written
    html = (out / "garment_00008_00.html").read_text()
    assert "Garment 00008_00 on 2 persons (1 left out, their try-on failed: 99999_00)" in html


def test_a_sheet_records_its_checkpoints_and_is_not_replaced_by_one_of_other_checkpoints(vitonhd: Path,
                                                                                          tmp_path: Path) -> None:
    """A sheet made again with other checkpoints replaced the earlier one without a word, and neither
    recorded what made it. The HTML names the files and their content ids; another network's sheet
    under the same name is refused before any try-on is computed (as `infer` refuses mixing settings)."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.sheets import SheetWeights, other_weights_problem, recorded_weights, write_tryon_sheet

    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    out = tmp_path / "sheet"
    warp = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_00", "--persons", "00006_00",
                                    "--method", "warp", "--out", str(out)])
    assert warp.exit_code == 0, warp.output
    html_path = out / "garment_00008_00.html"
    before = html_path.read_text()
    assert recorded_weights(html_path) == "none" and "Made with no checkpoints." in before
    tocg, gen = tmp_path / "mtviton.pth", tmp_path / "gen.pth"
    tocg.write_bytes(b"network A")
    gen.write_bytes(b"network B")
    (out / "00006_00_00008_00.png").unlink()
    other = CliRunner().invoke(app, ["sheet", str(dataset), "--garment", "00008_00", "--persons", "00006_00",
                                     "--tocg-checkpoint", str(tocg), "--gen-checkpoint", str(gen), "--out", str(out)],
                               env={"COLUMNS": "400"})
    said = " ".join(other.output.replace("│", " ").split())
    assert other.exit_code == 2 and "this sheet was made with other checkpoints (none)" in said, said
    assert "another --name or --out" in said and html_path.read_text() == before
    assert not (out / "00006_00_00008_00.png").exists()  # refused before computing

    weights = SheetWeights.of({"--tocg-checkpoint": tocg, "--gen-checkpoint": gen})
    tryon = tmp_path / "00006_00_00008_00.png"
    Image.open(vitonhd / "test/image/00006_00.jpg").save(tryon)
    _, html_path = write_tryon_sheet(SplitDir(dataset / "test"), [tryon], tmp_path / "hr", "HR-VITON",
                                     baseline=False, garment="00008_00", weights=weights)
    page = html_path.read_text()
    for option, path in (("--tocg-checkpoint", tocg), ("--gen-checkpoint", gen)):
        assert re.search(rf"{option} {re.escape(str(path))} \(sha256:[0-9a-f]{{16}}\)", page), page[-600:]
    assert recorded_weights(html_path) == weights.key
    assert other_weights_problem(tmp_path / "hr", "garment_00008_00", weights) is None
    moved = tmp_path / "moved.pth"
    moved.write_bytes(b"network A")  # the same network elsewhere: the same sheet
    assert other_weights_problem(tmp_path / "hr", "garment_00008_00",
                                 SheetWeights.of({"--tocg-checkpoint": moved, "--gen-checkpoint": gen})) is None
    assert "other checkpoints" in other_weights_problem(tmp_path / "hr", "garment_00008_00", SheetWeights())
