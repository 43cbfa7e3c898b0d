"""`vtonkit train`: the loop around one HR-VITON training stage, single process or torchrun.

Per step: one global batch (split evenly over the ranks, each rank's share from its own sampler
over the same seeded order), `trainer.step`, the losses averaged over the ranks, one JSONL line
(rank 0). Every `checkpoint_every` steps and at the end: the network in the published format,
then the resume file, then a sample grid and the loss plot. Data order is a pure function of
(seed, epoch, step), so a resumed run reads exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler
from vtonkit.datasets.io.files import atomic_save_image
from vtonkit.datasets.labels import cihp_to_13_table
from vtonkit.datasets.manifest import resolve_category
from vtonkit.vton_infer import grids
from vtonkit.vton_infer.train import run_files
from vtonkit.vton_infer.train.data import CONDITION_SIZE, GENERATOR_SIZE, TrainingDataset
from vtonkit.vton_infer.train.distributed import (
    World,
    close_world,
    init_world,
    mean_over_ranks,
)
from vtonkit.vton_infer.train.optim import DIVERGED

from vtonkit.core.errors import InputError, VtonkitError

logger = logging.getLogger(__name__)

STAGES = ("condition", "generator")
RECIPES = ("default", "readme")
PRECISIONS = ("fp32", "bf16", "fp16")
LOSS_KEYS = {
    "condition": ("l1_cloth", "vgg", "tv", "ce", "g_gan", "g_total", "d_real", "d_fake", "d_total"),
    "generator": ("g_gan", "g_feat", "g_vgg", "g_total", "d_real", "d_fake", "d_total"),
}
INIT_OPTIONS = {"condition": "--init-tocg", "generator": "--init-gen"}  # the option starting a stage's network
# losses that must fall in an overfit run (the adversarial ones need not)
RECONSTRUCTION_KEYS = {"condition": ("l1_cloth", "vgg", "tv", "ce"), "generator": ("g_feat", "g_vgg")}


@dataclass
class TrainOptions:
    """What `train` does; `vtonkit train --help` explains each field."""

    dataset: Path
    out: Path
    stage: str = "condition"
    category: str | None = None
    split: str = "train"
    pairs: Path | None = None
    vgg_weights: Path | None = None
    init_tocg: Path | None = None
    init_gen: Path | None = None
    init_disc: Path | None = None
    tocg_checkpoint: Path | None = None
    batch_size: int = 8
    steps: int = 1000
    lr: float | None = None
    resume: bool = False
    seed: int = 0
    shuffle: bool = True
    device: str = "cpu"
    precision: str = "fp32"
    recipe: str = "default"
    checkpoint_every: int = 500
    sample_every: int = 500
    workers: int = 0
    width: int | None = None
    disc_width: int | None = None
    vgg_width: int | None = None


@dataclass
class TrainSummary:
    steps_done: int = 0
    resumed_from: int = 0
    seconds: float = 0.0
    checkpoint: Path | None = None
    last_losses: dict[str, float] = field(default_factory=dict)
    bad_samples: dict[str, str] = field(default_factory=dict)
    world_size: int = 1


def check_options(options: TrainOptions) -> None:
    """Refuse impossible option sets before any file is read, with the option named."""
    check_option_values(options)
    _check_option_files(options)


def check_option_values(options: TrainOptions) -> None:
    """Refuse an option value that names nothing (a stage, precision or recipe vtonkit does not have):
    said before anything about the dataset or files."""
    if options.stage not in STAGES:
        official = {"tocg": " (the official train_condition.py: condition)",
                    "gen": " (the official train_generator.py: generator)"}.get(options.stage, "")
        raise VtonkitError(f"--stage must be one of {', '.join(STAGES)}, not {options.stage!r}{official}")
    if options.precision not in PRECISIONS:
        raise VtonkitError(f"--precision must be one of {', '.join(PRECISIONS)}, not {options.precision!r}")
    if options.recipe not in RECIPES:
        raise VtonkitError(f"--recipe must be one of {', '.join(RECIPES)}, not {options.recipe!r}")
    if options.precision == "fp16" and not options.device.startswith("cuda"):
        raise VtonkitError("--precision fp16 needs a CUDA device (use bf16 on a CPU)")


def _check_option_files(options: TrainOptions) -> None:
    if options.vgg_width:
        pass  # tests/benchmarks: a narrow random VGG instead of the file
    elif options.vgg_weights is None:
        raise VtonkitError("--vgg-weights is required: torchvision's VGG19 file (vgg19-dcbb9e9d.pth), "
                           "see docs/training.md")
    elif not Path(options.vgg_weights).is_file():
        raise InputError(Path(options.vgg_weights), "VGG19 weights not found (torchvision's vgg19-dcbb9e9d.pth)")
    if options.stage == "generator" and options.tocg_checkpoint is None:
        raise VtonkitError("--stage generator needs --tocg-checkpoint: the trained condition generator "
                           "(mtviton.pth of a condition run, or the published one for upper body)")
    # an option of the other stage would be ignored: a "fine-tuning" run would train from scratch
    other_stage = {"condition": {"init_gen": "--init-gen is the generator's start (--stage generator); "
                                             "to fine-tune the condition generator use --init-tocg",
                                 "tocg_checkpoint": "--tocg-checkpoint is the frozen condition generator in front "
                                                    "of --stage generator; to fine-tune stage 1 use --init-tocg"},
                   "generator": {"init_tocg": "--init-tocg starts a condition-generator run (--stage condition); "
                                              "stage 2 reads the frozen one from --tocg-checkpoint"}}
    for name, why in other_stage.get(options.stage, {}).items():
        if getattr(options, name) is not None:
            raise VtonkitError(f"{why}: this run would not use it")
    for name in ("width", "disc_width", "vgg_width"):
        if getattr(options, name) is not None and getattr(options, name) < 1:
            raise VtonkitError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(options, name)}")
    for name in ("init_tocg", "init_gen", "init_disc", "tocg_checkpoint"):
        path = getattr(options, name)
        if path is not None and not Path(path).is_file():
            raise InputError(Path(path), f"--{name.replace('_', '-')} file not found")
    if options.lr is not None and not (math.isfinite(options.lr) and options.lr > 0):
        raise VtonkitError(f"--lr must be a finite number above 0, not {options.lr}")
    if options.batch_size < 1 or options.steps < 1:
        raise VtonkitError("--batch-size and --steps must be at least 1")
    if options.checkpoint_every < 1 or options.sample_every < 1:  # periods: step % 0 would fail after step 1
        raise VtonkitError("--checkpoint-every and --sample-every must be at least 1")


# ---------------------------------------------------------------------------------------------
# the stage (numerical core: vtonkit.vton_infer.train.condition_stage / generator_stage)


@dataclass
class Stage:
    trainer: Any
    network: torch.nn.Module  # the network published as mtviton.pth / gen.pth
    make_batch: Callable[[dict[str, torch.Tensor]], Any]


def _autocast(options: TrainOptions) -> tuple[torch.dtype | None, Any]:
    if options.precision == "bf16":
        return torch.bfloat16, None
    if options.precision == "fp16":
        return torch.float16, torch.amp.GradScaler("cuda")
    return None, None


def build_stage(options: TrainOptions, category: str, device: str, world: World) -> Stage:
    """Networks (from init files or freshly initialised), the trainer and its batch recipe."""
    from vtonkit.vton_infer.train.builders import build_condition_stage, build_generator_stage

    t13 = cihp_to_13_table(category)
    autocast_dtype, scaler = _autocast(options)
    build = build_condition_stage if options.stage == "condition" else build_generator_stage
    trainer, network, make_batch = build(options, t13, device, world, autocast_dtype, scaler)
    return Stage(trainer, network, make_batch)


def _optimizers(trainer: Any) -> list[torch.optim.Optimizer]:
    optimizers = trainer.optimizers
    return list(optimizers.values()) if isinstance(optimizers, dict) else list(optimizers)


def current_lr(trainer: Any) -> float:
    return float(_optimizers(trainer)[0].param_groups[0]["lr"])


# ---------------------------------------------------------------------------------------------
# data order


def epoch_batches(dataset: TrainingDataset, options: TrainOptions, world: World, epoch: int) -> list[list[int]]:
    """This rank's batches of one epoch: seeded shuffle (or the list order), full batches only."""
    per_rank = options.batch_size // world.size
    sampler = DistributedSampler(dataset, num_replicas=world.size, rank=world.rank, shuffle=options.shuffle,
                                 seed=options.seed, drop_last=True)
    sampler.set_epoch(epoch)
    indices = list(sampler)
    return [indices[i: i + per_rank] for i in range(0, len(indices) - per_rank + 1, per_rank)]


