"""Bounds of one crawl: decompression caps, page and time budgets, link-trap pruning.

A shop (or something pretending to be one) decides what the crawler receives; these keep a
crawl finite whatever it sends:

* **Decompression caps.** Every body is inflated to at most ``DOWNLOAD_MAXSIZE`` bytes: Scrapy's
  HttpCompressionMiddleware caps gzip/deflate/brotli/zstd ``Content-Encoding`` (images use their
  own ``VTONKIT_MAX_IMAGE_BYTES``), and :func:`gunzip_capped` caps what Scrapy leaves to the
  spider, a gzipped sitemap file (``sitemap.xml.gz``).
* **Budgets** (:class:`CrawlBudget`): the crawl stops after ``VTONKIT_MAX_PAGES`` pages fetched
  (``--max-pages``; pages waiting for their host's turn are not spent, :class:`PageBudgetGate`),
  ``VTONKIT_MAX_SECONDS`` seconds (``--max-time``), or ``VTONKIT_STALL_PAGES`` pages in a row
  without a product page. Image downloads are not pages.
* **Traps** (:class:`TrapFilter`): links that only lead to more of themselves are pruned before
  they are scheduled: more than ``VTONKIT_TRAP_QUERY_VARIANTS`` views of one listing (a path,
  its ``/page/N/`` paths included; query strings without item and category ids, see
  :mod:`~vtonkit.crawlers.url_roles`: faceted
  navigation, session ids, endless sort/filter combinations), more than
  ``VTONKIT_TRAP_LISTING_PAGES`` pages of one listing (a page counter that never ends), more than
  ``VTONKIT_TRAP_MAX_PARAMS`` query parameters on one link (stacked facets), and a path segment
  repeated ``VTONKIT_TRAP_SEGMENT_REPEATS`` times (relative-link loops like ``/a/b/a/b/a/``),
  and paths deeper than ``VTONKIT_TRAP_MAX_DEPTH`` segments.
  Each pruned pattern is reported once, with how many links it cost. Links beyond
  ``LINKS_PER_PAGE_BUDGET`` x the page budget are dropped too (a huge sitemap or page would
  otherwise queue a million requests that the budget never lets run).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.spidermiddlewares.depth import DepthMiddleware
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.gz import gunzip
from vtonkit.crawlers import settings as defaults  # the documented default of every limit
from vtonkit.crawlers.robots import is_robots_request
from vtonkit.crawlers.url_roles import listing_of, listing_view, page_number

logger = logging.getLogger(__name__)

# page requests scheduled at most, per page of the page budget (the rest could never be fetched)
LINKS_PER_PAGE_BUDGET = 10
# finish reasons of a crawl ended by its budget (a normal end: what was found is kept)
BUDGET_REASONS = ("max-pages", "max-time", "stalled")
# the image pipeline marks its requests with the page they belong to; those are not pages
IMAGE_REQUEST_META = "vtonkit_page"


class BodyTooLarge(ValueError):
    """A compressed body inflates past the size cap."""


def gunzip_capped(body: bytes, max_size: int) -> bytes:
    """Inflate a gzip file, refusing to produce more than ``max_size`` bytes (0 = no cap)."""
    try:
        return gunzip(body, max_size=max_size)
    except ValueError as exc:  # scrapy's _DecompressionMaxSizeExceeded
        if "exceeded" not in str(exc):
            raise
        raise BodyTooLarge(
            f"{len(body)} bytes of gzip inflate to more than {max_size} bytes (DOWNLOAD_MAXSIZE): "
            "refused as a decompression bomb"
        ) from exc


def is_page_request(request: Request) -> bool:
    """Not an image and not a robots.txt fetch (both marked in their meta): what the page budget counts."""
    return IMAGE_REQUEST_META not in request.meta and not is_robots_request(request)


@dataclass
class Budget:
    """What one crawl may spend, and what it spent (``summary.json`` -> ``budget``)."""

    max_pages: int
    max_seconds: float
    stall_pages: int
    started: int = 0  # page requests sent on to a download slot after their host's turn (what the page budget counts)
    pages: int = 0  # page responses received
    pages_since_product: int = 0
    stopped_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_pages": self.max_pages,
            "max_seconds": self.max_seconds,
            "stall_pages": self.stall_pages,
            "pages": self.pages,
            "stopped_by": self.stopped_by,
        }


class CrawlBudget:
    """Extension: stops the crawl when a budget is spent (``finish_reason`` names which)."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.budget = Budget(
            max_pages=settings.getint("VTONKIT_MAX_PAGES", defaults.VTONKIT_MAX_PAGES),
            max_seconds=settings.getfloat("VTONKIT_MAX_SECONDS", defaults.VTONKIT_MAX_SECONDS),
            stall_pages=settings.getint("VTONKIT_STALL_PAGES", defaults.VTONKIT_STALL_PAGES),
        )
        crawler.vtonkit_budget = self  # type: ignore[attr-defined]
        self.timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlBudget:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        return extension

    def spider_opened(self, spider: Any) -> None:
        if self.budget.max_seconds > 0:
            # the crawl's reactor, imported only now: importing it at module level would install one
            from twisted.internet import reactor

            self.timer = reactor.callLater(self.budget.max_seconds, self.stop, "max-time")

    def spider_closed(self, spider: Any) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()

    def response_received(self, response: Any, request: Request, spider: Any) -> None:
        if not is_page_request(request):
            return
        budget = self.budget
        budget.pages += 1
        budget.pages_since_product += 1
        if budget.stall_pages > 0 and budget.pages_since_product >= budget.stall_pages:
            self.stop("stalled")

    def stop(self, reason: str) -> None:
        if self.budget.stopped_by is not None:
            return
        self.budget.stopped_by = reason
        explanation = {
            "max-pages": f"page budget spent (--max-pages {self.budget.max_pages})",
            "max-time": f"time budget spent (--max-time {self.budget.max_seconds:g} s)",
            "stalled": f"no product page in the last {self.budget.stall_pages} pages (VTONKIT_STALL_PAGES)",
        }[reason]
        logger.warning("stopping the crawl: %s", explanation)
        from vtonkit.crawlers.report import report_for

        report_for(self.crawler).note(f"crawl stopped: {explanation}")
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))


