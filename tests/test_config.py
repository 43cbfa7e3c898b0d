"""Per-stage backend choice from vtonkit.toml / --config / $VTONKIT_CONFIG merged with CLI flags."""
from __future__ import annotations

from pathlib import Path

import pytest
from vtonkit.preprocess.config import configured_model_paths, resolve_backends
from vtonkit.preprocess.stages import REGISTRIES

from vtonkit.core.errors import FormatError, InputError


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    monkeypatch.delenv("VTONKIT_CONFIG", raising=False)
    monkeypatch.setenv("VTONKIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_config():
    resolved = resolve_backends({})
    assert set(resolved) == {"pose", "parser", "densepose", "cloth_mask"}
    for stage, (name, options) in resolved.items():
        assert name == REGISTRIES[stage].default and options == {}


def test_working_dir_config_then_cli_overrides(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    _write(tmp_path / "vtonkit.toml", """
[backends]
pose = "dwpose"
parser = "schp-lip"
cloth-mask = "u2net"

[options.dwpose]
det_score_threshold = 0.4

[options.schp-atr]
crop = "person"

[models]
schp-lip = "weights/parsing_lip.onnx"
dwpose-det = "/abs/yolox_l.onnx"
""")
    resolved = resolve_backends({"parser": None, "densepose": "geometric"})
    assert resolved["pose"] == ("dwpose", {"det_score_threshold": 0.4, "model_paths": {"dwpose-det": "/abs/yolox_l.onnx"}})
    assert resolved["parser"] == ("schp-lip", {"model_paths": {"schp-lip": str(weights / "parsing_lip.onnx")}})
    assert resolved["cloth_mask"] == ("u2net", {})
    # A CLI flag wins, and takes its own backend's options (never the replaced backend's).
    resolved = resolve_backends({"parser": "schp-atr", "pose": "mediapipe"})
    assert resolved["parser"] == ("schp-atr", {"crop": "person"})
    assert resolved["pose"] == ("mediapipe", {})
    assert configured_model_paths()["schp-lip"] == str(weights / "parsing_lip.onnx")


def test_explicit_path_and_env(tmp_path, monkeypatch):
    explicit = _write(tmp_path / "a.toml", '[backends]\nparser = "schp-atr"\n')
    env = _write(tmp_path / "b.toml", '[backends]\nparser = "schp-pascal"\n')
    _write(tmp_path / "vtonkit.toml", '[backends]\nparser = "schp-lip"\n')
    assert resolve_backends({})["parser"][0] == "schp-lip"
    monkeypatch.setenv("VTONKIT_CONFIG", str(env))
    assert resolve_backends({})["parser"][0] == "schp-pascal"
    assert resolve_backends({}, config_path=explicit)["parser"][0] == "schp-atr"
    with pytest.raises(InputError, match="nope.toml"):
        resolve_backends({}, config_path=tmp_path / "nope.toml")


@pytest.mark.parametrize("text, message", [
    ('[backends]\nparser = "schp-lipp"\n', "unknown backend"),
    ('[backends]\nposture = "dwpose"\n', "unknown stage"),
    ('[backend]\nparser = "schp-lip"\n', "unknown section"),
    ('[backends\nparser = 1\n', "not valid TOML"),
    ('[models]\nschp-lip = 3\n', "file path"),
])
def test_invalid_config_names_the_file_and_the_problem(tmp_path, text, message):
    config = _write(tmp_path / "vtonkit.toml", text)
    with pytest.raises(FormatError, match=message) as info:
        resolve_backends({})
    assert str(config) in str(info.value)


def test_unknown_cli_backend():
    with pytest.raises(KeyError, match="available"):
        resolve_backends({"pose": "openpose"})


def test_config_model_paths_reach_the_backend(tmp_path):
    """A `[models]` entry is what the SCHP backend loads (through resolve_backends + registry)."""
    import numpy as np
    from fake_onnx import constant_model

    model = constant_model(tmp_path / "lip.onnx", "input.1", (1, 3, 473, 473),
                           [("out", np.zeros((1, 20, 119, 119), np.float32))])
    _write(tmp_path / "vtonkit.toml", f'[backends]\nparser = "schp-lip"\n[models]\nschp-lip = "{model}"\n')
    name, options = resolve_backends({})["parser"]
    parser = REGISTRIES["parser"].build(name, **options)
    assert parser.input_hw == (473, 473)


@pytest.mark.slow
def test_prep_uses_real_model_backends_chosen_in_config(tmp_path, vitonhd):
    """`vtonkit prep` with `parser = "schp-lip"` / `cloth_mask = "u2net"` and `[models]` files runs
    the ONNX backends (generated models encoding the genuine annotations) and writes their output."""
    import shutil

    import cv2
    import numpy as np
    from fake_onnx import constant_model, fake_schp
    from typer.testing import CliRunner
    from vtonkit.datasets.io.masks import read_mask
    from vtonkit.datasets.io.parse import read_parse

    from vtonkit.cli import app

    root = vitonhd / "test"
    (tmp_path / "persons").mkdir()
    (tmp_path / "cloths").mkdir()
    shutil.copy(root / "image" / "00006_00.jpg", tmp_path / "persons")
    shutil.copy(root / "cloth" / "00006_00.jpg", tmp_path / "cloths")
    genuine_parse = read_parse(root / "image-parse-v3" / "00006_00.png")
    lip = genuine_parse.copy()
    lip[lip == 10] = 0
    fake_schp(tmp_path, lip, 20, (473, 473))
    genuine_mask = read_mask(root / "cloth-mask" / "00006_00.jpg")
    squashed = cv2.resize(genuine_mask.astype(np.uint8), (768, 768), interpolation=cv2.INTER_NEAREST).astype(bool)
    logits = np.full((1, 4, 768, 768), -4.0, np.float32)
    logits[0, 0][~squashed] = 4.0
    logits[0, 1][squashed] = 4.0
    constant_model(tmp_path / "cloth.onnx", "input", (1, 3, 768, 768), [("output", logits)])
    _write(tmp_path / "vtonkit.toml", '[backends]\nparser = "schp-lip"\ncloth_mask = "u2net"\n'
           '[models]\nschp-lip = "schp_20.onnx"\nu2net-cloth-seg = "cloth.onnx"\n')
    result = CliRunner().invoke(app, ["prep", "--persons", "persons", "--cloths", "cloths", "--category", "upper",
                                      "--out", "out", "--split", "test"])
    assert result.exit_code == 0, result.output
    parse = read_parse(next((tmp_path / "out" / "test" / "image-parse-v3").glob("*.png")))
    mask = read_mask(next((tmp_path / "out" / "test" / "cloth-mask").glob("*.jpg")))
    assert parse.shape == genuine_parse.shape and (parse == genuine_parse).mean() > 0.97
    assert (mask & genuine_mask).sum() / (mask | genuine_mask).sum() > 0.97
    # prep-person and prep-cloth read the same config file.
    split = tmp_path / "single" / "test"
    result = CliRunner().invoke(app, ["prep-person", "persons/00006_00.jpg", "--out", str(split), "--keep-framing"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["prep-cloth", "cloths/00006_00.jpg", "--out", str(split)])
    assert result.exit_code == 0, result.output
    parse = read_parse(split / "image-parse-v3" / "00006_00.png")
    mask = read_mask(split / "cloth-mask" / "00006_00.jpg")
    assert (parse == genuine_parse).mean() > 0.97  # the embedded parser reaches ~0.8 on this photo
    assert (mask & genuine_mask).sum() / (mask | genuine_mask).sum() > 0.97
    # The cloth masker really comes from the file: one that cannot run here is reported as such.
    _write(tmp_path / "carvekit.toml", '[backends]\ncloth_mask = "carvekit"\n')
    result = CliRunner().invoke(app, ["prep-cloth", "cloths/00006_00.jpg", "--out", str(split),
                                      "--config", "carvekit.toml"])
    assert result.exit_code == 2 and "carvekit" in result.output
