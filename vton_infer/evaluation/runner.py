"""Evaluate a folder of try-on outputs against a dataset split under one protocol.

Paired metrics (SSIM, PSNR/MSE, LPIPS, and SSIM/PSNR inside the ground-truth garment region)
for every prediction with a ground truth; unpaired FID and KID between all scored predictions
and all person photos of the split. SSIM and PSNR need no weights; LPIPS, FID and KID need local
feature-network files (`vtonkit models`). With `metrics=None` a metric whose file is missing is
listed in `not_computed` with the file and where to put it; asked for by name, it is an error.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.layout import SplitDir
from vtonkit.datasets.manifest import placeholder_stems
from vtonkit.preprocess import models
from vtonkit.vton_infer.data import to_unit_range
from vtonkit.vton_infer.evaluation import psnr as psnr_metric
from vtonkit.vton_infer.evaluation.fid import feature_statistics, frechet_distance
from vtonkit.vton_infer.evaluation.inception import inception_features, load_inception
from vtonkit.vton_infer.evaluation.kid import KidResult, TooFewImagesError, kernel_inception_distance, subset_indices
from vtonkit.vton_infer.evaluation.lpips import load_lpips
from vtonkit.vton_infer.evaluation.matching import Prediction, Skipped, list_images, match_predictions
from vtonkit.vton_infer.evaluation.protocols import Protocol
from vtonkit.vton_infer.evaluation.resize import pil_resize_uint8
from vtonkit.vton_infer.evaluation.ssim import greyscale, ssim
from vtonkit.datasets.pairs import pairs_path
from vtonkit.vton_infer.versions import library_versions
from vtonkit.vton_infer.warp_baseline import GARMENT_LABELS

from vtonkit.core.errors import InputError, VtonkitError

METRICS = ("ssim", "psnr", "lpips", "fid", "kid")
INCEPTION_MODEL = "fid-inception"
LPIPS_MODELS = {"alex": ("torchvision-alexnet", "lpips-alex"), "vgg": ("torchvision-vgg16", "lpips-vgg")}
FEATURE_BATCH = 8

Progress = Callable[[int, int], None]
"""Called with (steps done, total steps)."""


@dataclass
class FeatureWeights:
    """Local feature-network files; None = look the file up in the model store (`vtonkit models path`)."""

    inception: Path | None = None
    lpips_backbone: Path | None = None
    lpips_lin: Path | None = None


@dataclass
class PairScore:
    """Paired metrics of one prediction (None where not computed)."""

    name: str
    person: str
    cloth: str
    ssim: float
    psnr: float
    mse: float
    lpips: float | None = None
    masked_ssim: float | None = None
    masked_psnr: float | None = None


@dataclass
class EvaluationResult:
    """Everything a report needs to trace a number back to its inputs and settings."""

    protocol: Protocol
    pred_dir: str
    dataset: str
    split: str
    counts: dict[str, int]
    means: dict[str, float]
    official_averages: dict[str, float]
    fid: float | None
    kid: KidResult | None
    pairs: list[PairScore]
    skipped: list[Skipped]
    not_computed: dict[str, str]
    settings: dict[str, object]
    weights: dict[str, dict[str, str]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def _missing_weights_message(model_name: str, option: str) -> str:
    spec = models.get_spec(model_name)
    return (f"{spec.filename} ({model_name}) not found: put it at {models.cache_path(spec)} "
            f"(`vtonkit models download {model_name}`), or pass {option} PATH, or "
            f"`vtonkit models use {model_name} --file PATH`")


def _resolve(explicit: Path | None, model_name: str, option: str) -> tuple[Path | None, str | None]:
    """(file, None) or (None, why it is missing). An explicit path that does not exist is an error."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise InputError(explicit, f"{option}: file not found")
        return Path(explicit), None
    try:
        return models.path(model_name), None
    except models.ModelNotFoundError:
        return None, _missing_weights_message(model_name, option)


