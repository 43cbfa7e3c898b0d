"""--max-pages counts the pages fetched: a shop on 127.0.0.1 and the real `vtonkit crawl`."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.fixture_shops import GARMENTS, FixtureShop, Page, Routes, html, product_ld
from tests.test_crawlers_render import REPO, VTONKIT

pytestmark = pytest.mark.slow

HANDLES = [f"item-{n}" for n in range(12)]
MAX_PAGES = 5


def _routes(robots: bytes) -> Routes:
    shop: Routes = {"/robots.txt": Page(robots, "text/plain"),
                    "/": html("".join(f"<a href='/products/{h}'>{h}</a>" for h in HANDLES))}
    for n, handle in enumerate(HANDLES):
        offer = {"@type": "Offer", "price": 20 + n, "priceCurrency": "EUR"}
        shop[f"/products/{handle}"] = html(f"<h1>{handle}</h1>", head=product_ld(handle, "/img/0.jpg", offer, sku=handle))
    return shop


@pytest.mark.parametrize("robots, options", [
    (b"User-agent: *\nCrawl-delay: 0.3\n", ["--no-throttle"]),
    (b"User-agent: *\nAllow: /\n", []),  # Scrapy's own download delay queues the pages in its slot
], ids=["crawl-delay", "download-delay"])
def test_the_page_budget_counts_pages_fetched_not_pages_waiting_for_their_turn(tmp_path, robots, options):
    """Under `Crawl-delay: 1`, --max-pages 15 fetched 5 pages (0 products, exit 1): the budget was
    spent by the requests that waited for their host's turn, which the stopping crawl then dropped."""
    shop = FixtureShop(lambda base: _routes(robots))
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render",
                              "never", "--max-pages", str(MAX_PAGES), *options],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["finish_reason"] == "max-pages"
    fetched = [path for path in shop.paths if path != "/robots.txt" and not path.startswith("/img/")]
    assert len(fetched) == MAX_PAGES and summary["budget"]["pages"] == MAX_PAGES, (fetched, summary["budget"])
    products = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(products) == len([path for path in fetched if path.startswith("/products/")])


PHOTOS = ["ruby_hoodie.jpg", "ruby_polo.jpg", "solidus_tshirt_blue.jpg", "solidus_long_white.jpg"]


def photo_shop(robots: bytes) -> Routes:
    """Four products, each with a photo of its own that the image pipeline keeps."""
    shop: Routes = {"/robots.txt": Page(robots, "text/plain"),
                    "/": html("".join(f"<a href='/products/item-{n}'>item {n}</a>" for n in range(len(PHOTOS))))}
    for n, photo in enumerate(PHOTOS):
        offer = {"@type": "Offer", "price": 20 + n, "priceCurrency": "EUR"}
        shop[f"/products/item-{n}"] = html(f"<h1>item {n}</h1>",
                                           head=product_ld(f"item {n}", f"/img/{photo}", offer, sku=f"item-{n}"))
        shop[f"/img/{photo}"] = Page((GARMENTS / photo).read_bytes(), "image/jpeg")
    return shop


def test_a_spent_page_budget_still_fetches_the_images_of_the_products_found(tmp_path):
    """Under `Crawl-delay`, --max-pages dropped every image still waiting for its host's turn: 7
    products, 0 images kept, each 'CrawlStopping: not fetched'. They come now, each in its turn."""
    shop = FixtureShop(lambda base: photo_shop(b"User-agent: *\nCrawl-delay: 0.3\n"))
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render",
                              "never", "--no-throttle", "--max-pages", "4"],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    products = [json.loads(line) for line in (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 2 <= len(products) < len(PHOTOS), products  # the budget stopped the crawl (it fetches sitemap.xml too)
    statuses = [image["status"] for product in products for image in product["images"]]
    assert statuses == ["kept"] * len(products), [product["images"] for product in products]


def test_a_crawl_without_resume_leaves_a_resumable_crawls_folder_alone(tmp_path):
    """A run without --resume into a resumable crawl's folder truncated its products.jsonl (29
    products, then 13) and kept its job, whose seen-list made the next --resume skip the pages of the
    products lost: they never came back. Such a run is refused now, saying what to do."""
    shop = FixtureShop(lambda base: photo_shop(b"User-agent: *\nAllow: /\n"))
    command = [*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render", "never",
               "--no-throttle"]
    try:
        first = subprocess.run([*command, "--resume"], capture_output=True, text=True, cwd=REPO, timeout=300,
                               check=False)
        plain = subprocess.run([*command, "--max-pages", "2"], capture_output=True, text=True, cwd=REPO,
                               timeout=300, check=False, env={**os.environ, "COLUMNS": "300"})
    finally:
        shop.stop()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    said = " ".join(plain.stderr.split())
    assert plain.returncode == 2 and "holds a resumable crawl" in said and "pass --resume" in said, said[-2000:]
    products = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(products) == len(PHOTOS)


def test_a_resume_after_a_limit_writes_the_products_the_limit_left_unwritten(tmp_path):
    """--limit stops at the product that reaches it, while the other product pages in flight are
    fetched and dropped unwritten; they stayed in the job's seen-list, so the next --resume never
    asked for them again: 5 of 12 products, for good, and nothing said so."""
    shop = FixtureShop(lambda base: _routes(b"User-agent: *\nAllow: /\n"))
    command = [*VTONKIT, "crawl", "generic", "--out", str(tmp_path), "--url", shop.url, "--render", "never",
               "--no-throttle", "--resume"]
    try:
        limited = subprocess.run([*command, "--limit", "3"], capture_output=True, text=True, cwd=REPO, timeout=300,
                                 check=False)
        resumed = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
                                 env={**os.environ, "COLUMNS": "300"})
    finally:
        shop.stop()
    assert limited.returncode == 0, limited.stdout[-3000:] + limited.stderr[-3000:]
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    skus = [json.loads(line)["sku"] for line in (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(skus) == sorted(HANDLES), skus  # every product, each once
    notes = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["notes"]
    assert any("stopped at its --limit" in note for note in notes), notes
