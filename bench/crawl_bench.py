"""Crawl throughput on loopback: pages/s and images/s against the demo store, throttling off.

Serves the demo store with its shop section repeated ``--copies`` times, then runs two crawls,
each in its own process (the Twisted reactor starts once per process):

* ``pages``: the ``demo`` spider without the image pipeline (fetch + extraction only);
* ``full``: the same crawl with images downloaded, checked, hashed, analysed (garment shot vs
  on-model, MediaPipe) and deduplicated, and the catalog written;
* ``full-skin``: ``full`` with the faster skin rule instead of MediaPipe
  (``VTONKIT_PERSON_DETECTOR=skin``).

The JavaScript section is left out (``-a browser=0``) so that Chromium's start-up does not
dominate a small crawl. Usage::

    .venv/bin/python bench/crawl_bench.py --copies 10
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ("pages", "full", "full-skin")


def worker(mode: str, url: str, out: str) -> None:
    """Run one crawl in this process and print its summary as JSON."""
    from vtonkit.crawlers.runner import run_crawl

    extra = {"LOG_LEVEL": "WARNING"}
    if mode == "pages":
        extra["ITEM_PIPELINES"] = {}
    if mode == "full-skin":
        extra["VTONKIT_PERSON_DETECTOR"] = "skin"
    started = time.perf_counter()
    summary = run_crawl(
        "demo", Path(out), url=url, no_throttle=True, extra_settings=extra, spider_args={"browser": "0"}
    )
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    print("BENCH " + json.dumps(summary))


def run_mode(mode: str, url: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [sys.executable, __file__, "--worker", mode, "--url", url, "--out", out],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=1800,
        )
    line = next((text for text in run.stdout.splitlines() if text.startswith("BENCH ")), None)
    if run.returncode != 0 or line is None:
        raise SystemExit(f"{mode} crawl failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return json.loads(line[len("BENCH ") :])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=10, help="repeat the shop section this many times")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, args.out)
        return

    from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn

    prerender_drawn()
    server = DemoStoreServer(copies=args.copies).start_background()
    try:
        results = {mode: run_mode(mode, server.url) for mode in MODES}
    finally:
        server.stop()
    rows = []
    for mode, summary in results.items():
        seconds = summary["seconds"]
        images = sum(summary.get("image_status", {}).values())
        rows.append(
            {
                "mode": mode,
                "products": summary["products_total"],
                "pages": summary["responses"],
                "images": images,
                "seconds": seconds,
                "pages_per_s": round(summary["responses"] / seconds, 1),
                "images_per_s": round(images / seconds, 1) if images else None,
            }
        )
    print(f"demo store x{args.copies} on 127.0.0.1, throttling off, JavaScript section skipped")
    print("| crawl | products | responses | images | seconds | pages/s | images/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['products']} | {r['pages']} | {r['images']} | {r['seconds']} | {r['pages_per_s']} | "
            f"{r['images_per_s'] if r['images_per_s'] is not None else '-'} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
