"""Cross-check of vtonkit's metric code against torchmetrics on the same inputs (not a test: torchmetrics
is no vtonkit dependency; install it beside, e.g. `pip install --no-deps --target /tmp/tm torchmetrics
lightning-utilities` and pass `--torchmetrics-path /tmp/tm`).

Compares, on real images (ground truth vs outputs, e.g. `vtonkit infer --method warp` outputs) at half
resolution: RGB SSIM (torchmetrics' mirror-padded whole-map convention), pooled PSNR, and on random
features: FID (`_compute_fid`) and the KID kernel MMD (`poly_mmd`). Usage:
    python bench/metrics_vs_torchmetrics.py --real DATASET/test/image --pred OUTPUTS [--torchmetrics-path /tmp/tm]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from vtonkit.datasets.io.images import read_rgb
from vtonkit.vton_infer.evaluation import fid, kid, psnr, ssim
from vtonkit.vton_infer.evaluation.matching import list_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="folder of person photos <person>.jpg")
    parser.add_argument("--pred", type=Path, required=True, help="folder of outputs <person>_<person>.png (paired)")
    parser.add_argument("--torchmetrics-path", type=Path, help="folder torchmetrics was installed into")
    args = parser.parse_args()
    if args.torchmetrics_path:
        sys.path.insert(0, str(args.torchmetrics_path))
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
    from torchmetrics.image.fid import _compute_fid
    from torchmetrics.image.kid import poly_mmd

    pairs = [(args.real / f"{p.stem.rsplit('_', 2)[0]}.jpg", p) for p in list_images(args.pred)]
    pairs = [(real, pred) for real, pred in pairs if real.is_file()]
    reals = [read_rgb(real)[::2, ::2] for real, _ in pairs]
    preds = [read_rgb(pred)[::2, ::2] for _, pred in pairs]
    as_batch = lambda images: torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).double() / 255
    theirs = structural_similarity_index_measure(as_batch(preds), as_batch(reals), data_range=1.0).item()
    ours = np.mean([ssim.ssim(psnr.unit_float(r), psnr.unit_float(p), data_range=1.0, border="reflect")
                    for r, p in zip(reals, preds)])
    print(f"SSIM (RGB, reflect) on {len(pairs)} pairs: torchmetrics {theirs:.12f} vtonkit {ours:.12f} |diff| {abs(theirs - ours):.1e}")
    theirs = peak_signal_noise_ratio(as_batch(preds), as_batch(reals), data_range=1.0).item()
    errors = [psnr.squared_error(p, r) for r, p in zip(reals, preds)]
    ours = psnr.psnr_from_mse(sum(e[0] for e in errors) / sum(e[1] for e in errors))
    print(f"PSNR (pooled): torchmetrics {theirs:.9f} vtonkit {ours:.9f} |diff| {abs(theirs - ours):.1e}")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 64)), rng.normal(size=(200, 64)) * 1.2 + 0.1
    sa, sb = fid.feature_statistics(a), fid.feature_statistics(b)
    theirs = _compute_fid(*(torch.from_numpy(t) for t in (sa.mean, sa.covariance, sb.mean, sb.covariance))).item()
    ours = fid.frechet_distance(sa, sb)
    print(f"FID (random features): torchmetrics {theirs:.12f} vtonkit {ours:.12f} |diff| {abs(theirs - ours):.1e}")
    theirs = poly_mmd(torch.from_numpy(a[:50]), torch.from_numpy(b[:50])).item()
    ours = kid.mmd2_unbiased(a[:50], b[:50])
    print(f"KID MMD (one subset): torchmetrics {theirs:.12f} vtonkit {ours:.12f} |diff| {abs(theirs - ours):.1e}")


if __name__ == "__main__":
    main()
