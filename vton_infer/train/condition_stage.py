"""HR-VITON stage 1: the condition generator ("tocg") and its discriminator, one step at a time.

What the official `train_condition.train()` computes per step (the fixture-checked facts of
../shared/reference/hrviton-train/README.md): tocg and discriminator in train mode (BatchNorm with
batch statistics); the garment channel of the layout composed with the warped mask
(`warp_grad`: the gradient flows into the warp); with `occlusion` the warped mask loses the
probability of the occluding body parts and the garment turns white outside it; losses
`g_total = (10 * l1_cloth + vgg + tv_lambda * tv) + (ce_lambda * ce + gan_lambda * g_gan)`, where
`l1_cloth` = L1(warped mask, ground-truth garment mask), `vgg` = VGG loss(warped garment,
ground-truth garment on white), `tv` = flow total variation, `ce` = layout cross-entropy on the
composed scores, `g_gan` = LSGAN of the discriminator on `cat[input1, input2, softmax(layout)]`
summed over its 2 scales. Then the discriminator step: `d_fake` on the detached softmax layout,
`d_real` on the ground-truth one-hot parse, two separate forwards (fresh dropout masks each).
The generator step comes first; its gradients never reach the discriminator.

Official option -> `ConditionStageConfig` field:

| train_condition.py option | field | default |
|---|---|---|
| `--G_lr` / `--D_lr` | `lr_g` / `lr_d` | 2e-4 / 2e-4 |
| Adam betas (hard-coded) | `betas` | (0.5, 0.999) |
| `--CElamda` | `ce_lambda` | 10 |
| `--GANlambda` | `gan_lambda` | 1 |
| `--tvlambda` | `tv_lambda` | 2 |
| L1 weight (hard-coded 10) | `l1_lambda` | 10 |
| `--clothmask_composition` | `clothmask_composition` | warp_grad |
| `--occlusion` | `occlusion` | False (README: True) |
| `--interflowloss` | `interflowloss` | False (README: True) |
| `--lasttvonly` | `lasttvonly` | False (README: True) |
| `--edgeawaretv` | `edgeawaretv` | no_edge |
| `--add_lasttv` | `add_lasttv` | False |
| `--Ddownx2` | `d_downx2` | False (README: True) |
| `--Ddropout` | `d_dropout` | False (README: True) |
| `--num_D` | `num_d` | 2 |
| `--no_GAN_loss` | `no_gan_loss` | False |
| `--upsample` | `upsample` | bilinear |
| `--keep_step` | `keep_step` | 300000 (no learning-rate decay in stage 1) |

`ConditionStageConfig.readme()` = the README training command (the five README flags on).
Not reproduced: `--G_D_seperate` (a second tocg forward for the D step), `--spectral` (D),
`--warp_feature encoder` / `--out_layer conv` (other architectures), and the script's crash at HEAD
(`tocg(input1, input2)` without the `opt` argument its forward gained in commit 73a3654).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn
from vtonkit.datasets.labels import CIHP_TO_13
from vtonkit.vton_infer.pipeline import COMPOSITIONS, compose_garment_channel, remove_overlap
from vtonkit.vton_infer.train.discriminators import ConditionDiscriminator
from vtonkit.vton_infer.train.losses import (
    EDGE_AWARE_TV,
    flow_tv_loss,
    interflow_loss,
    layout_cross_entropy,
    lsgan_loss,
)
from vtonkit.vton_infer.train.optim import (
    Precision,
    TrainerOptimizers,
    adam,
    frozen,
    restore_rates,
    stop_unless_finite,
    sync_only_last,
    unwrap,
)
from vtonkit.vton_infer.train.vgg import vgg_loss

# CIHP label 0..19 -> 13 layout channels (channel 3 = the garment), the official table
OFFICIAL_T13: tuple[int, ...] = tuple(int(v) for v in CIHP_TO_13)
GARMENT_CHANNEL = 3
LOSS_KEYS = ("l1_cloth", "vgg", "tv", "ce", "g_gan", "g_total", "d_real", "d_fake", "d_total")


@dataclass
class ConditionStageConfig:
    """Stage-1 hyper-parameters and options (see the module docstring for the official names)."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    ce_lambda: float = 10.0
    gan_lambda: float = 1.0
    tv_lambda: float = 2.0
    l1_lambda: float = 10.0
    clothmask_composition: str = "warp_grad"
    occlusion: bool = False
    interflowloss: bool = False
    lasttvonly: bool = False
    edgeawaretv: str = "no_edge"
    add_lasttv: bool = False
    d_downx2: bool = False
    d_dropout: bool = False
    num_d: int = 2
    no_gan_loss: bool = False
    upsample: str = "bilinear"
    keep_step: int = 300000

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        if self.clothmask_composition not in COMPOSITIONS:
            raise ValueError(f"clothmask_composition must be one of {COMPOSITIONS}, not {self.clothmask_composition!r}")
        if self.edgeawaretv not in EDGE_AWARE_TV:
            raise ValueError(f"edgeawaretv must be one of {EDGE_AWARE_TV}, not {self.edgeawaretv!r}")

    @classmethod
    def readme(cls, **overrides) -> ConditionStageConfig:
        """The README command: `--Ddownx2 --Ddropout --lasttvonly --interflowloss --occlusion`."""
        flags = {"d_downx2": True, "d_dropout": True, "lasttvonly": True, "interflowloss": True, "occlusion": True}
        return cls(**{**flags, **overrides})

    @classmethod
    def from_dict(cls, values: Mapping) -> ConditionStageConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def discriminator(self) -> ConditionDiscriminator:
        """The discriminator these options call for (33 input channels, instance norm)."""
        return ConditionDiscriminator(num_D=self.num_d, downx2=self.d_downx2, dropout=self.d_dropout)


