"""Real crawls of the fixture shops (tests/fixture_shops.py) on 127.0.0.1: automatic rendering in
Chromium, CJK pages, robots.txt for the browser too, named failures, and stores as configuration.

Each crawl runs `vtonkit crawl` in a subprocess (the Twisted reactor cannot restart).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vtonkit.crawlers.browser import chromium_available
from vtonkit.crawlers.render import RenderPolicyError, app_shell_verdict, render_policy
from vtonkit.crawlers.store_config import StoreConfigError, load_store_config, store_configs

from tests.conftest import shared_path
from tests.fixture_shops import (
    DISALLOWED,
    KR_MALL_PRODUCTS,
    MIXED_PRODUCTS,
    CAFE24_NEW_IN,
    CAFE24_PRODUCTS,
    COLLECTION_PRODUCTS,
    SHOPIFY_PRODUCTS,
    SPA_BATCH,
    SPA_PRODUCTS,
    FixtureShop,
    Page,
    _Handler,
    cafe24_mall,
    collection_store,
    hostile_render_store,
    kr_mall,
    mixed_store,
    pale_dress_head_cropped,
    shopify_store,
    spa_store,
)

REPO = Path(__file__).resolve().parents[1]
VTONKIT = [sys.executable, "-m", "vtonkit"]

pytestmark = pytest.mark.slow


def _crawl_shop(
    routes, store: str, out: Path, *extra: str, timeout: float = 300
) -> tuple[FixtureShop, dict, list[dict], list[dict], str]:
    """Serve a fixture shop, crawl it with the spider ``store``, stop it: (shop, *crawl results)."""
    shop = FixtureShop(routes)
    try:
        return (shop, *_crawl(store, shop.url, out, *extra, timeout=timeout))
    finally:
        shop.stop()


def _crawl(store: str, url: str, out: Path, *extra: str, timeout: float = 300) -> tuple[dict, list[dict], list[dict], str]:
    """(summary, products, catalog records, console output) of one `vtonkit crawl`."""
    run = subprocess.run(
        [*VTONKIT, "crawl", store, "--out", str(out), "--url", url, "--no-throttle", *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,  # the exit code is asserted below, with the output
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    def lines(name: str) -> list[dict]:
        return [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary, lines("products.jsonl"), lines("catalog.jsonl"), run.stdout + run.stderr


@pytest.fixture(scope="module")
def mixed_crawl(tmp_path_factory):
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    photo = pale_dress_head_cropped(shared_path("data", "photos", "persons") / "053514_0.jpg")
    shop, summary, products, catalog, console = _crawl_shop(
        mixed_store(photo), "generic", tmp_path_factory.mktemp("mixed")
    )
    return {"shop": shop, "summary": summary, "products": products, "catalog": catalog, "console": console}


def test_every_product_found_with_its_category_and_sku(mixed_crawl):
    found = {p["sku"]: (p["category"], p["title"]) for p in mixed_crawl["products"]}
    assert found == MIXED_PRODUCTS
    by_sku = {p["sku"]: p for p in mixed_crawl["products"]}
    assert by_sku["JP-0412-77"]["gender"] == "women" and by_sku["JP-0412-77"]["colour"] == "ホワイト"
    assert (by_sku["SH-24-DB02"]["price"], by_sku["SH-24-DB02"]["currency"]) == (39000.0, "KRW")
    assert by_sku["SH-24-DB02"]["breadcrumbs"] == ["홈", "하의", "바지"]


def test_only_pages_without_product_html_are_rendered_and_counted_by_reason(mixed_crawl):
    summary = mixed_crawl["summary"]
    # the two app shells (one from the product sitemap, one found as a link) and the empty
    # product page; none of the four products whose HTML held them went through the browser
    assert summary["rendered"] == {"product-sitemap": 1, "app-shell": 1, "listing-link": 1}
    assert summary["rendered_total"] == 3 and summary["browser_launches"] == 1
    sources = {p["sku"]: p["sources"]["product"] for p in mixed_crawl["products"]}
    assert sources["AS-KNIT-09"] == sources["LB-SHIRT-3"] == "json-ld"  # written by the app's script
    assert "pages rendered in Chromium: 3" in mixed_crawl["console"]


def test_robots_txt_holds_for_the_crawler_and_the_browser(mixed_crawl):
    shop = mixed_crawl["shop"]
    # fetched once: the spider reads its Sitemap lines from the rules the robots middleware fetched
    # (it used to ask for the file a second time); the sitemap index it announces is followed
    assert shop.paths.count("/robots.txt") == 1 and "/sitemap_products_1.xml" in shop.paths
    assert not [p for p in shop.paths if p.startswith(DISALLOWED)]
    # the app shells' scripts did try their tracker: the browser was stopped, not the server
    blocked = mixed_crawl["summary"]["browser_blocked"]
    assert sorted(u.split("/", 3)[3] for u in blocked) == [
        "tracking/beacon?goods=app-shell-knit",
        "tracking/beacon?goods=linen-shirt",
    ]
    assert "/api/goods/app-shell-knit.json" in shop.paths  # the JSON endpoint fed the shell
    assert all(agent.startswith("vtonkit/") for path, agent in shop.requests if path.startswith("/goods/"))


def test_every_failure_is_named(mixed_crawl):
    summary = mixed_crawl["summary"]
    missing = {m["url"].split("/", 3)[3]: m["reason"] for m in summary["missing_products"]}
    assert missing == {
        "goods/gone": "product-sitemap: HTTP 404",
        "goods/empty": "listing-link: no product data after rendering",
    }
    images = {e["url"].split("/", 3)[3]: e["reason"] for e in summary["image_errors"]}
    assert images["img/missing.jpg"] == "HTTP 404"
    assert images["img/not-an-image.jpg"].startswith("not-an-image")
    status = summary["image_status"]
    assert status["duplicate"] == 1 and status["near-duplicate"] == 1
    console = mixed_crawl["console"]
    assert "should have held a product" in console and "goods/gone" in console and "goods/empty" in console


def test_on_model_photo_the_pose_model_misses_is_not_a_garment_shot(mixed_crawl):
    records = {r["image_url"].split("/", 3)[3]: r for r in mixed_crawl["catalog"]}
    crop = records["img/model-crop.jpg"]
    assert crop["is_garment_shot"] is False and crop["shot_evidence"] == "cut-body"
    assert "pose:" in crop["shot_reasons"] and "cut-body:" in crop["shot_reasons"]
    garment = records["img/solidus_long_white.jpg"]
    assert garment["is_garment_shot"] is True and garment["shot_evidence"] == "no-person"
    dress = next(p for p in mixed_crawl["products"] if p["sku"] == "JP-0412-77")
    assert dress["garment_image_url"].endswith("/img/solidus_long_white.jpg")


def test_a_spent_render_budget_names_the_pages_it_left(tmp_path):
    photo = pale_dress_head_cropped(shared_path("data", "photos", "persons") / "053514_0.jpg")
    _, summary, products, _, _ = _crawl_shop(
        mixed_store(photo), "generic", tmp_path, "--render-budget", "0", "--category", "lower"
    )
    assert {p["sku"] for p in products} == {s for s, (c, _) in MIXED_PRODUCTS.items() if c == "lower"}
    assert summary["rendered_total"] == 0 and summary["browser_launches"] == 0
    missing = {m["url"].split("/", 3)[3]: m["reason"] for m in summary["missing_products"]}
    spent = "not rendered: the render budget of 0 pages is spent"
    assert missing == {
        "goods/gone": "product-sitemap: HTTP 404",
        "goods/empty": f"listing-link: {spent}",
        "goods/app-shell-knit": f"product-sitemap: {spent}",
        "lookbook/linen-shirt": f"app-shell: {spent}",
    }


def test_korean_mall_from_its_store_file_costs_no_browser_time(tmp_path):
    shop, summary, products, catalog, _ = _crawl_shop(kr_mall, "example-kr-mall", tmp_path)
    found = {p["sku"]: (p["category"], p["title"]) for p in products}
    assert found == {sku: (category, title) for sku, category, title in KR_MALL_PRODUCTS.values()}
    assert {p["currency"] for p in products} == {"KRW"} and {p["gender"] for p in products} == {"women"}
    assert sorted(p["price"] for p in products) == [39000.0, 49000.0, 59000.0]
    assert all(p["sources"]["sku"] == "selectors" for p in products)
    assert "/display/list?cate=bottoms&page=2" in shop.paths  # pagination followed
    assert not [p for p in shop.paths if p.startswith("/order/")]
    assert summary["rendered_total"] == 0 and summary["browser_launches"] == 0
    assert summary["missing_products"] == [] and len(catalog) == 3


def test_shopify_store_from_its_store_file(tmp_path):
    shop, summary, products, _, _ = _crawl_shop(shopify_store, "example-shopify", tmp_path)
    assert {p["sku"]: p["category"] for p in products} == {s: c for s, c, _, _ in SHOPIFY_PRODUCTS.values()}
    assert {p["currency"] for p in products} == {"EUR"} and summary["browser_launches"] == 0
    assert shop.paths.count("/products.json?limit=250&page=2") == 1  # the empty page ends it


def test_store_files_are_checked_and_named(tmp_path):
    shipped = {c.name: c for c in store_configs()}
    assert {"example-kr-mall", "example-shopify"} <= set(shipped)
    assert shipped["example-kr-mall"].selectors.sku == "input[name=goods_cd]::attr(value)"
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "Bad Name"\nbase_url = "https://x.example"\n', encoding="utf-8")
    with pytest.raises(StoreConfigError, match="bad.toml: name 'Bad Name'"):
        load_store_config(bad)
    bad.write_text('name = "ok"\nbase_url = "https://x.example"\nrender = "sometimes"\n', encoding="utf-8")
    with pytest.raises(StoreConfigError, match="bad.toml: render policy must be one of auto, always, never"):
        load_store_config(bad)
    bad.write_text('name = "ok"\nbase_url = "https://x.example"\n[selectors]\nsize = "x"\n', encoding="utf-8")
    with pytest.raises(StoreConfigError, match=r"bad.toml: \[selectors\] may only name"):
        load_store_config(bad)
    with pytest.raises(RenderPolicyError):
        render_policy("sometimes")


@pytest.mark.parametrize("body, problem", [
    # a string was split into its characters: the crawl asked for /s, /h, /o, /p
    ('start_paths = "/shop"', r"'start_paths' must be a list of strings, such as \["),
    ("js_paths = [1, 2]", "'js_paths' must be a list of strings"),
    ('use_sitemap = "yes"', "'use_sitemap' must be true or false, got 'yes'"),
    ("page_size = true", "'page_size' must be a whole number"),
    ('currency = 1', "'currency' must be a string"),
    ('[selectors]\nsku = 3', r"\[selectors\] is a CSS selector"),
], ids=["start-paths-string", "js-paths-numbers", "sitemap-word", "page-size-bool", "currency-number", "selector-number"])
def test_a_store_file_value_of_the_wrong_type_is_named(tmp_path, body, problem):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "ok"\nbase_url = "https://x.example"\n{body}\n', encoding="utf-8")
    with pytest.raises(StoreConfigError, match=f"bad.toml: .*{problem}"):
        load_store_config(bad)


@pytest.mark.parametrize("base_url", ["127.0.0.1:18765", "shop.example", "ftp://shop.example", "https://"])
def test_a_store_file_base_url_must_be_a_web_address(tmp_path, base_url):
    """`base_url = "127.0.0.1:18765"` was accepted: the crawl ended in a bare start_error, its reason
    ("Missing scheme") only in crawl.log."""
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "ok"\nbase_url = "{base_url}"\n', encoding="utf-8")
    with pytest.raises(StoreConfigError, match="bad.toml: base_url .* is no http\\(s\\) address with a host name"):
        load_store_config(bad)


def test_a_store_file_with_several_mistakes_names_them_all(tmp_path):
    """Only the first problem was named: a file with three took three runs to fix."""
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "probe-bad"\nbase_url = "127.0.0.1:8801"\nstart_paths = "/shop"\ncolour_css = "x"\n',
                   encoding="utf-8")
    with pytest.raises(StoreConfigError) as raised:
        load_store_config(bad)
    message = str(raised.value)
    assert message.startswith(f"{bad}: unknown keys ['colour_css']")
    assert "'start_paths' must be a list of strings" in message
    assert "base_url '127.0.0.1:8801' is no http(s) address" in message


def _store_file(folder: Path, file: str, name: str, base_url: str = "https://x.example") -> None:
    folder.mkdir(exist_ok=True)
    (folder / file).write_text(f'name = "{name}"\nbase_url = "{base_url}"\n', encoding="utf-8")


def test_store_files_giving_one_name_are_refused(tmp_path):
    """A second file with a store's name, or with one that makes the same spider class (my_mall and
    my-mall), replaced the first silently; `vtonkit crawl my-mall` then went elsewhere or was unknown."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    _store_file(ours, "a.toml", "my-mall")
    _store_file(theirs, "b.toml", "my-mall", "https://elsewhere.example")
    _store_file(theirs, "c.toml", "my_mall")
    _store_file(theirs, "d.toml", "other-mall")
    with pytest.raises(StoreConfigError, match="b.toml: store 'my-mall' has the name of .*a.toml"):
        store_configs([ours, theirs])
    problems: list[str] = []
    configs = store_configs([ours, theirs], problems)
    assert [(c.name, c.base_url) for c in configs] == [("my-mall", "https://x.example"), ("other-mall", "https://x.example")]
    assert len(problems) == 2 and "c.toml: store 'my_mall' has a name too like 'my-mall' of" in problems[1]


