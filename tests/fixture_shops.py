"""Small shops written for the crawler tests, served on 127.0.0.1 (a helper module, not tests).

* :func:`mixed_store`: a store with a sitemap index, paginated listings, robots.txt rules, two
  application-shell pages fed by JSON endpoints (one also calls a disallowed tracker), Korean-,
  Japanese- and Chinese-only pages whose only reference is a visible "상품코드"/"品番"/"商品编号",
  an on-model photo the pose model misses, exact and near-duplicate images, a 404 image, an HTML
  page served as ``.jpg``, a 404 product and a product page without product data.
* :func:`kr_mall`: a Korean-mall-style store for ``crawlers/stores/example-kr-mall.toml``.
* :func:`shopify_store`: ``/products.json`` for ``crawlers/stores/example-shopify.toml``.
* :func:`cafe24_mall`: an EUC-KR mall with a 37-page listing and no sitemap.
* :func:`spa_store`: a single-page-app store whose grid grows by infinite scroll and a "load more" button.
* :func:`collection_store`: products linked by two paths, one canonical address, no SKU.

Every request is logged with its path and user agent (:attr:`FixtureShop.requests`).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
GARMENTS = REPO / "crawlers" / "demo_store" / "static" / "garments"


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None  # a redirect's target


Routes = dict[str, Page]


class _Handler(BaseHTTPRequestHandler):
    server: FixtureShop

    def do_GET(self) -> None:
        self.server.log(self.path, self.headers.get("User-Agent", ""))
        page = self.server.routes.get(self.path) or Page(b"<h1>Not found</h1>", status=404)
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        if page.location:
            self.send_header("Location", page.location)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, format: str, *args: object) -> None:  # the shop keeps its own log
        pass


class FixtureShop(ThreadingHTTPServer):
    """Serve ``routes`` (exact path + query) on 127.0.0.1 from a daemon thread."""

    daemon_threads = True

    def __init__(self, make_routes: Callable[[str], Routes]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.routes = make_routes(self.url)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def log(self, path: str, user_agent: str) -> None:
        with self._lock:
            self.requests.append((path, user_agent))

    @property
    def paths(self) -> list[str]:
        with self._lock:
            return [path for path, _ in self.requests]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def html(body: str, *, lang: str = "en", head: str = "", title: str = "shop") -> Page:
    page = (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body>{body}</body></html>"
    )
    return Page(page.encode("utf-8"))


def json_ld(*nodes: dict) -> str:
    return "".join(
        f'<script type="application/ld+json">{json.dumps(n, ensure_ascii=False)}</script>' for n in nodes
    )


def product_ld(name: str, image: str | list[str], offer: dict, sku: str | None = None) -> str:
    """A schema.org Product JSON-LD script (without SKU unless given)."""
    node = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "image": image,
        "offers": offer,
    }
    return json_ld({**node, "sku": sku} if sku else node)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def pale_dress_head_cropped(photo: Path) -> Image.Image:
    """A shop-style crop of a Dress Code photo: the cream dress on white, head and shins cut off."""
    image = Image.open(photo).convert("RGB")
    width, height = image.size
    return image.crop((0, int(height * 0.16), width, int(height * 0.70)))


def _xml(content: str) -> Page:
    return Page(f"<?xml version='1.0' encoding='UTF-8'?>{content}".encode(), "application/xml")


_SITEMAP_NS = "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"

# the application shell: the page's data only exists after this script ran
APP_JS = """
(async () => {
  const root = document.getElementById('root');
  const id = root.dataset.goods;
  fetch('/tracking/beacon?goods=' + id).catch(() => {});  // disallowed by robots.txt
  const product = await (await fetch('/api/goods/' + id + '.json')).json();
  root.innerHTML = '<h1>' + product.name + '</h1><p class="price">' + product.price + ' EUR</p>'
    + '<img src="' + product.image + '">';
  const ld = document.createElement('script');
  ld.type = 'application/ld+json';
  ld.textContent = JSON.stringify({'@context': 'https://schema.org', '@type': 'Product', name: product.name,
    sku: product.sku, image: product.image,
    offers: {'@type': 'Offer', price: product.price, priceCurrency: product.currency}});
  document.head.appendChild(ld);
  root.dataset.loaded = '1';
})();
"""

# sku -> (category, title) of every product the mixed store sells
MIXED_PRODUCTS = {
    "SH-24-DB02": ("lower", "와이드 데님 버뮤다 팬츠"),
    "JP-0412-77": ("dresses", "花柄ティアードワンピース"),
    "CN-5521": ("lower", "高腰A字半身裙"),
    "AS-KNIT-09": ("upper", "Cable knit sweater"),
    "LB-SHIRT-3": ("upper", "Linen shirt"),
    "EN-TEE-100": ("upper", "Organic cotton tee"),
}
DISALLOWED = ("/private/", "/tracking/")


def _app_shell(goods: str) -> Page:
    return html(
        f"<div id='root' data-goods='{goods}'></div><noscript>Please enable JavaScript.</noscript>"
        "<script src='/static/app.js'></script>",
        title="Loading…",
    )


def mixed_store(on_model_photo: Image.Image) -> Callable[[str], Routes]:
    """Routes of the must-show store; ``on_model_photo`` is served as ``/img/model-crop.jpg``."""
    polo = (GARMENTS / "ruby_polo.jpg").read_bytes()
    polo_image = Image.open(io.BytesIO(polo))
    near_copy = jpeg(polo_image.resize((int(polo_image.width * 0.85), int(polo_image.height * 0.85))), 80)

    def routes(base: str) -> Routes:
        def offer(price: float, currency: str) -> dict:
            return {
                "@type": "Offer",
                "price": price,
                "priceCurrency": currency,
                "availability": "https://schema.org/InStock",
            }

        ko = html(
            "<nav class='breadcrumb'><a href='/'>홈 › 하의 › 바지</a></nav><h1>와이드 데님 버뮤다 팬츠</h1>"
            "<p class='price'>39,000원</p><table><tr><th>상품코드</th><td>SH-24-DB02</td></tr></table>",
            lang="ko",
            head=product_ld("와이드 데님 버뮤다 팬츠", "/img/ruby_polo.jpg", offer(39000, "KRW")),
        )
        ja = html(
            "<h1>花柄ティアードワンピース</h1><p>品番：JP-0412-77</p><p>カラー：ホワイト</p>",
            lang="ja",
            head=(
                "<meta property='og:type' content='product'><meta property='og:title' content='花柄ティアードワンピース'>"
                "<meta property='product:price:amount' content='12900'><meta property='product:price:currency' content='JPY'>"
                f"<meta property='og:image' content='{base}/img/model-crop.jpg'>"
                f"<meta property='og:image' content='{base}/img/solidus_long_white.jpg'>"
                + json_ld(
                    {
                        "@context": "https://schema.org",
                        "@type": "BreadcrumbList",
                        "itemListElement": [
                            {"@type": "ListItem", "position": 1, "name": "ホーム"},
                            {"@type": "ListItem", "position": 2, "name": "レディース"},
                            {"@type": "ListItem", "position": 3, "name": "ワンピース"},
                        ],
                    }
                )
            ),
        )
        zh = html(
            "<h1>高腰A字半身裙</h1><p>商品编号：CN-5521</p>",
            lang="zh-CN",
            head=product_ld(
                "高腰A字半身裙", ["/img/resized/ruby_polo.jpg", "/img/missing.jpg"], offer(199, "CNY")
            ),
        )
        tee = html(
            "<h1>Organic cotton tee</h1>",
            head=product_ld(
                "Organic cotton tee",
                ["/img/copy/ruby_polo.jpg", "/img/not-an-image.jpg"],
                offer(25, "EUR"),
                sku="EN-TEE-100",
            ),
        )
        empty = html(
            "<h1>Coming soon</h1><p>This product page has no product on it yet, only a note. " * 3 + "</p>"
        )
        listing = {
            1: ["/goods/ko-bermuda", "/goods/jp-dress", "/goods/empty"],
            2: ["/goods/zh-skirt", "/goods/en-tee"],
        }

        def listing_page(page: int) -> Page:
            cards = "".join(
                f"<li><a href='{href}'>{href.rsplit('/', 1)[-1]}</a></li>" for href in listing[page]
            )
            more = "<a rel='next' href='/category/all?page=2'>next</a>" if page == 1 else ""
            return html(f"<h1>All products, page {page}</h1><ul>{cards}</ul>{more}")

        product_sitemap = "".join(
            f"<url><loc>{base}{path}</loc></url>"
            for path in (
                "/goods/ko-bermuda",
                "/goods/jp-dress",
                "/goods/app-shell-knit",
                "/goods/gone",
                "/private/goods/secret",
            )
        )

        def api(name: str, sku: str, price: float, image: str) -> Page:
            data = {"name": name, "sku": sku, "price": price, "currency": "EUR", "image": image}
            return Page(json.dumps(data).encode(), "application/json")

        return {
            "/": html(
                "<h1>Fixture shop</h1><p>Welcome.</p><a href='/category/all'>All products</a> "
                "<a href='/lookbook/linen-shirt'>Lookbook: the linen shirt</a>"
            ),
            "/robots.txt": Page(
                (
                    "User-agent: *\n"
                    + "".join(f"Disallow: {p}\n" for p in DISALLOWED)
                    + f"\nSitemap: {base}/sitemap.xml\n"
                ).encode(),
                "text/plain",
            ),
            "/sitemap.xml": _xml(
                f"<sitemapindex {_SITEMAP_NS}><sitemap><loc>{base}/sitemap_products_1.xml</loc></sitemap>"
                f"<sitemap><loc>{base}/sitemap_pages.xml</loc></sitemap></sitemapindex>"
            ),
            "/sitemap_products_1.xml": _xml(f"<urlset {_SITEMAP_NS}>{product_sitemap}</urlset>"),
            "/sitemap_pages.xml": _xml(
                f"<urlset {_SITEMAP_NS}><url><loc>{base}/category/all</loc></url></urlset>"
            ),
            "/category/all": listing_page(1),
            "/category/all?page=2": listing_page(2),
            "/goods/ko-bermuda": ko,
            "/goods/jp-dress": ja,
            "/goods/zh-skirt": zh,
            "/goods/en-tee": tee,
            "/goods/empty": empty,
            "/goods/app-shell-knit": _app_shell("app-shell-knit"),
            "/lookbook/linen-shirt": _app_shell("linen-shirt"),
            "/static/app.js": Page(APP_JS.encode(), "application/javascript"),
            "/api/goods/app-shell-knit.json": api(
                "Cable knit sweater", "AS-KNIT-09", 59.0, "/img/saleor-grey-hoodie.png"
            ),
            "/api/goods/linen-shirt.json": api(
                "Linen shirt", "LB-SHIRT-3", 45.0, "/img/solidus_tshirt_blue.jpg"
            ),
            "/private/goods/secret": html("<h1>Staff only</h1>"),
            "/tracking/beacon?goods=app-shell-knit": Page(b"ok", "text/plain"),
            "/tracking/beacon?goods=linen-shirt": Page(b"ok", "text/plain"),
            "/img/ruby_polo.jpg": Page(polo, "image/jpeg"),
            "/img/copy/ruby_polo.jpg": Page(polo, "image/jpeg"),
            "/img/resized/ruby_polo.jpg": Page(near_copy, "image/jpeg"),
            "/img/model-crop.jpg": Page(jpeg(on_model_photo), "image/jpeg"),
            "/img/solidus_long_white.jpg": Page(
                (GARMENTS / "solidus_long_white.jpg").read_bytes(), "image/jpeg"
            ),
            "/img/saleor-grey-hoodie.png": Page(
                (GARMENTS / "saleor-grey-hoodie.png").read_bytes(), "image/png"
            ),
            "/img/solidus_tshirt_blue.jpg": Page(
                (GARMENTS / "solidus_tshirt_blue.jpg").read_bytes(), "image/jpeg"
            ),
            "/img/not-an-image.jpg": Page(b"<html><body>Image temporarily unavailable</body></html>"),
        }

    return routes


# goodsNo -> (sku, category, title) of the Korean-mall fixture
KR_MALL_PRODUCTS = {
    "1001": ("SH-24-DB02", "lower", "와이드 데님 버뮤다 팬츠"),
    "1002": ("SH-24-SK11", "lower", "플리츠 미디 스커트"),
    "1003": ("SH-24-OP07", "dresses", "린넨 셔츠 원피스"),
}


def kr_mall(base: str) -> Routes:
    """Category listings (``?page=N``), product pages with no structured data, hidden codes."""
    trails = {"lower": ["홈", "여성", "하의"], "dresses": ["홈", "여성", "원피스"]}
    garments = ["solidus_long_white.jpg", "ruby_hoodie.jpg", "solidus_tshirt_black.jpg"]
    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nDisallow: /order/\n", "text/plain")}
    for index, (goods, (sku, category, title)) in enumerate(KR_MALL_PRODUCTS.items()):
        crumbs = "".join(f"<a href='/'>{c}</a>" for c in trails[category])
        routes[f"/goods/view?goodsNo={goods}"] = html(
            f"<div class='location'>{crumbs}</div><div class='goods-thumbs'><img src='/img/{goods}.jpg'></div>"
            f"<span class='brand-name'>무신사 스탠다드</span><h2 class='goods-name'>{title}</h2>"
            f"<strong class='sale-price'>{39000 + index * 10000:,}</strong>원"
            f"<form action='/order/cart'><input type='hidden' name='goods_cd' value='{sku}'></form>",
            lang="ko",
        )
        routes[f"/img/{goods}.jpg"] = Page((GARMENTS / garments[index]).read_bytes(), "image/jpeg")
    pages = {
        "/display/list?cate=bottoms": (["1001"], "/display/list?cate=bottoms&amp;page=2"),
        "/display/list?cate=bottoms&page=2": (["1002"], None),
        "/display/list?cate=dresses": (["1003"], None),
    }
    for path, (goods_numbers, next_page) in pages.items():
        cards = "".join(f"<li><a href='/goods/view?goodsNo={g}'>상품 {g}</a></li>" for g in goods_numbers)
        paging = f"<div class='paging'><a class='next' href='{next_page}'>다음</a></div>" if next_page else ""
        routes[path] = html(
            f"<ul class='goods-list'>{cards}</ul>{paging}<a href='/order/cart'>장바구니</a>", lang="ko"
        )
    return routes


CAFE24_PRODUCTS = 110  # one category, 3 a page: a 37-page listing, its pager in blocks of 5 pages
CAFE24_NEW_IN = 5  # products also listed under "NEW", with that category in their URLs
CAFE24_GARMENTS = ["solidus_long_white.jpg", "ruby_hoodie.jpg", "solidus_tshirt_black.jpg", "ruby_polo.jpg"]


def cafe24_mall(base: str) -> Routes:
    """A Cafe24-style Korean mall in EUC-KR with no sitemap: a long paginated listing at
    ``/product/list.html?cate_no=24&page=N`` and every product at ``/product/detail.html?product_no=N``
    (one path), OpenGraph only, the sale price beside the struck list price, the shop's name in og:title."""
    def euc_kr(body: str, head: str = "") -> Page:
        page = (f"<!doctype html><html lang='ko'><head><meta charset='euc-kr'><title>샘플몰</title>{head}</head>"
                f"<body>{body}</body></html>")
        return Page(page.encode("euc-kr"), "text/html")  # the charset only in the page, as many malls do

    numbers = list(range(101, 101 + CAFE24_PRODUCTS))
    new_in = "".join(f"<li><a href='/product/detail.html?product_no={n}&cate_no=1&display_group=1'>{n}</a></li>"
                     for n in numbers[:CAFE24_NEW_IN])  # the same products, reached from a second category
    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                      "/": euc_kr("<a href='/product/list.html?cate_no=24'>하의</a>"
                                  "<a href='/product/list.html?cate_no=1'>NEW</a>"),
                      "/product/list.html?cate_no=1": euc_kr(f"<ul class='prdList'>{new_in}</ul>")}
    for page in range(1, (len(numbers) + 2) // 3 + 1):
        cards = "".join(f"<li><a href='/product/detail.html?product_no={n}&cate_no=24&display_group=1'>"
                        f"<img src='/web/product/small/{n}.jpg'>와이드 팬츠 {n}</a>"
                        f"<span class='price'>{39000 + n:,}원</span></li>" for n in numbers[(page - 1) * 3:page * 3])
        last, block = (len(numbers) + 2) // 3, (page - 1) // 5 * 5
        pager = "".join(f"<a href='?cate_no=24&page={p}'>{p}</a>" for p in range(block + 1, min(block + 5, last) + 1))
        pager += f"<a class='next' href='?cate_no=24&page={block + 6}'>다음</a>" if block + 6 <= last else ""
        listing = euc_kr(f"<ul class='prdList'>{cards}</ul><div class='xans-product-normalpaging'>{pager}</div>")
        routes[f"/product/list.html?cate_no=24&page={page}"] = listing
        if page == 1:
            routes["/product/list.html?cate_no=24"] = listing
    for index, n in enumerate(numbers):
        head = (f"<meta property='og:type' content='product'><meta property='og:site_name' content='샘플몰'>"
                f"<meta property='og:title' content='와이드 팬츠 {n} - 샘플몰'>"
                f"<meta property='og:image' content='{base}/web/product/big/{n}.jpg'>")
        body = (f"<div class='xans-product-headcategory path'><ol><li><a href='/'>홈</a></li>"
                f"<li><a href='/product/list.html?cate_no=24'>하의</a></li></ol></div><div class='headingArea'>"
                f"<h2>와이드 팬츠 {n}</h2></div><table><tr><th>판매가</th><td><strike>{49000 + n:,}원</strike>"
                f"<strong class='price'>{39000 + n:,}원</strong></td></tr><tr><th>상품코드</th><td>P0000{n}AB</td></tr>"
                f"</table>")
        routes[f"/product/detail.html?product_no={n}&cate_no=24&display_group=1"] = euc_kr(body, head)
        routes[f"/product/detail.html?product_no={n}&cate_no=1&display_group=1"] = euc_kr(body, head)
        routes[f"/web/product/big/{n}.jpg"] = Page(
            (GARMENTS / CAFE24_GARMENTS[index % len(CAFE24_GARMENTS)]).read_bytes(), "image/jpeg")
    return routes


# handle -> (sku, category) of the Shopify fixture
SHOPIFY_PRODUCTS = {
    "wide-leg-jeans": ("SF-JEANS-1", "lower", "Wide leg jeans", "Jeans"),
    "wrap-dress": ("SF-DRESS-2", "dresses", "Wrap dress", "Dresses"),
    "boxy-tee": ("SF-TEE-3", "upper", "Boxy tee", "T-Shirts"),
}


def shopify_store(base: str) -> Routes:
    """``/products.json``: every product on page 1, then the empty page that ends the listing."""
    products = [
        {
            "id": 9000 + i,
            "handle": handle,
            "title": title,
            "vendor": "Fixture Brand",
            "product_type": product_type,
            "tags": ["women"],
            "variants": [{"sku": sku, "price": "49.90", "available": True}],
            "images": [],
        }
        for i, (handle, (sku, _, title, product_type)) in enumerate(SHOPIFY_PRODUCTS.items())
    ]
    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nDisallow: /checkout\n", "text/plain")}
    for page, chunk in ((1, products), (2, [])):  # 250 per page: one full page, then the empty end
        body = json.dumps({"products": chunk}).encode()
        routes[f"/products.json?limit=250&page={page}"] = Page(body, "application/json")
    return routes


SPA_PRODUCTS = 16  # a single-page-app store: every page drawn by script, the listing grows on scroll
SPA_BATCH = 4  # products the listing's API returns per request (what one scroll or click loads)

# the whole store is this script: the listing appends a batch of cards when the window is scrolled
# to its bottom (the first two batches after the initial one), then only when its "상품 더보기"
# button is clicked; a real link captioned "더보기" leads away. A product page draws itself from its JSON.
SPA_JS = """
(async () => {
  const root = document.getElementById('app');
  const slug = location.pathname.startsWith('/p/') ? location.pathname.slice(3) : null;
  if (slug) {
    const p = await (await fetch('/api/p/' + slug + '.json')).json();
    root.innerHTML = '<h1>' + p.name + '</h1><p class="price">' + p.price + ' USD</p><img src="' + p.image + '">';
    const ld = document.createElement('script');
    ld.type = 'application/ld+json';
    ld.textContent = JSON.stringify({'@context': 'https://schema.org', '@type': 'Product', name: p.name,
      sku: p.sku, image: p.image, offers: {'@type': 'Offer', price: p.price, priceCurrency: 'USD'}});
    document.head.appendChild(ld);
    return;
  }
  let next = 0, busy = false, batches = 0;
  root.innerHTML = '<a href="/event">이벤트 더보기</a>';
  const grid = document.createElement('div');
  const button = document.createElement('button');
  button.textContent = '상품 더보기';
  button.style.display = 'none';
  button.addEventListener('click', () => more());
  root.append(grid, button);
  // data-layout="pager": one batch at a time, replaced by a "다음 페이지 ›" button (no link, no URL change)
  const pager = root.dataset.layout === 'pager';
  const nextPage = document.createElement('button');
  nextPage.textContent = '다음 페이지 ›';
  nextPage.style.display = 'none';
  nextPage.addEventListener('click', () => more());
  root.append(nextPage);
  // the grid scrolls inside its own box (data-scroller="inner") or with the window
  const inner = root.dataset.scroller === 'inner';
  if (inner) grid.style.cssText = 'height:600px;overflow-y:auto';
  const scroller = inner ? grid : window;
  const atBottom = () => inner ? grid.scrollTop + grid.clientHeight >= grid.scrollHeight - 100
                               : innerHeight + scrollY >= document.body.scrollHeight - 100;
  async function more() {
    if (busy || next === null) return;
    busy = true;
    batches += 1;
    const page = await (await fetch('/api/products?offset=' + next)).json();
    if (pager) grid.replaceChildren();
    for (const item of page.items) {
      const card = document.createElement('a');
      card.href = '/p/' + item.slug;
      card.textContent = item.name;
      card.style.cssText = 'display:block;height:400px';
      grid.appendChild(card);
    }
    next = page.next;
    button.style.display = !pager && next !== null && batches >= 3 ? 'block' : 'none';
    nextPage.style.display = pager && next !== null ? 'inline' : 'none';
    busy = false;
  }
  scroller.addEventListener('scroll', () => {
    if (!pager && batches < 3 && atBottom()) more();
  });
  more();
})();
"""


def spa_store(base: str, *, inner_scroller: bool = False, pager: bool = False) -> Routes:
    """A store that is one script: an app-shell home page whose product grid grows by infinite
    scroll (no pager, no sitemap), and app-shell product pages fed by JSON. ``inner_scroller``: the
    grid scrolls inside its own box, not with the window; ``pager``: the grid shows one batch at a
    time and a button without a link replaces it with the next."""
    layout = (" data-scroller='inner'" if inner_scroller else "") + (" data-layout='pager'" if pager else "")
    shell = html(f"<div id='app'{layout}></div><script src='/static/shop.js'></script>", title="Shop")
    kinds = [("Wide leg trousers", "SPA-TR"), ("Slip dress", "SPA-DR"), ("Pleated skirt", "SPA-SK")]
    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"), "/": shell,
                      "/event": html("<h1>Spring event</h1><p>No products here.</p>"),
                      "/static/shop.js": Page(SPA_JS.encode(), "application/javascript")}
    items = []
    for n in range(SPA_PRODUCTS):
        name, code = kinds[n % len(kinds)]
        slug = f"{code.lower()}-{n}"
        items.append({"slug": slug, "name": f"{name} {n}"})
        image = f"/img/{n}.jpg"
        routes[f"/p/{slug}"] = shell
        routes[f"/api/p/{slug}.json"] = Page(json.dumps({"name": f"{name} {n}", "sku": f"{code}-{n}", "price": 30 + n,
                                                         "image": image}).encode(), "application/json")
        routes[image] = Page((GARMENTS / CAFE24_GARMENTS[n % len(CAFE24_GARMENTS)]).read_bytes(), "image/jpeg")
    for offset in range(0, SPA_PRODUCTS, SPA_BATCH):
        after = offset + SPA_BATCH
        page = {"items": items[offset:after], "next": after if after < SPA_PRODUCTS else None}
        routes[f"/api/products?offset={offset}"] = Page(json.dumps(page).encode(), "application/json")
    return routes


