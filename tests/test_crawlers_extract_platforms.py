"""Product extraction from the markup real shop platforms write (Shopify, Cafe24, Japanese and
European shops), each case found by probing hand-made pages modelled on those platforms."""

from __future__ import annotations

import json

import pytest
from vtonkit.crawlers.extract import extract_product, is_product_page
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


# --- found by a probe of 46 hand-made pages of other platforms (2026-12-07) ------------------------

def _related_cards(container_class: str) -> str:
    card = ('<div itemscope itemtype="https://schema.org/Product"><a itemprop="url" href="/p/{slug}">'
            '<span itemprop="name">{name}</span></a><img itemprop="image" src="/images/{slug}.jpg">'
            '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            '<meta itemprop="priceCurrency" content="GBP"><span itemprop="price" content="{price}">£{price}</span>'
            '</div></div>')
    cards = (card.format(slug="brushed-cotton-shirt", name="Brushed Cotton Shirt", price="45.00")
             + card.format(slug="lambswool-crew", name="Lambswool Crew Jumper", price="79.00"))
    return f'<section class="{container_class}"><h2>You may also like</h2>{cards}</section>'


@pytest.mark.parametrize("container_class", ["you-may-also-like", "grid"])
def test_a_related_products_offer_is_not_the_price_of_a_product_with_none(container_class):
    """The page's JSON-LD product has no offers; the "You may also like" cards carry microdata
    offers. The visible £65.00 is the price, and the cards' pictures are not the product's, whether
    or not their container is named as related products."""
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Cord Straight Leg Trousers",
               "sku": "HF-CST-TAN", "brand": {"@type": "Brand", "name": "Holloway & Finch"}}
    body = ('<h1>Cord Straight Leg Trousers</h1><div class="product-detail__price"><span class="price">£65.00</span>'
            '</div><img class="product-main" src="/images/cord-trousers.jpg">' + _related_cards(container_class))
    head = '<meta property="og:image" content="https://shop.example/images/cord-trousers.jpg">'
    item = extract_product(_page(product, head=head, body=body), "https://shop.example/p/cord-straight-leg-trousers")
    assert (item.price, item.currency) == (65.0, "GBP")
    assert item.image_urls == ["https://shop.example/images/cord-trousers.jpg"]


def test_bigcommerces_non_sale_price_is_the_struck_one():
    """BigCommerce's Cornerstone theme without microdata: "price--non-sale" is the price before the
    sale (it has "sale" in its name), "price--saving" the amount saved."""
    body = ('<h1 class="productView-title">Ribbed Tank Top</h1><div class="productView-price">'
            '<div class="price-section non-sale-price--withoutTax">Was: <span class="price price--non-sale">$38.00</span></div>'
            '<div class="price-section"><span class="price-now-label">Now:</span>'
            '<span class="price price--withoutTax">$26.60</span></div>'
            '<div class="price-section price-section--saving price"><span class="price">(You save</span>'
            '<span class="price price--saving">$11.40</span><span class="price">)</span></div></div>')
    head = '<meta property="og:type" content="product"><meta property="og:image" content="/tank.jpg">'
    item = extract_product(_page(head=head, body=body), "https://shop.example/ribbed-tank-top/")
    assert (item.price, item.currency) == (26.6, "USD")


def test_a_state_price_in_cents_is_read_as_the_page_shows_it():
    """A headless Shopify page: the product only in __NEXT_DATA__, its price in cents (5800) and its
    brand as "vendor"; the page shows $58.00."""
    state = {"props": {"pageProps": {"product": {
        "title": "The Easy Chino Short", "vendor": "Harbor & Co", "productType": "Shorts", "price": 5800,
        "currency": "USD", "images": ["https://cdn.harbor.example/easy-chino-short-1.jpg"]}}}}
    page = ('<html lang="en"><head><title>The Easy Chino Short – Harbor &amp; Co</title>'
            f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(state)}</script></head>'
            '<body><div id="__next"><h1>The Easy Chino Short</h1><span>$58.00</span></div></body></html>')
    item = extract_product(page, "https://harbor.example/products/easy-chino-short")
    assert (item.price, item.currency, item.brand) == (58.0, "USD", "Harbor & Co")
    # a price the page shows as read stays as it is (Korean shops' states hold whole won)
    shown = page.replace("$58.00", "$5,800.00")
    assert extract_product(shown, "https://harbor.example/products/easy-chino-short").price == 5800.0


