"""VGG19 features and HR-VITON's VGG perceptual loss (both training stages).

`VGG19` holds the 37 layers of torchvision's `vgg19().features` under the same names
(`features.N.weight` / `features.N.bias`), so the usual `vgg19-dcbb9e9d.pth` loads with
`load_vgg19(path)` (its `classifier.*` keys are ignored); torchvision itself is not needed.

The loss is what the official `networks.VGGLoss` computes: images in [-1, 1] go in as they are
(no ImageNet normalisation), the outputs of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
(features 1, 6, 11, 20, 29) are compared with an L1 loss weighted 1/32, 1/16, 1/8, 1/4, 1, and the
target's features carry no gradient. The weights are frozen.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from vtonkit.vton_infer.checkpoints import read_state_dict

from vtonkit.core.errors import FormatError

logger = logging.getLogger(__name__)

# torchvision's configuration "E": channels per 3x3 convolution, "M" = 2x2 max pooling
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
# index of the ReLU whose output ends each slice: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1
SLICE_ENDS = (1, 6, 11, 20, 29)
LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)


class VGG19(nn.Module):
    """torchvision's VGG19 feature stack (keys `features.N.*`); forward returns the 5 slice outputs."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in VGG19_LAYOUT:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, H, W) -> [relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]; layers after 29 are unused."""
        outputs = []
        start = 0
        for end in SLICE_ENDS:
            for index in range(start, end + 1):
                x = self.features[index](x)
            outputs.append(x)
            start = end + 1
        return outputs


def load_vgg19(path: str | Path, device: str | torch.device = "cpu") -> VGG19:
    """torchvision's `vgg19-dcbb9e9d.pth` (or any file with its `features.*` keys) -> frozen VGG19.

    Raises InputError when the file is missing, FormatError when it cannot be read or its
    `features.*` keys or shapes are not VGG19's (a VGG16 file, for instance).
    """
    path = Path(path)
    state = read_state_dict(path)
    model = VGG19()
    expected = model.state_dict()
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    missing = [k for k in expected if k not in features]
    unexpected = [k for k in features if k not in expected]
    mismatched = [f"{k}: file {tuple(features[k].shape)} vs VGG19 {tuple(expected[k].shape)}"
                  for k in expected if k in features and features[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:4])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:4])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches ({'; '.join(mismatched[:3])})")
    if problems:
        raise FormatError(path, "not torchvision VGG19 weights: " + "; ".join(problems)
                          + ". --vgg-weights expects torchvision's vgg19-dcbb9e9d.pth")
    ignored = len(state) - len(features)
    if ignored:
        logger.info("%s: ignoring %d keys outside features.* (the classifier)", path, ignored)
    model.load_state_dict(features, strict=True)
    return model.to(device)


def vgg_loss(vgg: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Official VGGLoss(x, target): sum_i w_i * L1(vgg_i(x), vgg_i(target)), gradient through x only."""
    x_features = vgg(x)
    with torch.no_grad():
        target_features = vgg(target)
    loss = 0
    for weight, a, b in zip(LAYER_WEIGHTS, x_features, target_features):
        loss = loss + weight * F.l1_loss(a, b)
    return loss
