"""Product extraction from the markup real shop platforms write (Shopify, Cafe24, Japanese and
European shops), each case found by probing hand-made pages modelled on those platforms."""

from __future__ import annotations

import json

import pytest
from vtonkit.crawlers.extract import extract_product
from vtonkit.crawlers.prices import parse_price


def _page(*json_ld: dict, head: str = "", body: str = "", lang: str = "en") -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(o, ensure_ascii=False)}</script>'
                      for o in json_ld)
    return f'<html lang="{lang}"><head><meta charset="utf-8">{scripts}{head}</head><body>{body}</body></html>'


def _shopify_product_group() -> str:
    """Shopify's `product | structured_data`: a ProductGroup whose variants carry image and offer."""
    def variant(number: int, size: str, availability: str) -> dict:
        return {"@id": f"/products/linen-shirt?variant={number}#variant", "@type": "Product", "sku": f"LS-{size}",
                "name": f"Linen Shirt - {size} / White", "image": "https://acme.example/cdn/shop/files/ls.jpg?v=17&width=1920",
                "offers": {"@id": f"/products/linen-shirt?variant={number}#offer", "@type": "Offer",
                           "availability": f"http://schema.org/{availability}", "price": "59.00", "priceCurrency": "USD",
                           "url": f"https://acme.example/products/linen-shirt?variant={number}"}}

    group = {"@context": "http://schema.org/", "@id": "/products/linen-shirt#product", "@type": "ProductGroup",
             "name": "Linen Shirt", "productGroupID": "8123", "brand": {"@type": "Brand", "name": "Acme"},
             "url": "https://acme.example/products/linen-shirt", "variesBy": ["https://schema.org/size"],
             "hasVariant": [variant(1, "S", "OutOfStock"), variant(2, "M", "InStock")]}
    head = ('<meta property="og:type" content="product"><meta property="og:title" content="Linen Shirt">'
            '<meta property="og:image" content="http://acme.example/cdn/shop/files/ls.jpg?v=17">'
            '<link rel="canonical" href="https://acme.example/products/linen-shirt">')
    return _page(group, head=head, body='<h1 class="product__title">Linen Shirt</h1>')


@pytest.mark.parametrize("url", ["https://acme.example/products/linen-shirt",
                                 "https://acme.example/collections/tops/products/linen-shirt"])
def test_a_product_group_is_the_product_not_one_of_its_variants(url):
    """Reached through a collection (Shopify's `/collections/<c>/products/<p>`), the page's URL is not
    the group's; the first variant, which shows the og:image, was taken for the product: its size in
    the title, no brand, and its own stock (sold out) instead of the product's."""
    item = extract_product(_shopify_product_group(), url)
    assert (item.title, item.brand, item.product_id) == ("Linen Shirt", "Acme", "8123")
    assert (item.price, item.currency, item.availability) == (59.0, "USD", "InStock")


# --- visible prices: Cafe24's price table, labelled price rows, prices struck through by style ----

_PRODUCT_OG = '<meta property="og:type" content="product"><meta property="og:title" content="오버핏 린넨 셔츠">'


def _cafe24_row(label: str, value: str) -> str:
    return (f'<tr class=" xans-record-"><th scope="row"><span style="font-size:12px;color:#555555;">{label}</span>'
            f"</th><td>{value}</td></tr>")


def _visible_price(body: str, lang: str) -> tuple[float | None, str | None]:
    item = extract_product(_page(head=_PRODUCT_OG, body=body, lang=lang), "https://mall.example/product/detail.html?product_no=7")
    return item.price, item.currency


def test_cafe24s_price_table_gives_the_price():
    """Cafe24's default skin names its prices by id (no price class); on sale it strikes the regular
    price through with an inline style and adds a "할인판매가" row."""
    regular = '<strong id="span_product_price_text">39,000원</strong><input id="product_price" type="hidden" value="">'
    table = "<table><tbody>{}</tbody></table>"
    assert _visible_price(table.format(_cafe24_row("판매가", regular) + _cafe24_row("적립금", "390원 (1%)")),
                          "ko") == (39000.0, "KRW")
    struck = f'<span style="font-size:12px;color:#555555;text-decoration:line-through;">{regular}</span>'
    sale = '<span id="span_product_price_sale">31,200원 <span style="color:#ff0000;">(7,800원 할인)</span></span>'
    assert _visible_price(table.format(_cafe24_row("판매가", struck) + _cafe24_row("할인판매가", sale)),
                          "ko") == (31200.0, "KRW")


