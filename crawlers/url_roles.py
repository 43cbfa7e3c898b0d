"""What a link is to a crawl, read from its URL alone.

* **Another page of the same listing** (:func:`is_next_listing_page`): same host and path (a
  trailing ``/page/N`` aside) and the same query but for a page parameter (``page``, ``p``,
  ``offset``, ...), of a plain listing (a category, not a filtered or sorted view of it). A crawl
  keeps such a page at the depth of the listing it continues, so a 50-page category is not cut
  off by the depth limit after its third page.
* **A link that should hold a product** (:func:`expected_product_url`): a product-like path that
  is not a listing's, or an entry of a product sitemap; the generic spider renders such a page
  when its HTML holds no product, and names it when it still holds none.
* **Links that are not anchors** (:func:`scripted_links`): product cards that navigate by script
  (``onclick="location.href='/product/detail.html?product_no=7'"``, common on Korean malls) or
  carry their address in a ``data-href`` / ``data-url`` / ``data-link`` attribute.
* **A link a crawl never follows** (:func:`not_for_crawling`): files that are not pages, a shopper's
  own pages (cart, account, orders, log-in), links that change state when fetched (WooCommerce's
  ``?add-to-cart=``), and a shop's bulletin boards (Korean malls' ``/board/`` reviews and Q&A run
  to thousands of pages and hold no product).
* **The product a page shows** (:func:`product_in_url`, :func:`product_identity`): its product
  parameter or last path segment, and the page however it was reached (from two categories).
* **A hash route** (:func:`hash_route`): ``/#/item/3`` or ``/#!/item/3``, the page of a
  single-page app that routes by the URL's fragment. Only a browser shows it (the server sends
  every route the same shell), and it is another page than ``/``: kept in links, in product
  identity, and in the requests' fingerprints (:class:`RouteFingerprinter`).
* **The listing a page belongs to** (:func:`listing_of`): the URL without its page number; link-trap
  pruning caps the pages of each listing, and counts the views of a listing across its paginated
  paths (:func:`listing_view`: ``/shop/page/3/?orderby=price`` is a view of ``/shop/``).
* **The view a query shows** (:func:`view_query`): the query without the parameters that pick one
  item or category (``product_no=101``, ``goodsNo=7``, ``id=42``, ``cate_no=24``) and, for a plain
  listing, without its page number. Link-trap
  pruning counts views per path, not raw query strings: Cafe24 serves every product from
  ``/product/detail.html?product_no=N`` and every category page from
  ``/product/list.html?cate_no=C&page=N``, Godomall from ``/goods/goods_view.php?goodsNo=N``,
  which are one view each however many products and categories the shop has, while facet and
  sort combinations (``?color=red&size=m&sort=price``, each of their pages too) are many.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from vtonkit.crawlers.urls import split_url

PAGE_PARAMS = frozenset({"page", "p", "pg", "pageno", "page_no", "pagenum", "pagenumber", "paged", "offset", "start"})
_PAGE_IN_PATH = re.compile(r"/page/\d+/?$", re.IGNORECASE)
# Names shops give the parameter that picks one item (product_no, goodsNo, branduid, pid, itemId, id,
# no, idx, sku) or one category's listing (cate_no, cateCd, cat, category_id, Makeshop's xcode)
_CATEGORY_PARAM = re.compile(r"^(?:cate|cat|category)(?:_?(?:no|id|cd|code))?$|^[xms]code$", re.IGNORECASE)
# (Youngcart/Gnuboard's it_id, Imweb's idx, prdNo, gno/pno and a bare no, sku or code pick the
# product on the shop's one product script too: dropped from the identity, five products were one;
# a bare num is left out, listings use it for the page size)
_PRODUCT_PARAM = re.compile(r"^(?:goods|product|item|brand|prd|prod|it|art|article|style|model)_?"
                            r"(?:no|id|uid|cd|code|idx)$|^p?id$|^branduid$|^(?:idx|no|sku|p?code|[gp]no)$",
                            re.IGNORECASE)
_ITEM_PARAM = re.compile(rf"{_PRODUCT_PARAM.pattern}|{_CATEGORY_PARAM.pattern}|(?:^|_)(?:no|id|idx|seq|uid|sku)$",
                         re.IGNORECASE)
_ITEM_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# Cafe24's readable product URLs end in navigation pairs: /product/<name>/<no>/category/24/display/1/
_NAVIGATION_TAIL = re.compile(r"(?:/(?:category|display|cate)/\d+)+/?$", re.IGNORECASE)
# Java shops write the visitor's session into every link's path: /products/tee;jsessionid=0AF3...
_SESSION_PARAM = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)


# Parameters that only tell the shop's analytics where a click came from (utm_*, Shopify's
# recommendation tags _pos/_sid/_ss/pr_*, ad click ids, Taobao's spm): the page is the same.
_TRACKING_PARAM = re.compile(
    r"^(?:utm_\w+|_pos|_sid|_ss|_psq|_fid|pr_(?:rec_id|prod_strat|ref_pid|seq)|gclid|gbraid|wbraid|fbclid|msclkid"
    r"|yclid|dclid|igshid|srsltid|mc_cid|mc_eid|_ga|_gl|spm|scm)$", re.IGNORECASE)


def without_tracking(url: str) -> str:
    """`url` without its tracking parameters, so that a page linked with a fresh click id each time
    is requested once (Shopify's recommendations: ``?_pos=2&_sid=<random>&_ss=r``)."""
    parts = split_url(url)
    if not parts.query:
        return url
    params = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(name, value) for name, value in params if not _TRACKING_PARAM.match(name)]
    return url if len(kept) == len(params) else parts._replace(query=urlencode(kept)).geturl()


