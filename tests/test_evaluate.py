"""Feature networks with deterministically filled weights (generated here, with the key layout
and shapes of the published files) and `vtonkit evaluate` end to end on `vtonkit infer` outputs
for the shared VITON-HD test samples.

Filled weights prove loading and preprocessing, not quality: the FID/KID/LPIPS values they give
are meaningless. The published files cannot be downloaded here (no network at test time)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.metrics import structural_similarity
from typer.testing import CliRunner
from vtonkit.vton_infer.evaluation.inception import (
    FIDInceptionV3,
    inception_features,
    load_inception,
    preprocess,
)
from vtonkit.vton_infer.evaluation.lpips import LPIPS, load_lpips

from vtonkit.cli import app
from vtonkit.core.errors import FormatError

# torchvision's published parameter count of inception_v3 (27,161,264) without the auxiliary
# classifier (3,326,696) and with pytorch-fid's 1008-class fc instead of 1000 (+8 x 2049).
FID_INCEPTION_PARAMETERS = 27_161_264 - 3_326_696 + 8 * 2049
ALEX_CLASSIFIER = {"classifier.1.weight": (4096, 9216), "classifier.1.bias": (4096,), "classifier.4.weight": (4096, 4096),
                   "classifier.4.bias": (4096,), "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,)}
VGG_CLASSIFIER = {"classifier.0.weight": (4096, 25088), "classifier.0.bias": (4096,), "classifier.3.weight": (4096, 4096),
                  "classifier.3.bias": (4096,), "classifier.6.weight": (1000, 4096), "classifier.6.bias": (1000,)}
PERSONS = ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]


def fill(shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Deterministic weights (seeded per tensor): He-scaled normals; batch-norm statistics near identity."""
    state = {}
    for i, (key, shape) in enumerate(shapes.items()):
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(i))
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = 1 + 0.1 * noise.abs()
        elif key.endswith(("running_mean", "bias")):
            state[key] = 0.01 * noise
        elif key.endswith("bn.weight"):
            state[key] = 1 + 0.1 * noise
        elif key.startswith("lin"):
            state[key] = 0.1 * noise.abs()  # LPIPS lin weights are non-negative
        else:
            state[key] = noise * math.sqrt(2.0 / (math.prod(shape) / shape[0]))
    return state


