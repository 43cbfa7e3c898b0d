"""Throughput of `vtonkit prep` with 1 and 2 local workers, and where the 1 -> 2 worker scaling goes.

Both runs use a process pool (a one-worker pool too, so that they compare like with like) on the
same person photos and garment shots (default 16 + 16 = 32 photos, issue #16), each into a fresh
dataset (cold cache). Prints four tables:

1. throughput: wall seconds of every round and their median, images/s, scaling (wall-clock: only
   meaningful on a quiet machine; the load average is printed beside it). The worker counts run
   interleaved, `--repeat` rounds (default 3), and the other tables show each count's median run;
2. timeline (from `prep-profile.json`): the main process's set-up, each worker's start-up
   (process start -> models loaded), busy time, and the tail from its last task to the end of the run;
3. CPU seconds, which do not depend on other load: main process, worker start-up (interpreter,
   imports, model loads), work per sample, worker exit (what the workers used after their last task),
   and the scaling they predict for N workers on N free cores:
       (start-up + exit + work of the 1-worker run) / (start-up + exit + (work + main) / N of the N-worker run),
   also with the 1-worker run's work in both ("same work/sample": what the serial part alone allows);
4. per stage: each stage's mean wall seconds per sample, for each worker count.

`--json PATH` also writes everything as JSON. Usage:
    python bench/prep_bench.py [--persons 16] [--cloths 16] [--workers 1 2] [--repeat 3] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
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


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_once(person_dir: Path, cloth_dir: Path, workers: int, out: Path) -> dict:
    main_before, children_before = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    report = run_prep(PrepOptions(out=out, split="test", persons=str(person_dir), cloths=str(cloth_dir),
                                  workers=workers))
    wall = time.perf_counter() - started
    # The pool has joined its workers when run_prep returns, so their whole CPU time is in RUSAGE_CHILDREN.
    main_cpu, children_cpu = _cpu(resource.RUSAGE_SELF) - main_before, _cpu(resource.RUSAGE_CHILDREN) - children_before
    profile = report.profile
    samples = sum(report.ok.values()) + sum(report.failed.values())
    per_worker = profile["per_worker"]
    timeline = profile["timeline"]
    startup_cpu = sum(w["startup_cpu_s"] for w in per_worker.values())
    at_last_task_cpu = sum(w["cpu_s"] for w in per_worker.values())
    clocks = timeline["workers"].values()
    return {
        "workers": workers,
        "samples": samples,
        "failed": sum(report.failed.values()),
        "wall_s": round(wall, 2),
        "images_per_s": round(samples / wall, 3),
        "timeline": {
            "setup_s": timeline["tasks_planned_s"],
            "worker_startup_s": round(max(c["ready_s"] - c["started_s"] for c in clocks), 3),
            "first_task_s": round(min(c["first_task_s"] for c in clocks), 3),
            "worker_busy_s": [c["busy_s"] for c in clocks],
            "last_task_end_s": round(max(c["last_task_end_s"] for c in clocks), 3),
            "last_result_s": timeline["last_result_s"],
            "end_s": round(wall, 3),
        },
        "cpu_s": {
            "main": round(main_cpu, 3),
            "worker_startup_per_worker": round(startup_cpu / len(per_worker), 3),
            "work_per_sample": round((at_last_task_cpu - startup_cpu) / samples, 4),
            "work_total": round(at_last_task_cpu - startup_cpu, 3),
            "worker_exit_per_worker": round(max(children_cpu - at_last_task_cpu, 0.0) / len(per_worker), 3),
            "workers_total": round(children_cpu, 3),
        },
        "stage_mean_s": {s: v["mean_s"] for s, v in profile["stages"].items()},
        "model_load_s_per_worker": {w: v["model_load_seconds"] for w, v in per_worker.items()},
        "model_loads_per_worker": {w: v["model_loads"] for w, v in per_worker.items()},
        "worker_peak_rss_mib": {w: round(v["peak_rss_bytes"] / 2**20, 1) for w, v in per_worker.items()},
        "main_peak_rss_mib": round(profile["peak_rss_bytes"]["main"] / 2**20, 1),
    }


def median_run(runs: list[dict]) -> dict:
    """The run of median wall time (the lower middle one of an even count)."""
    return sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2]


def predicted_scaling(base: dict, run: dict, *, same_work: bool = False) -> float:
    """Scaling the CPU figures predict on `run['workers']` free cores (module docstring).

    `same_work`: count the 1-worker run's work for both, so that only the serial part (worker
    start-up and exit, main process) decides; the work per sample of N workers sharing a machine's
    caches and memory is often a little higher, and on a loaded machine it varies from run to run.
    """
    def serial(r: dict) -> float:
        return r["cpu_s"]["worker_startup_per_worker"] + r["cpu_s"]["worker_exit_per_worker"]

    work = base["cpu_s"]["work_total"] if same_work else run["cpu_s"]["work_total"]
    one = serial(base) + base["cpu_s"]["work_total"]
    many = serial(run) + (work + run["cpu_s"]["main"]) / run["workers"]
    return round(one / many, 3)


def _table(title: str, header: list[str], rows: list[list]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    print(f"\n{title}")
    for row in (header, *rows):
        print("  ".join(f"{cell!s:>{width}}" for cell, width in zip(row, widths)))


def print_tables(result: dict) -> None:
    runs = result["runs"]
    print(f"load average at start: {result['load_average']}  (wall-clock figures depend on it; CPU figures do not)")
    _table("throughput (median of the rounds; scaling = median images/s over the 1-worker median)",
           ["workers", "samples", "wall s (median)", "every round", "images/s", "scaling"],
           [[r["workers"], r["samples"], r["wall_s"], " ".join(str(w) for w in result["rounds_wall_s"][str(r["workers"])]),
             r["images_per_s"], result.get("scaling", {}).get(str(r["workers"]), "")] for r in runs])
    _table("timeline (wall s from the start of run_prep)",
           ["workers", "set-up", "start-up", "1st task", "busy per worker", "last task", "end"],
           [[r["workers"], r["timeline"]["setup_s"], r["timeline"]["worker_startup_s"], r["timeline"]["first_task_s"],
             "/".join(f"{b:.1f}" for b in r["timeline"]["worker_busy_s"]), r["timeline"]["last_task_end_s"],
             r["timeline"]["end_s"]] for r in runs])
    _table("CPU s (load-independent)",
           ["workers", "main", "start-up/worker", "work/sample", "exit/worker", "predicted scaling",
            "same work/sample"],
           [[r["workers"], r["cpu_s"]["main"], r["cpu_s"]["worker_startup_per_worker"], r["cpu_s"]["work_per_sample"],
             r["cpu_s"]["worker_exit_per_worker"], result.get("predicted_scaling", {}).get(str(r["workers"]), ""),
             result.get("predicted_scaling_same_work", {}).get(str(r["workers"]), "")] for r in runs])
    stages = sorted({stage for r in runs for stage in r["stage_mean_s"]})
    _table("per stage, mean wall s per sample (from prep-profile.json)", ["stage", *[f"{r['workers']} worker(s)" for r in runs]],
           [[stage, *[r["stage_mean_s"].get(stage, "") for r in runs]] for stage in stages])
    print(f"\nmodels loaded per worker: at most {result['max_model_loads_per_worker']} per model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=16, help="person photos to process")
    parser.add_argument("--cloths", type=int, default=16, help="garment shots to process")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of all worker counts; the tables show each count's median-wall run")
    args = parser.parse_args()
    result: dict = {"load_average": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="vtonkit-prep-bench-") as tmp:
        root = Path(tmp)
        person_dir, cloth_dir = _inputs(args.shared, args.persons, args.cloths, root)
        rounds = []
        for index in range(args.repeat):  # interleaved, so that a slow spell of the machine hits both counts
            rounds.append([run_once(person_dir, cloth_dir, n, root / f"ds{index}-{n}") for n in args.workers])
    result["rounds_wall_s"] = {str(n): [r[i]["wall_s"] for r in rounds] for i, n in enumerate(args.workers)}
    runs = [median_run([r[i] for r in rounds]) for i in range(len(args.workers))]
    result["runs"] = runs
    base = next((r for r in runs if r["workers"] == 1), None)
    if base:
        result["scaling"] = {str(r["workers"]): round(r["images_per_s"] / base["images_per_s"], 3) for r in runs}
        result["predicted_scaling"] = {str(r["workers"]): predicted_scaling(base, r) for r in runs}
        result["predicted_scaling_same_work"] = {str(r["workers"]): predicted_scaling(base, r, same_work=True)
                                                 for r in runs}
    result["max_model_loads_per_worker"] = max(n for r in runs for loads in r["model_loads_per_worker"].values()
                                               for n in loads.values())
    print_tables(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
