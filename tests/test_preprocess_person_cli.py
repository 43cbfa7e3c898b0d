"""`vtonkit prep-person` / `prep-cloth` end to end on real photos: complete loadable samples, clear per-file errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.io.densepose import read_densepose
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.layout import SplitDir
from vtonkit.datasets.labels import Cihp
from vtonkit.preprocess.evaluation import (
    SET_DESCRIPTIONS,
    TEST_GOALS,
    evaluate_person,
    find_samples,
    format_sets,
    report_class_counts,
    summarise_set,
)
from vtonkit.preprocess.person import PersonBackends

from tests.conftest import shared_path
from vtonkit.cli import app

runner = CliRunner()


def _assert_complete_person(split: SplitDir, stem: str) -> None:
    files = split.person_files(stem)
    assert all(path.is_file() for path in files.values()), [p for p in files.values() if not p.is_file()]
    assert read_rgb(split.image(stem)).shape == (1024, 768, 3)
    keypoints = read_keypoints(split.openpose_json(stem), fmt="body25")
    assert keypoints.shape == (25, 3)
    parse = read_parse(split.parse(stem))
    assert parse.shape == (1024, 768) and parse.max() < 20
    assert read_parse(split.parse_agnostic(stem)).shape == (1024, 768)
    with Image.open(split.openpose_img(stem)) as skeleton, Image.open(split.densepose(stem)) as densepose:
        assert skeleton.mode == "RGB" and densepose.mode == "RGB"
    assert read_densepose(split.densepose(stem)).max() <= 24
    assert read_mask(split.agnostic_mask(stem)).any()
    document = json.loads(split.openpose_json(stem).read_text())
    assert len(document["people"][0]["pose_keypoints_2d"]) == 75


def test_prep_person_keep_framing_writes_a_complete_aligned_sample(vitonhd, tmp_path):
    source = vitonhd / "test" / "image" / "00034_00.jpg"
    out = tmp_path / "test"
    result = runner.invoke(app, ["prep-person", str(source), "--out", str(out), "--keep-framing"])
    assert result.exit_code == 0, result.output
    split = SplitDir(out)
    _assert_complete_person(split, "00034_00")
    # Keep framing: the written image is the input (JPEG round trip only).
    assert np.abs(read_rgb(split.image("00034_00")).astype(int) - read_rgb(source)).mean() < 3
    assert "1 written" in result.output


def test_prep_person_batch_reports_each_bad_file_and_continues(photos, tmp_path):
    cases = tmp_path / "in"
    cases.mkdir()
    Image.new("RGB", (768, 1024), (240, 240, 240)).save(cases / "blank.jpg")
    Image.open(photos / "garments" / "00055_00.jpg").save(cases / "garment.jpg")
    left = Image.open(photos / "persons" / "049713_0.jpg").convert("RGB")
    right = Image.open(photos / "persons" / "model_2.png").convert("RGB")
    pair = Image.new("RGB", (1536, 1024))
    pair.paste(left, (0, 0))
    pair.paste(right, (768, 0))
    pair.save(cases / "two_people.jpg")
    full_body = Image.open(photos / "persons" / "model_1.png").convert("RGB")
    full_body.crop((0, 0, 768, 430)).save(cases / "waist_up.jpg")  # cut above the hips
    # Tiny person: a quarter-size shot pasted on a large canvas of its own background colour.
    tiny = Image.new("RGB", (1200, 1600), full_body.getpixel((5, 5)))
    tiny.paste(full_body.resize((192, 256)), (500, 700))
    tiny.save(cases / "tiny.jpg")
    (cases / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    Image.open(photos / "persons" / "051918_0.jpg").save(cases / "good.jpg")
    out = tmp_path / "test"
    names = ["blank", "garment", "two_people", "waist_up", "tiny", "broken", "good"]
    result = runner.invoke(app, ["prep-person", *[str(cases / f"{n}.jpg") for n in names], "--out", str(out)])
    output = " ".join(result.output.split())  # undo rich's line wrapping
    assert result.exit_code == 1
    assert "blank.jpg: no person detected" in output
    assert "garment.jpg: no person detected" in output
    assert "two_people.jpg: 2 people detected" in output
    assert "broken.jpg: not an image" in output
    assert "waist_up.jpg: hips-cut-off: person cut off at the waist" in output
    # one coded warning (the pose step's uncoded "tiny person" note said the same again)
    assert "tiny.jpg: person-too-small:" in output and "upscaled" in output and "tiny.jpg: tiny person" not in output
    assert "3 written" in output and "4 failed" in output
    split = SplitDir(out)
    _assert_complete_person(split, "good")
    assert split.image("waist_up").is_file()
    for failed in ("blank", "garment", "two_people", "broken"):
        assert not any(p.exists() for p in split.person_files(failed).values())


def test_prep_cloth_writes_cloth_and_l_mode_mask(vitonhd, tmp_path):
    source = vitonhd / "test" / "cloth" / "00006_00.jpg"
    out = tmp_path / "test"
    result = runner.invoke(app, ["prep-cloth", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    split = SplitDir(out)
    with Image.open(split.cloth_mask("00006_00")) as mask:
        assert mask.mode == "L" and mask.size == (768, 1024)
    with Image.open(split.cloth("00006_00")) as cloth:
        assert cloth.mode == "RGB" and cloth.size == (768, 1024)
    predicted = read_mask(split.cloth_mask("00006_00"))
    genuine = read_mask(vitonhd / "test" / "cloth-mask" / "00006_00.jpg")
    assert (predicted & genuine).sum() / (predicted | genuine).sum() > 0.95


def test_prep_cloth_transparent_png_and_blank_shot(tmp_path):
    """A 2160x2160 RGBA render is padded/resized and masked from its alpha; a blank shot is a clear error."""
    render = shared_path("demo", "garments", "saleor-grey-hoodie.png")
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (768, 1024), (255, 255, 255)).save(blank)
    out = tmp_path / "test"
    result = runner.invoke(app, ["prep-cloth", str(render), str(blank), "--out", str(out)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "blank.jpg: no garment found" in output and "1 written" in output
    split = SplitDir(out)
    mask = read_mask(split.cloth_mask("saleor-grey-hoodie"))
    with Image.open(render) as source:
        alpha = np.asarray(source.getchannel("A"))
    # The square render sits in the middle of the 3:4 frame: coverage matches the alpha's.
    assert abs(mask.mean() - (alpha > 127).mean() * 0.75) < 0.05
    assert not mask[:100].any() and not mask[-100:].any()  # padding is background
    assert not split.cloth("blank").exists()


def test_unknown_backend_is_a_clear_error(tmp_path, vitonhd):
    result = runner.invoke(app, ["prep-person", str(vitonhd / "test" / "image" / "00034_00.jpg"),
                                 "--out", str(tmp_path / "test"), "--pose", "nope"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "error: unknown pose backend 'nope'; available:" in said  # no KeyError quotes around it


@pytest.mark.slow
def test_evaluation_scores_a_genuine_dresscode_sample(dresscode):
    """The eval-prep code path on one full-body sample: keypoints and DensePose meet their goals there."""
    persons, _ = find_samples(dresscode.parent)
    sample = next(s for s in persons if s.dataset == "dresscode/lower_body" and s.stem == "013564_0")
    row = evaluate_person(sample, PersonBackends.build())
    assert row["pck_counted"] == 13 and row["pck"] >= 0.95
    assert row["densepose_acc"] >= 0.6
    assert 0.0 <= row["parse_miou"] <= 1.0 and "upper_clothes" in row["parse_iou"]
    # Per joint and per class, the way the tune/test report pools them.
    assert row["split"] == "test" and len(row["joints"]) == 13 and sum(row["joints"].values()) == row["pck_correct"]
    assert row["worn_garment_iou"] == row["parse_iou"]["pants"]  # lower body: the pants are the worn garment
    assert {"legs", "pants", "upper_clothes"} <= set(row["class_iou"])
    summary = summarise_set([row], [])
    assert summary["pck"] == row["pck"] and summary["per_category"]["lower"]["worn_garment"] == row["worn_garment_iou"]


def test_pooled_class_iou_weighs_photos_by_their_pixels():
    """Per-photo means let a photo with a few annotated hair pixels weigh as much as a whole head;
    the benchmark convention counts the set's pixels once."""
    genuine = np.zeros((40, 40), np.uint8)
    genuine[:20] = Cihp.HAIR  # 800 hair pixels
    big = genuine.copy()
    big[:2] = Cihp.FACE  # 720 of 800 right
    small_truth = np.zeros((40, 40), np.uint8)
    small_truth[0, :10] = Cihp.HAIR  # 10 hair pixels
    small = np.zeros((40, 40), np.uint8)
    small[0, :5] = Cihp.HAIR  # 5 of 10 right
    rows = []
    for predicted, truth in ((big, genuine), (small, small_truth)):
        counts = report_class_counts(predicted, truth)
        rows.append({"joints": {}, "pck_correct": 0, "pck_counted": 0, "category": "upper", "dataset": "d",
                     "stem": "s", "parse_miou": 0.0, "worn_garment_iou": None, "densepose_acc": 0.0,
                     "class_iou": {n: i / u for n, (i, u) in counts.items()}, "class_pixels": counts})
    summary = summarise_set(rows, [])
    assert summary["class_iou"]["hair"] == pytest.approx((0.9 + 0.5) / 2)
    assert summary["class_iou_pooled"]["hair"] == pytest.approx((720 + 5) / (800 + 10))
    assert "hair (pooled)" in "\n".join(format_sets({"sets": {"tune": summary, "test": summary},
                                                     "test_goals": TEST_GOALS, "set_descriptions": SET_DESCRIPTIONS}))