def classifier_keys(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """The classifier part of a torchvision file at its real shapes, stored as 1-value expanded tensors
    (a few bytes on disk); LPIPS never reads it."""
    return {key: torch.full((1,), 0.01).expand(shape) for key, shape in shapes.items()}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("filled-weights")
    files = {}
    inception = {k: v.shape for k, v in FIDInceptionV3().state_dict().items()}
    files["inception"] = folder / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(fill(inception), files["inception"])
    for name, classifier in (("alex", ALEX_CLASSIFIER), ("vgg", VGG_CLASSIFIER)):
        net = LPIPS(name)
        backbone = fill({k: v.shape for k, v in net.net.state_dict().items()}) | classifier_keys(classifier)
        files[f"{name}-backbone"] = folder / f"{name}-backbone.pth"
        torch.save(backbone, files[f"{name}-backbone"])
        files[f"{name}-lin"] = folder / f"{name}.pth"
        torch.save(fill({k: v.shape for k, v in net.lins.state_dict().items()}), files[f"{name}-lin"])
    return files


# ---------------------------------------------------------------- independent functional networks


def _cbr(x, w, name, stride=1, padding=None):
    weight = w[f"{name}.conv.weight"]
    if padding is None:  # every stride-1 convolution inside the blocks keeps the size
        padding = (weight.shape[2] // 2, weight.shape[3] // 2)
    x = F.conv2d(x, weight, stride=stride, padding=padding)
    x = F.batch_norm(x, w[f"{name}.bn.running_mean"], w[f"{name}.bn.running_var"], w[f"{name}.bn.weight"],
                     w[f"{name}.bn.bias"], training=False, eps=0.001)
    return F.relu(x)


def _tf_avg(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def functional_fid_inception(x: torch.Tensor, w: dict[str, torch.Tensor]) -> torch.Tensor:
    """pytorch-fid's FID Inception read straight from the file's keys (input already in [-1, 1], 299x299)."""
    x = _cbr(x, w, "Conv2d_1a_3x3", 2, 0)
    x = _cbr(x, w, "Conv2d_2a_3x3", 1, 0)
    x = F.max_pool2d(_cbr(x, w, "Conv2d_2b_3x3"), 3, 2)
    x = _cbr(_cbr(x, w, "Conv2d_3b_1x1"), w, "Conv2d_4a_3x3", 1, 0)
    x = F.max_pool2d(x, 3, 2)
    for b in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
        c = lambda n, t, b=b, **k: _cbr(t, w, f"{b}.{n}", **k)
        x = torch.cat([c("branch1x1", x), c("branch5x5_2", c("branch5x5_1", x)),
                       c("branch3x3dbl_3", c("branch3x3dbl_2", c("branch3x3dbl_1", x))),
                       c("branch_pool", _tf_avg(x))], 1)
    c = lambda n, t, **k: _cbr(t, w, f"Mixed_6a.{n}", **k)
    x = torch.cat([c("branch3x3", x, stride=2, padding=0),
                   c("branch3x3dbl_3", c("branch3x3dbl_2", c("branch3x3dbl_1", x)), stride=2, padding=0),
                   F.max_pool2d(x, 3, 2)], 1)
    for b in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        c = lambda n, t, b=b, **k: _cbr(t, w, f"{b}.{n}", **k)
        seven = x
        for n in ("branch7x7_1", "branch7x7_2", "branch7x7_3"):
            seven = c(n, seven)
        double = x
        for n in ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"):
            double = c(n, double)
        x = torch.cat([c("branch1x1", x), seven, double, c("branch_pool", _tf_avg(x))], 1)
    c = lambda n, t, **k: _cbr(t, w, f"Mixed_7a.{n}", **k)
    seven = c("branch7x7x3_3", c("branch7x7x3_2", c("branch7x7x3_1", x)))
    x = torch.cat([c("branch3x3_2", c("branch3x3_1", x), stride=2, padding=0),
                   c("branch7x7x3_4", seven, stride=2, padding=0), F.max_pool2d(x, 3, 2)], 1)
    for b, pool in (("Mixed_7b", _tf_avg), ("Mixed_7c", lambda t: F.max_pool2d(t, 3, 1, 1))):
        c = lambda n, t, b=b, **k: _cbr(t, w, f"{b}.{n}", **k)
        three, double = c("branch3x3_1", x), c("branch3x3dbl_2", c("branch3x3dbl_1", x))
        x = torch.cat([c("branch1x1", x), c("branch3x3_2a", three), c("branch3x3_2b", three),
                       c("branch3x3dbl_3a", double), c("branch3x3dbl_3b", double), c("branch_pool", pool(x))], 1)
    return x.mean(dim=(2, 3))


def functional_lpips(a: torch.Tensor, b: torch.Tensor, backbone: dict, lins: dict, net: str) -> torch.Tensor:
    """LPIPS v0.1 from the two files' keys: scaling, 5 ReLU stages, unit-normalise, lin, spatial mean, sum."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    if net == "alex":
        stages = [[("c", 0, 4, 2)], [("p",), ("c", 3, 1, 2)], [("p",), ("c", 6, 1, 1)], [("c", 8, 1, 1)], [("c", 10, 1, 1)]]
        pool = lambda t: F.max_pool2d(t, 3, 2)
    else:
        convs = iter([0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28])
        stages = [[("c", next(convs), 1, 1) for _ in range(n)] for n in (2, 2, 3, 3, 3)]
        stages = [s if i == 0 else [("p",)] + s for i, s in enumerate(stages)]
        pool = lambda t: F.max_pool2d(t, 2, 2)

    def features(x):
        outputs = []
        for stage in stages:
            for op in stage:
                if op[0] == "p":
                    x = pool(x)
                else:
                    x = F.relu(F.conv2d(x, backbone[f"features.{op[1]}.weight"], backbone[f"features.{op[1]}.bias"],
                                        stride=op[2], padding=op[3]))
            outputs.append(x)
        return outputs

    total = torch.zeros(a.shape[0])
    for i, (fa, fb) in enumerate(zip(features((a - shift) / scale), features((b - shift) / scale))):
        na = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        nb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total += ((na - nb) ** 2 * lins[f"lin{i}.model.1.weight"]).sum(1).mean(dim=(1, 2))
    return total


def _photo(vitonhd: Path, person: str, size: tuple[int, int] | None = None) -> np.ndarray:
    image = Image.open(vitonhd / f"test/image/{person}.jpg").convert("RGB")
    return np.asarray(image.resize((size[1], size[0]), Image.Resampling.BILINEAR) if size else image)


# ------------------------------------------------------------------------------ network tests


def test_fid_inception_loads_the_published_layout_and_equals_a_functional_reading(weights, vitonhd) -> None:
    model = load_inception(weights["inception"])
    assert sum(p.numel() for p in model.parameters()) == FID_INCEPTION_PARAMETERS
    assert model.fc.weight.shape == (1008, 2048)
    state = torch.load(weights["inception"], weights_only=True)
    assert torch.equal(model.Mixed_7c.branch_pool.conv.weight, state["Mixed_7c.branch_pool.conv.weight"])
    images = [_photo(vitonhd, p, (256, 192)) for p in PERSONS[:2]]
    # pytorch-fid's order: [0, 1] -> bilinear 299 (no antialias) -> 2x - 1
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    by_hand = 2 * F.interpolate(batch, size=(299, 299), mode="bilinear", align_corners=False) - 1
    with torch.no_grad():
        expected = functional_fid_inception(by_hand, state).double().numpy()
    ours = inception_features(model, images, "pytorch-fid")
    assert ours.shape == (2, 2048)
    assert np.allclose(ours, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    assert np.abs(ours[0] - ours[1]).max() > 1e-3 * np.abs(ours).max()  # two photos, two feature vectors


def test_inception_input_conventions(vitonhd) -> None:
    image = _photo(vitonhd, PERSONS[0], (128, 96))
    clean = preprocess([image], "clean")[0]
    channel = Image.frombytes("F", (96, 128), image[:, :, 1].astype("<f4").tobytes())
    resized = np.asarray(channel.resize((299, 299), Image.Resampling.BICUBIC)).clip(0, 255)
    assert np.allclose(clean[1].numpy(), (resized - 128) / 128, atol=1e-6)
    tf1 = preprocess([image], "tf1-bilinear")[0]
    assert tf1[0, 0, 0].item() == pytest.approx((image[0, 0, 0] - 128) / 128)  # TF1 samples the corner pixel exactly
    torch_fid = preprocess([image], "pytorch-fid")[0]
    assert torch_fid.shape == tf1.shape == clean.shape == (3, 299, 299)
    assert (torch_fid - tf1).abs().max() > 0.01 and (clean - tf1).abs().max() > 0.01


def test_inception_file_with_a_missing_key_is_refused_with_its_name(weights, tmp_path) -> None:
    state = torch.load(weights["inception"], weights_only=True)
    del state["Mixed_6c.branch7x7dbl_4.bn.running_var"]
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    with pytest.raises(FormatError, match=r"broken.pth.*Mixed_6c.branch7x7dbl_4.bn.running_var.*pt_inception"):
        load_inception(broken)


@pytest.mark.parametrize(("net", "size"), [("alex", 64), ("vgg", 32)])
def test_lpips_loads_torchvision_and_lpips_files_and_equals_a_functional_reading(weights, net, size) -> None:
    model = load_lpips(net, weights[f"{net}-backbone"], weights[f"{net}-lin"])
    backbone = torch.load(weights[f"{net}-backbone"], weights_only=True)
    lins = torch.load(weights[f"{net}-lin"], weights_only=True)
    assert sorted(lins) == [f"lin{i}.model.1.weight" for i in range(5)]
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, size, size, generator=generator) * 2 - 1
    b = (a + 0.3 * torch.rand(2, 3, size, size, generator=generator)).clamp(-1, 1)
    ours = model(a, b)
    expected = functional_lpips(a, b, backbone, lins, net)
    assert torch.allclose(ours, expected, rtol=1e-5, atol=1e-7)
    assert (ours > 0).all() and model(a, a).abs().max() < 1e-6
    # the ScalingLayer comes first: leaving it out changes the value
    unscaled = functional_lpips(a * 0.458 - 0.030, b * 0.458 - 0.030, backbone, lins, net)
    assert not torch.allclose(unscaled, expected, rtol=1e-3)


def test_lpips_lin_file_of_the_other_backbone_is_refused(weights) -> None:
    with pytest.raises(FormatError, match=r"vgg.pth.*shape mismatches.*lin1.model.1.weight"):
        load_lpips("alex", weights["alex-backbone"], weights["vgg-lin"])


# ------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def tryon(vitonhd: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, outputs): the 5 VITON-HD test samples in paired mode through `vtonkit infer --method warp --evaluate`."""
    root = tmp_path_factory.mktemp("eval")
    dataset = root / "ds"
    (dataset / "test").mkdir(parents=True)
    for folder in (vitonhd / "test").iterdir():
        (dataset / "test" / folder.name).symlink_to(folder, target_is_directory=True)
    (dataset / "test_pairs.txt").write_text("".join(f"{p}.jpg {p}.jpg\n" for p in PERSONS))
    out = root / "out"
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(out), "--evaluate"],
                                env={"VTONKIT_HOME": str(root / "empty-store")})
    assert result.exit_code == 0, result.output
    return dataset, out


def test_infer_evaluate_scores_ssim_and_psnr_without_any_weights(tryon) -> None:
    dataset, out = tryon
    report = json.loads((out / "evaluation.json").read_text())
    assert report["protocol"]["name"] == "hrviton" and report["counts"]["paired_scored"] == 5
    assert report["counts"]["real_images"] == 5 and report["skipped"] == []
    assert set(report["paired"]) >= {"ssim", "psnr", "mse", "masked_ssim", "masked_psnr"}
    for metric in ("fid", "kid", "lpips"):
        assert "not found: put it at" in report["not_computed"][metric]
    assert "pt_inception-2015-12-05-6726825d.pth" in report["not_computed"]["fid"]
    assert report["fid"] is None and report["versions"]["torch"] == torch.__version__
    # each pair's SSIM is scikit-image's on PIL greyscale, as HR-VITON's evaluate.py computes it
    pair = report["pairs"][2]
    grey = lambda p: np.asarray(Image.open(p).convert("L"))
    expected = structural_similarity(grey(dataset / "test/image" / f"{pair['person']}.jpg"), grey(out / pair["name"]),
                                     data_range=255, gaussian_weights=True, use_sample_covariance=False)
    assert pair["ssim"] == pytest.approx(expected, abs=1e-9)
    assert report["paired"]["ssim"] == pytest.approx(np.mean([p["ssim"] for p in report["pairs"]]))
    html = (out / "evaluation.html").read_text()
    assert html.count("<img") == 10 and "hrviton" in html


def test_evaluate_with_filled_weights_gives_fid_kid_and_lpips(tryon, weights, tmp_path) -> None:
    dataset, out = tryon
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(app, [
        "evaluate", "--pred", str(out), "--real", str(dataset), "--protocol", "hrviton", "--out", str(report_path),
        "--inception-weights", str(weights["inception"]), "--lpips-weights", str(weights["alex-lin"]),
        "--lpips-backbone-weights", str(weights["alex-backbone"]), "--kid-subset-size", "4", "--kid-subsets", "5",
        "--no-masked"], env={"VTONKIT_HOME": str(tmp_path / "store")})
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"]["generated_for_fid"] == 5 and report["counts"]["real_for_fid"] == 5
    assert math.isfinite(report["fid"]) and report["fid"] > 0
    assert report["kid"]["subset_size"] == 4 and report["kid"]["subsets"] == 5 and report["kid"]["scale"] == 1000
    assert math.isfinite(report["kid"]["mean"]) and report["kid"]["std"] >= 0
    assert report["weights"]["inception"]["sha256"] and report["settings"]["kid_subset_size"] == 4
    # LPIPS per pair: PIL bilinear 128x128 squash, [-1, 1], then the network (HR-VITON evaluate.py's order)
    backbone = torch.load(weights["alex-backbone"], weights_only=True)
    lins = torch.load(weights["alex-lin"], weights_only=True)
    pair = report["pairs"][0]

    def squash(path: Path) -> torch.Tensor:
        small = np.asarray(Image.open(path).convert("RGB").resize((128, 128), Image.Resampling.BILINEAR))
        return torch.from_numpy(small.copy()).permute(2, 0, 1)[None].float() / 255 * 2 - 1

    expected = functional_lpips(squash(dataset / "test/image" / f"{pair['person']}.jpg"), squash(out / pair["name"]),
                                backbone, lins, "alex")
    assert pair["lpips"] == pytest.approx(expected.item(), rel=1e-4)


def test_bad_inputs_are_named_and_listed_never_dropped(tryon, tmp_path) -> None:
    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS:
        (preds / f"{person}_{person}.png").symlink_to(out / f"{person}_{person}.png")
    (preds / f"{PERSONS[0]}_{PERSONS[0]}.png").unlink()
    Image.open(out / f"{PERSONS[0]}_{PERSONS[0]}.png").resize((384, 512)).save(preds / f"{PERSONS[0]}_{PERSONS[0]}.png")
    (preds / "99999_00_99999_00.png").symlink_to(out / f"{PERSONS[1]}_{PERSONS[1]}.png")  # no such person photo
    pairs = tmp_path / "pairs.txt"  # the last pair has no output at all
    pairs.write_text("".join(f"{p}.jpg {p}.jpg\n" for p in [*PERSONS, "99999_00"]) + "00008_00.jpg 00006_00.jpg\n")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(preds), "--real", str(dataset), "--out", str(report_path),
                                      "--metrics", "ssim,psnr", "--pairs", str(pairs)])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "size 384x512 (WxH) but protocol hrviton evaluates at 768x1024" in reasons[f"{PERSONS[0]}_{PERSONS[0]}.png"]
    assert "ground-truth image" in reasons["99999_00_99999_00.png"] and "99999_00.jpg is missing" in reasons["99999_00_99999_00.png"]
    assert "no prediction" in reasons["00008_00_00006_00"] and "pairs.txt" in reasons["00008_00_00006_00"]
    assert report["counts"]["paired_scored"] == 4 and report["counts"]["predictions"] == 6
    # the counts agree with the list (the list held entries "skipped": 0 left unsaid)
    by_metrics = {kind: sum(1 for s in report["skipped"] if s["metrics"] == kind) for kind in ("all", "paired")}
    assert report["counts"]["skipped"] == by_metrics["all"]
    assert report["counts"]["skipped_paired_metrics"] == by_metrics["paired"]
    said = " ".join(result.output.split())
    assert "skipped (all)" in said and "384x512" in said

    # KID with more subsets than images: the counts are named before any network runs
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(dataset), "--metrics", "kid",
                                      "--inception-weights", str(tmp_path / "nothing.pth")])
    assert result.exit_code == 2 and "nothing.pth" in "".join(result.output.split())
    weights_file = tmp_path / "w.pth"
    weights_file.write_bytes(b"")
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(dataset), "--metrics", "kid",
                                      "--inception-weights", str(weights_file)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps long lines
    assert "KID needs at least 1000 images" in said and "got 5 real and 5 generated" in said

    # LPIPS asked for by name without its files: which file, where to put it
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(dataset), "--metrics", "lpips"],
                                env={"VTONKIT_HOME": str(tmp_path / "store")})
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "alexnet-owt-7be5be79.pth" in said and "vtonkit models download torchvision-alexnet" in said