COLLECTION_PRODUCTS = 5  # each linked by two paths, no SKU anywhere


def collection_store(base: str) -> Routes:
    """A theme of the Shopify kind for the generic spider: each product linked from its collection as
    ``/collections/dresses/products/<handle>`` and from the catalogue as ``/products/<handle>``, its
    page (the same under both paths) declaring ``/products/<handle>`` canonical; JSON-LD without SKU."""
    handles = [f"wrap-dress-{n}" for n in range(COLLECTION_PRODUCTS)]

    def listing(prefix: str) -> Page:
        return html("".join(f"<a href='{prefix}/products/{h}'>{h}</a> " for h in handles))

    routes: Routes = {"/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
                      "/": html("<a href='/collections/dresses'>Dresses</a> <a href='/collections/all'>All</a>"),
                      "/collections/dresses": listing("/collections/dresses"),
                      "/collections/all": listing("")}
    for n, handle in enumerate(handles):
        offer = {"@type": "Offer", "price": 59 + n, "priceCurrency": "EUR"}
        page = html(f"<h1>Wrap dress {n}</h1>", head=f"<link rel='canonical' href='{base}/products/{handle}'>"
                    + product_ld(f"Wrap dress {n}", f"/cdn/{handle}.jpg", offer))
        routes[f"/products/{handle}"] = page
        routes[f"/collections/dresses/products/{handle}"] = page
        routes[f"/cdn/{handle}.jpg"] = Page((GARMENTS / CAFE24_GARMENTS[n % len(CAFE24_GARMENTS)]).read_bytes(),
                                            "image/jpeg")
    return routes


