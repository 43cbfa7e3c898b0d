"""The HR-VITON test-time path (`test_generator.py`, format doc section 6), batch in, images out.

Per batch at 1024x768: garment mask `> 0.5`; 256x192 downsampling (garment bilinear, mask and
parse-agnostic nearest, DensePose bilinear); condition generator; 'warp_grad' composition of the
garment channel with the warped mask; bilinear upsampling of the layout scores and a 15x15
sigma-3 Gaussian blur (zero padding); argmax; 13 -> 7 merge; flow upsampling normalised with the
low-resolution flow size; border-padded `grid_sample` of garment and mask; occlusion handling
(mask minus the probability of body parts that may cover it); SPADE generator.

Every step uses the same torch operations in the same order as the official code, so float32
CPU results match it to the last bits (see tests/test_vton_fixtures.py for the measured figures).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from vtonkit.datasets.labels import T13_TO_7
from vtonkit.vton_infer.checkpoints import load_condition_generator, load_generator
from vtonkit.vton_infer.networks import ConditionGenerator, ConditionOutput, SPADEGenerator
from vtonkit.vton_infer.networks.condition import make_grid, normalise_flow

logger = logging.getLogger(__name__)

CONDITION_SIZE = (256, 192)
BLUR_SIZE = 15
BLUR_SIGMA = 3.0
# 13-class layout channels that may cover the garment (hair, face, arms, legs, shoes, socks, noise);
# background (0), upper (3) and bottom (4) do not.
OCCLUDING_CHANNELS = (slice(1, 3), slice(5, None))
COMPOSITIONS = ("warp_grad", "detach", "no_composition")
# reduced precisions = the generator under autocast (bf16: CPU with AMX/AVX512-BF16 or GPU; fp16: GPU);
# opt-in, their deviation from float32 measured on the first batch
PRECISIONS = ("fp32", "bf16", "fp16")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def gaussian_kernel(size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """(size, size) float32 normalised Gaussian, computed like torchgeometry's kernel.

    1-D taps exp(-(k - size//2)^2 / (2 sigma^2)): the exponent in Python float, exp in float32,
    divided by their float32 sum; the 2-D kernel is their outer product.
    """
    taps = torch.stack([torch.exp(torch.tensor(-((k - size // 2) ** 2) / float(2 * sigma**2))) for k in range(size)])
    taps = taps / taps.sum()
    return torch.matmul(taps.unsqueeze(-1), taps.unsqueeze(-1).t())


def gaussian_blur(x: torch.Tensor, kernel: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """Depthwise blur of (N, C, H, W) with a (k, k) kernel, zero padding k//2 (one 2-D convolution).

    channels_last: run the convolution on a channels-last copy (oneDNN's depthwise kernel for that
    layout is ~50x faster on CPU for 13 channels and 15x15; results differ from the NCHW one by
    float32 summation order, about 1e-6) and return a channels-last tensor.
    """
    channels = x.shape[1]
    weight = kernel.to(x.device, x.dtype).repeat(channels, 1, 1, 1)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return F.conv2d(x, weight, padding=kernel.shape[-1] // 2, groups=channels)


def remove_overlap(probabilities: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """Occlusion handling: mask - mask * sum of the occluding channels' probabilities (N, 1, H, W)."""
    occluding = torch.cat([probabilities[:, s] for s in OCCLUDING_CHANNELS], dim=1)
    return warped_mask - occluding.sum(dim=1, keepdim=True) * warped_mask


def to_uint8_images(output: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 like the official `save_images` (truncating)."""
    scaled = ((output.detach().float().cpu() + 1) * 0.5 * 255).clamp(0, 255)
    return scaled.numpy().astype(np.uint8).transpose(0, 2, 3, 1)


def compose_garment_channel(segmap: torch.Tensor, warped_cloth_mask: torch.Tensor, composition: str) -> torch.Tensor:
    """`--clothmask_composition`: layout scores with the garment channel (3) times the warped mask.

    warp_grad: the mask itself (gradient flows into the warp); detach: the mask > 0.5;
    no_composition: unchanged."""
    if composition not in COMPOSITIONS:
        raise ValueError(f"composition must be one of {COMPOSITIONS}, not {composition!r}")
    if composition == "no_composition":
        return segmap
    channel_mask = torch.ones_like(segmap)
    channel_mask[:, 3:4] = (warped_cloth_mask > 0.5).float() if composition == "detach" else warped_cloth_mask
    return segmap * channel_mask


@dataclass
class ConditionStageResult:
    """The condition stage of the test-time path (everything before the image generator)."""

    input1: torch.Tensor  # (N, 4, 256, 192)
    input2: torch.Tensor  # (N, 16, 256, 192)
    condition: ConditionOutput
    fake_segmap: torch.Tensor  # (N, 13, 256, 192) after the mask composition
    fake_parse: torch.Tensor  # (N, H, W) int64, 13 classes
    warped_cloth: torch.Tensor  # (N, 3, H, W), white where the (occlusion-handled) mask is 0
    warped_cloth_mask: torch.Tensor  # (N, 1, H, W)


def condition_stage(
    tocg: ConditionGenerator,
    cloth: torch.Tensor,
    cloth_mask: torch.Tensor,
    parse_agnostic: torch.Tensor,
    densepose: torch.Tensor,
    *,
    occlusion: bool = True,
    composition: str = "warp_grad",
    blur_kernel: torch.Tensor | None = None,
    fake_parse_override: torch.Tensor | None = None,
    channels_last_blur: bool = False,
) -> ConditionStageResult:
    """test_generator.py steps 2-9 (also train_generator.py's frozen stage) at the inputs' size H, W.

    cloth (N, 3, H, W) and densepose in [-1, 1], cloth_mask (N, 1, H, W) in {0, 1}, parse_agnostic
    (N, 13, H, W) one-hot. The caller chooses the mode and grad context (eval, no_grad).
    channels_last_blur: see `gaussian_blur` (not the official operation order; off = bit for bit).
    """
    n, _, height, width = cloth.shape
    input1 = torch.cat([F.interpolate(cloth, size=CONDITION_SIZE, mode="bilinear"),
                        F.interpolate(cloth_mask, size=CONDITION_SIZE, mode="nearest")], 1)
    input2 = torch.cat([F.interpolate(parse_agnostic, size=CONDITION_SIZE, mode="nearest"),
                        F.interpolate(densepose, size=CONDITION_SIZE, mode="bilinear")], 1)
    condition = tocg(input1, input2)
    fake_segmap = compose_garment_channel(condition.segmap, condition.warped_cloth_mask, composition)

    kernel = gaussian_kernel() if blur_kernel is None else blur_kernel
    fake_parse_gauss = gaussian_blur(F.interpolate(fake_segmap, size=(height, width), mode="bilinear"), kernel,
                                     channels_last=channels_last_blur)
    fake_parse = fake_parse_gauss.argmax(dim=1)
    if fake_parse_override is not None:
        fake_parse = fake_parse_override.to(cloth.device, torch.int64)

    low = condition.flow_list[-1]
    flow = F.interpolate(low.permute(0, 3, 1, 2), size=(height, width), mode="bilinear").permute(0, 2, 3, 1)
    flow_norm = normalise_flow(flow, low.shape[1], low.shape[2])
    warped_grid = make_grid(n, height, width, cloth.device) + flow_norm
    warped_cloth = F.grid_sample(cloth, warped_grid, padding_mode="border", align_corners=False)
    warped_mask = F.grid_sample(cloth_mask, warped_grid, padding_mode="border", align_corners=False)
    if occlusion:
        warped_mask = remove_overlap(F.softmax(fake_parse_gauss, dim=1), warped_mask)
        warped_cloth = warped_cloth * warped_mask + torch.ones_like(warped_cloth) * (1 - warped_mask)
    return ConditionStageResult(input1, input2, condition, fake_segmap, fake_parse, warped_cloth, warped_mask)


def generator_layout(fake_parse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """13-class labels (N, H, W) -> (7-class labels (N, H, W), one-hot (N, 7, H, W) float32, NCHW-contiguous)."""
    parse7 = torch.from_numpy(T13_TO_7.astype(np.int64)).to(fake_parse.device)[fake_parse]
    return parse7, F.one_hot(parse7, 7).permute(0, 3, 1, 2).float().contiguous()


@dataclass
class PipelineResult(ConditionStageResult):
    """Everything one batch produced (N = batch size; H, W = input size): the condition stage's fields,
    the generator's 7-class layout and its output."""

    parse7: torch.Tensor  # (N, H, W) int64, 7 classes (generator condition)
    output: torch.Tensor  # (N, 3, H, W) in [-1, 1]


def per_sample_tensors(result: PipelineResult) -> list[dict]:
    """Split a batch result into per-pair dicts of CPU tensors (`vtonkit infer --save-tensors`):
    the fixture's names (input1, flow_list, warped_cm_lo, fake_segmap, fake_parse, parse7_label,
    warped_cloth, warped_clothmask, output), float32 / uint8, no batch dim on label maps."""
    entries = []
    for i in range(result.output.shape[0]):
        entries.append({
            "input1": result.input1[i : i + 1].cpu(),
            "input2": result.input2[i : i + 1].cpu(),
            "flow_list": [f[i : i + 1].cpu() for f in result.condition.flow_list],
            "warped_cm_lo": result.condition.warped_cloth_mask[i : i + 1].cpu(),
            "fake_segmap": result.fake_segmap[i : i + 1].cpu(),
            "fake_parse": result.fake_parse[i].to(torch.uint8).cpu(),
            "parse7_label": result.parse7[i].to(torch.uint8).cpu(),
            "warped_cloth": result.warped_cloth[i : i + 1].cpu(),
            "warped_clothmask": result.warped_cloth_mask[i : i + 1].cpu(),
            "output": result.output[i : i + 1].cpu(),
        })
    return entries


class HRVitonPipeline:
    """The official inference path around a condition generator and an image generator.

    precision: fp32 (the official numbers), bf16 or fp16 (generator under autocast, opt-in; the
    deviation from fp32 is measured on the first batch, see `deviation`).
    channels_last: networks and inputs in channels-last memory format (GPU tensor cores; on the
    CPU the default NCHW is faster for these networks).
    reference_ops: perform the official operations everywhere (dense SPADE modulation, NCHW blur),
    bit for bit the official float32 results; slower. For benchmarks and checks.
    """

    def __init__(
        self,
        tocg: ConditionGenerator,
        generator: SPADEGenerator,
        *,
        device: str | torch.device = "cpu",
        occlusion: bool = True,
        composition: str = "warp_grad",
        seed: int | None = 0,
        precision: str = "fp32",
        channels_last: bool = False,
        reference_ops: bool = False,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if composition not in COMPOSITIONS:
            raise ValueError(f"composition must be one of {COMPOSITIONS}, not {composition!r}")
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.tocg = tocg.to(self.device, memory_format=self.memory_format).eval()
        self.generator = generator.to(self.device, memory_format=self.memory_format).eval()
        self.occlusion = occlusion
        self.composition = composition
        self.seed = seed
        self.precision = precision
        self.reference_ops = reference_ops
        self.deviation: dict[str, float] | None = None  # reduced precision vs fp32 on the first batch
        self.blur_kernel = gaussian_kernel().to(self.device)

    @classmethod
    def from_checkpoints(
        cls, tocg_checkpoint: str | Path, gen_checkpoint: str | Path, *, device: str | torch.device = "cpu", **options
    ) -> HRVitonPipeline:
        """Build from `mtviton.pth` and `gen.pth` (see `vtonkit.vton_infer.checkpoints`)."""
        return cls(load_condition_generator(tocg_checkpoint, device), load_generator(gen_checkpoint, device),
                   device=device, **options)

    def generate(self, x: torch.Tensor, parse: torch.Tensor) -> torch.Tensor:
        """The image generator, in float32 or (opt-in) bf16/fp16 autocast; float32 output."""
        sparse = None if not self.reference_ops else False
        noise_rng = self.noise_generators(x.shape[0])
        if self.precision == "fp32":
            return self.generator(x, parse, noise_rng=noise_rng, sparse_modulation=sparse)
        with torch.autocast(device_type=self.device.type, dtype=AUTOCAST_DTYPES[self.precision]):
            output = self.generator(x, parse, noise_rng=noise_rng, sparse_modulation=sparse)
        output = output.float()
        if self.deviation is None:
            # reduced precision is only offered with its measured effect: compare once with float32
            reference = self.generator(x, parse, noise_rng=self.noise_generators(x.shape[0]), sparse_modulation=sparse)
            diff = (output - reference).abs()
            self.deviation = {"max": diff.max().item(), "mean": diff.mean().item(),
                              "uint8_max": int(diff.max().item() * 127.5 + 1)}
            logger.warning("%s generator: max |diff| %.4f, mean %.5f vs float32 (output range [-1, 1]) on the "
                           "first batch", self.precision, self.deviation["max"], self.deviation["mean"])
        return output

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The batch's input tensors on the device: through pinned memory, asynchronously, on CUDA."""
        names = ("cloth", "cloth_mask", "parse_agnostic", "densepose", "agnostic")
        if self.device.type != "cuda":
            return {name: batch[name].to(self.device) for name in names}
        return {name: batch[name].pin_memory().to(self.device, non_blocking=True) for name in names}

    def noise_generators(self, batch: int) -> list[torch.Generator] | None:
        """One freshly seeded CPU generator per sample (None = global RNG, like the official script)."""
        if self.seed is None:
            return None
        return [torch.Generator().manual_seed(self.seed) for _ in range(batch)]

    @torch.inference_mode()
    def run(self, batch: dict[str, torch.Tensor], *, fake_parse_override: torch.Tensor | None = None) -> PipelineResult:
        """batch: `vtonkit.vton_infer.data.collate` output (cloth, cloth_mask, parse_agnostic, densepose, agnostic).

        fake_parse_override: (N, H, W) 13-class labels to use instead of the argmax (tests only:
        the fixture's way of comparing past an argmax tie).
        """
        inputs = self.to_device(batch)
        stage = condition_stage(
            self.tocg, inputs["cloth"], (inputs["cloth_mask"] > 0.5).float(), inputs["parse_agnostic"],
            inputs["densepose"], occlusion=self.occlusion, composition=self.composition, blur_kernel=self.blur_kernel,
            fake_parse_override=fake_parse_override, channels_last_blur=not self.reference_ops,
        )
        parse7, parse = generator_layout(stage.fake_parse)
        x = torch.cat((inputs["agnostic"], inputs["densepose"], stage.warped_cloth), dim=1)
        output = self.generate(x.contiguous(memory_format=self.memory_format),
                               parse.contiguous(memory_format=self.memory_format))
        return PipelineResult(**vars(stage), parse7=parse7, output=output)

