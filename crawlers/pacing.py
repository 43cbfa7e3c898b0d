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

A waiting request claims its turn when it wakes, not when it arrives: turns booked ahead by up to
CONCURRENT_REQUESTS waiting requests made a pause last as long as all of them, then released them
at once. The robots.txt fetches themselves never wait (the rules decide everything else). A crawl
that stops (Ctrl-C, a budget) drops the pages still waiting for their turn, and the pages held in
any download slot (but those a spent ``--max-pages`` counted), instead of waiting them out (a
``Crawl-delay: 30`` made shutdown take six minutes, a slow store's queue behind Scrapy's own delay
almost two) or sending them to a host that asked for a pause; the requests in flight finish, and so
do the images queued in a slot for the products found. After a budget stop the images of the
products found still come, each in its host's turn (dropped, every product of a crawl under
``Crawl-delay`` was written imageless); Ctrl-C drops those waiting too. Its ``--resume`` job then
starts over from the start pages, keeping the products found (``HostPacer.dropped``, read by the
runner) and fetching the images it dropped (their products are written again).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import deferLater
from vtonkit.crawlers.limits import is_page_request
from vtonkit.crawlers.report import report_for
from vtonkit.crawlers.robots import StrictRobotsTxtMiddleware, is_robots_request

logger = logging.getLogger(__name__)

STEP = 1.0  # seconds: how often a waiting request or a held slot looks whether the crawl is stopping
FIRST_IN_LINE = 0.01  # seconds a due waiter looks again while an earlier one takes its turn
LONG_PAUSE = 30.0  # seconds: a pause a host asks for that is named in the crawl's notes


def pacer_for(crawler: Any) -> HostPacer | None:
    """The crawl's pacer, when its middleware is enabled."""
    return getattr(crawler, "vtonkit_pacer", None)


class CrawlStopping(IgnoreRequest):
    """A request dropped because the crawl stopped while it waited for its host's turn."""


# Sent once (with `reason`: the budget that stopped it, or "interrupted") when the crawl starts to stop.
CRAWL_STOPPING = object()


