"""Networks, initial weights and trainer of one stage, from `TrainOptions` (used by the runner).

Initial weights: `--init-tocg` / `--init-gen` / `--init-disc` files (checked key by key like the
inference loaders) or the official initialisations (`init.py`: torch's default for the condition
generator, N(0, 0.02) for its discriminator, xavier 0.02 for the image generator and its
discriminator). `--width` / `--disc-width` / `--vgg-width` build narrower networks for tests and
benchmarks: not the published architecture (docs/training.md says what this means).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from vtonkit.vton_infer.checkpoints import InitHint, load_condition_generator, load_state, load_weights
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator
from vtonkit.vton_infer.train.distributed import World, data_parallel, sync_batch_norm
from vtonkit.vton_infer.train.init import init_pix2pixhd, init_spade
from vtonkit.vton_infer.train.run_files import RESUME_FILE, changed_settings, load_resume, shown_settings
from vtonkit.vton_infer.train.vgg import VGG19, load_vgg19

from vtonkit.core.errors import FormatError, InputError

OFFICIAL_WIDTHS = {"condition": 96, "generator": 64}
OFFICIAL_DISC_WIDTH = 64  # both stages' discriminators (ndf)
INIT_FILES = {"condition": "mtviton.pth for --init-tocg", "generator": "gen.pth for --init-gen"}
DISC_INIT_FILE = "a run's resume.pt of the same stage, or a state dict of its discriminator, for --init-disc"


def narrow_vgg19(divisor: int, seed: int = 0) -> VGG19:
    """VGG19's layer layout with every width divided by `divisor` and seeded random frozen weights.

    A cheap stand-in for the loss network in tests and benchmarks: the loss is then NOT the
    perceptual loss of the official code (no pretrained features)."""
    vgg = VGG19()
    channels = 3
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for index, layer in enumerate(vgg.features):
            if isinstance(layer, nn.Conv2d):
                out = max(layer.out_channels // divisor, 1)
                vgg.features[index] = nn.Conv2d(channels, out, 3, padding=1)
                channels = out
    return vgg.requires_grad_(False).eval()


def build_vgg(options: Any, device: str) -> VGG19:
    if options.vgg_width:
        return narrow_vgg19(options.vgg_width).to(device)
    return load_vgg19(options.vgg_weights, device)


def stage_config(config_class: Any, options: Any, **overrides: Any) -> Any:
    """The official argparse defaults (`--recipe default`) or the README command's flags (`readme`),
    with `--lr` setting the generator's rate and the discriminator's keeping the official ratio."""
    config = config_class.readme(**overrides) if options.recipe == "readme" else config_class(**overrides)
    if options.lr is None:
        return config
    return dataclasses.replace(config, lr_g=options.lr, lr_d=options.lr * config.lr_d / config.lr_g)


def _init(model: nn.Module, path: Any, official: Callable[[nn.Module], nn.Module] | None, options: Any) -> nn.Module:
    if path is not None:
        hint = InitHint(INIT_FILES[options.stage], "--width", options.width, OFFICIAL_WIDTHS[options.stage])
        return load_weights(model, path, hint=hint)
    return official(model) if official is not None else model


def _init_disc(model: nn.Module, path: Any, official: Callable[[nn.Module], nn.Module], options: Any) -> nn.Module:
    """The discriminator from --init-disc: a state dict, or the resume file of an earlier run of this
    stage (no run writes the discriminator on its own, and the official code publishes none)."""
    if path is None:
        return official(model)
    path, stage = Path(path), options.stage
    hint = InitHint(DISC_INIT_FILE, "--disc-width", options.disc_width, OFFICIAL_DISC_WIDTH)
    if path.name != RESUME_FILE:
        return load_weights(model, path, hint=hint)
    payload = load_resume(path.parent, advice="pass the resume.pt of another run of this stage, or leave out "
                                              "--init-disc")
    if payload.get("stage") != stage:
        raise InputError(path, f"the resume file of a {payload.get('stage')} run: its discriminator is not the "
                               f"{stage} stage's")
    try:
        return load_state(model, payload["trainer"]["discriminator"], path, hint=hint)
    except FormatError as exc:
        # Another --recipe: the run's recorded options say so (stage 1's readme discriminator has dropout
        # layers, so its keys differ from the default one's), where the hint asked about the width. Only
        # another --disc-width: the hint names it from the shapes already.
        given = {"--recipe": options.recipe, "--disc-width": options.disc_width}
        changed = changed_settings(payload.get("settings"), given)
        if "--recipe" not in changed:
            raise
        saved = payload["settings"]
        passed = " ".join(f"{name} {saved[name]}" for name in changed if saved[name] is not None)
        left_out = " and ".join(name for name in changed if saved[name] is None)
        fix = " and ".join(part for part in (passed and f"pass {passed}", left_out and f"leave out {left_out}") if part)
        raise InputError(path, f"its discriminator does not fit this run's: was trained with "
                               f"{shown_settings(saved, changed)}, this run builds {shown_settings(given, changed)}: "
                               f"{fix} to start from it (or leave out --init-disc)") from exc


def build_condition_stage(options: Any, t13: np.ndarray, device: str, world: World,
                          autocast_dtype: torch.dtype | None, scaler: Any) -> tuple[Any, nn.Module, Callable]:
    from vtonkit.vton_infer.train.condition_stage import (
        ConditionStageConfig,
        ConditionTrainer,
        condition_batch,
    )

    config = stage_config(ConditionStageConfig, options)
    tocg = _init(ConditionGenerator(ngf=options.width or OFFICIAL_WIDTHS["condition"]), options.init_tocg, None, options)
    # before the optimizers exist: the swap creates new BatchNorm modules
    tocg = sync_batch_norm(tocg.to(device), world, device)
    disc = config.discriminator()
    if options.disc_width:
        disc = type(disc)(ndf=options.disc_width, num_D=config.num_d, downx2=config.d_downx2, dropout=config.d_dropout)
    disc = _init_disc(disc, options.init_disc, init_pix2pixhd, options)
    trainer = ConditionTrainer(data_parallel(tocg, world, device, find_unused_parameters=True),
                               data_parallel(disc.to(device), world, device), build_vgg(options, device), config,
                               autocast_dtype=autocast_dtype, grad_scaler=scaler)
    table = tuple(int(v) for v in t13)
    return trainer, tocg, lambda raw: condition_batch(raw, t13=table).to(device)


def build_generator_stage(options: Any, t13: np.ndarray, device: str, world: World,
                          autocast_dtype: torch.dtype | None, scaler: Any) -> tuple[Any, nn.Module, Callable]:
    from vtonkit.vton_infer.train.generator_stage import (
        CachedGeneratorBatches,
        GeneratorStageConfig,
        GeneratorTrainer,
        decay_over,
    )

    config = stage_config(GeneratorStageConfig, options, **decay_over(options.steps),
                          **({"ndf": options.disc_width} if options.disc_width else {}))
    tocg = load_condition_generator(options.tocg_checkpoint, device)  # frozen, eval mode
    tocg.requires_grad_(False)
    generator = _init(SPADEGenerator(ngf=options.width or OFFICIAL_WIDTHS["generator"]), options.init_gen, init_spade, options)
    disc = _init_disc(config.discriminator(), options.init_disc, init_spade, options)
    trainer = GeneratorTrainer(data_parallel(generator.to(device), world, device),
                               data_parallel(disc.to(device), world, device), build_vgg(options, device), config,
                               autocast_dtype=autocast_dtype, grad_scaler=scaler, rank=world.rank, world_size=world.size)
    # the frozen stage's outputs computed once per sample (see CachedGeneratorBatches)
    return trainer, generator, CachedGeneratorBatches(tocg, t13, occlusion=config.occlusion,
                                                      composition=config.clothmask_composition)
