"""What a crawl fetches first, what it prunes, and what it writes once: a shop on 127.0.0.1 and the
real `vtonkit crawl` (the generic spider).

* product links before more listing views, and the product links a budget stop left unfetched named;
* a listing's sort and filter views counted across its ``/page/N/`` paths (a link trap);
* the sizes of one colour of a ``ProductGroup`` one record, each colour its own;
* only a sitemap named for products makes its entries product pages.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from tests.fixture_shops import FixtureShop, Page, Routes, html, json_ld, product_ld
from tests.test_crawlers_render import REPO, VTONKIT

ROBOTS = Page(b"User-agent: *\nAllow: /\n", "text/plain")


def _crawl(shop: FixtureShop, out, *options: str) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    try:
        run = subprocess.run([*VTONKIT, "crawl", "generic", "--out", str(out), "--url", shop.url + "/",
                              "--no-throttle", "--render", "never", *options],
                             capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    finally:
        shop.stop()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    products_file = out / "products.jsonl"
    lines = products_file.read_text(encoding="utf-8").splitlines() if products_file.exists() else []
    return run, summary, [json.loads(line) for line in lines]


def _tail(run: subprocess.CompletedProcess) -> str:
    return run.stdout[-3000:] + run.stderr[-3000:]


def _product(sku: str) -> Page:
    return html(f"<h1>{sku}</h1>", head=product_ld(sku, f"/img/{sku}.jpg",
                                                   {"@type": "Offer", "price": 30, "priceCurrency": "EUR"}, sku=sku))


SKUS = ["dress-1", "dress-2", "dress-3"]


def _views_before_products(views: int) -> Callable[[str], Routes]:
    """A home page linking a category and, after it, `views` sort views of it; the category links the
    products. Crawl-delay 0.05: a local shop answers faster than a page is parsed, and the crawl
    fetched whatever was queued meanwhile, priority or not."""
    def routes(base: str) -> Routes:
        sorts = [f"/c/dresses?orderby=o{n}" for n in range(views)]
        found: Routes = {"/robots.txt": Page(b"User-agent: *\nCrawl-delay: 0.05\n", "text/plain"),
                         "/": html("<a href='/c/dresses'>dresses</a>" + "".join(f"<a href='{v}'>sort</a>" for v in sorts)),
                         "/c/dresses": html("".join(f"<a href='/products/{sku}'>{sku}</a>" for sku in SKUS))}
        found.update({view: html("<p>sorted</p>") for view in sorts})
        found.update({f"/products/{sku}": _product(sku) for sku in SKUS})
        return found
    return routes


def test_product_links_are_fetched_before_more_listing_views(tmp_path):
    """All at one priority, the sort views linked after a category were fetched first (Scrapy's queue
    is last in, first out), and a page budget ended the crawl before the category's products. (Up to
    CONCURRENT_REQUESTS = 32 requests, --no-throttle, leave the scheduler at once: the budget leaves
    room for them.)"""
    shop = FixtureShop(_views_before_products(80))
    run, summary, products = _crawl(shop, tmp_path, "--max-pages", "45")
    assert run.returncode == 0, _tail(run)
    assert sorted(p["sku"] for p in products) == SKUS, shop.paths


def test_product_links_a_budget_stop_left_unfetched_are_named(tmp_path):
    """Product links scheduled but never fetched when the budget stopped the crawl were lost without
    a word (``missing_products`` empty): they are named, and counted."""
    shop = FixtureShop(_views_before_products(20))
    run, summary, _ = _crawl(shop, tmp_path, "--max-pages", "4")  # home, sitemap.xml, the category, one more
    fetched = {path.rsplit("/", 1)[-1] for path in shop.paths if path.startswith("/products/")}
    named = {entry["url"].rsplit("/", 1)[-1]: entry["reason"] for entry in summary["missing_products"]}
    assert "/c/dresses" in shop.paths and set(named) == set(SKUS) - fetched != set(), (fetched, named, _tail(run))
    assert all(reason == "listing-link: not fetched: the crawl stopped (max-pages)" for reason in named.values())
    assert summary["skipped"]["product-not-fetched"] == len(named)


def _paginated_facets(base: str) -> Routes:
    """A WooCommerce-style listing of 5 pages, each its own path (/shop/page/N/), each linking a
    product and 30 size and sort views of itself (30 per path, under the trap's 100)."""
    routes: Routes = {"/robots.txt": ROBOTS}
    for page in range(1, 6):
        path = "/shop/" if page == 1 else f"/shop/page/{page}/"
        views = [f"{path}?filter_size={size}&orderby={order}" for size in ("s", "m", "l", "xl", "xxl")
                 for order in ("price", "date", "rating", "popularity", "title", "menu")]
        pager = f"<a rel='next' href='/shop/page/{page + 1}/'>next</a>" if page < 5 else ""
        routes[path] = html(f"<a href='/products/p{page}'>p{page}</a>{pager}"
                            + "".join(f"<a href='{view}'>view</a>" for view in views))
        routes.update({view: html("<p>filtered</p>") for view in views})
        routes[f"/products/p{page}"] = _product(f"p{page}")
    routes["/"] = html("<a href='/shop/'>shop</a>")
    return routes


def test_sort_and_filter_views_are_counted_across_a_listings_page_paths(tmp_path):
    """WooCommerce gives each page of a listing its own path: counted per path, its 30 size and sort
    views per page never reached the query-explosion limit, and all 150 were fetched."""
    shop = FixtureShop(_paginated_facets)
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    assert sorted(p["sku"] for p in products) == [f"p{n}" for n in range(1, 6)]
    traps = [trap for trap in summary["traps"] if trap["rule"] == "query-explosion"]
    assert traps and traps[0]["pattern"].startswith(f"{shop.url.split('//')[1]}/shop/?"), summary["traps"]
    assert sum("filter_size=" in path for path in shop.paths) <= 100


def _variant_group(base: str) -> Routes:
    """A Shopify theme's product: a ProductGroup of two colours in two sizes, each variant at
    ``?variant=N``, the page linking every variant."""
    variants = [(1, "Navy", "S"), (2, "Navy", "M"), (3, "Beige", "S"), (4, "Beige", "M")]
    group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "Pencil skirt",
             "productGroupID": "8000001", "hasVariant": [
                 {"@type": "Product", "name": f"Pencil skirt - {colour} / {size}", "sku": f"SK-{colour[:3].upper()}-{size}",
                  "color": colour, "size": size, "image": f"{base}/img/{colour}.jpg",
                  "offers": {"@type": "Offer", "url": f"{base}/products/pencil-skirt?variant={n}", "price": 40,
                             "priceCurrency": "EUR", "availability": "https://schema.org/InStock"}}
                 for n, colour, size in variants]}
    page = html("<h1>Pencil skirt</h1>" + "".join(f"<a href='/products/pencil-skirt?variant={n}'>{c} {s}</a>"
                                                  for n, c, s in variants),
                head=json_ld(group) + f"<link rel='canonical' href='{base}/products/pencil-skirt'>")
    routes: Routes = {"/robots.txt": ROBOTS, "/": html("<a href='/products/pencil-skirt'>skirt</a>"),
                      "/products/pencil-skirt": page}
    routes.update({f"/products/pencil-skirt?variant={n}": page for n, _, _ in variants})
    return routes