@dataclass
class ConditionBatch:
    """One stage-1 batch as float tensors at 256x192 (the official dataset's tensors)."""

    input1: torch.Tensor  # (N, 4, H, W): garment in [-1, 1] + its {0, 1} mask
    input2: torch.Tensor  # (N, 16, H, W): 13-channel one-hot parse-agnostic + DensePose in [-1, 1]
    label: torch.Tensor  # (N, 13, H, W): one-hot ground-truth layout (the discriminator's "real")
    label_onehot: torch.Tensor  # (N, 1, H, W): ground-truth layout channel ids as floats (CE target)
    pcm: torch.Tensor  # (N, 1, H, W): ground-truth garment mask (channel 3 of `label`)
    im_c: torch.Tensor  # (N, 3, H, W): the worn garment on white (VGG target)

    def to(self, device: torch.device | str) -> ConditionBatch:
        return ConditionBatch(*(getattr(self, f.name).to(device) for f in fields(self)))


def unit_range(u8: torch.Tensor) -> torch.Tensor:
    """uint8 image -> float32 in [-1, 1], exactly ToTensor() + Normalize(0.5, 0.5)."""
    return (u8.float() / 255 - 0.5) / 0.5


def one_hot_layout(labels20: torch.Tensor, t13: torch.Tensor) -> torch.Tensor:
    """(N, H, W) CIHP labels -> (N, 13, H, W) float one-hot through the CIHP -> 13 table."""
    return F.one_hot(t13[labels20.long()], 13).permute(0, 3, 1, 2).float()


def condition_batch(raw: Mapping[str, torch.Tensor], t13: Sequence[int] = OFFICIAL_T13) -> ConditionBatch:
    """Build the stage-1 tensors from the uint8 sources, as the official CPDataset does.

    raw: `cloth`, `image`, `densepose` uint8 (N, 3, H, W); `cloth_mask` uint8 (N, H, W) (>= 128 is
    garment); `parse`, `parse_agnostic` uint8 (N, H, W) CIHP labels 0..19. `t13` maps CIHP labels to
    the 13 channels; the labels mapped to channel 3 form the garment (upper clothes with the
    official table; another category passes its own table).
    """
    if len(t13) != 20:
        raise ValueError(f"t13 must map the 20 CIHP labels, got {len(t13)} entries")
    device = raw["parse"].device
    table = torch.as_tensor(list(t13), dtype=torch.int64, device=device)
    label = one_hot_layout(raw["parse"], table)
    pcm = label[:, GARMENT_CHANNEL:GARMENT_CHANNEL + 1]
    cloth_mask = (raw["cloth_mask"] >= 128).float()[:, None]
    return ConditionBatch(
        input1=torch.cat([unit_range(raw["cloth"]), cloth_mask], 1),
        input2=torch.cat([one_hot_layout(raw["parse_agnostic"], table), unit_range(raw["densepose"])], 1),
        label=label,
        label_onehot=table[raw["parse"].long()].float()[:, None],
        pcm=pcm,
        im_c=unit_range(raw["image"]) * pcm + (1 - pcm),
    )


