"""Seconds per 1024x768 try-on pair on the CPU: vtonkit's HR-VITON path vs the official computation.

Run: .venv/bin/python bench/infer_bench.py [--threads 2] [--repeats 3]

Weights: the reference fixture's deterministic fill (../shared/reference/hrviton/fill_weights.py),
inputs: the fixture pair (VITON-HD test 00006_00 with garment 00008_00) read from
../shared/data/vitonhd/test, so the timings are comparable with the fixture README's figures for
the official code on this kind of machine (2 cores: generator 25 s, whole pipeline 30 s).

Rows:
* `official-equivalent` = our pipeline with `sparse_modulation=False`: the same torch operations as
  the official test_generator.py (it reproduces the official outputs bit for bit), timed now on
  the same machine, which makes the comparison immune to machine load drift between runs.
* `vtonkit` = the default (SPADE modulation computed only near label boundaries, spectral norm
  folded at load, inference mode).
The load average is printed: on a shared machine the numbers are noisy, compare rows of one run.
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
OFFICIAL_README_SECONDS = {"generator 1024x768": 25.0, "pipeline 1024x768": 30.0}


def load_fill():
    path = SHARED / "reference" / "hrviton" / "fill_weights.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("hrviton_fill_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill_state_dict


def build_models(fill):
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


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up (allocations, oneDNN primitive caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dense", action="store_true", help="skip the official-equivalent rows (slow)")
    parser.add_argument("--bf16", action="store_true", help="also time the opt-in bfloat16 generator")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.data import collate, read_pair
    from vtonkit.vton_infer.pipeline import HRVitonPipeline

    split = SHARED / "data" / "vitonhd" / "test"
    if not split.is_dir():
        sys.exit(f"needs the VITON-HD samples at {split}")
    fill = load_fill()
    tocg, gen = build_models(fill)
    batch = collate([read_pair(SplitDir(split), "00006_00", "00008_00")])
    pipeline = HRVitonPipeline(tocg, gen)
    with torch.inference_mode():
        result = pipeline.run(batch)
    x9 = torch.cat([batch["agnostic"], batch["densepose"], result.warped_cloth], 1)
    seg = torch.nn.functional.one_hot(result.parse7, 7).permute(0, 3, 1, 2).float()

    # The fill weights make a speckled layout (about 10 % of pixels near a label boundary, 3 % for a
    # real parse), the worst case for the sparse modulation. The "realistic layout" rows inject the
    # person's ground-truth 13-class parse in place of the argmax, as a proxy for trained weights.
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.labels import merge_to_13

    real13 = torch.from_numpy(merge_to_13(read_parse(split / "image-parse-v3" / "00006_00.png")).astype("int64"))[None]
    real_seg = torch.nn.functional.one_hot(pipeline.merge_7[real13], 7).permute(0, 3, 1, 2).float().contiguous()
    rows = []
    for label, sparse in (("vtonkit", True), ("official-equivalent", False)):
        if not sparse and args.skip_dense:
            continue
        gen.sparse_modulation = sparse
        with torch.inference_mode():
            g_med, g_min = timed(lambda: gen(x9, seg), args.repeats)
            r_med, r_min = timed(lambda: gen(x9, real_seg), args.repeats)
        p_med, p_min = timed(lambda: pipeline.run(batch), args.repeats)
        q_med, q_min = timed(lambda: pipeline.run(batch, fake_parse_override=real13), args.repeats)
        rows.append((label, g_med, g_min, p_med, p_min, r_med, r_min, q_med, q_min))

    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, "
          f"cpu count {os.cpu_count()}, load average at end {os.getloadavg()}, "
          f"weights: {'fixture fill' if fill else 'random init'}")
    print(f"| code | generator, fixture layout | generator, realistic layout | pipeline s/pair, fixture layout "
          f"| pipeline s/pair, realistic layout |  (median / min of {args.repeats}, seconds)")
    print("|---|---|---|---|---|")
    print(f"| official code (fixture README, quiet machine, 2 threads) | {OFFICIAL_README_SECONDS['generator 1024x768']:.0f}"
          f" | - | {OFFICIAL_README_SECONDS['pipeline 1024x768']:.0f} | - |")
    for label, g_med, g_min, p_med, p_min, r_med, r_min, q_med, q_min in rows:
        print(f"| {label} (this run) | {g_med:.2f} / {g_min:.2f} | {r_med:.2f} / {r_min:.2f} "
              f"| {p_med:.2f} / {p_min:.2f} | {q_med:.2f} / {q_min:.2f} |")
    if args.bf16:
        gen.sparse_modulation = True
        bf16 = HRVitonPipeline(tocg, gen, precision="bf16")
        with torch.inference_mode():
            bf16.run(batch)  # measures the deviation once (and warms up)
            p_med, p_min = timed(lambda: bf16.run(batch), args.repeats)
        d = bf16.deviation
        print(f"| vtonkit --precision bf16 (this run; max |diff| vs fp32 {d['max']:.4f}, mean {d['mean']:.5f}) "
              f"| - | - | {p_med:.2f} / {p_min:.2f} | - |")
    ours, real = rows[0][3], rows[0][7]
    print(f"vtonkit pipeline = {ours / OFFICIAL_README_SECONDS['pipeline 1024x768']:.2f} (fixture layout), "
          f"{real / OFFICIAL_README_SECONDS['pipeline 1024x768']:.2f} (realistic layout) x the README figure"
          + (f"; {ours / rows[1][3]:.2f} and {real / rows[1][7]:.2f} x the official-equivalent run" if len(rows) > 1 else ""))

if __name__ == "__main__":
    main()