def test_kid_left_out_when_skipped_predictions_shrink_the_set_the_rest_is_reported(tryon, weights, tmp_path) -> None:
    """KID's subset size is checked against the predictions found; one unreadable prediction (skipped
    while scoring) left too few, and the TooFewImagesError at the very end threw away every metric
    already computed: exit 2, no report."""
    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS[:3]:
        (preds / f"{person}_{person}.png").symlink_to(out / f"{person}_{person}.png")
    (preds / f"{PERSONS[3]}_{PERSONS[3]}.png").write_bytes(b"not a png")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, [
        "evaluate", "--pred", str(preds), "--real", str(dataset), "--out", str(report_path), "--metrics",
        "ssim,psnr,fid,kid", "--inception-weights", str(weights["inception"]), "--kid-subset-size", "4",
        "--kid-subsets", "2", "--no-masked"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"]["paired_scored"] == 3 and report["counts"]["generated_for_fid"] == 3
    assert math.isfinite(report["fid"]) and report["kid"] is None
    assert "KID needs at least 4 images" in report["not_computed"]["kid"]
    assert "got 5 real and 3 generated" in report["not_computed"]["kid"]
    assert any("not an image" in s["reason"] for s in report["skipped"])
    said = " ".join(result.output.split())
    assert "kid not computed" in said


@pytest.mark.parametrize("name", ["r.html", "R.HTML"])
def test_a_report_path_ending_in_html_is_refused_before_scoring(tryon, tmp_path, name) -> None:
    """--out r.html: the JSON was written there, then the HTML page (same name, .html) replaced it; exit 0,
    'report: r.html and r.html', and the JSON report (the numbers, the skipped items) was gone."""
    dataset, out = tryon
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(dataset), "--metrics", "ssim",
                                      "--out", str(tmp_path / name)])
    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "--out" in said and "JSON" in said, result.output
    assert not (tmp_path / name).exists()