def batches_from(dataset: TrainingDataset, options: TrainOptions, world: World, start_step: int):
    """Yield (step, raw batch) from `start_step` on, forever (epochs of full batches)."""
    steps_per_epoch = len(epoch_batches(dataset, options, world, 0))
    epoch, position = divmod(start_step, steps_per_epoch)
    step = start_step
    while True:
        batches = epoch_batches(dataset, options, world, epoch)[position:]
        loader = DataLoader(dataset, batch_sampler=batches, num_workers=options.workers,
                            worker_init_fn=_leave_ctrl_c_to_the_trainer if options.workers else None)
        for raw in _plain_worker_errors(loader):
            yield step, raw
            step += 1
        epoch, position = epoch + 1, 0


def _leave_ctrl_c_to_the_trainer(_worker_id: int) -> None:
    """A worker process ignores the Ctrl-C the terminal sends the whole process group: the trainer
    finishes its step and checkpoints (`stops_at_step_end`); a worker that died of it failed the
    next batch's fetch instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# How the message of a vtonkit error raised in a DataLoader worker process ends: torch re-raises it
# in the trainer as "Caught VtonkitError in DataLoader worker process 0. Original Traceback ...".
# The last such line is the error itself (one raised while handling another comes after it).
_WORKER_ERROR = re.compile(r"^vtonkit\.[\w.]*Error: ", re.MULTILINE)


def _plain_worker_errors(loader: DataLoader):
    """The loader's batches; a vtonkit error of a worker process (`--workers`) reaches the user as
    its own message, as with `--workers 0`, not wrapped in the worker's traceback."""
    batches = iter(loader)
    while True:
        try:
            raw = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - torch re-raises a worker's error as its type, or RuntimeError
            message = str(exc)
            found = list(_WORKER_ERROR.finditer(message)) if "Original Traceback" in message else []
            if not found:
                raise
            raise VtonkitError(message[found[-1].end():].strip()) from None
        yield raw


