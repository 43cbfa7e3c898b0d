"""A host's own pace: robots.txt Crawl-delay, and Retry-After pausing the whole host.

A shop on 127.0.0.1 that stamps every request it receives, and the real `vtonkit crawl`. The
assertions are lower bounds on the gaps between requests the shop saw: a loaded machine only
widens them.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable

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


Refusal = Callable[[str, float], "str | None"]  # (path, seconds since the first product request) -> Retry-After


def first_product_refused(retry_after: str) -> Refusal:
    """The first product page asked for is answered 503 with `retry_after`."""
    refused: list[str] = []

    def refuse(path: str, since_first: float) -> str | None:
        if path.startswith("/products/") and not refused:
            refused.append(path)
            return retry_after
        return None
    return refuse


def products_refused_for(seconds: float, retry_after: str) -> Refusal:
    """Every product page is answered 503 with `retry_after` for `seconds` after the first one."""
    return lambda path, since_first: retry_after if path.startswith("/products/") and since_first < seconds else None


class _StampingHandler(_Handler):
    """Records (monotonic time, path, status) of every request; product pages the shop's `refusal`
    names are answered 503 with its ``Retry-After``."""

    def do_GET(self) -> None:
        server = self.server
        with server.stamp_lock:
            now = time.monotonic()
            if self.path.startswith("/products/") and server.first_product is None:
                server.first_product = now
            retry_after = server.refusal(self.path, now - (server.first_product or now)) if server.refusal else None
            server.stamps.append((now, self.path, 503 if retry_after is not None else 200))
        if retry_after is not None:
            self.server.log(self.path, self.headers.get("User-Agent", ""))
            self.send_response(503)
            self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


def _shop(robots: bytes, refusal: Refusal | None = None) -> FixtureShop:
    shop = FixtureShop(lambda base: routes(robots))
    shop.RequestHandlerClass = _StampingHandler
    shop.stamps, shop.stamp_lock, shop.refusal, shop.first_product = [], threading.Lock(), refusal, None
    return shop


def _crawl(tmp_path, robots: bytes, refusal: Refusal | None = None, *options: str) -> tuple[list, dict, list[str]]:
    shop = _shop(robots, refusal)
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
    stamps, summary, skus = _crawl(tmp_path, b"User-agent: *\nCrawl-delay: 0.6\n", None, "--no-throttle")
    assert sorted(skus) == HANDLES
    pages = [t for t, path, _ in stamps if path != "/robots.txt"]
    gaps = [later - earlier for earlier, later in zip(pages, pages[1:])]
    # turns are claimed 0.6 s apart; the requests reach the shop within the event loop's jitter of that
    assert len(pages) >= 6 and min(gaps) >= 0.5, gaps
    assert any("asks for Crawl-delay: 0.6 s: one request every 0.6 s" in note for note in summary["notes"])


VIEWS = [f"/shop/?orderby=o{n}" for n in range(20)]


def listing_with_views(robots: bytes) -> Routes:
    """The home page links the listing and 20 sorted views of it; only the listing's answer (and the
    views') links the products, so the product links reach the host's queue behind the views."""
    shop = routes(robots)
    products = "".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES)
    shop["/"] = html("<a href='/shop/'>shop</a>" + "".join(f"<a href='{v}'>sort {n}</a>" for n, v in enumerate(VIEWS)))
    shop["/shop/"] = html(products)
    for view in VIEWS:
        shop[view] = html(products)
    return shop


def test_product_links_take_their_turn_before_the_views_already_waiting(tmp_path):
    """Up to CONCURRENT_REQUESTS requests wait for a host's turn under its Crawl-delay; they went in
    arrival order, so the products the listing linked came after every sorted view queued before."""
    shop = FixtureShop(lambda base: listing_with_views(b"User-agent: *\nCrawl-delay: 0.15\n"))
    shop.RequestHandlerClass = _StampingHandler
    shop.stamps, shop.stamp_lock, shop.refusal, shop.first_product = [], threading.Lock(), None, None
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url,
                              "--render", "never", "--no-throttle"],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    order = [path for _, path, _ in shop.stamps]
    last_product = max(i for i, path in enumerate(order) if path.startswith("/products/"))
    views_before = [path for path in order[:last_product] if path in VIEWS]
    assert sum(path in VIEWS for path in order) >= 10, order  # the views were fetched, after the products
    # the listing's answer may reach the spider after a view or two took their turns
    assert len(views_before) <= 4, order


def test_retry_after_pauses_the_whole_host(tmp_path):
    """A 503 with `Retry-After: 2` delayed the retry of its own page only; the host's other pages
    went on every half second (and drew 503s too). Now nothing reaches the host for those two
    seconds. With the default politeness (one request at a time, about 0.5 s apart), so that no
    other page is already on its way when the 503 arrives."""
    stamps, _, skus = _crawl(tmp_path, b"User-agent: *\nAllow: /\n", first_product_refused("2"))
    assert sorted(skus) == HANDLES  # the refused page was retried
    refused = next(t for t, path, _ in stamps if path.startswith("/products/"))
    during = [path for t, path, _ in stamps if refused < t < refused + 1.9]
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


def test_a_pause_under_a_crawl_delay_is_the_pause_asked_then_the_delay_again(tmp_path):
    """Under `Crawl-delay`, a 503 asking for 2 s held the host for every turn the waiting requests had
    booked ahead (34 s for 1 s asked, with 16 pages), then sent them in a burst, 0.0-0.7 s apart."""
    stamps, _, skus = _crawl(tmp_path, b"User-agent: *\nCrawl-delay: 1\n", first_product_refused("2"), "--no-throttle")
    assert sorted(skus) == HANDLES
    pages = [(t, status) for t, path, status in stamps if path != "/robots.txt"]
    refused_at = next(t for t, status in pages if status == 503)
    after = [t for t, _ in pages if t > refused_at]
    assert 1.9 <= after[0] - refused_at <= 4.5, after[0] - refused_at
    gaps = [later - earlier for earlier, later in zip(after, after[1:])]
    assert min(gaps) >= 0.9, gaps


def test_a_retry_after_of_zero_or_in_the_past_keeps_the_backoff(tmp_path):
    """`Retry-After: 0`, or a date in the past (a skewed clock), turned the backoff off: the retries
    went at once into the same 503s and every page was lost, where no header at all kept them."""
    # --no-throttle: backoff from 0.1 s (0.1, 0.2, 0.4 s for the three retries) outlasts a 0.25 s storm;
    # without it the four tries of each page came within milliseconds
    stamps, _, skus = _crawl(tmp_path, b"User-agent: *\nAllow: /\n",
                             products_refused_for(0.25, "Thu, 01 Jan 2015 00:00:00 GMT"), "--no-throttle")
    assert sorted(skus) == HANDLES
    assert any(status == 503 for _, _, status in stamps)


def _interrupted(tmp_path, robots: bytes, refusal: Refusal | None, *options: str, after: Callable[[list], bool]):
    """Crawl the shop, send SIGINT once `after(stamps)` holds; (stamps, SIGINT time, seconds to exit)."""
    shop = _shop(robots, refusal)
    crawl = subprocess.Popen([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render",
                              "never", *options], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not after(list(shop.stamps)) and time.monotonic() < deadline:
            time.sleep(0.1)
        sent = time.monotonic()
        crawl.send_signal(signal.SIGINT)
        crawl.wait(timeout=90)
        return list(shop.stamps), sent, time.monotonic() - sent
    finally:
        if crawl.poll() is None:
            crawl.kill()
        shop.stop()


def test_ctrl_c_during_a_pause_sends_nothing_to_the_paused_host(tmp_path):
    """Ctrl-C during a Retry-After pause released what the host's download slot held: 15 pages went
    to the host that had asked for 120 s of quiet, within seconds."""
    stamps, _, seconds = _interrupted(
        tmp_path, b"User-agent: *\nAllow: /\n", first_product_refused("60"),
        after=lambda stamps: any(status == 503 for *_, status in stamps) and time.sleep(1.5) is None)
    refused_at = next(t for t, _, status in stamps if status == 503)
    assert [path for t, path, _ in stamps if t > refused_at] == []
    assert seconds < 30


def test_max_time_stops_a_crawl_under_a_crawl_delay(tmp_path):
    """--max-time closed the spider, but requests waiting out a `Crawl-delay: 10` went on, one every
    10 s, for a minute (an hour's delay: 7 minutes)."""
    shop = _shop(b"User-agent: *\nCrawl-delay: 10\n")
    started = time.monotonic()
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render",
                              "never", "--no-throttle", "--max-time", "4"],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    took = time.monotonic() - started
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["finish_reason"] == "max-time", run.stdout[-2000:] + run.stderr[-2000:]
    late = [path for t, path, _ in shop.stamps if t > started + 4 + 2.5]  # the budget, and a turn to notice it
    assert late == [] and took < 30, (late, took)


