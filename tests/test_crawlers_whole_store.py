"""Whole-store crawls of small shops on 127.0.0.1 that real stores resemble: a shop that
redirects its address to another host name, a category grid filled by script on a page that is
not an app shell, ``--render always`` on a store whose every page links the same menu, and
single-page apps with a category level, routed by history or by the URL's fragment.

Each crawl runs `vtonkit crawl generic` in a subprocess (the Twisted reactor cannot restart).
"""

from __future__ import annotations

import json

import pytest
from vtonkit.crawlers.browser import chromium_available
from vtonkit.crawlers.render import empty_product_grid
from vtonkit.crawlers.url_roles import hash_route, product_identity

from tests.fixture_shops import (
    CAFE24_GARMENTS,
    GARMENTS,
    SHOPIFY_PRODUCTS,
    FixtureShop,
    Page,
    Routes,
    _Handler,
    html,
    product_ld,
    shopify_store,
)
from tests.test_crawlers_render import _crawl, _crawl_shop

pytestmark = pytest.mark.slow

needs_chromium = pytest.mark.skipif(
    not chromium_available(), reason="Chromium not installed (apt-get install chromium, or set VTONKIT_CHROMIUM)"
)
ROBOTS = Page(b"User-agent: *\nAllow: /\n", "text/plain")
MENU = "<nav><a href='/'>Home</a> <a href='/category/tops'>Tops</a> <a href='/category/skirts'>Skirts</a></nav>"
MENU_PRODUCTS = {"tops": ["boxy-tee", "linen-shirt", "cable-knit"], "skirts": ["midi-skirt", "pleated-skirt"]}


def _image(n: int) -> Page:
    return Page((GARMENTS / CAFE24_GARMENTS[n % len(CAFE24_GARMENTS)]).read_bytes(), "image/jpeg")


def menu_store(base: str) -> Routes:
    """Every page, products included, carries the same menu: home and both categories."""
    routes: Routes = {"/robots.txt": ROBOTS, "/": html(MENU + "<h1>Welcome</h1>")}
    n = 0
    for category, handles in MENU_PRODUCTS.items():
        routes[f"/category/{category}"] = html(MENU + "".join(f"<a href='/products/{h}'>{h}</a>" for h in handles))
        for handle in handles:
            offer = {"@type": "Offer", "price": 30 + n, "priceCurrency": "EUR"}
            routes[f"/products/{handle}"] = html(MENU + f"<h1>{handle}</h1>",
                                                 head=product_ld(handle, f"/img/{n}.jpg", offer, sku=handle))
            routes[f"/img/{n}.jpg"] = _image(n)
            n += 1
    return routes


@needs_chromium
def test_render_always_renders_each_page_once(tmp_path):
    """Under --render always a page linked again (the menu on every page) is not rendered again: each
    link of the menu was a new render before, the render budget spent on copies of three pages."""
    shop, summary, products, _, _ = _crawl_shop(menu_store, "generic", tmp_path, "--render", "always")
    pages = 3 + sum(len(handles) for handles in MENU_PRODUCTS.values())
    assert sorted(p["sku"] for p in products) == sorted(h for hs in MENU_PRODUCTS.values() for h in hs)
    assert summary["rendered"] == {"always": pages}
    assert summary["skipped"] == {}
    fetched = [path for path in shop.paths if not path.startswith(("/img/", "/robots.txt", "/sitemap.xml"))]
    assert sorted(fetched) == sorted(set(fetched)) and len(fetched) == pages


