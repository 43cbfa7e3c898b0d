"""Where one training step's time goes, phase by phase (`vtonkit train`'s trainers, tiny widths).

Run: .venv/bin/python bench/train_step_profile.py [--stage generator|condition] [--batch-size 4]
     [--steps 3] [--threads 1] [--full]

Phases: reading the samples from disk, the frozen condition generator (stage 2, inside the batch
recipe), the rest of the batch recipe, and inside `trainer.step` the forwards of the trained
generator (with and without gradient), the VGG loss network, the discriminator (in the G step with
D frozen, in the D step), the two backward + optimizer steps, and what is left. Forward times come
from module hooks, backward times from timing the trainer's backward_step. CPU seconds of this
process are reported beside wall seconds: on a shared machine the CPU column is the one to compare
(with 1 thread, CPU time is the work done). Mean over the steps after the first.
`--cache` times the stage with the run's per-sample cache of the frozen stage-1 outputs (stage 2),
i.e. what `vtonkit train` does now; without it every step recomputes them (the earlier code path).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

from train_bench import SHARED, default_pairs  # bench/ is this script's folder, so on sys.path


class PhaseClock:
    """Accumulates wall and CPU seconds per phase name."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._open: dict[str, tuple[float, float]] = {}

    def start(self, name: str) -> None:
        self._open[name] = (time.perf_counter(), time.process_time())

    def stop(self, name: str) -> None:
        wall, cpu = self._open.pop(name)
        self.wall[name] += time.perf_counter() - wall
        self.cpu[name] += time.process_time() - cpu


def hook_forward(module: torch.nn.Module, label: str, clock: PhaseClock) -> None:
    def name() -> str:
        return f"{label} forward{'' if torch.is_grad_enabled() else ' (no grad)'}"

    def before(*_):
        clock.start(name())

    def after(*_):
        clock.stop(name())

    module.register_forward_pre_hook(before)
    module.register_forward_hook(after)


def profile(args: argparse.Namespace, workdir: Path) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    from vtonkit.vton_infer.networks import ConditionGenerator
    from vtonkit.vton_infer.train.data import CONDITION_SIZE, GENERATOR_SIZE, TrainingDataset
    from vtonkit.vton_infer.train.distributed import World
    from vtonkit.vton_infer.train.optim import unwrap
    from vtonkit.vton_infer.train.runner import TrainOptions, build_stage

    stage = args.stage
    full = args.full
    tocg_path = workdir / "tocg.pth"
    if stage == "generator":
        torch.save(ConditionGenerator(ngf=96 if full else 8).state_dict(), tocg_path)
    tiny = None if full else (8 if stage == "condition" else 4)
    options = TrainOptions(dataset=args.dataset, out=workdir / stage, stage=stage, batch_size=args.batch_size,
                           tocg_checkpoint=tocg_path if stage == "generator" else None, width=tiny, disc_width=tiny,
                           vgg_width=1 if full else 16)
    size = CONDITION_SIZE if stage == "condition" else GENERATOR_SIZE
    dataset = TrainingDataset(args.dataset, args.split, args.pairs, "upper", size, with_agnostic=stage == "generator")
    torch.manual_seed(0)
    built = build_stage(options, "upper", "cpu", World())
    trainer = built.trainer
    clock = PhaseClock()
    nets = {"trained generator": getattr(trainer, "generator", None) or getattr(trainer, "tocg", None),
            "discriminator": trainer.disc, "VGG": trainer.vgg}
    for label, module in nets.items():
        hook_forward(unwrap(module), label, clock)
    tocg = getattr(built.make_batch, "tocg", None)
    if tocg is not None:
        hook_forward(tocg, "frozen stage-1 net", clock)
    if not args.cache and hasattr(built.make_batch, "cache"):
        built.make_batch.cache = None
    backward_step = trainer.precision.backward_step
    order = iter(())

    def timed_backward(loss, optimizer):
        name = next(order)
        clock.start(name)
        backward_step(loss, optimizer)
        clock.stop(name)

    trainer.precision.backward_step = timed_backward
    steps = []
    for _ in range(args.steps):
        clock.wall.clear()
        clock.cpu.clear()
        order = iter(("G backward + Adam", "D backward + Adam"))
        clock.start("read samples")
        raw = torch.utils.data.default_collate([dataset[i % len(dataset)] for i in range(args.batch_size)])
        clock.stop("read samples")
        clock.start("batch recipe")
        batch = built.make_batch(raw)
        clock.stop("batch recipe")
        clock.start("trainer.step")
        trainer.step(batch)
        clock.stop("trainer.step")
        steps.append((dict(clock.wall), dict(clock.cpu)))
    rest = steps[1:] or steps

    def mean(index: int) -> dict[str, float]:
        keys = list(rest[0][index])
        return {k: statistics.mean(s[index].get(k, 0.0) for s in rest) for k in keys}

    return mean(0), mean(1)


def table(wall: dict[str, float], cpu: dict[str, float]) -> list[str]:
    inner = [k for k in wall if k not in ("read samples", "batch recipe", "trainer.step")]
    stage1 = "frozen stage-1 net forward (no grad)"
    rows = [("read samples (disk, resize)", "read samples", 0.0)]
    if stage1 in wall:
        rows.append(("frozen stage-1 net (in the batch recipe)", stage1, 0.0))
        rows.append(("rest of the batch recipe", "batch recipe", wall[stage1]))
    else:
        rows.append(("batch recipe", "batch recipe", 0.0))
    lines = ["| phase | wall s | CPU s |", "|---|---|---|"]
    for label, key, minus in rows:
        cpu_minus = cpu.get(stage1, 0.0) if minus else 0.0
        lines.append(f"| {label} | {wall[key] - minus:.2f} | {cpu[key] - cpu_minus:.2f} |")
    for key in inner:
        if key == stage1:
            continue
        lines.append(f"| step: {key} | {wall[key]:.2f} | {cpu[key]:.2f} |")
    other_wall = wall["trainer.step"] - sum(wall[k] for k in inner if k != stage1)
    other_cpu = cpu["trainer.step"] - sum(cpu[k] for k in inner if k != stage1)
    lines.append(f"| step: losses, concatenations, the rest | {other_wall:.2f} | {other_cpu:.2f} |")
    total_wall = wall["read samples"] + wall["batch recipe"] + wall["trainer.step"]
    total_cpu = cpu["read samples"] + cpu["batch recipe"] + cpu["trainer.step"]
    lines.append(f"| **total per step** | **{total_wall:.2f}** | **{total_cpu:.2f}** |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("condition", "generator"), default="generator")
    parser.add_argument("--full", action="store_true", help="official widths instead of the tiny test widths")
    parser.add_argument("--cache", action="store_true", help="use the run's cache of the frozen stage-1 outputs")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dataset", type=Path, default=SHARED / "data" / "vitonhd")
    parser.add_argument("--split", default="test")
    parser.add_argument("--pairs", type=Path, default=None, help="pair list (default: 4 VITON-HD test persons)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.pairs is None:
            args.pairs = default_pairs(workdir)
        wall, cpu = profile(args, workdir)
        print(f"stage {args.stage}, batch {args.batch_size}, {'official' if args.full else 'tiny'} widths, "
              f"{torch.get_num_threads()} thread(s), cache {'on' if args.cache else 'off'}, mean of steps 2..{args.steps}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print("\n".join(table(wall, cpu)))


if __name__ == "__main__":
    main()
