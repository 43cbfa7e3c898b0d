"""A host's own pace: robots.txt Crawl-delay, and Retry-After pausing the whole host.

A shop on 127.0.0.1 that stamps every request it receives, and the real `vtonkit crawl`. The
assertions are lower bounds on the gaps between requests the shop saw: a loaded machine only
widens them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest

from tests.fixture_shops import FixtureShop, Page, Routes, _Handler, html, product_ld
from tests.test_crawlers_render import REPO, VTONKIT

pytestmark = pytest.mark.slow

HANDLES = [f"item-{n}" for n in range(5)]


def routes(robots: bytes) -> Routes:
    shop: Routes = {"/robots.txt": Page(robots, "text/plain"),
                    "/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES))}
    for n, handle in enumerate(HANDLES):
        offer = {"@type": "Offer", "price": 20 + n, "priceCurrency": "EUR"}
        shop[f"/products/{handle}"] = html(f"<h1>{handle}</h1>", head=product_ld(handle, f"/img/{n}.jpg", offer, sku=handle))
    return shop


class _StampingHandler(_Handler):
    """Records (monotonic time, path) of every request; the first product page asked for is answered
    503 with ``Retry-After`` when the shop has ``retry_after`` set."""

    def do_GET(self) -> None:
        server = self.server
        with server.stamp_lock:
            server.stamps.append((time.monotonic(), self.path))
            refuse = server.retry_after and self.path.startswith("/products/") and not server.refused
            server.refused = server.refused or refuse
        if refuse:
            self.server.log(self.path, self.headers.get("User-Agent", ""))
            self.send_response(503)
            self.send_header("Retry-After", str(server.retry_after))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


def _crawl(tmp_path, robots: bytes, retry_after: int = 0, *options: str) -> tuple[list[tuple[float, str]], dict, list[str]]:
    shop = FixtureShop(lambda base: routes(robots))
    shop.RequestHandlerClass = _StampingHandler
    shop.stamps, shop.stamp_lock, shop.retry_after, shop.refused = [], threading.Lock(), retry_after, False
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url,
                              "--render", "never", *options],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    skus = [json.loads(line)["sku"] for line in (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()]
    return shop.stamps, summary, skus


def test_robots_txt_crawl_delay_spaces_the_requests(tmp_path):
    """`Crawl-delay: 2` was ignored: the pages came 0.4-0.7 s apart (here, with --no-throttle, at once)."""
    stamps, summary, skus = _crawl(tmp_path, b"User-agent: *\nCrawl-delay: 0.6\n", 0, "--no-throttle")
    assert sorted(skus) == HANDLES
    pages = [t for t, path in stamps if path != "/robots.txt"]
    gaps = [later - earlier for earlier, later in zip(pages, pages[1:])]
    assert len(pages) >= 6 and min(gaps) >= 0.55, gaps
    assert any("asks for Crawl-delay: 0.6 s: one request every 0.6 s" in note for note in summary["notes"])


def test_retry_after_pauses_the_whole_host(tmp_path):
    """A 503 with `Retry-After: 2` delayed the retry of its own page only; the host's other pages
    went on every half second (and drew 503s too). Now nothing reaches the host for those two
    seconds. With the default politeness (one request at a time, about 0.5 s apart), so that no
    other page is already on its way when the 503 arrives."""
    stamps, _, skus = _crawl(tmp_path, b"User-agent: *\nAllow: /\n", 2)
    assert sorted(skus) == HANDLES  # the refused page was retried
    refused = next(t for t, path in stamps if path.startswith("/products/"))
    during = [path for t, path in stamps if refused < t < refused + 1.9]
    assert during == [], during


def test_ctrl_c_does_not_wait_out_the_crawl_delay(tmp_path):
    """With `Crawl-delay: 30`, Ctrl-C took six minutes: shutdown waited for every request queued for
    its turn. They are dropped now (a --resume job is marked to start over, keeping its products)."""
    shop = FixtureShop(lambda base: routes(b"User-agent: *\nCrawl-delay: 30\n"))
    out = tmp_path / "out"
    try:
        crawl = subprocess.Popen([*VTONKIT, "crawl", "generic", "--out", str(out), "--url", shop.url, "--render",
                                  "never", "--resume"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while "/" not in shop.paths and time.monotonic() < deadline:  # the home page is fetched: links queue
            time.sleep(0.2)
        time.sleep(2)
        crawl.send_signal(signal.SIGINT)
        crawl.wait(timeout=60)  # before: about 30 s per queued product page
    finally:
        if crawl.poll() is None:
            crawl.kill()
        shop.stop()
    assert (out / ".job" / "vtonkit-running").read_text(encoding="utf-8") == "dropped-waiting"
    assert len([p for p in shop.paths if p.startswith("/products/")]) <= 1