def test_the_sizes_of_a_colour_are_one_record_each_colour_its_own(tmp_path):
    """Keyed by the variant's SKU, each size was a record (4 for 2 colours); one record per colour."""
    shop = FixtureShop(_variant_group)
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    assert sorted(p["colour"] for p in products) == ["Beige", "Navy"], [(p["url"], p["sku"]) for p in products]
    assert summary["skipped"]["duplicate-product"] >= 2


def _unlinked_colours(with_addresses: bool) -> Callable[[str], Routes]:
    """A ProductGroup of two colours in two sizes whose page links no variant: the colours have
    addresses of their own (``?variant=N``) that only the product data gives, or none at all."""
    from tests.fixture_shops import GARMENTS

    pictures = {"Navy": "solidus_tshirt_blue.jpg", "Beige": "solidus_long_white.jpg"}

    def routes(base: str) -> Routes:
        variants = [(1, "Navy", "S"), (2, "Navy", "M"), (3, "Beige", "S"), (4, "Beige", "M")]
        group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "Pencil skirt",
                 "productGroupID": "8000001", "hasVariant": [
                     {"@type": "Product", "name": f"Pencil skirt - {colour} / {size}", "color": colour,
                      "sku": f"SK-{colour[:3].upper()}-{size}", "size": size, "image": f"{base}/img/{colour}.jpg",
                      "offers": {"@type": "Offer", "price": 40 + n, "priceCurrency": "EUR",
                                 "availability": "https://schema.org/InStock",
                                 **({"url": f"{base}/products/pencil-skirt?variant={n}"} if with_addresses else {})}}
                     for n, colour, size in variants]}
        page = html("<h1>Pencil skirt</h1>", head=json_ld(group))
        shop: Routes = {"/robots.txt": ROBOTS, "/": html("<a href='/products/pencil-skirt'>skirt</a>"),
                        "/products/pencil-skirt": page}
        if with_addresses:
            shop.update({f"/products/pencil-skirt?variant={n}": page for n, _, _ in variants})
        shop.update({f"/img/{colour}.jpg": Page((GARMENTS / name).read_bytes(), "image/jpeg")
                     for colour, name in pictures.items()})
        return shop
    return routes