def test_a_stray_image_in_the_results_folder_is_not_counted_as_a_generated_image(tryon, tmp_path) -> None:
    """`IMG_0001.jpg` beside the outputs was read as person IMG + garment 0001 (the VITON-HD naming guess),
    listed as an 'unpaired output' and fed to FID/KID as a generated image: a wrong FID with exit 0."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.evaluation.matching import match_predictions

    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS[:2]:
        (preds / f"{person}_{person}.png").symlink_to(out / f"{person}_{person}.png")
    (preds / f"{PERSONS[0]}_{PERSONS[1]}.png").symlink_to(out / f"{PERSONS[0]}_{PERSONS[0]}.png")  # unpaired: FID only
    (preds / "IMG_0001.jpg").symlink_to(dataset / "test/image" / f"{PERSONS[2]}.jpg")
    (preds / "99999_00_99999_00.png").symlink_to(out / f"{PERSONS[1]}_{PERSONS[1]}.png")  # no such person
    predictions, skipped = match_predictions(preds, SplitDir(dataset / "test"))
    assert sorted(p.name for p in predictions) == sorted(
        [f"{PERSONS[0]}_{PERSONS[0]}.png", f"{PERSONS[1]}_{PERSONS[1]}.png", f"{PERSONS[0]}_{PERSONS[1]}.png"])
    reasons = {s.name: (s.reason, s.metrics) for s in skipped}
    assert reasons["IMG_0001.jpg"][1] == "all" and "IMG.jpg" in reasons["IMG_0001.jpg"][0]
    assert reasons["99999_00_99999_00.png"][1] == "all" and "99999_00.jpg" in reasons["99999_00_99999_00.png"][0]


def test_a_corrupt_ground_truth_photo_costs_its_prediction_the_paired_metrics_only(tryon, weights, tmp_path) -> None:
    """The error of an unreadable ground-truth photo was caught around the whole prediction, so a good
    generated image was also left out of FID/KID (computed on 4 images instead of 5)."""
    dataset, out = tryon
    copy = tmp_path / "ds"
    (copy / "test").mkdir(parents=True)
    for folder in (dataset / "test").iterdir():
        if folder.name != "image":
            (copy / "test" / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    (copy / "test" / "image").mkdir()
    for person in PERSONS:
        (copy / "test" / "image" / f"{person}.jpg").symlink_to((dataset / "test" / "image" / f"{person}.jpg").resolve())
    broken = copy / "test" / "image" / f"{PERSONS[2]}.jpg"
    broken.unlink()
    broken.write_bytes((dataset / "test" / "image" / f"{PERSONS[2]}.jpg").read_bytes()[:2000])  # cut short
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, [
        "evaluate", "--pred", str(out), "--real", str(copy), "--out", str(report_path), "--metrics", "ssim,fid",
        "--inception-weights", str(weights["inception"]), "--no-masked"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"]["paired_scored"] == 4 and report["counts"]["generated_for_fid"] == 5
    assert report["counts"]["real_for_fid"] == 4 and math.isfinite(report["fid"])
    gone = [s for s in report["skipped"] if s["name"] == f"{PERSONS[2]}_{PERSONS[2]}.png"]
    assert len(gone) == 1 and gone[0]["metrics"] == "paired", report["skipped"]


@pytest.mark.parametrize("with_pairs", [False, True])
def test_an_output_saved_twice_under_two_extensions_is_scored_once(tryon, tmp_path, with_pairs) -> None:
    """`a_a.png` beside `a_a.jpg` (or `a_a.PNG`, a copy from another tool) was scored twice without
    --pairs, weighing that try-on double in every mean and in FID; with --pairs the last by name won
    silently. Now the `.png` vtonkit writes is scored and the other file is listed as skipped."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.evaluation.matching import match_predictions

    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    first, second = (f"{person}_{person}" for person in PERSONS[:2])
    for name in (f"{first}.png", f"{second}.png"):
        (preds / name).symlink_to(out / name)
    (preds / f"{first}.jpg").symlink_to(out / f"{second}.png")
    (preds / f"{second}.PNG").symlink_to(out / f"{first}.png")
    pairs = None
    if with_pairs:
        pairs = tmp_path / "pairs.txt"
        pairs.write_text(f"{PERSONS[0]}.jpg {PERSONS[0]}.jpg\n{PERSONS[1]}.jpg {PERSONS[1]}.jpg\n")
    predictions, skipped = match_predictions(preds, SplitDir(dataset / "test"), pairs_file=pairs)
    assert sorted(p.name for p in predictions) == [f"{first}.png", f"{second}.png"]
    reasons = {s.name: s.reason for s in skipped}
    assert set(reasons) == {f"{first}.jpg", f"{second}.PNG"}
    assert f"({first}.png) is scored instead" in reasons[f"{first}.jpg"]


