"""vtonkit.vton_infer.train against the official training-step fixtures (../shared/reference/hrviton-train).

Each fixture is one step of the official `train()` on filled weights (README there): T1 = stage 1
with the argparse defaults, T1r = stage 1 with the README flags (dropout masks injected through
forward hooks), T2 = stage 2 at 512x384 with `--occlusion` (SPADE noise injected by replacing
`draw_noise`, which also checks the draw order). Networks are filled by the fixture's
`fill_weights.py` (imported from the shared folder). Every step runs once per module; the tests
compare losses, forward quantities, gradient statistics, full gradients and the Adam update with
the README's tolerances and print the worst measured deviation as a fraction of the allowed one
(run with -s to see them).
"""
from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator, spade
from vtonkit.vton_infer.pipeline import generator_layout
from vtonkit.vton_infer.train.condition_stage import (
    ConditionStageConfig,
    ConditionTrainer,
    condition_batch,
)
from vtonkit.vton_infer.train.discriminators import ConditionDiscriminator, ImageDiscriminator
from vtonkit.vton_infer.train.generator_stage import (
    GeneratorBatch,
    GeneratorStageConfig,
    GeneratorTrainer,
    generator_batch,
)
from vtonkit.vton_infer.train.vgg import VGG19, load_vgg19

from vtonkit.core.errors import FormatError, InputError

T1_LOSSES = {"l1_cloth": "l1_cloth", "vgg": "vgg", "tv": "tv", "ce": "ce", "g_gan": "G_GAN", "g_total": "G_total",
             "d_fake": "D_fake", "d_real": "D_real", "d_total": "D_total"}
T2_LOSSES = {"g_gan": "G_GAN", "g_feat": "G_GAN_Feat", "g_vgg": "G_VGG", "g_total": "G_total",
             "d_fake": "D_Fake", "d_real": "D_Real", "d_total": "D_total"}


# ----------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def train_ref(reference: Path) -> Path:
    return reference / "hrviton-train"


def key_shapes(path: Path) -> OrderedDict:
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
    return OrderedDict((r[0], tuple(int(s) for s in r[1].split("x"))) for r in rows)


def filled(model: torch.nn.Module, fill) -> torch.nn.Module:
    model.load_state_dict(fill(model.state_dict()), strict=True)
    return model


def load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


@dataclass
class Deviations:
    """Worst |measured - reference| / allowed per quantity group; failures listed by name."""

    worst: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def add(self, group: str, name: str, diff: float, allowed: float) -> None:
        ratio = diff / allowed if allowed > 0 else (0.0 if diff == 0 else float("inf"))
        if ratio > self.worst.get(group, (0.0, ""))[0]:
            self.worst[group] = (ratio, name)
        if not ratio <= 1.0:
            self.failures.append(f"{group} {name}: |diff| {diff:.3g} > allowed {allowed:.3g}")

    def check(self, label: str) -> None:
        print(f"\n{label}: worst deviation / tolerance: "
              + ", ".join(f"{g} {r:.3f} ({n})" for g, (r, n) in sorted(self.worst.items())))
        assert not self.failures, "\n".join(self.failures[:30])


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().double() - b.double()).abs().max().item()


def probe(name: str, shape) -> torch.Tensor:
    g = torch.Generator().manual_seed(zlib.crc32(("probe:" + name).encode("utf-8")))
    return torch.randn(tuple(shape), generator=g)


def compare_losses(dev: Deviations, mine: dict, ref: dict, names: dict) -> None:
    for key, ref_key in names.items():
        value = ref[ref_key].item()
        dev.add("losses (rel 1e-5)", key, abs(mine[key] - value), 1e-5 * abs(value))