def _product_path(path: str) -> str:
    """A path as the product it names: without session parameters and trailing navigation pairs."""
    return _NAVIGATION_TAIL.sub("", _SESSION_PARAM.sub("", path)).rstrip("/")


# an address a click handler navigates to: location.href = '...', location = "...",
# location.assign('...') / .replace('...'), window.open('...')
_SCRIPTED_NAVIGATION = re.compile(
    r"""(?:location(?:\.href)?\s*=\s*|location\.(?:assign|replace)\(\s*|window\.open\(\s*)(['"])([^'"]+)\1"""
)
LINK_ATTRIBUTES = ("data-href", "data-url", "data-link", "data-product-url")


def scripted_links(selector: Any) -> list[str]:
    """Addresses that elements of a page (a parsel ``Selector`` or Scrapy response) lead to without
    being links: click handlers that set the location, and ``data-href``-style attributes."""
    found = [match.group(2) for handler in selector.xpath("//@onclick").getall()
             for match in _SCRIPTED_NAVIGATION.finditer(handler)]
    for attribute in LINK_ATTRIBUTES:
        found += selector.xpath(f"//@{attribute}").getall()
    return [href.strip() for href in found if href.strip()]


_NOT_FOR_CRAWLING = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|pdf|zip|mp4|woff2?)(?:\?|$)"
    r"|/(?:cart|basket|checkout|account|my-?account|myshop|mypage|member|customer|login|logout|signin|signup"
    r"|register|wishlist|compare|search|order|board|feed|wp-admin|wp-json|wp-login)(?:/|\?|#|$|\.\w+(?:\?|#|$))"
    r"|[?&](?:add-to-cart|add_to_cart|add-to-wishlist|remove_item|replytocom)="
    r"|^(?:mailto|tel|javascript|sms|whatsapp):",
    re.IGNORECASE,
)


_HASH_ROUTE = re.compile(r"^!?/")


def hash_route(url: str) -> str | None:
    """The route a single-page app reads from the URL's fragment (``/item/3`` of ``/#/item/3`` or
    ``/#!/item/3``), or None: a plain fragment (``#reviews``) is a place on the same page."""
    fragment = url.partition("#")[2]
    return "/" + fragment.lstrip("!/") if _HASH_ROUTE.match(fragment) else None