def test_a_placeholder_garment_gives_no_paired_score(tryon, tmp_path) -> None:
    """A crawled person has no garment of its own; `vtonkit pairs` copies another garment to
    cloth/<person>.jpg so the test loader finds one. Its "paired" output was scored against the
    person's photo, though the person never wore that garment; now it is left to FID/KID."""
    from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest

    dataset, out = tryon
    copy = tmp_path / "ds"
    (copy / "test").mkdir(parents=True)
    for folder in (dataset / "test").iterdir():
        (copy / "test" / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    manifest = Manifest.load(copy)
    manifest.entries("test", PLACEHOLDERS)[PERSONS[1]] = {"copied_from": PERSONS[0]}
    manifest.save()
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(copy), "--out", str(report_path),
                                      "--metrics", "ssim", "--no-masked"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"]["paired_scored"] == 4
    (gone,) = [s for s in report["skipped"] if s["name"] == f"{PERSONS[1]}_{PERSONS[1]}.png"]
    assert gone["metrics"] == "paired" and "placeholder" in gone["reason"]


def test_evaluate_fails_when_no_metric_is_computed(tryon, tmp_path) -> None:
    """Unpaired outputs without FID/KID weights printed "0 paired predictions scored" and exited 0,
    so a script read an empty report as a result; now it exits 1 and says why (report still written)."""
    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    (preds / f"{PERSONS[0]}_{PERSONS[1]}.png").symlink_to(out / f"{PERSONS[0]}_{PERSONS[0]}.png")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(preds), "--real", str(dataset), "--out",
                                      str(report_path), "--metrics", "ssim,psnr"])
    assert result.exit_code == 1, result.output
    assert "no metric was computed" in " ".join(result.output.split())
    assert json.loads(report_path.read_text())["counts"]["paired_scored"] == 0