@pytest.mark.parametrize("shown, currency_hint, expected", [
    ("24.500", "KWD", (24.5, "KWD")),  # og:price:amount of a Kuwaiti shop
    ("BD 32.500", None, (32.5, "BHD")),
    ("KD 1,250.500", None, (1250.5, "KWD")),
    ("1.250.500 KWD", None, (1250500.0, "KWD")),
    ("249.000", "IDR", (249000.0, "IDR")),  # a lone group of three is thousands elsewhere
    ("COP $129.900", None, (129900.0, "COP")),
    ("$49.99", None, (49.99, "USD")),
])
def test_three_decimal_currencies_and_dollars_named_by_code(shown, currency_hint, expected):
    assert parse_price(shown, currency_hint) == expected


def test_a_content_language_meta_declares_the_page_language():
    """A GBK page that declares zh-CN only in a Content-Language meta: its ¥ is the yuan."""
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">'
            '<meta http-equiv="Content-Language" content="zh-CN">'
            '<meta property="og:type" content="product"><meta property="og:image" content="/k.jpg"></head>'
            '<body><h1>高腰阔腿裤</h1><div class="price">￥199.00</div></body></html>')
    item = extract_product(page.encode("gbk"), "https://shop.example/item/8")
    assert (item.price, item.currency, item.category) == (199.0, "CNY", "lower")


@pytest.mark.parametrize("controls, availability", [
    # one size sold out, the product orderable
    ('<div class="sizes"><button type="button" class="size-option">XS - Sold out</button>'
     '<button type="button" class="size-option">S</button></div>'
     '<button type="submit" class="btn-add-to-cart">Add to cart</button>', "InStock"),
    ('<div class="picker"><button type="button">M (sold out)</button><button type="button">L</button></div>'
     '<button type="submit">Add to cart</button>', "InStock"),
    # the product's own button
    ('<button type="submit" disabled>Sold out</button>', "OutOfStock"),
    # Cafe24's buy link keeps a hidden "SOLD OUT" in its caption
    ('<a href="#none" class="btnSubmit" onclick="product_submit(1)"><span>바로 구매하기</span>'
     '<span class="displaynone">SOLD OUT</span></a>', "InStock"),
])
def test_a_sold_out_size_is_not_a_sold_out_product(controls, availability):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="29">'
    item = extract_product(_page(head=head, body=f"<h1>Linen Shorts</h1>{controls}"), "https://shop.example/p/3")
    assert item.availability == availability


@pytest.mark.parametrize("title, heading, url, expected", [
    ("プリーツロングスカート（スカート）｜ANOTHER SOL（アナザーソル）のファッション通販 - ZOZOTOWN",
     "プリーツロングスカート", "https://zozo.example/shop/x/goods/1/", "プリーツロングスカート"),
    ("Pleated Midi Skirt - Oak &amp; Ivy", "Pleated Midi Skirt", "https://oakandivy.com/product/pleated-midi-skirt/",
     "Pleated Midi Skirt"),
    ("Linen Shirt - White", "Linen Shirt", "https://acme.example/p/linen-shirt", "Linen Shirt - White"),
])
def test_the_shops_name_after_the_heading_is_left_out(title, heading, url, expected):
    head = (f'<meta property="og:type" content="product"><meta property="og:title" content="{title}">'
            '<meta property="og:image" content="/s.jpg"><meta property="product:price:amount" content="59">')
    item = extract_product(_page(head=head, body=f"<h1>{heading}</h1>", lang="ja"), url)
    assert item.title == expected


@pytest.mark.parametrize("shown, sku", [
    ('<span class="sku_wrapper">SKU: <span class="sku">OI-PMS-OLV</span></span>', "OI-PMS-OLV"),
    ('<div class="product-sku">رمز المنتج: AB-2201</div>', "AB-2201"),
    ('<p>Fit: Slim-Fit</p>', None),
])
def test_labelled_references_without_digits_and_in_arabic(shown, sku):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="59">'
    item = extract_product(_page(head=head, body=f"<h1>Skirt</h1>{shown}"), "https://shop.example/p/4")
    assert item.sku == sku


@pytest.mark.parametrize("side", ['<div id="side"><h3>人気ランキング</h3><ol class="ranking">{items}</ol></div>',
                                  '<aside class="sidebar"><ul>{items}</ul></aside>'])
