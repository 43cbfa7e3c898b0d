"""HR-VITON training losses, each computed as the official scripts do (same operations, same order).

Stage 1 (train_condition.py): LSGAN summed over the discriminator scales, flow total variation
(plain, last-level only, or the edge-aware variants of `--edgeawaretv`), the layout cross-entropy,
the intermediate-flow loss of `--interflowloss`. Stage 2 (train_generator.py): hinge GAN averaged
over the scales and the discriminator feature-matching loss. The VGG loss is in `vgg.py`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from vtonkit.vton_infer.networks.condition import make_grid, normalise_flow
from vtonkit.vton_infer.pipeline import remove_overlap
from vtonkit.vton_infer.train.vgg import vgg_loss

IGNORE_LABEL = 250  # utils.cross_entropy2d's ignore_index
EDGE_SHARPNESS = 150.0  # --edgeawaretv: weight exp(-150 |mask difference|)
EDGE_AWARE_TV = ("no_edge", "last_only", "weighted")


def lsgan_loss(predictions: Sequence[torch.Tensor], target_is_real: bool) -> torch.Tensor:
    """pix2pixHD GANLoss(use_lsgan=True): sum over scales of mean((pred - target)^2), target 1 or 0."""
    loss = 0
    for pred in predictions:
        loss = loss + F.mse_loss(pred, torch.full_like(pred, 1.0 if target_is_real else 0.0))
    return loss


def hinge_generator_loss(predictions: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """SPADE GANLoss('hinge', for_discriminator=False): mean over scales of -mean(final map)."""
    loss = 0
    for outputs in predictions:
        loss = loss + -torch.mean(outputs[-1])
    return loss / len(predictions)


def hinge_discriminator_loss(predictions: Sequence[Sequence[torch.Tensor]], target_is_real: bool) -> torch.Tensor:
    """SPADE GANLoss('hinge', for_discriminator=True): mean over scales of -mean(min(+-pred - 1, 0))."""
    loss = 0
    for outputs in predictions:
        pred = outputs[-1]
        margin = pred - 1 if target_is_real else -pred - 1
        loss = loss + -torch.mean(torch.clamp(margin, max=0.0))
    return loss / len(predictions)


def feature_matching_loss(
    fake: Sequence[Sequence[torch.Tensor]], real: Sequence[Sequence[torch.Tensor]], weight: float = 10.0
) -> torch.Tensor:
    """sum over scales and intermediate blocks of L1(f_fake, f_real.detach()) * weight / num_scales.

    The official accumulator is `torch.cuda.FloatTensor(len(gpu_ids)).zero_()`: an empty tensor
    (NaN loss) on a CPU and shape (1,) on one GPU; here it is a 0-d zero, the intended value.
    """
    loss = torch.zeros((), device=fake[0][0].device)
    for fake_outputs, real_outputs in zip(fake, real):
        for a, b in zip(fake_outputs[:-1], real_outputs[:-1]):
            loss = loss + F.l1_loss(a, b.detach()) * weight / len(fake)
    return loss


def _tv_terms(flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.abs(flow[:, 1:] - flow[:, :-1]), torch.abs(flow[:, :, 1:] - flow[:, :, :-1])


def flow_tv_loss(
    flow_list: Sequence[torch.Tensor],
    *,
    last_only: bool = False,
    edge_aware: str = "no_edge",
    warped_cloth_mask: torch.Tensor | None = None,
    add_last_tv: bool = False,
) -> torch.Tensor:
    """train_condition.py's loss_tv over the (N, h, w, 2) flows.

    no_edge: sum over flows (the last one with `last_only`, `--lasttvonly`) of mean |dy| + mean |dx|.
    last_only / weighted (`--edgeawaretv`): the differences are weighted by exp(-150 |d mask|) of
    `warped_cloth_mask` (N, 1, H, W) resized bilinearly to the flow; `weighted` sums every level
    divided by 2^(4 - i). `add_last_tv` (`--add_lasttv`) then adds the plain last-level term.
    """
    if edge_aware not in EDGE_AWARE_TV:
        raise ValueError(f"edge_aware must be one of {EDGE_AWARE_TV}, not {edge_aware!r}")
    loss = 0
    if edge_aware == "no_edge":
        for flow in flow_list[-1:] if last_only else flow_list:
            y_tv, x_tv = _tv_terms(flow)
            loss = loss + y_tv.mean() + x_tv.mean()
        return loss
    if warped_cloth_mask is None:
        raise ValueError("the edge-aware TV loss needs the warped cloth mask")
    levels = [len(flow_list) - 1] if edge_aware == "last_only" else range(len(flow_list))
    for i in levels:
        flow = flow_list[i]
        mask = F.interpolate(warped_cloth_mask, flow.shape[1:3], mode="bilinear").permute(0, 2, 3, 1)
        y_tv, x_tv = _tv_terms(flow)
        y_tv = y_tv * torch.exp(-EDGE_SHARPNESS * torch.abs(mask[:, 1:] - mask[:, :-1]))
        x_tv = x_tv * torch.exp(-EDGE_SHARPNESS * torch.abs(mask[:, :, 1:] - mask[:, :, :-1]))
        if edge_aware == "last_only":
            loss = loss + y_tv.mean() + x_tv.mean()
        else:
            loss = loss + y_tv.mean() / (2 ** (4 - i)) + x_tv.mean() / (2 ** (4 - i))
    if add_last_tv:
        y_tv, x_tv = _tv_terms(flow_list[-1])
        loss = loss + y_tv.mean() + x_tv.mean()
    return loss


def layout_cross_entropy(segmap: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """utils.cross_entropy2d: scores (N, C, H, W), labels (N, 1, H, W) float class ids -> mean CE.

    The scores are laid out as (N*H*W, C) like the official code (same reduction order)."""
    c = segmap.shape[1]
    flat = segmap.transpose(1, 2).transpose(2, 3).contiguous().view(-1, c)
    target = labels.transpose(0, 1)[0].long().reshape(-1)
    return F.cross_entropy(flat, target, ignore_index=IGNORE_LABEL)


def interflow_loss(
    flow_list: Sequence[torch.Tensor],
    cloth: torch.Tensor,
    cloth_mask: torch.Tensor,
    fake_segmap: torch.Tensor,
    parse_cloth_mask: torch.Tensor,
    parse_cloth: torch.Tensor,
    vgg: nn.Module,
    l1_cloth: torch.Tensor,
    vgg_value: torch.Tensor,
    upsample: str = "bilinear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """`--interflowloss`: `l1_cloth` and `vgg_value` with the 4 intermediate-flow terms added in order.

    Flow i is upsampled to the garment size, normalised by its own ((w_i-1)/2, (h_i-1)/2), and warps
    the garment and its mask (border padding); the mask always goes through the occlusion handling
    with softmax(fake_segmap); weights 1/2^(4-i). The VGG term compares the raw warped garment.
    """
    n, _, height, width = cloth.shape
    l1, vgg_term = l1_cloth, vgg_value
    for i, flow in enumerate(flow_list[:-1]):
        _, flow_h, flow_w, _ = flow.shape
        grid = make_grid(n, height, width, cloth.device)
        flow = F.interpolate(flow.permute(0, 3, 1, 2), size=(height, width), mode=upsample).permute(0, 2, 3, 1)
        flow_norm = normalise_flow(flow, flow_h, flow_w)
        warped_cloth = F.grid_sample(cloth, flow_norm + grid, padding_mode="border", align_corners=False)
        warped_mask = F.grid_sample(cloth_mask, flow_norm + grid, padding_mode="border", align_corners=False)
        warped_mask = remove_overlap(F.softmax(fake_segmap, dim=1), warped_mask)
        l1 = l1 + F.l1_loss(warped_mask, parse_cloth_mask) / (2 ** (4 - i))
        vgg_term = vgg_term + vgg_loss(vgg, warped_cloth, parse_cloth) / (2 ** (4 - i))
    return l1, vgg_term