@pytest.mark.parametrize("with_addresses", [False, True], ids=["no-address", "address-unlinked"])
def test_every_colour_of_a_group_is_written_though_the_page_links_none(tmp_path, with_addresses):
    """A group page that links no variant gave one record, the first colour in stock: the beige
    skirt, its picture in the product data, was never written."""
    shop = FixtureShop(_unlinked_colours(with_addresses))
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    by_colour = {p["colour"]: p for p in products}
    assert sorted(by_colour) == ["Beige", "Navy"], [(p["url"], p["sku"]) for p in products]
    assert (by_colour["Beige"]["sku"], by_colour["Beige"]["price"]) == ("SK-BEI-S", 43.0)
    assert (by_colour["Navy"]["sku"], by_colour["Navy"]["price"]) == ("SK-NAV-S", 41.0)
    catalog = [json.loads(line) for line in (tmp_path / "catalog.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((row["colour"], row["image_url"].rsplit("/", 1)[1]) for row in catalog) == [
        ("Beige", "Beige.jpg"), ("Navy", "Navy.jpg")]


def test_a_resumed_crawl_knows_its_earlier_products_by_the_same_key(tmp_path):
    """A resumed crawl skips an earlier run's product by the key the crawl writes it by: another size
    of a colour written before is found-before, another colour is not."""
    from scrapy.settings import Settings
    from vtonkit.crawlers.spiders.base import product_record_key, products_found_before

    navy_s = {"url": "http://x/products/skirt", "product_id": "8000001", "sku": "SK-NAV-S", "colour": "Navy"}
    (tmp_path / "products.jsonl").write_text(json.dumps(navy_s) + "\n", encoding="utf-8")
    found = products_found_before(Settings({"VTONKIT_OUT": str(tmp_path), "JOBDIR": str(tmp_path / ".job")}))
    assert product_record_key({**navy_s, "sku": "SK-NAV-M", "url": "http://x/products/skirt?variant=2"}) in found
    assert product_record_key({**navy_s, "sku": "SK-BEI-S", "colour": "Beige"}) not in found
    # a product whose only id is its SKU is that SKU, as before
    assert product_record_key({"url": "http://x/p/a", "product_id": "A-1", "sku": "A-1"}) == "sku:A-1"


def _plain_sitemap(base: str) -> Routes:
    """A sitemap.xml (named for nothing) listing a category page and the product it links."""
    xml = ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
           f"<url><loc>{base}/women/tops-women.html</loc></url><url><loc>{base}/products/tee</loc></url></urlset>")
    return {"/robots.txt": Page(f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode(), "text/plain"),
            "/sitemap.xml": Page(xml.encode(), "application/xml"),
            "/": html("<p>welcome</p>"),
            "/women/tops-women.html": html("<h1>Tops</h1><a href='/products/tee'>tee</a>"),
            "/products/tee": _product("tee")}


