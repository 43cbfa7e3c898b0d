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
from tests.test_crawlers_whole_store import _moved_shop, _MovedHandler

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


def _run_crawl(shop: FixtureShop, out, *options: str, store: str = "generic", url: str | None = None,
               env: dict[str, str] | None = None):
    """(the finished `vtonkit crawl` process, summary, product records) of one crawl of `shop`, stopped
    after it; a crawl that finds nothing exits 1: the exit code is part of what each test asserts."""
    address = ["--url", url or shop.url] if store == "generic" else []
    try:
        run = subprocess.run([*VTONKIT, "crawl", store, "--out", str(out), *address, "--no-throttle", "--render",
                              "never", *options], capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
                             env={**os.environ, **(env or {})})
    finally:
        shop.stop()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = (out / "products.jsonl").read_text(encoding="utf-8").splitlines()
    return run, summary, [json.loads(line) for line in lines]


def _finished(run) -> str:
    """The end of what the crawl printed: why an assertion on it failed."""
    return run.stdout[-3000:] + run.stderr[-3000:]


def _crawl_robots(tmp_path, robots: Page | None, handler: type[_Handler] = _Handler):
    shop = FixtureShop(lambda base: shop_routes(robots))
    shop.RequestHandlerClass = handler
    run, summary, products = _run_crawl(shop, tmp_path)
    return shop.paths, summary, products, run


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
    assert summary["finish_reason"] == "robots-unreachable" and "the crawl stops" in note
    assert "could not be read" in run.stdout + run.stderr
    assert summary["skipped"]["robots.txt"] >= 1


@pytest.mark.parametrize("robots", [None, Page(b"<h1>Forbidden</h1>", status=403)], ids=["404", "403"])
def test_a_missing_robots_txt_allows_everything(tmp_path, robots):
    """4xx means there are no rules (RFC 9309): the store is crawled, nothing noted."""
    paths, summary, products, run = _crawl_robots(tmp_path, robots)
    assert run.returncode == 0, _finished(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert PRIVATE in paths
    assert not [n for n in summary["notes"] if n.startswith("robots.txt of ")]


def test_a_store_whose_robots_txt_disallows_vtonkit_says_so(tmp_path):
    """robots.txt barring vtonkit's user agent from the whole store: 0 pages, exit 1, and only
    "skipped: robots.txt: 2", which reads as two pages left out of many."""
    paths, summary, products, run = _crawl_robots(
        tmp_path, Page(b"User-agent: vtonkit\nDisallow: /\n\nUser-agent: *\nAllow: /\n", "text/plain"))
    assert products == [] and run.returncode == 1 and set(paths) == {"/robots.txt"}
    said = " ".join((run.stdout + run.stderr).split())
    assert "robots.txt disallows every page this crawl tried" in said and "nothing may be crawled there" in said, said


def test_readable_robots_txt_rules_hold(tmp_path):
    paths, summary, products, run = _crawl_robots(tmp_path, Page(ROBOTS, "text/plain"))
    assert run.returncode == 0, _finished(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert PRIVATE not in paths
    assert summary["skipped"]["robots.txt"] == 1


def test_robots_txt_of_the_host_a_store_redirects_to_holds(tmp_path):
    """The store's address redirects to another host (localhost -> 127.0.0.1 here, shop.example ->
    www.shop.example in life): the rules of the host it lands on hold. (A guard: the new rule that
    an unreachable robots.txt disallows its host made the offsite filter's refusal of a robots.txt
    fetch fatal; the shopify spider's crawl of such a store found nothing until the fetch passed.)"""
    shop, old_url = _moved_shop(lambda base: shop_routes(Page(ROBOTS, "text/plain")))
    run, summary, products = _run_crawl(shop, tmp_path, url=old_url)
    assert run.returncode == 0, _finished(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert "/robots.txt" in shop.paths and PRIVATE not in shop.paths
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
    run, summary, _ = _run_crawl(shop, tmp_path / "out", store="robots-waiting", env={"VTONKIT_STORES": str(stores)})
    assert run.returncode == 0, _finished(run)
    assert not [p for p in shop.paths if p.startswith("/private/")], shop.paths
    assert summary["skipped"]["robots.txt"] >= 4


class _RobotsElsewhereHandler(_MovedHandler):
    """robots.txt asked of ``localhost`` is sent on to ``127.0.0.1``; every other page stays."""

    def moves(self, path: str) -> bool:
        return path == "/robots.txt"


def test_a_robots_txt_redirect_does_not_widen_the_store(tmp_path):
    """The spider's own robots.txt request was marked as a start page, so its redirect to another
    host made that host the store's too: a link there (/other-site/) was crawled."""
    def routes(base: str) -> Routes:
        page = shop_routes(Page(ROBOTS, "text/plain"))
        page["/"] = html(page["/"].body.decode() + f"<a href='{base}/other-site/page'>elsewhere</a>")
        page["/other-site/page"] = html("<h1>Another site</h1>")
        return page

    shop = FixtureShop(routes)
    shop.RequestHandlerClass = _RobotsElsewhereHandler
    run, summary, _ = _run_crawl(shop, tmp_path, url=shop.url.replace("127.0.0.1", "localhost"))
    assert run.returncode == 0, _finished(run)
    assert any(p.startswith("//localhost") and p.endswith("/robots.txt") for p in shop.paths), shop.paths
    assert "/other-site/page" not in shop.paths, shop.paths
    assert not [n for n in summary["notes"] if "redirects to" in n]


def test_robots_groups_match_the_product_token_not_the_whole_user_agent(tmp_path):
    """The user agent names the project's URL, which holds "github": a `User-agent: github` group
    (meant for GitHub's own crawler) applied to vtonkit and disallowed the whole store."""
    robots = Page(b"User-agent: github\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n", "text/plain")
    paths, _, products, run = _crawl_robots(tmp_path, robots)
    assert run.returncode == 0, _finished(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert PRIVATE not in paths


def test_robots_txt_fetches_do_not_spend_the_page_budget(tmp_path):
    """--max-pages 4 on a home page, the guessed /sitemap.xml and two products: the middleware's and
    the spider's robots.txt fetches took two of the four pages, and a product was never fetched."""
    shop = FixtureShop(lambda base: shop_routes(Page(ROBOTS, "text/plain")))
    run, _, products = _run_crawl(shop, tmp_path, "--max-pages", "4")
    assert run.returncode == 0, _finished(run)
    assert sorted(p["sku"] for p in products) == HANDLES
    assert "/robots.txt" in shop.paths


def test_a_resumed_crawl_stopped_by_an_unreachable_robots_txt_starts_over(tmp_path):
    """Every queued page of a resumed run was refused and remembered as seen when the store's
    robots.txt answered 503, and the run ended "finished": the next --resume fetched robots.txt
    only, and the products not found before were lost for good. Now the run stops, exits 1, and the
    next run starts over from the store's start pages."""
    shop = FixtureShop(lambda base: shop_routes(Page(b"<h1>Service unavailable</h1>", status=503)))
    command = [*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--no-throttle",
               "--render", "never", "--resume"]
    try:
        first = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        shop.routes["/robots.txt"] = Page(ROBOTS, "text/plain")
        second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert first.returncode == 1, _finished(first)
    assert "the crawl stops" in first.stdout + first.stderr
    assert second.returncode == 0, _finished(second)
    products = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["sku"] for line in products) == HANDLES
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert any("stopped because the store's robots.txt could not be read" in n for n in summary["notes"])
    assert PRIVATE not in shop.paths
