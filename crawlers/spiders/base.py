"""The shared store spider: listings -> product pages -> one :class:`ProductItem` each.

A store spider is configuration over this class: where to start, which links are products,
how listings paginate, which pages need a browser. Extraction itself is generic
(:func:`vtonkit.crawlers.extract.extract_product`). Common arguments (``-a name=value``):

* ``url``: the store's base URL (overrides ``base_url``)
* ``limit``: stop after this many products
* ``category``: keep only ``upper``, ``lower`` or ``dresses`` products
* ``browser``: ``0`` skips the pages that need Chromium
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from vtonkit.crawlers.browser import ChromiumNotFound, find_chromium, playwright_settings
from vtonkit.crawlers.categories import CATEGORIES
from vtonkit.crawlers.extract import extract_product, is_product_page
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.limits import BudgetSpent, gunzip_capped, product_found
from vtonkit.crawlers.report import failure_reason, report_for

logger = logging.getLogger(__name__)

# Links a crawler should never follow on a shop
_SKIP_LINK = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|pdf|zip|mp4|woff2?)(?:\?|$)|/(?:cart|checkout|account|login|logout|"
    r"register|wishlist|search)(?:/|\?|$)|^(?:mailto|tel|javascript):",
    re.IGNORECASE,
)


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
    #: why Chromium could not be used (set when the crawl's settings were built)
    browser_problem: str | None = None

    def __init__(
        self,
        *args: Any,
        url: str | None = None,
        limit: str | int | None = None,
        category: str | None = None,
        browser: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.base_url = (url or self.base_url).rstrip("/")
        if not self.base_url:
            raise ValueError(f"spider {self.name!r} needs a store URL: -a url=https://shop.example")
        self.limit = int(limit) if limit not in (None, "", 0, "0") else None
        if category and category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES[:3])}, got {category!r}")
        self.category = category or None
        self.allowed_domains = [urlsplit(self.base_url).hostname or ""]
        self.emitted = 0
        self.skip_browser_pages = str(browser).lower() in ("0", "false", "no", "off")
        self._product_re = re.compile(self.product_link_pattern)

    # -- settings -----------------------------------------------------------------------
    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        if cls.js_paths:
            try:
                settings.setdict(playwright_settings(find_chromium()), priority="spider")
            except ChromiumNotFound as exc:
                cls.browser_problem = str(exc)  # reported in the crawl summary
                logger.warning("%s: JavaScript pages will be skipped: %s", cls.name, exc)

    @property
    def browser_enabled(self) -> bool:
        handlers = self.crawler.settings.getdict("DOWNLOAD_HANDLERS")
        return "scrapy_playwright" in str(handlers.get("http", ""))

    # -- start ----------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/")) if not path.startswith("http") else path

    async def start(self) -> AsyncIterator[Any]:
        for path in self.start_paths:
            yield scrapy.Request(self.url_for(path), callback=self.parse_listing, errback=self.on_error)
        for path in () if self.skip_browser_pages else self.js_paths:
            request = self.browser_request(self.url_for(path), callback=self.parse_listing)
            if request is not None:
                yield request
        if self.use_sitemap:
            yield scrapy.Request(
                self.url_for("/robots.txt"),
                callback=self.parse_robots,
                errback=self.on_sitemap_error,
                meta={"dont_obey_robotstxt": True},
                dont_filter=True,
            )

    def browser_request(self, url: str, callback: Any) -> scrapy.Request | None:
        """A request rendered by Chromium, or None (reported) when no browser is available."""
        if not self.browser_enabled:
            report_for(self.crawler).skipped["js-no-browser"] += 1
            problem = self.browser_problem or "the spider was started without its browser settings"
            report_for(self.crawler).note(
                f"skipped JavaScript page {url}: Chromium not available ({problem})"
            )
            return None
        from scrapy_playwright.page import PageMethod

        methods = [PageMethod("wait_for_selector", self.js_wait_selector)] if self.js_wait_selector else []
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            meta={"playwright": True, "playwright_page_methods": methods},
        )

    # -- sitemaps -------------------------------------------------------------------------
    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        sitemaps = (
            list(sitemap_urls_from_robots(response.text, base_url=response.url))
            if response.status == 200
            else []
        )
        for url in sitemaps or [self.url_for("/sitemap.xml")]:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_sitemap_error)

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        body = response.body
        try:
            if body[:2] == b"\x1f\x8b":  # a sitemap.xml.gz file: inflated here, so capped here
                max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
                body = gunzip_capped(body, response.meta.get("download_maxsize", max_size))
            sitemap = Sitemap(body)
        except Exception as exc:  # a decompression bomb, or not XML at all
            report_for(self.crawler).page_error(response.url, f"unreadable sitemap: {exc}")
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                yield scrapy.Request(loc, callback=self.parse_sitemap, errback=self.on_sitemap_error)
            elif self.is_product_url(loc):
                yield scrapy.Request(loc, callback=self.parse_product, errback=self.on_error)

    def on_sitemap_error(self, failure: Any) -> None:
        """No sitemap (404) is normal and only logged; any other failure (a decompression bomb, a
        broken connection) is reported like a page's."""
        if failure.check(HttpError) and failure.value.response.status == 404:
            logger.info("no sitemap at %s: %s", failure.request.url, failure.value)
            return
        self.on_error(failure)

    # -- listings and products -------------------------------------------------------------
    def is_product_url(self, url: str) -> bool:
        return bool(self._product_re.search(urlsplit(url).path))

    def links(self, response: Response) -> list[str]:
        hrefs = response.css("a::attr(href)").getall()
        urls = []
        for href in hrefs:
            href = href.strip()
            if not href or href.startswith("#") or _SKIP_LINK.search(href):
                continue
            urls.append(response.urljoin(href))
        return urls

    def parse_listing(self, response: Response) -> Iterable[Any]:
        for url in self.links(response):
            if self.is_product_url(url):
                yield scrapy.Request(url, callback=self.parse_product, errback=self.on_error)
        for href in response.css(self.next_page_css).getall():
            yield scrapy.Request(response.urljoin(href), callback=self.parse_listing, errback=self.on_error)

    def extract(self, response: Response) -> tuple[bool, ProductItem | None]:
        """(extraction ran, the page's product data or None); a failing run is reported as a page error."""
        try:
            return True, extract_product(response.text, response.url, store=self.name)
        except Exception as exc:  # malformed HTML must never stop the crawl
            report_for(self.crawler).page_error(
                response.url, f"extraction failed: {type(exc).__name__}: {exc}"
            )
            return False, None

    def parse_product(self, response: Response) -> Iterable[ProductItem]:
        ran, item = self.extract(response)
        if not ran:
            return
        if not is_product_page(item):
            report_for(self.crawler).page_error(
                response.url, "no product data found (no Product JSON-LD/microdata/OpenGraph)"
            )
            return
        yield from self.emit(item)

    def emit(self, item: ProductItem) -> Iterable[ProductItem]:
        """Apply the category filter and the limit, stamp the crawl time, yield the item."""
        report = report_for(self.crawler)
        product_found(self.crawler)
        if self.category and item.category != self.category:
            report.skipped["category-filter"] += 1
            return
        if self.limit is not None and self.emitted >= self.limit:
            return
        item.crawled_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.emitted += 1
        report.products[item.category] += 1
        yield item
        if self.limit is not None and self.emitted >= self.limit:
            raise CloseSpider("limit")

    def on_error(self, failure: Any) -> None:
        """Errback of page requests: log with the URL, count, carry on."""
        request = failure.request
        if failure.check(BudgetSpent):  # the crawl is stopping; the summary says why
            report_for(self.crawler).skipped["page-budget"] += 1
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
