"""When a host may next be asked: its robots.txt ``Crawl-delay``, and pauses it asked for.

Scrapy's delays are per request and know neither signal: a ``Crawl-delay: 2`` was ignored (pages
0.4-0.7 s apart), and a 503 with ``Retry-After: 10`` delayed only the retry of that one page while
the rest of the host's pages went on every 0.6 s, each answered 503 too. :class:`HostPacer` keeps,
per host, the earliest time its next request may start, and every request to the host waits for
it:

* ``Crawl-delay`` from the host's robots.txt (read by the crawl's robots middleware), capped at
  ``VTONKIT_MAX_CRAWL_DELAY`` seconds (a robots.txt asking for an hour would stall the crawl;
  the cap is noted), spaces request starts;
* a retry (:class:`~vtonkit.crawlers.middlewares.BackoffRetryMiddleware`) pauses the whole host,
  for its ``Retry-After`` (seconds or an HTTP date, capped at ``VTONKIT_RETRY_AFTER_MAX``) or
  its exponential backoff.

The robots.txt fetches themselves never wait (the rules decide everything else). A crawl that
stops (Ctrl-C) drops the requests still waiting for their turn instead of waiting them out (a
``Crawl-delay: 30`` made shutdown take six minutes); its ``--resume`` job then starts over from the
start pages, keeping the products found (:data:`dropped`, read by the runner).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import reactor
from twisted.internet.task import deferLater
from vtonkit.crawlers.report import report_for
from vtonkit.crawlers.robots import StrictRobotsTxtMiddleware, is_robots_request

logger = logging.getLogger(__name__)

STEP = 1.0  # seconds: how often a waiting request or a held slot looks whether the crawl is stopping


def pacer_for(crawler: Any) -> HostPacer | None:
    """The crawl's pacer, when its middleware is enabled."""
    return getattr(crawler, "vtonkit_pacer", None)


class HostPacer:
    """Downloader middleware (after the robots middleware): each request to a host starts no
    earlier than the host allows."""

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.max_crawl_delay = crawler.settings.getfloat("VTONKIT_MAX_CRAWL_DELAY", 30.0)
        self.next_start: dict[str, float] = {}  # netloc -> monotonic time
        self.crawl_delays: dict[str, float] = {}  # netloc -> seconds (0: none asked)
        self.dropped = 0  # requests not fetched because the crawl stopped while they waited
        crawler.vtonkit_pacer = self

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostPacer:
        return cls(crawler)

    def pause(self, request: Request, seconds: float) -> None:
        """No request to the host of `request` starts in the next `seconds`: neither those still to
        come through this middleware nor those already queued in the host's download slot (up to
        CONCURRENT_REQUESTS of them pass the middlewares at once and wait there)."""
        netloc = urlparse_cached(request).netloc
        until = max(self.next_start.get(netloc, 0.0), time.monotonic() + seconds)
        self.next_start[netloc] = until
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            self._hold(downloader, slot, netloc)

    def _hold(self, downloader: Any, slot: Any, netloc: str) -> None:
        """Hold the slot's queue until the host's pause ends, looking again every second: Scrapy's
        slot holds its queue while `latercall` is pending (its own download delay). A stopping crawl
        (Ctrl-C) releases it at once; held to the end, shutdown waited out the whole pause."""
        if slot.latercall is not None:
            slot.latercall.cancel()
        left = self.next_start.get(netloc, 0.0) - time.monotonic()
        if left > 0 and self.crawler.crawling:
            slot.latercall = call_later(min(left, STEP), self._hold, downloader, slot, netloc)
        else:
            downloader._latercall(slot)

    def crawl_delay(self, netloc: str) -> float:
        if netloc not in self.crawl_delays:
            self.crawl_delays[netloc] = self._read_crawl_delay(netloc)
        return self.crawl_delays[netloc]

    def _read_crawl_delay(self, netloc: str) -> float:
        robots = next((m for m in self.crawler.engine.downloader.middleware.middlewares
                       if isinstance(m, StrictRobotsTxtMiddleware)), None)
        parser = robots.parsed(netloc) if robots is not None else None
        asked = robots.crawl_delay(parser) if parser is not None else None
        if not asked:
            return 0.0
        delay = min(float(asked), self.max_crawl_delay)
        capped = f", capped at {self.max_crawl_delay:g} s (VTONKIT_MAX_CRAWL_DELAY)" if delay < asked else ""
        report_for(self.crawler).note(f"robots.txt of {netloc} asks for Crawl-delay: {asked:g} s{capped}: "
                                      f"one request every {delay:g} s")
        return delay

    async def process_request(self, request: Request) -> None:
        if is_robots_request(request):
            return
        netloc = urlparse_cached(request).netloc
        delay = self.crawl_delay(netloc)
        now = time.monotonic()
        start = max(now, self.next_start.get(netloc, 0.0))
        if delay:
            self.next_start[netloc] = start + delay
        while (left := start - time.monotonic()) > 0:
            if not self.crawler.crawling:  # Ctrl-C: shutdown waited out every queued request's turn
                self.dropped += 1
                raise IgnoreRequest("not fetched: the crawl stopped while the request waited for its host's turn")
            await maybe_deferred_to_future(deferLater(reactor, min(left, STEP), lambda: None))
