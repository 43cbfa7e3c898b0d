"""Units of the crawlers: categories, prices, image checks, garment-shot analysis, Chromium lookup."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vtonkit.crawlers.browser import ENV_VAR, ChromiumNotFound, find_chromium
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.demo_store.drawing import KINDS, GarmentSpec, draw_garment
from vtonkit.crawlers.demo_store.server import huge_png
from vtonkit.crawlers.garment_shot import analyse_shot
from vtonkit.crawlers.image_facts import ImageRejected, inspect_image, is_near_duplicate
from vtonkit.crawlers.prices import MAX_PRICE_TEXT, currency_code, parse_price

from tests.conftest import shared_path


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Slim fit jeans - azzurro scuro", "lower"),
        ("Chino-Hose Beige", "lower"),
        ("Pantalon large en lin", "lower"),
        ("Jupe plissée", "lower"),
        ("Denim skirt", "lower"),
        ("Falda midi", "lower"),
        ("Bermuda shorts", "lower"),
        ("Sommerkleid mit Blumen", "dresses"),  # German compounds: the garment is the last part
        ("Jeanshose Slim", "lower"),
        ("Whose bag is this", "other"),  # ...but "whose" is no "hose"
        ("Kleid schwarz", "dresses"),
        ("Vestido largo", "dresses"),
        ("Robe droite", "dresses"),
        ("Shirt dress", "dresses"),
        ("Short-sleeved T-shirt", "upper"),  # "short" sleeve is not shorts
        ("Hoodie oversize", "upper"),
        ("Chemise en lin", "upper"),
        ("Teen backpack", "other"),  # "tee" must not match "teen"
        ("تيشيرت بشعار الماركة", "upper"),
        ("Leather belt", "other"),
        # "dress" before another garment or a shoe is a style, and a garment word before an
        # accessory names the accessory's use
        ("Dress Pants", "lower"),
        ("Pleated dress trousers", "lower"),
        ("Dress shirt", "upper"),
        ("Dress Shoes", "other"),
        ("Leather Jeans Belt", "other"),
        ("Denim Skirt Hanger", "other"),
        ("Skirt with belt", "lower"),
    ],
)
def test_title_keywords_in_several_languages(title, category):
    assert normalise_category(title=title) == category


@pytest.mark.parametrize(
    ("title", "language", "category"),
    [
        # words that alone name no garment: denim is jeans, a jacket or a skirt; 베스트 is a vest or "best"
        ("デニム", "ja", "other"),
        ("デニムジャケット", "ja", "upper"),
        ("デニムスカート", "ja", "lower"),
        ("베스트", "ko", "other"),
        ("베스트 셀러 와이드 슬랙스", "ko", "lower"),
        ("니트 베스트", "ko", "upper"),
        ("Short sleeve", "en", "other"),
        ("Short sleeve shirt", "en", "upper"),
        ("Denim shorts", "en", "lower"),
        # a "-rock" is a skirt or music: it loses to an unambiguous garment word
        ("Damen Rock", "de", "other"),
        ("Lederrock", "de", "lower"),
        ("Punkrock Band T-Shirt", "de", "upper"),
        ("Hardrock Cafe Tee", "en", "upper"),
        # jeans before a top are its fabric, and the top is still the garment
        ("Denim jacket", "en", "upper"),
        ("Jean jacket", "en", "upper"),
        ("Jeansjacke", "de", "upper"),
        ("Veste en jean", "fr", "upper"),
        ("Jupe en jean", "fr", "lower"),
        ("Mom jeans", "en", "lower"),
    ],
)
def test_ambiguous_words_need_context_or_lose_to_an_unambiguous_one(title, language, category):
    assert normalise_category(title=title, language=language) == category


def test_sources_are_tried_most_specific_first():
    # the breadcrumb's last crumb beats the title; product type beats both
    assert normalise_category(breadcrumbs=["Damen", "Röcke"], title="Sommer Basic") == "lower"
    assert normalise_category(breadcrumbs=["Damen", "Kleider", "Sommerkleid"], title="x") == "dresses"
    assert normalise_category(product_type="Jeans", title="Bestseller Tee") == "lower"
    assert normalise_category(url="https://shop.example/women/dresses/p-123") == "dresses"


@pytest.mark.parametrize(
    ("raw", "hint", "expected"),
    [
        ("€39.30", None, (39.3, "EUR")),
        ("7,95 EUR", None, (7.95, "EUR")),
        ("£1,299.00", None, (1299.0, "GBP")),
        ("99", "ر.س", (99.0, "SAR")),
        (49.99, "EUR", (49.99, "EUR")),
        ("", "USD", (None, "USD")),
        # symbols price-parser leaves raw or misses: always an ISO code, never "원"
        ("39,000원", None, (39000.0, "KRW")),
        ("299元", None, (299.0, "CNY")),
        ("售价：299元", None, (299.0, "CNY")),
        ("NT$1,280", None, (1280.0, "TWD")),
        ("390.000đ", None, (390000.0, "VND")),
        ("Rp 150.000", None, (150000.0, "IDR")),
        # CJK number units, and a text whose units do not parse gives no amount (not 9)
        ("2만9천원", None, (29000.0, "KRW")),
        ("2만 9,900원", None, (29900.0, "KRW")),
        ("1.5万円", None, (15000.0, "JPY")),
        ("9천2만원", None, (None, "KRW")),
        ("39,000원 (5만원 이상 무료배송)", None, (39000.0, "KRW")),  # the units belong to the shipping note
        # Japanese pages beside the price before tax: the one the customer pays is marked 税込
        ("¥3,000(税抜) ¥3,300(税込)", None, (3300.0, "JPY")),
        ("本体価格 3,000円 (税込 3,300円)", None, (3300.0, "JPY")),
        ("￥3,300（税込）", None, (3300.0, "JPY")),
        # a shared symbol defers to the shop's ISO code; an unambiguous one does not
        ("$49.99", "CAD", (49.99, "CAD")),
        ("¥299", "CNY", (299.0, "CNY")),
        ("€49", "USD", (49.0, "EUR")),
    ],
)
def test_prices_and_currencies(raw, hint, expected):
    assert parse_price(raw, hint) == expected


@pytest.mark.parametrize(
    ("raw", "language", "expected"),
    [
        ("¥1,980", "ja", (1980.0, "JPY")),
        ("¥299", "zh-Hans", (299.0, "CNY")),
        ("￥299", "zh-Hant", (299.0, "CNY")),
        ("¥299", None, (299.0, "JPY")),
        ("199 kr", "sv", (199.0, "SEK")),
        ("199 kr", "da", (199.0, "DKK")),
        ("199元", "zh-Hans", (199.0, "CNY")),
        ("199元", "zh-Hant", (199.0, "TWD")),  # 元 in Taiwan is the New Taiwan dollar
        ("399港元", "zh-Hant", (399.0, "HKD")),
    ],
)
def test_the_page_language_settles_a_shared_symbol(raw, language, expected):
    assert parse_price(raw, None, language) == expected


def test_a_megabyte_price_is_read_by_its_start():
    """A hostile page's huge "price" costs no more than a short one (the number searches were quadratic)."""
    assert parse_price("1" * 1_000_000) == (float("1" * MAX_PRICE_TEXT), None)
    assert parse_price("2만" * 200_000 + "원") == (None, None)  # units out of order within the first 200


