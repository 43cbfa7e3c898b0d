"""robots.txt that cannot be read: a shop on 127.0.0.1 and the real `vtonkit crawl` (RFC 9309 2.3.1).

Scrapy's own middleware read a 503 page as the rules (none: everything allowed) and allowed every
page of a host whose robots.txt download failed. Nothing is mocked: the shop answers real HTTP
errors and really drops the connection.
"""

from __future__ import annotations

import pytest

import json
import os
import subprocess
import time

from tests.fixture_shops import FixtureShop, Page, Routes, _Handler, html, product_ld
from tests.test_crawlers_render import REPO, VTONKIT
from tests.test_crawlers_whole_store import _moved_shop

pytestmark = pytest.mark.slow

HANDLES = ["linen-shirt", "midi-skirt"]
PRIVATE = "/private/sale-list"  # what the robots.txt of the shop forbids, when it can be read
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def shop_routes(robots: Page | None) -> Routes:
    routes: Routes = {"/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES)
                                + f"<a href='{PRIVATE}'>private</a>"),
                      PRIVATE: html("<h1>Private</h1>")}
    if robots is not None:
        routes["/robots.txt"] = robots
    for n, handle in enumerate(HANDLES):
        offer = {"@type": "Offer", "price": 30 + n, "priceCurrency": "EUR"}
        routes[f"/products/{handle}"] = html(f"<h1>{handle}</h1>", head=product_ld(handle, f"/img/{n}.jpg", offer, sku=handle))
    return routes


class _DroppingRobotsHandler(_Handler):
    """Closes the connection without an answer when asked for robots.txt."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.server.log(self.path, self.headers.get("User-Agent", ""))
            self.close_connection = True
            return
        super().do_GET()


def _crawl_robots(tmp_path, robots: Page | None, handler: type[_Handler] = _Handler):
    shop = FixtureShop(lambda base: shop_routes(robots))
    shop.RequestHandlerClass = handler
    try:  # a crawl that finds nothing exits 1: the exit code is part of what each test asserts
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url,
                              "--no-throttle", "--render", "never"],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    lines = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    return shop.paths, summary, [json.loads(line) for line in lines], run


@pytest.mark.parametrize("robots, handler, why", [
    (Page(b"<h1>Service unavailable</h1>", status=503), _Handler, "HTTP 503"),
    (Page(b"<h1>Too many requests</h1>", status=429), _Handler, "HTTP 429"),
    (None, _DroppingRobotsHandler, "DownloadFailedError: Connection was closed cleanly"),
], ids=["503", "429", "connection-dropped"])
def test_an_unreachable_robots_txt_disallows_the_host(tmp_path, robots, handler, why):
    """Before, the 503 and 429 pages were parsed as rules (none) and a dropped connection allowed
    everything: /private/ was fetched. Now nothing but robots.txt is fetched, and the notes say why."""
    paths, summary, products, run = _crawl_robots(tmp_path, robots, handler)
    assert set(paths) == {"/robots.txt"}, paths
    assert products == [] and run.returncode == 1
    (note,) = [n for n in summary["notes"] if n.startswith("robots.txt of ")]
    host = run.args[run.args.index("--url") + 1].removeprefix("http://")
    assert f"robots.txt of {host} could not be read ({why}" in note and "disallows everything" in note
    assert "could not be read" in run.stdout + run.stderr
    assert summary["skipped"]["robots.txt"] >= 1


@pytest.mark.parametrize("robots", [None, Page(b"<h1>Forbidden</h1>", status=403)], ids=["404", "403"])
def test_a_missing_robots_txt_allows_everything(tmp_path, robots):
    """4xx means there are no rules (RFC 9309): the store is crawled, nothing noted."""
    paths, summary, products, run = _crawl_robots(tmp_path, robots)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p["sku"] for p in products) == HANDLES
    assert PRIVATE in paths
    assert not [n for n in summary["notes"] if n.startswith("robots.txt of ")]


def test_readable_robots_txt_rules_hold(tmp_path):
    paths, summary, products, run = _crawl_robots(tmp_path, Page(ROBOTS, "text/plain"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p["sku"] for p in products) == HANDLES
    assert PRIVATE not in paths
    assert summary["skipped"]["robots.txt"] == 1


def test_robots_txt_of_the_host_a_store_redirects_to_holds(tmp_path):
    """The store's address redirects to another host (localhost -> 127.0.0.1 here, shop.example ->
    www.shop.example in life): the rules of the host it lands on hold. (A guard: the new rule that
    an unreachable robots.txt disallows its host made the offsite filter's refusal of a robots.txt
    fetch fatal; the shopify spider's crawl of such a store found nothing until the fetch passed.)"""
    shop, old_url = _moved_shop(lambda base: shop_routes(Page(ROBOTS, "text/plain")))
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", old_url,
                              "--no-throttle", "--render", "never"],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    products = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["sku"] for line in products) == HANDLES
    assert "/robots.txt" in shop.paths and PRIVATE not in shop.paths
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert not [n for n in summary["notes"] if n.startswith("robots.txt of ")]


class _SlowRobotsHandler(_Handler):
    """Answers robots.txt after half a second: every start page waits on it at once."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            time.sleep(0.5)
        super().do_GET()


def test_every_request_waiting_on_robots_txt_gets_its_rules(tmp_path):
    """Scrapy 2.19 handed the parser to the first request waiting on a host's robots.txt and None,
    which allows everything, to the others: a resumed crawl (its restored requests all wait at once)
    fetched 13 disallowed pages. Five start pages wait here; the four under /private/ stay unfetched."""
    private = [f"/private/p{n}" for n in range(4)]
    stores = tmp_path / "stores"
    stores.mkdir()
    shop = FixtureShop(lambda base: {**shop_routes(Page(ROBOTS, "text/plain")),
                                     **{path: html("<h1>Private</h1>") for path in private}})
    shop.RequestHandlerClass = _SlowRobotsHandler
    (stores / "waiting.toml").write_text(
        f'name = "robots-waiting"\nbase_url = "{shop.url}"\nstart_paths = {json.dumps(["/", *private])}\n',
        encoding="utf-8")
    try:
        run = subprocess.run([*VTONKIT, "crawl", "robots-waiting", "--out", str(tmp_path / "out"), "--no-throttle",
                              "--render", "never"], capture_output=True, text=True, cwd=REPO, timeout=300,
                             check=False, env={**os.environ, "VTONKIT_STORES": str(stores)})
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not [p for p in shop.paths if p.startswith("/private/")], shop.paths
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["skipped"]["robots.txt"] >= 4