# ---------------------------------------------------------------------------------------------
# sample grids


def _visual_rgb(tensor: torch.Tensor) -> np.ndarray:
    """One sample's visual as (H, W, 3) uint8: RGB in [-1, 1], a mask, or 13/7-channel scores."""
    tensor = tensor.detach().float().cpu()
    if tensor.ndim == 2:
        return grids.layout_rgb(tensor.long().clamp(0, 12).numpy(), grids.CIHP_OF_13)
    channels = tensor.shape[0]
    if channels == 3:
        return ((tensor.clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).numpy().astype(np.uint8)
    if channels == 1:
        return grids.mask_rgb(tensor[0].numpy())
    palette = grids.CIHP_OF_13 if channels == 13 else grids.CIHP_OF_7
    return grids.layout_rgb(tensor.argmax(0).numpy(), palette)


def save_samples(run: Path, step: int, visuals: Any, rows: int = 2) -> Path | None:
    """RUN/samples/step<N>.png: one captioned row per sample of the last batch (the trainer's
    `last_visuals` dataclass: each tensor field becomes a tile, in field order, captioned by its
    `caption` metadata or else its name; a None field is left out)."""
    if visuals is None:
        return None
    visuals = {f.metadata.get("caption", f.name.replace("_", " ")): getattr(visuals, f.name)
               for f in dataclasses.fields(visuals) if getattr(visuals, f.name) is not None}
    count = min(rows, next(iter(visuals.values())).shape[0])
    lines = [grids.labelled_row([(name, _visual_rgb(v[i])) for name, v in visuals.items()],
                                title=f"step {step}, sample {i}") for i in range(count)]
    width = max(line.shape[1] for line in lines)
    canvas = np.full((sum(line.shape[0] for line in lines), width, 3), 255, np.uint8)
    y = 0
    for line in lines:
        canvas[y: y + line.shape[0], : line.shape[1]] = line
        y += line.shape[0]
    from PIL import Image

    path = run / run_files.SAMPLES_DIR / f"step{step:07d}.png"
    atomic_save_image(Image.fromarray(canvas), path)
    return path


# ---------------------------------------------------------------------------------------------
# the loop


def _gather_rng(world: World) -> list[dict[str, Any]]:
    states = run_files.rng_states()
    if world.size <= 1:
        return [states]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, states)
    return gathered