def test_an_infinite_or_undefined_amount_is_no_price():
    """A JSON-LD price of 1e999 parses as infinity; it used to reach the currency search beside the
    amount, which formats it and crashed `extract-product` (ValueError)."""
    for raw in (float("inf"), float("-inf"), float("nan"), "Infinity", "NaN"):
        assert parse_price(raw, "EUR")[0] is None, raw
    page = (b'<html><head><script type="application/ld+json">{"@type":"Product","name":"Shirt",'
            b'"offers":{"price":1e999,"priceCurrency":null}}</script></head><body>Shirt</body></html>')
    from vtonkit.crawlers.extract import extract_product

    item = extract_product(page, "http://127.0.0.1/p/1")
    assert item.title == "Shirt" and item.price is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("١٢٫٥٠", 12.5),  # Arabic-Indic digits, U+066B the Arabic decimal separator
        ("۱۲٫۵", 12.5),  # Extended Arabic-Indic (Persian) digits
        ("AED ١٬٢٣٤٫٥٠", 1234.5),  # U+066C the Arabic thousands separator
        ("١٢٫٥٠٠", 12.5),  # U+066B is always the decimal point, never a German thousands dot
        ("١٬٢٣٤ د.إ", 1234.0),
        # numbers price-parser stops reading inside give no amount, not their first digit
        ("1e3", None),
        ("1e309", None),
        ("1_000", None),
        ("12,5e3 €", None),
    ],
)
def test_arabic_separators_and_numbers_read_part_way(raw, expected):
    assert parse_price(raw, "AED")[0] == expected


def test_a_json_ld_price_with_arabic_separators_is_read_whole():
    """The QA probe's page: `extract-product` gave 12.0 for "١٢٫٥٠" and 1.0 for "1e3"."""
    from vtonkit.crawlers.extract import extract_product

    def price_of(price: str) -> float | None:
        page = ('<html><script type="application/ld+json">{"@type":"Product","name":"T","image":"http://a.b/i.jpg",'
                f'"offers":{{"price":"{price}","priceCurrency":"AED"}}}}</script></html>')
        return extract_product(page, "http://a.b/p").price

    assert [price_of(p) for p in ("١٢٫٥٠", "AED ١٬٢٣٤٫٥٠", "1e3", "1_000", "1e309")] == [12.5, 1234.5, None, None, None]


def test_an_xml_document_is_no_product_without_a_traceback(caplog):
    """extruct's "log" mode printed a whole traceback for an XML page (no <head> for OpenGraph);
    each syntax now runs strict on its own and a failure is one INFO line."""
    import logging

    from vtonkit.crawlers.evidence import read_evidence

    page = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            '<html><head><title>&b;</title></head></html>')
    with caplog.at_level(logging.INFO):
        evidence = read_evidence(page, "http://127.0.0.1/p/1")
    assert evidence.microdata == [] and evidence.json_ld == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], caplog.records
    og = read_evidence('<html><head><meta property="og:title" content="Shirt"></head><body>'
                       '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Shirt</span>'
                       '</div></body></html>', "http://127.0.0.1/p/2")
    assert og.meta.get("og:title") == "Shirt" and len(og.microdata) == 1


def test_an_xhtml_page_is_read_as_html():
    """A page that starts with an XML declaration (XHTML) was parsed as namespaced XML: no <meta> matched,
    so its OpenGraph product was "no product data found"."""
    from vtonkit.crawlers.extract import extract_product

    page = (b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
            b'<meta property="og:type" content="product"/><meta property="og:title" content="Linen Shirt"/>'
            b'<meta property="product:price:amount" content="19.99"/>'
            b'<meta property="product:price:currency" content="EUR"/></head><body><h1>Linen Shirt</h1></body></html>')
    item = extract_product(page, "https://shop.example/p/1")
    assert item is not None and (item.title, item.price, item.currency) == ("Linen Shirt", 19.99, "EUR")


def test_currency_codes():
    assert currency_code("€") == "EUR" and currency_code("eur") == "EUR" and currency_code("CHF") == "CHF"
    assert currency_code(None) is None
    # three letters that look like ISO codes and are not (shops write them in priceCurrency)
    assert [currency_code(c) for c in ("RMB", "NTD", "YEN", "WON")] == ["CNY", "TWD", "JPY", "KRW"]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_checks_reject_non_images_tiny_images_and_bombs():
    with pytest.raises(ImageRejected) as err:
        inspect_image(b"<html>not an image</html>")
    assert err.value.reason == "not-an-image"
    with pytest.raises(ImageRejected) as err:
        inspect_image(_png(Image.new("RGB", (64, 64))))
    assert err.value.reason == "too-small"
    with pytest.raises(ImageRejected) as err:
        inspect_image(huge_png())
    assert err.value.reason == "too-large"


