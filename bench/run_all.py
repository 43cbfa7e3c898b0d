"""Run every benchmark in turn (what `make bench` does) and keep their outputs in bench-results/.

Benchmarks are sensitive to other load: run them on a quiet machine. Each script prints its own
table; the README's benchmark section quotes them. Usage: .venv/bin/python bench/run_all.py
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH.parent / "bench-results"

RUNS = [
    ("preprocess", ["preprocess_bench.py", "--json", str(RESULTS / "preprocess.json")]),
    ("prep", ["prep_bench.py", "--json", str(RESULTS / "prep.json")]),
    ("core-contention", ["core_contention.py", "--json", str(RESULTS / "core_contention.json")]),
    ("infer", ["infer_bench.py", "--threads", "2"]),
    ("catalog", ["catalog_bench.py", "--pairs", "32", "--ray-workers", "2"]),
    ("crawl", ["crawl_bench.py"]),
    ("onnx-overhead", ["onnx_backend_overhead.py"]),
]


def main() -> int:
    RESULTS.mkdir(exist_ok=True)
    failed = []
    for name, args in RUNS:
        print(f"\n=== {name}: {' '.join(args)}", flush=True)
        started = time.perf_counter()
        with open(RESULTS / f"{name}.log", "w") as log:
            code = subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:]], stdout=log,
                                  stderr=subprocess.STDOUT).returncode
        print((RESULTS / f"{name}.log").read_text()[-3000:])
        print(f"=== {name}: exit {code} in {time.perf_counter() - started:.0f} s")
        if code:
            failed.append(name)
    print(f"\nlogs in {RESULTS}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
