"""Per-stage backend choice and options from a TOML config file, merged with CLI flags.

Which file: `--config PATH` (passed as `config_path`), else `$VTONKIT_CONFIG`, else
`vtonkit.toml` in the working directory, else none (built-in defaults). Format:

    [backends]                 # stage = backend name (see `vtonkit.preprocess.stages`)
    pose = "dwpose"
    parser = "schp-lip"
    densepose = "geometric"
    cloth_mask = "u2net"

    [options.dwpose]           # keyword options of one backend, by backend name
    det_score_threshold = 0.4

    [options.u2net]
    model = "u2net-cloth-seg"
    category = "upper"

    [models]                   # model name (`vtonkit models list`) = local weights file
    schp-lip = "/data/weights/parsing_lip.onnx"

    [preflight]                # pre-flight check thresholds (`vtonkit.preprocess.preflight`)
    min_person_height_px = 400
    max_arm_torso_share = 0.25

Precedence: CLI flag > config file > registry default. Options are keyed by backend name so that
switching a stage's backend never hands it another backend's options.
"""
from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any

from vtonkit.core.errors import FormatError, InputError

logger = logging.getLogger(__name__)

CONFIG_FILE_NAME = "vtonkit.toml"
CONFIG_ENV = "VTONKIT_CONFIG"
STAGES = ("pose", "parser", "densepose", "cloth_mask")
# Accepted spellings of stage names in the file and on the command line.
_STAGE_ALIASES = {"cloth-mask": "cloth_mask", "clothmask": "cloth_mask", "cloth_masker": "cloth_mask"}

BackendChoice = tuple[str, dict[str, Any]]


def find_config(config_path: str | Path | None = None) -> Path | None:
    """The config file to read: explicit path, `$VTONKIT_CONFIG`, `./vtonkit.toml`, or None.

    Raises:
        InputError: an explicitly named file (argument or env) does not exist.
    """
    if config_path is not None:
        explicit, source = Path(config_path), "--config"
    elif os.environ.get(CONFIG_ENV):
        explicit, source = Path(os.environ[CONFIG_ENV]), f"${CONFIG_ENV}"
    else:
        local = Path.cwd() / CONFIG_FILE_NAME
        return local if local.is_file() else None
    if not explicit.is_file():
        raise InputError(explicit, f"config file (from {source}) not found")
    return explicit


def load_config(config_path: str | Path | None = None) -> dict[str, Any]:
    """Read and validate the config file (empty dict when there is none)."""
    file = find_config(config_path)
    if file is None:
        return {}
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(file, f"not valid TOML ({exc})") from exc
    _validate(data, file)
    return data


def _stage_key(stage: str) -> str:
    return _STAGE_ALIASES.get(stage, stage)


def _validate(data: dict[str, Any], file: Path) -> None:
    from vtonkit.preprocess.stages import REGISTRIES

    unknown_sections = set(data) - {"backends", "options", "models", "preflight"}
    if unknown_sections:
        raise FormatError(file, f"unknown section(s) {sorted(unknown_sections)}; expected [backends], [options.*], "
                          "[models], [preflight]")
    from vtonkit.preprocess.preflight import thresholds_from_table

    try:
        thresholds_from_table(data.get("preflight"))
    except (TypeError, ValueError) as exc:
        raise FormatError(file, f"[preflight]: {exc}") from exc
    for stage, name in data.get("backends", {}).items():
        key = _stage_key(stage)
        if key not in REGISTRIES:
            raise FormatError(file, f"[backends] {stage}: unknown stage; stages: {', '.join(STAGES)}")
        if not isinstance(name, str) or name not in REGISTRIES[key].names():
            raise FormatError(file, f"[backends] {stage} = {name!r}: unknown backend; available: "
                              f"{', '.join(REGISTRIES[key].names())}")
    for backend, options in data.get("options", {}).items():
        if not isinstance(options, dict):
            raise FormatError(file, f"[options.{backend}] must be a table of keyword options")
    for model, value in data.get("models", {}).items():
        if not isinstance(value, str):
            raise FormatError(file, f"[models] {model} must be a file path string")


def configured_model_paths(config_path: str | Path | None = None) -> dict[str, str]:
    """The `[models]` table: model name -> local file (paths relative to the config file's folder)."""
    file = find_config(config_path)
    if file is None:
        return {}
    table = load_config(file).get("models", {})
    return {name: str((file.parent / Path(value).expanduser()).resolve()) for name, value in table.items()}


def preflight_thresholds(config_path: str | Path | None = None):
    """The pre-flight thresholds: defaults overridden by the config file's `[preflight]` table."""
    from vtonkit.preprocess.preflight import thresholds_from_table

    return thresholds_from_table(load_config(config_path).get("preflight"))


def resolve_backends(
    cli_overrides: dict[str, str | None] | None = None, config_path: str | Path | None = None,
) -> dict[str, BackendChoice]:
    """Backend name and constructor options for every stage.

    Args:
        cli_overrides: stage -> backend name from command-line flags (`--pose dwpose`); None or
            missing = not given. Stage keys: "pose", "parser", "densepose", "cloth_mask"
            ("cloth-mask" accepted).
        config_path: `--config PATH`; None = `$VTONKIT_CONFIG` or `./vtonkit.toml` when present.
    Returns:
        {stage: (backend name, options dict)} for all four stages; options come from the
        config's `[options.<backend name>]` table (a copy: callers may add to it).
    Raises:
        KeyError: an unknown stage or backend on the command line.
        InputError / FormatError: a missing, unreadable or invalid config file.
    """
    from vtonkit.preprocess.stages import REGISTRIES

    config = load_config(config_path)
    model_files = configured_model_paths(config_path) if config.get("models") else {}
    from_file = {_stage_key(k): v for k, v in config.get("backends", {}).items()}
    options = config.get("options", {})
    chosen: dict[str, BackendChoice] = {}
    overrides = {_stage_key(k): v for k, v in (cli_overrides or {}).items() if v}
    for stage in overrides:
        if stage not in REGISTRIES:
            raise KeyError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    for stage in STAGES:
        registry = REGISTRIES[stage]
        name = overrides.get(stage) or from_file.get(stage) or registry.default
        if name not in registry.names():
            raise KeyError(f"unknown {stage} backend {name!r}; available: {', '.join(registry.names())}")
        chosen[stage] = (name, _with_model_paths(name, dict(options.get(name, {})), model_files))
    return chosen


def _with_model_paths(backend: str, options: dict[str, Any], model_files: dict[str, str]) -> dict[str, Any]:
    """Hand the config's `[models]` entries that `backend` loads to it as `model_paths`.

    Only real-model backends (named in the model registry) receive the option, so the embedded
    backends never see an unknown keyword.
    """
    from vtonkit.preprocess.model_registry import MODELS

    mine = {name: file for name, file in model_files.items() if name in MODELS and backend in MODELS[name].backends}
    if mine:
        options.setdefault("model_paths", {}).update(mine)
    return options


def build_backends(
    cli_overrides: dict[str, str | None] | None = None, config_path: str | Path | None = None,
    stages: tuple[str, ...] = STAGES,
) -> dict[str, Any]:
    """Instantiate the resolved backend of each of `stages` (convenience for CLI commands)."""
    from vtonkit.preprocess.stages import REGISTRIES

    resolved = resolve_backends(cli_overrides, config_path)
    return {stage: REGISTRIES[stage].build(resolved[stage][0], **resolved[stage][1]) for stage in stages}