def captioned(caption: str):
    """A visuals dataclass field with its sample-grid caption (`runner.save_samples` reads it)."""
    return field(metadata={"caption": caption})


@dataclass
class ConditionVisuals:
    """What the sample grid shows of the last step, one tile per field in this order: the inputs,
    then each target beside the prediction the loss compares with it. Detached; the batch fields
    are views of the batch, not copies."""

    garment: torch.Tensor = captioned("garment")  # (N, 3, H, W) in [-1, 1]
    garment_mask: torch.Tensor = captioned("garment mask")  # (N, 1, H, W)
    parse_agnostic: torch.Tensor = captioned("parse agnostic")  # (N, 13, H, W) one-hot
    densepose: torch.Tensor = captioned("densepose")  # (N, 3, H, W) in [-1, 1]
    target_garment: torch.Tensor = captioned("target: worn garment")  # (N, 3, H, W) the VGG target
    warped_cloth: torch.Tensor = captioned("output: warped garment")  # (N, 3, H, W) as it entered the VGG loss
    target_garment_mask: torch.Tensor = captioned("target: garment mask")  # (N, 1, H, W) the L1 target
    warped_cloth_mask: torch.Tensor = captioned("output: warped mask")  # (N, 1, H, W) as it entered the L1 loss
    target_parse: torch.Tensor = captioned("target: parse")  # (N, 13, H, W) one-hot, the CE target
    fake_segmap: torch.Tensor = captioned("output: parse")  # (N, 13, H, W) composed layout scores

    @classmethod
    def of(cls, batch: ConditionBatch, warped_cloth: torch.Tensor, warped_cloth_mask: torch.Tensor,
           fake_segmap: torch.Tensor) -> ConditionVisuals:
        """The step's batch and predictions, detached."""
        return cls(
            garment=batch.input1[:, :3].detach(), garment_mask=batch.input1[:, 3:].detach(),
            parse_agnostic=batch.input2[:, :13].detach(), densepose=batch.input2[:, 13:].detach(),
            target_garment=batch.im_c.detach(), warped_cloth=warped_cloth.detach(),
            target_garment_mask=batch.pcm.detach(), warped_cloth_mask=warped_cloth_mask.detach(),
            target_parse=batch.label.detach(), fake_segmap=fake_segmap.detach(),
        )

    @property
    def layout(self) -> torch.Tensor:
        """(N, H, W) int64: the predicted 13-class layout (argmax)."""
        return self.fake_segmap.argmax(1)