def product_found(crawler: Crawler) -> None:
    """The spider found a product page (before its category filter): the stall count restarts."""
    extension = getattr(crawler, "vtonkit_budget", None)
    if extension is not None:
        extension.budget.pages_since_product = 0


class BudgetSpent(IgnoreRequest):
    """A page request refused because the page budget is spent (not a failure of the page)."""


class PageBudgetGate:
    """Downloader middleware: no page goes on to be downloaded once the page budget is spent.

    It stands after the host pacer (:class:`~vtonkit.crawlers.pacing.HostPacer`): a request counts
    when its host's turn has come (``Crawl-delay``, a pause asked for) and it goes on to its
    download slot, so a crawl fetches at most ``VTONKIT_MAX_PAGES`` pages (counting responses
    instead would let every request in flight overshoot it). Counted as it arrived, a page waiting
    for its turn spent the budget too: under ``Crawl-delay: 1``, ``--max-pages 15`` fetched 5 pages,
    the other 10 dropped as the spent budget stopped the crawl. The request that spends the budget
    stops the crawl; the pages counted, in flight or queued in their slot, are still fetched.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageBudgetGate:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        extension = getattr(self.crawler, "vtonkit_budget", None)
        if extension is None or not is_page_request(request) or extension.budget.max_pages <= 0:
            return
        budget = extension.budget
        if budget.started >= budget.max_pages:
            raise BudgetSpent(f"not fetched: the page budget ({budget.max_pages} pages) is spent")
        budget.started += 1
        if budget.started >= budget.max_pages:
            extension.stop("max-pages")


@dataclass
class TrapReport:
    """One pruned pattern: which rule, a readable pattern, how many links, one example."""

    rule: str
    pattern: str
    pruned: int = 0
    example: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "pattern": self.pattern, "pruned": self.pruned, "example": self.example}


@dataclass
class TrapState:
    query_variants: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    listing_pages: dict[tuple[str, str, str], set[int]] = field(default_factory=dict)  # listing_of -> pages
    param_names: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    traps: dict[tuple[str, str], TrapReport] = field(default_factory=dict)  # (rule, where) -> report


class ListingDepthMiddleware(DepthMiddleware):
    """Scrapy's depth limit, except that the next page of a listing is as deep as the listing, and a
    page fetched again to be rendered in Chromium is as deep as its plain fetch.

    A spider marks such a request with ``meta["vtonkit_next_page"]`` (see
    :func:`~vtonkit.crawlers.url_roles.is_next_listing_page`) or ``meta["vtonkit_rerender"]``.
    Counted one level deeper per page, a category's products beyond its third page fell past
    ``DEPTH_LIMIT`` = 4 of the generic spider; counted one level deeper per render, so did the
    products of a script-drawn store's categories (home, its render, a category, its render, ...).
    """

    def get_processed_request(self, request: Request, response: Any) -> Request | None:
        if response is None or not (request.meta.get("vtonkit_next_page") or request.meta.get("vtonkit_rerender")):
            return super().get_processed_request(request, response)
        request.meta.pop("depth_reset", None)
        request.meta["depth"] = response.meta["depth"]
        if self.prio:
            request.priority -= request.meta["depth"] * self.prio
        return request


class TrapFilter(BaseSpiderMiddleware):
    """Spider middleware: drops links of the trap patterns in the module docstring, reports each."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.max_variants = settings.getint(
            "VTONKIT_TRAP_QUERY_VARIANTS", defaults.VTONKIT_TRAP_QUERY_VARIANTS
        )
        self.max_params = settings.getint("VTONKIT_TRAP_MAX_PARAMS", defaults.VTONKIT_TRAP_MAX_PARAMS)
        self.max_repeats = settings.getint(
            "VTONKIT_TRAP_SEGMENT_REPEATS", defaults.VTONKIT_TRAP_SEGMENT_REPEATS
        )
        self.max_depth = settings.getint("VTONKIT_TRAP_MAX_DEPTH", defaults.VTONKIT_TRAP_MAX_DEPTH)
        self.max_listing_pages = settings.getint("VTONKIT_TRAP_LISTING_PAGES", defaults.VTONKIT_TRAP_LISTING_PAGES)
        # links scheduled at most: a 32 MiB sitemap or page can hold ~1M links, each a queued request
        max_pages = settings.getint("VTONKIT_MAX_PAGES", defaults.VTONKIT_MAX_PAGES)
        self.max_links = LINKS_PER_PAGE_BUDGET * max_pages if max_pages > 0 else 0
        self.links = 0
        self.state = TrapState()
        crawler.vtonkit_traps = self.state.traps  # type: ignore[attr-defined]

    def get_processed_request(self, request: Request, response: Any) -> Request | None:
        if request.dont_filter or not is_page_request(request):
            return request  # robots.txt, sitemap retries, images: never trap links
        trap = self.trap_of(request.url)
        if trap is None and self.max_links and self.links >= self.max_links:
            host = urlsplit(request.url).netloc.lower()
            trap = (
                "link-budget",
                host,
                f"{host}: more than {self.max_links} links scheduled ({LINKS_PER_PAGE_BUDGET} x --max-pages)",
            )
        if trap is None:
            self.links += 1
            return request
        rule, where, pattern = trap
        report = self.state.traps.get((rule, where))
        if report is None:
            report = self.state.traps[(rule, where)] = TrapReport(rule, pattern, example=request.url)
            logger.warning("link trap: pruning %s (%s), e.g. %s", pattern, rule, request.url)
        report.pruned += 1
        self.crawler.stats.inc_value("vtonkit/trap_links_pruned")
        return None

    def trap_of(self, url: str) -> tuple[str, str, str] | None:
        """(rule, where, readable pattern) when ``url`` belongs to a trap, else None (the URL is
        then counted towards its path's variants)."""
        parts = urlsplit(url)
        host, path = parts.netloc.lower(), parts.path or "/"
        segments = [s for s in path.split("/") if s]
        repeated = (
            [s for s, n in Counter(segments).items() if n >= self.max_repeats] if self.max_repeats else []
        )
        if repeated:
            segment = repeated[0]
            return (
                "repeated-segment",
                f"{host} {segment}",
                f"{host}/…/{segment}/…/{segment}/… (path segment repeated)",
            )
        if self.max_depth and len(segments) > self.max_depth:
            prefix = "/".join(segments[:2])
            return (
                "deep-path",
                f"{host}/{prefix}",
                f"{host}/{prefix}/… (more than {self.max_depth} path segments)",
            )
        # Views, not raw query strings: an item or category id, or a plain listing's page number,
        # does not make a new view (url_roles); a shop serving every product from one path is not
        # a trap, facets are. Counted per listing, its /page/N/ paths together.
        listing_path, view = listing_view(url)
        page = page_number(url)
        if page is not None and self.max_listing_pages:
            listing = listing_of(url)
            pages = self.state.listing_pages.setdefault(listing, set())
            if page not in pages and len(pages) >= self.max_listing_pages:
                where = f"{listing[0]}{listing[1]}?{listing[2]}"
                return "endless-listing", where, f"{where}… (more than {self.max_listing_pages} pages of one listing)"
            pages.add(page)
        if not parts.query:
            return None
        params = parse_qsl(parts.query, keep_blank_values=True)
        names = sorted({name for name, _ in params})
        if self.max_params and len(params) > self.max_params:
            pattern = f"{host}{path}?{'&'.join(names)} (more than {self.max_params} query parameters)"
            return "facet-stacking", f"{host}{path}", pattern
        key = (host, listing_path)
        variants = self.state.query_variants.setdefault(key, set())
        seen_names = self.state.param_names.setdefault(key, Counter())
        if view in variants:
            return None
        if self.max_variants and len(variants) >= self.max_variants:
            common = ", ".join(name for name, _ in seen_names.most_common(5))
            pattern = f"{host}{listing_path}?… (more than {self.max_variants} query variants; parameters {common})"
            return "query-explosion", f"{host}{listing_path}", pattern
        variants.add(view)
        seen_names.update(names)
        return None
