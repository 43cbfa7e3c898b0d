"""Screenshots of the review app and the static report for the docs.

    .venv/bin/python bench/screenshots.py                      # from ../shared/data/vitonhd
    .venv/bin/python bench/screenshots.py --dataset DEMO_DATASET  # e.g. the demo dataset

Without --dataset, a throw-away dataset is built in a temporary folder from the VITON-HD sample
files with two defects injected (swapped arm labels, a missing cloth mask) so the flags show.
A given --dataset is used read-only except for its `.vtonkit/` state (report, decisions).
Needs Debian chromium (`make system-deps`). Writes docs/review-app.png and docs/review-report.png
(each kept under 600 KB by palette quantisation when needed).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image
from vtonkit.crawlers.browser import LAUNCH_ARGS, wait_until_true

REPO = Path(__file__).resolve().parents[1]
MAX_BYTES = 600_000


def build_demo(source: Path, target: Path) -> Path:
    """Copy the samples and inject two defects so the screenshots show flags."""
    from vtonkit.datasets.sample_copy import copy_dataset, inject_review_defects

    return inject_review_defects(copy_dataset(source, target))


def save_png(png: bytes, out: Path) -> None:
    """Write a screenshot, quantised to a palette if it would exceed MAX_BYTES."""
    if len(png) > MAX_BYTES:
        image = (
            Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        png = buffer.getvalue()
    out.write_bytes(png)
    print(f"{out}: {len(png) / 1000:.0f} KB")


def serve(dataset: Path):
    import uvicorn
    from vtonkit.datasets.review.app import create_app
    from vtonkit.datasets.summary import load_or_run_report

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(dataset, load_or_run_report(dataset)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, help="existing dataset to photograph (default: build one)")
    parser.add_argument(
        "--samples",
        type=Path,
        default=REPO.parent / "shared/data/vitonhd",
        help="VITON-HD sample folder to build the throw-away dataset from",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--chromium", default=os.environ.get("VTONKIT_CHROMIUM") or shutil.which("chromium"))
    args = parser.parse_args()
    if not args.chromium:
        raise SystemExit("needs Debian chromium: apt-get install chromium (or set VTONKIT_CHROMIUM)")
    from playwright.sync_api import sync_playwright
    from vtonkit.datasets.review.static_report import write_static_report
    from vtonkit.datasets.summary import load_or_run_report

    with tempfile.TemporaryDirectory() as tmp:
        dataset = args.dataset or build_demo(args.samples, Path(tmp) / "vitonhd-demo")
        server, base = serve(dataset)
        report_html = Path(tmp) / "report.html"
        write_static_report(dataset, load_or_run_report(dataset), report_html)
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=list(LAUNCH_ARGS))
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            # The throw-away dataset has flags to show; a clean one (the demo's) shows all samples.
            page.goto(base + ("/" if args.dataset else "/?flag=any"))
            page.wait_for_selector("body[data-ready='1']")
            wait_until_true(page, "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            if not args.dataset:  # show a decision and a note being recorded (throw-away dataset only)
                page.keyboard.press("r")  # the first card: the swapped-arms sample
                page.wait_for_selector("section.card.current .badge.reject")
                page.keyboard.press("n")
                page.keyboard.type("arm labels swapped: re-parse")
                page.keyboard.press("Enter")
                page.wait_for_selector("section.card.current .note")
            save_png(page.screenshot(), args.out / "review-app.png")
            page.goto(report_html.as_uri())
            wait_until_true(page, "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            save_png(page.screenshot(), args.out / "review-report.png")
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main()