class HostPacer:
    """Downloader middleware (after the robots middleware): each request to a host starts no
    earlier than the host allows."""

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self.max_crawl_delay = crawler.settings.getfloat("VTONKIT_MAX_CRAWL_DELAY", 30.0)
        self.next_turn: dict[str, float] = {}  # netloc -> monotonic time its next request may start
        self.paused_until: dict[str, float] = {}  # netloc -> monotonic end of the pause it asked for
        self.crawl_delays: dict[str, float] = {}  # netloc -> seconds (0: none asked)
        self.dropped = 0  # requests not fetched because the crawl stopped while they waited
        # netloc -> tickets of the requests waiting: (-priority, arrival), the least goes first
        self.waiting: dict[str, list[tuple[int, int]]] = {}
        self._arrivals = itertools.count()
        crawler.vtonkit_pacer = self

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostPacer:
        pacer = cls(crawler)
        crawler.signals.connect(pacer._start_watch, signal=signals.engine_started)
        crawler.signals.connect(pacer._stop_watch, signal=signals.spider_closed)
        return pacer

    # -- a stopping crawl sends no new page ----------------------------------------------------
    def _start_watch(self) -> None:
        from twisted.internet.task import LoopingCall

        self._announced = False
        self._watch = LoopingCall(self._drop_queued_if_stopping)
        self._watch.start(STEP, now=False)

    def _stop_watch(self) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None and watch.running:
            watch.stop()

    def _drop_queued_if_stopping(self) -> None:
        """Once the crawl stops (Ctrl-C, --max-time, the stall stop), drop the pages the download
        slots still hold: Scrapy sends every queued request before it closes, each after the slot's
        delay, and a slow store took minutes to let a stopped crawl go. The requests in flight
        finish, and so do the images of the products found (without them a product is written
        imageless). A spent page budget keeps them: the page budget counted each page a slot holds
        (:class:`~vtonkit.crawlers.limits.PageBudgetGate`), at most the pages it allows."""
        if not self.stopping():
            return
        if not self._announced:
            self._announced = True
            self.crawler.signals.send_catch_log(signal=CRAWL_STOPPING, reason=self.stop_reason())
        if self.stop_reason() == "max-pages":  # the slots hold the pages the budget counted: its last ones
            return
        downloader = self.crawler.engine.downloader if self.crawler.engine is not None else None
        for netloc, slot in list(downloader.slots.items()) if downloader is not None else ():
            kept = deque()
            while slot.queue:
                request, waiting = slot.queue.popleft()
                if not is_page_request(request):
                    kept.append((request, waiting))
                    continue
                self.dropped += 1
                waiting.errback(CrawlStopping(f"not fetched: the crawl stopped while it waited in {netloc}'s queue"))
            slot.queue.extend(kept)  # the slot's own delay still paces them

    def stopping(self) -> bool:
        """The crawl is stopping before its end: Ctrl-C (`crawling` cleared) or a spent budget
        (--max-time, --max-pages, the stall stop). A --limit reached is an end: the images of the
        products found still come, each in its turn."""
        budget = getattr(self.crawler, "vtonkit_budget", None)
        return not self.crawler.crawling or (budget is not None and budget.budget.stopped_by is not None)

    def drops(self, request: Request) -> bool:
        """A stopping crawl does not send `request`: no page once it stops, and no image on Ctrl-C
        or past `--max-time` (a time limit waited out image by image under `Crawl-delay` would not be
        one; `--resume` fetches them). After a page budget or a stall the images of the products
        found still come, each in its host's turn (dropped, their products were written imageless:
        under `Crawl-delay` all of them)."""
        return self.stopping() and (is_page_request(request) or self.stop_reason() in ("interrupted", "max-time"))

    def stop_reason(self) -> str:
        """Why a stopping crawl stops: Ctrl-C ("interrupted"), else the budget that was spent."""
        budget = getattr(self.crawler, "vtonkit_budget", None)
        stopped_by = budget.budget.stopped_by if budget is not None else None
        return stopped_by if stopped_by and self.crawler.crawling else "interrupted"

    def pause(self, request: Request, seconds: float) -> None:
        """No request to the host of `request` starts in the next `seconds`: neither those still to
        come through this middleware nor those already queued in the host's download slot."""
        netloc = urlparse_cached(request).netloc
        now = time.monotonic()
        already = self.paused_until.get(netloc, 0.0) > now  # noted once per pause, not per refused page
        self.paused_until[netloc] = max(self.paused_until.get(netloc, 0.0), now + seconds)
        if seconds >= LONG_PAUSE and not already:
            report_for(self.crawler).note(f"{netloc} asked to wait {seconds:.0f} s (Retry-After or backoff): "
                                          "no request goes to it until then")
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            self._hold(downloader, slot, netloc)

    def _hold(self, downloader: Any, slot: Any, netloc: str) -> None:
        """Hold the slot's queue until the host's pause ends, looking again every second: Scrapy's
        slot holds its queue while `latercall` is pending (its own download delay). A stopping crawl
        drops what the slot holds (released, it went to the paused host at once)."""
        if slot.latercall is not None:
            slot.latercall.cancel()
            slot.latercall = None
        if self.stopping():
            kept = deque()
            while slot.queue:
                request, waiting = slot.queue.popleft()
                if not self.drops(request):
                    kept.append((request, waiting))
                    continue
                self.dropped += 1
                waiting.errback(CrawlStopping(f"not fetched: the crawl stopped while {netloc} was paused"))
            slot.queue.extend(kept)  # a budget's images: held until the pause ends, then sent
            if not slot.queue:
                return
        left = self.paused_until.get(netloc, 0.0) - time.monotonic()
        if left > 0:
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
        # robots.txt itself was just fetched from the host: the first page waits its turn after it
        # (else a first page held back by Scrapy's own slot delay left the second one too close)
        self.next_turn[netloc] = max(self.next_turn.get(netloc, 0.0), time.monotonic() + delay)
        capped = f", capped at {self.max_crawl_delay:g} s (VTONKIT_MAX_CRAWL_DELAY)" if delay < asked else ""
        report_for(self.crawler).note(f"robots.txt of {netloc} asks for Crawl-delay: {asked:g} s{capped}: "
                                      f"one request every {delay:g} s")
        return delay

    async def process_request(self, request: Request) -> None:
        # the crawl's reactor, imported only now: at module level (the spiders import this module
        # for CrawlStopping) it would install the default one before Scrapy installs asyncio's
        from twisted.internet import reactor

        if is_robots_request(request):
            return
        netloc = urlparse_cached(request).netloc
        delay = self.crawl_delay(netloc)
        waiting = self.waiting.setdefault(netloc, [])
        # the host's waiters take their turns by priority, then in arrival order: the scheduler hands
        # the downloader up to CONCURRENT_REQUESTS requests at once, and in arrival order a product
        # link found next waited behind every filtered view already waiting (31 turns of Crawl-delay)
        ticket = (-request.priority, next(self._arrivals))
        waiting.append(ticket)
        try:
            while True:  # the turn is claimed when the request wakes: the reactor runs one waiter at a time
                now = time.monotonic()
                turn = max(self.next_turn.get(netloc, 0.0), self.paused_until.get(netloc, 0.0))
                if turn <= now and min(waiting) == ticket:  # it goes, also while the crawl closes (a limit's last images)
                    if delay:
                        self.next_turn[netloc] = now + delay
                    return
                if self.drops(request):  # shutdown waited out every queued request's turn
                    self.dropped += 1
                    raise CrawlStopping("not fetched: the crawl stopped while the request waited for its host's turn")
                wait = turn - now if turn > now else FIRST_IN_LINE  # due, but an earlier waiter goes first
                await maybe_deferred_to_future(deferLater(reactor, min(wait, STEP), lambda: None))
        finally:
            waiting.remove(ticket)
