"""Seconds per training step of each HR-VITON stage (`vtonkit train`'s trainers) on this machine.

Run: .venv/bin/python bench/train_bench.py [--full] [--stage condition|generator|both]
     [--batch-size 1] [--steps 3] [--threads 2] [--device cpu] [--precision fp32]

Default: tiny networks (the test widths: condition ngf 8, generator ngf 4, discriminators 8/4,
VGG widths / 16 with random weights) at the official resolutions (256x192 and 512x384), which
measures the fixed costs (data, grid sampling, SPADE's 128-channel modulation at full size).
`--full`: the official widths (condition ngf 96, generator ngf 64, discriminators 64, the real
VGG19 shape with random weights) -- what a real run costs per step. Samples: VITON-HD test
persons from ../shared/data/vitonhd (any dataset with `--dataset/--split/--pairs`). The first
step (allocation, oneDNN kernel selection) is reported apart from the mean of the rest.
The load average is printed: on a shared machine compare rows of one run only.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))
TEST_PERSONS = ["00006_00", "00008_00", "00013_00", "00017_00"]


def default_pairs(workdir: Path) -> Path:
    """A paired list of the 4 VITON-HD test persons (each with its own garment), written in `workdir`."""
    path = workdir / "pairs.txt"
    path.write_text("".join(f"{n}.jpg {n}.jpg\n" for n in TEST_PERSONS))
    return path


def bench_stage(stage: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    from vtonkit.vton_infer.networks import ConditionGenerator
    from vtonkit.vton_infer.train.data import CONDITION_SIZE, GENERATOR_SIZE, TrainingDataset
    from vtonkit.vton_infer.train.distributed import World
    from vtonkit.vton_infer.train.runner import TrainOptions, build_stage

    full = args.full
    tocg_path = workdir / "tocg.pth"
    if stage == "generator" and not tocg_path.is_file():
        torch.save(ConditionGenerator(ngf=96 if full else 8).state_dict(), tocg_path)
    options = TrainOptions(
        dataset=args.dataset, out=workdir / stage, stage=stage, device=args.device, precision=args.precision,
        tocg_checkpoint=tocg_path if stage == "generator" else None, batch_size=args.batch_size,
        width=None if full else (8 if stage == "condition" else 4), disc_width=None if full else (8 if stage == "condition" else 4),
        vgg_width=1 if full else 16,
    )
    size = CONDITION_SIZE if stage == "condition" else GENERATOR_SIZE
    dataset = TrainingDataset(args.dataset, args.split, args.pairs, "upper", size, with_agnostic=stage == "generator")
    start = time.perf_counter()
    raw = torch.utils.data.default_collate([dataset[i % len(dataset)] for i in range(args.batch_size)])
    raw.pop("index")
    read_seconds = (time.perf_counter() - start) / args.batch_size
    built = build_stage(options, "upper", args.device, World())
    raw = {k: v.to(args.device) for k, v in raw.items()}
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        built.trainer.step(built.make_batch(raw))
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    rest = times[1:] or times
    peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else float("nan")
    return {"read_per_sample": read_seconds, "first": times[0], "mean": statistics.mean(rest), "peak_gib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("condition", "generator", "both"), default="both")
    parser.add_argument("--full", action="store_true", help="official widths instead of the tiny test widths")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--dataset", type=Path, default=SHARED / "data" / "vitonhd")
    parser.add_argument("--split", default="test")
    parser.add_argument("--pairs", type=Path, default=None, help="pair list (default: 4 VITON-HD test persons)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.pairs is None:
            args.pairs = default_pairs(workdir)
        stages = ("condition", "generator") if args.stage == "both" else (args.stage,)
        print(f"load average {os.getloadavg()[0]:.1f}, {torch.get_num_threads()} threads, {args.device}, "
              f"{args.precision}, {'official' if args.full else 'tiny'} widths, batch {args.batch_size}")
        print("| stage | resolution | batch | precision | s/step (mean of steps 2..) | steps/s | first step s | "
              "read s/sample | peak GPU GiB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for stage in stages:
            result = bench_stage(stage, args, workdir)
            resolution = "256x192" if stage == "condition" else "512x384"
            print(f"| {stage} | {resolution} | {args.batch_size} | {args.precision} | {result['mean']:.3f} | "
                  f"{1 / result['mean']:.2f} | {result['first']:.2f} | {result['read_per_sample']:.2f} | "
                  f"{result['peak_gib']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