def compare_gradients(dev: Deviations, tag: str, model: torch.nn.Module, block: dict, spread: dict) -> None:
    """README rule: has_grad equal; l2/probe/absmax within 20 max(rel_err, 1e-5) l2 (structural zeros
    skipped); grad_full within 10 full_absdiff + 1e-6 max|g|."""
    params = dict(model.named_parameters())
    stats = block["grad_stats"]
    assert sorted(stats["names"]) == sorted(params), f"{tag}: parameter names differ from the official ones"
    for i, name in enumerate(stats["names"]):
        grad = params[name].grad
        assert (grad is not None) == bool(stats["has_grad"][i]), f"{tag} {name}: has_grad differs"
        if grad is None or spread["structural_zero"][i]:
            continue
        g = grad.double()
        l2 = stats["l2"][i].item()
        allowed = 20 * max(spread["rel_err"][i].item(), 1e-5) * l2
        dev.add(f"{tag} grad stats", f"{name}.l2", abs(g.norm().item() - l2), allowed)
        dev.add(f"{tag} grad stats", f"{name}.absmax", abs(g.abs().max().item() - stats["absmax"][i].item()), allowed)
        probe_value = (g * probe(name, g.shape).double()).sum().item()
        dev.add(f"{tag} grad stats", f"{name}.probe", abs(probe_value - stats["probe"][i].item()), allowed)
    for name, ref in block["grad_full"].items():
        allowed = 10 * spread["full_absdiff"][name].item() + 1e-6 * ref.abs().max().item()
        dev.add(f"{tag} grad_full", name, max_abs(params[name].grad, ref), allowed)


def compare_adam(dev: Deviations, tag: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 block: dict, fill) -> None:
    """The trainer's optimizer settings on fill + stored gradient == weight_after (to the last bits); and the
    end-to-end update: <= 1e-6 where |g_ref| >= 0.25 max|g_ref|, <= 2 lr elsewhere."""
    params = dict(model.named_parameters())
    ref_adam = block["adam"]
    group = optimizer.param_groups[0]
    assert group["lr"] == ref_adam["lr"] and group["eps"] == ref_adam["eps"]
    assert tuple(group["betas"]) == tuple(float(b) for b in ref_adam["betas"])
    assert group["weight_decay"] == ref_adam["weight_decay"] and group["amsgrad"] == ref_adam["amsgrad"]
    names = block["grad_stats"]["names"]
    shapes = dict(zip(names, block["grad_stats"]["shapes"]))
    start = fill({n: shapes[n] for n in block["weight_after"]})
    for name, after in block["weight_after"].items():
        p = torch.nn.Parameter(start[name].clone())
        replay = type(optimizer)([p], **optimizer.defaults)
        p.grad = block["grad_full"][name].clone()
        replay.step()
        # Bit for bit on the machine that made the fixture; elsewhere torch's vector kernels (AVX2 vs
        # AVX-512) may round the last bit of w - lr * m / (sqrt(v) + eps) otherwise: measured up to
        # 1.5 float32 ulps of the operands' scale, so 2 ulps of max(|w before|, |w after|, lr) is allowed.
        ulp = torch.finfo(torch.float32).eps * torch.maximum(torch.maximum(start[name].abs(), after.abs()),
                                                             torch.tensor(ref_adam["lr"]))
        off = ((p.detach() - after).abs() / ulp).max().item()
        assert off <= 2.0, f"{tag} {name}: Adam(fill, stored grad) is {off:.1f} ulps from weight_after"
        g_ref = block["grad_full"][name].abs()
        strong = g_ref >= 0.25 * g_ref.max()
        diff = (params[name].detach() - after).abs()
        dev.add(f"{tag} weight_after", f"{name} (strong grad)", diff[strong].max().item(), 1e-6)
        if (~strong).any():
            # a sign flip of a round-off gradient moves the weight by 2 lr (+ float32 rounding of the weight)
            rounding = 2 * torch.finfo(torch.float32).eps * after.abs().max().item()
            dev.add(f"{tag} weight_after", f"{name} (other)", diff[~strong].max().item(), 2 * ref_adam["lr"] + rounding)


def record_calls(module: torch.nn.Module, store: list) -> torch.utils.hooks.RemovableHandle:
    return module.register_forward_hook(lambda mod, args, out: store.append(out))