def test_near_duplicates_need_the_same_picture_and_the_same_colours():
    skirt = draw_garment(GarmentSpec("skirt", "#b0302c", seed=5))
    other_colour = draw_garment(GarmentSpec("skirt", "#1f2a44", seed=5))
    original = inspect_image(_png(Image.fromarray(skirt)))
    smaller = Image.fromarray(skirt).resize((600, 800))
    buffer = io.BytesIO()
    smaller.save(buffer, format="JPEG", quality=75)
    assert is_near_duplicate(original, inspect_image(buffer.getvalue()))
    assert not is_near_duplicate(original, inspect_image(_png(Image.fromarray(other_colour))))


def test_a_colour_variant_with_the_same_phash_is_not_a_near_duplicate(vitonhd: Path):
    """Red and blue swapped: the 64-bit pHash is the same, the colour signatures differ by 24 levels."""
    cloth = Image.open(vitonhd / "train/cloth/00000_00.jpg").convert("RGB")
    original = inspect_image(_png(cloth))
    variant = inspect_image(_png(Image.fromarray(np.asarray(cloth)[..., ::-1].copy())))
    assert variant.phash == original.phash
    assert not is_near_duplicate(original, variant)
    copy = io.BytesIO()
    cloth.resize((384, 512)).save(copy, format="JPEG", quality=60)
    assert is_near_duplicate(original, inspect_image(copy.getvalue()))


@pytest.mark.parametrize("kind", KINDS)
def test_drawn_garments_are_plausible_product_shots(kind):
    rgb = draw_garment(GarmentSpec(kind, "#2f4370", fabric="denim", seed=1))
    assert rgb.shape == (1024, 768, 3) and rgb.dtype == np.uint8
    assert np.array_equal(
        rgb, draw_garment(GarmentSpec(kind, "#2f4370", fabric="denim", seed=1))
    )  # deterministic
    garment = np.abs(rgb.astype(int) - 255).sum(-1) > 60
    assert 0.08 < garment.mean() < 0.6  # a garment, centred, on a light background
    assert not garment[:8].any() and not garment[:, :8].any()


def test_garment_shot_analysis_on_real_vitonhd_and_dresscode_images():
    vitonhd = shared_path("data", "vitonhd", "test")
    dresscode = shared_path("data", "dresscode")
    garments = sorted((vitonhd / "cloth").glob("*.jpg"))[:3] + sorted(dresscode.glob("*/images/*_1.jpg"))[:3]
    models = sorted((vitonhd / "image").glob("*.jpg"))[:3] + sorted(dresscode.glob("*/images/*_0.jpg"))[:3]
    assert len(garments) == 6 and len(models) == 6
    for path in garments:
        assert analyse_shot(Image.open(path)).is_garment_shot, path
    for path in models:
        assert not analyse_shot(Image.open(path)).is_garment_shot, path


def test_transparent_background_counts_as_plain():
    rgba = np.zeros((400, 300, 4), np.uint8)
    rgba[80:320, 60:240] = (30, 60, 160, 255)  # an opaque garment-coloured block
    analysis = analyse_shot(Image.fromarray(rgba, "RGBA"))
    assert analysis.plain_border == 1.0 and analysis.is_garment_shot


def test_chromium_lookup_honours_the_environment_variable(tmp_path, monkeypatch):
    not_executable = tmp_path / "chromium"
    not_executable.write_text("#!/bin/sh\n")
    monkeypatch.setenv(ENV_VAR, str(not_executable))
    with pytest.raises(ChromiumNotFound, match="not an executable.*apt-get install"):
        find_chromium()
    not_executable.chmod(not_executable.stat().st_mode | stat.S_IXUSR)
    assert find_chromium() == Path(not_executable)
    monkeypatch.delenv(ENV_VAR)
    if os.access("/usr/bin/chromium", os.X_OK):
        assert find_chromium() == Path("/usr/bin/chromium")


def test_skin_rule_without_mediapipe_on_the_demo_photos():
    static = Path(__file__).resolve().parents[1] / "crawlers" / "demo_store" / "static"
    person = analyse_shot(Image.open(static / "persons" / "tada_photo.jpg"), person_detector="skin")
    garment = analyse_shot(Image.open(static / "garments" / "ruby_polo.jpg"), person_detector="skin")
    assert not person.is_garment_shot and garment.is_garment_shot
    assert person.pose_visibility == 0.0  # MediaPipe was not asked
    with pytest.raises(ValueError, match="person_detector"):
        analyse_shot(Image.open(static / "persons" / "t5.jpg"), person_detector="yolo")


def test_a_copy_superseded_after_its_product_completed_counts_as_near_duplicate(tmp_path: Path) -> None:
    """Download order must not change the counts: the smaller copy was kept (and counted) before the
    larger one arrived; closing the crawl moves it from kept to near-duplicate and drops its file."""
    from collections import Counter
    from types import SimpleNamespace

    from vtonkit.crawlers.pipelines import CATALOG_JSONL, drop_superseded

    small, large = "images/upper/aaa.jpg", "images/upper/bbb.jpg"
    for path in (small, large):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"jpeg")
    (tmp_path / CATALOG_JSONL).write_text(
        "".join(f'{{"path": "{p}", "category": "upper"}}\n' for p in (small, large)), encoding="utf-8"
    )
    report = SimpleNamespace(images=Counter(upper=2), image_status=Counter(kept=2))
    drop_superseded(tmp_path, {small: large}, report)
    assert report.image_status == Counter(kept=1, **{"near-duplicate": 1})
    assert report.images == Counter(upper=1)
    assert not (tmp_path / small).exists() and (tmp_path / large).exists()
    assert (tmp_path / CATALOG_JSONL).read_text(encoding="utf-8").count("\n") == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mall.example/product/detail.html?product_no=101", True),  # Cafe24
        ("https://mall.example/product/wide-pants/101/category/24/display/1/", True),
        ("https://mall.example/goods/goods_view.php?goodsNo=7", True),  # Godomall
        ("https://shop.example/products/minimalist-tee", True),
        ("https://shop.example/items/list-dress", True),
        # one script shows every product, a parameter picks it: Youngcart, Imweb, Taobao-like shops
        ("https://mall.example/shop/item.php?it_id=1600000001", True),
        ("https://mall.example/shop_view/?idx=21", True),
        ("https://shop.example/item.htm?id=520001", True),
        ("https://shop.example/item.htm", False),
        ("https://mall.example/shop/list.php?ca_id=20", False),
        # listings those platforms keep under product-like paths: no browser time, no "missing product"
        ("https://mall.example/product/list.html?cate_no=24", False),
        ("https://mall.example/goods/goods_list.php?cateCd=001", False),
        ("https://shop.example/products/search", False),
        ("https://shop.example/products/", False),
    ],
)
def test_generic_spider_tells_product_urls_from_listings(url, expected):
    from vtonkit.crawlers.url_roles import expected_product_url

    assert expected_product_url(url) is expected


