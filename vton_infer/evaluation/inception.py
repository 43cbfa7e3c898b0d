"""The FID Inception v3 (TensorFlow's inception-2015-12-05 graph as ported by pytorch-fid).

State-dict keys equal `pt_inception-2015-12-05-6726825d.pth` (pytorch-fid's weights file):
torchvision's `Inception3` names (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.running_var`,
..., `fc.weight` (1008, 2048)) without the auxiliary classifier. The FID variant differs from
torchvision's Inception in its pooling, to match TensorFlow: the average pools of the A, C and
E blocks leave padding out of the average (`count_include_pad=False`), and the last E block
(`Mixed_7c`) max-pools its pool branch. Features are the 2048-d global average pool before `fc`.

Inputs, one convention per library (`FEATURE_INPUTS`):
* "pytorch-fid": RGB in [0, 1] -> bilinear resize to 299x299 (`align_corners=False`, no
  antialiasing) -> 2x - 1;
* "clean" (clean-fid): uint8 values -> clean resize to 299x299 (PIL bicubic per float channel)
  -> (x - 128) / 128;
* "tf1-bilinear" (torch-fidelity, used by torchmetrics' FID and KID): uint8 values ->
  TensorFlow 1 bilinear resize to 299x299 -> (x - 128) / 128.
clean-fid and torch-fidelity ship their own files of the same TensorFlow graph; here all three
conventions run on the pytorch-fid file, so a protocol's numbers can differ from the library's in
the last digits (docs/evaluation.md).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from vtonkit.vton_infer.checkpoints import check_state_dict, read_state_dict
from vtonkit.vton_infer.evaluation.resize import clean_resize, tf1_bilinear, torch_bilinear

INPUT_SIZE = (299, 299)
FEATURE_DIM = 2048
FEATURE_INPUTS = ("pytorch-fid", "clean", "tf1-bilinear")
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow averages over the valid pixels only.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg_pool(x)),
        ], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            self.branch7x7dbl_5(self.branch7x7dbl_4(dbl)),
            self.branch_pool(_avg_pool(x)),
        ], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """`max_pool=True` for Mixed_7c (the FID graph max-pools there), average pool otherwise."""

    def __init__(self, in_channels: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(three), self.branch3x3_2b(three),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], 1)


class FIDInceptionV3(nn.Module):
    """Inception v3 for FID: `forward(x in [-1, 1], 299x299)` -> (N, 2048) pool features."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)  # in the file; the features are taken before it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def load_inception(path: str | Path, device: str | torch.device = "cpu") -> FIDInceptionV3:
    """Load pt_inception-2015-12-05 (every key and shape checked) in eval mode."""
    path = Path(path)
    model = FIDInceptionV3()
    state = read_state_dict(path)
    for key, value in model.state_dict().items():
        # BatchNorm's step counter does not affect evaluation; files saved by old torch lack it.
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    check_state_dict(model, state, path, allow_unexpected=False,
                     hint=f"Expected pytorch-fid's Inception weights ({WEIGHTS_FILE}).")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


def preprocess(images: Sequence[np.ndarray], convention: str) -> torch.Tensor:
    """uint8 (H, W, 3) images (one size) -> the (N, 3, 299, 299) network input of `convention`."""
    if convention == "clean":
        batch = np.stack([clean_resize(image, INPUT_SIZE) for image in images])
        return (torch.from_numpy(batch).permute(0, 3, 1, 2) - 128) / 128
    batch = torch.from_numpy(np.stack([np.asarray(image, dtype=np.uint8) for image in images])).permute(0, 3, 1, 2)
    if convention == "pytorch-fid":
        return 2 * torch_bilinear(batch.float() / 255, INPUT_SIZE) - 1
    if convention == "tf1-bilinear":
        return (tf1_bilinear(batch.float(), INPUT_SIZE) - 128) / 128
    raise ValueError(f"unknown Inception input convention {convention!r}; known: {', '.join(FEATURE_INPUTS)}")


@torch.no_grad()
def inception_features(model: FIDInceptionV3, images: Sequence[np.ndarray], convention: str) -> np.ndarray:
    """(N, 2048) float64 pool features of uint8 RGB images."""
    device = next(model.parameters()).device
    return model(preprocess(images, convention).to(device)).double().cpu().numpy()
