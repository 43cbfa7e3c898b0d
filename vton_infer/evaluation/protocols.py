"""Named evaluation protocols: every setting that changes a number, in one record.

A number without its protocol cannot be compared: the same outputs score differently with
greyscale or RGB SSIM, LPIPS at 128x128 or at full size, pytorch-fid's or clean-fid's resize.
docs/evaluation.md explains each field and where each protocol comes from.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    """How to score try-on outputs.

    Attributes:
        name: protocol name (`vtonkit evaluate --protocol NAME`).
        summary: one line: where the settings come from.
        resolution: (height, width) every metric runs at; predictions must have it (or be resized
            with `--resize-pred`), ground truth is resized to it with `resize_filter`.
        resize_filter: PIL filter ("bilinear", "bicubic") for bringing images to `resolution`.
        ssim_colour: "grey" (PIL convert("L"), uint8, data range 255) or "rgb" (per channel on
            [0, 1] floats, data range 1).
        ssim_border: "crop" (average without the 5-pixel window radius, scikit-image) or "reflect"
            (mirror padding, whole map, torchmetrics 1.9).
        lpips_backbone: "alex" or "vgg".
        lpips_size: (height, width) LPIPS inputs are squashed to with PIL `lpips_filter` first,
            or None for `resolution`.
        psnr_reduction: "per-image" (mean of per-image PSNRs) or "pooled" (PSNR of the MSE over
            all pixels of all images, torchmetrics' default).
        inception_input: Inception input convention ("pytorch-fid", "clean", "tf1-bilinear").
        kid_subsets, kid_subset_size: KID's random subsets; `kid_scale` multiplies the reported KID.
        divide_by_gt_count: also report the average divided by the number of ground-truth
            images in the split (HR-VITON evaluate.py's quirk), next to the true mean.
        library: the library convention this protocol reproduces.
    """

    name: str
    summary: str
    resolution: tuple[int, int]
    resize_filter: str
    ssim_colour: str
    ssim_border: str
    lpips_backbone: str
    lpips_size: tuple[int, int] | None
    lpips_filter: str
    psnr_reduction: str
    inception_input: str
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_scale: float = 1000.0
    divide_by_gt_count: bool = False
    library: str = ""

    @property
    def ssim_data_range(self) -> float:
        return 255.0 if self.ssim_colour == "grey" else 1.0

    def to_dict(self) -> dict:
        return asdict(self)


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol(
        name="hrviton",
        summary="HR-VITON's official evaluate.py at its default --resolution 1024 (no FID/KID there: pytorch-fid's added)",
        resolution=(1024, 768), resize_filter="bilinear",
        ssim_colour="grey", ssim_border="crop", lpips_backbone="alex", lpips_size=(128, 128), lpips_filter="bilinear",
        psnr_reduction="per-image", inception_input="pytorch-fid", divide_by_gt_count=True,
        library="scikit-image SSIM (gaussian, sigma 1.5, population covariance, data range 255) on greyscale; "
                "PerceptualSimilarity v0.1 LPIPS alex on PIL-resized 128x128 inputs; MSE of ToTensor RGB; "
                "pytorch-fid for FID; KID with torchmetrics' estimator",
    ),
    Protocol(
        name="cleanfid-512",
        summary="clean-fid FID/KID (clean resize) at 512x384, RGB paired metrics",
        resolution=(512, 384), resize_filter="bicubic",
        ssim_colour="rgb", ssim_border="crop", lpips_backbone="alex", lpips_size=None, lpips_filter="bicubic",
        psnr_reduction="per-image", inception_input="clean",
        library="clean-fid mode 'clean' (PIL bicubic on float channels to 299x299, (x - 128) / 128); "
                "SSIM as scikit-image on RGB (data range 1, without the 5-pixel border) and LPIPS alex on [-1, 1] at 512x384",
    ),
    Protocol(
        name="torchmetrics-1024",
        summary="torchmetrics metrics at the native 1024x768",
        resolution=(1024, 768), resize_filter="bicubic",
        ssim_colour="rgb", ssim_border="reflect", lpips_backbone="vgg", lpips_size=None, lpips_filter="bicubic",
        psnr_reduction="pooled", inception_input="tf1-bilinear",
        library="torchmetrics 1.9: StructuralSimilarityIndexMeasure(data_range=1.0) (mirror padding, whole map), PeakSignalNoiseRatio(data_range=1.0) "
                "(MSE pooled over all images), LearnedPerceptualImagePatchSimilarity(net_type='vgg'), "
                "FrechetInceptionDistance / KernelInceptionDistance (torch-fidelity Inception input: uint8, "
                "TensorFlow-1 bilinear resize, (x - 128) / 128)",
    ),
)}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None
