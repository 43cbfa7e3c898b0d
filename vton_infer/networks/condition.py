"""HR-VITON try-on condition generator ("tocg"), checkpoint-compatible with `mtviton.pth`.

Re-implemented from the architecture facts (hrviton-format.md section 7a) with the default test
options: `ngf=96`, `warp_feature='T1'`, `out_layer='relu'`, BatchNorm. Module names are the
official ones, so `state_dict()` keys and shapes equal the published checkpoint's.

Inputs at 256x192: `input1` (N, 4, 256, 192) = garment in [-1, 1] + its {0, 1} mask;
`input2` (N, 16, 256, 192) = 13-channel one-hot parse-agnostic + DensePose in [-1, 1].
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)


class ConditionOutput(NamedTuple):
    """What the condition generator returns (the official 4-tuple, named)."""

    flow_list: list[torch.Tensor]  # 5 x (N, h, w, 2), (h, w) = (8, 6) ... (128, 96); last dim = (x, y)
    segmap: torch.Tensor  # (N, 13, 256, 192), post-ReLU scores
    warped_cloth: torch.Tensor  # (N, 3, 256, 192)
    warped_cloth_mask: torch.Tensor  # (N, 1, 256, 192)


def make_grid(batch: int, height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Identity sampling grid (N, H, W, 2) with x, y = linspace(-1, 1) (the official convention).

    Note that `grid_sample` is then called with align_corners=False: this half-pixel mismatch is
    part of the reference behaviour and must be kept.
    """
    grid_x = torch.linspace(-1.0, 1.0, width, device=device).view(1, 1, width, 1).expand(batch, height, -1, -1)
    grid_y = torch.linspace(-1.0, 1.0, height, device=device).view(1, height, 1, 1).expand(batch, -1, width, -1)
    return torch.cat([grid_x, grid_y], 3)


def normalise_flow(flow: torch.Tensor, flow_height: int, flow_width: int) -> torch.Tensor:
    """Pixel flow (N, H, W, 2) -> grid units, dividing by ((W - 1) / 2, (H - 1) / 2) of the size given."""
    return torch.cat(
        [flow[..., 0:1] / ((flow_width - 1.0) / 2.0), flow[..., 1:2] / ((flow_height - 1.0) / 2.0)], 3
    )


def upsample_flow(flow: torch.Tensor) -> torch.Tensor:
    """(N, h, w, 2) -> (N, 2h, 2w, 2), bilinear, values not rescaled (as the official decoder)."""
    return F.interpolate(flow.permute(0, 3, 1, 2), scale_factor=2, mode="bilinear").permute(0, 2, 3, 1)


class ResBlock(nn.Module):
    """Residual block: `scale` conv (down: 3x3 stride 2, same: 1x1, up: x2 bilinear + 1x1) + 2 conv-BN."""

    def __init__(self, in_channels: int, out_channels: int, scale: str) -> None:
        super().__init__()
        if scale == "down":
            self.scale = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        elif scale == "same":
            self.scale = nn.Conv2d(in_channels, out_channels, 1, bias=True)
        elif scale == "up":
            self.scale = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(in_channels, out_channels, 1, bias=True)
            )
        else:
            raise ValueError(f"ResBlock scale must be 'down', 'same' or 'up', not {scale!r}")
        self.block = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.scale(x)
        return F.relu(residual + self.block(residual))


def _encoder(in_channels: int, ngf: int) -> nn.Sequential:
    widths = [in_channels, ngf, ngf * 2, ngf * 4, ngf * 4, ngf * 4]
    return nn.Sequential(*[ResBlock(widths[i], widths[i + 1], "down") for i in range(5)])


def _conv1x1_stack(ngf: int) -> nn.Sequential:
    return nn.Sequential(*[nn.Conv2d(c, ngf * 4, 1, bias=True) for c in (ngf, ngf * 2, ngf * 4, ngf * 4)])