def _force_stopped(shop: FixtureShop, out, option: str, ready: Callable[[list], bool], settle: float) -> dict:
    """The summary of a crawl of `shop` stopped by two Ctrl-C once `ready(stamps)`, `settle` s later."""
    crawl = subprocess.Popen([*VTONKIT, "crawl", "generic", "--out", str(out), "--url", shop.url, "--render", "never",
                              option], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not ready(shop.stamps) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(settle)
        crawl.send_signal(signal.SIGINT)
        time.sleep(0.2)
        crawl.send_signal(signal.SIGINT)
        crawl.wait(timeout=60)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        shop.stop()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    if summary["finish_reason"] == "shutdown":
        raise FirstStopFinished(out)
    assert summary["finish_reason"] == "forced-stop"
    return summary


class FirstStopFinished(AssertionError):
    """The first Ctrl-C's clean stop ended before the second Ctrl-C arrived: no forced stop to test."""


def test_a_second_ctrl_c_still_leaves_a_summary_and_a_job_to_start_over(tmp_path):
    """A second Ctrl-C stops Scrapy without closing the spider: no summary.json was written, and the
    job was left looking cleanly closed although its queue was never saved."""
    # The first stop takes up to a second (the home page waits out its turn in one-second steps), so
    # the second Ctrl-C, 0.2 s later, usually lands while it runs; when the first stop wins that
    # race (a loaded machine: it finished cleanly), the scenario is tried again.
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        try:
            _force_stopped(_shop(b"User-agent: *\nCrawl-delay: 30\n"), out, "--resume",
                           lambda stamps: any(path == "/robots.txt" for _, path, _ in stamps), settle=1)
            break
        except FirstStopFinished:
            continue
    assert (out / ".job" / "vtonkit-running").read_text(encoding="utf-8") == "killed"


def _slow_handler(prefix: str, seconds: float) -> type[_StampingHandler]:
    """A stamping handler that answers the paths under `prefix` after `seconds` (a slow store)."""

    class _Slow(_StampingHandler):
        def do_GET(self) -> None:
            if not self.path.startswith(prefix):
                super().do_GET()
                return
            with self.server.stamp_lock:
                self.server.stamps.append((time.monotonic(), self.path, 200))
            time.sleep(seconds)
            with contextlib.suppress(OSError):  # the crawl may be gone by then
                _Handler.do_GET(self)

    return _Slow


def test_ctrl_c_sends_no_request_still_queued_behind_the_download_delay(tmp_path):
    """No Crawl-delay, a slow store: Ctrl-C went on sending every product page queued behind Scrapy's
    own download delay, one after another, and said nothing on the terminal. The queued requests are
    dropped at once now, the ones in flight finish, and the command says it is stopping."""
    handles = [f"item-{n}" for n in range(12)]

    def slow_routes(base: str) -> Routes:
        shop: Routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                        "/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in handles))}
        for n, handle in enumerate(handles):
            offer = {"@type": "Offer", "price": 20 + n, "priceCurrency": "EUR"}
            shop[f"/products/{handle}"] = html(f"<h1>{handle}</h1>", head=product_ld(handle, f"/img/{n}.jpg", offer,
                                                                                     sku=handle))
        return shop

    shop = FixtureShop(slow_routes)
    shop.RequestHandlerClass = _slow_handler("/products/", 2)
    shop.stamps, shop.stamp_lock, shop.refusal, shop.first_product = [], threading.Lock(), None, None
    out = tmp_path / "out"
    try:
        crawl = subprocess.Popen([*VTONKIT, "crawl", "generic", "--out", str(out), "--url", shop.url, "--render",
                                  "never", "--resume"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, env={**__import__("os").environ, "COLUMNS": "200"},
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while not any(path.startswith("/products/") for _, path, _ in shop.stamps) and time.monotonic() < deadline:
            time.sleep(0.1)
        interrupted = time.monotonic()
        crawl.send_signal(signal.SIGINT)
        said = " ".join(crawl.communicate(timeout=90)[1].split())
    finally:
        if crawl.poll() is None:
            crawl.kill()
        shop.stop()
    after = [path for stamp, path, _ in shop.stamps if stamp > interrupted + 0.5 and path.startswith("/products/")]
    assert len(after) <= 1, after  # before: the rest of the 12, one per delay
    assert "stopping (interrupted): no new request is sent" in said, said[-2000:]
    assert (out / ".job" / "vtonkit-running").read_text(encoding="utf-8") == "dropped-waiting"


def test_a_forced_stop_counts_only_the_products_written(tmp_path):
    """After a second Ctrl-C the summary counted 5 products while products.jsonl held none: they
    were counted when found, and those waiting for their images are never written."""
    shop = _shop(b"User-agent: *\nAllow: /\n")
    shop.RequestHandlerClass = _slow_handler("/img/", 20)  # products wait for their images
    out = tmp_path / "out"
    summary = _force_stopped(shop, out, "--no-throttle",
                             lambda stamps: sum(path.startswith("/img/") for _, path, _ in stamps) >= 2, settle=0)
    written = (out / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert summary["products_total"] == len(written), (summary["products_total"], len(written))


def test_a_resume_fetches_the_images_ctrl_c_dropped(tmp_path):
    """Ctrl-C drops the images waiting out a `Crawl-delay`, and their products are written without
    them; --resume skipped those products as found before, so their images never came."""
    from tests.test_crawlers_budget import PHOTOS, photo_shop

    shop = FixtureShop(lambda base: photo_shop(b"User-agent: *\nCrawl-delay: 1.5\n"))
    out = tmp_path / "out"
    command = [*VTONKIT, "crawl", "generic", "--out", str(out), "--url", shop.url, "--render", "never", "--resume"]
    try:
        crawl = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while not any(p.startswith("/products/") for p in shop.paths) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the product is parsed; its image waits for the host's next turn
        crawl.send_signal(signal.SIGINT)
        crawl.wait(timeout=60)
        first = [json.loads(line) for line in (out / "products.jsonl").read_text(encoding="utf-8").splitlines()]
        assert any(image["status"] == "failed" for product in first for image in product["images"]), first
        shop.routes["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
        run = subprocess.run([*command, "--no-throttle"], capture_output=True, text=True, cwd=REPO, timeout=300,
                             check=False)
    finally:
        if crawl.poll() is None:
            crawl.kill()
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    products = [json.loads(line) for line in (out / "products.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(p["sku"] for p in products) == [f"item-{n}" for n in range(len(PHOTOS))]  # one record each
    assert all(image["status"] == "kept" for product in products for image in product["images"]), products
    catalog = (out / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(catalog) == len(PHOTOS)
