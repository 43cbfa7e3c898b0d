"""Per-stage time of the embedded preprocessing backends at 1024x768 on ONE CPU core.

The process pins itself to one core (`sched_setaffinity`) and sets OMP/MKL/OpenCV/torch to one
thread before anything heavy is imported, so mediapipe's XNNPACK threads share that core too.
Times are medians over the photos (after one warm-up photo; model loading is reported apart).

Usage: .venv/bin/python bench/preprocess_bench.py [--photos DIR_OR_FILES...] [--json out.json]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VTONKIT_SHARED", REPO.parent / "shared"))
GOALS = {"person_total": 1.5, "cloth_mask": 0.1}
CPU = " [cpu]"  # suffix of the CPU-time entries: on a loaded machine wall time includes waiting for the core


def pin_to_one_core() -> None:
    import cv2

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is not needed by the embedded backends
        pass


def default_inputs() -> tuple[list[Path], list[Path]]:
    persons = sorted((SHARED / "data" / "vitonhd" / "test" / "image").glob("*.jpg"))
    persons += sorted((SHARED / "data" / "photos" / "persons").glob("model_*.png"))[:3]
    persons += sorted((SHARED / "data" / "dresscode" / "lower_body" / "images").glob("*_0.jpg"))
    cloths = sorted((SHARED / "data" / "vitonhd" / "test" / "cloth").glob("*.jpg"))
    cloths += sorted((SHARED / "data" / "photos" / "garments").glob("*_1.jpg"))[:5]
    return persons, cloths


def timed(times: dict[str, list[float]], stage: str, function, *args, **kwargs):
    """Record wall time under `stage` and process CPU time under `stage + CPU` (all threads, one core)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    times.setdefault(stage, []).append(time.perf_counter() - start)
    times.setdefault(stage + CPU, []).append(time.process_time() - cpu_start)
    return value


def median_stage_times(paths: list[Path], measure) -> dict[str, float]:
    """Median wall and CPU seconds per stage of `measure(index, path, run)` over `paths`.

    `measure` records its stages with `timed(run, ...)`; the whole call is recorded as "total".
    The first path runs twice: once to warm up (not counted), then as one of the inputs.
    """
    times: dict[str, list[float]] = {}
    for index, path in enumerate([paths[0], *paths]):
        run: dict[str, list[float]] = {}
        total_start, total_cpu = time.perf_counter(), time.process_time()
        measure(index, path, run)
        run["total"] = [time.perf_counter() - total_start]
        run["total" + CPU] = [time.process_time() - total_cpu]
        if index:
            for stage, values in run.items():
                times.setdefault(stage, []).extend(values)
    return {stage: statistics.median(values) for stage, values in times.items()}


def bench_person(paths: list[Path], out: Path) -> tuple[dict[str, float], float]:
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess import person as steps
    from vtonkit.preprocess.normalize import load_person_photo, refocus
    from vtonkit.preprocess.person import PersonBackends, PersonOutputs, write_person_outputs

    start = time.perf_counter()
    backends = PersonBackends.build()
    load_s = time.perf_counter() - start
    split = SplitDir(out)

    def measure(index: int, path: Path, run: dict[str, list[float]]) -> None:
        source = timed(run, "load", load_person_photo, path)
        detection = timed(run, "detect (pose on source)", steps.estimate_pose, backends.pose, steps._shrink(source), path,
                          silhouette_only=True)
        mask = steps._resize_mask(detection.person_mask, source.shape[:2])
        normalized = timed(run, "refocus crop+resize", refocus, source, mask)
        pose = timed(run, "pose", steps.estimate_pose, backends.pose, normalized.image, path, count_people=False)
        parse = timed(run, "parse", steps.human_parse, backends.parser, normalized.image, pose)
        part_ids = timed(run, "densepose", backends.densepose.densepose, normalized.image, pose.keypoints, parse)
        agnostic, _ = timed(run, "agnostic", steps.person_agnostic, normalized.image, parse, pose.keypoints, "upper")
        outputs = PersonOutputs(normalized.image, pose.keypoints, parse, part_ids, agnostic)
        timed(run, "write 8 files", write_person_outputs, split, f"p{index}", outputs)

    return median_stage_times(paths, measure), load_s


def bench_cloth(paths: list[Path], out: Path) -> tuple[dict[str, float], float]:
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess.cloth import masker_input, prepare_cloth, write_cloth_outputs
    from vtonkit.preprocess.stages import CLOTH_MASKERS

    start = time.perf_counter()
    masker = CLOTH_MASKERS.build()
    load_s = time.perf_counter() - start

    def measure(index: int, path: Path, run: dict[str, list[float]]) -> None:
        rgb, alpha = timed(run, "prepare_cloth", prepare_cloth, path)
        mask = timed(run, "cloth_mask", masker.mask, masker_input(rgb, alpha))
        timed(run, "write 2 files", write_cloth_outputs, SplitDir(out), f"c{index}", rgb, mask)

    return median_stage_times(paths, measure), load_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", nargs="*", type=Path, help="person photos (default: shared samples)")
    parser.add_argument("--cloths", nargs="*", type=Path, help="garment shots (default: shared samples)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    persons, cloths = default_inputs()
    persons, cloths = args.persons or persons, args.cloths or cloths
    if not persons or not cloths:
        print(f"no inputs: pass --persons/--cloths or provide {SHARED}/data", file=sys.stderr)
        return 2
    pin_to_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        person_times, person_load = bench_person(persons, Path(tmp) / "p")
        cloth_times, cloth_load = bench_cloth(cloths, Path(tmp) / "c")
    print(f"one core (affinity {sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}), "
          f"{len(persons)} persons, {len(cloths)} garments, median seconds per image")
    print(f"person backends loaded in {person_load:.2f} s; cloth masker in {cloth_load:.2f} s")
    print(f"  {'':8s}{'stage':28s} {'wall s':>7s} {'cpu s':>7s}")
    for kind, times in (("person", person_times), ("cloth", cloth_times)):
        for stage, seconds in times.items():
            if not stage.endswith(CPU):
                print(f"  {kind:8s}{stage:28s} {seconds:7.3f} {times[stage + CPU]:7.3f}")
    print(f"goals: person total <= {GOALS['person_total']} s (wall {person_times['total']:.2f}, "
          f"cpu {person_times['total' + CPU]:.2f}), cloth mask <= {GOALS['cloth_mask']} s "
          f"(wall {cloth_times['cloth_mask']:.3f}, cpu {cloth_times['cloth_mask' + CPU]:.3f})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times include waiting for the core")
    if args.json:
        args.json.write_text(json.dumps({"person": person_times, "cloth": cloth_times, "person_load_s": person_load,
                                         "cloth_load_s": cloth_load, "goals": GOALS,
                                         "persons": [str(p) for p in persons], "cloths": [str(c) for c in cloths]},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