def resolve_weights(protocol: Protocol, weights: FeatureWeights, metrics: Sequence[str] | None
                    ) -> tuple[dict[str, Path], dict[str, str]]:
    """Files to load per network ("inception", "lpips_backbone", "lpips_lin") and metrics left out, with reasons.

    Raises VtonkitError when a metric asked for by name has no file.
    """
    wanted = set(METRICS if metrics is None else metrics)
    unknown = wanted - set(METRICS)
    if unknown:
        raise VtonkitError(f"unknown metric(s) {', '.join(sorted(unknown))}; known: {', '.join(METRICS)}")
    files: dict[str, Path] = {}
    not_computed: dict[str, str] = {}
    backbone_model, lin_model = LPIPS_MODELS[protocol.lpips_backbone]
    needs = (("inception", ("fid", "kid"), weights.inception, INCEPTION_MODEL, "--inception-weights"),
             ("lpips_backbone", ("lpips",), weights.lpips_backbone, backbone_model, "--lpips-backbone-weights"),
             ("lpips_lin", ("lpips",), weights.lpips_lin, lin_model, "--lpips-weights"))
    for key, metric_names, explicit, model_name, option in needs:
        if not wanted & set(metric_names):
            continue
        path, why = _resolve(explicit, model_name, option)
        if path is not None:
            files[key] = path
            continue
        for metric in metric_names:
            if metric in wanted:
                if metrics is not None:
                    raise VtonkitError(f"{metric.upper()} needs {why}")
                previous = not_computed.get(metric)
                not_computed[metric] = f"{previous}; and {why}" if previous else f"needs {why}"
    if "lpips" in not_computed:
        files.pop("lpips_backbone", None)
        files.pop("lpips_lin", None)
    for metric in METRICS:
        if metric not in wanted and metric not in not_computed:
            not_computed[metric] = "not requested"
    return files, not_computed


class OtherSizeError(InputError):
    """An output of another size than the protocol's, without --resize-pred: left out, and counted."""


class _Scorer:
    """Brings images to the protocol's resolution and scores them."""

    def __init__(self, protocol: Protocol, resize_pred: bool) -> None:
        self.protocol = protocol
        self.resize_pred = resize_pred

    def prediction(self, path: Path) -> np.ndarray:
        rgb = read_rgb(path)
        height, width = self.protocol.resolution
        if rgb.shape[:2] != (height, width):
            if not self.resize_pred:
                raise OtherSizeError(path, f"size {rgb.shape[1]}x{rgb.shape[0]} (WxH) but protocol {self.protocol.name} "
                                           f"evaluates at {width}x{height}; resize the outputs or pass --resize-pred")
            rgb = pil_resize_uint8(rgb, (height, width), self.protocol.resize_filter)
        return rgb

    def real(self, path: Path) -> np.ndarray:
        return pil_resize_uint8(read_rgb(path), self.protocol.resolution, self.protocol.resize_filter)

    def ssim(self, pred: np.ndarray, real: np.ndarray, mask: np.ndarray | None = None) -> float:
        border = self.protocol.ssim_border
        if self.protocol.ssim_colour == "grey":
            return ssim(greyscale(real), greyscale(pred), data_range=255.0, mask=mask, border=border)
        return ssim(psnr_metric.unit_float(real), psnr_metric.unit_float(pred), data_range=1.0, mask=mask, border=border)

    def lpips_input(self, rgb: np.ndarray) -> torch.Tensor:
        if self.protocol.lpips_size is not None:
            rgb = pil_resize_uint8(rgb, self.protocol.lpips_size, self.protocol.lpips_filter)
        return to_unit_range(rgb)[None]


def _garment_mask(split: SplitDir, person: str, category: str, size: tuple[int, int]) -> np.ndarray:
    labels = read_parse(split.parse(person))
    if labels.shape != size:
        labels = np.asarray(Image.fromarray(labels).resize((size[1], size[0]), Image.Resampling.NEAREST))
    mask = np.isin(labels, GARMENT_LABELS[category])
    if not mask.any():
        raise InputError(split.parse(person), f"no {category} garment pixels in the parse: masked metrics left out")
    return mask