def test_a_side_columns_ranking_is_not_the_products_price(side):
    """Japanese shop templates (colorme-style) show a ranking of other products with
    their prices in a side column before the product: every product got the first one's price."""
    items = "".join(f'<li><a href="/?pid={n}">item {n}</a><span class="price">{price}円(税込)</span></li>'
                    for n, price in ((1, "9,900"), (2, "6,490")))
    body = (side.format(items=items) + '<div id="main"><h1>センタープレスワイドパンツ</h1><table><tr><th>販売価格</th>'
            '<td><span class="price">7,590円(税込)</span></td></tr></table>'
            '<img src="/img/1510004.jpg"></div>')
    head = '<meta property="og:type" content="product"><meta property="og:image" content="/img/1510004.jpg">'
    page = _page(head=head, body=body, lang="ja")
    item = extract_product(page, "https://shop.example/?pid=1510004")
    assert (item.price, item.currency, item.category) == (7590.0, "JPY", "lower")


@pytest.mark.parametrize("caption, lang", [("加入购物袋", "zh-CN"), ("加入購物袋", "zh-TW")])
def test_a_shopping_bag_button_is_a_buy_button_in_chinese(caption, lang):
    head = '<meta property="og:type" content="product"><meta property="product:price:amount" content="199">'
    body = f"<h1>衬衫式连衣裙</h1><button type='submit'>{caption}</button>"
    assert extract_product(_page(head=head, body=body, lang=lang), "https://shop.example/p/5").availability == "InStock"


# --- found by a second probe of 55 pages (2026-12-07) ----------------------------------------------

@pytest.mark.parametrize("price, currency, expected", [("249.000", "IDR", 249000.0), ("450.000", "VND", 450000.0),
                                                        ("12.500", "EUR", 12.5), ("1.249.000", "IDR", 1249000.0)])
def test_json_ld_prices_grouped_by_dots_in_currencies_without_decimals(price, currency, expected):
    """Indonesian and Vietnamese shops write "249.000" in JSON-LD as they write it on the page: it
    was read as 249 rupiah, 1000 times too low, while the same string in og:price:amount was right."""
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Celana Kulot Linen",
               "offers": {"@type": "Offer", "price": price, "priceCurrency": currency}}
    item = extract_product(_page(product, body="<h1>Celana Kulot Linen</h1>", lang="id"), "https://toko.example/p/1")
    assert (item.price, item.currency) == (expected, currency)


@pytest.mark.parametrize("body", [
    # JSON-LD ItemList of a category page whose heading is the plural of its cards' names
    "<h1>Linen Dresses</h1>",
    # microdata cards
    '<h1>Oxford Shirts</h1><div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Oxford Shirt'
    '</span><span itemprop="offers" itemscope itemtype="https://schema.org/Offer"><meta itemprop="price" content="45">'
    '<meta itemprop="priceCurrency" content="GBP"></span></div><div itemscope itemtype="https://schema.org/Product">'
    '<span itemprop="name">Slim Oxford Shirt</span><span itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
    '<meta itemprop="price" content="49"><meta itemprop="priceCurrency" content="GBP"></span></div>',
])
def test_a_category_named_as_the_plural_of_its_products_is_a_listing(body):
    listing = {"@context": "https://schema.org", "@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "position": n, "item": {"@type": "Product", "name": name, "url": f"https://shop.example/p/{n}",
                                                       "offers": {"@type": "Offer", "price": price, "priceCurrency": "GBP"}}}
        for n, (name, price) in enumerate((("Linen Dress", "65"), ("Linen Wrap Dress", "79")), start=1)]}
    nodes = (listing,) if "Linen" in body else ()
    item = extract_product(_page(*nodes, body=body), "https://shop.example/collections/dresses")
    assert item is None or not item.sources.get("product"), item


@pytest.mark.parametrize("body, lang, expected", [
    # the tax mark in the element after the price
    ('<p class="price"><span class="price">¥9,000</span><span class="tax">+税</span></p>'
     '<p class="price-incl"><span class="price">税込 ¥9,900</span></p>', "ja", (9900.0, "JPY")),
    ('<p class="price">Was £40.00 Now £25.00</p>', "en", (25.0, "GBP")),
    ('<p class="price">RRP £60.00 Our price £35.00</p>', "en", (35.0, "GBP")),
    ('<p class="price-promo">2 for £30</p><p class="price">£18.00</p>', "en", (18.0, "GBP")),
    ('<p class="price">590 บาท</p>', "th", (590.0, "THB")),
    ('<p class="price">Php 899.00</p>', "en", (899.0, "PHP")),
])
def test_visible_prices_with_their_words_around_them(body, lang, expected):
    head = '<meta property="og:type" content="product"><meta property="og:image" content="/i.jpg">'
    item = extract_product(_page(head=head, body=f"<h1>Linen Shirt</h1>{body}", lang=lang), "https://shop.example/p/2")
    assert (item.price, item.currency) == expected