# a store whose product pages are drawn by script, some of them hostile to the browser that renders
# them: page name -> script run once the product is drawn
HOSTILE_RENDER_PAGES = {
    "steady-tee": "",
    "busy-loop": "setTimeout(() => { while (true) {} }, 200);",  # the page's only thread never yields
}


def _drawn_product(sku: str, extra_js: str) -> Page:
    """An app shell whose script draws a product (title, price, JSON-LD), then runs ``extra_js``."""
    ld = {"@context": "https://schema.org", "@type": "Product", "name": f"Shell {sku}", "sku": sku,
          "offers": {"@type": "Offer", "price": "25", "priceCurrency": "EUR"}}
    script = (
        "const root = document.getElementById('root');"
        f"root.innerHTML = '<h1>Shell {sku}</h1><p class=\"price\">25 EUR</p>';"
        "const ld = document.createElement('script'); ld.type = 'application/ld+json';"
        f"ld.textContent = {json.dumps(json.dumps(ld))}; document.head.appendChild(ld);"
        f"{extra_js}"
    )
    return html(f"<div id='root'></div><script>{script}</script>", title="Loading…")


def hostile_render_store(base: str, pages: dict[str, str] | None = None) -> Routes:
    """A listing of app-shell product pages (``/products/<name>``), each drawn by script and then
    running its entry of ``pages`` (default :data:`HOSTILE_RENDER_PAGES`); the SKU is the name."""
    pages = HOSTILE_RENDER_PAGES if pages is None else pages
    links = "".join(f"<li><a href='/products/{name}'>{name}</a></li>" for name in pages)
    routes: Routes = {"/": html(f"<h1>Shop</h1><ul>{links}</ul><p>{'Our products. ' * 40}</p>")}
    routes.update({f"/products/{name}": _drawn_product(name, js) for name, js in pages.items()})
    return routes
