"""How much one `prep` worker slows down when the machine's other core is busy: the ceiling of 1 -> 2 worker scaling.

`bench/prep_bench.py` measures the scaling itself; this bench separates its two limits:

* the fixed cost F a worker pays once (start-up and the first photo's model set-up), and
* the slowdown r of the steady per-photo work when a second worker runs on the other core
  (shared caches, memory, and whatever the host shares between the two virtual CPUs).

Each round runs the whole person chain (`prep-person`'s chain, embedded defaults, no writing) on the
same photos in child processes pinned to one core each, interleaved:

* **alone**: one child on the first core this process may use, the second one idle;
* **beside a worker**: two children at once, one on each (what two `prep` workers do);
* **beside a spin loop**: one child on the first core and a pure-Python loop on the second (touches almost no
  memory: what is left is what the host shares between the two virtual CPUs).

It prints the median per-photo wall and CPU seconds of each setting, r, and the scaling the two
limits allow for n photos per worker count: (F + n W) / (F + r n W / 2), with W the alone per-photo
time; r alone caps it at 2 / r whatever F is.

Usage (needs 2 cores and ../shared):
    python bench/core_contention.py [--photos 16] [--rounds 3] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def child(core: int, photos: list[str]) -> dict:
    """Runs in a child process: pin, build the backends, time the first photo, then the rest."""
    os.sched_setaffinity(0, {core})
    started_cpu, started = time.process_time(), time.perf_counter()
    from vtonkit.preprocess.engines import limit_threads

    limit_threads()
    from vtonkit.preprocess.person import PersonBackends, process_person

    backends = PersonBackends.build()
    built = time.perf_counter()
    process_person(photos[0], backends, category="upper", keep=True)  # pays the graphs' set-up
    first = time.perf_counter()
    steady_cpu, steady = time.process_time(), time.perf_counter()
    for photo in photos:
        process_person(photo, backends, category="upper", keep=True)
    done = time.perf_counter()
    return {"build_s": built - started, "first_photo_s": first - built,
            "fixed_cpu_s": steady_cpu - started_cpu,
            "per_photo_s": (done - steady) / len(photos),
            "per_photo_cpu_s": (time.process_time() - steady_cpu) / len(photos)}


def _spawn(core: int, photos: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, __file__, "--child", str(core), *photos], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench child failed with exit status {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def _spin(core: int, seconds: float) -> subprocess.Popen:
    code = ("import os,time\nos.sched_setaffinity(0,{%d})\nend=time.time()+%f\nn=0\n"
            "while time.time()<end: n+=1\n" % (core, seconds))
    return subprocess.Popen([sys.executable, "-c", code])


def round_once(photos: list[str], cores: tuple[int, int], spin_seconds: float) -> dict[str, list[dict]]:
    first, second = cores
    alone = [_result(_spawn(first, photos))]
    pair = [_spawn(first, photos), _spawn(second, photos)]
    beside_worker = [_result(p) for p in pair]
    spin = _spin(second, spin_seconds)
    beside_spin = [_result(_spawn(first, photos))]
    spin.kill()
    spin.wait()
    return {"alone": alone, "beside a worker": beside_worker, "beside a spin loop": beside_spin}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), sys.argv[3:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=16, help="person photos (the first of ../shared/data/photos/persons)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("core_contention: needs at least 2 cores")
    folder = args.shared / "data" / "photos" / "persons"
    photos = sorted(str(p) for p in folder.iterdir() if p.suffix in (".jpg", ".png"))[:args.photos]
    if not photos:
        sys.exit(f"core_contention: no person photos in {folder}")
    print(f"load average at start: {[round(x, 2) for x in os.getloadavg()]}; {len(photos)} photos, "
          f"{args.rounds} rounds")
    runs: dict[str, list[dict]] = {}
    spin_seconds = 0.0
    for index in range(args.rounds):
        result = round_once(photos, (cores[0], cores[1]), spin_seconds or 30.0)
        # The spin loop should outlast its companion: size it from the first round's alone run.
        spin_seconds = 1.5 * sum(r["build_s"] + r["first_photo_s"] + r["per_photo_s"] * len(photos)
                                 for r in result["alone"])
        for setting, rows in result.items():
            runs.setdefault(setting, []).extend(rows)
        print(f"round {index + 1}: " + ", ".join(
            f"{k} {statistics.median(r['per_photo_s'] for r in v):.3f} s/photo" for k, v in result.items()))

    def median(setting: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[setting])

    work = median("alone", "per_photo_s")
    # F: what a worker pays once, beyond one steady photo (imports, graphs, their first-image set-up).
    fixed = median("alone", "build_s") + median("alone", "first_photo_s") - work
    print("\nsetting              wall s/photo  CPU s/photo  slowdown r  ceiling 2/r")
    rows = {}
    for setting in runs:
        wall, cpu = median(setting, "per_photo_s"), median(setting, "per_photo_cpu_s")
        slowdown = wall / work
        rows[setting] = {"per_photo_s": wall, "per_photo_cpu_s": cpu, "slowdown": slowdown}
        print(f"{setting:20s} {wall:12.3f} {cpu:12.3f} {slowdown:11.3f} {2 / slowdown:12.2f}")
    slowdown = rows["beside a worker"]["slowdown"]
    print(f"\nfixed cost per worker F (imports, backends built, first photo's set-up beyond a steady photo; "
          f"wall, alone): {fixed:.2f} s")
    print("scaling these allow, n person photos per run:")
    for n in (16, 32, 100, 1000):
        allowed = (fixed + n * work) / (fixed + slowdown * n * work / 2)
        print(f"  n = {n:4d}: {allowed:.2f}x   (with r = 1: "
              f"{(fixed + n * work) / (fixed + n * work / 2):.2f}x)")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "summary": rows, "fixed_s": fixed, "work_s": work}, indent=1))
        print(f"written {args.json}")


if __name__ == "__main__":
    main()