def _non_finite_weight(state: dict[str, Any]) -> str | None:
    """The first key (nested keys joined by dots) of a floating tensor holding a NaN or an infinity."""
    for key, value in state.items():
        if isinstance(value, dict):
            inner = _non_finite_weight(value)
            if inner is not None:
                return f"{key}.{inner}"
        elif torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all():
            return str(key)
    return None


def _checkpoint(run: Path, options: TrainOptions, stage: Stage, step: int, category: str, world: World,
                data: dict[str, Any]) -> Path | None:
    trainer_state = stage.trainer.state_dict()
    # a finite loss can still step the weights to infinity; such a checkpoint would only spoil the good ones
    bad = _non_finite_weight(trainer_state)  # every rank holds the same weights, so every rank stops
    if bad is not None:
        raise VtonkitError(f"weights are not finite after step {step} ({bad}): {DIVERGED}")
    rng = _gather_rng(world)
    if not world.is_main:
        return None
    # The resume file first: a write that fails after it leaves a run that --resume continues; the
    # other order left weights without a resume file, which neither --resume nor a fresh start takes.
    try:
        with signals_held():  # a Ctrl-C during the write waits for it: a checkpoint is written whole
            run_files.save_resume(run, {
                "step": step, "stage": options.stage, "category": category, "seed": options.seed,
                "batch_size": options.batch_size, "world_size": world.size, "settings": fixed_settings(options),
                "data": data, "trainer": trainer_state, "rng": rng,
            })
            return run_files.save_published(run, options.stage, stage.network.state_dict(), step)
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as a RuntimeError over the OSError
        cause = exc if isinstance(exc, OSError) else exc.__cause__ or exc.__context__
        why = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(exc).splitlines()[0]
        again = ("the same command with --resume continues from the last checkpoint written"
                 if (run / run_files.RESUME_FILE).is_file() else "the same command starts the run afresh")
        raise InputError(run, f"cannot write the step {step} checkpoint ({why}); free the space, then {again}") from exc


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends (then they arrive): a KeyboardInterrupt raised
    inside torch.save left a half-written file and a RuntimeError ("unexpected pos") instead of
    the interruption. Only the main thread can hold them; elsewhere the block runs as is."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


@dataclass
class StopRequest:
    """The first Ctrl-C or SIGTERM of a run, kept until the step it landed in has finished."""

    signal_name: str | None = None


@contextlib.contextmanager
def stops_at_step_end(enabled: bool = True) -> Iterator[StopRequest]:
    """Make the first Ctrl-C or SIGTERM a request the loop answers after its current step (a second one
    interrupts at once). Raised inside a step, the interruption came after the optimizer's update or a
    BatchNorm forward of the next step: the checkpoint labelled step N held part of step N+1, and a
    resumed run drifted from an uninterrupted one. Main thread of a single process only (torchrun's
    ranks would stop at different steps)."""
    request = StopRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request
        return

    def note(signum: int, _frame: Any) -> None:
        if request.signal_name is not None:  # asked twice: do not wait for the step
            raise KeyboardInterrupt
        request.signal_name = signal.Signals(signum).name
        logger.warning("%s: stopping after the current step (again to stop at once, without a checkpoint)",
                       request.signal_name)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fixed_settings(options: TrainOptions) -> dict[str, Any]:
    """The options a resumed run must repeat (besides stage, category and batch size): they shape the
    networks and the loss, or the data order that a resumed run continues; stage 2's frozen condition
    generator decides everything it learns from (by content: the file may have moved)."""
    settings = {"--recipe": options.recipe, "--width": options.width, "--disc-width": options.disc_width,
                "--vgg-width": options.vgg_width, "--seed": options.seed, "--no-shuffle": not options.shuffle}
    if options.tocg_checkpoint is not None:
        settings["--tocg-checkpoint"] = run_files.content_id(Path(options.tocg_checkpoint))
    return settings