class RouteFingerprinter:
    """``REQUEST_FINGERPRINTER_CLASS``: Scrapy's fingerprint, with the fragment when it is a hash
    route. Scrapy drops fragments, so every route of a hash-routed shop was a duplicate of ``/``."""

    def __init__(self, crawler: Any = None):
        from scrapy.utils.request import fingerprint

        self._fingerprint = fingerprint

    @classmethod
    def from_crawler(cls, crawler: Any) -> RouteFingerprinter:
        return cls(crawler)

    def fingerprint(self, request: Any) -> bytes:
        return self._fingerprint(request, keep_fragments=hash_route(request.url) is not None)


def not_for_crawling(href: str) -> bool:
    """A link no crawl follows: not a page, a shopper's own page, a state change, a bulletin board."""
    return bool(_NOT_FOR_CRAWLING.search(href))


def _is_page_param(name: str, value: str) -> bool:
    return name.lower() in PAGE_PARAMS and value.isdigit()


def _is_item_param(name: str, value: str) -> bool:
    return bool(_ITEM_PARAM.search(name)) and bool(_ITEM_VALUE.match(value))


def page_number(url: str) -> int | None:
    """The page a listing URL shows (``?page=3``, ``/page/3/``), or None when it names none."""
    parts = split_url(url)
    found = _PAGE_IN_PATH.search(parts.path)
    if found:
        return int(found.group(0).strip("/").split("/")[-1])
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _is_page_param(name, value):
            return int(value)
    return None


def view_query(query: str) -> str:
    """The view a query shows, its parameters sorted: without the parameters that pick one item or
    one category, and without the page number of a plain listing. A filtered or sorted listing
    keeps its page number: faceted traps live there, and each of their pages counts."""
    params = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True)
              if not _is_item_param(name, value)]
    if all(_is_page_param(name, value) for name, value in params):
        return ""
    return urlencode(sorted(params))


def listing_view(url: str) -> tuple[str, str]:
    """(path of the listing, the view of it `url` shows): the path without a ``/page/N`` step, and
    the query's view (`view_query`) with that page number. Every page of a filtered or sorted view is
    a view of one listing: WooCommerce gives each page its own path (``/shop/page/3/?orderby=price``),
    and its size and sort views, counted per path, stayed under the trap's limit on every page."""
    parts = split_url(url)
    view = view_query(parts.query)
    in_path = _PAGE_IN_PATH.search(parts.path)
    if in_path is None or not view:
        return parts.path or "/", view
    page = in_path.group(0).strip("/").split("/")[-1]
    return _PAGE_IN_PATH.sub("/", parts.path), f"{view}&{urlencode({'page': int(page)})}"


