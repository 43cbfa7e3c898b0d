"""Downloader middlewares: the store's offsite filter, retries with exponential backoff, redirects
that would vanish (loops, off-host), and the encoding of pages that declare none.

Scrapy's own RetryMiddleware re-schedules a failed request at once; against a struggling shop
that is the opposite of polite. This subclass waits ``VTONKIT_RETRY_BACKOFF_BASE * 2**(n-1)``
seconds (capped by ``VTONKIT_RETRY_BACKOFF_MAX``) before the n-th retry, or what the server's
``Retry-After`` asks (seconds or an HTTP date, capped by ``VTONKIT_RETRY_AFTER_MAX``). The wait
pauses the whole host (:class:`~vtonkit.crawlers.pacing.HostPacer`): the host's other pages wait
too, instead of drawing the same 503 every half second.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlparse

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import get_meta_refresh
from twisted.internet import reactor
from twisted.internet.task import deferLater
from vtonkit.crawlers.report import report_for
from vtonkit.crawlers.urls import is_internal_host, is_link_local, origin, reaches_inward

logger = logging.getLogger(__name__)


class PageEncodingMiddleware:
    """An HTML page that declares no encoding (no byte-order mark, no charset in its Content-Type
    header or its meta tags) is decoded as ``vtonkit extract-product`` decodes a saved page
    (:func:`~vtonkit.crawlers.evidence.page_text`: UTF-8, else the legacy encodings of its
    ``<html lang>``), not by Scrapy's guess: an undeclared GBK page with ``lang="zh-CN"`` was read
    as ISO-8859-5 in a crawl, its Chinese title Cyrillic and its category lost. A declared
    encoding wins, as in a browser (Scrapy's own order)."""

    def process_response(self, request: Request, response: Response) -> Response:
        from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

        from vtonkit.crawlers.evidence import sniff_encoding  # page_text's own guess: one implementation

        if not isinstance(response, HtmlResponse) or not response.body:
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if read_bom(response.body)[0] or http_content_type_encoding(content_type) \
                or html_body_declared_encoding(response.body):
            return response
        return response.replace(encoding=sniff_encoding(response.body))


class StoreOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter, asking the spider's ``on_store_host``: the store's hosts and their
    subdomains, on the store's port. Scrapy's own compares host names only: a footer link to
    another server on the store's host name (``127.0.0.1:9807``, ``shop.example:8443``) was
    crawled as the store, and its unreadable robots.txt stopped the crawl."""

    def should_follow(self, request: Request, spider: Spider) -> bool:
        on_store_host = getattr(spider, "on_store_host", None)
        return on_store_host(request.url) if on_store_host is not None else super().should_follow(request, spider)


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that sleeps before handing back a retry request."""

    def __init__(self, settings, crawler: Any = None):
        super().__init__(settings)
        self.crawler = crawler
        self.backoff_base = settings.getfloat("VTONKIT_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("VTONKIT_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("VTONKIT_RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler: Any) -> BackoffRetryMiddleware:
        return cls(crawler.settings, crawler)

    def _delay(self, retry: Request, response: Response | None) -> float:
        asked = retry_after_seconds(response.headers.get(b"Retry-After")) if response is not None else None
        if asked:  # 0 or a date in the past (a skewed clock) is no wait asked: it turned off the backoff
            return min(asked, self.retry_after_max)
        attempt = max(1, int(retry.meta.get("retry_times", 1)))
        delay = self.backoff_base * 2 ** (attempt - 1)
        return min(delay * random.uniform(0.8, 1.2), self.backoff_max)  # jitter spreads retries

    async def _wait(self, request: Request, seconds: float) -> None:
        """Pause the request's host for `seconds` (the retry waits with it), or, without a pacer, this retry."""
        if seconds <= 0:
            return
        from vtonkit.crawlers.pacing import pacer_for

        pacer = pacer_for(self.crawler)
        if pacer is not None:
            pacer.pause(request, seconds)
        else:
            await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            delay = self._delay(result, response)
            logger.info("retrying %s (HTTP %s) in %.1fs", request.url, response.status, delay)
            await self._wait(request, delay)
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            delay = self._delay(result, None)
            logger.info("retrying %s (%s) in %.1fs", request.url, type(exception).__name__, delay)
            await self._wait(request, delay)
        return result


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header's wait in seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3);
    None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def leaves_store(crawler: Any, request: Request, target: str) -> bool:
    """Sending `request` on to `target` leads where the offsite filter would drop it (requests allowed
    anywhere, a start page or an image, and spiders without a store's hosts are let through)."""
    spider = crawler.spider if crawler is not None else None
    on_store_host = getattr(spider, "on_store_host", None)
    if on_store_host is None or request.dont_filter or request.meta.get("allow_offsite"):
        return False
    return not on_store_host(target)


def redirect_reaches_inward(target: str, first: str, page: str | None) -> bool:
    """A redirect from `first` to `target` goes inward where it may not. An image (of the product
    page `page`) answers to the rule of image URLs (`reaches_inward`: a local shop's own address
    only); a CDN image sent to 169.254.169.254 or another port of the machine was followed. A page
    is kept to the store's hosts by the offsite filter (a local store may move to another local
    host, as its start page may): a public one goes inward nowhere, and none goes to a link-local
    address it did not start on."""
    if page:
        return reaches_inward(target, page)
    if not is_internal_host(target):
        return False
    return not is_internal_host(first) or (is_link_local(target) and origin(target) != origin(first))


class RedirectLoopMiddleware:
    """Refuse the redirects Scrapy would drop silently: back to a URL already visited in the same
    chain (its duplicate filter), or off the store's hosts (its offsite filter drops the redirected
    request when it is scheduled, with no errback). HTTP redirects and the `<meta http-equiv=refresh>`
    ones Scrapy's MetaRefreshMiddleware follows alike (a page refreshing to itself vanished).

    A public shop's page or image redirected to this machine or a private network is refused too
    (images may live on any host, so the offsite filter does not guard them).

    Raising ``IgnoreRequest`` here reaches the spider's errback, which reports the page with its URL.
    """

    def __init__(self, crawler: Any = None):
        self.crawler = crawler
        settings = crawler.settings if crawler is not None else None
        self.follows_refresh = settings is None or settings.getbool("METAREFRESH_ENABLED", True)
        self.refresh_ignore_tags = settings.getlist("METAREFRESH_IGNORE_TAGS") if settings is not None else []
        self.refresh_max_delay = settings.getint("METAREFRESH_MAXDELAY", 100) if settings is not None else 100

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectLoopMiddleware:
        return cls(crawler)

    def _target(self, request: Request, response: Response) -> tuple[str, str] | None:
        """(where the response sends the request, "redirect" or "meta refresh"), if Scrapy will follow it."""
        if request.meta.get("dont_redirect"):
            return None
        if response.status in (301, 302, 303, 307, 308) and b"Location" in response.headers:
            return urljoin(request.url, response.headers[b"Location"].decode("latin-1")), "redirect"
        if self.follows_refresh and request.method != "HEAD" and isinstance(response, HtmlResponse):
            interval, url = get_meta_refresh(response, ignore_tags=self.refresh_ignore_tags)
            if url and urlparse(url).scheme in ("http", "https") and interval < self.refresh_max_delay:
                return url, "meta refresh"
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        found = self._target(request, response)
        if found is None:
            return response
        target, how = found
        chain = set(request.meta.get("redirect_urls", [])) | {request.url}
        if target in chain:
            raise IgnoreRequest(f"{how} loop: {request.url} -> {target}")
        first = request.meta.get("redirect_urls", [request.url])[0]
        if redirect_reaches_inward(target, first, request.meta.get("vtonkit_page")):
            report_for(self.crawler).skipped["internal-redirect"] += 1
            raise IgnoreRequest(f"{how} to an address on this machine or a private network: {request.url} -> {target}")
        if leaves_store(self.crawler, request, target):
            report_for(self.crawler).skipped["off-host-redirect"] += 1
            raise IgnoreRequest(f"{'redirected' if how == 'redirect' else how} off the store's host: "
                                f"{request.url} -> {target}")
        return response
