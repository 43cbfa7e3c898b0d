"""Seconds per 1024x768 try-on pair on the CPU: the official computation vs vtonkit, side by side.

Run: .venv/bin/python bench/infer_bench.py [--threads 2] [--repeats 3] [--no-bf16]
(about 5 minutes on a quiet 2-core machine, most of it the official rows)

GPU (or any device) throughput table: bench/infer_gpu.sh, i.e.
.venv/bin/python bench/infer_bench.py --throughput --device cuda [--tocg-checkpoint mtviton.pth --gen-checkpoint gen.pth]
prints pairs/s, peak device memory and max deviation from fp32 per precision, memory format and batch size.

Weights: the reference fixture's deterministic fill (../shared/reference/hrviton/fill_weights.py),
inputs: the fixture pair (VITON-HD test 00006_00 with garment 00008_00) read from
../shared/data/vitonhd/test, the whole test-time path (condition generator, blur, warp, generator).

Rows, timed interleaved in one process (official, vtonkit, official, ... so that machine load
drifts affect both alike), median and min of `--repeats` after one warm-up run each:
* `official` = `HRVitonPipeline(reference_ops=True)`: the official operations (dense SPADE
  modulation, out-of-place steps, NCHW blur), which reproduce the official outputs bit for bit.
* `vtonkit` = the default pipeline (SPADE modulation per distinct 5x5 layout window, in-place
  element-wise steps, channels-last blur, spectral norm folded at load, inference mode).
* `vtonkit --precision bf16` = opt-in and lossy: printed with its max deviation from float32.
Two layouts: the one the fixture weights produce (speckled, about 5,000 distinct 5x5 windows: the
hard case for vtonkit) and the person's real parse injected in place of the argmax (smoother, as
trained weights should produce). The load average is printed: compare rows of one run only.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))


def load_fill():
    path = SHARED / "reference" / "hrviton" / "fill_weights.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("hrviton_fill_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill_state_dict


def build_models(fill):
    """The two networks with the fixture fill (noise scales zeroed, as the fixtures) or random init."""
    from vtonkit.vton_infer.networks import ConditionGenerator, SPADEGenerator

    tocg, gen = ConditionGenerator().eval(), SPADEGenerator().eval()
    if fill is not None:
        tocg.load_state_dict(fill(tocg.state_dict()))
        state = fill(gen.state_dict())
        for key in state:
            if key.endswith("noise_scale"):
                state[key].zero_()
        gen.load_state_dict(state)
    gen.fold_spectral_norm()
    return tocg, gen


def interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, run in turn `repeats` times (warm them up first)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


THROUGHPUT_SETTINGS = ("fp32", "fp16", "bf16", "fp32,channels-last", "fp16,channels-last", "bf16,channels-last",
                       "fp32,official-ops")


def throughput(args) -> None:
    """pairs/s, peak memory and deviation from fp32 per setting and batch size on `args.device`."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.checkpoints import load_condition_generator, load_generator
    from vtonkit.vton_infer.data import collate, read_pair
    from vtonkit.vton_infer.pipeline import HRVitonPipeline

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        # float32 rows are compared with the CPU tolerances in mind: no TF32 in them
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        print(f"device {torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()}")
    if args.tocg_checkpoint and args.gen_checkpoint:
        tocg, gen = load_condition_generator(args.tocg_checkpoint), load_generator(args.gen_checkpoint)
        weights = f"checkpoints {args.tocg_checkpoint}, {args.gen_checkpoint}"
    else:
        fill = load_fill()
        tocg, gen = build_models(fill)
        weights = "fixture fill (no checkpoints given)" if fill else "random init (no checkpoints, no fixture fill)"
    print(f"weights: {weights}")
    split = SplitDir(SHARED / "data" / "vitonhd" / "test") if args.dataset is None else SplitDir(Path(args.dataset))
    persons = sorted(p.stem for p in (split.root / "image").glob("*.jpg"))
    cloths = sorted(p.stem for p in (split.root / "cloth").glob("*.jpg"))
    biggest = max(args.batch_sizes)
    samples = [read_pair(split, persons[i % len(persons)], cloths[(i + 1) % len(cloths)]) for i in range(biggest)]

    reference = HRVitonPipeline(tocg, gen, device=device)
    with torch.inference_mode():
        ref = reference.run(collate(samples[:1]))
    ref_output, layout = ref.output.cpu(), ref.fake_parse
    print(f"\n{args.batches} timed batches per row after one warm-up batch; deviation = max |output - fp32 batch 1| "
          "on the first pair, same layout (output range [-1, 1])\n")
    print("| setting | batch | pairs/s | peak memory (GiB) | max deviation from fp32 |")
    print("|---|---|---|---|---|")
    for setting in args.settings:
        precision, *flags = setting.split(",")
        options = {"channels_last": "channels-last" in flags, "reference_ops": "official-ops" in flags}
        for batch_size in args.batch_sizes:
            pipeline = HRVitonPipeline(tocg, gen, device=device, precision=precision, **options)
            batch = collate(samples[:batch_size])
            try:
                with torch.inference_mode():
                    overrides = layout.expand(batch_size, -1, -1)
                    first = pipeline.run(batch, fake_parse_override=overrides).output[:1].cpu()  # warm-up
                    if cuda:
                        torch.cuda.synchronize(device)
                        torch.cuda.reset_peak_memory_stats(device)
                    start = time.perf_counter()
                    for _ in range(args.batches):
                        pipeline.run(batch)
                    if cuda:
                        torch.cuda.synchronize(device)
                    seconds = time.perf_counter() - start
            except torch.OutOfMemoryError as exc:
                print(f"| {setting} | {batch_size} | out of memory: {str(exc).splitlines()[0]} | - | - |")
                continue
            peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}" if cuda else "-"
            deviation = (first - ref_output).abs().max().item()
            print(f"| {setting} | {batch_size} | {args.batches * batch_size / seconds:.2f} | {peak} | {deviation:.2g} |",
                  flush=True)
            del pipeline
            if cuda:
                torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row after the warm-up (default 3)")
    parser.add_argument("--no-bf16", action="store_true", help="skip the opt-in bfloat16 rows")
    parser.add_argument("--throughput", action="store_true", help="the per-setting throughput table instead (GPU)")
    parser.add_argument("--device", default="cpu", help="--throughput: torch device (cuda, cuda:1, mps, cpu)")
    parser.add_argument("--settings", nargs="+", default=list(THROUGHPUT_SETTINGS),
                        help="--throughput: precision[,channels-last][,official-ops] per row")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 4, 8], help="--throughput: batch sizes")
    parser.add_argument("--batches", type=int, default=5, help="--throughput: timed batches per row")
    parser.add_argument("--tocg-checkpoint", help="--throughput: mtviton.pth (default: the fixture fill)")
    parser.add_argument("--gen-checkpoint", help="--throughput: gen.pth (default: the fixture fill)")
    parser.add_argument("--dataset", help="--throughput: split folder with the pairs' files (default: the shared "
                        "VITON-HD test samples)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.throughput:
        throughput(args)
        return

    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.labels import merge_to_13
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.data import collate, read_pair
    from vtonkit.vton_infer.pipeline import HRVitonPipeline

    split = SHARED / "data" / "vitonhd" / "test"
    if not split.is_dir():
        sys.exit(f"needs the VITON-HD samples at {split}")
    load_start = os.getloadavg()
    wall_start = time.perf_counter()
    fill = load_fill()
    tocg, gen = build_models(fill)
    batch = collate([read_pair(SplitDir(split), "00006_00", "00008_00")])
    real13 = torch.from_numpy(merge_to_13(read_parse(split / "image-parse-v3" / "00006_00.png")).astype("int64"))[None]
    pipelines = {
        "official": HRVitonPipeline(tocg, gen, reference_ops=True),
        "vtonkit": HRVitonPipeline(tocg, gen),
    }
    if not args.no_bf16:
        pipelines["vtonkit --precision bf16"] = HRVitonPipeline(tocg, gen, precision="bf16")
    layouts = {"fixture layout": None, "realistic layout": real13}

    results = {}
    for layout_name, override in layouts.items():
        fns = {name: (lambda p=p, o=override: p.run(batch, fake_parse_override=o)) for name, p in pipelines.items()}
        # warm-up runs (allocations, oneDNN primitive caches) that also give the deviations; compared
        # with the official layout injected: the argmax has pixels with top-2 margins below 1e-6, which
        # any change of float32 summation order may flip (see ../shared/reference/hrviton/README.md)
        official = pipelines["official"].run(batch, fake_parse_override=override)
        same_layout = official.fake_parse if override is None else override
        outputs = {name: p.run(batch, fake_parse_override=same_layout).output for name, p in pipelines.items()
                   if name != "official"}
        outputs["official"] = official.output
        times = interleaved(fns, args.repeats)
        for name in pipelines:
            results[name, layout_name] = (times[name], (outputs[name] - outputs["official"]).abs().max().item())
        for p in pipelines.values():
            p.deviation = None  # the bf16 pipeline measures its deviation again on the next layout

    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, cpu count {os.cpu_count()}, "
          f"weights: {'fixture fill' if fill else 'random init'}; load average (1, 5, 15 min) at start "
          f"{tuple(round(v, 2) for v in load_start)}, at end {tuple(round(v, 2) for v in os.getloadavg())}; "
          f"bench wall time {time.perf_counter() - wall_start:.0f} s")
    print(f"\nSeconds per 1024x768 pair, whole test-time path, median / min of {args.repeats} interleaved runs "
          "(max |diff| = largest output difference from the official computation with the same layout, output range [-1, 1]):\n")
    print("| code | " + " | ".join(f"{name}: s/pair | ratio to official | max \\|diff\\|" for name in layouts) + " |")
    print("|---|" + "---|---|---|" * len(layouts))
    for name in pipelines:
        cells = []
        for layout_name in layouts:
            times, diff = results[name, layout_name]
            official = statistics.median(results["official", layout_name][0])
            cells.append(f"{statistics.median(times):.2f} / {min(times):.2f} | {statistics.median(times) / official:.3f} "
                         f"| {diff:.2g}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    ratios = [statistics.median(results["vtonkit", n][0]) / statistics.median(results["official", n][0]) for n in layouts]
    print(f"\nvtonkit / official (float32, same run): {ratios[0]:.3f} (fixture layout), {ratios[1]:.3f} (realistic layout); "
          "goal <= 0.25")


if __name__ == "__main__":
    main()
