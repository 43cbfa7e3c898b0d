"""HR-VITON stage 2: the SPADE image generator and its multiscale discriminator, one step at a time.

What the official `train_generator.train()` computes per step (fixture-checked, see
../shared/reference/hrviton-train/README.md): the frozen condition generator runs in eval mode
without gradient and gives the warped garment and the 13 -> 7 class layout exactly as at test time
(`generator_batch`, reusing vtonkit.vton_infer.pipeline); generator and discriminator in train mode
(every generator forward draws new SPADE noise, every forward runs one spectral-norm power
iteration). Generator step: `output = G(x, parse)`, the discriminator sees
`cat[cat(parse, output), cat(parse, image)]` along the batch (the real half conditioned on the
generated layout too), `g_gan` = hinge (mean over the 2 scales of -mean(D(fake))), `g_feat` = sum
of L1 between fake and real intermediate features * lambda_feat / num_D, `g_vgg` = lambda_vgg * VGG
loss(output, image), `g_total = g_gan + g_feat + g_vgg`. Discriminator step: a second generator
forward under no_grad with the updated weights (new noise), `d_fake` / `d_real` hinge terms
averaged over the scales. The learning rates decay linearly after `keep_step` (changed every 1000
steps, as the official scheduler).

Official option -> `GeneratorStageConfig` field:

| train_generator.py option | field | default |
|---|---|---|
| `--G_lr` / `--D_lr` | `lr_g` / `lr_d` | 1e-4 / 4e-4 |
| Adam betas (hard-coded `(0, 0.9)`) | `betas` | (0.0, 0.9) as floats |
| `--lambda_feat` / `--lambda_vgg` | `lambda_feat` / `lambda_vgg` | 10 / 10 |
| `--no_ganFeat_loss` / `--no_vgg_loss` | `no_ganfeat_loss` / `no_vgg_loss` | False |
| `--num_D` / `--n_layers_D` / `--ndf` | `num_d` / `n_layers_d` / `ndf` | 2 / 3 / 64 |
| `--occlusion` | `occlusion` | False (README: True) |
| `--clothmask_composition` | `clothmask_composition` | warp_grad |
| `--keep_step` / `--decay_step` | `keep_step` / `decay_step` | 100000 / 100000 |
| scheduler stepped every 1000 steps | `decay_every` | 1000 |

`GeneratorStageConfig.readme()` = the README command (`--occlusion`; its `--fp16` is apex amp O1,
here `autocast_dtype=torch.float16` with a GradScaler). Fixed here (the official code is broken):
the feature-matching accumulator is a 0-d zero, not `torch.cuda.FloatTensor(len(gpu_ids))` (an
empty tensor -> NaN loss on a CPU); Adam's betas are floats (torch >= 2 refuses `(0, 0.9)`); the
frozen condition generator is called without the `opt` argument the script misses at HEAD.
Not reproduced: `--GT` (ground-truth layout instead of the condition generator).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import partial

import torch
from torch import nn
from vtonkit.vton_infer.networks.spade import NoiseShare
from vtonkit.vton_infer.pipeline import COMPOSITIONS, condition_stage, generator_layout
from vtonkit.vton_infer.train.condition_stage import OFFICIAL_T13, captioned, one_hot_layout, unit_range
from vtonkit.vton_infer.train.discriminators import ImageDiscriminator
from vtonkit.vton_infer.train.losses import (
    feature_matching_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from vtonkit.vton_infer.train.optim import (
    Precision,
    TrainerOptimizers,
    adam,
    frozen,
    restore_rates,
    stop_unless_finite,
    unwrap,
)
from vtonkit.vton_infer.train.vgg import vgg_loss

LOSS_KEYS = ("g_gan", "g_feat", "g_vgg", "g_total", "d_real", "d_fake", "d_total")


@dataclass
class GeneratorStageConfig:
    """Stage-2 hyper-parameters and options (see the module docstring for the official names)."""

    lr_g: float = 1e-4
    lr_d: float = 4e-4
    betas: tuple[float, float] = (0.0, 0.9)
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    no_ganfeat_loss: bool = False
    no_vgg_loss: bool = False
    num_d: int = 2
    n_layers_d: int = 3
    ndf: int = 64
    occlusion: bool = False
    clothmask_composition: str = "warp_grad"
    keep_step: int = 100000
    decay_step: int = 100000
    decay_every: int = 1000

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if self.clothmask_composition not in COMPOSITIONS:
            raise ValueError(f"clothmask_composition must be one of {COMPOSITIONS}, not {self.clothmask_composition!r}")

    @classmethod
    def readme(cls, **overrides) -> GeneratorStageConfig:
        """The README command's options (`--occlusion`)."""
        return cls(**{"occlusion": True, **overrides})

    @classmethod
    def from_dict(cls, values: Mapping) -> GeneratorStageConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def total_steps(self) -> int:
        """The official run length, keep_step + decay_step."""
        return self.keep_step + self.decay_step

    def discriminator(self, label_channels: int = 7) -> ImageDiscriminator:
        """The discriminator these options call for (layout + RGB input channels)."""
        return ImageDiscriminator(input_nc=label_channels + 3, ndf=self.ndf, n_layers=self.n_layers_d, num_D=self.num_d)


