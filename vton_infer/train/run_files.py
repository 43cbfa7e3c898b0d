"""The files of a training run folder RUN/ (all written atomically, by rank 0 only).

RUN/losses.jsonl           one JSON object per step: {"step", "lr", <the stage's loss keys>}
RUN/<mtviton|gen>.pth      latest network weights in the published format (a plain state dict that
                           `vtonkit infer` and the official test script load unchanged)
RUN/checkpoints/<name>_step<N>.pth   the same at every checkpoint step
RUN/resume.pt              everything else to continue: step, data position, trainer state
                           (networks, discriminator, optimizers, schedulers), RNG states
RUN/samples/step<N>.png    sample grid; RUN/losses.png loss plot; RUN/run.json the options
"""
from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from vtonkit.datasets.io.files import atomic_write, atomic_write_json

from vtonkit.core.errors import FormatError

PUBLISHED_NAMES = {"condition": "mtviton", "generator": "gen"}
RESUME_FILE = "resume.pt"
LOSSES_FILE = "losses.jsonl"


def save_published(run: Path, stage: str, state: dict[str, torch.Tensor], step: int) -> Path:
    """Write the network as RUN/checkpoints/<name>_step<N>.pth and RUN/<name>.pth (plain state dicts)."""
    name = PUBLISHED_NAMES[stage]
    cpu_state = {k: v.detach().cpu() for k, v in state.items()}
    path = run / "checkpoints" / f"{name}_step{step:07d}.pth"
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


def load_resume(run: Path) -> dict[str, Any]:
    path = run / RESUME_FILE
    if not path.is_file():
        raise FormatError(path, "no resume file in this run folder (it is written at the first checkpoint)")
    try:
        # our own file (optimizer states and RNG tuples): not weights-only material
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise FormatError(path, f"cannot read the resume file ({exc})") from exc


def write_options(run: Path, options: dict[str, Any]) -> None:
    atomic_write_json(run / "run.json", options, indent=2)


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
    path = run / "losses.png"
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=80)
    plt.close(figure)
    return path