def evaluate(
    pred_dir: Path,
    dataset: Path,
    protocol: Protocol,
    *,
    split: str = "test",
    pairs_file: Path | None = None,
    weights: FeatureWeights | None = None,
    metrics: Sequence[str] | None = None,
    masked: bool = True,
    category: str = "upper",
    compare_to_person: bool = False,
    resize_pred: bool = False,
    kid_subset_size: int | None = None,
    kid_subsets: int | None = None,
    seed: int = 0,
    device: str = "cpu",
    progress: Progress | None = None,
) -> EvaluationResult:
    """Score the predictions in `pred_dir` against `dataset/<split>` with `protocol`."""
    pred_dir, dataset = Path(pred_dir), Path(dataset)
    if not pred_dir.is_dir():
        raise InputError(pred_dir, "prediction folder not found")
    if pairs_file is not None:  # a path, or a name inside the dataset root, as infer and train read it
        pairs_file = pairs_path(dataset, split, pairs_file)
    split_dir = SplitDir(dataset / split)
    real_paths = list_images(split_dir.root / "image") if (split_dir.root / "image").is_dir() else []
    if not real_paths:
        raise InputError(split_dir.root / "image", "no ground-truth person images (is this an HR-VITON dataset?)")
    files, not_computed = resolve_weights(protocol, weights or FeatureWeights(), metrics)
    placeholders = placeholder_stems(split_dir.root.parent, split_dir.root.name)
    predictions, skipped = match_predictions(pred_dir, split_dir, pairs_file=pairs_file,
                                             compare_to_person=compare_to_person, placeholders=placeholders)
    if not predictions:
        raise InputError(pred_dir, "no predictions to evaluate" + (f" ({skipped[0].reason}, ...)" if skipped else ""))
    kid_size = kid_subset_size or protocol.kid_subset_size
    kid_count = kid_subsets or protocol.kid_subsets
    want_features = "inception" in files and ({"fid", "kid"} - set(not_computed))
    if want_features and "kid" not in not_computed:
        # Fail before the slow part when the sets are too small for KID's subsets.
        subset_indices(len(real_paths), len(predictions), 1, kid_size)
    inception = load_inception(files["inception"], device) if want_features else None
    lpips_net = (load_lpips(protocol.lpips_backbone, files["lpips_backbone"], files["lpips_lin"], device)
                 if "lpips_lin" in files else None)

    scorer = _Scorer(protocol, resize_pred)
    total = len(predictions) + (len(real_paths) if inception is not None else 0)
    done = 0
    scores: list[PairScore] = []
    squared_sum, value_count = 0.0, 0
    other_size = 0  # outputs left out for their size: the ground truth is there, the output was not read
    fake_features: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush(features: list[np.ndarray]) -> None:
        if batch:
            features.append(inception_features(inception, batch, protocol.inception_input))
            batch.clear()

    for prediction in predictions:
        try:
            pred = scorer.prediction(prediction.path)
        except InputError as exc:
            skipped.append(Skipped(prediction.name, str(exc)))
            other_size += isinstance(exc, OtherSizeError)
        else:
            if prediction.ground_truth is not None:
                try:
                    score, sq, n = _score_pair(prediction, pred, scorer, split_dir, lpips_net, masked, category,
                                               skipped, device)
                except InputError as exc:  # its ground truth: the generated image still counts for FID/KID
                    skipped.append(Skipped(prediction.name, str(exc), "paired"))
                else:
                    scores.append(score)
                    squared_sum, value_count = squared_sum + sq, value_count + n
            if inception is not None:
                batch.append(pred)
                if len(batch) >= FEATURE_BATCH:
                    flush(fake_features)
        done += 1
        if progress:
            progress(done, total)
    if inception is not None:
        flush(fake_features)
    real_features: list[np.ndarray] = []
    if inception is not None:
        for path in real_paths:
            try:
                batch.append(scorer.real(path))
            except InputError as exc:
                skipped.append(Skipped(f"real:{path.name}", str(exc)))
            if len(batch) >= FEATURE_BATCH:
                flush(real_features)
            done += 1
            if progress:
                progress(done, total)
        flush(real_features)

    fid = kid = None
    fakes = np.concatenate(fake_features) if fake_features else np.zeros((0, 2048))
    reals = np.concatenate(real_features) if real_features else np.zeros((0, 2048))
    if inception is not None and "fid" not in not_computed:
        if min(len(fakes), len(reals)) < 2:
            not_computed["fid"] = f"needs at least 2 images per set, got {len(reals)} real and {len(fakes)} generated"
        else:
            fid = frechet_distance(feature_statistics(reals), feature_statistics(fakes))
    if inception is not None and "kid" not in not_computed:
        try:
            raw = kernel_inception_distance(reals, fakes, subsets=kid_count, subset_size=kid_size, seed=seed)
        except TooFewImagesError as exc:
            # checked before the slow part on the files found; skipped (unreadable) images can still
            # leave too few here, and the metrics already computed must not be thrown away with it
            not_computed["kid"] = f"{exc} (after the skipped images listed in the report)"
        else:
            kid = KidResult(raw.mean * protocol.kid_scale, raw.std * protocol.kid_scale, raw.subsets, raw.subset_size)

    means, official = _averages(scores, protocol, squared_sum, value_count, len(real_paths))
    counts = {
        "predictions": len(predictions), "paired_scored": len(scores), "generated_for_fid": len(fakes),
        "real_images": len(real_paths), "real_for_fid": len(reals),
        "skipped": sum(1 for s in skipped if s.metrics == "all"),
        "skipped_for_size": other_size,  # of `skipped`: outputs of another size (no --resize-pred)
        # unpaired try-ons have no ground truth: left out of SSIM/LPIPS/PSNR only (the `skipped` list names them)
        "skipped_paired_metrics": sum(1 for s in skipped if s.metrics == "paired"),
    }
    settings = {"resize_pred": resize_pred, "masked": masked, "category": category,
                "compare_to_person": compare_to_person, "pairs_file": str(pairs_file) if pairs_file else None,
                "kid_subsets": kid_count, "kid_subset_size": kid_size, "kid_seed": seed, "metrics": list(metrics or METRICS)}
    weights_used = {key: {"path": str(path), "sha256": file_digest(path)} for key, path in files.items()}
    return EvaluationResult(protocol, str(pred_dir), str(dataset), split, counts, means, official, fid, kid, scores,
                            skipped, not_computed, settings, weights_used, library_versions())


