"""LPIPS v0.1 (Zhang et al. 2018): AlexNet or VGG16 features + learned 1x1 "lin" layers.

Two files, as the `lpips` package and HR-VITON's eval_models use them:
* the backbone: torchvision's ImageNet file (`alexnet-owt-7be5be79.pth`,
  `vgg16-397923af.pth`); only its `features.*` keys are used (the `classifier.*` keys are
  ignored, every `features.*` key and shape is checked);
* the linear layers: `lpips/weights/v0.1/alex.pth` or `vgg.pth`, keys `lin0.model.1.weight`
  ... `lin4.model.1.weight`, each (1, C, 1, 1) (a Dropout at index 0 holds no weights).

Forward(in0, in1), both (N, 3, H, W) in [-1, 1]: the ScalingLayer ((x - shift) / scale with
ImageNet statistics mapped to [-1, 1]), backbone activations after 5 ReLUs, each activation
unit-normalised over channels (eps 1e-10), squared difference, the lin layer, spatial mean, sum
over the 5 layers -> (N,).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from vtonkit.vton_infer.checkpoints import check_state_dict, read_state_dict

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10
BACKBONES = ("alex", "vgg")
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
LIN_FILES = {"alex": "alex.pth", "vgg": "vgg.pth"}


class ScalingLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # Constants of the method, not weights: not in any file.
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class AlexNetFeatures(nn.Module):
    """torchvision AlexNet's `features` (keys features.0/3/6/8/10); returns the 5 ReLU outputs."""

    SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for start, stop in self.SLICES:
            for layer in self.features[start:stop]:
                x = layer(x)
            outputs.append(x)
        return outputs


class VGG16Features(AlexNetFeatures):
    """torchvision VGG16's `features` (keys features.0, 2, 5, ..., 28); returns relu1_2 ... relu5_3."""

    SLICES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))

    def __init__(self) -> None:
        nn.Module.__init__(self)
        layers: list[nn.Module] = []
        in_channels = 3
        for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(in_channels, item, 3, padding=1), nn.ReLU(inplace=True)]
                in_channels = item
        self.features = nn.Sequential(*layers)


class NetLinLayer(nn.Module):
    """Dropout (index 0, no weights) + 1x1 convolution to one channel without bias (key model.1.weight)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LinearLayers(nn.Module):
    """The five lin layers under the `lpips` file's keys (lin0 ... lin4)."""

    def __init__(self, backbone: str) -> None:
        super().__init__()
        for i, channels in enumerate(CHANNELS[backbone]):
            setattr(self, f"lin{i}", NetLinLayer(channels))

    def __getitem__(self, i: int) -> NetLinLayer:
        return getattr(self, f"lin{i}")


def unit_normalise(x: torch.Tensor) -> torch.Tensor:
    return x / (torch.sqrt((x**2).sum(dim=1, keepdim=True)) + EPS)


class LPIPS(nn.Module):
    """LPIPS distance; `forward(in0, in1)` with inputs in [-1, 1] -> (N,)."""

    def __init__(self, backbone: str = "alex") -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown LPIPS backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        self.backbone_name = backbone
        self.scaling = ScalingLayer()
        self.net = AlexNetFeatures() if backbone == "alex" else VGG16Features()
        self.lins = LinearLayers(backbone)

    @torch.no_grad()
    def forward(self, in0: torch.Tensor, in1: torch.Tensor) -> torch.Tensor:
        feats0, feats1 = self.net(self.scaling(in0)), self.net(self.scaling(in1))
        total = torch.zeros(in0.shape[0], device=in0.device)
        for i, (f0, f1) in enumerate(zip(feats0, feats1)):
            diff = (unit_normalise(f0) - unit_normalise(f1)) ** 2
            total = total + self.lins[i](diff).mean(dim=(2, 3))[:, 0]
        return total


def load_lpips(backbone: str, backbone_path: str | Path, lin_path: str | Path,
               device: str | torch.device = "cpu") -> LPIPS:
    """LPIPS from the torchvision backbone file and the lpips v0.1 lin file (keys and shapes checked)."""
    model = LPIPS(backbone)
    backbone_path, lin_path = Path(backbone_path), Path(lin_path)
    state = read_state_dict(backbone_path)
    features = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    check_state_dict(model.net, features, backbone_path, allow_unexpected=False,
                     hint=f"Expected torchvision's {BACKBONE_FILES[backbone]} for the {backbone} backbone.")
    model.net.load_state_dict(features, strict=True)
    lins = read_state_dict(lin_path)
    check_state_dict(model.lins, lins, lin_path, allow_unexpected=False,
                     hint=f"Expected the lpips v0.1 linear layers {LIN_FILES[backbone]} for the {backbone} backbone.")
    model.lins.load_state_dict(lins, strict=True)
    return model.to(device).eval()