class ConditionTrainer:
    """One official stage-1 step per `step(batch)`; the networks may be DDP-wrapped.

    tocg: ConditionGenerator; disc: ConditionDiscriminator (`config.discriminator()`); vgg: frozen
    VGG19 (`load_vgg19`). autocast_dtype: torch.bfloat16 / torch.float16 autocast around the
    forwards; grad_scaler: a torch.amp.GradScaler for float16.
    DDP: wrap with `distributed.data_parallel` (the tocg with `find_unused_parameters=True`: its
    `conv2.*` never get a gradient, fact 3); the distributed module docstring says why this step
    then equals one process on the global batch.
    """

    def __init__(
        self,
        tocg: nn.Module,
        disc: nn.Module,
        vgg: nn.Module,
        config: ConditionStageConfig | None = None,
        *,
        autocast_dtype: torch.dtype | None = None,
        grad_scaler: torch.amp.GradScaler | None = None,
    ) -> None:
        self.tocg = tocg
        self.disc = disc
        self.vgg = vgg
        self.config = config or ConditionStageConfig()
        self.precision = Precision(autocast_dtype, grad_scaler)
        self.optimizers = TrainerOptimizers(
            adam(tocg, self.config.lr_g, self.config.betas), adam(disc, self.config.lr_d, self.config.betas)
        )
        self.step_count = 0
        self.last_visuals: ConditionVisuals | None = None

    def step(self, batch: ConditionBatch) -> dict[str, float]:
        """One generator step then one discriminator step; returns the losses (LOSS_KEYS)."""
        cfg = self.config
        self.tocg.train()
        self.disc.train()
        disc_core = unwrap(self.disc)
        with self.precision.autocast(batch.input1.device):
            condition = self.tocg(batch.input1, batch.input2)
            fake_segmap = compose_garment_channel(condition.segmap, condition.warped_cloth_mask,
                                                  cfg.clothmask_composition)
            warped_cm, warped_c = condition.warped_cloth_mask, condition.warped_cloth
            if cfg.occlusion:
                warped_cm = remove_overlap(F.softmax(fake_segmap, dim=1), warped_cm)
                warped_c = warped_c * warped_cm + torch.ones_like(warped_c) * (1 - warped_cm)
            l1_cloth = F.l1_loss(warped_cm, batch.pcm)
            vgg = vgg_loss(self.vgg, warped_c, batch.im_c)
            tv = flow_tv_loss(condition.flow_list, last_only=cfg.lasttvonly, edge_aware=cfg.edgeawaretv,
                              warped_cloth_mask=warped_cm, add_last_tv=cfg.add_lasttv)
            if cfg.interflowloss:
                l1_cloth, vgg = interflow_loss(condition.flow_list, batch.input1[:, :3], batch.input1[:, 3:],
                                               fake_segmap, batch.pcm, batch.im_c, self.vgg, l1_cloth, vgg, cfg.upsample)
            ce = layout_cross_entropy(fake_segmap, batch.label_onehot)
            fake_softmax = torch.softmax(fake_segmap, 1)
            if cfg.no_gan_loss:
                g_gan = torch.zeros((), device=ce.device)
                g_total = (cfg.l1_lambda * l1_cloth + vgg + cfg.tv_lambda * tv) + ce * cfg.ce_lambda
            else:
                with frozen(disc_core):
                    g_gan = lsgan_loss(disc_core(torch.cat((batch.input1, batch.input2, fake_softmax), 1)), True)
                g_total = (cfg.l1_lambda * l1_cloth + vgg + cfg.tv_lambda * tv) + (ce * cfg.ce_lambda + g_gan * cfg.gan_lambda)
        stop_unless_finite(self.step_count + 1, {"l1_cloth": l1_cloth, "vgg": vgg, "tv": tv, "ce": ce,
                                                  "g_gan": g_gan, "g_total": g_total})
        self.precision.backward_step(g_total, self.optimizers.generator)

        d_fake = d_real = d_total = torch.zeros(())
        if not cfg.no_gan_loss:
            with self.precision.autocast(batch.input1.device):
                with sync_only_last(self.disc):  # one all-reduce of both forwards' gradients (DDP)
                    d_fake = lsgan_loss(self.disc(torch.cat((batch.input1, batch.input2, fake_softmax.detach()), 1)), False)
                d_real = lsgan_loss(self.disc(torch.cat((batch.input1, batch.input2, batch.label), 1)), True)
                d_total = d_fake + d_real
            stop_unless_finite(self.step_count + 1, {"d_real": d_real, "d_fake": d_fake, "d_total": d_total})
            self.precision.backward_step(d_total, self.optimizers.discriminator)
        self.precision.end_step()
        self.step_count += 1
        self.last_visuals = ConditionVisuals.of(batch, warped_c, warped_cm, fake_segmap)
        values = (l1_cloth, vgg, tv, ce, g_gan, g_total, d_real, d_fake, d_total)
        return {key: float(value.detach().float().item()) for key, value in zip(LOSS_KEYS, values)}

    def state_dict(self) -> dict:
        """Networks, optimizers, step count, mixed-precision scaler and config (for --resume)."""
        return {
            "step": self.step_count,
            "config": asdict(self.config),
            "tocg": unwrap(self.tocg).state_dict(),
            "discriminator": unwrap(self.disc).state_dict(),
            "optimizer_g": self.optimizers.generator.state_dict(),
            "optimizer_d": self.optimizers.discriminator.state_dict(),
            **self.precision.state_dict(),
        }

    def load_state_dict(self, state: Mapping) -> None:
        unwrap(self.tocg).load_state_dict(state["tocg"])
        unwrap(self.disc).load_state_dict(state["discriminator"])
        self.optimizers.generator.load_state_dict(state["optimizer_g"])
        self.optimizers.discriminator.load_state_dict(state["optimizer_d"])
        restore_rates(self.optimizers, (self.config.lr_g, self.config.lr_d))
        self.precision.load_state_dict(state)
        self.step_count = int(state["step"])