class ConditionGenerator(nn.Module):
    """Two-encoder feature-pyramid network predicting the garment flow and the 13-class layout.

    Default arguments = the published `mtviton.pth` (`ngf=96`, 4 + 16 inputs, 13 outputs).
    """

    def __init__(self, input1_nc: int = 4, input2_nc: int = 16, output_nc: int = 13, ngf: int = 96) -> None:
        super().__init__()
        self.ClothEncoder = _encoder(input1_nc, ngf)
        self.PoseEncoder = _encoder(input2_nc, ngf)
        self.conv = ResBlock(ngf * 4, ngf * 8, "same")
        # decoder input = previous x + pose skip (ngf*4 at every level after the first) + warped T1
        self.SegDecoder = nn.Sequential(
            ResBlock(ngf * 8, ngf * 4, "up"),
            ResBlock(ngf * 4 * 2 + ngf * 4, ngf * 4, "up"),
            ResBlock(ngf * 4 * 2 + ngf * 4, ngf * 2, "up"),
            ResBlock(ngf * 2 * 2 + ngf * 4, ngf, "up"),
            ResBlock(ngf * 1 * 2 + ngf * 4, ngf, "up"),
        )
        self.out_layer = ResBlock(ngf + input1_nc + input2_nc, output_nc, "same")
        self.conv1 = _conv1x1_stack(ngf)  # garment pyramid
        self.conv2 = _conv1x1_stack(ngf)  # person pyramid
        self.flow_conv = nn.ModuleList([nn.Conv2d(ngf * 8, 2, 3, padding=1, bias=True) for _ in range(5)])
        self.bottleneck = nn.Sequential(
            *[
                nn.Sequential(nn.Conv2d(c, ngf * 4, 3, padding=1, bias=True), nn.ReLU())
                for c in (ngf * 4, ngf * 4, ngf * 2, ngf)
            ]
        )

    def forward(self, input1: torch.Tensor, input2: torch.Tensor) -> ConditionOutput:
        """input1 (N, 4, H, W), input2 (N, 16, H, W) with H, W = 256, 192 -> ConditionOutput."""
        cloth_features, pose_features = [], []
        x1, x2 = input1, input2
        for level in range(5):
            x1 = self.ClothEncoder[level](x1)
            x2 = self.PoseEncoder[level](x2)
            cloth_features.append(x1)
            pose_features.append(x2)

        flow_list: list[torch.Tensor] = []
        t1 = cloth_features[4]
        t2 = pose_features[4]
        flow_list.append(self.flow_conv[0](torch.cat([t1, t2], 1)).permute(0, 2, 3, 1))
        x = self.SegDecoder[0](self.conv(t2))
        for i in range(1, 5):
            skip = 4 - i
            n, _, height, width = cloth_features[skip].shape
            t1 = F.interpolate(t1, scale_factor=2, mode="bilinear") + self.conv1[skip](cloth_features[skip])
            t2 = F.interpolate(t2, scale_factor=2, mode="bilinear") + self.conv2[skip](pose_features[skip])
            flow = upsample_flow(flow_list[i - 1])
            # the official code divides by the HALF level size here: (W/2 - 1)/2 (kept for equality)
            flow_norm = normalise_flow(flow, height / 2, width / 2)
            grid = make_grid(n, height, width, device=t1.device)
            warped_t1 = F.grid_sample(t1, flow_norm + grid, padding_mode="border", align_corners=False)
            flow = flow + self.flow_conv[i](torch.cat([warped_t1, self.bottleneck[i - 1](x)], 1)).permute(0, 2, 3, 1)
            flow_list.append(flow)
            x = self.SegDecoder[i](torch.cat([x, pose_features[skip], warped_t1], 1))

        n, _, height, width = input1.shape
        flow = upsample_flow(flow_list[-1])
        flow_norm = normalise_flow(flow, height / 2, width / 2)
        grid = make_grid(n, height, width, input1.device)
        warped_input1 = F.grid_sample(input1, flow_norm + grid, padding_mode="border", align_corners=False)
        segmap = self.out_layer(torch.cat([x, input2, warped_input1], 1))
        return ConditionOutput(flow_list, segmap, warped_input1[:, :-1], warped_input1[:, -1:])
