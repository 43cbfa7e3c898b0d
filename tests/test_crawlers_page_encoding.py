"""A page's encoding in a crawl is the one `vtonkit extract-product` reads: a shop on 127.0.0.1 and
the real `vtonkit crawl`."""

from __future__ import annotations

import pytest

from tests.fixture_shops import Page, Routes, product_ld
from tests.test_crawlers_render import _crawl_shop

from vtonkit.crawlers.extract import extract_product

pytestmark = pytest.mark.slow

TITLE = "女士高腰阔腿裤"


def _page(title: str, sku: str, lang: str, head: str = "") -> str:
    offer = {"@type": "Offer", "price": 199, "priceCurrency": "CNY"}
    return (f"<!doctype html><html lang='{lang}'><head>{head}<title>{title}</title>"
            f"{product_ld(title, '/img/1.jpg', offer, sku=sku)}</head><body><h1>{title}</h1></body></html>")


def _shop(base: str) -> Routes:
    return {
        "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
        "/": Page(b"<html><body><a href='/products/gbk'>a</a><a href='/products/header'>b</a></body></html>"),
        # no charset anywhere: the page's language names its legacy encodings
        "/products/gbk": Page(_page(TITLE, "GBK-1", "zh-CN").encode("gbk"), "text/html"),
        # the header's charset wins over a guess from the bytes, as in a browser
        "/products/header": Page(_page("와이드 슬랙스", "KR-1", "en").encode("euc-kr"), "text/html; charset=euc-kr"),
    }


def test_an_undeclared_page_is_decoded_as_extract_product_decodes_it(tmp_path):
    """An undeclared GBK page with `lang="zh-CN"` was decoded by Scrapy's guess (ISO-8859-5) in a
    crawl: title 'ХЎЪПИпбќРЋЭШПу', category other; extract-product of the same bytes read it right."""
    _, _, products, _, _ = _crawl_shop(_shop, "generic", tmp_path, "--render", "never")
    titles = {product["sku"]: (product["title"], product["category"]) for product in products}
    assert titles["GBK-1"] == (TITLE, "lower"), titles
    assert titles["KR-1"][0] == "와이드 슬랙스", titles
    saved = extract_product(_shop("")["/products/gbk"].body, "http://127.0.0.1/products/gbk")
    assert (saved.title, saved.category) == titles["GBK-1"]
