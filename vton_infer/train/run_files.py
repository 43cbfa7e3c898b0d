"""The files of a training run folder RUN/ (all written atomically, by rank 0 only).

RUN/losses.jsonl           one JSON object per step: {"step", "lr", <the stage's loss keys>}
RUN/<mtviton|gen>.pth      latest network weights in the published format (a plain state dict that
                           `vtonkit infer` and the official test script load unchanged)
RUN/checkpoints/<name>_step<N>.pth   the same at every checkpoint step
RUN/resume.pt              everything else to continue: step, data position, trainer state
                           (networks, discriminator, optimizers, schedulers), RNG states
RUN/samples/step<N>.png    sample grid; RUN/losses.png loss plot; RUN/run.json the options

A kill -9 inside an atomic write leaves its temporary sibling (`.<name>.<8 chars>.tmp`);
`remove_stale_temps` deletes those of these files when a run starts or resumes.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import pickle
import random
import re
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.files import atomic_write, atomic_write_json, temp_target
from vtonkit.datasets.io.state_dicts import foreign_global

from vtonkit.core.errors import FormatError

logger = logging.getLogger(__name__)

PUBLISHED_NAMES = {"condition": "mtviton", "generator": "gen"}
RESUME_FILE = "resume.pt"
LOSSES_FILE = "losses.jsonl"
PLOT_FILE = "losses.png"
OPTIONS_FILE = "run.json"
CHECKPOINTS_DIR = "checkpoints"
SAMPLES_DIR = "samples"

# The run's own files per folder (as regular expressions): only temporary files of these
# (`datasets.io.files.temp_target`) are ever deleted as stale.
_PUBLISHED = "|".join(PUBLISHED_NAMES.values())
_OWN_FILES = {
    ".": rf"({_PUBLISHED})\.pth|{re.escape(RESUME_FILE)}|{re.escape(LOSSES_FILE)}|{re.escape(PLOT_FILE)}"
         rf"|{re.escape(OPTIONS_FILE)}",
    CHECKPOINTS_DIR: rf"({_PUBLISHED})_step\d+\.pth",
    SAMPLES_DIR: r"step\d+\.png",
}


def checkpoint_files(run: Path, stage: str) -> list[Path]:
    """The files in RUN holding what a run of `stage` trained: resume.pt, <name>.pth, checkpoints/<name>_step*.pth.

    Another stage's network (a stage-1 mtviton.pth kept next to a stage-2 run) is not among them."""
    name = PUBLISHED_NAMES[stage]
    found = [path for path in (run / RESUME_FILE, run / f"{name}.pth") if path.is_file()]
    return found + sorted((run / CHECKPOINTS_DIR).glob(f"{name}_step*.pth"))


def remove_stale_temps(run: Path) -> list[Path]:
    """Delete the temporary files that a kill inside an atomic write left of the run's own files.

    Called by rank 0 (the only writer) before its first write, so no live write is hit."""
    removed = []
    for folder, names in _OWN_FILES.items():
        own = re.compile(names)
        directory = run / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            target = temp_target(path.name)
            if target and own.fullmatch(target) and path.is_file():
                path.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        logger.info("%s: removed %d temporary files of interrupted writes (%s)", run, len(removed),
                    ", ".join(p.name for p in removed[:3]))
    return removed


def clear_unfinished(run: Path) -> None:
    """Delete the log, plot and samples of an attempt that stopped before its first checkpoint.

    Nothing of it can be resumed; a fresh start must not append to its log or show its samples."""
    for path in (run / LOSSES_FILE, run / PLOT_FILE, *(run / SAMPLES_DIR).glob("step*.png")):
        path.unlink(missing_ok=True)


