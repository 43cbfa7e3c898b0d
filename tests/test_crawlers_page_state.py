"""Products read from a page's application state (crawlers/page_state.py) through `extract_product`,
the spiders' own code path: no browser, no schema.org markup on the page."""

from __future__ import annotations

import json
import time

from vtonkit.crawlers.extract import extract_product, is_product_page
from vtonkit.crawlers.page_state import names_the_page


def _next_page(title: str, data: dict | str, lang: str = "en", body: str = "") -> str:
    state = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"<html lang='{lang}'><head><title>{title}</title><script id='__NEXT_DATA__' type='application/json'>"
            f"{state}</script></head><body><div id='__next'>{body}</div></body></html>")


def test_a_next_js_product_page_without_markup():
    """The page's product beside a related one whose name is part of the title: the page's wins."""
    data = {"props": {"pageProps": {
        "related": [{"name": "Midi skirt", "price": 30, "image": "/img/b.jpg"}],
        "product": {"id": 123, "name": "Pleated midi skirt", "sku": "PMS-01", "price": {"amount": 59.9, "currency": "EUR"},
                    "images": [{"url": "/img/a.jpg"}], "brand": {"name": "Acme"}}}}}
    item = extract_product(_next_page("Pleated midi skirt | Acme", data, body="<h1>Pleated midi skirt</h1>"),
                           "https://acme.example/p/pleated-midi-skirt")
    assert is_product_page(item) and item.sources["product"] == "page-state"
    assert (item.title, item.sku, item.price, item.currency, item.brand, item.category) == (
        "Pleated midi skirt", "PMS-01", 59.9, "EUR", "Acme", "lower")
    assert item.image_urls == ["https://acme.example/img/a.jpg"]


def test_a_listing_state_is_not_a_product():
    data = {"props": {"pageProps": {"products": [
        {"name": f"Skirt {n}", "price": 20 + n, "image": f"/img/{n}.jpg"} for n in range(10)]}}}
    assert extract_product(_next_page("Skirts | Acme", data), "https://acme.example/c/skirts") is None


def test_a_korean_app_shell_with_a_preloaded_state():
    """The sale price (what it costs now), the shop's own key names, an empty root element."""
    state = {"product": {"productName": "와이드 슬랙스", "salePrice": 39000, "consumerPrice": 49000,
                         "representImage": {"url": "https://cdn.example/slacks.jpg"}, "productCode": "WS-100"}}
    page = ("<html lang='ko'><head><title>와이드 슬랙스 : 샘플스토어</title></head><body><div id='root'></div>"
            f"<script>window.__PRELOADED_STATE__ = {json.dumps(state, ensure_ascii=False)};</script></body></html>")
    item = extract_product(page, "https://store.example/products/123")
    assert is_product_page(item)
    assert (item.title, item.sku, item.price, item.category) == ("와이드 슬랙스", "WS-100", 39000.0, "lower")
    assert item.image_urls == ["https://cdn.example/slacks.jpg"]


def test_a_state_assigned_through_json_parse():
    state = {"goods": {"goodsNm": "リネンシャツ", "price": "6,900", "currency": "JPY", "img": ["/g/1.jpg"]}}
    literal = json.dumps(json.dumps(state, ensure_ascii=False), ensure_ascii=False)  # a JS string literal
    page = ("<html lang='ja'><head><title>リネンシャツ｜ショップ</title></head><body><div id='app'></div>"
            f"<script>window.__INITIAL_STATE__ = JSON.parse({literal});</script></body></html>")
    item = extract_product(page, "https://shop.example/goods/1")
    assert is_product_page(item)
    assert (item.title, item.price, item.currency, item.category) == ("リネンシャツ", 6900.0, "JPY", "upper")


def test_schema_org_markup_still_decides_first():
    data = {"props": {"pageProps": {"product": {"name": "Wrap dress", "price": 1, "image": "/img/x.jpg"}}}}
    ld = {"@context": "https://schema.org", "@type": "Product", "name": "Wrap dress", "image": "/img/y.jpg",
          "offers": {"@type": "Offer", "price": 79, "priceCurrency": "EUR"}}
    page = _next_page("Wrap dress", data).replace(
        "</head>", f"<script type='application/ld+json'>{json.dumps(ld)}</script></head>")
    item = extract_product(page, "https://acme.example/p/wrap-dress")
    assert item.sources["product"] == "json-ld" and item.price == 79.0


def test_hostile_states_end_quickly_and_yield_nothing():
    deep = '{"child":' * 5000 + "{}" + "}" * 5000  # deeper than the JSON parser's recursion limit
    wide = '{"child":' * 900 + '{"name": "Tee", "price": 1, "image": "/t.jpg"}' + "}" * 900  # parsed, walked flat
    broken = "<script>window.__INITIAL_STATE__ = {\"product\": {\"name\": \"Tee\", </script>"
    started = time.perf_counter()
    for page in (_next_page("Tee", deep), f"<html><head><title>Tee</title></head><body>{broken}</body></html>",
                 _next_page("Tee", {"a": [[[[[]]]]] * 100_000})):
        assert extract_product(page, "https://shop.example/p/tee") is None
    assert extract_product(_next_page("Tee", wide), "https://shop.example/p/tee").title == "Tee"
    assert time.perf_counter() - started < 30  # generous: these took seconds-long walks to go wrong


def test_a_name_is_the_page_title_not_a_word_of_it():
    assert names_the_page("Pleated midi skirt", ["Pleated midi skirt | Acme"])
    assert names_the_page("花柄ワンピース", ["花柄ワンピース｜ショップ"])
    assert not names_the_page("Skirt", ["Skirts and dresses for summer | Acme"])
    assert not names_the_page("Midi skirt", ["Pleated midi skirt in washed cotton, made in Portugal | Acme"])