@pytest.mark.parametrize("title, crumbs, lang, category", [
    ("Triangle Bikini Top", ["Women", "Swimwear"], "en", "other"),
    ("Triangle Bikini Top", [], "en", "other"),
    ("Woven Boxer Shorts", [], "en", "other"),
    ("Mini Top Handle Bag", [], "en", "other"),
    ("Cotton Chino Baseball Cap", [], "en", "other"),
    ("Sleeveless Linen Jumpsuit", [], "en", "other"),
    ("Cap Sleeve Midi Dress", [], "en", "dresses"),
    ("Bootcut Jeans", [], "en", "lower"),
    ("Boot-cut Jeans", [], "en", "lower"),
    ("울 블렌드 니트 비니", ["모자", "비니"], "ko", "other"),
    ("민소매 린넨 점프수트", [], "ko", "other"),
    ("원피스 수영복", [], "ko", "other"),
    ("코튼 드레스 셔츠", [], "ko", "upper"),
    ("트위드 점퍼스커트", [], "ko", "dresses"),
    ("ニット帽", ["帽子"], "ja", "other"),
    ("ワンピース水着", [], "ja", "other"),
    ("男士莫代尔平角内裤", [], "zh-Hans", "other"),
    ("宽松连体裤", [], "zh-Hans", "other"),
    ("连帽卫衣", [], "zh-Hans", "upper"),  # a hooded top: 帽 alone is no hat
])
def test_what_no_try_on_category_holds_is_other(title, crumbs, lang, category):
    """Swimwear, underwear, hats, bags and jumpsuits were filed by a garment word they hold: bikini
    tops and knit beanies as tops, boxer shorts and Chinese jumpsuits (连体裤) as lower-body garments,
    a one-piece swimsuit (원피스 수영복) as a dress."""
    from vtonkit.crawlers.categories import normalise_category

    assert normalise_category(title=title, breadcrumbs=crumbs, language=lang) == category


# --- the trail's last step when it is no link ----------------------------------------------------

_SKIRT_PRODUCT = {"@context": "https://schema.org", "@type": "Product", "name": "The Marlow", "sku": "M-1",
                  "image": "https://shop.example/img/marlow.jpg",
                  "offers": {"@type": "Offer", "price": "55.00", "priceCurrency": "EUR"}}


@pytest.mark.parametrize("trail", [
    '<nav class="breadcrumb"><a href="/">Home</a> &gt; <a href="/c/women">Women</a> &gt; <span>Skirts</span></nav>',
    '<div class="breadcrumbs"><a href="/">Home</a> / <a href="/c/women">Women</a> / Skirts</div>',
    '<nav class="breadcrumb"><span>You are here:</span> <a href="/">Home</a> › <a href="/c/women">Women</a> ›'
    ' <strong>Skirts</strong></nav>',
    '<nav aria-label="breadcrumb"><ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/c/women">Women</a>'
    '</li><li aria-current="page">Skirts</li></ol></nav>',
])
def test_the_trails_last_step_counts_when_it_is_no_link(trail):
    """The current category is plain text or a `<span>` after the links: it was dropped, and a skirt
    named "The Marlow" fell to `other`. A label before the first link and the separators are no steps."""
    item = extract_product(_page(_SKIRT_PRODUCT, body=f"{trail}<h1>The Marlow</h1>"), "https://shop.example/p/marlow")
    assert (item.breadcrumbs, item.category) == (["Home", "Women", "Skirts"], "lower")


# --- Korean and Chinese product pages without product data ----------------------------------------

_YOUNGCART = ('<div id="sit_pvi_big"><a href="/shop/largeimage.php?it_id=1600000001&no=1">'
              '<img src="/data/item/1600000001/slacks.jpg" width="600"></a></div>'
              '<section id="sit_ov"><h2 id="sit_title">기모 슬랙스 <span class="sound_only">요약정보 및 구매</span></h2>'
              '<table class="sit_ov_tbl"><tr><th scope="row">판매가격</th><td><strong>32,000원</strong></td></tr></table>'
              '{soldout}</section>')
_TAOBAO = ('<div class="tb-booth"><img id="J_ImgBooth" src="/img/trousers.jpg"></div>'
           '<div class="tb-property"><h3 class="tb-main-title">高腰阔腿裤 女 春夏</h3>'
           '<dl class="tb-promo"><dt>促销价</dt><dd><em class="tb-rmb">￥</em><em class="tb-rmb-num">199.00</em></dd></dl></div>')