def save_published(run: Path, stage: str, state: dict[str, torch.Tensor], step: int) -> Path:
    """Write the network as RUN/checkpoints/<name>_step<N>.pth and RUN/<name>.pth: state dicts as
    `torch.save(model.state_dict())` writes them, their `_metadata` (module versions, the spectral-norm
    version tags) included. The official test_generator.py renames the keys of `_metadata` too: a
    plain dict without it failed there with AttributeError."""
    name = PUBLISHED_NAMES[stage]
    cpu_state = OrderedDict((k, v.detach().cpu()) for k, v in state.items())
    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        cpu_state._metadata = OrderedDict((k, dict(v)) for k, v in metadata.items())  # type: ignore[attr-defined]
    path = run / CHECKPOINTS_DIR / f"{name}_step{step:07d}.pth"
    for target in (path, run / f"{name}.pth"):
        with atomic_write(target) as handle:
            torch.save(cpu_state, handle)
    return path


def rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                              "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_resume(run: Path, payload: dict[str, Any]) -> None:
    """RUN/resume.pt, replaced atomically (a kill leaves the previous one intact)."""
    with atomic_write(run / RESUME_FILE) as handle:
        torch.save(payload, handle)


# What a resume file holds beyond tensors and plain values: NumPy's RNG state (an array of uint32).
_NUMPY_ARRAY_GLOBALS = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]
_START_AGAIN = "start the run again without --resume, or resume from a copy of the run folder that has a sound one"


def unreadable_reason(path: Path, exc: BaseException) -> str:
    """A short reason why torch could not read `path`, in words: torch's own text for a cut-short
    archive is a paragraph ("... This is an internal miniz error. If you are seeing this error ...")."""
    text = str(exc).strip()
    if isinstance(exc, OSError) and not isinstance(exc, EOFError):
        return exc.strerror or type(exc).__name__
    if "PytorchStreamReader" in text or "zip archive" in text:
        return "damaged or cut short: not a complete PyTorch archive"
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
    if isinstance(exc, EOFError):
        return "cut short: it ends before its data does"
    if isinstance(exc, (KeyError, ValueError, pickle.UnpicklingError)):
        return "damaged, or no PyTorch file: unreadable data"
    first = text.splitlines()[0].split(". ")[0] if text else type(exc).__name__
    return first if len(first) <= 100 else first[:97] + "..."


def load_resume(run: Path, advice: str = _START_AGAIN) -> dict[str, Any]:
    """RUN/resume.pt, read as weights-only material (tensors, numbers, strings, NumPy arrays): a run
    folder copied from elsewhere may hold a pickle that would run code when loaded, and none is run.

    A file that cannot be read is a FormatError naming it, a short reason and `advice` (what the
    caller's user can do instead); torch's own text stays in the exception chain."""
    path = run / RESUME_FILE
    if not path.is_file():
        raise FormatError(path, "no resume file in this run folder (it is written at the first checkpoint)")
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's own text advises weights_only=False: never here
        foreign = foreign_global(str(exc))
        if foreign is not None:
            raise FormatError(path, f"the resume file holds {foreign}, which no vtonkit resume file holds "
                                    "(weights, optimizer and RNG states only); it was not loaded, since loading "
                                    f"it could run code: {advice}") from exc
        raise FormatError(path, f"cannot read the resume file ({unreadable_reason(path, exc)}); {advice}") from exc
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as exc:
        logger.debug("%s: %s", path, exc)
        raise FormatError(path, f"cannot read the resume file ({unreadable_reason(path, exc)}); {advice}") from exc
    if not isinstance(payload, dict) or not {"step", "stage", "trainer"} <= payload.keys():
        raise FormatError(path, f"cannot read the resume file (no vtonkit resume file: it holds no step, stage and "
                                f"trainer state); {advice}")
    return payload


