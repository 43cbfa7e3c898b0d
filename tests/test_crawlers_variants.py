"""One record, one variant: a product group's SKU, price, stock, colour and picture come from the
variant the page shows; pages that are not a product's (an article, an error page) give none; and
breadcrumb trails written without links. Each case modelled on a page a prober found read wrong."""

from __future__ import annotations

import json

import pytest
from vtonkit.crawlers.extract import extract_product


def _page(*json_ld: dict, head: str = "", body: str = "", lang: str = "en") -> str:
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(o, ensure_ascii=False)}</script>'
                      for o in json_ld)
    return f'<html lang="{lang}"><head><meta charset="utf-8">{scripts}{head}</head><body>{body}</body></html>'


def _variant(sku: str, colour: str, price: str, stock: str, image: str, **extra: str) -> dict:
    return {"@type": "Product", "name": f"Pleated skirt {colour}", "sku": sku, "color": colour, "image": image,
            "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR",
                       "availability": f"https://schema.org/{stock}"}, **extra}


_NAVY = _variant("PS-1-NV", "Navy", "39.00", "InStock", "/img/navy.jpg", **{"@id": "/p/ps-1?variant=11#variant"})
_BEIGE = _variant("PS-1-BE", "Beige", "49.00", "OutOfStock", "/img/beige.jpg", **{"@id": "/p/ps-1?variant=12#variant"})


def _skirt_group(*variants: dict) -> str:
    group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "Pleated skirt",
             "productGroupID": "PS-1", "variesBy": ["https://schema.org/color"], "hasVariant": list(variants)}
    return _page(group, head="<title>Pleated skirt</title>", body="<h1>Pleated skirt</h1>")


def _fields(item) -> tuple:
    return item.sku, item.price, item.availability, item.colour, item.image_urls


@pytest.mark.parametrize(("url", "colour"), [
    ("https://s.test/p/ps-1", "navy"),  # nothing named: the first variant in stock
    ("https://s.test/p/ps-1?color=beige", "beige"),  # its colour in the query
    ("https://s.test/p/ps-1-beige", "beige"),  # its colour in the path
    ("https://s.test/p/ps-1?sku=PS-1-BE", "beige"),  # its SKU
    ("https://s.test/collections/skirts/p/ps-1?variant=12", "beige"),  # its own address (Shopify's ?variant=)
])
def test_a_group_record_takes_sku_price_stock_colour_and_picture_from_one_variant(url, colour):
    """The record mixed one variant's SKU with another's price and stock ("PS-1-BE" sold at navy's
    39.00, in stock), held every variant's picture and no colour; `?color=beige` was ignored."""
    expected = {
        "navy": ("PS-1-NV", 39.0, "InStock", "Navy", ["https://s.test/img/navy.jpg"]),
        "beige": ("PS-1-BE", 49.0, "OutOfStock", "Beige", ["https://s.test/img/beige.jpg"]),
    }[colour]
    item = extract_product(_skirt_group(_NAVY, _BEIGE), url)
    assert _fields(item) == expected
    assert (item.title, item.product_id) == ("Pleated skirt", "PS-1")  # the group's name and id stay the product's


def test_with_nothing_named_the_default_is_the_first_variant_in_stock():
    item = extract_product(_skirt_group(_BEIGE, _NAVY), "https://s.test/p/ps-1")
    assert _fields(item)[:4] == ("PS-1-NV", 39.0, "InStock", "Navy")


def test_the_sizes_of_the_shown_colour_decide_its_stock_not_the_other_colours():
    """A group listed once per size: the beige S (sold out) can be ordered in M; but a beige sold out
    in every size is sold out, though navy sells."""
    def beige(size: str, stock: str, number: int) -> dict:
        return _variant(f"PS-1-BE-{size}", "Beige", "49.00", stock, "/img/beige.jpg",
                        **{"@id": f"/p/ps-1?variant={number}#variant"})

    url = "https://s.test/p/ps-1?variant=21"
    some_size = extract_product(_skirt_group(_NAVY, beige("S", "OutOfStock", 21), beige("M", "InStock", 22)), url)
    assert (some_size.sku, some_size.availability) == ("PS-1-BE-S", "InStock")
    no_size = extract_product(_skirt_group(_NAVY, beige("S", "OutOfStock", 21), beige("M", "OutOfStock", 22)), url)
    assert (no_size.sku, no_size.price, no_size.availability) == ("PS-1-BE-S", 49.0, "OutOfStock")