# ------------------------------------------------------------------------------------ stage 1 run
@dataclass
class ConditionRun:
    fixture: dict
    losses: dict
    trainer: ConditionTrainer
    tocg: ConditionGenerator
    disc: ConditionDiscriminator
    tocg_outputs: list
    disc_outputs: list
    fill: object


@pytest.fixture(scope="module", params=["default", "readme"])
def tocg_run(request, train_ref: Path, reference: Path, fill) -> ConditionRun:
    variant = request.param
    fx = load(train_ref / f"tocg_step_{variant}.pt")
    raw = {k: v for k, v in load(train_ref / "inputs_256x192.pt").items() if torch.is_tensor(v)}
    config = ConditionStageConfig.readme() if variant == "readme" else ConditionStageConfig()
    tocg = filled(ConditionGenerator(), fill)
    disc = filled(config.discriminator(), fill)
    vgg = filled(VGG19(), fill)
    trainer = ConditionTrainer(tocg, disc, vgg, config)
    batch = condition_batch(raw)
    tocg_outputs: list = []
    disc_outputs: list = []
    hooks = [record_calls(tocg, tocg_outputs), record_calls(disc, disc_outputs)]
    masks = list(fx.get("dropout", []))
    names = {m: n for n, m in disc.named_modules()}

    def inject_mask(module, args, output):
        # the official masks, in call order (same module, same shape)
        expected = masks.pop(0)
        assert names[module] == expected["module"] and output.shape == expected["mask"].shape
        return args[0] * expected["mask"].to(output.dtype) / (1 - expected["p"])

    hooks += [m.register_forward_hook(inject_mask) for m in disc.modules() if isinstance(m, torch.nn.Dropout)]
    torch.manual_seed(fx["seed"])
    try:
        losses = trainer.step(batch)
    finally:
        for hook in hooks:
            hook.remove()
    assert not masks, f"{len(masks)} dropout masks were not used"
    return ConditionRun(fx, losses, trainer, tocg, disc, tocg_outputs, disc_outputs, fill)


def test_condition_batch_recipe(tocg_run: ConditionRun, train_ref: Path) -> None:
    raw = {k: v for k, v in load(train_ref / "inputs_256x192.pt").items() if torch.is_tensor(v)}
    batch = condition_batch(raw)
    mine = {"input1": batch.input1, "input2": batch.input2, "label": batch.label,
            "label_onehot": batch.label_onehot, "parse_cloth_mask": batch.pcm, "im_c": batch.im_c}
    for key, tensor in mine.items():
        d = tensor.double()
        ref = tocg_run.fixture["checksums"][key]
        assert abs(d.sum().item() - ref[0].item()) <= 1e-9 * max(1.0, abs(ref[0].item())), key
        assert abs(d.abs().sum().item() - ref[1].item()) <= 1e-9 * max(1.0, abs(ref[1].item())), key


def test_condition_step_losses_and_forward(tocg_run: ConditionRun) -> None:
    fx, spread = tocg_run.fixture, tocg_run.fixture["spread"]
    dev = Deviations()
    compare_losses(dev, tocg_run.losses, fx["losses"], T1_LOSSES)
    assert len(tocg_run.tocg_outputs) == 1 and len(tocg_run.disc_outputs) == 3
    out = tocg_run.tocg_outputs[0]
    fwd, sp = fx["forward"], spread["forward"]
    for i, (flow, ref) in enumerate(zip(out.flow_list, fwd["flow_list"])):
        dev.add("forward (10x spread)", f"flow {i}", max_abs(flow, ref), 10 * sp["flow_list"][i].item())
    visuals = tocg_run.trainer.last_visuals
    pairs = {
        "seg_raw_s4": out.segmap[..., ::4, ::4],
        "warped_cm_raw": out.warped_cloth_mask,
        "warped_c_raw_s4": out.warped_cloth[..., ::4, ::4],
        "fake_segmap_s4": visuals.fake_segmap[..., ::4, ::4],
        "warped_clothmask": visuals.warped_cloth_mask,
        "warped_cloth_s4": visuals.warped_cloth[..., ::4, ::4],
    }
    for key, tensor in pairs.items():
        dev.add("forward (10x spread)", key, max_abs(tensor, fwd[key]), 10 * sp[key].item())
    for call, outputs in zip(("G_fake", "D_fake", "D_real"), tocg_run.disc_outputs):
        for scale, (mine, ref) in enumerate(zip(outputs, fx["D_out"][call])):
            assert mine.shape == ref.shape
            dev.add("D maps (10x spread)", f"{call} scale {scale}", max_abs(mine, ref),
                    10 * spread["D_out"][call][scale].item())
    state = tocg_run.tocg.state_dict()
    for key, ref in fx["bn_running_after"].items():
        if key.endswith("num_batches_tracked"):
            assert state[key].item() == ref.item(), key
        else:
            dev.add("BN running stats (10x spread)", key, max_abs(state[key], ref), 10 * spread["bn_running_after"][key].item())
    dev.check(f"T1 {tocg_run.fixture['options']['Ddropout'] and 'readme' or 'default'} losses/forward")


