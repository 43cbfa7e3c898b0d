"""robots.txt read as RFC 9309 says, not "anything goes" whenever it cannot be read.

Scrapy's RobotsTxtMiddleware parses whatever body answers ``/robots.txt`` (an HTTP 503 page, a
429 "slow down" page) as the rules, and allows every page of a host whose robots.txt download
failed (a timeout, a reset connection, a redirect another middleware refused). A store that is
struggling at the moment the crawl starts, which is when a crawl resumed at full speed hits it,
was then crawled without its rules. RFC 9309, section 2.3.1:

* 2xx: the file is the rules;
* 4xx ("unavailable"): there are no rules, every page may be fetched; except 429, which says the
  server is overloaded;
* 5xx, 429, a network error ("unreachable"): every page of the host is disallowed.

A host whose robots.txt is unreachable is named once in the crawl's notes (``summary.json``), so an
empty crawl says why. Any other host (a subdomain the store links, a host or port its images are
served from) loses only its own pages and images; the crawl goes on. When it is the store's own host and port
(``--url``'s, or where its start page redirected to) the crawl stops (finish reason
``robots-unreachable``, exit code 1) rather than refuse, and remember as seen, every page it has
queued; a ``--resume`` job is left marked unfinished, so the next run starts over from the store's
start pages and keeps the products found. The file's own request follows redirects to another host (``shop.example``
-> ``www.shop.example``, RFC 9309 asks for five hops at least): the page requests are what the
offsite rules guard (:class:`RobotsFileOffsitePass`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from vtonkit.crawlers.report import failure_reason, report_for

logger = logging.getLogger(__name__)

DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"
ROBOTS_UNREACHABLE = "robots-unreachable"  # finish reason of a crawl whose store's robots.txt could not be read


def is_robots_request(request: Request) -> bool:
    """The robots.txt fetch itself, redirected or not (Scrapy's middleware marks it so that it is not
    checked against itself)."""
    first = request.meta.get("redirect_urls", [request.url])[0]
    return bool(request.meta.get("dont_obey_robotstxt")) and first.split("?", 1)[0].endswith("/robots.txt")


def robots_unreachable(status: int) -> bool:
    """An answer to ``/robots.txt`` that means "unreachable" (disallow everything), not "no rules"."""
    return status == 429 or status >= 500


def robots_middleware(crawler: Any) -> RobotsTxtMiddleware | None:
    """The crawl's robots.txt middleware (one cache of every host's rules), None when ROBOTSTXT_OBEY is off."""
    middlewares = crawler.engine.downloader.middleware.middlewares
    return next((m for m in middlewares if isinstance(m, RobotsTxtMiddleware)), None)


def announced_sitemaps(parser: Any, robots_url: str) -> list[str] | None:
    """The Sitemap lines of the rules the middleware parsed (absolute URLs), or None when its parser
    does not keep them (a parser other than Protego)."""
    announced = getattr(getattr(parser, "rp", None), "sitemaps", None)
    return None if announced is None else [urljoin(robots_url, url) for url in announced]


class RobotsFileOffsitePass:
    """Downloader middleware before Scrapy's offsite filter (50): a robots.txt fetch, and its
    redirects (copies of its meta), may go to any host. A host's robots.txt is asked for only
    because a page of that host passed the offsite filter; refused, it was "unreachable"."""

    def process_request(self, request: Request) -> None:
        if is_robots_request(request):
            request.meta["allow_offsite"] = True


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware that disallows a host whose robots.txt is unreachable (RFC 9309)."""

    async def robot_parser(self, request: Request) -> Any:
        """The host's parser, for every request that waited on its robots.txt.

        Scrapy 2.19 has each waiting request await the one Deferred of the host's pending fetch, and
        turning a Deferred into a Future consumes its result: the first waiter got the rules, every
        other one None, which allows everything (13 disallowed pages of a resumed crawl, whose
        restored requests all wait at once; the 3rd and 4th images of a product). Once the fetch has
        settled, the parser stored for the host is the answer.
        """
        parser = await super().robot_parser(request)
        settled = self._parsers.get(urlparse_cached(request).netloc)
        return parser if settled is None or isinstance(settled, Deferred) else settled

    def parsed(self, netloc: str) -> Any:
        """The rules of `netloc` once its robots.txt has settled, else None."""
        parser = self._parsers.get(netloc)
        return None if parser is None or isinstance(parser, Deferred) else parser

    def crawl_delay(self, parser: Any) -> float | None:
        """The ``Crawl-delay`` the rules ask of this crawler (Protego parses it; Scrapy does not use it)."""
        asked = getattr(getattr(parser, "rp", None), "crawl_delay", None)
        return asked(self._robotstxt_useragent or self._default_useragent) if asked is not None else None

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if 200 <= response.status < 300:
            return await super()._parse_robots(response, netloc, request)
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if robots_unreachable(response.status):
            self._unreachable(netloc, f"HTTP {response.status}")
            return
        self._settle(netloc, b"")  # 4xx: no rules

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._unreachable(netloc, failure_reason(exc))

    def _unreachable(self, netloc: str, why: str) -> None:
        # the store's own server only: another server's (a subdomain, an image host) costs its own pages
        is_store_address = getattr(self.crawler.spider, "is_store_address", None)
        store = is_store_address is not None and is_store_address(f"http://{netloc}/")
        report_for(self.crawler).note(
            f"robots.txt of {netloc} could not be read ({why}): none of that host's pages or images are "
            "fetched (RFC 9309: an unreachable robots.txt disallows everything); "
            + ("the crawl stops: run the same command again later (with --resume it starts over, keeping "
               "the products found)" if store else "crawl again later, without --resume: a resumed crawl does not "
               "revisit the products it has written, so it would not ask for their images again")
        )
        self._settle(netloc, DISALLOW_ALL)
        if store:  # every request of the store would be refused and remembered as seen: a resumed job
            # would then be spent; the runner keeps the job marked unfinished instead
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=ROBOTS_UNREACHABLE))

    def _settle(self, netloc: str, body: bytes) -> None:
        parser: Any = build_from_crawler(self._parserimpl, self.crawler, body)
        pending = self._parsers[netloc]
        self._parsers[netloc] = parser
        if hasattr(pending, "callback"):  # the Deferred every request of that host waits on
            pending.callback(parser)