def test_infer_evaluate_fails_when_no_metric_is_computed(tryon, tmp_path) -> None:
    """`infer --evaluate --eval-protocol cleanfid-512` on 1024x768 outputs skipped every one for its size,
    printed "0 paired predictions scored" and exited 0, where `vtonkit evaluate` exits 1."""
    dataset, _ = tryon
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["infer", str(dataset), "--method", "warp", "--out", str(out), "--evaluate",
                                      "--eval-protocol", "cleanfid-512"],
                                env={"VTONKIT_HOME": str(tmp_path / "empty-store")})
    assert result.exit_code == 1, result.output
    assert "no metric was computed" in " ".join(result.output.split())
    assert json.loads((out / "evaluation.json").read_text())["counts"]["paired_scored"] == 0


def test_a_catalogs_unpaired_outputs_are_counted_not_listed_one_by_one(tryon, tmp_path) -> None:
    """An unpaired catalog run printed three lines per output ("skipped (paired) ... used for FID/KID
    only"): 4,400 lines for 1,500 pairs. Ten are named, the rest counted; the report keeps them all."""
    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS:
        (preds / f"{person}_{person}.png").symlink_to(out / f"{person}_{person}.png")
        for garment in PERSONS:
            if garment != person:  # 20 unpaired outputs
                (preds / f"{person}_{garment}.png").symlink_to(out / f"{person}_{person}.png")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(preds), "--real", str(dataset), "--out", str(report_path),
                                      "--metrics", "ssim"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert sum(line.startswith("skipped (paired) ") for line in result.output.splitlines()) == 10, result.output
    flat = " ".join(result.output.split())  # the console wraps at its own width
    assert f"... 10 more skipped (paired), every one named in {report_path}" in flat, result.output
    assert sum(s["metrics"] == "paired" for s in json.loads(report_path.read_text())["skipped"]) == 20