def test_evaluation_sets_are_disjoint_and_each_holds_every_category(vitonhd):
    persons, _ = find_samples(vitonhd.parent)
    by_set = {name: [s for s in persons if s.split == name] for name in ("tune", "test")}
    assert {s.image for s in by_set["tune"]}.isdisjoint({s.image for s in by_set["test"]})
    assert len(by_set["tune"]) + len(by_set["test"]) == len(persons)
    for name, samples in by_set.items():
        assert {s.category for s in samples} == {"upper", "lower", "dresses"}, name
    assert all(s.split == "test" for s in persons if s.dataset == "vitonhd/test")
    assert all(s.split == "tune" for s in persons if s.dataset == "vitonhd/train")


def test_a_folder_argument_stands_for_its_images(photos, tmp_path):
    """`prep-cloth shots/` used to fail the folder itself ("not a regular file (a folder)"); a folder
    now gives its image files, beside files given one by one; an empty folder is refused up front."""
    shots = tmp_path / "shots"
    shots.mkdir()
    for name in ("00055_00.jpg", "00126_00.jpg"):
        (shots / name).write_bytes((photos / "garments" / name).read_bytes())
    (shots / "notes.txt").write_text("not an image")
    single = tmp_path / "single.jpg"
    single.write_bytes((photos / "garments" / "00151_00.jpg").read_bytes())
    out = tmp_path / "test"
    result = runner.invoke(app, ["prep-cloth", str(shots), str(single), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "cloth").iterdir()) == ["00055_00.jpg", "00126_00.jpg", "single.jpg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["prep-cloth", str(empty), "--out", str(tmp_path / "other" / "test")])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{empty}: folder holds no image files" in output, output


def test_a_photo_with_several_frames_is_used_with_a_warning(vitonhd, photos, tmp_path):
    """An animated GIF or a multi-page TIFF went through on its first frame without a word; a
    camera's MPO JPEG (picture + preview) is an ordinary photo."""
    person = Image.open(vitonhd / "test" / "image" / "00034_00.jpg").convert("RGB")
    garment = Image.open(photos / "garments" / "00055_00.jpg").convert("RGB")
    inputs = tmp_path / "in"
    inputs.mkdir()
    person.save(inputs / "person.gif", save_all=True, append_images=[person.rotate(10)])
    person.save(inputs / "camera.mpo", format="MPO", save_all=True, append_images=[person.resize((192, 256))])
    garment.save(inputs / "garment.tiff", save_all=True, append_images=[garment.rotate(5), garment.rotate(10)])
    assert Image.open(inputs / "camera.mpo").n_frames == 2
    result = runner.invoke(app, ["prep-person", str(inputs / "person.gif"), str(inputs / "camera.mpo"), "--out",
                                 str(tmp_path / "test"), "--keep-framing"])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "person.gif: 2 frames (an animation or a multi-page file): the first one is used" in output
    assert "camera.mpo: 2 frames" not in output
    result = runner.invoke(app, ["prep-cloth", str(inputs / "garment.tiff"), "--out", str(tmp_path / "test")])
    output = " ".join(result.output.split())
    assert result.exit_code == 0, output
    assert "garment.tiff: 3 frames (an animation or a multi-page file): the first one is used" in output


@pytest.mark.parametrize("command", ["prep-person", "prep-cloth"])
def test_a_dataset_root_given_as_the_split_folder_is_refused(vitonhd, tmp_path, command):
    """`prep-person photo.jpg --out data/mine` (the root, not data/mine/test) wrote image/ ... into the
    root and the manifest into data/.vtonkit; `pairs` then said only "no complete person sample"."""
    root = tmp_path / "mine"
    (root / "test").mkdir(parents=True)
    photo = vitonhd / "test" / ("image" if command == "prep-person" else "cloth")
    result = runner.invoke(app, [command, str(next(photo.iterdir())), "--out", str(root)], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "is a dataset root (it holds test/); give one of its split folders" in result.output, result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["mine", "test"]


@pytest.mark.parametrize("command", ["prep-person", "prep-cloth"])
@pytest.mark.parametrize("out", ["mydata", "g5/val"])
def test_an_out_folder_not_named_train_or_test_is_refused(vitonhd, tmp_path, monkeypatch, command, out):
    """`--out mydata` made split "mydata" with the manifest in the current folder, `--out g5/val` a split
    `validate`, `pairs` and `prep` never read: both exited 0. Now a usage error before anything is written."""
    monkeypatch.chdir(tmp_path)
    photo = vitonhd / "test" / ("image" if command == "prep-person" else "cloth")
    result = runner.invoke(app, [command, str(next(photo.iterdir())), "--out", out], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"{out} is not a split folder" in said and "give <dataset>/train or <dataset>/test, such as " in said
    assert list(tmp_path.iterdir()) == []


def test_evaluation_names_the_pose_model_that_ran(tmp_path):
    """Heavy and full pose models score differently: the report says which one ran, not only "mediapipe"."""
    from vtonkit.preprocess.backends.mediapipe_pose import heavy_model_installed
    from vtonkit.preprocess.evaluation import format_table, run_evaluation

    (tmp_path / "vitonhd").mkdir()
    report = run_evaluation(tmp_path)
    model = "heavy" if heavy_model_installed() else "full"
    assert report["backends"]["pose"].startswith("mediapipe ") and report["backends"]["pose"].endswith(f"-{model}")
    assert f"pose {report['backends']['pose']}," in format_table(report).splitlines()[0]