def listing_of(url: str) -> tuple[str, str, str]:
    """(host, path, query) of the listing a page of it shows: the URL without its page number."""
    parts = split_url(url)
    path = _PAGE_IN_PATH.sub("", parts.path).rstrip("/") or "/"
    rest = sorted((name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
                  if not _is_page_param(name, value))
    return parts.netloc.lower(), path, urlencode(rest)


def is_next_listing_page(url: str, listing_url: str) -> bool:
    """`url` shows another page of the plain (unfiltered, unsorted) listing at `listing_url`."""
    return (page_number(url) is not None and url != listing_url and listing_of(url) == listing_of(listing_url)
            and view_query(split_url(listing_url).query) == "")


def product_in_url(url: str) -> str | None:
    """The product a URL names by itself: its product parameter (``product_no=101``, ``goodsNo=7``,
    ``branduid=123456``), else the last path segment once navigation pairs are dropped
    (Cafe24's ``/product/<name>/101/category/24/display/1/`` -> ``101``); None for a bare path."""
    parts = split_url(url)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _PRODUCT_PARAM.search(name) and _ITEM_VALUE.match(value):
            return value
    path = _product_path(hash_route(url) or parts.path)
    segment = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return segment or None


# Cafe24's readable product address once its navigation pairs are dropped, /product/<name>/<product_no>:
# the page its detail script shows as /product/detail.html?product_no=<product_no>
_CAFE24_READABLE = re.compile(r"^/product/[^/]+/(\d+)$")


def _case_blind(path: str) -> bool:
    """Whether letter case in `path` can be ignored: each of its words is written in one case or
    capitalised, as slugs are (``/products/Denim-Shorts``, ``/PRODUCTS/DENIM-SHORTS``).

    Paths are case-sensitive on most servers, and an opaque id mixes cases within a word
    (``/p/aB3x9`` and ``/p/Ab3X9`` are two products): such a path keeps its case. Query values are
    ids too (``?id=aBc``) and always keep theirs."""
    return all(word in (word.lower(), word.upper()) or (word.isalpha() and word.istitle())
               for word in re.findall(r"[^\W_]+", path))


def product_identity(url: str) -> str:
    """One product page however it was reached: host, path without navigation pairs, session ids and
    trailing slash (in any case where that is safe, `_case_blind`), and only the product parameters of
    the query (``.../detail.html?product_no=101&cate_no=24`` and ``...&cate_no=26`` are one page,
    linked from two categories); Cafe24's readable ``/product/<name>/101/`` is its detail page's."""
    parts = split_url(url)
    path = _product_path(parts.path) or "/"
    product = sorted((name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
                     if _PRODUCT_PARAM.search(name))
    readable = _CAFE24_READABLE.match(path)
    if readable and not product:
        path, product = "/product/detail.html", [("product_no", readable.group(1))]
    elif _case_blind(path):
        path = path.lower()
    route = hash_route(url)
    return (f"{parts.netloc.lower()}{path}" + (f"?{urlencode(product)}" if product else "")
            + (f"#{route}" if route else ""))


# paths shops give product pages; such a link without product data in its HTML is rendered
PRODUCT_URL_HINT = re.compile(
    r"/(?:products?|goods|items?|p|dp|artikel|produit|producto)/[^/]", re.IGNORECASE
)
# ... except the listings some platforms keep under those paths: Cafe24's /product/list.html,
# Godomall's /goods/goods_list.php, a /products/search. Taken for products, each was rendered in
# Chromium (the render budget spent on listings) and then reported as a product page that held none.
LISTING_URL_HINT = re.compile(
    r"/(?:(?:goods|products?|items?)_?)?lists?(?:\.\w+)?/?$|/(?:category|categories|search|catalog)(?:\.\w+)?/?$",
    re.IGNORECASE,
)
# scripts that show every product of a shop, one picked by a product parameter: Youngcart's
# /shop/item.php?it_id=, Imweb's /shop_view/?idx=, Taobao-like /item.htm?id=
PRODUCT_SCRIPT_HINT = re.compile(r"/(?:item|shop_view|goods_view|product_view)(?:\.\w+)?/?$", re.IGNORECASE)
# sitemap files of products, named so by a whole word of their path (Shopify's sitemap_products_1.xml,
# Yoast's product-sitemap.xml, WordPress's wp-sitemap-posts-product-1.xml, goods.xml, /items/1.xml):
# searched anywhere, "item" matched the "s-item-ap" of every sitemap.xml, so a plain sitemap's
# category and CMS pages were rendered and reported as missing products. A product taxonomy's sitemap
# (WooCommerce's product_cat, product_tag) lists listings.
PRODUCT_SITEMAP_HINT = re.compile(
    r"(?<![a-z0-9])(?:products?|goods|items?)(?![a-z0-9])(?![-_](?:cat|categor|tag|brand|type|attribute))",
    re.IGNORECASE,
)


def expected_product_url(url: str, sitemap_url: str = "") -> bool:
    """A URL that should hold a product: its path looks like a product page's (or a product script's
    with a product parameter), or a product sitemap lists it."""
    parts = split_url(url)
    path = hash_route(url) or parts.path
    picks_product = any(_PRODUCT_PARAM.search(name) and _ITEM_VALUE.match(value)
                        for name, value in parse_qsl(parts.query, keep_blank_values=True))
    looks_like_product = ((bool(PRODUCT_URL_HINT.search(path)) or (picks_product and bool(PRODUCT_SCRIPT_HINT.search(path))))
                          and not LISTING_URL_HINT.search(path))
    return looks_like_product or bool(PRODUCT_SITEMAP_HINT.search(split_url(sitemap_url).path))