def test_a_pair_list_named_inside_the_dataset_is_found_as_infer_and_train_find_it(tryon, tmp_path, monkeypatch) -> None:
    """`evaluate --pairs test_pairs.txt` failed "test_pairs.txt: pair list not found" where `infer` and
    `train` read the same name inside the dataset root; it reads that file now, and records it."""
    dataset, out = tryon
    monkeypatch.chdir(tmp_path)  # no test_pairs.txt here
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(out), "--real", str(dataset), "--out", str(report_path),
                                      "--metrics", "ssim,psnr", "--pairs", "test_pairs.txt"])
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["counts"]["paired_scored"] == len(PERSONS)
    assert report["settings"]["pairs_file"] == str(dataset / "test_pairs.txt")


def test_outputs_all_of_another_size_are_said_to_be_so_not_without_ground_truth(tryon, tmp_path) -> None:
    """Every output at 384x512 under hrviton (no --resize-pred) ended "no output had a ground truth for
    the paired metrics": the ground truth is there, the outputs were left out for their size."""
    dataset, out = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS:
        Image.open(out / f"{person}_{person}.png").resize((384, 512)).save(preds / f"{person}_{person}.png")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["evaluate", "--pred", str(preds), "--real", str(dataset), "--out",
                                      str(report_path), "--metrics", "ssim,psnr"])
    flat = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert (f"no metric was computed: every output ({len(PERSONS)}) was left out for its size: protocol hrviton "
            "evaluates at 768x1024 (WxH), and the ground truth is there;") in flat, flat
    assert "--resize-pred" in flat and "no output had a ground truth" not in flat, flat
    assert json.loads(report_path.read_text())["counts"]["skipped_for_size"] == len(PERSONS)