OFFICIAL_DECAY_EVERY = 1000  # the official script steps its LambdaLR every 1000 steps
DECAY_UPDATES = 100  # ... 100 times over its 100000 decaying steps


def linear_decay_factor(step: int, keep_step: int, decay_step: int, every: int = 1000) -> float:
    """Learning-rate factor after `step` steps: 1 until keep_step, then linear towards 0 over
    decay_step, updated every `every` steps (the official LambdaLR stepped every 1000 steps); 0
    after that (the official formula goes negative, which would climb the loss)."""
    return max(0.0, 1.0 - max(0, (step // every) * every - keep_step) / float(decay_step + 1))


def decay_over(steps: int) -> dict[str, int]:
    """`keep_step` / `decay_step` / `decay_every` for a run of `steps` steps: the official
    proportions (100000 steps at the full rate, then 100000 decaying in 100 updates, one every 1000
    steps, of 200000) for any length. A 20000-step fine-tune decays over its second half too
    instead of never, and in 100 updates too: updated every 1000 steps it ended at a tenth of the
    rate, and a 1000-step run never decayed."""
    decay_step = steps - steps // 2
    return {"keep_step": steps // 2, "decay_step": decay_step,
            "decay_every": max(1, min(OFFICIAL_DECAY_EVERY, decay_step // DECAY_UPDATES))}


@dataclass
class GeneratorBatch:
    """One stage-2 batch: generator inputs from the frozen condition stage, and the target."""

    x: torch.Tensor  # (N, 9, H, W): agnostic | DensePose | warped garment, in [-1, 1]
    parse: torch.Tensor  # (N, 7, H, W): one-hot generator layout
    image: torch.Tensor  # (N, 3, H, W): the person photo in [-1, 1] (target)
    fake_parse: torch.Tensor  # (N, H, W) int64: the 13-class layout (for sample grids)
    garment: torch.Tensor | None = None  # (N, 3, H, W) the unwarped garment in [-1, 1] (for sample grids)

    def to(self, device: torch.device | str) -> GeneratorBatch:
        tensors = (getattr(self, f.name) for f in fields(self))
        return GeneratorBatch(*(None if t is None else t.to(device) for t in tensors))


@dataclass
class FrozenConditionOutputs:
    """What the frozen condition stage gives the generator stage, per batch (no gradient)."""

    warped_cloth: torch.Tensor  # (N, 3, H, W) in [-1, 1]
    fake_parse: torch.Tensor  # (N, H, W) int64, 13 classes


def frozen_condition_outputs(
    raw: Mapping[str, torch.Tensor],
    tocg: nn.Module,
    t13: Sequence[int] = OFFICIAL_T13,
    *,
    occlusion: bool = False,
    composition: str = "warp_grad",
    fake_parse_override: torch.Tensor | None = None,
) -> FrozenConditionOutputs:
    """Run the frozen condition generator (put in eval mode, no gradient) on uint8 sources at H x W."""
    table = torch.as_tensor(list(t13), dtype=torch.int64, device=raw["parse_agnostic"].device)
    tocg.eval()
    with torch.no_grad():
        stage = condition_stage(
            tocg, unit_range(raw["cloth"]), (raw["cloth_mask"] >= 128).float()[:, None],
            one_hot_layout(raw["parse_agnostic"], table), unit_range(raw["densepose"]),
            occlusion=occlusion, composition=composition, fake_parse_override=fake_parse_override,
        )
    return FrozenConditionOutputs(stage.warped_cloth, stage.fake_parse)


def generator_batch(
    raw: Mapping[str, torch.Tensor],
    tocg: nn.Module,
    t13: Sequence[int] = OFFICIAL_T13,
    *,
    occlusion: bool = False,
    composition: str = "warp_grad",
    fake_parse_override: torch.Tensor | None = None,
) -> GeneratorBatch:
    """Run the frozen condition stage (eval mode, no gradient) on uint8 sources at H x W.

    raw: as for `condition_batch` (cloth, cloth_mask, image, densepose, parse_agnostic) plus
    `agnostic` uint8 (N, 3, H, W); H, W multiples of 128 (512x384 or 1024x768). Pass
    `occlusion=config.occlusion`. The tocg is put in eval mode. fake_parse_override: (N, H, W)
    13-class labels instead of the argmax (tests: comparing past an argmax tie).
    """
    frozen_outputs = frozen_condition_outputs(raw, tocg, t13, occlusion=occlusion, composition=composition,
                                              fake_parse_override=fake_parse_override)
    return assemble_generator_batch(raw, frozen_outputs)


def assemble_generator_batch(raw: Mapping[str, torch.Tensor], frozen_outputs: FrozenConditionOutputs) -> GeneratorBatch:
    """The generator's inputs and target from the uint8 sources and the frozen stage's outputs."""
    _, parse = generator_layout(frozen_outputs.fake_parse)
    x = torch.cat((unit_range(raw["agnostic"]), unit_range(raw["densepose"]), frozen_outputs.warped_cloth), 1)
    return GeneratorBatch(x=x, parse=parse, image=unit_range(raw["image"]), fake_parse=frozen_outputs.fake_parse,
                          garment=unit_range(raw["cloth"]))


# what the per-sample cache of the frozen stage may hold (warped garment float32 + layout uint8:
# about 2.6 MB per sample at 512x384, so some 800 samples; the rest is recomputed every step)
FROZEN_CACHE_BYTES = 2 * 2**30


class CachedGeneratorBatches:
    """`generator_batch` that runs the frozen condition generator once per training sample.

    The frozen stage is a pure function of a sample's inputs (eval mode, no dropout, no random
    draw), and `TrainingDataset` has no random augmentation, so a sample's warped garment and
    layout are the same at every epoch: they are kept per sample (`raw["index"]`, the dataset
    index) up to `budget_bytes` and reused. A batch with any sample not yet cached runs the
    frozen stage on the whole batch, exactly as without the cache; a fully cached batch stacks the
    kept rows, which equal a recomputation up to float rounding across batch compositions (the
    tests check 1e-5). `cache = None` switches the cache off (benchmarks). Without `index` in
    `raw` nothing is cached.
    """

    def __init__(self, tocg: nn.Module, t13: Sequence[int] = OFFICIAL_T13, *, occlusion: bool = False,
                 composition: str = "warp_grad", budget_bytes: int = FROZEN_CACHE_BYTES) -> None:
        self.tocg = tocg
        self.t13 = tuple(int(v) for v in t13)
        self.occlusion = occlusion
        self.composition = composition
        self.budget_bytes = budget_bytes
        self.cache: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = {}
        self.cached_bytes = 0

    def __call__(self, raw: Mapping[str, torch.Tensor]) -> GeneratorBatch:
        indices = raw["index"].tolist() if "index" in raw and self.cache is not None else None
        if indices is not None and all(i in self.cache for i in indices):
            rows = [self.cache[i] for i in indices]
            frozen_outputs = FrozenConditionOutputs(torch.stack([r[0] for r in rows]),
                                                    torch.stack([r[1] for r in rows]).long())
            return assemble_generator_batch(raw, frozen_outputs)
        frozen_outputs = frozen_condition_outputs(raw, self.tocg, self.t13, occlusion=self.occlusion,
                                                  composition=self.composition)
        for row, index in enumerate(indices or ()):
            size = frozen_outputs.warped_cloth[row].nbytes + frozen_outputs.fake_parse[row].numel()
            if index not in self.cache and self.cached_bytes + size <= self.budget_bytes:
                self.cache[index] = (frozen_outputs.warped_cloth[row].clone(),
                                     frozen_outputs.fake_parse[row].to(torch.uint8))
                self.cached_bytes += size
        return assemble_generator_batch(raw, frozen_outputs)


@dataclass
class GeneratorVisuals:
    """What the sample grid shows of the last step, one tile per field in this order: the
    generator's inputs, then the real photo beside the output the VGG loss compares with it.
    Detached; the batch fields are views of the batch, not copies."""

    agnostic: torch.Tensor = captioned("agnostic")  # (N, 3, H, W) in [-1, 1]
    densepose: torch.Tensor = captioned("densepose")  # (N, 3, H, W) in [-1, 1]
    garment: torch.Tensor | None = captioned("garment")  # (N, 3, H, W); None for a batch built without it
    warped_cloth: torch.Tensor = captioned("warped garment (stage 1)")  # (N, 3, H, W)
    fake_parse: torch.Tensor = captioned("parse (stage 1)")  # (N, H, W) int64, 13 classes
    image: torch.Tensor = captioned("target: person")  # (N, 3, H, W) in [-1, 1]
    output: torch.Tensor = captioned("output: try-on")  # (N, 3, H, W) generator output of the generator step

    @classmethod
    def of(cls, batch: GeneratorBatch, output: torch.Tensor) -> GeneratorVisuals:
        """The step's batch and output, detached."""
        x = batch.x.detach()
        return cls(agnostic=x[:, 0:3], densepose=x[:, 3:6],
                   garment=None if batch.garment is None else batch.garment.detach(),
                   warped_cloth=x[:, 6:9], fake_parse=batch.fake_parse, image=batch.image.detach(),
                   output=output.detach())


def _split_batch(predictions: list[list[torch.Tensor]], n: int) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    fake = [[t[:n] for t in outputs] for outputs in predictions]
    real = [[t[n:] for t in outputs] for outputs in predictions]
    return fake, real


class GeneratorTrainer:
    """One official stage-2 step per `step(batch)`; generator and discriminator may be DDP-wrapped.

    generator: SPADEGenerator; disc: ImageDiscriminator (`config.discriminator()`); vgg: frozen
    VGG19. autocast_dtype / grad_scaler as in ConditionTrainer. `schedulers` decay both learning
    rates per `linear_decay_factor`. rank / world_size: this process's place in a data-parallel run
    (`distributed.data_parallel` wrappers): every rank draws the SPADE noise of the global batch and
    uses its own rows (`NoiseShare`), so N ranks compute what one process computes on the global batch.
    """

    def __init__(
        self,
        generator: nn.Module,
        disc: nn.Module,
        vgg: nn.Module,
        config: GeneratorStageConfig | None = None,
        *,
        autocast_dtype: torch.dtype | None = None,
        grad_scaler: torch.amp.GradScaler | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.generator = generator
        self.rank, self.world_size = rank, world_size
        self.disc = disc
        self.vgg = vgg
        self.config = config or GeneratorStageConfig()
        self.precision = Precision(autocast_dtype, grad_scaler)
        self.optimizers = TrainerOptimizers(
            adam(generator, self.config.lr_g, self.config.betas), adam(disc, self.config.lr_d, self.config.betas)
        )
        factor = partial(linear_decay_factor, keep_step=self.config.keep_step, decay_step=self.config.decay_step,
                         every=self.config.decay_every)
        self.schedulers = TrainerOptimizers(
            torch.optim.lr_scheduler.LambdaLR(self.optimizers.generator, factor),
            torch.optim.lr_scheduler.LambdaLR(self.optimizers.discriminator, factor),
        )
        self.step_count = 0
        self.last_visuals: GeneratorVisuals | None = None

    def _pair(self, batch: GeneratorBatch, output: torch.Tensor) -> torch.Tensor:
        return torch.cat((torch.cat((batch.parse, output), 1), torch.cat((batch.parse, batch.image), 1)), 0)

    def step(self, batch: GeneratorBatch) -> dict[str, float]:
        """One generator step then one discriminator step; returns the losses (LOSS_KEYS)."""
        cfg = self.config
        n = batch.x.shape[0]
        self.generator.train()
        self.disc.train()
        disc_core = unwrap(self.disc)
        device = batch.x.device
        noise = None if self.world_size == 1 else NoiseShare(n * self.world_size, n * self.rank)
        with self.precision.autocast(device):
            output = self.generator(batch.x, batch.parse, noise_rng=noise)
            with frozen(disc_core):
                fake, real = _split_batch(disc_core(self._pair(batch, output)), n)
            g_gan = hinge_generator_loss(fake)
            zero = torch.zeros((), device=device)
            g_feat = zero if cfg.no_ganfeat_loss else feature_matching_loss(fake, real, cfg.lambda_feat)
            g_vgg = zero if cfg.no_vgg_loss else vgg_loss(self.vgg, output, batch.image) * cfg.lambda_vgg
            g_total = g_gan + g_feat + g_vgg
        stop_unless_finite(self.step_count + 1, {"g_gan": g_gan, "g_feat": g_feat, "g_vgg": g_vgg, "g_total": g_total})
        self.precision.backward_step(g_total, self.optimizers.generator)

        with self.precision.autocast(device):
            with torch.no_grad():  # unwrapped: no gradient, nothing for DDP to do
                output_d = unwrap(self.generator)(batch.x, batch.parse, noise_rng=noise)
            fake, real = _split_batch(self.disc(self._pair(batch, output_d.detach())), n)
            d_fake = hinge_discriminator_loss(fake, False)
            d_real = hinge_discriminator_loss(real, True)
            d_total = d_fake + d_real
        stop_unless_finite(self.step_count + 1, {"d_real": d_real, "d_fake": d_fake, "d_total": d_total})
        self.precision.backward_step(d_total, self.optimizers.discriminator)
        self.precision.end_step()
        for scheduler in self.schedulers:
            scheduler.step()
        self.step_count += 1
        self.last_visuals = GeneratorVisuals.of(batch, output)
        values = (g_gan, g_feat, g_vgg, g_total, d_real, d_fake, d_total)
        return {key: float(value.detach().float().item()) for key, value in zip(LOSS_KEYS, values)}

    def state_dict(self) -> dict:
        """Networks, optimizers, schedulers, step count, scaler and config (for --resume)."""
        return {
            "step": self.step_count,
            "config": asdict(self.config),
            "generator": unwrap(self.generator).state_dict(),
            "discriminator": unwrap(self.disc).state_dict(),
            "optimizer_g": self.optimizers.generator.state_dict(),
            "optimizer_d": self.optimizers.discriminator.state_dict(),
            "scheduler_g": self.schedulers.generator.state_dict(),
            "scheduler_d": self.schedulers.discriminator.state_dict(),
            **self.precision.state_dict(),
        }

    def load_state_dict(self, state: Mapping) -> None:
        unwrap(self.generator).load_state_dict(state["generator"])
        unwrap(self.disc).load_state_dict(state["discriminator"])
        self.optimizers.generator.load_state_dict(state["optimizer_g"])
        self.optimizers.discriminator.load_state_dict(state["optimizer_d"])
        self.schedulers.generator.load_state_dict(state["scheduler_g"])
        self.schedulers.discriminator.load_state_dict(state["scheduler_d"])
        restore_rates(self.optimizers, (self.config.lr_g, self.config.lr_d), self.schedulers)
        self.precision.load_state_dict(state)
        self.step_count = int(state["step"])