def test_condition_step_gradients_and_adam(tocg_run: ConditionRun) -> None:
    fx, spread = tocg_run.fixture, tocg_run.fixture["spread"]
    dev = Deviations()
    compare_gradients(dev, "tocg", tocg_run.tocg, fx["tocg"], spread["tocg_grad"])
    compare_gradients(dev, "D", tocg_run.disc, fx["D"], spread["D_grad"])
    # fact 3: the pose-side FPN convolutions get no gradient and are not updated
    for name, p in tocg_run.tocg.named_parameters():
        if name.startswith("conv2."):
            assert p.grad is None
            assert torch.equal(p.detach(), tocg_run.fill({name: tuple(p.shape)})[name])
    compare_adam(dev, "tocg", tocg_run.tocg, tocg_run.trainer.optimizers.generator, fx["tocg"], tocg_run.fill)
    compare_adam(dev, "D", tocg_run.disc, tocg_run.trainer.optimizers.discriminator, fx["D"], tocg_run.fill)
    dev.check(f"T1 {fx['options']['Ddropout'] and 'readme' or 'default'} gradients/Adam")


# ------------------------------------------------------------------------------------ stage 2 run
@dataclass
class GeneratorRun:
    fixture: dict
    losses: dict
    trainer: GeneratorTrainer
    generator: SPADEGenerator
    disc: ImageDiscriminator
    tocg_flows: list
    batch: GeneratorBatch
    fake_parse_mismatch: torch.Tensor
    injected: bool
    gen_outputs: list
    disc_outputs: list
    fill: object
    sn_before: dict


@pytest.fixture(scope="module")
def gen_run(train_ref: Path, reference: Path, fill) -> GeneratorRun:
    fx = load(train_ref / "gen_step.pt")
    raw = {k: v for k, v in load(train_ref / "inputs_512x384.pt").items() if torch.is_tensor(v)}
    config = GeneratorStageConfig.readme()
    tocg = filled(ConditionGenerator(), fill)
    tocg_outputs: list = []
    hook = record_calls(tocg, tocg_outputs)
    batch = generator_batch(raw, tocg, occlusion=config.occlusion)
    hook.remove()
    stage = fx["tocg_stage"]
    mismatch = batch.fake_parse.to(torch.uint8) != stage["fake_parse"]
    injected = bool(mismatch.any())
    if injected:
        # README: an argmax tie flipped; continue from the reference generator input
        _, parse = generator_layout(stage["fake_parse"].long())
        x = torch.cat([batch.x[:, :6], stage["warped_cloth"]], 1)
        batch_used = GeneratorBatch(x, parse, batch.image, stage["fake_parse"].long())
    else:
        batch_used = batch
    del tocg
    generator = filled(SPADEGenerator(), fill)
    sn_before = {k: v.clone() for k, v in generator.state_dict().items() if k.endswith(("weight_u", "weight_v"))}
    disc = filled(config.discriminator(), fill)
    vgg = filled(VGG19(), fill)
    trainer = GeneratorTrainer(generator, disc, vgg, config)
    noise = list(fx["noise_G"]) + list(fx["noise_Dstep"])
    order = [tuple(shape) for _, shape in fx["noise_call_order"]] * 2

    def stored_noise(batch_size, width, height, noise_rng):
        # the official draws in call order: checks our SPADE call order and shapes (b, w, h, 1)
        assert noise_rng is None and order and (batch_size, width, height, 1) == order.pop(0)
        return noise.pop(0)

    gen_outputs: list = []
    disc_outputs: list = []
    hooks = [record_calls(generator, gen_outputs), record_calls(disc, disc_outputs)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spade, "draw_noise", stored_noise)
        try:
            losses = trainer.step(batch_used)
        finally:
            for h in hooks:
                h.remove()
    assert not noise, f"{len(noise)} stored noise draws unused"
    return GeneratorRun(fx, losses, trainer, generator, disc, tocg_outputs[0].flow_list, batch, mismatch, injected,
                        gen_outputs, disc_outputs, fill, sn_before)