def _score_pair(prediction: Prediction, pred: np.ndarray, scorer: _Scorer, split: SplitDir, lpips_net,
                masked: bool, category: str, skipped: list[Skipped], device: str) -> tuple[PairScore, float, int]:
    real = scorer.real(prediction.ground_truth)
    sq, n = psnr_metric.squared_error(pred, real)
    score = PairScore(prediction.name, prediction.person, prediction.cloth, scorer.ssim(pred, real),
                      psnr_metric.psnr_from_mse(sq / n), sq / n)
    if lpips_net is not None:
        score.lpips = float(lpips_net(scorer.lpips_input(real).to(device), scorer.lpips_input(pred).to(device))[0])
    if masked:
        try:
            mask = _garment_mask(split, prediction.person, category, pred.shape[:2])
            score.masked_ssim = scorer.ssim(pred, real, mask)
            msq, mn = psnr_metric.squared_error(pred, real, mask)
            score.masked_psnr = psnr_metric.psnr_from_mse(msq / mn)
        except (InputError, ValueError) as exc:
            skipped.append(Skipped(prediction.name, f"masked metrics: {exc}", "masked"))
    return score, sq, n


def _averages(scores: list[PairScore], protocol: Protocol, squared_sum: float, value_count: int,
              gt_count: int) -> tuple[dict[str, float], dict[str, float]]:
    means: dict[str, float] = {}
    official: dict[str, float] = {}
    for metric in ("ssim", "psnr", "mse", "lpips", "masked_ssim", "masked_psnr"):
        values = [getattr(s, metric) for s in scores if getattr(s, metric) is not None]
        if not values:
            continue
        means[metric] = float(np.mean(values))
        if protocol.divide_by_gt_count and metric in ("ssim", "mse", "lpips"):
            official[metric] = float(np.sum(values) / gt_count)
    if protocol.psnr_reduction == "pooled" and value_count:
        means["psnr"] = psnr_metric.psnr_from_mse(squared_sum / value_count)
    return means, official