class _MovedHandler(_Handler):
    """The shop moved: a request to ``localhost`` is sent on to the same path on ``127.0.0.1``
    (every path, or those `moves` names)."""

    def moves(self, path: str) -> bool:
        return True

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        if host.startswith("localhost") and self.moves(self.path):
            self.server.log(f"//{host}{self.path}", self.headers.get("User-Agent", ""))
            self.send_response(301)
            self.send_header("Location", f"{self.server.url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


def _moved_shop(routes) -> tuple[FixtureShop, str]:
    """(the shop, the address a user types: its old host name, redirected to 127.0.0.1)."""
    shop = FixtureShop(routes)
    shop.RequestHandlerClass = _MovedHandler
    return shop, shop.url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize("store, routes, expected", [
    ("generic", menu_store, sorted(h for hs in MENU_PRODUCTS.values() for h in hs)),
    ("shopify", shopify_store, sorted(sku for sku, *_ in SHOPIFY_PRODUCTS.values())),
])
def test_a_store_whose_address_redirects_to_another_host_is_crawled_there(tmp_path, store, routes, expected):
    """`--url` names a host the shop redirects from (www -> apex, brand.myshopify.com -> brand.example):
    the store is crawled where it landed. Before, every link was dropped as offsite, silently: no
    product and no error."""
    shop, old_url = _moved_shop(routes)
    try:
        summary, products, _, _ = _crawl(store, old_url, tmp_path, "--render", "never")
    finally:
        shop.stop()
    assert sorted(p["sku"] for p in products) == expected
    assert any("redirects to 127.0.0.1" in note for note in summary["notes"])
    assert any(path.startswith("//localhost") for path in shop.paths)  # it did start at the old host


GRID_PRODUCTS = 10  # per collection; the grid's API returns 4 at a time, then a "Load more" button
# a theme drawn on the server (menu, footer) whose collection grid is an empty box filled by script
GRID_JS = """
(async () => {
  const grid = document.getElementById('product-grid'), more = document.getElementById('more');
  let page = 1;
  async function load() {
    const data = await (await fetch('/api/grid?collection=' + grid.dataset.collection + '&page=' + page)).json();
    for (const p of data.items) {
      const card = document.createElement('div');
      card.innerHTML = '<a href="/products/' + p.handle + '">' + p.name + '</a>';
      grid.appendChild(card);
    }
    more.style.display = data.more ? 'block' : 'none';
    page += 1;
  }
  more.addEventListener('click', load);
  load();
})();
"""


def grid_store(base: str) -> Routes:
    collections = ("women", "men")
    menu = "".join(f"<a href='/collections/{c}'>{c.title()}</a> " for c in collections)
    footer = "<footer>" + "About us. Shipping and returns. Contact. Careers. Gift cards. Store locator. " * 8 + "</footer>"
    routes: Routes = {"/robots.txt": ROBOTS, "/": html(f"<header>{menu}</header><h1>Welcome</h1>{footer}"),
                      "/static/grid.js": Page(GRID_JS.encode(), "application/javascript")}
    for c in collections:
        routes[f"/collections/{c}"] = html(
            f"<header>{menu}</header><h1>{c.title()}</h1><div id='product-grid' data-collection='{c}'></div>"
            f"<button id='more' style='display:none'>Load more</button>{footer}<script src='/static/grid.js'></script>")
        items = [{"handle": f"{c}-tee-{n}", "name": f"Tee {n}"} for n in range(GRID_PRODUCTS)]
        for page in range(1, GRID_PRODUCTS // 4 + 2):
            body = {"items": items[(page - 1) * 4:page * 4], "more": page * 4 < GRID_PRODUCTS}
            routes[f"/api/grid?collection={c}&page={page}"] = Page(json.dumps(body).encode(), "application/json")
        for n, item in enumerate(items):
            offer = {"@type": "Offer", "price": 20 + n, "priceCurrency": "EUR"}
            routes[f"/products/{item['handle']}"] = html(
                f"<h1>{item['name']}</h1>", head=product_ld(item["name"], f"/img/{n}.jpg", offer, sku=item["handle"]))
    for n in range(GRID_PRODUCTS):
        routes[f"/img/{n}.jpg"] = _image(n)
    return routes


@needs_chromium
def test_a_product_grid_filled_by_script_on_a_server_drawn_page_is_rendered(tmp_path):
    """The collection pages have a menu and a footer (not an app shell) and an empty product grid a
    script fills, 4 products at a time behind "Load more". Before, nothing rendered them: the crawl
    found no product and named nothing."""
    _, summary, products, _, _ = _crawl_shop(grid_store, "generic", tmp_path)
    assert sorted(p["sku"] for p in products) == sorted(
        f"{c}-tee-{n}" for c in ("women", "men") for n in range(GRID_PRODUCTS))
    assert summary["rendered"] == {"script-listing": 2}
    assert summary["missing_products"] == [] and summary["page_errors"] == []


def test_empty_product_grid():
    script = "<script src='/app.js'></script>"
    assert empty_product_grid(f"<body><h1>Tops</h1><div id='product-grid'></div>{script}</body>")
    assert empty_product_grid(f"<body><ul class='prdList'> </ul>{script}</body>")
    assert not empty_product_grid("<body><div id='product-grid'></div></body>")  # no script to fill it
    assert not empty_product_grid(f"<body><ul class='prdList'><li><a href='/p/1'>1</a></li></ul>{script}</body>")
    # side widgets a server-drawn product page or listing leaves for later
    assert not empty_product_grid(f"<body><div id='related-products'></div><div class='recently-viewed-items'>"
                                  f"</div><div class='cart-items'></div>{script}</body>")


# a single-page app, home -> category -> product, every page drawn from JSON; "history" routes by
# path (pushState), "hash" by fragment (/#/c/tops, /#/item/3: the server only ever sees "/")
APP_CATEGORIES = {"tops": ["boxy-tee", "linen-shirt"], "bottoms": ["wide-trousers", "midi-skirt", "shorts"]}
ROUTED_APP_JS = """
const app = document.getElementById('app'), hash = app.dataset.routing === 'hash';
const href = (path) => hash ? '#' + path : path;
async function route() {
  const path = hash ? (location.hash.slice(1) || '/') : location.pathname;
  let m;
  if ((m = path.match(/^\\/item\\/([\\w-]+)/))) {
    const p = await (await fetch('/api/item/' + m[1] + '.json')).json();
    app.innerHTML = '<h1>' + p.name + '</h1><a href="' + href('/') + '">Home</a>';
    if (app.dataset.plain) {  // no product data: only what a shopper sees
      app.innerHTML += '<img src="' + p.image + '" alt="' + p.name + '"><p class="price">€' + p.price + '</p>';
      return;
    }
    const ld = document.createElement('script');
    ld.type = 'application/ld+json';
    ld.textContent = JSON.stringify({'@context': 'https://schema.org', '@type': 'Product', name: p.name, sku: p.sku,
      image: p.image, offers: {'@type': 'Offer', price: p.price, priceCurrency: 'EUR'}});
    document.head.appendChild(ld);
  } else if ((m = path.match(/^\\/c\\/(\\w+)/))) {
    const items = await (await fetch('/api/c/' + m[1] + '.json')).json();
    app.innerHTML = items.map((slug) => '<a href="' + href('/item/' + slug) + '">' + slug + '</a>').join(' ');
  } else {
    app.innerHTML = '<a href="' + href('/c/tops') + '">Tops</a> <a href="' + href('/c/bottoms') + '">Bottoms</a>';
  }
  if (!hash) for (const a of app.querySelectorAll('a')) a.onclick = (e) => {
    e.preventDefault(); history.pushState({}, '', a.getAttribute('href')); route();
  };
}
window.addEventListener(hash ? 'hashchange' : 'popstate', route);
route();
"""


def routed_app(routing: str, plain: bool = False):
    """`plain`: product pages show name, picture and price and write no product data."""
    def routes(base: str) -> Routes:
        shell = html(f"<div id='app' data-routing='{routing}'{' data-plain=1' if plain else ''}></div>"
                     "<script src='/static/app.js'></script>")
        routes: Routes = {"/robots.txt": ROBOTS, "/": shell,
                          "/static/app.js": Page(ROUTED_APP_JS.encode(), "application/javascript")}
        n = 0
        for category, slugs in APP_CATEGORIES.items():
            routes[f"/c/{category}"] = shell
            routes[f"/api/c/{category}.json"] = Page(json.dumps(slugs).encode(), "application/json")
            for slug in slugs:
                item = {"name": slug.replace("-", " ").title(), "sku": slug, "price": 20 + n, "image": f"/img/{n}.jpg"}
                routes[f"/item/{slug}"] = shell
                routes[f"/api/item/{slug}.json"] = Page(json.dumps(item).encode(), "application/json")
                routes[f"/img/{n}.jpg"] = _image(n)
                n += 1
        return routes

    return routes


@needs_chromium
@pytest.mark.parametrize("routing", ["history", "hash"])
def test_a_single_page_app_with_categories_is_crawled_whole(tmp_path, routing):
    """Home, category and product pages all drawn by script. By history: each page is fetched, then
    rendered, and each render counted one level deeper, so the products fell past the generic
    spider's depth limit. By hash: every "#/..." link was skipped as a place on the page (and every
    route was one page to Scrapy's duplicate filter, which drops fragments)."""
    shop, summary, products, _, _ = _crawl_shop(routed_app(routing), "generic", tmp_path)
    slugs = sorted(slug for slugs in APP_CATEGORIES.values() for slug in slugs)
    assert sorted(p["sku"] for p in products) == slugs
    if routing == "hash":
        assert sorted(p["url"].removeprefix(shop.url) for p in products) == [f"/#/item/{s}" for s in slugs]
        assert set(shop.paths) - {"/", "/robots.txt", "/sitemap.xml", "/static/app.js"} == {
            p for p in shop.paths if p.startswith(("/api/", "/img/"))}


def test_hash_routes():
    assert hash_route("https://shop.example/#/item/3") == "/item/3"
    assert hash_route("#!/item/3") == "/item/3"
    assert hash_route("https://shop.example/p/3#reviews") is None and hash_route("https://shop.example/") is None
    assert product_identity("https://shop.example/#/item/3") != product_identity("https://shop.example/#/item/4")
    assert product_identity("https://shop.example/p/3#reviews") == product_identity("https://shop.example/p/3")


@needs_chromium
def test_a_single_page_app_without_product_data_is_crawled_by_what_it_shows(tmp_path):
    """The app's product pages write no JSON-LD, microdata or OpenGraph: a name in <h1>, a picture and
    a price, as many script-drawn shops do. Before, every one was "no product data after rendering"."""
    _, summary, products, catalog, _ = _crawl_shop(routed_app("history", plain=True), "generic", tmp_path)
    names = sorted(slug.replace("-", " ").title() for slugs in APP_CATEGORIES.values() for slug in slugs)
    assert sorted(p["title"] for p in products) == names
    assert all(p["price"] is not None and p["currency"] == "EUR" and p["sources"]["product"] == "visible"
               for p in products)
    assert all(p["image_urls"] and "/img/" in p["image_urls"][0] for p in products)
    downloaded = {r["image_url"] for r in catalog if r.get("path")}  # one per distinct picture (they repeat)
    assert len(downloaded) == len({CAFE24_GARMENTS[n % len(CAFE24_GARMENTS)] for n in range(len(names))})
    assert summary["missing_products"] == []


def plain_store(base: str) -> Routes:
    """A shop drawn on the server that writes no product data: a category page of cards with
    prices (itself no product, though its address says "products") and product pages."""
    items = {"wide-trousers": 59, "linen-shirt": 45, "pleated-skirt": 39, "denim-shorts": 35}
    cards = "".join(f"<div class='card'><a href='/item/{h}'><img src='/img/{n}.jpg' alt='{h}'></a>"
                    f"<span class='price'>${v}.00</span></div>" for n, (h, v) in enumerate(items.items()))
    routes: Routes = {"/robots.txt": ROBOTS, "/": html("<a href='/products/all'>All products</a>"),
                      "/products/all": html(f"<h1>All products</h1>{cards}")}
    for n, (handle, value) in enumerate(items.items()):
        name = handle.replace("-", " ").title()
        routes[f"/item/{handle}"] = html(
            f"<header><img src='/logo.png' alt='Shop logo'></header><main><h1>{name}</h1>"
            f"<div><img src='/img/{n}.jpg' alt='{name}, front'></div><p class='price'>${value}.00</p>"
            "<button>Add to cart</button></main>", title=f"{name} | Shop")
        routes[f"/img/{n}.jpg"] = _image(n)
    return routes


def test_a_server_drawn_shop_without_product_data_is_crawled_by_what_it_shows(tmp_path):
    _, summary, products, _, _ = _crawl_shop(plain_store, "generic", tmp_path, "--render", "never")
    assert sorted((p["title"], p["price"], p["currency"]) for p in products) == [
        ("Denim Shorts", 35.0, "USD"), ("Linen Shirt", 45.0, "USD"), ("Pleated Skirt", 39.0, "USD"),
        ("Wide Trousers", 59.0, "USD")]
    assert all(len(p["image_urls"]) == 1 and "/img/" in p["image_urls"][0] for p in products)  # not the logo
    assert summary["missing_products"] == []