def test_url_roles_next_listing_pages_and_views():
    from vtonkit.crawlers.url_roles import is_next_listing_page, page_number, view_query

    listing = "https://mall.example/product/list.html?cate_no=24"
    assert is_next_listing_page("https://mall.example/product/list.html?cate_no=24&page=2", listing)
    assert is_next_listing_page("https://mall.example/product/list.html?page=3&cate_no=24", listing)
    assert not is_next_listing_page("https://mall.example/product/list.html?cate_no=25&page=2", listing)
    assert not is_next_listing_page("https://mall.example/product/detail.html?product_no=1&cate_no=24", listing)
    assert is_next_listing_page("https://shop.example/women/pants/page/2/", "https://shop.example/women/pants/")
    assert page_number("https://shop.example/women/pants/page/7/") == 7 and page_number(listing) is None
    # item ids and page numbers are not part of the view; facets and sorts are
    assert view_query("product_no=101&cate_no=24&display_group=1") == "display_group=1"
    assert view_query("goodsNo=7") == view_query("id=42") == view_query("page=3") == ""
    assert view_query("cateCd=001&page=2") == view_query("xcode=001&page=4") == ""  # Godomall, Makeshop listings
    assert view_query("sort=price&color=red&size=m") == "color=red&size=m&sort=price"
    assert view_query("color=red&page=2") == "color=red&page=2"  # each page of a filtered view counts
    assert view_query("sessionid=abc") == "sessionid=abc"
    # only a plain listing's pages stay at its depth: not those of a filtered one
    assert not is_next_listing_page("https://shop.example/shop?color=red&page=2", "https://shop.example/shop?color=red")


@pytest.mark.parametrize(
    ("href", "skipped"),
    [
        ("/?add-to-cart=123", True),  # WooCommerce: fetching it puts the product in a cart
        ("/shop/page/2/?add-to-cart=123", True),
        ("/order/basket.html", True),  # Cafe24
        ("/order/cart.php", True),  # Godomall
        ("/member/login.html?returnUrl=%2Fproduct%2F1", True),
        ("/myshop/index.html", True),
        ("/mypage/order_list.php", True),
        ("/board/product/list.html?board_no=4&page=812", True),  # a mall's review board: thousands of pages
        ("/customer/account/login/", True),  # Magento
        ("/my-account/", True),
        ("/blog/feed/", True),
        ("/wp-login.php?action=lostpassword", True),
        ("/blog/post/?replytocom=17", True),
        ("/img/dress.jpg?v=2", True),
        ("mailto:shop@example.com", True),
        ("/products/wrap-dress", False),
        ("/product/detail.html?product_no=101&cate_no=24", False),
        ("/collections/dresses?page=2", False),
        ("/shop/page/2/", False),
        ("/bags/tote", False),
        ("/ordering-guide-and-sizes", False),
        ("/boards-and-skates", False),
    ],
)
def test_links_a_crawl_never_follows(href, skipped):
    from vtonkit.crawlers.url_roles import not_for_crawling

    assert not_for_crawling(href) is skipped


def _links(url: str, body: bytes) -> list[str]:
    """The generic spider's `links` of a real Scrapy response for `body` at `url`."""
    from scrapy.http import HtmlResponse, Request
    from vtonkit.crawlers.spiders.generic import GenericSpider

    from urllib.parse import urlsplit

    response = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url))
    store = urlsplit(url)
    return GenericSpider(url=f"{store.scheme}://{store.netloc}").links(response)


def test_product_cards_that_navigate_by_script_are_followed():
    """Korean malls often make a whole card clickable by script instead of a link; the spider's own
    `links` (a real Scrapy response) follows them, still never into a cart."""
    body = (
        "<ul class='prdList'><li onclick=\"location.href='/product/detail.html?product_no=7'\">와이드 팬츠</li>"
        "<li onclick='javascript:window.location = \"/goods/goods_view.php?goodsNo=8\"; return false;'>슬랙스</li>"
        "<div class='card' data-href='/goods/9'>니트</div><a href='/p/1'>셔츠</a>"
        "<button onclick='addCart(3)'>장바구니</button><span onclick=\"location.href='/order/basket.html'\">basket</span>"
        "<li onclick=\"window.open('/product/detail.html?product_no=10', '_blank')\">원피스</li></ul>"
    ).encode()
    assert _links("https://mall.example/product/list.html?cate_no=24", body) == [
        "https://mall.example/p/1",
        "https://mall.example/product/detail.html?product_no=7",
        "https://mall.example/goods/goods_view.php?goodsNo=8",
        "https://mall.example/product/detail.html?product_no=10",
        "https://mall.example/goods/9",
    ]


