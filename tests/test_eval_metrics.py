"""The metric math of `vtonkit evaluate` against independent implementations on the same inputs:
SSIM vs scikit-image (HR-VITON's greyscale convention and torchmetrics' RGB one), FID's matrix
square root vs scipy, FID vs the closed form on known statistics, KID vs a direct double-loop
MMD, the clean-fid resize vs PIL bicubic on float images, the TF1 bilinear resize by hand."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image
from skimage.metrics import structural_similarity
from vtonkit.vton_infer.evaluation import fid, kid, resize, ssim
from vtonkit.vton_infer.evaluation.psnr import psnr_from_mse, squared_error


@pytest.fixture(scope="module")
def person_and_garment(vitonhd: Path) -> tuple[np.ndarray, np.ndarray]:
    """A real VITON-HD photo and the same photo with a different garment painted on (a try-on stand-in)."""
    image = np.asarray(Image.open(vitonhd / "test/image/00013_00.jpg").convert("RGB"))
    other = np.asarray(Image.open(vitonhd / "test/image/00017_00.jpg").convert("RGB"))
    fake = image.copy()
    fake[400:700, 200:560] = other[400:700, 200:560]
    return image, fake


def test_ssim_greyscale_matches_scikit_image_as_hrviton_evaluate_calls_it(person_and_garment) -> None:
    real, fake = person_and_garment
    grey_real, grey_fake = ssim.greyscale(real), ssim.greyscale(fake)
    assert np.array_equal(grey_real, np.asarray(Image.fromarray(real).convert("L")))
    expected = structural_similarity(grey_real, grey_fake, data_range=255, gaussian_weights=True,
                                     use_sample_covariance=False)
    ours = ssim.ssim(grey_real, grey_fake, data_range=255.0)
    assert ours == pytest.approx(expected, abs=1e-9)
    assert 0.5 < ours < 0.99  # the painted block lowers it, the rest is identical


def test_ssim_rgb_matches_scikit_image_in_torchmetrics_convention(person_and_garment) -> None:
    real, fake = (x[::4, ::4] / 255.0 for x in person_and_garment)
    expected = structural_similarity(real, fake, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, channel_axis=2)
    ours = ssim.ssim(real, fake, data_range=1.0)
    assert ours == pytest.approx(expected, abs=1e-9)
    # the map is the full one without the 5-pixel border; a mask keeps the mean of its pixels
    _, full = structural_similarity(real, fake, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, channel_axis=2, full=True)
    mask = np.zeros(real.shape[:2], bool)
    mask[100:175, 50:140] = True
    assert ssim.ssim(real, fake, data_range=1.0, mask=mask) == pytest.approx(full[mask].mean(), abs=1e-9)


def _torch_reflect_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """torchmetrics 1.9's recipe written with torch: reflect-pad 5, 11x11 Gaussian (sigma 1.5), clamp, whole-map mean."""
    x = torch.from_numpy(a).permute(2, 0, 1)[None]
    y = torch.from_numpy(b).permute(2, 0, 1)[None]
    d = torch.arange(-5, 6, dtype=torch.float64)
    g = torch.exp(-((d / 1.5) ** 2) / 2)
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)
    x, y = torch.nn.functional.pad(x, (5, 5, 5, 5), mode="reflect"), torch.nn.functional.pad(y, (5, 5, 5, 5), mode="reflect")
    mx, my, xx, yy, xy = (torch.nn.functional.conv2d(t, kernel, groups=3) for t in (x, y, x * x, y * y, x * y))
    vx, vy, cxy = (xx - mx**2).clamp(min=0), (yy - my**2).clamp(min=0), xy - mx * my
    c1, c2 = 0.01**2, 0.03**2
    return float((((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean())


def test_ssim_reflect_border_is_the_torchmetrics_recipe(person_and_garment) -> None:
    real, fake = (x[::4, ::4] / 255.0 for x in person_and_garment)
    ours = ssim.ssim(real, fake, data_range=1.0, border="reflect")
    assert ours == pytest.approx(_torch_reflect_ssim(real, fake), abs=1e-9)
    assert abs(ours - ssim.ssim(real, fake, data_range=1.0)) > 1e-4  # the border handling matters


def test_psnr_and_mse_on_a_known_difference() -> None:
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:5] = 51  # half the values off by 0.2
    total, count = squared_error(a, b)
    assert count == 300 and total / count == pytest.approx(0.02)
    assert psnr_from_mse(total / count) == pytest.approx(10 * math.log10(1 / 0.02))
    mask = np.zeros((10, 10), bool)
    mask[:5] = True
    assert squared_error(a, b, mask)[0] / squared_error(a, b, mask)[1] == pytest.approx(0.04)


def _spd(rng: np.random.Generator, d: int, condition: float = 50.0) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * np.geomspace(1.0, 1.0 / condition, d)) @ q.T


def test_matrix_square_root_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(3)
    s1, s2 = _spd(rng, 32), _spd(rng, 32)
    reference = scipy.linalg.sqrtm(s1 @ s2)
    ours = fid.sqrtm_product(s1, s2)
    assert np.allclose(ours, reference, atol=1e-8)
    assert np.allclose(ours @ ours, s1 @ s2, atol=1e-10)
    assert fid.trace_sqrt_product(s1, s2) == pytest.approx(np.trace(reference).real, rel=1e-10)


def test_fid_on_feature_sets_with_known_statistics() -> None:
    """Diagonal covariances commute: FID = |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2 exactly."""
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    a, b = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    known = fid.frechet_distance(fid.FeatureStatistics(mu1, np.diag(a), 0), fid.FeatureStatistics(mu2, np.diag(b), 0))
    assert known == pytest.approx(((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum(), rel=1e-12)
    # Sampled features: our statistics and distance vs pytorch-fid's formula written with scipy
    x = mu1 + rng.normal(size=(4000, d)) * np.sqrt(a)
    y = mu2 + rng.normal(size=(3000, d)) * np.sqrt(b)
    sx, sy = fid.feature_statistics(x), fid.feature_statistics(y)
    assert np.allclose(sx.covariance, np.cov(x, rowvar=False)) and sx.count == 4000
    diff = sx.mean - sy.mean
    reference = diff @ diff + np.trace(sx.covariance) + np.trace(sy.covariance) \
        - 2 * np.trace(scipy.linalg.sqrtm(sx.covariance @ sy.covariance).real)
    assert fid.frechet_distance(sx, sy) == pytest.approx(reference, rel=1e-9)
    assert fid.frechet_distance(sx, sy) == pytest.approx(known, rel=0.05)  # the sample is close to the truth
    assert fid.frechet_distance(sx, sx) == pytest.approx(0, abs=1e-9)


def test_fid_stays_finite_on_rank_deficient_covariances() -> None:
    """5 images in 64 dimensions (like 5 try-ons in 2048): singular covariances, no offset needed."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 64)), rng.normal(size=(5, 64)) + 0.5
    stats_x, stats_y = fid.feature_statistics(x), fid.feature_statistics(y)
    value = fid.frechet_distance(stats_x, stats_y)  # the small-sample route (nuclear norm)
    sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    full = fid.frechet_distance(fid.FeatureStatistics(stats_x.mean, sx, 5), fid.FeatureStatistics(stats_y.mean, sy, 5))
    # the eigendecomposition route agrees (up to sqrt of rounding-level eigenvalues of the null space)
    assert value == pytest.approx(full, rel=1e-7)
    offset = np.eye(64) * 1e-6  # pytorch-fid's fallback for singular products
    reference_trace = np.trace(scipy.linalg.sqrtm((sx + offset) @ (sy + offset)).real)
    diff = x.mean(0) - y.mean(0)
    reference = diff @ diff + np.trace(sx) + np.trace(sy) - 2 * reference_trace
    assert math.isfinite(value) and value == pytest.approx(reference, rel=1e-3)


def _direct_mmd(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, summed pair by pair."""
    m, d = len(x), x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1) ** 3
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m)


def test_kid_matches_a_direct_polynomial_kernel_mmd() -> None:
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(30, 8)), rng.normal(size=(25, 8)) * 1.3 + 0.2
    result = kid.kernel_inception_distance(real, fake, subsets=6, subset_size=10, seed=5)
    draws = kid.subset_indices(30, 25, 6, 10, seed=5)
    direct = [_direct_mmd(real[r], fake[f]) for r, f in draws]
    assert result.mean == pytest.approx(np.mean(direct), rel=1e-10)
    assert result.std == pytest.approx(np.std(direct), rel=1e-9)
    assert (result.subsets, result.subset_size) == (6, 10)
    same = kid.kernel_inception_distance(real, real, subsets=6, subset_size=10, seed=5)
    assert abs(same.mean) < result.mean  # unbiased: near 0 for one distribution