@pytest.mark.parametrize("head, body, lang, url", [
    ('<meta property="og:title" content="기모 슬랙스">', _YOUNGCART.format(soldout=""), "ko",
     "https://mall.example/shop/item.php?it_id=1600000001"),
    ('<meta property="og:title" content="高腰阔腿裤 女 春夏">', _TAOBAO, "zh-CN", "https://shop.example/item.htm?id=520001"),
])
def test_a_product_named_in_a_lower_heading_is_one_when_reached_as_a_products(head, body, lang, url):
    """Youngcart names its product in ``<h2 id="sit_title">``, Taobao-like shops in an ``<h3>`` and show it
    in ``<img id="J_ImgBooth">``: without a ``<h1>`` (or the picture) the crawl kept neither."""
    item = extract_product(_page(head=head, body=body, lang=lang), url, expected=True)
    assert is_product_page(item) and item.sources["product"] == "visible" and item.category == "lower"
    assert len(item.image_urls) == 1 and "crawl" not in item.sources


def test_extract_product_says_when_the_crawl_would_not_keep_a_page():
    """`vtonkit extract-product` printed such a page as a product although a crawl keeps it only
    when it reached it as a product's."""
    page = _page(head='<meta property="og:title" content="기모 슬랙스">', body=_YOUNGCART.format(soldout=""), lang="ko")
    item = extract_product(page, "https://mall.example/shop/item.php?it_id=1600000001")
    assert not is_product_page(item) and "product data" in item.sources["crawl"]


@pytest.mark.parametrize("attributes", ['id="sit_ov_soldout" class="sit_ov_soldout"', 'id="sit_ov_soldout"'])
def test_youngcart_sold_out_notice(attributes):
    """Youngcart says "the stock is short, it cannot be bought" rather than "품절" (sold out), in a
    notice that stock elements were found by class alone, which Youngcart's stock theme has none of."""
    page = _page(head='<meta property="og:title" content="기모 슬랙스">', lang="ko", body=_YOUNGCART.format(
        soldout=f'<p {attributes}>상품의 재고가 부족하여 구매할 수 없습니다.</p>'))
    assert extract_product(page, "https://mall.example/shop/item.php?it_id=1", expected=True).availability == "OutOfStock"


_CAFE24_BUY_AREA = (
    '<div class="xans-product-action"><div class="ec-base-button">'
    '<a href="#none" class="first btnSubmit sizeL {buy}" onclick="product_submit(1, \'/exec/front/order/basket/\', this)">'
    '<span id="btnBuy">바로 구매하기</span></a>'
    '<span class="btnSubmit sizeL {sold}">SOLD OUT</span>'
    '<a href="#none" class="btnNormal sizeL actionCart {buy}" onclick="product_submit(2, \'/exec/front/order/basket/\', '
    'this)">장바구니 담기</a></div></div>')


@pytest.mark.parametrize("buy_area, availability", [
    (_CAFE24_BUY_AREA.format(buy="displaynone", sold=""), "OutOfStock"),
    (_CAFE24_BUY_AREA.format(buy="", sold="displaynone"), "InStock"),
    ('<a href="#none" class="btnSubmit" onclick="product_submit(1, \'/exec/\', this)">품절</a>', "OutOfStock"),
    # another product's sold-out button is not this one's
    ('<a href="#none" class="btnBasket" onclick="buy()">장바구니 담기</a><div class="xans-product-relation">'
     '<span class="btnSold">SOLD OUT</span></div>', "InStock"),
    # a size that is sold out is not the product
    ('<a href="#none" class="btnBasket" onclick="buy()">장바구니 담기</a><span class="btnOption">XS - 품절</span>', "InStock"),
], ids=["cafe24-sold-out", "cafe24-in-stock", "script-link-captioned-sold-out", "related-product", "one-size"])
def test_a_buy_button_that_only_says_sold_out_is_out_of_stock(buy_area, availability):
    """Cafe24 replaces its buy links with `<span class="btnSubmit sizeL">SOLD OUT</span>`: no stock or sold
    class to find it by, so a sold-out product's availability was None."""
    body = (f"<h1>린넨 셔츠</h1><table><tr><th>판매가</th><td><strong id='span_product_price_text'>45,000원</strong>"
            f"</td></tr><tr><th>상품코드</th><td>P0000B</td></tr></table>{buy_area}<img src='/web/product/big/1.jpg'>")
    item = extract_product(_page(body=body, lang="ko"), "https://mall.example/product/detail.html?product_no=11")
    assert item is not None and item.availability == availability
