"""The crawl report: what was found, kept and skipped, written to ``<out>/summary.json``.

One :class:`CrawlReport` per crawler (an extension); spiders and pipelines record into it with
:func:`report_for`. Bad pages and images are logged with their URL and counted here, so a crawl
never dies of one bad page and the user still sees what went wrong.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"


class CrawlReport:
    """Counters and error lists of one crawl."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.started = time.time()
        self.products: Counter[str] = Counter()  # per category
        self.images: Counter[str] = Counter()  # kept images per category
        self.image_status: Counter[str] = (
            Counter()
        )  # kept / duplicate / near-duplicate / rejected:<reason> / failed
        self.page_errors: list[dict[str, str]] = []
        self.image_errors: list[dict[str, str]] = []
        self.skipped: Counter[str] = Counter()  # e.g. "category-filter", "js-no-browser"
        self.notes: list[str] = []
        # rendering (vtonkit.crawlers.render): pages rendered per reason, their download seconds,
        # pages that should have held a product and still do not, browser requests robots.txt refused
        self.rendered: Counter[str] = Counter()
        self.render_seconds = 0.0
        self.grow_rounds = 0  # scroll / "load more" rounds that made a rendered listing grow
        self.missing_products: list[dict[str, str]] = []
        self.browser_blocked: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlReport:
        report = cls(crawler)
        crawler.vtonkit_report = report  # type: ignore[attr-defined]
        crawler.signals.connect(report.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(report.spider_closed, signal=signals.spider_closed)
        return report

    def spider_opened(self, spider: Any) -> None:
        self.started = time.time()  # crawl time excludes start-up (imports, settings)
        resumed = self.crawler.settings.get("VTONKIT_RESUME_NOTE")  # a killed run's job recovered (runner)
        if resumed:
            self.note(resumed)

    def page_error(self, url: str, reason: str) -> None:
        logger.warning("skipped page %s: %s", url, reason)
        self.page_errors.append({"url": url, "reason": reason})
        self.crawler.stats.inc_value("vtonkit/page_errors")

    def image_error(self, url: str, reason: str, page_url: str = "") -> None:
        logger.warning("skipped image %s (on %s): %s", url, page_url or "?", reason)
        self.image_errors.append({"url": url, "page_url": page_url, "reason": reason})

    def missing_product(self, url: str, reason: str) -> None:
        """A page that should have held a product (sitemap, listing, app shell) and does not."""
        logger.warning("no product at %s: %s", url, reason)
        self.missing_products.append({"url": url, "reason": reason})

    def note(self, message: str) -> None:
        logger.warning(message)
        self.notes.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": getattr(self.crawler.spider, "name", None),
            "seconds": round(time.time() - self.started, 2),
            "responses": self.crawler.stats.get_value("response_received_count", 0),
            "products": dict(self.products),
            "products_total": sum(self.products.values()),
            "images_kept": dict(self.images),
            "images_kept_total": sum(self.images.values()),
            "image_status": dict(self.image_status),
            "page_errors": self.page_errors,
            "image_errors": self.image_errors,
            "skipped": dict(self.skipped),
            "notes": self.notes,
            "rendered": dict(self.rendered),
            "rendered_total": sum(self.rendered.values()),
            "render_seconds": round(self.render_seconds, 2),
            "grow_rounds": self.grow_rounds,
            "browser_launches": self.crawler.stats.get_value("playwright/browser_count", 0),
            "missing_products": self.missing_products,
            "browser_blocked": self.browser_blocked,
            "budget": self.budget(),
            "traps": [trap.as_dict() for trap in getattr(self.crawler, "vtonkit_traps", {}).values()],
            "finish_reason": self.crawler.stats.get_value("finish_reason"),
            "catalog_totals": self.catalog_totals(),
        }

    def catalog_totals(self) -> dict[str, int] | None:
        """A resumable crawl's folder, earlier runs included (the counts above are this run's)."""
        settings = self.crawler.settings
        if not (settings.get("JOBDIR") and settings.get("VTONKIT_OUT")):
            return None
        from vtonkit.crawlers.catalog import catalog_totals

        return catalog_totals(settings.get("VTONKIT_OUT"))

    def budget(self) -> dict[str, Any] | None:
        """The crawl's budgets and what was spent (None when the budget extension is off)."""
        extension = getattr(self.crawler, "vtonkit_budget", None)
        return extension.budget.as_dict() if extension is not None else None

    def spider_closed(self, spider: Any, reason: str) -> None:
        out = self.crawler.settings.get("VTONKIT_OUT")
        if not out:
            return
        from vtonkit.datasets.io.files import atomic_write_json

        summary = self.as_dict()
        summary["finish_reason"] = reason
        atomic_write_json(Path(out) / SUMMARY_NAME, summary, indent=2)


def failure_reason(error: BaseException, *, max_bytes: int | None = None) -> str:
    """A reason for a failed download that is never empty.

    Twisted wraps connection problems in lists of failures (their messages are joined, also when
    Scrapy wraps that list in a ``DownloadFailedError``), and
    Scrapy cancels a body that grows past the size limit with an exception that has no message
    (``max_bytes`` is that limit, stated in the reason).
    """
    from scrapy.exceptions import DownloadCancelledError
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet.defer import CancelledError

    name = type(error).__name__
    if isinstance(error, HttpError) and getattr(error, "response", None) is not None:
        return f"HTTP {error.response.status}"
    # twisted.web ResponseFailed / ResponseNeverReceived, also as the cause of Scrapy's DownloadFailedError
    reasons = getattr(error, "reasons", None) or getattr(error.__cause__, "reasons", None)
    if reasons:
        inner = "; ".join(getattr(r, "getErrorMessage", lambda r=r: str(r))() for r in reasons)
        return f"{name}: {inner}"
    message = str(error).strip()
    if message:
        return f"{name}: {message}"
    if isinstance(error, (DownloadCancelledError, CancelledError)):
        limit = f" ({max_bytes} bytes)" if max_bytes else ""
        return f"{name}: download cancelled: the body grew past the download size limit{limit}"
    doc = (type(error).__doc__ or "").strip().splitlines()
    return f"{name}: {doc[0] if doc else 'failed without a message'}"


def report_for(crawler: Crawler) -> CrawlReport:
    """The crawler's report (created on first use when the extension is not enabled)."""
    report = getattr(crawler, "vtonkit_report", None)
    if report is None:
        report = CrawlReport.from_crawler(crawler)
    return report
