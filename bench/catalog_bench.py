"""Pairs per second of `vtonkit infer`'s loop at catalog scale: serial vs read-ahead + background writer.

Run: .venv/bin/python bench/catalog_bench.py [--pairs 32] [--rounds 2] [--method warp|hrviton] [--ray-workers 2]

The same `run_pairs` is timed in two loop settings, alternately in one process (so machine load
drift hits both alike), each round into a fresh output folder:
* `serial`   : read a pair, compute it, write it, then the next (`read_workers=0, write_queue=0`);
* `pipelined`: the defaults, reader threads decode the next pairs and a writer thread saves and
  logs the previous ones while the current batch computes.
Inputs: the 5 VITON-HD test samples of ../shared/data/vitonhd linked under extra stems (distinct
pairs, so every pair is read, computed and written). `--method warp` (default) needs no weights;
`--method hrviton` uses the reference fixture's deterministic weight fill (about 10 s a pair on 2
cores: use --pairs 6) or --tocg-checkpoint/--gen-checkpoint. `--ray-workers K` adds a row for
`--engine ray` with K workers on a local Ray instance (its start-up, ~10 s, included).

Printed per mode: wall seconds (median of the rounds), pairs/s, CPU seconds per pair (all
threads of this process; Ray workers not counted), CPU use = CPU time / wall / cores, and the
load average before and after; then the CPU seconds of each stage (read, compute, write) and the
best speed-up overlapping them can give (load-independent). Outputs of every mode are compared
byte for byte.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))


def build_pairs(root: Path, count: int) -> tuple[Path, list[tuple[str, str]]]:
    """A split of the VITON-HD samples linked under enough extra stems for `count` distinct pairs."""
    from vtonkit.datasets.layout import DatasetLayout, SplitDir
    from vtonkit.datasets.sample_copy import replicate_samples

    source = SplitDir(SHARED / "data" / "vitonhd" / "test")
    if not source.root.is_dir():
        raise SystemExit(f"needs the shared samples at {source.root}")
    per_copy = len(source.person_stems())
    copies = 0
    while (per_copy * (copies + 1)) * len(source.cloth_stems()) < count:
        copies += 1
    split = DatasetLayout(root).split("test")
    persons, cloths = replicate_samples(source, split, copies)
    # walk persons and garments together so that consecutive pairs share neither
    pairs = [(persons[i % len(persons)], cloths[(i + i // len(persons)) % len(cloths)]) for i in range(count)]
    assert len(set(pairs)) == count
    return split.root, pairs


def filled_checkpoints(folder: Path) -> tuple[Path, Path]:
    """mtviton.pth / gen.pth with the reference fixture's deterministic fill (no published weights here)."""
    path = SHARED / "reference" / "hrviton" / "fill_weights.py"
    if not path.is_file():
        raise SystemExit(f"--method hrviton without checkpoints needs {path}")
    spec = importlib.util.spec_from_file_location("hrviton_fill_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator

    paths = []
    for name, network in (("mtviton.pth", ConditionGenerator()), ("gen.pth", SPADEGenerator())):
        torch.save(module.fill_state_dict(network.state_dict()), folder / name)
        paths.append(folder / name)
    return paths[0], paths[1]


def stage_cpu_seconds(split_dir: Path, pairs: list[tuple[str, str]], options, out: Path) -> dict[str, float]:
    """CPU seconds per pair of each stage, one after the other (load-independent: CPU, not wall time).

    A loop that overlaps the stages on enough free cores is bounded by the slowest one, so
    sum / max is the speed-up the pipelined loop can reach at best (the GIL and shared cores cost some)."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.data import read_pair
    from vtonkit.vton_infer.output_writer import save_png
    from vtonkit.vton_infer.runner import TryOnEngine

    engine = TryOnEngine(options)
    totals = {"read": 0.0, "compute": 0.0, "write": 0.0}
    for person, cloth in pairs:
        t0 = time.process_time()
        sample = read_pair(SplitDir(split_dir), person, cloth, category=options.category)
        t1 = time.process_time()
        images, _, _ = engine.run([sample])
        t2 = time.process_time()
        save_png(out / sample.output_name, images[0], options.method)
        t3 = time.process_time()
        for stage, seconds in zip(totals, (t1 - t0, t2 - t1, t3 - t2)):
            totals[stage] += seconds
    return {stage: seconds / len(pairs) for stage, seconds in totals.items()}


def digest_outputs(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.png"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="Alternating rounds per mode (median reported).")
    parser.add_argument("--method", choices=("warp", "hrviton"), default="warp")
    parser.add_argument("--tocg-checkpoint", type=Path)
    parser.add_argument("--gen-checkpoint", type=Path)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores).")
    parser.add_argument("--ray-workers", type=int, default=0, help="Also time --engine ray with this many workers.")
    args = parser.parse_args()

    from vtonkit.vton_infer.runner import InferOptions, LoopOptions, run_pairs

    torch.set_num_threads(args.threads)
    cores = os.cpu_count() or 1
    modes = {"serial": LoopOptions(read_workers=0, write_queue=0), "pipelined": LoopOptions()}
    with tempfile.TemporaryDirectory(prefix="vtonkit-catalog-bench-") as tmp:
        tmp_path = Path(tmp)
        split_dir, pairs = build_pairs(tmp_path / "ds", args.pairs)
        options = InferOptions(method=args.method, batch_size=args.batch_size)
        if args.method == "hrviton":
            tocg, gen = ((args.tocg_checkpoint, args.gen_checkpoint) if args.tocg_checkpoint
                         else filled_checkpoints(tmp_path))
            options.tocg_checkpoint, options.gen_checkpoint = tocg, gen
        print(f"{args.pairs} pairs, method {args.method}, batch size {args.batch_size}, {args.threads} torch "
              f"threads, {cores} cores; load average before: {os.getloadavg()[0]:.2f} "
              f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
        run_pairs(split_dir, pairs[:2], tmp_path / "warm-up", options, loop=modes["serial"])  # imports, caches
        walls: dict[str, list[float]] = {m: [] for m in modes}
        cpus: dict[str, list[float]] = {m: [] for m in modes}
        digests: dict[str, dict[str, str]] = {}
        for round_index in range(args.rounds):
            order = list(modes) if round_index % 2 == 0 else list(reversed(modes))
            for mode in order:
                out = tmp_path / f"{mode}-{round_index}"
                cpu0, wall0 = time.process_time(), time.perf_counter()
                summary = run_pairs(split_dir, pairs, out, options, loop=modes[mode])
                walls[mode].append(time.perf_counter() - wall0)
                cpus[mode].append(time.process_time() - cpu0)
                if summary.failed or len(summary.written) != len(pairs):
                    raise SystemExit(f"{mode}: {len(summary.written)} written, failed: {summary.failed[:3]}")
                digests.setdefault(mode, digest_outputs(out))
                print(f"  round {round_index + 1} {mode}: {walls[mode][-1]:.1f} s", flush=True)
        if args.ray_workers:
            from vtonkit.vton_infer.ray_runner import run_pairs_ray

            wall0 = time.perf_counter()
            summary = run_pairs_ray(split_dir, pairs, tmp_path / "ray", options, workers=args.ray_workers)
            walls["ray"], cpus["ray"] = [time.perf_counter() - wall0], [float("nan")]
            digests["ray"] = digest_outputs(tmp_path / "ray")
        stage_pairs = pairs[: min(len(pairs), 8)]
        stages = stage_cpu_seconds(split_dir, stage_pairs, options, tmp_path / "stages")
        load_after = os.getloadavg()

    serial = statistics.median(walls["serial"])
    print(f"\n{'mode':<12} {'wall s':>8} {'pairs/s':>8} {'CPU s/pair':>11} {'CPU use':>8} {'speed-up':>9}")
    for mode in walls:
        wall, cpu = statistics.median(walls[mode]), statistics.median(cpus[mode])
        label = mode if mode != "ray" else f"ray x{args.ray_workers}"
        print(f"{label:<12} {wall:>8.1f} {args.pairs / wall:>8.3g} {cpu / args.pairs:>11.3f} "
              f"{cpu / wall / cores:>8.0%} {serial / wall:>8.2f}x")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    bound = sum(stages.values()) / max(stages.values())
    print(f"CPU s/pair by stage (serial, {len(stage_pairs)} pairs): " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
          + f" -> pipelined bound with >= 3 free cores: {bound:.2f}x (sum / slowest stage)")
    same = all(d == digests["serial"] for d in digests.values())
    print(f"outputs identical in every mode: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
