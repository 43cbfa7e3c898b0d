"""Products declared in RDFa attributes only (no JSON-LD, no microdata), as some shop templates do.

A prober's Polish shop page read as no product data: SKU, stock and colour None, title and price
from the visible page, and `extract-product` said "not kept: no product data"."""

from __future__ import annotations

from vtonkit.crawlers.extract import extract_product

RDFA_PAGE = """<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>Spodnie lniane</title></head>
<body><nav class="breadcrumb"><a href="/">Kobiety</a> &gt; <a href="/spodnie">Spodnie</a></nav>
<div vocab="https://schema.org/" typeof="Product"><h1 property="name">Spodnie lniane</h1>
<span property="sku">SKU-P2</span><img property="image" src="/img/p2.jpg">
<span property="color">Beżowy</span>
<div property="offers" typeof="Offer"><span class="price" property="price" content="1299.00">1 299,00 zł</span>
<meta property="priceCurrency" content="PLN"><link property="availability" href="https://schema.org/OutOfStock">
</div></div></body></html>"""


def test_a_product_in_rdfa_is_read_as_product_data():
    item = extract_product(RDFA_PAGE, "https://shop.test/product/p2")
    assert (item.title, item.sku, item.price, item.currency, item.availability, item.colour) == (
        "Spodnie lniane", "SKU-P2", 1299.0, "PLN", "OutOfStock", "Beżowy")
    assert item.image_urls == ["https://shop.test/img/p2.jpg"]
    assert item.sources["product"] == "rdfa" and "crawl" not in item.sources


def test_prefixed_rdfa_and_other_vocabularies():
    """`schema:` prefixes name the same vocabulary; a Dublin Core title is not the product's."""
    page = RDFA_PAGE.replace('vocab="https://schema.org/" typeof="Product"',
                             'prefix="schema: http://schema.org/ dc: http://purl.org/dc/terms/" typeof="schema:Product"')
    for name in ("name", "sku", "image", "color", "offers", "price", "priceCurrency", "availability"):
        page = page.replace(f'property="{name}"', f'property="schema:{name}"')
    page = page.replace('typeof="Offer"', 'typeof="schema:Offer"').replace(
        "<h1", '<span property="dc:title">Sklep</span><h1', 1)
    item = extract_product(page, "https://shop.test/product/p2")
    assert (item.title, item.sku, item.price, item.availability) == ("Spodnie lniane", "SKU-P2", 1299.0, "OutOfStock")


def test_rdfa_is_not_read_where_the_page_has_json_ld():
    """JSON-LD stays the first evidence; RDFa is read only on pages without other product data."""
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", '
          '"name": "Spodnie lniane", "sku": "LD-1", "offers": {"@type": "Offer", "price": "999", '
          '"priceCurrency": "PLN"}}</script>')
    item = extract_product(RDFA_PAGE.replace("</head>", ld + "</head>"), "https://shop.test/product/p2")
    assert (item.sku, item.price, item.sources["product"]) == ("LD-1", 999.0, "json-ld")