def data_identity(dataset: TrainingDataset) -> dict[str, Any]:
    """What a run trains on: the dataset folder and split, the persons in their order (a cleaned or
    other pair list is other data), and their files by size and modification time (`files_identity`:
    a photo replaced under the same name is other data too)."""
    names = hashlib.sha256("\n".join(dataset.names).encode("utf-8")).hexdigest()[:16]
    return {"dataset": str(dataset.dataset.resolve()), "split": dataset.split, "samples": len(dataset.names),
            "names": f"sha256:{names}", "files": dataset.files_identity()}


def _data_changes(saved: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """What differs between the data a checkpoint was trained on and this run's, in words."""
    changes = []
    if saved.get("dataset") != data["dataset"]:
        changes.append("another dataset folder")
    if saved.get("split") != data["split"]:
        changes.append("another split")
    if saved.get("names") != data["names"]:
        changes.append("other persons or another order")
    elif saved.get("files") not in (None, data["files"]):  # older resume files record no files
        changes.append("the same persons, but their files differ (sizes or modification times)")
    return changes


def _note_changed_data(path: Path, payload: dict[str, Any], data: dict[str, Any]) -> None:
    """Resuming on other data (another dataset, a pair list cleaned since, files replaced) is allowed,
    and said: the batches after the checkpoint are then not those an uninterrupted run would have read."""
    saved = payload.get("data")
    if saved is None:  # older resume files record no data
        return
    changes = _data_changes(saved, data)
    if not changes:
        return
    logger.warning("%s: was trained on %s/%s (%d persons, %s); resuming on %s/%s (%d persons, %s): %s; the steps "
                   "after step %d do not read the batches an uninterrupted run would have read",
                   path, saved.get("dataset"), saved.get("split"), saved.get("samples", 0), saved.get("names"),
                   data["dataset"], data["split"], data["samples"], data["names"], "; ".join(changes),
                   payload.get("step", 0))


def _check_same_settings(path: Path, payload: dict[str, Any], options: TrainOptions, category: str) -> None:
    for key, value in (("stage", options.stage), ("category", category), ("batch_size", options.batch_size)):
        if payload.get(key) != value:
            raise VtonkitError(f"{path}: was trained with {key} {payload.get(key)!r}, not {value!r}; "
                               "resume with the same options")
    saved, given = payload.get("settings"), fixed_settings(options)
    changed = run_files.changed_settings(saved, given)
    if changed:
        raise VtonkitError(f"{path}: was trained with {run_files.shown_settings(saved, changed)}, not "
                           f"{run_files.shown_settings(given, changed)}; "
                           "these shape the networks, the loss or the data order: resume with the same options, "
                           "or start a new run in another --out")


def run_record(run: Path, options: TrainOptions, category: str, world: World, data: dict[str, Any],
               start_step: int) -> dict[str, Any]:
    """run.json: this invocation's options (paths absolute), the data, the input files by content,
    versions and threads; on --resume the earlier invocations' records in `history`, oldest first.

    `pairs` is the pair list training read: the split's default one, or a name resolved inside the
    dataset root as `TrainingDataset` resolves it (`--pairs train_pairs.txt`), not against the cwd."""
    from vtonkit.datasets.pairs import pairs_path
    from vtonkit.vton_infer.versions import library_versions

    record = {k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    record["pairs"] = str(pairs_path(Path(options.dataset), options.split, options.pairs).resolve())
    files = {name: record[name] for name in ("pairs", "vgg_weights", "init_tocg", "init_gen", "init_disc",
                                             "tocg_checkpoint") if record.get(name) and Path(record[name]).is_file()}
    record.update({
        "category": category, "world_size": world.size, "samples": data["samples"], "data": data,
        "started_at_step": start_step, "files": {name: run_files.content_id(Path(path)) for name, path in files.items()},
        "threads": torch.get_num_threads(), "versions": library_versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    history: list[dict[str, Any]] = []
    if options.resume:
        try:
            earlier = json.loads((run / run_files.OPTIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent or damaged: the resume file still holds what resuming needs
            earlier = None
        if isinstance(earlier, dict):
            history = [*earlier.pop("history", []), earlier]
    return {**record, "history": history}


def _note_changed_rate(path: Path, payload: dict[str, Any], stage: Stage) -> None:
    """A new --lr is allowed (lowering it after a divergence is the usual cure), and said; so is a new
    --steps, which moves stage 2's learning-rate decay (`decay_over`)."""
    saved_config, config = payload["trainer"].get("config", {}), stage.trainer.config
    saved, rate = saved_config.get("lr_g"), config.lr_g
    if saved is not None and saved != rate:
        logger.warning("%s: was trained with --lr %g; resuming with %g (the discriminator's in the same ratio)",
                       path, saved, rate)
    if hasattr(config, "decay_step") and "decay_step" in saved_config:
        before = (saved_config["keep_step"], saved_config["keep_step"] + saved_config["decay_step"])
        now = (config.keep_step, config.keep_step + config.decay_step)
        if before != now:
            logger.warning("%s: the learning rate decayed from step %d to %d; with this --steps it decays from "
                           "step %d to %d", path, *before, *now)


def _resume(run: Path, options: TrainOptions, stage: Stage, category: str, world: World,
            data: dict[str, Any]) -> int:
    path = run / run_files.RESUME_FILE
    payload = run_files.load_resume(run, advice=_unresumable_advice(run, options.stage))
    _check_same_settings(path, payload, options, category)
    if world.is_main:
        _note_changed_rate(path, payload, stage)
        _note_changed_data(path, payload, data)
    try:
        stage.trainer.load_state_dict(payload["trainer"])
    except (RuntimeError, KeyError, ValueError) as exc:  # older resume files record no --width/--recipe
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VtonkitError(f"{path}: its networks do not fit the given options ({first}); resume with the "
                           "options of the run that wrote it, or start a new run in another --out") from exc
    rng = payload["rng"]
    run_files.set_rng_states(rng[world.rank] if len(rng) == world.size else rng[0])
    if world.is_main:
        kept = run_files.truncate_losses(run, payload["step"])
        logger.info("resuming at step %d (%d log lines kept)", payload["step"], kept)
    return int(payload["step"])


def _unresumable_advice(run: Path, stage: str) -> str:
    """What to do when RUN/resume.pt cannot be read: --resume cannot continue the run, and without it the
    folder is refused (it holds a checkpoint), so a new run in another --out, from the run's last trained
    weights where it has them (they are files of their own, written after resume.pt)."""
    weights = [path for path in run_files.checkpoint_files(run, stage) if path.name != run_files.RESUME_FILE]
    last = weights[-1] if weights else None  # checkpoints/<name>_step<N>.pth sort by step, after RUN/<name>.pth
    start = (f", from its last trained weights: {INIT_OPTIONS[stage]} {last} (the discriminator and optimizer "
             "states were in the resume file)") if last is not None else ""
    return (f"--resume cannot continue this run; start a new run without --resume in another --out{start}, "
            "or resume from a copy of the run folder whose resume.pt is sound")


ProgressCallback = Callable[[int, int, dict[str, float]], None]


def train(options: TrainOptions, progress: ProgressCallback | None = None) -> TrainSummary:
    """Run (or resume) one stage to `options.steps` steps; see the module docstring."""
    check_options(options)
    world = init_world(options.device)
    try:
        return _train(options, world, progress)
    finally:
        close_world(world)


def _train(options: TrainOptions, world: World, progress: ProgressCallback | None) -> TrainSummary:
    start_time = time.perf_counter()
    run = Path(options.out)
    device = options.device
    if device == "cuda" and world.size > 1:
        device = f"cuda:{world.local_rank}"
        torch.cuda.set_device(device)
    if options.batch_size % world.size:
        raise VtonkitError(f"--batch-size {options.batch_size} (the global batch) must be divisible by the "
                           f"{world.size} processes")
    category = resolve_category(Path(options.dataset), options.split, options.category)
    if (mismatch := run_files.category_mismatch([options.tocg_checkpoint], category)) is not None:
        raise VtonkitError(f"--tocg-checkpoint {mismatch}")
    size = CONDITION_SIZE if options.stage == "condition" else GENERATOR_SIZE
    dataset = TrainingDataset(Path(options.dataset), options.split, options.pairs, category, size,
                              with_agnostic=options.stage == "generator", batch_size=options.batch_size)
    if len(dataset) < options.batch_size:
        raise VtonkitError(f"{dataset.split_dir.root}: {len(dataset)} training samples, fewer than one batch "
                           f"of {options.batch_size} (the last partial batch is dropped, as in the official loader)")
    # Only trained weights are protected: an attempt that stopped before its first checkpoint (a
    # bad file, kill -9) left a log and settings that nothing can resume, so it is started afresh.
    held = run_files.checkpoint_files(run, options.stage)
    if options.resume and not (run / run_files.RESUME_FILE).is_file():
        if held:  # weights without the state to continue them (a write that failed, a file removed)
            raise InputError(run / run_files.RESUME_FILE, "--resume given but this run has no resume file, only "
                             f"trained weights ({', '.join(str(p.relative_to(run)) for p in held[:3])}); they "
                             "cannot be continued: choose another --out, or move them away to start afresh here")
        raise InputError(run / run_files.RESUME_FILE, "--resume given but this run has no resume file yet (it is "
                         "written at the first checkpoint); run without --resume to start afresh")
    if not options.resume and held:
        names = ", ".join(str(path.relative_to(run)) for path in held[:3])
        if held[0].name == run_files.RESUME_FILE:
            raise VtonkitError(f"{run} already holds a run with a checkpoint ({names}); pass --resume to "
                               "continue it or choose another --out")
        raise VtonkitError(f"{run} holds trained weights ({names}) but no {run_files.RESUME_FILE} to continue "
                           "from; choose another --out, or move them away to start afresh here")

    torch.manual_seed(options.seed)  # the official scripts seed right before train()
    stage = build_stage(options, category, device, world)
    data = data_identity(dataset)
    start_step = _resume(run, options, stage, category, world, data) if options.resume else 0
    summary = TrainSummary(resumed_from=start_step, world_size=world.size)
    if world.is_main:
        run.mkdir(parents=True, exist_ok=True)
        run_files.remove_stale_temps(run)
        if not options.resume:
            run_files.clear_unfinished(run)  # no checkpoint here (refused above otherwise)
        run_files.write_options(run, run_record(run, options, category, world, data, start_step))
    log = run_files.LossLog(run) if world.is_main else None
    keys = LOSS_KEYS[options.stage]
    step = start_step
    try:
        with stops_at_step_end(enabled=world.size == 1) as stop:
            if step < options.steps:
                for step_index, raw in batches_from(dataset, options, world, start_step):
                    raw = {k: v.to(device) for k, v in raw.items()}  # `index` keys the stage-2 cache
                    lr = current_lr(stage.trainer)  # the rate this step runs at: the scheduler moves in it
                    losses = stage.trainer.step(stage.make_batch(raw))
                    losses = mean_over_ranks({k: float(losses[k]) for k in keys}, world)
                    step = step_index + 1
                    if log is not None:
                        log.write({"step": step, "lr": lr, **losses})
                    summary.last_losses = losses
                    if progress is not None and world.is_main:  # before a checkpoint that may fail
                        progress(step, options.steps, losses)
                    # Ctrl-C keeps the steps since the last checkpoint (with the default
                    # --checkpoint-every 500 a Ctrl-C at step 499 lost them all)
                    if step % options.checkpoint_every == 0 or step == options.steps or stop.signal_name:
                        if stop.signal_name:
                            logger.warning("interrupted: writing a checkpoint at step %d first", step)
                        summary.checkpoint = (_checkpoint(run, options, stage, step, category, world, data)
                                              or summary.checkpoint)
                    if stop.signal_name:
                        raise KeyboardInterrupt
                    if world.is_main and (step % options.sample_every == 0 or step == options.steps):
                        save_samples(run, step, getattr(stage.trainer, "last_visuals", None))
                        run_files.plot_losses(run, keys)
                    if step >= options.steps:
                        break
    finally:
        if log is not None:
            log.close()
    summary.steps_done = step
    summary.bad_samples = dict(dataset.bad)
    summary.seconds = time.perf_counter() - start_time
    return summary
