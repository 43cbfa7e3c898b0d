"""Crawl the shipped demo store for real, over 127.0.0.1, and check what lands on disk.

The store runs in a thread of this test process; every crawl runs in a subprocess (the
Twisted reactor cannot restart), through the real CLIs (`vtonkit crawl`, `scrapy crawl`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from vtonkit.crawlers.browser import chromium_available
from vtonkit.crawlers.catalog import garment_images, read_catalog
from vtonkit.crawlers.demo_store.catalogue import load_catalogue, product_path, underlying_image
from vtonkit.crawlers.demo_store.server import DemoStoreServer, prerender_drawn
from vtonkit.crawlers.items import CATALOG_COLUMNS

from vtonkit.core.errors import InputError

REPO = Path(__file__).resolve().parents[1]
VTONKIT = [sys.executable, "-m", "vtonkit"]
SCRAPY = [sys.executable, "-m", "scrapy"]
CATALOGUE = load_catalogue()
SHOP = [p for p in CATALOGUE["products"] if p["section"] == "shop"]
JS = [p for p in CATALOGUE["products"] if p["section"] == "js"]
BROWSER = chromium_available()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    prerender_drawn()
    log = tmp_path_factory.mktemp("store") / "access.log"
    server = DemoStoreServer(access_log=log).start_background()
    yield server
    server.stop()


def _run(
    args: list[str], timeout: int = 300, *, expect: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command from the repository root; its exit code must be `expect`."""
    run = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env)
    assert run.returncode == expect, (
        f"{args} exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    )
    return run


def _crawl(store_name: str, out, url: str, *extra: str) -> list[str]:
    """`vtonkit crawl STORE --out OUT --url URL --no-throttle EXTRA...` as an argument list."""
    return [*VTONKIT, "crawl", store_name, "--out", str(out), "--url", url, "--no-throttle", *extra]


def _scrapy_crawl(spider: str, url: str, out, *settings: str) -> list[str]:
    """`scrapy crawl SPIDER -a url=URL -O OUT` without throttling, plus `-s NAME=VALUE` settings."""
    unthrottled = ("AUTOTHROTTLE_ENABLED=0", "DOWNLOAD_DELAY=0", *settings)
    return [
        *SCRAPY,
        "crawl",
        spider,
        "-a",
        f"url={url}",
        "-O",
        str(out),
        *(a for s in unthrottled for a in ("-s", s)),
    ]


@pytest.fixture(scope="module")
def demo_crawl(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-crawl")
    run = _run(_crawl("demo", out, store.url))
    products = [json.loads(line) for line in (out / "products.jsonl").read_text().splitlines()]
    catalog = [json.loads(line) for line in (out / "catalog.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    return {
        "out": out,
        "products": products,
        "catalog": catalog,
        "summary": summary,
        "stdout": run.stdout + run.stderr,
    }


def _expected_products() -> list[dict]:
    return SHOP + (JS if BROWSER else [])


def test_every_product_found_once_with_the_right_category(demo_crawl):
    skus = [p["sku"] for p in demo_crawl["products"]]
    assert len(skus) == len(set(skus)), "a product was emitted twice"
    assert sorted(skus) == sorted(p["sku"] for p in _expected_products())
    expected = {p["sku"]: p for p in _expected_products()}
    for product in demo_crawl["products"]:
        truth = expected[product["sku"]]
        assert product["category"] == truth["category"], (product["title"], product["category"])
        assert product["title"] == truth["title"]
        assert product["price"] == pytest.approx(truth["price"]) and product["currency"] == "EUR"
        assert product["brand"] == CATALOGUE["store"]["brand"]
        assert product["url"].endswith(product_path(truth))
    assert demo_crawl["summary"]["products_total"] == len(expected)


def test_javascript_section_found_through_the_browser(demo_crawl):
    if not BROWSER:
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    titles = {p["title"] for p in demo_crawl["products"]}
    assert {p["title"] for p in JS} <= titles
    assert not demo_crawl["summary"]["skipped"].get("js-no-browser")


def test_robots_disallowed_path_never_fetched(store, demo_crawl):
    lines = store.access_log.read_text().splitlines()
    paths = [line.split()[2] for line in lines]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith(CATALOGUE["robots_disallow"])]
    assert demo_crawl["summary"]["skipped"]["robots.txt"] >= 1
    # the crawler says who it is
    assert all('"vtonkit/' in line for line in lines if " /products/" in line)


def test_broken_pages_reported_and_crawl_finished(demo_crawl):
    summary = demo_crawl["summary"]
    assert summary["finish_reason"] == "finished"
    reasons = {e["url"].split("127.0.0.1")[1].split("/", 1)[1]: e["reason"] for e in summary["page_errors"]}
    assert "no product data" in reasons["products/broken-tee"]
    assert reasons["products/discontinued-skirt"] == "HTTP 404"
    assert reasons["products/flaky-dress"] == "HTTP 500"
    assert "redirect loop" in reasons["products/loop-trousers"]
    assert "page skipped" in demo_crawl["stdout"]  # the CLI summary shows them too


def test_images_downloaded_deduplicated_and_filtered(demo_crawl):
    out, catalog = demo_crawl["out"], demo_crawl["catalog"]
    crawled = _expected_products()
    originals = {
        underlying_image(i)
        for p in crawled
        for i in p["images"]
        if not i.startswith("/media/") or i.startswith(("/media/r/", "/media/copy/", "/media/resized/"))
    }
    assert len(catalog) == len(originals)
    assert len({r["sha256"] for r in catalog}) == len(catalog)
    for record in catalog:
        path = out / record["path"]
        assert path.parent.name == record["category"] and path.parent.parent.name == "images"
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"] == path.stem
        assert set(CATALOG_COLUMNS) <= set(record)
        assert record["store"] == "demo" and record["page_url"].startswith("http://127.0.0.1")
    status = demo_crawl["summary"]["image_status"]
    assert status["duplicate"] == 1 and status["near-duplicate"] == 1
    assert status["rejected:too-small"] == 1 and status["rejected:not-an-image"] == 1
    assert status["rejected:too-large"] == 1
    # of a near-duplicate pair the larger original is kept
    women = next(p for p in demo_crawl["products"] if p["sku"] == "AD-UP-011")
    kept = [i for i in women["images"] if i["status"] == "kept"]
    assert kept and kept[0]["url"].endswith("/static/garments/solidus_womens_tshirt_white.jpg")


def test_originals_kept_with_png_alpha(demo_crawl):
    out = demo_crawl["out"]
    record = next(
        r for r in demo_crawl["catalog"] if r["image_url"].endswith("saleor-dark-polygon-tee-front.png")
    )
    assert record["has_alpha"] and record["format"] == "PNG"
    stored = (out / record["path"]).read_bytes()
    original = (REPO / "crawlers/demo_store/static/garments/saleor-dark-polygon-tee-front.png").read_bytes()
    assert stored == original
    assert Image.open(out / record["path"]).mode == "RGBA"


def test_garment_shots_told_from_on_model_shots(demo_crawl):
    for record in demo_crawl["catalog"]:
        on_model = "/static/persons/" in record["image_url"]
        assert record["is_garment_shot"] is (not on_model), record["image_url"]
    for product in demo_crawl["products"]:
        assert product["garment_image_url"] and "/persons/" not in product["garment_image_url"]


def test_parquet_catalog_matches_jsonl(demo_crawl):
    frame = pd.read_parquet(demo_crawl["out"] / "catalog.parquet")
    assert list(frame.columns) == list(CATALOG_COLUMNS)
    assert len(frame) == len(demo_crawl["catalog"])
    assert set(frame["category"]) == {p["category"] for p in _expected_products()}


def test_catalog_reader_hands_garment_shots_to_preprocessing(demo_crawl, tmp_path):
    lower = garment_images(demo_crawl["out"], category="lower")
    assert {record["sku"] for _, record in lower} == {
        p["sku"] for p in _expected_products() if p["category"] == "lower"
    }
    assert all(path.is_file() and record["is_garment_shot"] for path, record in lower)
    every = garment_images(demo_crawl["out"], garment_shots_only=False)
    assert len(every) == len(demo_crawl["catalog"])
    broken = tmp_path / "catalog.jsonl"
    broken.write_text('{"path": "a"}\n{"path": "b"}\n{"path": ')  # a crawl killed mid-line
    assert [r["path"] for r in read_catalog(tmp_path)] == ["a", "b"]
    with pytest.raises(InputError, match="catalog.jsonl"):
        read_catalog(tmp_path / "missing")


def test_scrapy_cli_from_repo_root_and_shopify_pagination(store, tmp_path):
    listed = _run([*SCRAPY, "list"]).stdout.split()
    assert {"demo", "demo-shopify", "generic", "shopify"} <= set(listed)
    out = tmp_path / "shopify.jsonl"
    _run(_scrapy_crawl("demo-shopify", store.url, out))
    items = [json.loads(line) for line in out.read_text().splitlines()]  # .jsonl: JSON lines
    assert sorted(i["sku"] for i in items) == sorted(p["sku"] for p in SHOP)
    assert {i["sku"]: i["category"] for i in items} == {p["sku"]: p["category"] for p in SHOP}
    pages = [line for line in store.access_log.read_text().splitlines() if "/products.json" in line]
    assert len(pages) == -(-len(SHOP) // 5) + 1  # five per page, then the empty page that ends it


def test_category_filter_and_limit(store, tmp_path):
    _run(_crawl("demo-shopify", tmp_path, store.url, "--category", "lower", "--limit", "3"))
    products = [json.loads(line) for line in (tmp_path / "products.jsonl").read_text().splitlines()]
    assert len(products) == 3 and {p["category"] for p in products} == {"lower"}
    assert {
        Path(r).parent.name
        for r in (json.loads(line)["path"] for line in (tmp_path / "catalog.jsonl").read_text().splitlines())
    } == {"lower"}


def test_generic_spider_discovers_products_through_the_sitemap(store, tmp_path):
    out = tmp_path / "generic.jsonl"
    _run(_scrapy_crawl("generic", store.url, out, "RETRY_TIMES=0"))
    skus = [json.loads(line)["sku"] for line in out.read_text().splitlines()]
    assert len(skus) == len(set(skus))
    assert {p["sku"] for p in SHOP} <= set(skus)
    assert not {p["sku"] for p in CATALOGUE["products"] if p["section"] == "private"} & set(skus)


def _log_lines(store, marker: str) -> list[str]:
    return [line for line in store.access_log.read_text().splitlines() if marker in line]


def test_resumed_crawl_continues_without_duplicates(store, tmp_path):
    # one category keeps the image work (and the test) small
    args = _crawl("demo-shopify", tmp_path, store.url, "--resume", "--category", "dresses")
    _run(args)
    assert (tmp_path / ".job").is_dir()
    first = (tmp_path / "catalog.jsonl").read_text().splitlines()
    requests_before = len(_log_lines(store, "/products.json"))
    _run(args)  # everything was seen: the job state makes the rerun a no-op
    assert len(_log_lines(store, "/products.json")) == requests_before
    assert (tmp_path / "catalog.jsonl").read_text().splitlines() == first
    products = (tmp_path / "products.jsonl").read_text().splitlines()
    assert len(products) == len([p for p in SHOP if p["category"] == "dresses"]) == len(first)


def test_http_cache_replays_pages(store, tmp_path):
    args = _crawl("demo-shopify", tmp_path, store.url, "--cache", "--category", "dresses")
    _run(args)
    requests_before = len(_log_lines(store, "/products.json"))
    _run(args)
    assert len(_log_lines(store, "/products.json")) == requests_before  # served from OUT/.httpcache
    assert len((tmp_path / "products.jsonl").read_text().splitlines()) == len(
        [p for p in SHOP if p["category"] == "dresses"]
    )


def test_unknown_store_is_a_clear_error(tmp_path):
    out = tmp_path / "out"
    run = _run([*VTONKIT, "crawl", "no-such-shop", "--out", str(out)], 120, expect=2)
    assert "unknown store 'no-such-shop'" in run.stderr and "demo" in run.stderr
    run = _run([*VTONKIT, "crawl", "generic", "--out", str(out)], 120, expect=2)
    assert "needs the store's address: --url" in run.stderr
    run = _run([*VTONKIT, "crawl", "generic", "--url", "http://[::1", "--out", str(out)], 120, expect=2)
    assert "no web address" in run.stderr
    assert "crawling" not in run.stderr  # refused before the progress display was drawn
    assert not out.exists()  # nor was the output folder made


def test_an_output_path_that_is_a_file_is_a_usage_error(tmp_path):
    """It ended in a FileExistsError traceback from mkdir."""
    taken = tmp_path / "catalog.txt"
    taken.write_text("not a folder")
    run = _run([*VTONKIT, "crawl", "generic", "--url", "http://127.0.0.1:9/", "--out", str(taken)], 120, expect=2)
    said = " ".join(run.stderr.split())
    assert "Invalid value for --out" in said and "exists and is not a folder" in said and "Traceback" not in said
    assert taken.read_text() == "not a folder"


@pytest.mark.parametrize(("url", "message"), [
    ("shop.example", "no http(s) address with a host name"),  # no scheme
    ("ftp://shop.example/", "no http(s) address with a host name"),  # went on to a DNS lookup
    ("not a url", "no http(s) address with a host name"),  # ended in a bare "start_error"
    ("http://[::1", "no web address (Invalid IPv6 URL)"),
    ("https://shop.example:port/", "no web address (Port could not be cast"),
])
def test_a_store_address_the_crawl_could_only_fail_on_is_refused_before_it_starts(tmp_path, url, message):
    from vtonkit.crawlers.runner import CrawlSetupError, run_crawl

    with pytest.raises(CrawlSetupError, match=re.escape(f"--url {url!r} is {message}")):
        run_crawl("generic", tmp_path / "out", url=url)
    assert not (tmp_path / "out" / "catalog.jsonl").exists()


def test_missing_chromium_skips_the_javascript_section_with_a_note(store, tmp_path):
    env = {**os.environ, "VTONKIT_CHROMIUM": str(tmp_path / "no-chromium-here")}
    _run(_crawl("demo", tmp_path, store.url, "--category", "dresses", "--limit", "1"), env=env)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["skipped"]["js-no-browser"] == 1
    note = next(note for note in summary["notes"] if "Chromium not available" in note)
    assert "VTONKIT_CHROMIUM" in note and "apt-get install" in note  # says how to fix it


def test_demo_store_on_a_taken_port_says_so(tmp_path):
    """It ended in an OSError traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = _run([*VTONKIT, "demo-store", "--port", str(port)], 120, expect=2)
    said = " ".join(run.stderr.split())
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in said and "Traceback" not in said, said
    run = _run([*VTONKIT, "demo-store", "--port", "99999"], 120, expect=2)  # was an OverflowError traceback
    said = " ".join(run.stderr.split())
    assert "Invalid value for '--port'" in said and "Traceback" not in said, said


def test_the_demo_store_answers_only_to_names_of_this_machine(store):
    """DNS rebinding: a page of another site whose name points at 127.0.0.1 sends its own name as Host.
    The store served it; now it is refused like the review app refuses it (one rule, core/hosts.py)."""
    import http.client

    port = store.server_address[1]

    def status(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.putrequest("GET", "/", skip_host=True)
            connection.putheader("Host", host)
            connection.endheaders()
            return connection.getresponse().status
        finally:
            connection.close()

    assert status(f"127.0.0.1:{port}") == 200 and status(f"localhost:{port}") == 200
    assert status(f"shop.attacker.example:{port}") == 403 and status("shop.attacker.example") == 403
    allowed = DemoStoreServer(allow_hosts=("demo.lan",)).start_background()
    try:
        port = allowed.server_address[1]
        assert status(f"demo.lan:{port}") == 200 and status(f"other.lan:{port}") == 403
    finally:
        allowed.stop()