def test_a_plain_sitemaps_entries_are_not_all_product_pages(tmp_path):
    """"item" was searched anywhere in the sitemap's URL and "sitemap" holds it: every entry of a
    sitemap.xml was a product page, its category pages reported as missing products."""
    shop = FixtureShop(_plain_sitemap)
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    assert [p["sku"] for p in products] == ["tee"]
    assert summary["missing_products"] == [], summary["missing_products"]


def test_a_sitemap_named_for_products_makes_its_entries_product_pages():
    from vtonkit.crawlers.url_roles import expected_product_url

    page = "http://x/women/tops-women.html"
    for sitemap in ("product-sitemap.xml", "sitemap_products_1.xml?from=1", "goods.xml", "items.xml",
                    "wp-sitemap-posts-product-1.xml", "sitemaps/products/1.xml"):
        assert expected_product_url(page, f"http://x/{sitemap}"), sitemap
    for sitemap in ("sitemap.xml", "sitemap-index.xml", "wp-sitemap-taxonomies-product_cat-1.xml",
                    "product_cat-sitemap.xml"):
        assert not expected_product_url(page, f"http://x/{sitemap}"), sitemap


def _gone_sitemap(base: str) -> Routes:
    """robots.txt names a sitemap index that lists a sitemap which is gone (404) beside one that lists
    the product."""
    index = ("<?xml version='1.0' encoding='UTF-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             f"<sitemap><loc>{base}/sitemap_gone.xml</loc></sitemap>"
             f"<sitemap><loc>{base}/sitemap_products.xml</loc></sitemap></sitemapindex>")
    products = ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                f"<url><loc>{base}/products/tee</loc></url></urlset>")
    return {"/robots.txt": Page(f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap_index.xml\n".encode(), "text/plain"),
            "/sitemap_index.xml": Page(index.encode(), "application/xml"),
            "/sitemap_products.xml": Page(products.encode(), "application/xml"),
            "/": html("<p>welcome</p>"),
            "/products/tee": _product("tee")}


def test_a_sitemap_an_index_names_that_is_gone_is_reported(tmp_path):
    """A 404 was 'no sitemap' wherever it came from: a sitemap the index lists, and with it every
    product it listed, was gone without a word in summary.json (only crawl.log said so)."""
    shop = FixtureShop(_gone_sitemap)
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    assert [p["sku"] for p in products] == ["tee"]
    gone = [error for error in summary["page_errors"] if error["url"].endswith("/sitemap_gone.xml")]
    assert len(gone) == 1 and "404" in gone[0]["reason"], summary["page_errors"]


def test_no_robots_txt_and_no_sitemap_stay_quiet_misses(tmp_path):
    """robots.txt and the guessed /sitemap.xml answering 404 are a store without them, no error."""
    shop = FixtureShop(lambda base: {"/": html("<a href='/products/tee'>tee</a>"), "/products/tee": _product("tee")})
    run, summary, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, _tail(run)
    assert [p["sku"] for p in products] == ["tee"]
    assert {"/robots.txt", "/sitemap.xml"} <= set(shop.paths) and summary["page_errors"] == [], summary["page_errors"]
