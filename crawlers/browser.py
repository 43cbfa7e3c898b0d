"""Find the system Chromium for JavaScript-rendered stores (scrapy-playwright), and wait on its pages.

``playwright install`` needs the internet, so vtonkit drives the distribution's Chromium
(Debian/Ubuntu: ``apt-get install chromium``). Lookup order: ``$VTONKIT_CHROMIUM``, then
``/usr/bin/chromium``, ``/usr/bin/chromium-browser``, then ``chromium`` on ``PATH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ENV_VAR = "VTONKIT_CHROMIUM"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
LAUNCH_ARGS = (
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = (
    "JavaScript-rendered pages need Chromium: install it (Debian/Ubuntu: `sudo apt-get install -y chromium`) "
    f"or point ${ENV_VAR} at a Chromium/Chrome executable."
)


DEFAULT_RENDER_TIMEOUT = 60.0  # seconds per rendered page, all steps (VTONKIT_RENDER_TIMEOUT, --render-timeout)
HANDLER = "vtonkit.crawlers.browser.BoundedPlaywrightHandler"


class ChromiumNotFound(RuntimeError):
    """No usable Chromium; the message says how to get one."""


def find_chromium() -> Path:
    """Path of the Chromium executable to drive. Raises :class:`ChromiumNotFound` with a hint."""
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ChromiumNotFound(f"${ENV_VAR}={override} is not an executable file. {INSTALL_HINT}")
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return Path(found)
    raise ChromiumNotFound(
        f"no Chromium found (looked at ${ENV_VAR}, {', '.join(CANDIDATES)}, PATH). {INSTALL_HINT}"
    )


def chromium_available() -> bool:
    try:
        find_chromium()
        return True
    except ChromiumNotFound:
        return False


def playwright_settings(executable: Path) -> dict[str, Any]:
    """Scrapy settings that route ``meta={"playwright": True}`` requests through Chromium.

    Store spiders apply these unless rendering is off (``StoreSpider.update_settings``); other
    requests still go through Scrapy's plain HTTP handler, and Chromium is only launched for the
    first rendered page (see :mod:`vtonkit.crawlers.render`).
    """
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(executable),
            "headless": True,
            "args": list(LAUNCH_ARGS),
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 30_000,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
    }


class RenderTimeout(Exception):
    """A rendered page that was still busy (a script that never yields, requests that never end)
    when its render time was up; its page is closed and the crawl goes on."""


class RenderTooLarge(Exception):
    """A rendered page whose HTML outgrew ``DOWNLOAD_MAXSIZE`` (a script that writes without end):
    the cap a plain download of the page has."""


class RenderLeftPage(Exception):
    """A rendered page whose script navigated away: to an address the browser may not reach (it then
    shows Chromium's error page, which was reported under the address chrome-error://chromewebdata/),
    or to another host (whose page was read as this store's product)."""


def _is_main_frame_navigation(request: Any, page: Any) -> bool:
    try:
        return request.is_navigation_request() and request.frame == page.main_frame
    except Exception:  # noqa: BLE001 - a service worker's request has no frame
        return False


async def _refuse_unrouted(route: Any) -> None:
    logger.warning("browser request of a popup refused: %s", route.request.url)
    with contextlib.suppress(Exception):
        await route.abort()


async def _refuse_web_socket(socket: Any) -> None:
    """Page routes do not see WebSockets: without this a page's script reached any address with
    one. No product page needs one to show its product (chat and live widgets do), so none is
    connected: the page sees the socket close."""
    logger.info("browser WebSocket refused: %s", socket.url)
    with contextlib.suppress(Exception):
        await socket.close()


def _close_popup(popup: Any) -> None:
    async def close() -> None:
        with contextlib.suppress(Exception):
            await popup.close()

    asyncio.ensure_future(close())


def bounded_handler_class() -> type:
    """scrapy-playwright's download handler with a deadline per rendered page (imported late: the
    handler module needs the asyncio reactor)."""
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    from vtonkit.crawlers.middlewares import leaves_store
    from vtonkit.crawlers.report import report_for

    class BoundedPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
        """Every rendered page ends within ``VTONKIT_RENDER_TIMEOUT`` seconds.

        Playwright bounds navigation and waits, but not ``page.evaluate`` nor ``page.content``: a page
        whose script loops forever once loaded held its request, and with it the crawl (even a
        SIGTERM), for ever. Past the deadline the page is closed (its renderer stopped, its slot in
        the browser context freed) and the request fails with :class:`RenderTimeout`, which the
        spider reports with the page's URL.
        """

        def __init__(self, crawler: Any) -> None:
            super().__init__(crawler)
            self.crawler = crawler
            self.render_timeout = crawler.settings.getfloat("VTONKIT_RENDER_TIMEOUT", DEFAULT_RENDER_TIMEOUT)
            self._pages: dict[int, Any] = {}  # id(request) -> its page, while it renders
            self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")

        async def _create_page(self, request: Any, spider: Any) -> Any:
            page = await super()._create_page(request, spider)
            self._pages[id(request)] = page
            # the request gate (PLAYWRIGHT_ABORT_REQUEST) is routed per page: a popup the page opens
            # (window.open) is a page of its own that no gate saw, so its requests went anywhere.
            # What no page's route handles is refused at the context, and popups are closed.
            if not getattr(page.context, "_vtonkit_fenced", False):
                page.context._vtonkit_fenced = True
                await page.context.route("**", _refuse_unrouted)
                await page.context.route_web_socket("**", _refuse_web_socket)  # pages made later: popups
            await page.route_web_socket("**", _refuse_web_socket)  # a context's socket route misses this page
            page.on("popup", _close_popup)
            trail = page._vtonkit_navigations = []  # where the page's main frame was sent
            page.on("request", lambda sent: trail.append(sent.url) if _is_main_frame_navigation(sent, page) else None)
            return page

        async def _download_request(self, request: Any, spider: Any = None) -> Any:
            task = asyncio.ensure_future(super()._download_request(request, spider))
            try:
                done, _ = await asyncio.wait({task}, timeout=self.render_timeout)
                if task in done:
                    return self._within_size(request, self._on_its_page(request, task.result()))
                task.cancel()
                page = self._pages.get(id(request))
                if page is not None and not page.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(page.close(), timeout=10)
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=10)
                logger.warning("gave up rendering %s after %g s", request.url, self.render_timeout)
                raise RenderTimeout(f"gave up rendering after {self.render_timeout:g} s (--render-timeout): "
                                    "the page's scripts or requests never finished")
            finally:
                if not task.done():
                    task.cancel()
                self._pages.pop(id(request), None)

        def _on_its_page(self, request: Any, response: Any) -> Any:
            """`response`, unless the page's script took the browser elsewhere (`RenderLeftPage`)."""
            if response.url.startswith("chrome-error:"):
                page = self._pages.get(id(request))
                sent = [url for url in getattr(page, "_vtonkit_navigations", []) if url != request.url]
                target = sent[-1] if sent else "an address it could not load"
                raise RenderLeftPage(f"the page's script navigated to {target}, which the crawl does not reach "
                                     "(see browser_blocked); the product it drew went with it")
            if leaves_store(self.crawler, request, response.url):
                report_for(self.crawler).skipped["off-host-redirect"] += 1
                raise RenderLeftPage(f"the page's script navigated off the store's host: {request.url} -> "
                                     f"{response.url}")
            return response

        def _within_size(self, request: Any, response: Any) -> Any:
            limit = request.meta.get("download_maxsize", self.max_size)
            if limit and len(response.body) > limit:
                logger.warning("rendered %s is %d bytes > %d (DOWNLOAD_MAXSIZE)", request.url, len(response.body), limit)
                raise RenderTooLarge(f"the rendered page is {len(response.body)} bytes, more than {limit} "
                                     "(DOWNLOAD_MAXSIZE, the cap of a plain download)")
            return response

    return BoundedPlaywrightHandler


def __getattr__(name: str) -> Any:
    """``BoundedPlaywrightHandler`` on first use (the name Scrapy's ``DOWNLOAD_HANDLERS`` loads)."""
    if name == "BoundedPlaywrightHandler":
        cls = bounded_handler_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def wait_until_true(page: Any, expression: str, timeout_s: float = 30.0, interval_s: float = 0.05) -> None:
    """Poll a JavaScript expression from Python until it is truthy (a sync Playwright ``page``).

    ``page.wait_for_function`` polls inside the page with ``eval``, which a ``script-src 'self'``
    Content Security Policy (the review app's) refuses once the first check comes back false;
    each ``page.evaluate`` is a separate DevTools call, which that policy allows.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s:g} s: {expression}")
        time.sleep(interval_s)