@pytest.mark.parametrize(
    ("body", "lang", "expected"),
    [
        ("<dl><dt>판매가</dt><dd>39,000원</dd></dl><dl><dt>배송비</dt><dd>3,000원</dd></dl>", "ko", (39000.0, "KRW")),
        ("<dl><dt>소비자가</dt><dd>49,000원</dd><dt>판매가</dt><dd>39,000원</dd></dl>", "ko", (39000.0, "KRW")),
        ("<table><tr><th>販売価格</th><td>3,300円(税込)</td></tr></table>", "ja", (3300.0, "JPY")),
        ("<ul><li><span>市场价</span><em>¥399</em></li></ul><dl><dt>售价：</dt><dd>¥299.00</dd></dl>", "zh-CN", (299.0, "CNY")),
    ],
)
def test_a_price_shown_beside_its_label_is_the_price(body, lang, expected):
    """Shops without price classes show a labelled row ("판매가", "販売価格", "售价"); the price of
    another label (list price, shipping) is not the product's."""
    assert _visible_price(body, lang) == expected


def test_a_price_struck_through_by_style_is_not_the_price():
    body = ('<div class="product-price"><span style="text-decoration: line-through">$89.00</span> '
            "<span>$59.00</span></div>")
    assert _visible_price(body, "en") == (59.0, "USD")


@pytest.mark.parametrize("shown", ["CHF 1’299.90", "1’299.90 CHF", "CHF 1ʼ299.90", "CHF 1'299.90"])
def test_swiss_thousands_apostrophes_are_read(shown):
    """Swiss shops group thousands with an apostrophe, typographic (’) as often as straight (')."""
    assert parse_price(shown) == (1299.9, "CHF")


# --- breadcrumb trails the platforms do not call "breadcrumb" ------------------------------------

@pytest.mark.parametrize(
    ("trail", "lang", "category"),
    [
        # Cafe24's default skin
        ('<div class="xans-element- xans-product xans-product-headcategory path "><span>현재 위치</span><ol>'
         '<li><a href="/">홈</a></li><li class=""><a href="/category/bottom/25/">하의</a></li>'
         '<li class="displaynone"><strong><a href=""></a></strong></li></ol></div>', "ko", "lower"),
        # Japanese shops' "topic path" (パンくず)
        ('<ul class="topicpath"><li><a href="/">TOP</a></li><li><a href="/c/onepiece">ワンピース</a></li></ul>',
         "ja", "dresses"),
        ('<div id="pankuzu"><a href="/">ホーム</a> &gt; <a href="/c/skirt">スカート</a></div>', "ja", "lower"),
        # Korean and Japanese shops' "location" (현재 위치) and "path"
        ('<div class="location"><a href="/">홈</a> &gt; <a href="/category/skirt/">스커트</a> &gt; <strong>롱</strong>'
         '</div>', "ko", "lower"),
        ('<ol id="Path"><li><a href="/">ホーム</a></li><li><a href="/c/tops">トップス</a></li></ol>', "ja", "upper"),
        # Chinese shops' "crumb"
        ('<div class="crumb-wrap"><div class="crumb"><a href="/">首页</a> &gt; <a href="/c/1">女装</a> &gt; '
         '<a href="/c/2">半身裙</a></div></div>', "zh-CN", "lower"),
    ],
)
def test_the_platforms_breadcrumb_trails_give_the_category(trail, lang, category):
    """The title names no garment ("플리츠 롱 A라인"): the trail does."""
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="45000">'
    item = extract_product(_page(head=head, body=f"{trail}<h2>Pleats Long A</h2>", lang=lang),
                           "https://mall.example/product/detail.html?product_no=13")
    assert item.category == category and item.breadcrumbs[0] in {"홈", "TOP", "ホーム", "首页"}


def test_elements_named_path_or_location_that_are_no_trail():
    """An SVG path, a store finder's links, an address block: no trail, and the title decides."""
    body = ('<header><a href="/"><svg class="path"><path class="path" d="M0 0h9"/></svg>Home</a>'
            '<div class="store-location"><a href="/stores">Stores</a> <a href="/stores/map">Map</a></div></header>'
            '<div id="location"><p>1 Main St, open 10-20</p><a href="/stores">Find a store</a></div>'
            '<h1>Pleated midi skirt</h1>')
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="45">'
    item = extract_product(_page(head=head, body=body), "https://shop.example/p/13")
    assert (item.breadcrumbs, item.category) == ([], "lower")


# --- garment words the vocabularies missed -----------------------------------------------------

