"""Throughput of `vtonkit prep` with 1 and 2 local workers: images/s, scaling, memory, model loads.

Both runs use a process pool (a one-worker pool too, so that they compare like with like) on the
same person photos and garment shots, each into a fresh dataset (cold cache). Prints one JSON
object; `--json PATH` also writes it. Usage:
    python bench/prep_bench.py [--persons 8] [--cloths 8] [--workers 1 2] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from vtonkit.preprocess.pipeline import PrepOptions, run_prep


def _inputs(shared: Path, persons: int, cloths: int, root: Path) -> tuple[Path, Path]:
    """Copy the first photos of ../shared/data/photos into `root` (person and garment folders)."""
    person_dir, cloth_dir = root / "persons", root / "cloths"
    for kind, target, count in (("persons", person_dir, persons), ("garments", cloth_dir, cloths)):
        target.mkdir(parents=True)
        files = sorted(p for p in (shared / "data" / "photos" / kind).iterdir() if p.suffix in (".jpg", ".png"))
        for path in files[:count]:
            shutil.copy(path, target / path.name)
    return person_dir, cloth_dir


def run_once(person_dir: Path, cloth_dir: Path, workers: int, out: Path) -> dict:
    started = time.perf_counter()
    report = run_prep(PrepOptions(out=out, split="test", persons=str(person_dir), cloths=str(cloth_dir),
                                  workers=workers))
    wall = time.perf_counter() - started
    profile = report.profile
    samples = sum(report.ok.values()) + sum(report.failed.values())
    return {
        "workers": workers,
        "samples": samples,
        "failed": sum(report.failed.values()),
        "wall_s": round(wall, 2),
        "images_per_s": round(samples / wall, 3),
        "cpu_s_per_sample": profile["cpu_s_per_sample"],
        "stage_mean_s": {s: v["mean_s"] for s, v in profile["stages"].items()},
        "model_loads_per_worker": {w: v["model_loads"] for w, v in profile["per_worker"].items()},
        "worker_peak_rss_mib": {w: round(v["peak_rss_bytes"] / 2**20, 1) for w, v in profile["per_worker"].items()},
        "main_peak_rss_mib": round(profile["peak_rss_bytes"]["main"] / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=8, help="person photos to process")
    parser.add_argument("--cloths", type=int, default=8, help="garment shots to process")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vtonkit-prep-bench-") as tmp:
        root = Path(tmp)
        person_dir, cloth_dir = _inputs(args.shared, args.persons, args.cloths, root)
        runs = [run_once(person_dir, cloth_dir, n, root / f"ds{n}") for n in args.workers]
    result = {"runs": runs}
    base = next((r for r in runs if r["workers"] == 1), None)
    if base:
        result["scaling"] = {str(r["workers"]): round(r["images_per_s"] / base["images_per_s"], 3) for r in runs}
    result["max_model_loads_per_worker"] = max(n for r in runs for loads in r["model_loads_per_worker"].values()
                                               for n in loads.values())
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