def test_a_japanese_group_gives_the_variant_its_colour_and_one_picture():
    """The prober's Japanese shop (`/items/jp-101`): two records of SKU JP-101-NV-M, one with the
    beige picture, and colour None though each variant names its colour (ネイビー, ベージュ)."""
    def variant(code: str, colour: str, price: str, stock: str, image: str) -> dict:
        return {"@type": "Product", "name": f"プリーツスカート {colour} / M", "sku": f"JP-101-{code}-M",
                "color": colour, "size": "M", "image": image,
                "offers": {"@type": "Offer", "price": price, "priceCurrency": "JPY",
                           "availability": f"https://schema.org/{stock}"}}

    group = {"@context": "https://schema.org", "@type": "ProductGroup", "name": "プリーツスカート",
             "productGroupID": "JP-101", "hasVariant": [variant("NV", "ネイビー", "3980", "InStock", "/img/g11.jpg"),
                                                      variant("BE", "ベージュ", "4980", "OutOfStock", "/img/g12.jpg")]}
    page = _page(group, head="<title>プリーツスカート | ショップ</title>", lang="ja",
                 body='<h1>プリーツスカート</h1><p class="price">¥3,980 (税込)</p>'
                      '<img src="/img/g11.jpg"><img src="/img/g12.jpg">')
    item = extract_product(page, "http://127.0.0.1:8802/items/jp-101")
    assert _fields(item) == ("JP-101-NV-M", 3980.0, "InStock", "ネイビー", ["http://127.0.0.1:8802/img/g11.jpg"])
    assert item.sources["colour"] == "json-ld"
    beige = extract_product(page, "http://127.0.0.1:8802/items/jp-101?color=ベージュ")
    assert _fields(beige) == ("JP-101-BE-M", 4980.0, "OutOfStock", "ベージュ", ["http://127.0.0.1:8802/img/g12.jpg"])


# --- pages that are not a product's --------------------------------------------------------------

_WIDE_JEANS = {"@context": "https://schema.org", "@type": "Product", "name": "Wide jeans", "sku": "WJ1",
               "image": "/wj.jpg", "offers": {"@type": "Offer", "price": "59", "priceCurrency": "EUR"}}


@pytest.mark.parametrize("article", [
    {"@context": "https://schema.org", "@type": "BlogPosting", "headline": "How to style wide jeans"},
    {"@context": "https://schema.org", "@type": "Article", "headline": "Five looks",
     "mainEntityOfPage": {"@id": "https://s.test/blog/how-to-style-wide-jeans"}},
    {"@context": "https://schema.org", "@type": "WebPage",
     "mainEntity": {"@type": "NewsArticle", "headline": "Denim news"}},
])
def test_a_blog_post_recommending_a_product_is_no_product_page(article):
    """A blog post carries the Product it recommends beside its own Article: it was kept as that product."""
    page = _page(article, _WIDE_JEANS, head="<title>How to style wide jeans - Blog</title>",
                 body='<h1>How to style wide jeans</h1><p>Our pick costs €59.</p><img src="/blog.jpg">')
    assert extract_product(page, "https://s.test/blog/how-to-style-wide-jeans") is None


def test_a_product_page_with_an_article_node_is_still_a_product():
    """Some themes write an Article for every page: on a product's own page the product is the page's."""
    article = {"@context": "https://schema.org", "@type": "Article", "headline": "Wide jeans"}
    page = _page(article, _WIDE_JEANS, head="<title>Wide jeans | Shop</title>", body="<h1>Wide jeans</h1>")
    item = extract_product(page, "https://s.test/p/wide-jeans")
    assert (item.title, item.sku, item.price) == ("Wide jeans", "WJ1", 59.0)