@pytest.mark.parametrize(
    ("title", "lang", "category"),
    [
        ("Wollmantel in Camel", "de", "upper"),
        ("Mantel aus Wolle", "de", "upper"),
        ("Wollen jas met capuchon", "nl", "upper"),
        ("Gebloemd jurkje", "nl", "dresses"),
        ("Cappotto in lana", "it", "upper"),
        ("Piumino corto", "it", "upper"),
        ("Manteau long en laine", "fr", "upper"),
        ("Blouson en cuir", "fr", "upper"),
        ("Abrigo de paño", "es", "upper"),
        ("Casaco de lã", "pt", "upper"),
        ("ナイロンブルゾン", "ja", "upper"),
        ("コットンタンクトップ", "ja", "upper"),
        ("오버핏 블루종", "ko", "upper"),
        ("니트 조끼", "ko", "upper"),
        ("베이직 반팔 티", "ko", "upper"),
        ("羊毛双面呢大衣", "zh-Hans", "upper"),
        ("轻薄羽绒服", "zh-Hans", "upper"),
        ("纯棉打底衫", "zh-Hans", "upper"),
        ("雙面呢大衣", "zh-Hant", "upper"),
    ],
)
def test_coats_and_other_common_garments_have_their_category(title, lang, category):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="99">'
    item = extract_product(_page(head=head, body=f"<h1>{title}</h1>", lang=lang), "https://shop.example/p/1")
    assert item.category == category


# --- availability ---------------------------------------------------------------------------------

_PRICED = '<meta property="og:type" content="product"><meta property="product:price:amount" content="99">'


@pytest.mark.parametrize(
    ("meta", "availability"),
    [
        # Pinterest's rich pins: og:price:amount beside og:availability
        ('<meta property="og:availability" content="instock">', "InStock"),
        ('<meta property="og:availability" content="out of stock">', "OutOfStock"),
        ('<meta property="product:availability" content="backorder">', "BackOrder"),
        ('<meta property="product:availability" content="out_of_stock">', "OutOfStock"),
    ],
)
def test_the_availability_meta_tags_are_read(meta, availability):
    item = extract_product(_page(head=_PRICED + meta, body="<h1>Shirt</h1>"), "https://shop.example/p/1")
    assert item.availability == availability


_ORDERABLE_SHIRT = {"@context": "https://schema.org", "@type": "Product", "name": "Shirt",
                    "offers": {"@type": "Offer", "price": 99, "priceCurrency": "EUR", "availability": "Available for order"}}


@pytest.mark.parametrize(
    ("json_ld", "head", "body", "availability"),
    [
        # Facebook's catalog writes "available for order" for a product that can be ordered
        ((), '<meta property="product:availability" content="available for order">', "", "InStock"),
        ((), '<meta property="og:availability" content="Available to order">', "", "InStock"),
        ((_ORDERABLE_SHIRT,), "", "", "InStock"),
        ((), "", '<div class="availability">Out of stock online - available to order</div>', "InStock"),
        ((), "", "<button>Available for order</button>", "InStock"),
        ((), "", '<div class="stock">Sold out, not available to order</div>', "OutOfStock"),
    ],
)
def test_available_for_order_is_orderable_not_sold_out(json_ld, head, body, availability):
    item = extract_product(_page(*json_ld, head=_PRICED + head, body=f"<h1>Shirt</h1>{body}"), "https://shop.example/p/1")
    assert item.availability == availability


@pytest.mark.parametrize(
    ("shown", "lang"),
    [('<div class="stock">在庫なし</div>', "ja"), ('<div class="stock-info">无货</div>', "zh-CN"),
     ('<p class="stock">無貨</p>', "zh-TW"), ('<span class="stock">재고 없음</span>', "ko")],
)
def test_no_stock_wording_marks_the_product_sold_out(shown, lang):
    item = extract_product(_page(head=_PRICED, body=f"<h1>x</h1>{shown}", lang=lang), "https://shop.example/p/1")
    assert item.availability == "OutOfStock"


# --- titles ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("og_title", "title"),
    [
        ("Linen Shirt | Acme", "Linen Shirt"),
        ("Acme Store – Linen Shirt", "Linen Shirt"),  # the rest spells the shop's host
        ("Linen Shirt - White", "Linen Shirt - White"),  # more than the heading, not the shop: kept
    ],
)
def test_a_shops_name_beside_the_heading_is_not_part_of_the_title(og_title, title):
    """No og:site_name to strip: the heading shows where the product's name ends."""
    head = _PRICED + f'<meta property="og:title" content="{og_title}">'
    item = extract_product(_page(head=head, body="<h1>Linen Shirt</h1>"), "https://www.acmestore.example/p/1")
    assert item.title == title


