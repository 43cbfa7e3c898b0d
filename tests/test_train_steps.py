"""Training steps beyond the official fixtures: resume from state_dict, mixed precision, LR decay.

Small networks (ngf 4-8) on the fixtures' real samples, reduced in size, keep these fast; the
numerics against the official code are in test_train_fixtures.py.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator
from vtonkit.vton_infer.train.condition_stage import ConditionStageConfig, ConditionTrainer, condition_batch
from vtonkit.vton_infer.train.generator_stage import (
    GeneratorStageConfig,
    GeneratorTrainer,
    generator_batch,
    linear_decay_factor,
)
from vtonkit.vton_infer.train.vgg import VGG19


def sources(path: Path, step_y: int, step_x: int) -> dict[str, torch.Tensor]:
    raw = torch.load(path, weights_only=True)
    return {k: v[..., ::step_y, ::step_x].contiguous() for k, v in raw.items() if torch.is_tensor(v)}


def roundtrip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.fixture(scope="module")
def vgg() -> VGG19:
    torch.manual_seed(0)
    return VGG19()


def condition_trainer(vgg: VGG19, **options) -> ConditionTrainer:
    torch.manual_seed(1)
    config = ConditionStageConfig(**options)
    return ConditionTrainer(ConditionGenerator(ngf=4), config.discriminator(), vgg, config)


def test_condition_stage_resumes_exactly_and_runs_in_bf16(reference: Path, vgg: VGG19) -> None:
    batch = condition_batch(sources(reference / "hrviton-train" / "inputs_256x192.pt", 2, 2))  # 128x96
    straight = condition_trainer(vgg)
    first = straight.step(batch)
    saved = roundtrip(straight.state_dict())
    second = straight.step(batch)
    resumed = condition_trainer(vgg)
    resumed.load_state_dict(saved)
    assert resumed.step_count == 1
    assert resumed.step(batch) == second
    assert second != first
    assert all(torch.equal(a, b) for a, b in zip(straight.tocg.state_dict().values(), resumed.tocg.state_dict().values()))
    visuals = resumed.last_visuals
    assert visuals.layout.shape == (2, 128, 96) and visuals.warped_cloth.shape == (2, 3, 128, 96)

    bf16 = ConditionTrainer(ConditionGenerator(ngf=4), ConditionStageConfig.readme().discriminator(), vgg,
                            ConditionStageConfig.readme(edgeawaretv="weighted"), autocast_dtype=torch.bfloat16)
    losses = bf16.step(batch)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses


def test_generator_stage_resumes_exactly_with_decaying_learning_rate(reference: Path, vgg: VGG19) -> None:
    raw = sources(reference / "hrviton-train" / "inputs_512x384.pt", 2, 3)  # 256x128: the smallest 'most' size
    torch.manual_seed(2)
    tocg = ConditionGenerator(ngf=4)
    batch = generator_batch(raw, tocg, occlusion=True)
    assert batch.x.shape == (2, 9, 256, 128) and batch.parse.shape == (2, 7, 256, 128)
    config = GeneratorStageConfig(keep_step=1, decay_step=4, decay_every=1)

    def trainer() -> GeneratorTrainer:
        torch.manual_seed(3)
        return GeneratorTrainer(SPADEGenerator(ngf=4), config.discriminator(), vgg, config)

    straight = trainer()
    straight.step(batch)
    saved = roundtrip(straight.state_dict())
    torch.manual_seed(4)  # the SPADE noise stream of the second step
    second = straight.step(batch)
    resumed = trainer()
    resumed.load_state_dict(saved)
    torch.manual_seed(4)
    assert resumed.step(batch) == second
    assert all(torch.isfinite(torch.tensor(v)) for v in second.values())
    # after 2 steps: factor 1 - (2 - 1) / 5
    for t in (straight, resumed):
        assert t.optimizers.generator.param_groups[0]["lr"] == pytest.approx(1e-4 * 0.8)
        assert t.optimizers.discriminator.param_groups[0]["lr"] == pytest.approx(4e-4 * 0.8)


def test_linear_decay_factor_is_the_official_schedule() -> None:
    # official: LambdaLR stepped every 1000 steps, lambda k: 1 - max(0, 1000 k - keep) / (decay + 1)
    assert linear_decay_factor(0, 100000, 100000) == 1.0
    assert linear_decay_factor(100999, 100000, 100000) == 1.0
    assert linear_decay_factor(101000, 100000, 100000) == 1.0 - 1000 / 100001
    assert linear_decay_factor(200000, 100000, 100000) == pytest.approx(1 / 100001)


def test_the_learning_rate_decays_over_the_second_half_of_any_run_and_never_below_zero() -> None:
    """Stage 2 decayed from step 100000 whatever --steps said: a 20000-step fine-tune never decayed,
    and past step 201000 the factor went negative (the optimiser then climbs the loss)."""
    from vtonkit.vton_infer.train.builders import stage_config
    from vtonkit.vton_infer.train.generator_stage import decay_over

    # the official run, unchanged
    assert decay_over(200000) == {"keep_step": 100000, "decay_step": 100000, "decay_every": 1000}
    assert linear_decay_factor(250000, 100000, 100000) == 0.0
    official_last = linear_decay_factor(199999, 100000, 100000)
    for steps in (1000, 3000, 20000):
        # every length decays from its middle to about what the official run ends at (updated
        # every 1000 steps, a 1000-step run never decayed and a 20000-step one ended at 0.1)
        keep, decay, every = decay_over(steps).values()
        factors = [linear_decay_factor(step, keep, decay, every) for step in range(steps)]
        assert factors[: steps // 2 + 1] == [1.0] * (steps // 2 + 1)
        assert factors[-1] < 0.02 and all(a >= b for a, b in zip(factors, factors[1:]))
    keep, decay, every = decay_over(4).values()  # a 4-step run still decays
    assert [linear_decay_factor(step, keep, decay, every) for step in range(4)] == pytest.approx([1.0, 1.0, 1.0, 2 / 3])
    keep, decay, every = decay_over(20000).values()
    assert linear_decay_factor(15000, keep, decay, every) == pytest.approx(0.5, abs=1e-3)
    assert linear_decay_factor(19999, keep, decay, every) == pytest.approx(official_last, abs=1e-3)
    assert linear_decay_factor(20000, keep, decay, every) == pytest.approx(0.0, abs=1e-3)
    options = type("Options", (), {"recipe": "default", "lr": None, "steps": 20000})()
    config = stage_config(GeneratorStageConfig, options, **decay_over(options.steps))
    assert (config.keep_step, config.decay_step, config.decay_every) == (10000, 10000, 100)


def test_cached_frozen_stage_gives_the_batches_of_a_recomputation(reference: Path) -> None:
    """Stage 2's per-sample cache of the frozen condition generator: the first batch is the
    uncached recipe's bit for bit, a later batch in another order runs no frozen forward and equals
    a recomputation (warped garment within 1e-5, layout exactly), and a full budget caches nothing."""
    from vtonkit.vton_infer.train.generator_stage import CachedGeneratorBatches

    raw = sources(reference / "hrviton-train" / "inputs_512x384.pt", 2, 3)  # 2 samples at 256x128
    raw["index"] = torch.tensor([5, 9])
    torch.manual_seed(2)
    tocg = ConditionGenerator(ngf=4)
    forwards = []
    tocg.register_forward_hook(lambda *_: forwards.append(1))
    recipe = CachedGeneratorBatches(tocg, occlusion=True)
    first = recipe(raw)
    plain = generator_batch(raw, tocg, occlusion=True)
    for name in ("x", "parse", "image", "fake_parse"):
        assert torch.equal(getattr(first, name), getattr(plain, name)), name
    assert len(forwards) == 2 and sorted(recipe.cache) == [5, 9]

    swapped = {k: v.flip(0) for k, v in raw.items()}  # indices [9, 5]: both cached
    cached = recipe(swapped)
    assert len(forwards) == 2  # no frozen forward for a cached batch
    again = generator_batch(swapped, tocg, occlusion=True)
    assert torch.equal(cached.fake_parse, again.fake_parse) and torch.equal(cached.parse, again.parse)
    assert torch.equal(cached.image, again.image)
    torch.testing.assert_close(cached.x, again.x, rtol=0, atol=1e-5)

    full = CachedGeneratorBatches(tocg, occlusion=True, budget_bytes=0)
    full(raw)
    full(raw)
    assert full.cache == {} and len(forwards) == 5  # 3 so far + one per uncached call


def test_noise_share_is_this_process_rows_of_the_global_draw() -> None:
    """Data-parallel stage 2: rank r of N (b samples each) adds the noise rows r*b.. of the draw one
    process makes for the global batch, and leaves the global stream where one process leaves it."""
    from vtonkit.vton_infer.networks.spade import NoiseShare, draw_noise

    torch.manual_seed(7)
    whole = draw_noise(4, 6, 5, None)
    after_whole = torch.randn(3)
    shares = []
    for rank in range(2):
        torch.manual_seed(7)
        shares.append(draw_noise(2, 6, 5, NoiseShare(4, 2 * rank)))
        assert torch.equal(torch.randn(3), after_whole)
    assert torch.equal(torch.cat(shares), whole) and whole.shape == (4, 6, 5, 1)
    with pytest.raises(ValueError, match="outside the global batch"):
        draw_noise(2, 6, 5, NoiseShare(3, 2))