def test_an_opengraph_error_page_is_no_product():
    """A soft 404 keeps the template's og:type "product": "Page not found" with the shop's logo as its
    picture was a product."""
    head = ('<title>Page not found</title><meta property="og:type" content="product">'
            '<meta property="og:title" content="Page not found"><meta property="og:image" content="/logo.png">'
            '<meta property="product:price:amount" content="0"><meta property="product:price:currency" content="EUR">')
    assert extract_product(_page(head=head, body="<h1>Page not found</h1>"), "https://s.test/products/gone") is None
    # a product's own picture and price keep an OpenGraph-only page a product
    head = head.replace("Page not found", "Wide jeans").replace("/logo.png", "/wj.jpg").replace('"0"', '"59"')
    item = extract_product(_page(head=head, body="<h1>Wide jeans</h1>"), "https://s.test/products/wide-jeans")
    assert (item.title, item.price, item.sources["product"]) == ("Wide jeans", 59.0, "opengraph")


# --- breadcrumb trails without links -------------------------------------------------------------

_OG_PRODUCT = '<meta property="og:type" content="product"><meta property="product:price:amount" content="45000">'


@pytest.mark.parametrize(("trail", "lang", "steps", "gender"), [
    ('<nav class="breadcrumb">홈 › 하의 › 바지</nav>', "ko", ["홈", "하의", "바지"], None),
    ('<div class="crumb">首页 &gt; 女装 &gt; 半身裙</div>', "zh-CN", ["首页", "女装", "半身裙"], "women"),
    ('<ol class="breadcrumbs"><li>Home</li><li>/</li><li>Women</li><li>/</li><li>Skirts</li></ol>', "en",
     ["Home", "Women", "Skirts"], "women"),
])
def test_a_trail_without_links_is_read(trail, lang, steps, gender):
    """A trail written as plain text gave no breadcrumbs (a step had to be a link), so no gender."""
    item = extract_product(_page(head=_OG_PRODUCT, body=f"{trail}<h1>Pleats Long A</h1>", lang=lang),
                           "https://mall.example/product/detail.html?product_no=13")
    assert (item.breadcrumbs, item.gender, item.category) == (steps, gender, "lower")


def test_a_breadcrumb_named_element_that_is_no_trail_gives_none():
    """Without links, only separators make a trail: a heading or a sentence in an element named so is none."""
    for body in ('<div class="breadcrumb-title">Our new collection is here</div>',
                 '<div class="crumb">Free delivery on every order over 50 euros / returns within 30 days</div>'):
        item = extract_product(_page(head=_OG_PRODUCT, body=f"{body}<h1>Pleats Long A</h1>"), "https://shop.example/p/13")
        assert item.breadcrumbs == [], body


def test_a_group_page_gives_its_other_colours_with_their_own_pictures_only():
    """The group's other colours are records of their own (the beige skirt was never written when
    the page linked no variant), each with its own SKU, price, stock and picture; a colour drawn
    with the shown colour's picture gives none (it would be the navy picture labelled beige), and a
    colour with an address of its own is fetched there."""
    from vtonkit.crawlers.extract import read_product_page

    bare = {key: value for key, value in _BEIGE.items() if key != "@id"}
    page = read_product_page(_skirt_group(_NAVY, bare), "https://s.test/p/ps-1")
    assert _fields(page.item)[3] == "Navy" and page.colour_pages == []
    assert [_fields(item) for item in page.other_colours] == [
        ("PS-1-BE", 49.0, "OutOfStock", "Beige", ["https://s.test/img/beige.jpg"])]
    assert page.other_colours[0].product_id == "PS-1"

    same_picture = {**bare, "image": _NAVY["image"]}
    assert read_product_page(_skirt_group(_NAVY, same_picture), "https://s.test/p/ps-1").other_colours == []

    linked = read_product_page(_skirt_group(_NAVY, _BEIGE), "https://s.test/p/ps-1")
    assert linked.other_colours == [] and linked.colour_pages == ["https://s.test/p/ps-1?variant=12"]
    # at the beige address the navy one is the other colour
    beige = read_product_page(_skirt_group(_NAVY, _BEIGE), "https://s.test/p/ps-1?variant=12")
    assert _fields(beige.item)[3] == "Beige" and beige.colour_pages == ["https://s.test/p/ps-1?variant=11"]