def test_links_lose_their_tracking_parameters_and_nofollow_facets():
    """Shopify's recommendations link each product with a fresh ``_sid``/``pr_rec_id``: a 12-product
    store took 517 requests (one page 64 times) until the trap rule stopped it. Facet links the shop
    marks nofollow were followed too."""
    body = (
        "<a href='/products/tee?_pos=2&_sid=8f1c2&_ss=r&pr_rec_id=5d0e'>tee</a>"
        "<a href='/products/tee?_pos=1&_sid=77aa1&_ss=r&pr_rec_id=9c3f'>tee again</a>"
        "<a href='/products/skirt?utm_source=mail&utm_medium=email&variant=4411'>skirt</a>"
        "<a href='/item.htm?id=42&spm=a1z10.1-c.w4004'>dress</a>"
        "<a rel='nofollow' href='/collections/tops?color=red&size=m'>red, M</a>"
        "<a rel='nofollow' href='/pages/size-guide'>size guide</a>"
    ).encode()
    assert _links("https://shop.example/products/jacket", body) == [
        "https://shop.example/products/tee",
        "https://shop.example/products/skirt?variant=4411",
        "https://shop.example/item.htm?id=42",
        "https://shop.example/pages/size-guide",
    ]


def test_a_single_page_apps_answer_for_a_sitemap_is_no_sitemap(tmp_path):
    """A single-page app answers /sitemap.xml with its HTML shell (status 200): the guessed sitemap
    was a page error "unreadable sitemap: " with no reason; one robots.txt announces is still one."""
    from scrapy.http import HtmlResponse, Request, TextResponse
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.report import report_for
    from vtonkit.crawlers.spiders.generic import GenericSpider

    crawler = get_crawler(GenericSpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    spider = GenericSpider.from_crawler(crawler, url="https://app.example")
    robots_url = "https://app.example/robots.txt"
    robots = TextResponse(robots_url, body=b"User-agent: *\nAllow: /\n", request=Request(robots_url))
    (guessed,) = spider.parse_robots(robots)
    shell = b"<!DOCTYPE html><html><head><title>Shop</title></head><body><div id=app></div></body></html>"
    assert list(spider.parse_sitemap(HtmlResponse(guessed.url, body=shell, request=guessed))) == []
    assert report_for(crawler).page_errors == []
    announced = Request("https://app.example/sitemap_products_1.xml")
    assert list(spider.parse_sitemap(HtmlResponse(announced.url, body=shell, request=announced))) == []
    assert [e["reason"] for e in report_for(crawler).page_errors] == ["not a sitemap: the server answers with an HTML page"]


def test_sitemap_entries_lose_their_tracking_parameters(tmp_path):
    """`/products/denim-shorts?utm_source=sitemap` was requested as listed: links found on pages lose
    their tracking parameters, sitemap entries kept them."""
    from scrapy.http import Request, XmlResponse
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.spiders.generic import GenericSpider

    crawler = get_crawler(GenericSpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    spider = GenericSpider.from_crawler(crawler, url="https://shop.example")
    sitemap = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               b"<url><loc>https://shop.example/products/denim-shorts?utm_source=sitemap&amp;utm_medium=seo</loc></url>"
               b"<url><loc>https://shop.example/products/skirt?variant=4411&amp;utm_campaign=x</loc></url></urlset>")
    request = Request("https://shop.example/sitemap.xml")
    urls = [r.url for r in spider.parse_sitemap(XmlResponse(request.url, body=sitemap, request=request))]
    assert urls == ["https://shop.example/products/denim-shorts", "https://shop.example/products/skirt?variant=4411"]


def test_the_category_filter_counts_products_not_visits(tmp_path):
    """`--category lower` on a store whose tops are each reached three ways said "category-filter: 19"
    for 6 tops: it counted every visit before telling the same product apart."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.items import ProductItem
    from vtonkit.crawlers.report import report_for
    from vtonkit.crawlers.spiders.generic import GenericSpider

    crawler = get_crawler(GenericSpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    spider = GenericSpider.from_crawler(crawler, url="https://mall.example", category="lower")
    visits = [ProductItem(store="generic", url=f"https://mall.example/product/detail.html?product_no=11&cate_no={c}",
                          canonical_url="https://mall.example/product/tee/11/", sku="TEE-11", category="upper")
              for c in (1, 24, 25)]
    visits.append(ProductItem(store="generic", url="https://mall.example/product/detail.html?product_no=14",
                              sku="SL-14", category="lower"))
    emitted = [item for visit in visits for item in spider.emit(visit)]
    assert [item.sku for item in emitted] == ["SL-14"]
    skipped = report_for(crawler).skipped
    assert (skipped["category-filter"], skipped["duplicate-product"]) == (1, 2)


def test_malformed_addresses_on_a_page_cost_only_themselves():
    """An unclosed IPv6 bracket ("http://[::1/p") in a canonical link, og:url, og:image, a JSON-LD image,
    a listing link or the page's own URL raised ValueError out of extraction (the whole page lost,
    `extract-product` a traceback) and out of the spider's link collection (the listing lost)."""
    from scrapy.http import HtmlResponse, Request
    from vtonkit.crawlers.extract import extract_product
    from vtonkit.crawlers.spiders.generic import GenericSpider

    page = ('<html><head><link rel="canonical" href="http://[::1/p"><meta property="og:url" content="http://[::1/p">'
            '<meta property="og:image" content="http://[x/og.jpg"><script type="application/ld+json">'
            '{"@type":"Product","name":"Shirt","image":["http://[x/a.jpg","/img/b.jpg"],'
            '"offers":{"price":"19.99","priceCurrency":"EUR"}}</script></head><body>Shirt</body></html>').encode()
    item = extract_product(page, "https://shop.example/p/1")
    assert (item.title, item.price, item.currency) == ("Shirt", 19.99, "EUR")
    assert item.canonical_url is None and item.image_urls == ["https://shop.example/img/b.jpg"]
    assert extract_product(page, "http://[::1").title == "Shirt"
    url = "https://mall.example/list"
    body = b"<a href='http://[::1/p'>x</a><a href='/p/1'>y</a><a class='next' href='http://[z/'>next</a>"
    response = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url))
    assert GenericSpider(url="https://mall.example").links(response) == ["https://mall.example/p/1"]