def test_generator_stage_inputs(gen_run: GeneratorRun) -> None:
    fx = gen_run.fixture
    stage, spread = fx["tocg_stage"], fx["spread"]["tocg_stage"]
    dev = Deviations()
    for i, (flow, ref) in enumerate(zip(gen_run.tocg_flows, stage["flow_list"])):
        dev.add("frozen tocg (10x spread)", f"flow {i}", max_abs(flow, ref), 10 * spread["flow_list"][i].item())
    dev.add("frozen tocg (10x spread)", "warped_cloth", max_abs(gen_run.batch.x[:, 6:9], stage["warped_cloth"]),
            10 * spread["warped_cloth"].item())
    fragile = torch.zeros_like(gen_run.fake_parse_mismatch)
    byx = stage["fragile_byx"]
    fragile[byx[:, 0], byx[:, 1], byx[:, 2]] = True
    assert not (gen_run.fake_parse_mismatch & ~fragile).any(), "fake_parse differs outside the fragile pixels"
    print(f"\nT2 fake_parse pixels differing (all fragile): {int(gen_run.fake_parse_mismatch.sum())}; "
          f"reference input injected: {gen_run.injected}")
    dev.check("T2 frozen condition stage")


def test_generator_step_losses_and_outputs(gen_run: GeneratorRun) -> None:
    fx, spread = gen_run.fixture, gen_run.fixture["spread"]
    dev = Deviations()
    compare_losses(dev, gen_run.losses, fx["losses"], T2_LOSSES)
    assert len(gen_run.gen_outputs) == 2 and len(gen_run.disc_outputs) == 2
    y, x, h, w = fx["crop_yxhw"]
    for label, output in zip(("output_G", "output_Dstep"), gen_run.gen_outputs):
        dev.add("outputs (10x spread)", f"{label}_s4", max_abs(output[..., ::4, ::4], fx[f"{label}_s4"]),
                10 * spread[f"{label}_s4"].item())
        dev.add("outputs (10x spread)", f"{label}_crop", max_abs(output[..., y:y + h, x:x + w], fx[f"{label}_crop"]),
                10 * spread[f"{label}_crop"].item())
    for label, outputs in zip(("D_out_G", "D_out_Dstep"), gen_run.disc_outputs):
        for scale, (mine, ref) in enumerate(zip(outputs, fx[label])):
            dev.add("D maps (10x spread)", f"{label} scale {scale}", max_abs(mine[-1], ref), 10 * spread[label][scale].item())
    b = gen_run.batch.x.shape[0]
    feat = torch.tensor([[(f[:b].double() - f[b:].double()).abs().mean().item() for f in scale[:-1]]
                         for scale in gen_run.disc_outputs[0]], dtype=torch.float64)
    dev.add("feat_l1 (10x spread)", "all", max_abs(feat, fx["feat_l1"]), 10 * spread["feat_l1"].item())
    dev.check("T2 losses/outputs")


