"""Networks and checkpoint loading: official keys/shapes, published-file loading, clear errors."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from vtonkit.vton_infer.checkpoints import (
    load_condition_generator,
    load_generator,
    official_renames,
    read_state_dict,
)
from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator
from vtonkit.vton_infer.networks.spade import SPADENorm, seg_layout

from vtonkit.core.errors import FormatError, InputError


def key_table(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
    return [(key, () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))) for key, shape, *_ in rows]


@pytest.mark.parametrize(("network", "table"), [(ConditionGenerator, "condgen_keys.tsv"), (SPADEGenerator, "gen_keys.tsv")])
def test_state_dict_matches_the_official_key_list(reference: Path, network, table: str) -> None:
    expected = key_table(reference / "hrviton" / table)
    state = network().state_dict()
    # key for key, shape for shape, and in the official order
    assert [(k, tuple(v.shape)) for k, v in state.items()] == expected
    # buffers vs parameters as in the official module (BN stats / spectral-norm u, v are buffers)
    kinds = {line.split("\t")[0]: line.split("\t")[3] for line in (reference / "hrviton" / table).read_text().splitlines()[1:]}
    params = {name for name, _ in network().named_parameters()}
    assert {k for k, kind in kinds.items() if kind == "param"} == params


def test_generator_records_legacy_spectral_norm_metadata() -> None:
    metadata = SPADEGenerator().state_dict()._metadata
    assert metadata["up_4.conv_s"]["spectral_norm"] == {"weight.version": 1}


def small_generator_state() -> OrderedDict:
    return OrderedDict(SPADEGenerator().state_dict())


def test_loader_reads_a_gpu_style_plain_state_dict_and_applies_official_renames(tmp_path: Path) -> None:
    tocg = ConditionGenerator()
    state = OrderedDict((f"module.{k}", v) for k, v in tocg.state_dict().items())  # DataParallel prefix
    torch.save(state, tmp_path / "mtviton.pth")
    loaded = load_condition_generator(tmp_path / "mtviton.pth")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in tocg.state_dict().items())
    renamed = official_renames(OrderedDict({"up_0.norm_0.Spade.conv_shared.0.weight": torch.zeros(1),
                                            "G_middle_0.ace_norm.x": torch.zeros(1)}))
    assert list(renamed) == ["up_0.norm_0.conv_shared.0.weight", "G_middle_0.alias_norm.x"]


def test_missing_and_misshapen_keys_are_named(tmp_path: Path) -> None:
    state = small_generator_state()
    del state["conv_img.bias"]
    state["conv_0.weight"] = torch.zeros(3, 3)
    torch.save(state, tmp_path / "gen.pth")
    with pytest.raises(FormatError) as info:
        load_generator(tmp_path / "gen.pth")
    message = str(info.value)
    assert "gen.pth" in message and "conv_img.bias" in message and "conv_0.weight" in message


def test_generator_is_strict_but_condition_generator_ignores_extra_keys(tmp_path: Path) -> None:
    state = small_generator_state()
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "gen.pth")
    with pytest.raises(FormatError, match="unexpected keys"):
        load_generator(tmp_path / "gen.pth")
    tocg_state = OrderedDict(ConditionGenerator().state_dict())
    tocg_state["D.extra"] = torch.zeros(1)
    torch.save(tocg_state, tmp_path / "tocg.pth")
    load_condition_generator(tmp_path / "tocg.pth")  # like the official strict=False


def test_swapped_checkpoints_and_non_checkpoints_give_clear_errors(tmp_path: Path) -> None:
    torch.save(OrderedDict(ConditionGenerator().state_dict()), tmp_path / "mtviton.pth")
    with pytest.raises(FormatError, match="mtviton.pth for --tocg-checkpoint"):
        load_generator(tmp_path / "mtviton.pth")
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    with pytest.raises(FormatError, match="notes.pth"):
        read_state_dict(tmp_path / "notes.pth")
    with pytest.raises(InputError, match="not found"):
        read_state_dict(tmp_path / "absent.pth")


def test_sparse_modulation_equals_dense_on_a_real_layout(vitonhd: Path) -> None:
    """gamma/beta computed once per distinct 5x5 window equal the dense convolutions (up to float order)."""
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.labels import merge_13_to_7, merge_to_13

    labels = torch.from_numpy(merge_13_to_7(merge_to_13(read_parse(vitonhd / "test/image-parse-v3/00013_00.png"))))
    seg = torch.nn.functional.one_hot(labels[::4, ::4].long(), 7).permute(2, 0, 1)[None].float()  # 256x192
    torch.manual_seed(1)
    norm = SPADENorm(24).eval()
    x = torch.randn(1, 24, *seg.shape[2:])
    layout = seg_layout(seg)
    # few distinct windows (that is the speed-up), and every pixel's window is the one it points to
    assert layout is not None and 7 <= layout.patterns.shape[0] < seg[0, 0].numel() // 20
    padded = torch.nn.functional.pad(seg.argmax(1), (2, 2, 2, 2), value=7)
    windows = padded.unfold(1, 5, 1).unfold(2, 5, 1).reshape(-1, 25)
    assert torch.equal(layout.patterns[layout.pattern_index.reshape(-1)], windows)
    with torch.inference_mode():
        dense = norm(x, seg)
        sparse = norm(x, seg, layout)
    assert (dense - sparse).abs().max().item() < 1e-5
    assert seg_layout(seg * 0.5) is None  # not one-hot: dense path


def _with_nan(weight: torch.Tensor) -> torch.Tensor:
    weight = weight.clone()
    weight.view(-1)[0] = float("nan")
    return weight


def _with_inf(weight: torch.Tensor) -> torch.Tensor:
    weight = weight.clone()
    weight.view(-1)[-1] = float("-inf")
    return weight


@pytest.mark.parametrize(("spoil", "reason"), [
    (_with_nan, "NaN or infinite values"),
    (_with_inf, "NaN or infinite values"),
    (lambda w: w.to(torch.int32), "torch.int32, not floating point"),
    (lambda w: w.bool(), "torch.bool, not floating point"),
    (lambda w: w.to(torch.complex64), "torch.complex64, not floating point"),
    (lambda w: w.to_sparse(), "torch.sparse_coo tensor, not a dense one"),
])
def test_weights_with_unusable_values_are_named(tmp_path: Path, spoil, reason: str) -> None:
    """They loaded silently (all-black outputs, rc 0); a sparse tensor was a traceback."""
    state = OrderedDict(ConditionGenerator(ngf=8).state_dict())
    state["ClothEncoder.0.block.0.weight"] = spoil(state["ClothEncoder.0.block.0.weight"])
    torch.save(state, tmp_path / "mtviton.pth")
    with pytest.raises(FormatError) as info:
        load_condition_generator(tmp_path / "mtviton.pth")
    assert info.value.path == tmp_path / "mtviton.pth"
    assert f"ClothEncoder.0.block.0.weight: {reason}" in str(info.value)


def test_a_forged_width_key_builds_no_network_before_the_other_keys_are_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The width is read from one weight; forged to 20000 it built a network of ~2e12 weights."""
    from vtonkit.vton_infer import checkpoints

    built = []

    def spy(ngf: int) -> ConditionGenerator:
        device = torch.get_default_device()
        built.append((ngf, device.type))
        if ngf > 96 and device.type != "meta":
            raise AssertionError(f"built a width-{ngf} network in memory before checking the file")
        return ConditionGenerator(ngf=ngf)

    monkeypatch.setattr(checkpoints, "ConditionGenerator", spy)
    state = OrderedDict(ConditionGenerator(ngf=8).state_dict())
    state["ClothEncoder.0.scale.weight"] = torch.zeros(20000, 4, 1, 1)
    torch.save(state, tmp_path / "mtviton.pth")
    with pytest.raises(FormatError, match="shape mismatches") as info:
        load_condition_generator(tmp_path / "mtviton.pth")
    assert "mtviton.pth" in str(info.value) and "ClothEncoder.0.block.0.weight" in str(info.value)
    assert built == [(20000, "meta")]