@pytest.mark.parametrize(
    ("body", "lang", "expected"),
    [
        # Korean shops' 정가 / 정상가 beside the price paid
        ('<div class="org_price"><span>39,000원</span></div><div class="real_price">31,200원</div>', "ko", 31200.0),
        ('<span class="origin-price">39,000원</span><span class="price">31,200원</span>', "ko", 31200.0),
        ('<span class="normal_price">39,000원</span><span class="price">31,200원</span>', "ko", 31200.0),
        # Chinese shops' 市场价
        ('<p class="market-price">¥399</p><p class="price">¥299</p>', "zh-CN", 299.0),
        ('<p class="mkt-price">¥399</p><p class="price">¥299</p>', "zh-CN", 299.0),
        # Japanese shops' 定価 (proper price)
        ('<p class="proper-price">¥4,400</p><p class="price">¥3,300</p>', "ja", 3300.0),
        # a utility class is no old price
        ('<p class="price text-lg font-normal">$59.00</p>', "en", 59.0),
    ],
)
def test_the_list_price_as_asian_shops_name_it_is_not_the_price(body, lang, expected):
    assert _visible_price(body, lang)[0] == expected


# --- zero prices ----------------------------------------------------------------------------------

@pytest.mark.parametrize("offers", [
    {"@type": "AggregateOffer", "lowPrice": 0, "highPrice": 89, "priceCurrency": "EUR", "offerCount": 3,
     "availability": "https://schema.org/InStock"},
    {"@type": "AggregateOffer", "lowPrice": "0.00", "highPrice": "89.00", "priceCurrency": "EUR"},
    # the aggregate's 0 came first, before its own offers with no availability
    {"@type": "AggregateOffer", "lowPrice": "0.00", "priceCurrency": "EUR",
     "offers": [{"@type": "Offer", "price": "69.00", "priceCurrency": "EUR"}]},
    {"@type": "Offer", "price": "0", "priceCurrency": "EUR"},
])
def test_a_zero_price_is_no_price(offers):
    """A 0 (price on request, a free variant, a placeholder) is never a garment's price: the next
    evidence decides, here the visible price."""
    product = {"@context": "https://schema.org/", "@type": "Product", "name": "Robe portefeuille en lin",
               "image": "https://boutique.example/media/robe.jpg", "offers": offers}
    page = _page(product, body='<h1>Robe portefeuille en lin</h1><div class="product-price"><span class="price">'
                               "69,00 €</span></div>", lang="fr")
    item = extract_product(page, "https://boutique.example/p/robe")
    assert (item.price, item.currency) == (69.0, "EUR")


@pytest.mark.parametrize("shown, lang, expected", [
    ("３９，０００원", "ko", (39000.0, "KRW")),  # full-width digits and comma: read as 39.0 before
    ("￦39,000", "ko", (39000.0, "KRW")),  # U+FFE6, the won sign EUC-KR pages write: no price before
    ("\\ 3,980", "ja", (3980.0, "JPY")),  # Shift_JIS's yen byte decoded as a backslash: no currency before
    ("１，９８０円（税込）", "ja", (1980.0, "JPY")),
])
def test_full_width_and_legacy_encoding_prices(shown, lang, expected):
    page = (f'<html lang="{lang}"><head><meta property="og:type" content="product"><meta property="og:title" '
            f'content="Pants"><meta property="og:image" content="/a.jpg"></head><body><h1>Pants</h1>'
            f'<div class="price">{shown}</div></body></html>')
    item = extract_product(page, "https://shop.example/product/1")
    assert (item.price, item.currency) == expected


SHOWN_ONLY = ('<html lang="en"><head><title>Wide leg trousers | Shop</title></head><body><div id="app">'
              '<h1>Wide leg trousers</h1><p class="price">$59</p><img src="/img/0.jpg" alt="Wide leg trousers">'
              '</div></body></html>')


def test_a_page_reached_as_a_product_is_one_by_what_it_shows():
    """No product data at all (a script-drawn shop): the crawl reached the page by a product link,
    and it shows one name, one price and its picture."""
    item = extract_product(SHOWN_ONLY, "https://shop.example/item/7", expected=True)
    assert item.sources["product"] == "visible"
    assert (item.title, item.price, item.currency) == ("Wide leg trousers", 59.0, "USD")
    assert item.image_urls == ["https://shop.example/img/0.jpg"]
    # not reached as a product's: such a page is no product (a home page with a featured item)
    assert not extract_product(SHOWN_ONLY, "https://shop.example/item/7").sources.get("product")


def test_a_listing_reached_by_a_product_like_address_is_no_product():
    cards = "".join(f'<div class="card"><img src="/img/{n}.jpg" alt="Tee {n}"><span class="price">${20 + n}</span></div>'
                    for n in range(6))
    page = f'<html lang="en"><body><h1>All tees</h1>{cards}</body></html>'
    item = extract_product(page, "https://shop.example/products/tees", expected=True)
    assert item is None or not item.sources.get("product")
