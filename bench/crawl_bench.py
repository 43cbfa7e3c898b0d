"""Crawl throughput on loopback: pages/s and images/s against the demo store, throttling off.

Serves the demo store with its shop section repeated ``--copies`` times, then runs two crawls,
each in its own process (the Twisted reactor starts once per process):

* ``pages``: the ``demo`` spider without the image pipeline (fetch + extraction only), rendering
  off (``--render never``): pages/s of plain HTTP;
* ``full``: the same crawl with images downloaded, checked, hashed, analysed (garment shot vs
  on-model, MediaPipe) and deduplicated, and the catalog written;
* ``full-skin``: ``full`` with the faster skin rule instead of MediaPipe
  (``VTONKIT_PERSON_DETECTOR=skin``);
* ``rendered``: ``pages`` with ``--render always`` and a budget of ``--render-pages`` pages: the
  seconds per page rendered in Chromium (Chromium's own time per page, from the download
  latencies, and the crawl's wall time over the rendered pages).

Apart from ``rendered`` the JavaScript section is left out (``-a browser=0``) so that
Chromium's start-up does not dominate a small crawl. Usage::

    .venv/bin/python bench/crawl_bench.py --copies 10 --render-pages 20
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
MODES = ("pages", "full", "full-skin", "rendered")


def worker(mode: str, url: str, out: str, render_pages: int) -> None:
    """Run one crawl in this process and print its summary as JSON."""
    from vtonkit.crawlers.runner import run_crawl

    extra = {"LOG_LEVEL": "WARNING"}
    if mode in ("pages", "rendered"):
        extra["ITEM_PIPELINES"] = {}
    spider_args = {"browser": "0"}
    if mode == "rendered":
        extra.update(VTONKIT_RENDER="always", VTONKIT_RENDER_BUDGET=render_pages)
        spider_args = {}
    if mode == "full-skin":
        extra["VTONKIT_PERSON_DETECTOR"] = "skin"
    started = time.perf_counter()
    summary = run_crawl(
        "demo", Path(out), url=url, no_throttle=True, extra_settings=extra, spider_args=spider_args
    )
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    print("BENCH " + json.dumps(summary))


def run_mode(mode: str, url: str, render_pages: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                mode,
                "--url",
                url,
                "--out",
                out,
                "--render-pages",
                str(render_pages),
            ],
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
    parser.add_argument("--render-pages", type=int, default=20, help="pages rendered in the `rendered` crawl")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated subset of {', '.join(MODES)}"
    )
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, args.out, args.render_pages)
        return

    from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn

    prerender_drawn()
    server = DemoStoreServer(copies=args.copies).start_background()
    try:
        modes = [m for m in args.modes.split(",") if m]
        unknown = set(modes) - set(MODES)
        if unknown:
            raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
        results = {mode: run_mode(mode, server.url, args.render_pages) for mode in modes}
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
                "rendered": summary.get("rendered_total", 0),
                "chromium_s_per_rendered_page": (
                    round(summary["render_seconds"] / summary["rendered_total"], 3)
                    if summary.get("rendered_total")
                    else None
                ),
                "wall_s_per_rendered_page": (
                    round(seconds / summary["rendered_total"], 3) if summary.get("rendered_total") else None
                ),
            }
        )
    print(
        f"demo store x{args.copies} on 127.0.0.1, throttling off, JavaScript section skipped except in `rendered`"
    )
    print(
        "| crawl | products | responses | images | seconds | pages/s | images/s | rendered | Chromium s/page | wall s/rendered page |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def cell(value: object) -> str:
        return "-" if value is None else str(value)

    for r in rows:
        print(
            f"| {r['mode']} | {r['products']} | {r['pages']} | {r['images']} | {r['seconds']} | {r['pages_per_s']} | "
            f"{cell(r['images_per_s'])} | {r['rendered']} | {cell(r['chromium_s_per_rendered_page'])} | "
            f"{cell(r['wall_s_per_rendered_page'])} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