@pytest.mark.parametrize(
    ("url", "product"),
    [
        ("https://mall.example/product/detail.html?product_no=101&cate_no=24", "101"),  # Cafe24
        ("https://mall.example/product/wide-pants/101/category/24/display/1/", "101"),
        ("https://mall.example/goods/goods_view.php?goodsNo=7", "7"),  # Godomall
        ("https://mall.example/shop/shopdetail.html?branduid=123456&xcode=001", "123456"),  # Makeshop
        ("https://shop.example/products/wide-pants", "wide-pants"),
        ("https://shop.example/", None),
    ],
)
def test_the_product_a_url_names(url, product):
    """Not the page's file name ("detail", "goods_view", "shopdetail": every product of the mall)."""
    from vtonkit.crawlers.url_roles import product_in_url

    assert product_in_url(url) == product


def test_one_product_page_reached_from_two_categories_is_one():
    from vtonkit.crawlers.url_roles import product_identity

    assert (product_identity("https://mall.example/product/detail.html?product_no=101&cate_no=24&display_group=1")
            == product_identity("https://mall.example/product/detail.html?cate_no=1&product_no=101"))
    assert (product_identity("https://mall.example/product/wide-pants/101/category/24/display/1/")
            == product_identity("https://mall.example/product/wide-pants/101/category/1/display/2/"))
    assert product_identity("https://shop.example/women/wide") != product_identity("https://shop.example/men/wide")


@pytest.mark.parametrize("script, param", [
    ("/shop/item.php", "it_id"), ("/shop_view/", "idx"), ("/product/view.php", "no"), ("/goods/detail", "gno"),
    ("/item", "prdNo"), ("/detail.asp", "pcode"), ("/view", "sku"), ("/shop/view", "style_no"),
])
def test_products_one_script_shows_by_a_parameter_stay_apart(script, param):
    """Youngcart (`item.php?it_id=1001`), Imweb (`/shop_view/?idx=12`) and other shops show every
    product with one script and a parameter that only the identity's short list missed: five
    products crawled as one, four dropped as duplicates. Category and tracking parameters still go."""
    from vtonkit.crawlers.url_roles import product_identity, product_in_url

    first, second = (f"https://mall.example{script}?{param}={n}" for n in (1001, 1002))
    assert product_identity(first) != product_identity(second)
    assert product_identity(f"{first}&cate_no=24&utm_source=mail") == product_identity(first)
    assert product_in_url(first) == "1001"


def test_a_resumed_catalog_drops_the_line_a_killed_run_cut_short(tmp_path: Path):
    """A kill -9 can stop a crawl mid-write; appending after it used to merge the next record into
    the broken one, and the whole catalog then failed to load at the end of the resumed crawl."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.pipelines import CatalogPipeline

    whole = '{"sku": "tee-1", "images": []}\n'
    (tmp_path / "products.jsonl").write_text(whole + '{"sku": "tee-2", "ima', encoding="utf-8")
    (tmp_path / "catalog.jsonl").write_text('{"path": "images/x', encoding="utf-8")
    crawler = get_crawler(settings_dict={"VTONKIT_OUT": str(tmp_path), "JOBDIR": str(tmp_path / ".job")})
    pipeline = CatalogPipeline.from_crawler(crawler)
    pipeline.open_spider()
    pipeline.process_item({"sku": "tee-3", "images": []})
    pipeline._products.close()
    pipeline._catalog.close()
    lines = (tmp_path / "products.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["sku"] for line in lines] == ["tee-1", "tee-3"]
    assert (tmp_path / "catalog.jsonl").read_text(encoding="utf-8") == ""


def test_a_public_shops_images_on_this_machine_or_a_private_network_are_not_requested(tmp_path: Path):
    """A product page could make the crawler send requests inward (cloud metadata, a router, a
    service on loopback): any http URL was requested, in any spelling of the address."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.pipelines import GarmentImagesPipeline, image_url_refusal
    from vtonkit.crawlers.urls import is_internal_host

    inward = ["http://127.0.0.1:8080/a.jpg", "http://localhost/a.jpg", "http://shop.localhost/a.jpg",
              "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/a.jpg", "http://192.168.0.1/a.jpg",
              "http://[::1]/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg", "http://2130706433/a.jpg",
              "http://0x7f.1/a.jpg", "http://127.1/a.jpg", "http://0.0.0.0/a.jpg", "http://[fe80::1]/a.jpg"]
    outward = ["https://cdn.shop.example/a.jpg", "http://93.184.216.34/a.jpg", "https://cafe.example/a.jpg",
               "http://123.example/a.jpg", "http://[2606:4700::1111]/a.jpg"]
    assert [url for url in inward if not is_internal_host(url)] == []
    assert [url for url in outward if is_internal_host(url)] == []
    public_page, local_page = "https://shop.example/p/1", "http://127.0.0.1:8765/p/1"
    assert {image_url_refusal(url, public_page) for url in inward} == {"internal-address"}
    assert {image_url_refusal(url, public_page) for url in outward} == {None}
    # a shop served from this machine (development): its own address only, never another port or 169.254.169.254
    assert image_url_refusal("http://127.0.0.1:8765/img/a.jpg", local_page) is None
    assert {image_url_refusal(url, local_page) for url in inward} == {"internal-address"}
    assert image_url_refusal(outward[0], local_page) is None  # a public CDN
    assert image_url_refusal("file:///etc/passwd", local_page) == "not-http"

    crawler = get_crawler(settings_dict={"VTONKIT_OUT": str(tmp_path)})
    pipeline = GarmentImagesPipeline.from_crawler(crawler)
    requests = pipeline.get_media_requests({"url": public_page, "image_urls": [*inward, *outward]}, None)
    assert [request.url for request in requests] == outward


