"""The shared store spider: listings -> product pages -> one :class:`ProductItem` each.

A store spider is configuration over this class: where to start, which links are products,
how listings paginate, which pages need a browser. Extraction itself is generic
(:func:`vtonkit.crawlers.extract.extract_product`). Common arguments (``-a name=value``):

* ``url``: the store's base URL (overrides ``base_url``)
* ``limit``: stop after this many products
* ``category``: keep only ``upper``, ``lower`` or ``dresses`` products
* ``browser``: ``0`` skips the pages that need Chromium (same as ``render=never``)
* ``render``: ``auto`` (default), ``always`` or ``never``: when pages go through Chromium
  (see :mod:`vtonkit.crawlers.render`; the ``VTONKIT_RENDER`` setting sets it for a crawl)
* ``render_budget``: at most this many pages rendered per crawl (``VTONKIT_RENDER_BUDGET``)
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from vtonkit.crawlers.browser import HANDLER as BROWSER_HANDLER
from vtonkit.crawlers.browser import DEFAULT_RENDER_TIMEOUT, ChromiumNotFound, find_chromium, playwright_settings
from vtonkit.crawlers.catalog import PRODUCTS_JSONL, images_not_fetched, json_records, product_key
from vtonkit.crawlers.categories import CATEGORIES
from vtonkit.crawlers.evidence import read_evidence
from vtonkit.crawlers.extract import ProductPage, is_product_page, read_product_page
from vtonkit.crawlers.offers import shows_many_prices
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.limits import BUDGET_REASONS, BudgetSpent, gunzip_capped, product_found
from vtonkit.crawlers.pacing import CrawlStopping
from vtonkit.crawlers.render import (
    DEFAULT_GROW_ROUNDS,
    DEFAULT_RENDER_BUDGET,
    LISTING_REASONS,
    BrowserRequestGate,
    app_shell_verdict,
    empty_product_grid,
    grow_method,
    quiet_network_method,
    grown,
    render_policy,
)
from vtonkit.crawlers.report import failure_reason, report_for
from vtonkit.crawlers.text_fields import with_bounded_text
from vtonkit.crawlers.url_roles import (
    expected_product_url,
    hash_route,
    not_for_crawling,
    scripted_links,
    view_query,
    without_tracking,
)
from vtonkit.crawlers.urls import join_url, split_url

logger = logging.getLogger(__name__)


def _asked_url(response: Response) -> str:
    """The page's address with the hash route it was asked for (``/#/item/3``): Scrapy's HTTP
    download drops the fragment from ``response.url``, and the browser needs it to show the route."""
    request = response.request
    if request is not None and hash_route(request.url) and request.url.partition("#")[0] == response.url:
        return request.url
    return response.url


# why a page request should hold a product: linked as one, or listed in a product sitemap
PRODUCT_LINKS = ("listing-link", "product-sitemap")
# Scrapy request priorities (higher first). A product page goes before more listing pages, and a
# filtered or sorted view after the plain listings: all at one priority, a WooCommerce crawl fetched
# 385 filter and sort views before three dresses linked from the 11th page, and its time budget
# ended it without them.
PRODUCT_PRIORITY = 10
FILTERED_VIEW_PRIORITY = -10
# products not fetched before a budget stopped the crawl, named one by one in missing_products
UNFETCHED_NAMED = 100


def page_priority(url: str, expected: str | None) -> int:
    """The Scrapy priority of a page request: products first, filtered or sorted views last."""
    if expected in PRODUCT_LINKS:
        return PRODUCT_PRIORITY
    return FILTERED_VIEW_PRIORITY if view_query(split_url(url).query) else 0


WEB_DEFAULT_PORTS = (80, 443)  # http://shop.example and https://shop.example are one store


def store_address(url: str) -> tuple[str, int | None]:
    """(host name, port) a URL is served from; the port is None for the web's default ports. Another
    port is another server (``shop.example:8443``, ``127.0.0.1:9807``), not the store; ("", None)
    for a malformed URL."""
    parts = split_url(url)
    try:
        port = parts.port
    except ValueError:  # a port that is no number
        return "", None
    return (parts.hostname or "").lower(), None if port in WEB_DEFAULT_PORTS else port


def as_given(url: str) -> str:
    """The start address as the user gave it, its path neither extended nor cut (``/shop`` is not
    ``/shop/``, a 404 on many servers); a bare host gets the ``/`` its request carries anyway."""
    parts = urlsplit(url)
    return url if parts.path else urlunsplit(parts._replace(path="/"))


def product_record_key(record: Mapping[str, Any]) -> str:
    """One product record however its page was reached (a `ProductItem`'s fields or a products.jsonl
    line): a product whose shop id is not its SKU (a ``ProductGroup``'s id, whose variants each have
    a SKU per size) by that id and its colour, else its picture, so the other sizes of a colour are
    the same record and each colour is its own; any other by `product_key` (its SKU, else its page).

    Keyed by the variant's SKU, every size of a Shopify theme's product was a record of its own
    (``/products/skirt`` the S, ``?variant=...`` the M, same colour and picture): 120 for 30 products.
    """
    sku, product_id = record.get("sku"), record.get("product_id")
    if sku and product_id and product_id != sku:
        look = (record.get("colour") or "").casefold() or next(iter(record.get("image_urls") or ()), "")
        if look:
            return f"product:{product_id}:{look}"
    return product_key(sku, record.get("canonical_url") or record.get("url") or "")


def products_found_before(settings: Any) -> set[str]:
    """`product_record_key` of each product a resumable crawl's earlier runs wrote to products.jsonl (a
    line cut short by a killed run is skipped), but those whose images an interrupted run dropped
    unfetched: met again, they are written again with their images (the catalog pipeline keeps the
    newer record)."""
    out = settings.get("VTONKIT_OUT")
    path = Path(out) / PRODUCTS_JSONL if out and settings.get("JOBDIR") else None
    if path is None:
        return set()
    unfinished = {}  # product_record_key -> its images unfetched, by the product's last record (a retry may have finished it)
    for product in json_records(path):
        unfinished[product_record_key(product)] = images_not_fetched(product)
    return {key for key, dropped in unfinished.items() if not dropped}


class StoreSpider(scrapy.Spider):
    """Base class of every vtonkit spider (not itself runnable: it has no ``name``)."""

    #: default base URL of the store; ``-a url=...`` overrides it
    base_url: str = ""
    #: listing pages to start from, relative to the base URL
    start_paths: tuple[str, ...] = ("/",)
    #: pages whose product links only exist after JavaScript runs (fetched with Chromium)
    js_paths: tuple[str, ...] = ()
    #: CSS selector the browser waits for on a JavaScript page before the HTML is taken
    js_wait_selector: str | None = None
    #: regex on a link's URL: it is a product page
    product_link_pattern: str = r"/products?/"
    #: CSS selector of listing pagination links
    next_page_css: str = "a[rel=next]::attr(href), link[rel=next]::attr(href)"
    #: follow sitemaps announced in robots.txt (or /sitemap.xml) for product URLs
    use_sitemap: bool = False
    #: when pages go through Chromium: "auto" (pages that should hold a product but don't),
    #: "always" or "never"; the crawl's VTONKIT_RENDER setting or ``-a render=`` override it
    render: str = "auto"
    #: False for spiders that read no HTML pages (Shopify's products.json): no browser settings
    renders_pages: bool = True
    #: why Chromium could not be used (set when the crawl's settings were built)
    browser_problem: str | None = None

    def __init__(
        self,
        *args: Any,
        url: str | None = None,
        limit: str | int | None = None,
        category: str | None = None,
        browser: str | None = None,
        render: str | None = None,
        render_budget: str | int | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        given = (url or self.base_url).strip()
        self.base_url = given.rstrip("/")
        if not self.base_url:
            raise ValueError(f"spider {self.name!r} needs a store URL: -a url=https://shop.example")
        self.start_url = as_given(given)
        self.limit = int(limit) if limit not in (None, "", 0, "0") else None
        if category and category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES[:3])}, got {category!r}")
        self.category = category or None
        # the store's own (host, port): --url's, and where its start page redirected to
        self.store_addresses = [store_address(self.base_url)]
        self.emitted = 0
        self._emitted_products: set[str] = set()
        self._filtered_products: set[str] = set()  # products --category left out
        self._found_before: set[str] = set()  # a resumed crawl's products of earlier runs (from_crawler)
        self.skip_browser_pages = str(browser).lower() in ("0", "false", "no", "off")
        self.render_arg = render_policy(render) if render else None
        self.render_budget_arg = int(render_budget) if render_budget not in (None, "") else None
        self.renders_used = 0
        self._render_requested: set[bytes] = set()  # fingerprints of pages sent to the browser (always)
        # product pages scheduled and neither answered nor failed, by URL (a duplicate the scheduler
        # drops takes its count back): what a budget stop leaves unfetched (`_report_unfetched_products`)
        self._products_waiting: Counter[str] = Counter()
        self._product_link_kind: dict[str, str] = {}
        self._product_re = re.compile(self.product_link_pattern)

    # -- settings -----------------------------------------------------------------------
    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        policy = render_policy(settings.get("VTONKIT_RENDER"), default=cls.render)
        if cls.js_paths or (cls.renders_pages and policy != "never"):
            # scrapy-playwright starts Chromium only for the first rendered page: a crawl that
            # renders nothing costs no browser time
            try:
                settings.setdict(playwright_settings(find_chromium()), priority="spider")
                settings.set("PLAYWRIGHT_ABORT_REQUEST", BrowserRequestGate(), priority="spider")
            except ChromiumNotFound as exc:
                cls.browser_problem = str(exc)  # reported in the crawl summary
                logger.warning("%s: pages that need a browser will be skipped: %s", cls.name, exc)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> StoreSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        gate = crawler.settings.get("PLAYWRIGHT_ABORT_REQUEST")
        if isinstance(gate, BrowserRequestGate):
            gate.bind(crawler)
        crawler.signals.connect(spider._count_rendered, signal=signals.response_received)
        crawler.signals.connect(spider._adopt_redirected_host, signal=signals.response_received)
        crawler.signals.connect(spider._product_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider._product_dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider._product_answered, signal=signals.response_received)
        # connected before the report's extension exists: it runs before the summary is written
        crawler.signals.connect(spider._report_unfetched_products, signal=signals.spider_closed)
        spider._found_before = products_found_before(crawler.settings)
        spider.emitted = len(spider._found_before)  # --limit counts the whole crawl, earlier runs too
        return spider

    @property
    def render_policy(self) -> str:
        if self.skip_browser_pages:
            return "never"
        return self.render_arg or render_policy(
            self.crawler.settings.get("VTONKIT_RENDER"), default=self.render
        )

    @property
    def render_budget(self) -> int:
        if self.render_budget_arg is not None:
            return self.render_budget_arg
        return self.crawler.settings.getint("VTONKIT_RENDER_BUDGET", DEFAULT_RENDER_BUDGET)

    def _count_rendered(self, response: Response, request: scrapy.Request, spider: Any) -> None:
        reason = request.meta.get("vtonkit_render_reason")
        if reason:
            report = report_for(self.crawler)
            report.rendered[reason] += 1
            report.grow_rounds += grown(request.meta)[0]
            report.render_seconds += float(request.meta.get("download_latency") or 0.0)

    @property
    def browser_enabled(self) -> bool:
        handlers = self.crawler.settings.getdict("DOWNLOAD_HANDLERS")
        return str(handlers.get("http", "")) in (BROWSER_HANDLER, "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler")

    # -- products a stopped crawl did not fetch ---------------------------------------------
    def _product_scheduled(self, request: scrapy.Request, spider: Any) -> None:
        expected = request.meta.get("vtonkit_expected")
        if expected in PRODUCT_LINKS:
            self._products_waiting[request.url] += 1
            self._product_link_kind.setdefault(request.url, expected)

    def _product_dropped(self, request: scrapy.Request, spider: Any) -> None:
        """The scheduler dropped the request (a duplicate): it waits for nothing."""
        if self._products_waiting.get(request.url, 0) > 0:
            self._products_waiting[request.url] -= 1

    def _product_answered(self, response: Response, request: scrapy.Request, spider: Any) -> None:
        self._product_fetched(request)

    def _product_fetched(self, request: scrapy.Request) -> None:
        """The request was answered or failed by itself: its page (and the ones it redirected from) waits no more."""
        for url in (request.url, *request.meta.get("redirect_urls", ())):
            self._products_waiting.pop(url, None)

    def _report_unfetched_products(self, spider: Any, reason: str) -> None:
        """Product pages a budget stop left unfetched, named in ``missing_products`` (the first
        `UNFETCHED_NAMED`) and counted (``skipped.product-not-fetched``): before, they were lost without
        a word."""
        if reason not in BUDGET_REASONS:
            return
        unfetched = [url for url, waiting in self._products_waiting.items() if waiting > 0]
        if not unfetched:
            return
        report = report_for(self.crawler)
        report.skipped["product-not-fetched"] += len(unfetched)
        for url in unfetched[:UNFETCHED_NAMED]:
            report.missing_product(url, f"{self._product_link_kind[url]}: not fetched: the crawl stopped ({reason})")
        named = f", the first {UNFETCHED_NAMED} named in missing_products" if len(unfetched) > UNFETCHED_NAMED else ""
        report.note(f"{len(unfetched)} product pages were not fetched: the crawl stopped ({reason}){named}")

    # -- start ----------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        """`path` under the store's base URL; ``/`` is the base URL itself, requested as given (a
        path is not given a trailing slash, a query, ``--url .../list.php?cate_no=24``, is kept).
        Other paths drop the base URL's query, never extend it."""
        if path.startswith("http"):
            return path
        if path in ("", "/"):
            return self.start_url
        root = urlunsplit(urlsplit(self.base_url)._replace(query="", fragment=""))
        return urljoin(root + "/", path.lstrip("/"))

    async def start(self) -> AsyncIterator[Any]:
        for path in self.start_paths:
            yield self._start_request(self.page_request(self.url_for(path), self.parse_listing))
        for path in () if self.skip_browser_pages else self.js_paths:
            request = self.browser_request(self.url_for(path), callback=self.parse_listing)
            if request is not None:
                yield self._start_request(request)
        if self.use_sitemap:
            for request in await self._sitemap_start():
                yield request

    async def _sitemap_start(self) -> list[scrapy.Request]:
        """The sitemaps robots.txt announces, read from the rules the robots middleware fetched anyway
        (asking for the file a second time cost a request and a turn of the store's Crawl-delay);
        without that middleware, or a parser that keeps Sitemap lines, the file itself."""
        from vtonkit.crawlers.robots import announced_sitemaps, robots_middleware

        robots_url = urljoin(self.base_url, "/robots.txt")  # at the host's root (RFC 9309), whatever the base path
        robots = robots_middleware(self.crawler)
        if robots is not None:
            parser = await robots.robot_parser(scrapy.Request(robots_url))
            sitemaps = announced_sitemaps(parser, robots_url) if parser is not None else None
            if sitemaps is not None:
                return list(self._sitemap_requests(sitemaps))
        # not a start page: where robots.txt redirects to is not the store's host
        return [scrapy.Request(robots_url, callback=self.parse_robots, errback=self.on_sitemap_error,
                               meta={"dont_obey_robotstxt": True, "allow_offsite": True}, dont_filter=True)]

    @staticmethod
    def _start_request(request: scrapy.Request) -> scrapy.Request:
        """A start request may be redirected to another host (``shop.example`` -> ``www.shop.example``,
        or the reverse, which the offsite filter refused): that host is then the store's
        (:meth:`_adopt_redirected_host`)."""
        request.meta.update(vtonkit_start=True, allow_offsite=True)
        return request

    @property
    def allowed_domains(self) -> list[str]:
        """The store's host names, for code that reads Scrapy's attribute; the crawl's offsite filter
        (:class:`~vtonkit.crawlers.middlewares.StoreOffsiteMiddleware`) asks `on_store_host`."""
        return list(dict.fromkeys(host for host, _ in self.store_addresses))

    def is_store_address(self, url: str) -> bool:
        """The URL is served from the store's own host and port (not a subdomain): the server whose
        robots.txt, unreadable, stops the crawl."""
        return store_address(url) in self.store_addresses

    def on_store_host(self, url: str) -> bool:
        """The URL is the store's: on one of its hosts or a subdomain of one (``www.``, ``m.``, a
        shop's ``blog.``), on the store's port. Another port is another server (Scrapy's own offsite
        filter compares host names only, so a footer link to ``127.0.0.1:9807`` was the store's)."""
        host, port = store_address(url)
        return bool(host) and any(
            port == store_port and (host == store_host or host.endswith(f".{store_host}"))
            for store_host, store_port in self.store_addresses
        )

    def _adopt_redirected_host(self, response: Response, request: scrapy.Request, spider: Any) -> None:
        """A start page redirected to another host or port: the store lives there, so its links are
        followed (before, every one was dropped as offsite and the crawl found nothing), and its
        robots.txt is the store's own."""
        address = store_address(response.url)
        if not request.meta.get("vtonkit_start") or not address[0] or address in self.store_addresses:
            return
        widens = not self.on_store_host(response.url)  # not a subdomain already followed
        self.store_addresses.append(address)
        if widens:
            report_for(self.crawler).note(f"the store's address redirects to {split_url(response.url).netloc}: "
                                          "crawling that host too")

    def browser_request(self, url: str, callback: Any) -> scrapy.Request | None:
        """A ``js_paths`` page rendered by Chromium, or None (reported) when no browser is available."""
        if not self.browser_enabled:
            report_for(self.crawler).skipped["js-no-browser"] += 1
            report_for(self.crawler).note(
                f"skipped JavaScript page {url}: Chromium not available ({self._no_browser_reason()})"
            )
            return None
        self.renders_used += 1
        return self._rendered_request(url, callback, "js-path", wait_selector=self.js_wait_selector, refetch=True)

    def _no_browser_reason(self) -> str:
        return self.browser_problem or "the spider was started without its browser settings"

    def _rendered_request(
        self,
        url: str,
        callback: Any,
        reason: str,
        *,
        wait_selector: str | None = None,
        meta: dict[str, Any] | None = None,
        refetch: bool = False,
    ) -> scrapy.Request:
        """A request rendered by Chromium; ``refetch``: the page was (or may be) fetched already
        without the browser, so the duplicate filter must let it through."""
        from scrapy_playwright.page import PageMethod

        wait = (
            PageMethod("wait_for_selector", wait_selector)
            if wait_selector
            else quiet_network_method(self.crawler.settings.getfloat("VTONKIT_RENDER_TIMEOUT", DEFAULT_RENDER_TIMEOUT))
        )
        methods = [wait]
        if not (meta or {}).get("vtonkit_expected") or reason in LISTING_REASONS:  # may be a listing: grow it
            rounds = self.crawler.settings.getint("VTONKIT_RENDER_GROW_ROUNDS", DEFAULT_GROW_ROUNDS)
            methods.append(grow_method(rounds))
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            priority=page_priority(url, (meta or {}).get("vtonkit_expected")),
            # Only a re-render passes the duplicate filter: under --render always a page linked from
            # every page (a menu, the home page) was rendered again for each link, spending the
            # render budget on copies (and bypassing link-trap pruning, which skips dont_filter)
            dont_filter=refetch,
            meta={
                **(meta or {}),
                "playwright": True,
                "playwright_page_methods": methods,
                "vtonkit_render_reason": reason,
            },
        )

    def page_request(self, url: str, callback: Any, *, expected: str | None = None,
                     next_page: bool = False) -> scrapy.Request:
        """A page request; ``expected`` says why the page should hold a product (or None);
        ``next_page``: the next page of the listing that links it (kept at that listing's depth).

        With ``render=always`` the page goes straight to the browser while the budget lasts.
        """
        meta: dict[str, Any] = {"vtonkit_expected": expected} if expected else {}
        if next_page:
            meta["vtonkit_next_page"] = True
        request = scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                                 priority=page_priority(url, expected))
        if self.render_policy == "always" and self.browser_enabled and self.renders_used < self.render_budget:
            # a page linked again (from every page's menu) is dropped by the duplicate filter: it
            # must not spend the render budget once per link
            key = self.crawler.request_fingerprinter.fingerprint(request)
            if key not in self._render_requested:
                self._render_requested.add(key)
                self.renders_used += 1
                return self._rendered_request(url, callback, "always", meta=meta)
        return request

    def render_or_report(self, response: Response, expected: str, callback: Any) -> Iterable[scrapy.Request]:
        """Render a page that should hold a product but has none in its HTML, or say why not."""
        why_not = None
        if self.render_policy == "never":
            why_not = "rendering is off (--render never)"
        elif not self.browser_enabled:
            why_not = f"Chromium not available ({self._no_browser_reason()})"
        elif self.renders_used >= self.render_budget:
            why_not = f"the render budget of {self.render_budget} pages is spent"
        if why_not is None:
            self.renders_used += 1
            meta = {"vtonkit_expected": expected, "vtonkit_rerender": True}  # at the plain fetch's depth
            yield self._rendered_request(_asked_url(response), callback, expected, meta=meta, refetch=True)
            return
        report = report_for(self.crawler)
        if expected == "script-listing":  # a listing: its products are missed, not the page's own
            report.page_error(response.url, f"product grid drawn by script; not rendered: {why_not}")
            return
        report.page_error(response.url, f"no product data found in the HTML; not rendered: {why_not}")
        report.missing_product(response.url, f"{expected}: not rendered: {why_not}")

    # -- sitemaps -------------------------------------------------------------------------
    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        sitemaps = (
            list(sitemap_urls_from_robots(response.body, base_url=response.url))
            if response.status == 200
            else []
        )
        return self._sitemap_requests(sitemaps)

    def _sitemap_requests(self, sitemaps: list[str]) -> Iterable[scrapy.Request]:
        for url in sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_sitemap_error)
        if not sitemaps:  # none announced: the usual place, which may hold none
            yield scrapy.Request(urljoin(self.base_url, "/sitemap.xml"), callback=self.parse_sitemap,
                                 errback=self.on_sitemap_error, meta={"vtonkit_guessed_sitemap": True})

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        body = response.body
        if re.match(rb"\s*(?:<!doctype html|<html)", body[:200], re.IGNORECASE):
            # a single-page app answers every address with its page
            if response.meta.get("vtonkit_guessed_sitemap"):
                logger.info("no sitemap at %s: the server answers with an HTML page", response.url)
            else:
                report_for(self.crawler).page_error(response.url, "not a sitemap: the server answers with an HTML page")
            return
        try:
            if body[:2] == b"\x1f\x8b":  # a sitemap.xml.gz file: inflated here, so capped here
                max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
                body = gunzip_capped(body, response.meta.get("download_maxsize", max_size))
            sitemap = Sitemap(body)
        except Exception as exc:  # a decompression bomb, or not XML at all
            report_for(self.crawler).page_error(response.url, f"unreadable sitemap: {exc or type(exc).__name__}")
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(loc, callback=self.parse_sitemap, errback=self.on_sitemap_error)
                continue
            # a sitemap can tag its entries for analytics (?utm_source=sitemap), as pages tag links
            loc = without_tracking(loc)
            if loc and self.is_product_url(loc):
                expected = self.sitemap_entry_expected(loc, response.url)
                yield self.page_request(loc, self.parse_product, expected=expected)

    def sitemap_entry_expected(self, loc: str, sitemap_url: str) -> str | None:
        """Why a sitemap entry should be a product page (None: it may be any page)."""
        return "product-sitemap"

    def on_sitemap_error(self, failure: Any) -> None:
        """No robots.txt or no sitemap at the guessed ``/sitemap.xml`` (404) is normal and only logged;
        any other failure (a sitemap robots.txt or an index names that is gone, a decompression bomb,
        a broken connection) is reported like a page's."""
        request = failure.request
        if (failure.check(HttpError) and failure.value.response.status == 404
                and (request.meta.get("vtonkit_guessed_sitemap") or request.callback == self.parse_robots)):
            logger.info("no sitemap at %s: %s", failure.request.url, failure.value)
            return
        self.on_error(failure)

    # -- listings and products -------------------------------------------------------------
    def is_product_url(self, url: str) -> bool:
        """The product link pattern matches the URL's path (and query, where stores put the id)."""
        parts = split_url(url)
        return bool(self._product_re.search(parts.path + (f"?{parts.query}" if parts.query else "")))

    def is_expected_product(self, url: str, sitemap_url: str = "") -> bool:
        """A URL that should hold a product: the store's product link pattern (the generic spider guesses)."""
        return self.is_product_url(url)

    def links(self, response: Response) -> list[str]:
        """The page's links to follow: anchors, the next page a ``<link rel="next">`` names (in the
        ``<head>``, where a theme whose visible pager is a script's button names it alone), product
        cards that navigate by script or by a ``data-href`` attribute (`scripted_links`), and, for a
        grown rendered page, the links it showed on the way (a pager that replaces its grid leaves
        only the last page's in the HTML); without their tracking parameters (`without_tracking`)."""
        # a nofollow link with a query is a facet or sort view the shop asks crawlers to leave
        hrefs = response.xpath("//a[not(contains(concat(' ', normalize-space(@rel), ' '), ' nofollow '))"
                               " or not(contains(@href, '?'))]/@href").getall()
        hrefs += response.xpath("//link[contains(concat(' ', normalize-space(translate(@rel, 'NEXT', 'next')), ' '), ' next ')]"
                                "/@href").getall()
        hrefs += scripted_links(response)
        if response.request is not None:  # a response built by hand has no meta
            hrefs += grown(response.meta)[1]
        urls = []
        for href in hrefs:
            href = href.strip()
            # "#reviews" is a place on this page; "#/item/3" a page of a hash-routed app
            if not href or (href.startswith("#") and hash_route(href) is None) or not_for_crawling(href):
                continue
            url = without_tracking(join_url(response.url, href))
            if url:  # a malformed link ("http://[::1/p") costs only itself
                urls.append(url)
        return list(dict.fromkeys(urls))  # once each, in page order

    def parse_listing(self, response: Response) -> Iterable[Any]:
        for url in self.links(response):
            if self.is_product_url(url):
                yield self.page_request(url, self.parse_product, expected="listing-link")
        for href in response.css(self.next_page_css).getall():
            if url := join_url(response.url, href):
                yield self.page_request(url, self.parse_listing, next_page=True)

    def extract(self, response: Response, expected: str | None = None) -> tuple[bool, ProductPage]:
        """(extraction ran, the page's product data); a failing run is reported as a page error.

        ``expected``: why the page should be a product (`product_or_render`); a page reached as a
        product's may be one by what it shows alone (`extract_product`), an app shell only where
        its address looks like a product's.
        """
        as_product = expected in ("listing-link", "product-sitemap") or (
            expected is not None and expected_product_url(response.url))
        try:
            return True, read_product_page(response.text, _asked_url(response), store=self.name, expected=as_product)
        except Exception as exc:  # malformed HTML must never stop the crawl
            report_for(self.crawler).page_error(
                response.url, f"extraction failed: {type(exc).__name__}: {exc}"
            )
            return False, ProductPage(None)

    def parse_product(self, response: Response) -> Iterable[Any]:
        yield from self.product_or_render(
            response, response.meta.get("vtonkit_expected") or "listing-link", self.parse_product
        )

    def product_or_render(self, response: Response, expected: str | None, callback: Any) -> Iterable[Any]:
        """The page's product; else, when it should hold one, a rendered retry or a named miss.

        ``expected`` says why the page should be a product (``product-sitemap``,
        ``listing-link``) or is None; an app-shell page is expected to be one wherever it was found.
        """
        report = report_for(self.crawler)
        if not hasattr(response, "text"):  # an image or other binary where a page was expected
            if expected:
                report.page_error(response.url, "not an HTML page")
                report.missing_product(response.url, f"{expected}: not an HTML page")
            return
        ran, page = self.extract(response, expected)
        item = page.item
        if is_product_page(item):
            yield from self.emit(item)
            # a group's other colours are products too: those shown only here, and those with pages of their own
            for colour in filter(is_product_page, page.other_colours):
                yield from self.emit(colour)
            for url in page.colour_pages:
                yield self.page_request(url, self.parse_product, expected="listing-link")
            return
        rendered = "vtonkit_render_reason" in response.meta
        if expected is None and not rendered:
            if app_shell_verdict(response.text).is_app_shell:
                expected = "app-shell"
            elif empty_product_grid(response.text) and not any(
                self.is_expected_product(url) for url in self.links(response)
            ):
                expected = "script-listing"
        if expected is None or not ran:
            if not ran and expected:
                report.missing_product(response.url, f"{expected}: extraction failed")
            return
        if expected != "script-listing" and self._shows_a_listing(response, expected):
            return  # a listing at an address like a product's, not a product that went missing: its links are followed
        if rendered:
            if expected == "script-listing":
                return  # a listing drawn by script, not a product that went missing: its links are followed
            report.page_error(
                response.url,
                "no product data found (no Product JSON-LD/microdata/OpenGraph), also after rendering",
            )
            report.missing_product(response.url, f"{expected}: no product data after rendering")
            return
        yield from self.render_or_report(response, expected, callback)

    def _shows_a_listing(self, response: Response, expected: str) -> bool:
        """A page without a product that is a listing or the app's navigation, not a product that went
        missing: an app shell rendered that links products, or, at an address unlike a product's,
        any page of the app (home, a category); or a page that links products and shows the prices
        of several (a category at ``/products/all``)."""
        links = self.links(response)
        to_products = any(self.is_expected_product(url) for url in links)
        if "vtonkit_render_reason" in response.meta and expected == "app-shell":
            return to_products or (bool(links) and not expected_product_url(_asked_url(response)))
        return to_products and shows_many_prices(read_evidence(response.text, response.url))

    def emit(self, item: ProductItem) -> Iterable[ProductItem]:
        """Bound the item's text, apply the category filter and the limit, stamp the crawl time, yield it."""
        item = with_bounded_text(item)  # Shopify and store-selector items skip the page extraction's
        report = report_for(self.crawler)
        product_found(self.crawler)
        if self.limit is not None and self.emitted >= self.limit:
            raise CloseSpider("limit")  # reached before this run found anything (a resumed crawl)
        # One product reached twice (listed in two categories, or with another category in its
        # URL, or as another size of one colour) is one product (`product_record_key`).
        key = product_record_key(vars(item))
        if key in self._found_before:  # a resumed crawl meets its earlier runs' products again
            report.skipped["found-before"] += 1
            return
        if key in self._emitted_products or key in self._filtered_products:
            report.skipped["duplicate-product"] += 1
            return
        if self.category and item.category != self.category:
            self._filtered_products.add(key)  # counted once, however often it is reached
            report.skipped["category-filter"] += 1
            return
        self._emitted_products.add(key)
        item.crawled_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.emitted += 1  # the report counts it once written (CatalogPipeline): a forced stop loses some
        yield item
        if self.limit is not None and self.emitted >= self.limit:
            raise CloseSpider("limit")

    def on_error(self, failure: Any) -> None:
        """Errback of page requests: log with the URL, count, carry on."""
        request = failure.request
        if failure.check(BudgetSpent, CrawlStopping):
            pass  # a stopped crawl's product page still waits: `_report_unfetched_products` names it
        else:
            self._product_fetched(request)
        if failure.check(BudgetSpent):  # the crawl is stopping; the summary says why
            report_for(self.crawler).skipped["page-budget"] += 1
            return
        if failure.check(CrawlStopping):  # dropped while it waited for its host's turn as the crawl stopped
            report_for(self.crawler).skipped["crawl-stopped"] += 1
            return
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            reason = str(failure.value) or "ignored"
            if "robots.txt" in reason.lower():
                report_for(self.crawler).skipped["robots.txt"] += 1
                return
        else:
            max_bytes = request.meta.get("download_maxsize", self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            reason = failure_reason(failure.value, max_bytes=max_bytes)
        report_for(self.crawler).page_error(request.url, reason)
        expected = request.meta.get("vtonkit_expected")
        if expected:
            report_for(self.crawler).missing_product(request.url, f"{expected}: {reason}")