def _run_folder(checkpoint: Path) -> Path | None:
    """The vtonkit run folder that wrote `checkpoint` (RUN/<name>.pth or RUN/checkpoints/<name>_step<N>.pth,
    with RUN/run.json beside them), or None for a file outside one (the published weights, a copy)."""
    checkpoint = Path(checkpoint)
    for run, folder in ((checkpoint.parent, "."), (checkpoint.parent.parent, CHECKPOINTS_DIR)):
        if folder == CHECKPOINTS_DIR and checkpoint.parent.name != CHECKPOINTS_DIR:
            continue
        if re.fullmatch(_OWN_FILES[folder], checkpoint.name) and (run / OPTIONS_FILE).is_file():
            return run
    return None


def _run_options(run: Path) -> dict[str, Any] | None:
    """RUN/run.json, or None where it cannot be read (an unreadable run.json tells nothing)."""
    try:
        options = json.loads((run / OPTIONS_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return options if isinstance(options, dict) else None


def trained_category(checkpoint: Path) -> tuple[str, Path] | None:
    """(garment category, run.json) of the vtonkit run that wrote `checkpoint`, or None.

    A run's weights (RUN/<name>.pth, RUN/checkpoints/<name>_step<N>.pth) are plain state dicts, so
    the official code loads them; the category they were trained for is in RUN/run.json beside them.
    A file outside a run folder (the published weights, a copy) says nothing.
    """
    run = _run_folder(checkpoint)
    options = _run_options(run) if run is not None else None
    category = options.get("category") if options is not None else None
    return (category, run / OPTIONS_FILE) if isinstance(category, str) else None


# The garment of each category in words ("a upper garment" read wrongly)
_A_GARMENT = {"upper": "an upper-body garment", "lower": "a lower-body garment", "dresses": "a dress"}
_THE_GARMENT = {"upper": "the upper-body one", "lower": "the lower-body one", "dresses": "the dress"}


def category_mismatch(checkpoints: Iterable[Path | None], category: str) -> str | None:
    """Why `checkpoints` should not run on `category` garments (one was trained for another), or None."""
    for checkpoint in checkpoints:
        trained = trained_category(checkpoint) if checkpoint is not None else None
        if trained is not None and trained[0] != category:
            drawn = _A_GARMENT.get(trained[0], f"a {trained[0]} garment")
            replaced = _THE_GARMENT.get(category, f"the {category} one")
            return (f"{checkpoint} was trained for {trained[0]} garments ({trained[1]}), not {category}: it would "
                    f"draw {drawn} where {replaced} goes; use checkpoints of a --category {category} run")
    return None


def category_unknown(checkpoints: Iterable[Path | None], category: str) -> list[str]:
    """A note per checkpoint whose garment category cannot be told, when `category` is not upper (the
    only one the published weights know): an upper-body file copied out of its run passed as lower."""
    if category == "upper":
        return []
    return [f"cannot tell which garment category {checkpoint} was trained for (no run.json beside it); the "
            "published HR-VITON weights are upper-body"
            for checkpoint in checkpoints if checkpoint is not None and trained_category(checkpoint) is None]


def content_id(path: Path) -> str:
    """`sha256:<first 16 hex digits>` of a file: how a run records its input files (run.json) and a
    stage-2 run its --tocg-checkpoint (`runner.fixed_settings`); hashed once per file state."""
    path = Path(path)
    stat = path.stat()
    return _content_id_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _content_id_of(path: str, size: int, mtime_ns: int) -> str:
    return f"sha256:{file_digest(path)[:16]}"


def _recorded_settings(run: Path) -> dict[str, Any]:
    """The `settings` RUN/resume.pt records, or {} (no resume file, an unreadable or older one).

    Memory-mapped: the weights and optimizer states beside them (a gigabyte for stage 2) are not read."""
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            payload = torch.load(run / RESUME_FILE, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError):
        return {}
    settings = payload.get("settings") if isinstance(payload, dict) else None
    return settings if isinstance(settings, dict) else {}


def trained_behind(gen_checkpoint: Path) -> tuple[str, str] | None:
    """(content id, where it is recorded) of the condition generator the stage-2 run that wrote
    `gen_checkpoint` trained behind, or None where its run folder records none: RUN/run.json's input
    files by content, else (runs before those) RUN/resume.pt's settings; "where" names the file and
    the path the run was given."""
    run = _run_folder(gen_checkpoint)
    if run is None:
        return None
    options = _run_options(run) or {}
    files = options.get("files")
    recorded, source = (files.get("tocg_checkpoint") if isinstance(files, dict) else None), run / OPTIONS_FILE
    if not isinstance(recorded, str):
        recorded, source = _recorded_settings(run).get("--tocg-checkpoint"), run / RESUME_FILE
    if not isinstance(recorded, str):
        return None
    given = options.get("tocg_checkpoint")
    return recorded, f"{source}" + (f", given as {given}" if isinstance(given, str) else "")


def tocg_mismatch(tocg_checkpoint: Path | None, gen_checkpoint: Path | None) -> str | None:
    """Why `gen_checkpoint` should not run behind `tocg_checkpoint` (its run trained it behind another
    condition generator, by content), or None: the generator learned from that network's warp and layout."""
    if tocg_checkpoint is None or gen_checkpoint is None:
        return None
    recorded = trained_behind(gen_checkpoint)
    if recorded is None:
        return None
    given = content_id(tocg_checkpoint)
    if given == recorded[0]:
        return None
    return (f"{gen_checkpoint} was trained behind another condition generator ({recorded[0]}, recorded in "
            f"{recorded[1]}), not {tocg_checkpoint} ({given}): it learned from that network's warp and layout; "
            "pass that one as --tocg-checkpoint, or train a generator behind this one")


def write_options(run: Path, options: dict[str, Any]) -> None:
    atomic_write_json(run / OPTIONS_FILE, options, indent=2)


def read_losses(run: Path) -> list[dict[str, float]]:
    """The JSONL log's complete lines (a torn last line from a kill is skipped)."""
    path = run / LOSSES_FILE
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def truncate_losses(run: Path, last_step: int) -> int:
    """Keep only the log lines of steps <= last_step (the checkpoint resumed from); returns how many."""
    kept = [r for r in read_losses(run) if r.get("step", 0) <= last_step]
    with atomic_write(run / LOSSES_FILE, "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in kept)
    return len(kept)


class LossLog:
    """Append-only JSONL, one line per step, flushed and fsynced so a kill loses at most the open line."""

    def __init__(self, run: Path) -> None:
        self.handle = open(run / LOSSES_FILE, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the run)

    def write(self, record: dict[str, float]) -> None:
        self.handle.write(json.dumps(record) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


def plot_losses(run: Path, keys: Iterable[str]) -> Path | None:
    """RUN/losses.png: every loss key against the step (log scale where all values are positive)."""
    records = read_losses(run)
    if not records:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(keys)
    figure, axes = plt.subplots(len(keys), 1, figsize=(7, 1.6 * len(keys)), sharex=True)
    steps = [r["step"] for r in records]
    for axis, key in zip(np.atleast_1d(axes), keys):
        values = [r.get(key, float("nan")) for r in records]
        axis.plot(steps, values, linewidth=0.8)
        axis.set_ylabel(key, fontsize=8)
        if all(v > 0 for v in values):
            axis.set_yscale("log")
    np.atleast_1d(axes)[-1].set_xlabel("step")
    figure.tight_layout()
    path = run / PLOT_FILE
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=80)
    plt.close(figure)
    return path


def changed_settings(saved: Any, given: dict[str, Any]) -> list[str]:
    """The options of `given` that a resume file's recorded `settings` hold with another value (a resume
    file of an older version records none)."""
    if not isinstance(saved, dict):
        return []
    return [name for name, value in given.items() if name in saved and saved[name] != value]


def shown_settings(settings: dict[str, Any], names: list[str]) -> str:
    """`--recipe readme, --disc-width (not given)`: the `names` of `settings` as the command line says them."""
    return ", ".join(f"{name} {'(not given)' if settings[name] is None else settings[name]}" for name in names)
