"""The official weight initialisations, for training a network from scratch.

* `init_pix2pixhd` = `networks.weights_init` (train_condition.py's discriminator): convolution
  weights N(0, 0.02) (biases keep torch's default), BatchNorm weight N(1, 0.02), bias 0.
* `init_spade` = `BaseNetwork.init_weights('xavier', 0.02)` (train_generator.py's generator and
  discriminator): convolution weights (the spectral-norm `weight_orig` included) xavier-normal with
  gain 0.02, their biases 0; BatchNorm as above; SPADE `noise_scale` stays 0.
The condition generator keeps torch's default initialisation, as in train_condition.py.
"""
from __future__ import annotations

import torch
from torch import nn
from vtonkit.vton_infer.networks.spade import SpectralNormConv2d

GAIN = 0.02


def _conv_weight(module: nn.Module) -> torch.Tensor | None:
    if isinstance(module, SpectralNormConv2d):
        return module.weight_orig
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        return module.weight
    return None


@torch.no_grad()
def init_pix2pixhd(model: nn.Module) -> nn.Module:
    for module in model.modules():
        weight = _conv_weight(module)
        if weight is not None and isinstance(module, (nn.Conv2d, SpectralNormConv2d)):
            weight.normal_(0.0, GAIN)
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.normal_(1.0, GAIN)
            module.bias.fill_(0)
    return model


@torch.no_grad()
def init_spade(model: nn.Module) -> nn.Module:
    for module in model.modules():
        weight = _conv_weight(module)
        if weight is not None:
            nn.init.xavier_normal_(weight, gain=GAIN)
            if getattr(module, "bias", None) is not None:
                module.bias.fill_(0.0)
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.normal_(1.0, GAIN)
            module.bias.fill_(0.0)
    return model