def test_a_broken_store_file_costs_only_its_own_store(tmp_path):
    """A broken file in $VTONKIT_STORES stopped every crawl, `crawl generic` included, with a
    240-line traceback. It is left out with a one-line warning naming it and its problem."""
    extra = tmp_path / "stores"
    extra.mkdir()
    (extra / "broken.toml").write_text('name = "broken"\nbase_url = "https://x.example"\nproduct_link_pattern = "["\n',
                                       encoding="utf-8")
    _store_file(extra, "fine.toml", "fine-mall")
    _store_file(extra, "clash.toml", "generic")
    env = {**os.environ, "VTONKIT_STORES": str(extra)}
    run = subprocess.run([*VTONKIT, "crawl", "--list-stores"], capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    listed = run.stdout.split()
    assert "generic" in listed and "fine-mall" in listed and "broken" not in listed
    assert "Traceback" not in run.stderr
    assert "broken.toml: unterminated character set" in run.stderr
    assert "clash.toml: store 'generic' has the name of a built-in spider" in run.stderr


def test_app_shell_verdict():
    shell = app_shell_verdict(
        "<html><body><div id='root'></div><script src='/app.js'></script></body></html>"
    )
    assert shell.is_app_shell and shell.empty_root and shell.scripts == 1
    article = (
        "<html><body><div id='root'><h1>Shirt</h1>" + "<p>Soft cotton.</p>" * 60 + "</div><script></script>"
    )
    assert not app_shell_verdict(article).is_app_shell  # rendered on the server: plenty of text
    assert not app_shell_verdict("<html><body><p>Hello</p></body></html>").is_app_shell  # no scripts


def test_a_cafe24_mall_is_crawled_whole_by_the_generic_spider(tmp_path):
    """No sitemap, no store file: every product of a 37-page listing (depth counted per listing, not
    per page), all 110 from one product path (item ids are not link-trap variants), its listing
    pages not taken for products, EUC-KR decoded, the sale price, the title without the shop's name,
    and the products a second category lists (its number in their URLs) counted once."""
    shop, summary, products, _, _ = _crawl_shop(cafe24_mall, "generic", tmp_path, "--render", "never")
    assert len(products) == CAFE24_PRODUCTS and summary["products"] == {"lower": CAFE24_PRODUCTS}
    assert summary["skipped"] == {"duplicate-product": CAFE24_NEW_IN}
    assert "/product/detail.html?product_no=101&cate_no=1&display_group=1" in shop.paths
    assert summary["traps"] == [] and summary["page_errors"] == [] and summary["missing_products"] == []
    by_sku = {p["sku"]: p for p in products}
    first = by_sku["P0000101AB"]
    assert (first["title"], first["price"], first["currency"], first["category"]) == (
        "와이드 팬츠 101", 39101.0, "KRW", "lower")
    assert "/product/list.html?cate_no=24&page=37" in shop.paths


@pytest.mark.parametrize("layout", [{}, {"inner_scroller": True}, {"pager": True}],
                         ids=["window", "inner-box", "button-pager"])
def test_an_infinite_scroll_store_is_crawled_whole(tmp_path, layout):
    """A store that is one script, no sitemap, no pager links: the home page's grid grows by scrolling
    (the window, or a box of its own), then by its "상품 더보기" button; or it shows one batch at a
    time behind a "다음 페이지 ›" button that replaces it. Every product is found (the first batch
    alone before), the link captioned "이벤트 더보기" is not clicked, and the grown home page is a
    listing, not a missing product."""
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    routes = functools.partial(spa_store, **layout)
    shop, summary, products, _, _ = _crawl_shop(routes, "generic", tmp_path)
    assert sorted(p["sku"] for p in products) == sorted(
        f"{code}-{n}" for n, code in zip(range(SPA_PRODUCTS), ["SPA-TR", "SPA-DR", "SPA-SK"] * SPA_PRODUCTS))
    batches = [f"/api/products?offset={offset}" for offset in range(0, SPA_PRODUCTS, SPA_BATCH)]
    assert [p for p in shop.paths if p.startswith("/api/products")] == batches  # by scroll or click, each once
    assert summary["grow_rounds"] == len(batches) - 1
    assert summary["rendered"]["app-shell"] == 1 and summary["missing_products"] == []


def test_a_product_linked_by_two_paths_is_one_product_by_its_canonical_address(tmp_path):
    """No SKU to tell them apart: /collections/dresses/products/x and /products/x declare one page."""
    shop, summary, products, _, _ = _crawl_shop(collection_store, "generic", tmp_path, "--render", "never")
    assert len(products) == COLLECTION_PRODUCTS and summary["skipped"] == {"duplicate-product": COLLECTION_PRODUCTS}
    assert {p["canonical_url"] for p in products} == {
        f"{shop.url}/products/wrap-dress-{n}" for n in range(COLLECTION_PRODUCTS)}
    assert all(p["sku"] is None for p in products)


def test_a_page_whose_script_never_yields_costs_its_render_timeout_only(tmp_path):
    """A product page that loops forever once drawn held the crawl for ever (Playwright bounds
    navigation, not page.evaluate nor page.content): it is closed after --render-timeout, named
    with its URL, and the other product is still found."""
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    # 8 s: on the loaded CI machine the steady page, rendered beside the busy one, took more than 4
    _, summary, products, _, _ = _crawl_shop(hostile_render_store, "generic", tmp_path, "--render-timeout", "8",
                                            timeout=120)
    assert [p["sku"] for p in products] == ["steady-tee"]
    missing = {m["url"].split("/", 3)[3]: m["reason"] for m in summary["missing_products"]}
    assert missing == {"products/busy-loop": "listing-link: RenderTimeout: gave up rendering after 8 s "
                                             "(--render-timeout): the page's scripts or requests never finished"}


def test_a_rendered_page_larger_than_the_download_cap_is_refused_with_its_size(tmp_path):
    """A plain download stops at DOWNLOAD_MAXSIZE (32 MiB); a rendered page had no cap: a script that
    writes 40 MiB into its page handed all of it to the extractors. It is refused, named with its size."""
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    pages = {"steady-tee": "", "swelling-tee": "document.body.append('x'.repeat(40 * 1024 * 1024));"}
    _, summary, products, _, _ = _crawl_shop(functools.partial(hostile_render_store, pages=pages), "generic",
                                            tmp_path, timeout=120)
    assert [p["sku"] for p in products] == ["steady-tee"]
    missing = {m["url"].split("/", 3)[3]: m["reason"] for m in summary["missing_products"]}
    assert list(missing) == ["products/swelling-tee"], missing
    assert "RenderTooLarge: the rendered page is 4194" in missing["products/swelling-tee"]
    assert f"more than {32 * 1024 * 1024} (DOWNLOAD_MAXSIZE" in missing["products/swelling-tee"]


def test_the_browser_reaches_no_other_address_on_this_machine(tmp_path):
    """A page's script fetched, framed, opened as a popup, opened a WebSocket to and navigated to
    another port of this machine (and 169.254.169.254): the browser requested them all, and the
    robots.txt check asked the other port for its robots.txt. Now only the shop's own address is reached; the rest are listed in
    browser_blocked, and the product is still found. The page that navigated away is named by its own
    address, not Chromium's error page."""
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    other = FixtureShop(lambda base: {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain")})
    reach = (f"fetch('{other.url}/fetched').catch(() => {{}});"
             "fetch('http://169.254.169.254/latest/meta-data/').catch(() => {});"
             f"document.body.insertAdjacentHTML('beforeend', \"<iframe src='{other.url}/framed'></iframe>\");"
             f"window.open('{other.url}/popup');"
             f"try {{ new WebSocket('{other.url.replace('http', 'ws', 1)}/socket'); }} catch (e) {{}}")
    pages = {"reaching-tee": reach, "leaving-tee": f"setTimeout(() => {{ location.href = '{other.url}/away'; }}, 300);"}
    try:
        _, summary, products, _, _ = _crawl_shop(functools.partial(hostile_render_store, pages=pages), "generic",
                                                tmp_path, "--render-timeout", "10", timeout=90)
        assert other.paths == []
    finally:
        other.stop()
    assert "reaching-tee" in [p["sku"] for p in products]
    assert {url.replace(other.url, "OTHER") for url in summary["browser_blocked"]} == {
        "OTHER/fetched", "http://169.254.169.254/latest/meta-data/", "OTHER/framed", "OTHER/away"}
    # the page that navigated away was reported as chrome-error://chromewebdata/ (Chromium's error page)
    missing = {m["url"].split("/", 3)[3]: m["reason"] for m in summary["missing_products"]}
    assert missing == {"products/leaving-tee": f"listing-link: RenderLeftPage: the page's script navigated to "
                       f"{other.url}/away, which the crawl does not reach (see browser_blocked); the product it "
                       "drew went with it"}
    assert not [e for e in summary["page_errors"] if not e["url"].startswith("http")], summary["page_errors"]


class _LongPollHandler(_Handler):
    """Holds ``/poll`` open (a long-poll or live feed that never answers), serves the rest."""

    def do_GET(self) -> None:
        if self.path == "/poll":
            self.server.log(self.path, self.headers.get("User-Agent", ""))
            time.sleep(60)
            return
        super().do_GET()


def test_a_page_that_keeps_a_request_open_is_read_once_its_quiet_wait_is_over(tmp_path):
    """The wait for a quiet network had to succeed: a product page holding a long-poll open lost its
    product (already drawn) to 'Timeout 30000ms exceeded'. The wait is now bounded and the page read."""
    if not chromium_available():
        pytest.skip("Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)")
    shop = FixtureShop(functools.partial(hostile_render_store, pages={
        "steady-tee": "", "polling-tee": "fetch('/poll').catch(() => {});"}))
    shop.RequestHandlerClass = _LongPollHandler
    try:
        summary, products, _, _ = _crawl("generic", shop.url, tmp_path, "--render-timeout", "9")
    finally:
        shop.stop()
    assert sorted(p["sku"] for p in products) == ["polling-tee", "steady-tee"], summary["missing_products"]
    assert "/poll" in shop.paths
