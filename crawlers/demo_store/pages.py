"""HTML and JSON documents of the demo store, rendered from the catalogue.

Each product page carries its data in the markup style the catalogue names, so that one crawl
exercises every extraction path: ``json-ld``, ``json-ld-malformed`` (comments, trailing commas,
raw newlines), ``json-ld-graph`` (``@graph`` + ``AggregateOffer``), ``microdata`` and
``opengraph`` (meta tags only).
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from vtonkit.crawlers.demo_store.catalogue import product_path

_STYLE = "body{font-family:sans-serif;margin:2em}.grid{display:flex;flex-wrap:wrap;gap:1em}.card{width:160px}img{max-width:100%}"


def _layout(title: str, body: str, head: str = "") -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style>{head}</head>"
        "<body><header><a href='/'>vtonkit demo store</a> | <a href='/shop'>Shop</a> | "
        f"<a href='/new-in'>New in</a></header><main>{body}</main></body></html>"
    )


def listed_products(catalogue: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return [p for p in catalogue["products"] if p["section"] == section]


def home_page() -> str:
    body = (
        "<h1>vtonkit demo store</h1><p>A small shop for testing crawlers.</p>"
        "<ul><li><a href='/shop'>All products</a></li><li><a href='/new-in'>New in (JavaScript)</a></li></ul>"
    )
    return _layout("vtonkit demo store", body)


def listing_page(catalogue: dict[str, Any], page: int) -> str | None:
    """``/shop?page=N``: product cards, broken links and the private banner on page 1."""
    size = catalogue["store"]["page_size"]
    entries = [(product_path(p), p["title"], p["images"][0]) for p in listed_products(catalogue, "shop")]
    entries += [(b["path"], b["title"], "/media/swatch/grey.png") for b in catalogue["broken"]]
    pages = max(1, math.ceil(len(entries) / size))
    if page < 1 or page > pages:
        return None
    cards = "".join(
        f"<div class='card'><a class='product-card' href='{path}'><img src='{image}' alt=''>"
        f"<span>{escape(title)}</span></a></div>"
        for path, title, image in entries[(page - 1) * size : page * size]
    )
    banner = ""
    if page == 1:
        private = listed_products(catalogue, "private")
        banner = "".join(
            f"<p class='staff'><a href='{product_path(p)}'>Staff only: {escape(p['title'])}</a></p>"
            for p in private
        )
    nav = []
    if page > 1:
        nav.append(f"<a rel='prev' href='/shop?page={page - 1}'>Previous</a>")
    if page < pages:
        nav.append(f"<a rel='next' class='next' href='/shop?page={page + 1}'>Next</a>")
    body = f"<h1>Shop, page {page} of {pages}</h1>{banner}<div class='grid'>{cards}</div><nav class='pagination'>{' '.join(nav)}</nav>"
    return _layout(f"Shop - page {page}", body)


def new_in_page() -> str:
    """A section whose product links exist only after JavaScript runs."""
    script = (
        "fetch('/api/new-in.json').then(r => r.json()).then(items => {"
        " const grid = document.getElementById('new-in');"
        " for (const it of items) {"
        "  const a = document.createElement('a'); a.className = 'product-card'; a.href = it.url;"
        "  a.textContent = it.title; const d = document.createElement('div'); d.className = 'card';"
        "  d.appendChild(a); grid.appendChild(d); }"
        " grid.setAttribute('data-loaded', 'true'); });"
    )
    body = (
        "<h1>New in</h1><noscript>This section needs JavaScript.</noscript>"
        f"<div id='new-in' class='grid'></div><script>{script}</script>"
    )
    return _layout("New in", body)


def new_in_json(catalogue: dict[str, Any]) -> str:
    return json.dumps(
        [{"title": p["title"], "url": product_path(p)} for p in listed_products(catalogue, "js")]
    )


def _abs(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _json_ld(catalogue: dict[str, Any], product: dict[str, Any], base: str) -> dict[str, Any]:
    store = catalogue["store"]
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product["title"],
        "sku": product["sku"],
        "brand": {"@type": "Brand", "name": store["brand"]},
        "color": product["colour"],
        "image": [_abs(base, i) for i in product["images"]],
        "description": f"{product['title']} by {store['brand']}.",
        "offers": {
            "@type": "Offer",
            "url": _abs(base, product_path(product)),
            "price": f"{product['price']:.2f}",
            "priceCurrency": store["currency"],
            "availability": "https://schema.org/InStock",
        },
    }


def _breadcrumb_ld(product: dict[str, Any]) -> str:
    if not product["breadcrumbs"]:
        return ""
    trail = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i + 1, "name": name}
            for i, name in enumerate(product["breadcrumbs"])
        ],
    }
    return f"<script type='application/ld+json'>{json.dumps(trail)}</script>"


def _structured_head(catalogue: dict[str, Any], product: dict[str, Any], base: str) -> str:
    markup = product["markup"]
    store = catalogue["store"]
    if markup == "json-ld":
        return (
            f"<script type='application/ld+json'>{json.dumps(_json_ld(catalogue, product, base))}</script>"
            + _breadcrumb_ld(product)
        )
    if markup == "json-ld-malformed":
        # what real shops ship: a comment, a raw newline inside a string, trailing commas
        text = json.dumps(_json_ld(catalogue, product, base), indent=1)
        text = text.replace('"description": "', '"description": "First line\nsecond line. ', 1)
        text = text.replace('"sku":', '// merchant feed id\n "sku":', 1)
        text = text.replace("\n }\n}", "\n },\n}")  # a trailing comma after the last member
        return f'<script type="application/ld+json">\n{text}\n</script>' + _breadcrumb_ld(product)
    if markup == "json-ld-graph":
        node = _json_ld(catalogue, product, base)
        node["offers"] = {
            "@type": "AggregateOffer",
            "lowPrice": f"{product['price']:.2f}",
            "highPrice": f"{product['price'] + 10:.2f}",
            "priceCurrency": store["currency"],
            "offerCount": 3,
        }
        graph = {
            "@context": "https://schema.org",
            "@graph": [{"@type": "WebPage", "name": product["title"]}, {**node, "@context": None}],
        }
        graph["@graph"][1].pop("@context")
        return f"<script type='application/ld+json'>{json.dumps(graph)}</script>" + _breadcrumb_ld(product)
    if markup == "opengraph":
        metas = [
            ("og:type", "product"),
            ("og:title", product["title"]),
            ("product:brand", store["brand"]),
            ("product:price:amount", f"{product['price']:.2f}"),
            ("product:price:currency", store["currency"]),
            ("product:retailer_item_id", product["sku"]),
            ("product:availability", "in stock"),
            ("product:color", product["colour"]),
        ]
        metas += [("og:image", _abs(base, i)) for i in product["images"]]
        return "".join(f"<meta property='{k}' content='{escape(v)}'>" for k, v in metas)
    return ""  # microdata lives in the body


def _microdata_body(catalogue: dict[str, Any], product: dict[str, Any], base: str) -> str:
    store = catalogue["store"]
    images = "".join(f"<img itemprop='image' src='{_abs(base, i)}' alt=''>" for i in product["images"])
    crumbs = "".join(
        f"<li itemprop='itemListElement' itemscope itemtype='https://schema.org/ListItem'>"
        f"<span itemprop='name'>{escape(c)}</span><meta itemprop='position' content='{i + 1}'></li>"
        for i, c in enumerate(product["breadcrumbs"])
    )
    return (
        f"<ol itemscope itemtype='https://schema.org/BreadcrumbList'>{crumbs}</ol>"
        "<div itemscope itemtype='https://schema.org/Product'>"
        f"<h1 itemprop='name'>{escape(product['title'])}</h1>{images}"
        f"<p>Brand: <span itemprop='brand'>{escape(store['brand'])}</span></p>"
        f"<p>Colour: <span itemprop='color'>{escape(product['colour'])}</span></p>"
        f"<p>Article number: <span itemprop='sku'>{escape(product['sku'])}</span></p>"
        "<div itemprop='offers' itemscope itemtype='https://schema.org/Offer'>"
        f"<span itemprop='price' content='{product['price']:.2f}'>{product['price']:.2f}</span> "
        f"<meta itemprop='priceCurrency' content='{store['currency']}'>EUR"
        "<link itemprop='availability' href='https://schema.org/InStock'></div></div>"
    )


def product_page(catalogue: dict[str, Any], product: dict[str, Any], base: str) -> str:
    """A product page in the markup style the catalogue names for it."""
    if product["markup"] == "microdata":
        body = _microdata_body(catalogue, product, base)
    else:
        crumbs = " &gt; ".join(escape(c) for c in product["breadcrumbs"])
        images = "".join(f"<img src='{i}' alt=''>" for i in product["images"])
        body = (
            f"<nav class='breadcrumb'>{crumbs}</nav><h1>{escape(product['title'])}</h1>"
            f"<div class='gallery'>{images}</div><p class='price'>{product['price']:.2f} €</p>"
            f"<p>Article number: {escape(product['sku'])}</p>"
        )
    return _layout(product["title"], body, head=_structured_head(catalogue, product, base))


def truncated_page(title: str) -> str:
    """A product page cut off mid-document: unreadable JSON-LD and no other product data."""
    return (
        f"<!doctype html><html><head><title>{escape(title)}</title>"
        '<script type=\'application/ld+json\'>{"@type": "Product", "name": "'
        + escape(title)
        + '", "offers": {"price": '
        "</script></head><body><h1>"
    )


def products_json(catalogue: dict[str, Any], page: int, limit: int, base: str) -> str:
    """Shopify-style ``/products.json`` for the ``shop`` section; an empty list past the end."""
    store = catalogue["store"]
    products = listed_products(catalogue, "shop")
    chunk = products[(page - 1) * limit : page * limit] if page >= 1 else []
    out = []
    for index, product in enumerate(chunk, start=(page - 1) * limit + 1):
        out.append(
            {
                "id": 7000 + index,
                "title": product["title"],
                "handle": product["slug"],
                "vendor": store["brand"],
                "product_type": product["type"],
                "tags": [product["gender"], product["colour"]],
                "variants": [
                    {
                        "id": 9000 + index,
                        "sku": product["sku"],
                        "price": f"{product['price']:.2f}",
                        "available": True,
                    }
                ],
                "images": [
                    {"id": 8000 + index * 10 + k, "src": _abs(base, i), "position": k + 1}
                    for k, i in enumerate(product["images"])
                ],
            }
        )
    return json.dumps({"products": out})


def sitemap_index(base: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{_abs(base, '/sitemap_products_1.xml')}</loc></sitemap></sitemapindex>"
    )


def products_sitemap(catalogue: dict[str, Any], base: str) -> str:
    urls = "".join(
        f"<url><loc>{_abs(base, product_path(p))}</loc></url>" for p in listed_products(catalogue, "shop")
    )
    return f"<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"


def robots_txt(catalogue: dict[str, Any], base: str) -> str:
    disallow = catalogue["robots_disallow"]
    return f"User-agent: *\nDisallow: {disallow}\n\nSitemap: {_abs(base, '/sitemap.xml')}\n"