def test_kid_refuses_fewer_images_than_its_subset_size() -> None:
    with pytest.raises(kid.TooFewImagesError, match=r"at least 1000 .* got 5 real and 4 generated.* at most 4"):
        kid.kernel_inception_distance(np.ones((5, 3)), np.ones((4, 3)))


def test_clean_resize_is_pil_bicubic_on_float_channels() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, size=(64, 48, 3)).astype(np.uint8)
    ours = resize.clean_resize(rgb, (29, 23))
    assert ours.dtype == np.float32 and ours.shape == (29, 23, 3)
    for c in range(3):
        reference = Image.frombytes("F", (48, 64), rgb[:, :, c].astype("<f4").tobytes())
        expected = np.asarray(reference.resize((23, 29), Image.Resampling.BICUBIC)).clip(0, 255)
        assert np.array_equal(ours[:, :, c], expected)
    # no quantisation: values between integers survive; the uint8 resize differs from it
    assert (ours != np.round(ours)).mean() > 0.5
    uint8 = resize.pil_resize_uint8(rgb, (29, 23), "bicubic").astype(np.float32)
    assert 0 < np.abs(uint8 - ours).max() <= 1.0


def test_tf1_bilinear_samples_at_dst_times_scale_without_half_pixel_offset() -> None:
    x = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4)
    out = resize.tf1_bilinear(x, (3, 3))
    # rows/cols sampled at 0, 4/3, 8/3: e.g. out[1, 1] = value at (4/3, 4/3) = 4 * 4/3 + 4/3
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 1, 1].item() == pytest.approx(4 * 4 / 3 + 4 / 3)
    assert out[0, 0, 2, 2].item() == pytest.approx(4 * 8 / 3 + 8 / 3)
    # upsampling clamps at the last row (TensorFlow 1 does not reflect)
    assert resize.tf1_bilinear(x, (8, 8))[0, 0, -1, -1].item() == pytest.approx(15.0)
