"""Text fields of crawled products: no control or bidi characters, bounded length, other text kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from vtonkit.crawlers.extract import extract_product
from vtonkit.crawlers.text_fields import MAX_ID_CHARS, MAX_TITLE_CHARS

REPO = Path(__file__).resolve().parents[1]
# C0 and C1 controls that are no line break, and the bidi characters that reorder what follows them
CONTROLS = "\u0000\u0007\u001b\u007f\u009b\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# names shops really write: CJK, Arabic, an emoji joined by ZWJ, a flag, accents
HUMAN_NAMES = ["女款 纯棉T恤", "ワンピース", "티셔츠", "قميص قطني", "Tee 👩\u200d👩\u200d👧 🇫🇷", "Café crème à pois", "Ñandú"]


def _page(name: str, sku: str, product_id: str, brand: str = "Acme") -> str:
    product = {"@type": "Product", "name": name, "sku": sku, "productID": product_id, "brand": brand,
               "image": "http://a.b/i.jpg", "offers": {"price": "19.90", "priceCurrency": "EUR"}}
    return f'<html><script type="application/ld+json">{json.dumps(product)}</script></html>'


def _hostile(word: str) -> str:
    return f"{word}\u0000\u0007\u202e{word}" + "y" * 20_000


def test_the_qa_probes_page_gives_clean_bounded_fields():
    """A JSON-LD name "Ctrl\\0\\a\\u202eTee" + 20,000 "y" reached products.jsonl verbatim, as did the SKU."""
    item = extract_product(_page(_hostile("Ctrl"), _hostile("SKU"), _hostile("ID"), brand=f"Ac{CONTROLS}me"),
                           "http://a.b/p")
    assert item.title == ("CtrlCtrl" + "y" * 20_000)[:MAX_TITLE_CHARS]
    assert item.sku == ("SKUSKU" + "y" * 20_000)[:MAX_ID_CHARS]
    assert item.product_id == ("IDID" + "y" * 20_000)[:MAX_ID_CHARS]
    assert item.brand == "Acme"


def test_controls_between_words_leave_one_space():
    item = extract_product(_page(f"Linen \u0000 shirt\r\nblue\u0085{CONTROLS}cotton", "AB-123", "p1"), "http://a.b/p")
    assert item.title == "Linen shirt blue cotton"


def test_names_in_any_script_are_kept():
    for name in HUMAN_NAMES:
        assert extract_product(_page(name, "AB-123", "p1", brand=name), "http://a.b/p").title == name
        assert extract_product(_page(name, "AB-123", "p1", brand=name), "http://a.b/p").brand == name


def test_extract_product_cli_prints_clean_fields(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(_page(_hostile("Ctrl"), _hostile("SKU"), _hostile("ID")), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "vtonkit", "extract-product", str(page), "--url", "http://a.b/p"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    product = json.loads(run.stdout)
    assert product["title"].startswith("CtrlCtrlyyy") and len(product["title"]) == MAX_TITLE_CHARS
    assert product["sku"].startswith("SKUSKUyyy") and len(product["sku"]) == MAX_ID_CHARS
    assert len(product["product_id"]) == MAX_ID_CHARS


def test_shopify_items_are_bounded_when_the_spider_emits_them(tmp_path):
    """products.json titles and SKUs never pass the page extraction; the spider's emit bounds them."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.spiders.shopify import ShopifySpider, product_from_shopify

    crawler = get_crawler(ShopifySpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    spider = ShopifySpider.from_crawler(crawler, url="https://shop.example")
    product = {"id": 7, "handle": "tee", "title": _hostile("Ctrl"), "vendor": f"Ac{CONTROLS}me",
               "variants": [{"sku": _hostile("SKU"), "price": "19.90", "available": True}]}
    (item,) = spider.emit(product_from_shopify(product, "https://shop.example", "shop", "EUR"))
    assert (item.title, item.brand) == (("CtrlCtrl" + "y" * 20_000)[:MAX_TITLE_CHARS], "Acme")
    assert item.sku == ("SKUSKU" + "y" * 20_000)[:MAX_ID_CHARS]