def test_a_resumed_crawl_finds_near_duplicates_of_the_images_its_earlier_runs_kept(tmp_path: Path):
    """The near-duplicate list started empty on --resume (only exact hashes were reloaded), so a
    re-encoded copy of an image kept before the kill was stored a second time."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.pipelines import GarmentImagesPipeline, facts_record

    skirt = Image.fromarray(draw_garment(GarmentSpec("skirt", "#b0302c", seed=5)))
    kept = inspect_image(_png(skirt), person_detector="skin")
    path = f"images/lower/{kept.sha256}.png"
    entry = {"url": "http://127.0.0.1:1/a.png", **facts_record(kept), "status": "kept", "path": path}
    (tmp_path / "products.jsonl").write_text(
        json.dumps({"sku": "s1", "url": "http://127.0.0.1:1/p/1", "images": [entry]}) + "\n"
        + '{"sku": "s2", "ima', encoding="utf-8")  # and the line a kill cut short
    (tmp_path / "catalog.jsonl").write_text(
        json.dumps({"sha256": kept.sha256, "path": path, "page_url": "http://127.0.0.1:1/p/1"}) + "\n", encoding="utf-8")
    crawler = get_crawler(settings_dict={"VTONKIT_OUT": str(tmp_path), "JOBDIR": str(tmp_path / ".job")})
    pipeline = GarmentImagesPipeline.from_crawler(crawler)
    assert pipeline.kept == [(kept, path)]
    buffer = io.BytesIO()
    skirt.resize((600, 800)).save(buffer, format="JPEG", quality=75)
    assert is_near_duplicate(inspect_image(buffer.getvalue(), person_detector="skin"), pipeline.kept[0][0])


def test_a_rendered_page_whose_script_takes_the_browser_off_the_store_is_refused(tmp_path: Path):
    """A rendered product page whose script navigated to another public host was read there: that
    site's page became a product of this store. It is refused like an off-host redirect. (The handler's
    browser state is a stand-in here: a public host cannot be served on this machine, and every local
    address is already blocked by the browser gate; the end-to-end case is in test_crawlers_render.)"""
    from types import SimpleNamespace

    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.browser import RenderLeftPage, bounded_handler_class
    from vtonkit.crawlers.report import report_for
    from vtonkit.crawlers.spiders.generic import GenericSpider

    crawler = get_crawler(GenericSpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    crawler.spider = crawler._create_spider(url="https://shop.example/")
    handler = SimpleNamespace(crawler=crawler, _navigations={})
    on_its_page = bounded_handler_class()._on_its_page
    request = Request("https://shop.example/products/tee")
    away = HtmlResponse("https://elsewhere.example/landing", body=b"<html><body>elsewhere</body></html>")
    with pytest.raises(RenderLeftPage, match="off the store's host: https://shop.example/products/tee -> "
                                             "https://elsewhere.example/landing"):
        on_its_page(handler, request, away)
    assert report_for(crawler).skipped["off-host-redirect"] == 1
    moved = HtmlResponse("https://www.shop.example/products/tee-2024", body=b"<html></html>")  # its own subdomain
    assert on_its_page(handler, request, moved) is moved


def test_a_host_name_that_resolves_inward_is_an_internal_address(tmp_path: Path, monkeypatch):
    """Only the spelling of a host was checked: an image URL of a public shop naming this machine
    (its own host name, from /etc/hosts) or a public name pointed at a private network was requested.
    The name is now resolved. The machine's own name is real here; the second name's answer is a
    stand-in for a DNS server (none is reachable from this machine)."""
    import socket

    from vtonkit.crawlers.pipelines import image_url_refusal
    from vtonkit.crawlers.urls import is_internal_host, resolves_inward

    public_page = "https://shop.example/p/1"
    # a name /etc/hosts maps to this machine other than localhost (the machine's own name)
    lines = [line.split("#")[0].split() for line in Path("/etc/hosts").read_text().splitlines()]
    names = [name for fields in lines if len(fields) > 1 and ipaddress.ip_address(fields[0].split("%")[0]).is_loopback
             for name in fields[1:] if name != "localhost" and not name.endswith(".localhost")]
    own_name = socket.gethostname() if socket.gethostname() in names else names[0]
    assert is_internal_host(f"http://{own_name}:8080/a.jpg")
    assert image_url_refusal(f"http://{own_name}:8080/a.jpg", public_page) == "internal-address"

    real = socket.getaddrinfo

    def answers(host, *args, **kwargs):
        if host == "images.pointed-inward.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 0))]
        return real(host, *args, **kwargs)

    resolves_inward.cache_clear()
    monkeypatch.setattr(socket, "getaddrinfo", answers)
    try:
        assert image_url_refusal("https://images.pointed-inward.example/a.jpg", public_page) == "internal-address"
        assert image_url_refusal("https://cdn.not-resolving.example/a.jpg", public_page) is None  # reaches nothing
    finally:
        resolves_inward.cache_clear()


def test_a_public_shops_image_redirected_inward_is_refused(tmp_path: Path):
    """Images may live on any host, so the offsite filter does not guard their redirects: a CDN
    image answering 302 to 169.254.169.254 (cloud metadata) was followed."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Request, Response
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.middlewares import RedirectLoopMiddleware
    from vtonkit.crawlers.report import report_for
    from vtonkit.crawlers.spiders.generic import GenericSpider

    crawler = get_crawler(GenericSpider, settings_dict={"VTONKIT_OUT": str(tmp_path)})
    crawler.spider = crawler._create_spider(url="https://shop.example/")
    middleware = RedirectLoopMiddleware.from_crawler(crawler)
    image = Request("https://cdn.example/a.jpg", meta={"allow_offsite": True})
    inward = Response(image.url, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(IgnoreRequest, match="redirect to an address on this machine or a private network: "
                                            "https://cdn.example/a.jpg -> http://169.254.169.254/latest/meta-data/"):
        middleware.process_response(image, inward)
    assert report_for(crawler).skipped["internal-redirect"] == 1
    onward = Response(image.url, status=302, headers={"Location": "https://cdn2.example/a.jpg"})
    assert middleware.process_response(image, onward) is onward  # another public CDN host is fine
    # a shop on this machine: its image may move within the shop's own address, not to another port
    local = Request("http://127.0.0.1:8000/img/a.jpg", meta={"allow_offsite": True,
                                                            "vtonkit_page": "http://127.0.0.1:8000/p/1"})
    moved = Response(local.url, status=302, headers={"Location": "http://127.0.0.1:8000/img/b.jpg"})
    assert middleware.process_response(local, moved) is moved
    elsewhere = Response(local.url, status=302, headers={"Location": "http://127.0.0.1:8001/img/a.jpg"})
    with pytest.raises(IgnoreRequest, match="redirect to an address on this machine or a private network"):
        middleware.process_response(local, elsewhere)
    # a local store's page may move to another local host (the offsite filter keeps it to the store's
    # hosts), never to cloud metadata
    page = Request("http://127.0.0.1:8000/p/1", dont_filter=True)
    moved = Response(page.url, status=302, headers={"Location": "http://localhost:8000/p/1"})
    assert middleware.process_response(page, moved) is moved
    metadata = Response(page.url, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(IgnoreRequest, match="redirect to an address on this machine or a private network"):
        middleware.process_response(page, metadata)


def test_a_product_page_listing_thousands_of_images_costs_only_the_first_hundred(tmp_path: Path):
    """Every image URL of a product was requested: a page listing thousands (each up to 30 MiB) held
    the crawl on one product. Past VTONKIT_MAX_IMAGES_PER_PRODUCT downloadable URLs (default 100) the
    rest are recorded as rejected, said once for the page."""
    from scrapy.utils.test import get_crawler
    from vtonkit.crawlers.pipelines import GarmentImagesPipeline
    from vtonkit.crawlers.report import report_for
    from vtonkit.crawlers.settings import VTONKIT_MAX_IMAGES_PER_PRODUCT

    assert VTONKIT_MAX_IMAGES_PER_PRODUCT == 100
    crawler = get_crawler(settings_dict={"VTONKIT_OUT": str(tmp_path), "VTONKIT_MAX_IMAGES_PER_PRODUCT": 3})
    pipeline = GarmentImagesPipeline.from_crawler(crawler)
    page = "https://shop.example/products/tee"
    urls = ["file:///etc/passwd", *(f"https://cdn.example/{n}.jpg" for n in range(6))]
    item = {"url": page, "image_urls": urls}
    requests = pipeline.get_media_requests(item, None)
    assert [request.url for request in requests] == urls[1:4]
    errors = report_for(crawler).image_errors
    assert sorted((e["reason"].split(":")[0], e["url"]) for e in errors) == [
        ("not-http", urls[0]), ("over-image-cap", urls[4])]
    assert any("3 image URLs past the product's first 3 downloadable ones" in e["reason"] for e in errors)
    done = pipeline.item_completed([(True, {"url": url, "status": "rejected", "reason": "too-small"})
                                    for url in urls[1:4]], item, None)
    assert [(i["url"], i["status"], i["reason"]) for i in done["images"]] == [
        (urls[0], "rejected", "not-http"), *((url, "rejected", "too-small") for url in urls[1:4]),
        *((url, "rejected", "over-image-cap") for url in urls[4:])]


def test_a_start_url_with_a_query_is_requested_as_given():
    """`--url .../item.php?it_id=1002` was fetched as `...?it_id=1002/` (the slash glued onto the query
    value, which then spread into image URLs); robots.txt and the guessed sitemap sit at the host's root."""
    from vtonkit.crawlers.spiders.generic import GenericSpider

    spider = GenericSpider(url="http://127.0.0.1:8000/shop/list.php?cate_no=24")
    assert spider.url_for("/") == "http://127.0.0.1:8000/shop/list.php?cate_no=24"
    assert spider.url_for("/sale") == "http://127.0.0.1:8000/shop/list.php/sale"
    plain = GenericSpider(url="https://shop.example/kr")  # as given: /kr/ may be a 404 (tests/test_crawlers_scope.py)
    assert [plain.url_for(p) for p in ("/", "/sale")] == ["https://shop.example/kr", "https://shop.example/kr/sale"]
    assert GenericSpider(url="https://shop.example/kr/").url_for("/") == "https://shop.example/kr/"
    assert GenericSpider(url="https://shop.example").url_for("/") == "https://shop.example/"


@pytest.mark.parametrize("first, second", [
    # a slug linked in another case or with a trailing slash (no SKU, no canonical to go by)
    ("https://shop.example/products/Denim-Shorts/", "https://shop.example/products/denim-shorts"),
    ("https://shop.example/PRODUCTS/DENIM-SHORTS", "https://shop.example/products/denim-shorts"),
    # Cafe24's readable address and its detail script name one product_no
    ("https://mall.example/product/%EC%99%80%EC%9D%B4%EB%93%9C/11/category/42/display/1/",
     "https://mall.example/product/detail.html?product_no=11&cate_no=25"),
    ("https://mall.example/product/wide-pants/11/", "https://mall.example/product/detail.html?product_no=11"),
])
def test_one_product_page_spelled_two_ways_is_one(first, second):
    """Three records of one pair of denim shorts, two of one Cafe24 product carrying the same product_id."""
    from vtonkit.crawlers.url_roles import product_identity

    assert product_identity(first) == product_identity(second)


@pytest.mark.parametrize("first, second", [
    ("https://shop.example/p/aB3x9", "https://shop.example/p/Ab3X9"),  # opaque ids tell case apart
    ("https://shop.example/item.htm?id=aBc", "https://shop.example/item.htm?id=abc"),  # a query value is an id
    ("https://mall.example/product/detail.html?product_no=11", "https://mall.example/product/detail.html?product_no=12"),
])
def test_product_ids_that_differ_only_in_case_stay_apart(first, second):
    from vtonkit.crawlers.url_roles import product_identity

    assert product_identity(first) != product_identity(second)
