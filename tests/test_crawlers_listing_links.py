"""The links a listing page gives a crawl: a shop on 127.0.0.1 and the real `vtonkit crawl` (the
generic spider).

* the next page a listing names only by ``<link rel="next">`` in its ``<head>`` (a theme whose
  visible pager is a script's button) is the listing's next page, kept at its depth.
"""

from __future__ import annotations

from tests.fixture_shops import FixtureShop, Routes, html
from tests.test_crawlers_scheduling import ROBOTS, _crawl, _product


def _head_linked_pages(pages: int, per_page: int = 2) -> Routes:
    """A category of `pages` pages whose first page links the second by a visible ``<a rel="next">``;
    every later page names its next one only by ``<link rel="next">`` in its ``<head>``."""
    routes: Routes = {"/robots.txt": ROBOTS, "/": html("<a href='/shop?page=1'>Shop</a>")}
    for n in range(1, pages + 1):
        skus = [f"item-{n}-{k}" for k in range(per_page)]
        head = f"<link rel='next' href='/shop?page={n + 1}'>" if n < pages else ""
        pager = "<a rel='next' href='/shop?page=2'>Next</a>" if n == 1 and pages > 1 else "<button>More</button>"
        routes[f"/shop?page={n}"] = html("".join(f"<a href='/products/{sku}'>{sku}</a>" for sku in skus) + pager,
                                         head=head)
        routes.update({f"/products/{sku}": _product(sku) for sku in skus})
    return routes


def test_a_next_page_named_only_in_the_head_is_crawled(tmp_path):
    """Page 3, named only by page 2's ``<link rel="next">``, was never fetched, and nothing said so:
    4 of 6 products."""
    shop = FixtureShop(lambda base: _head_linked_pages(3))
    run, _, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p["sku"] for p in products) == sorted(f"item-{n}-{k}" for n in (1, 2, 3) for k in (0, 1)), shop.paths


def test_head_linked_next_pages_keep_the_listings_depth(tmp_path):
    """Seven pages, each named only by the one before it: a depth counted per page ended the category
    at the generic spider's depth limit of 4, as for a visible pager's next pages."""
    shop = FixtureShop(lambda base: _head_linked_pages(7, per_page=1))
    run, _, products = _crawl(shop, tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p["sku"] for p in products) == sorted(f"item-{n}-0" for n in range(1, 8)), shop.paths