def test_the_ground_truth_against_itself_scores_fid_0_and_the_documented_psnr_cap(tryon, weights, tmp_path) -> None:
    """The ground truth scored against itself under cleanfid-512 printed FID -0.000 (-2e-28, rounding):
    FID is a squared distance, so such a value is 0. PSNR is capped at 100 dB, as docs/evaluation.md
    says; KID's unbiased estimate may be below 0 and is left as computed."""
    dataset, _ = tryon
    preds = tmp_path / "preds"
    preds.mkdir()
    for person in PERSONS:
        (preds / f"{person}_{person}.jpg").symlink_to(dataset / "test" / "image" / f"{person}.jpg")
    report_path = tmp_path / "r.json"
    result = CliRunner().invoke(app, [
        "evaluate", "--pred", str(preds), "--real", str(dataset), "--protocol", "cleanfid-512", "--resize-pred",
        "--out", str(report_path), "--metrics", "psnr,fid", "--inception-weights", str(weights["inception"])],
        env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["fid"] == 0.0 and math.copysign(1.0, report["fid"]) == 1.0, report["fid"]
    assert "-0.000" not in result.output and report["paired"]["psnr"] == 100.0
    docs = " ".join((Path(__file__).parents[1] / "docs" / "evaluation.md").read_text(encoding="utf-8").split())
    assert "capped at 100 dB" in docs and "KID's unbiased estimate can be slightly negative" in docs


def test_fid_of_a_set_against_itself_is_0_never_a_rounding_negative() -> None:
    """Both ways of computing FID's trace (fewer images than dimensions, and not) came out a few 1e-14
    below 0 for a set against itself; a negative beyond rounding is still shown."""
    from vtonkit.vton_infer.evaluation.fid import FeatureStatistics, feature_statistics, frechet_distance

    for seed in range(20):
        rng = np.random.default_rng(seed)
        for shape in ((5, 64), (100, 16)):
            stats = feature_statistics(rng.standard_normal(shape))
            assert frechet_distance(stats, stats) == 0.0 or frechet_distance(stats, stats) > 0, (seed, shape)
    # a "covariance" no features give (an eigenvalue below 0): its negative FID is no rounding, and shows
    mean = np.zeros(2)
    broken = frechet_distance(FeatureStatistics(mean, np.eye(2), 3), FeatureStatistics(mean, np.diag([-3.0, 4.0]), 3))
    assert broken == pytest.approx(2 + 1 - 2 * 2)