def test_generator_step_gradients_adam_and_spectral_norm(gen_run: GeneratorRun) -> None:
    fx, spread = gen_run.fixture, gen_run.fixture["spread"]
    dev = Deviations()
    compare_gradients(dev, "gen", gen_run.generator, fx["gen"], spread["gen_grad"])
    compare_gradients(dev, "dis", gen_run.disc, fx["dis"], spread["dis_grad"])
    compare_adam(dev, "gen", gen_run.generator, gen_run.trainer.optimizers.generator, fx["gen"], gen_run.fill)
    compare_adam(dev, "dis", gen_run.disc, gen_run.trainer.optimizers.discriminator, fx["dis"], gen_run.fill)
    gen_state, dis_state = gen_run.generator.state_dict(), gen_run.disc.state_dict()
    for key, ref in fx["gen_sn_after"].items():
        dev.add("SN buffers (abs 1e-5)", key, max_abs(gen_state[key], ref), 1e-5)
    for key, ref in fx["dis_sn_after"].items():
        dev.add("SN buffers (abs 1e-5)", key, max_abs(dis_state[key], ref), 1e-5)
    for key, ref in fx["gen_sn_delta_l2"].items():
        moved = (gen_state[key].double() - gen_run.sn_before[key].double()).norm().item()
        dev.add("SN u/v movement (abs 1e-4)", key, abs(moved - ref.item()), 1e-4)
    dev.check("T2 gradients/Adam/spectral norm")


# ------------------------------------------------------------------------------ keys and VGG files
def test_discriminator_keys_are_the_official_ones(train_ref: Path) -> None:
    def shapes(model):
        return OrderedDict((k, tuple(v.shape)) for k, v in model.state_dict().items())

    assert shapes(ConditionDiscriminator()) == key_shapes(train_ref / "tocg_D_keys.tsv")
    assert shapes(ConditionDiscriminator(dropout=True, downx2=True)) == key_shapes(train_ref / "tocg_D_dropout_keys.tsv")
    assert dict(shapes(ImageDiscriminator())) == dict(key_shapes(train_ref / "gen_D_keys.tsv"))


def test_vgg19_keys_equal_torchvision(train_ref: Path) -> None:
    published = key_shapes(train_ref / "vgg19_keys.tsv")
    features = OrderedDict((k, v) for k, v in published.items() if k.startswith("features."))
    assert OrderedDict((k, tuple(v.shape)) for k, v in VGG19().state_dict().items()) == features
    assert all(k.startswith("classifier.") for k in published if k not in features)


def test_load_vgg19_reads_torchvision_files_and_names_bad_ones(tmp_path: Path, fill) -> None:
    state = fill(VGG19().state_dict())
    # torchvision's file also holds the classifier; its keys are ignored (small stand-ins keep the file small)
    full = OrderedDict(state, **{"classifier.0.weight": torch.zeros(4, 8), "classifier.6.bias": torch.zeros(3)})
    good = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(full, good)
    vgg = load_vgg19(good)
    assert all(torch.equal(vgg.state_dict()[k], v) for k, v in state.items())
    assert not any(p.requires_grad for p in vgg.parameters())

    with pytest.raises(InputError, match="missing.pth"):
        load_vgg19(tmp_path / "missing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(FormatError, match="garbage.pth"):
        load_vgg19(garbage)
    vgg16_like = tmp_path / "vgg16.pth"
    torch.save(OrderedDict((k, v) for k, v in state.items() if not k.startswith(("features.34", "features.32"))), vgg16_like)
    with pytest.raises(FormatError, match=r"vgg16.pth.*missing keys.*features\.3[24]"):
        load_vgg19(vgg16_like)
    wrong_shape = tmp_path / "wrong.pth"
    torch.save(OrderedDict(state, **{"features.0.weight": torch.zeros(64, 1, 3, 3)}), wrong_shape)
    with pytest.raises(FormatError, match=r"wrong.pth.*features\.0\.weight"):
        load_vgg19(wrong_shape)
