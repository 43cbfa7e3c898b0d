"""The two HR-VITON discriminators, with the official state-dict keys.

* `ConditionDiscriminator` (stage 1, `networks.define_D` of train_condition.py): pix2pixHD
  multiscale PatchGAN on the 33-channel `cat[input1, input2, layout]`. Per scale:
  conv(33->64, s2) -> conv(64->128, s2)+IN -> conv(128->256, s2)+IN -> conv(256->512, s1)+IN ->
  conv(512->1, s1), kernel 4, padding 2, LeakyReLU 0.2, InstanceNorm without affine; `dropout`
  (`--Ddropout`) adds Dropout(0.5) after the 128 and 256 blocks, which shifts the Sequential indices
  (keys of tocg_D_dropout_keys.tsv); `downx2` (`--Ddownx2`) average-pools the input once first.
  The full-resolution scale is `layer{num_D-1}`, the next one `layer{num_D-2}` (official loop order).
* `ImageDiscriminator` (stage 2, `network_generator.MultiscaleDiscriminator`, norm_D
  'spectralinstance'): per scale `model0` conv(10->64, s2) + LeakyReLU, `model1`/`model2`
  spectral-norm conv (64->128, 128->256, both stride 2, no bias) + IN + LeakyReLU, `model3`
  conv(256->1, s1); returns every block's output (the first three feed the feature-matching loss).
  Scale 2 sees `avg_pool2d(3, 2, 1, count_include_pad=False)` of the input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from vtonkit.vton_infer.networks.spade import SpectralNormConv2d

KERNEL = 4
PADDING = 2  # ceil((4 - 1) / 2)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """The multiscale discriminators' 2x average pooling (3x3, stride 2, padding 1, no pad counting)."""
    return F.avg_pool2d(x, kernel_size=3, stride=2, padding=[1, 1], count_include_pad=False)


def patch_discriminator(input_nc: int, ndf: int = 64, n_layers: int = 3, dropout: bool = False) -> nn.Sequential:
    """pix2pixHD NLayerDiscriminator as one Sequential (its `model`), instance norm, LSGAN output."""
    layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2, True)]
    nf = ndf
    for _ in range(1, n_layers):
        nf_prev, nf = nf, min(nf * 2, 512)
        layers += [nn.Conv2d(nf_prev, nf, KERNEL, stride=2, padding=PADDING), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
    nf_prev, nf = nf, min(nf * 2, 512)
    layers += [nn.Conv2d(nf_prev, nf, KERNEL, stride=1, padding=PADDING), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)]
    layers.append(nn.Conv2d(nf, 1, KERNEL, stride=1, padding=PADDING))
    return nn.Sequential(*layers)


class ConditionDiscriminator(nn.Module):
    """Stage-1 multiscale discriminator; forward -> final maps per scale, full resolution first."""

    def __init__(
        self, input_nc: int = 33, ndf: int = 64, n_layers: int = 3, num_D: int = 2,
        downx2: bool = False, dropout: bool = False,
    ) -> None:
        super().__init__()
        self.num_D = num_D
        self.downx2 = downx2
        for i in range(num_D):
            self.add_module(f"layer{i}", patch_discriminator(input_nc, ndf, n_layers, dropout))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.downx2:
            x = downsample(x)
        outputs = []
        for i in range(self.num_D):
            outputs.append(getattr(self, f"layer{self.num_D - 1 - i}")(x))
            if i != self.num_D - 1:
                x = downsample(x)
        return outputs


class ImagePatchDiscriminator(nn.Module):
    """One scale of the stage-2 discriminator (SPADE NLayerDiscriminator, 'spectralinstance')."""

    def __init__(self, input_nc: int = 10, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self.model0 = nn.Sequential(nn.Conv2d(input_nc, ndf, KERNEL, stride=2, padding=PADDING), nn.LeakyReLU(0.2, False))
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 512)
            conv = SpectralNormConv2d(nf_prev, nf, KERNEL, padding=PADDING, bias=False, stride=2)
            self.add_module(f"model{n}", nn.Sequential(nn.Sequential(conv, nn.InstanceNorm2d(nf)), nn.LeakyReLU(0.2, False)))
        self.add_module(f"model{n_layers}", nn.Sequential(nn.Conv2d(nf, 1, KERNEL, stride=1, padding=PADDING)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for block in self.children():
            x = block(x)
            outputs.append(x)
        return outputs


class ImageDiscriminator(nn.Module):
    """Stage-2 multiscale discriminator; forward -> per scale the list of block outputs (last = final map)."""

    def __init__(self, input_nc: int = 10, ndf: int = 64, n_layers: int = 3, num_D: int = 2) -> None:
        super().__init__()
        for i in range(num_D):
            self.add_module(f"discriminator_{i}", ImagePatchDiscriminator(input_nc, ndf, n_layers))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        scales = list(self.children())
        for i, scale in enumerate(scales):
            results.append(scale(x))
            if i != len(scales) - 1:
                x = downsample(x)
        return results
