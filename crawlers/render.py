"""When a page goes through Chromium, and what the browser may fetch.

Plain HTTP is the default for every page. A page is rendered (scrapy-playwright, the system
Chromium) only when it should hold a product but its HTML has none:

* ``product-sitemap``: listed in a product sitemap;
* ``listing-link``: linked from a listing as a product;
* ``app-shell``: the page is an application shell (little visible text, an empty root element,
  scripts), wherever it was found;
* ``script-listing``: a page drawn on the server (menus, footer) whose product grid is an empty
  box that a script fills (:func:`empty_product_grid`), and whose HTML links no product: rendered
  as a listing, never named as a missing product.

A rendered page that may be a listing (an app shell, a configured JavaScript page, any page
under ``--render always`` that is not expected to be a product) is then grown the way a person
would: scrolled to its bottom (the window and every box that scrolls on its own), and a visible
"load more" button, else a "next page" button without a link, clicked when scrolling adds nothing
(captions from the vocabularies' ``load_more`` and ``next_page`` labels), every link it shows on
the way kept, until it stops growing or after
``VTONKIT_RENDER_GROW_ROUNDS`` rounds (:data:`GROW_LISTING_JS`); infinite-scroll grids then give
every product link, not the first batch.

``--render always`` sends every page through the browser; ``--render never`` renders nothing
(such pages are reported as missing products). A per-crawl budget (``VTONKIT_RENDER_BUDGET``,
``--render-budget``) caps the number of rendered pages. Every sub-request the browser makes (XHR,
scripts, the page itself) passes Scrapy's robots.txt rules first (:class:`BrowserRequestGate`);
images, fonts and media are never fetched by the browser (the image pipeline fetches images).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from parsel import Selector
from vtonkit.crawlers.report import report_for
from vtonkit.crawlers.urls import reaches_inward, resolves_inward, url_host

logger = logging.getLogger(__name__)

RENDER_POLICIES = ("auto", "always", "never")
DEFAULT_RENDER_BUDGET = 200
# below this much visible text, with scripts and an empty root element, a page is an app shell
APP_SHELL_MAX_TEXT = 400
_ROOT_IDS = ("root", "app", "__next", "__nuxt", "main-app", "svelte", "q-app")
# resource types the browser never downloads while rendering
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
DEFAULT_GROW_ROUNDS = 40  # scroll / click rounds per rendered listing (VTONKIT_RENDER_GROW_ROUNDS)
GROW_PAUSE_MS = 300  # wait after each round for the page's data request and redraw
GROW_PATIENCE = 3  # rounds in a row without growth that end it (a scroll, then clicks)
MAX_CAPTION = 40  # characters: a longer text is a card or a paragraph, not a button's caption

# Runs in the page (Playwright's page.evaluate) with [rounds, load-more pattern, next-page pattern,
# pause, patience]; returns {grew: rounds that made the page grow, links: every link it showed}.
# Growth is a link not seen before or a taller document, so a pager that replaces its grid (a
# "next page" button without a link) counts as well as one that appends. Only buttons, or links
# that go nowhere (no href, "#", "javascript:"), are clicked: a real link would leave the page (the
# crawl follows it anyway), and a form's submit button would post it.
GROW_LISTING_JS = """
async ([rounds, morePattern, nextPattern, pauseMs, patience, maxCaption]) => {
  const more = new RegExp(morePattern, 'i'), next = new RegExp(nextPattern, 'i');
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  const seen = new Set();
  const collect = () => { for (const a of document.links) seen.add(a.href); };
  const says = (el, caption) => [el.innerText, el.value, el.getAttribute('aria-label')]
    .some((t) => t && t.trim().length > 0 && t.trim().length <= maxCaption && caption.test(t.trim()));
  const clickable = (el, caption) => {
    const href = el.tagName === 'A' ? (el.getAttribute('href') || '') : '';
    if (href && !/^\\s*(#|javascript:)/i.test(href)) return false;
    if (el.tagName === 'BUTTON' && el.form && el.type === 'submit') return false;
    return el.offsetParent !== null && !el.disabled && el.getAttribute('aria-disabled') !== 'true' && says(el, caption);
  };
  const find = (caption) =>
    [...document.querySelectorAll('button, [role=button], a, input[type=button]')].find((el) => clickable(el, caption));
  const scrollAll = () => {  // the window, and every box that scrolls on its own (a grid in a panel)
    window.scrollTo(0, document.documentElement.scrollHeight);
    for (const el of document.querySelectorAll('*')) {
      if (el.scrollHeight > el.clientHeight + 50 && /^(auto|scroll)$/.test(getComputedStyle(el).overflowY)) {
        el.scrollTop = el.scrollHeight;
      }
    }
  };
  collect();
  let links = seen.size, height = document.documentElement.scrollHeight, idle = 0, grew = 0;
  for (let round = 0; round < rounds && idle < patience; round++) {
    scrollAll();
    if (idle > 0) { const button = find(more) || find(next); if (button) button.click(); }
    await pause(pauseMs);
    collect();
    const nowHeight = document.documentElement.scrollHeight;
    if (seen.size > links || nowHeight > height) { grew++; idle = 0; } else { idle++; }
    [links, height] = [seen.size, Math.max(height, nowHeight)];
  }
  return {grew, links: [...seen]};
}
"""


def load_more_pattern() -> str:
    """One regular expression (Python and JavaScript alike) matching any vocabulary's "load more" caption."""
    from vtonkit.crawlers.vocab import merged_vocabulary

    return "|".join(f"(?:{label})" for label in merged_vocabulary().load_more_labels)


def next_page_pattern() -> str:
    """The whole caption of a "next page" button in any vocabulary ("Next", "다음 페이지 ›", "下一页"):
    anchored, since "next" inside a longer caption ("Next-day delivery") is something else."""
    from vtonkit.crawlers.vocab import merged_vocabulary

    labels = "|".join(f"(?:{label})" for label in merged_vocabulary().next_page_labels)
    return rf"^(?:{labels})\s*[›»>→]*$"


QUIET_NETWORK_SECONDS = 15.0  # at most this long for a shell's data requests (a third of the render time, if less)


def quiet_network_seconds(render_timeout: float) -> float:
    """How long a rendered page waits for its network to go quiet: it must leave time to read the page."""
    return min(QUIET_NETWORK_SECONDS, render_timeout / 3)


async def wait_for_quiet_network(page: Any, seconds: float) -> bool:
    """Wait until the page's network is quiet (an app shell's data requests are done), for at most
    `seconds`; True when it went quiet. A page that keeps a request open for ever (a long-poll, a live
    feed) is then read as it is: its product is usually drawn already, and a failed wait lost it."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_load_state("networkidle", timeout=seconds * 1000)
    except PlaywrightTimeout:
        logger.info("%s: the network never went quiet in %g s; reading the page as it is", page.url, seconds)
        return False
    return True


def quiet_network_method(render_timeout: float) -> Any:
    """The page method of `wait_for_quiet_network` (see `quiet_network_seconds`)."""
    from scrapy_playwright.page import PageMethod

    return PageMethod(wait_for_quiet_network, quiet_network_seconds(render_timeout))


def grow_method(rounds: int) -> Any:
    """The page method that grows a rendered listing (see :data:`GROW_LISTING_JS`)."""
    from scrapy_playwright.page import PageMethod

    return PageMethod("evaluate", GROW_LISTING_JS, [rounds, load_more_pattern(), next_page_pattern(), GROW_PAUSE_MS,
                                                     GROW_PATIENCE, MAX_CAPTION])


def grown(meta: dict[str, Any]) -> tuple[int, list[str]]:
    """(rounds that grew the page, every link it showed) of a rendered request's grow step; (0, [])
    when it had none or it did not finish."""
    for method in meta.get("playwright_page_methods", ()):
        result = getattr(method, "result", None)
        if getattr(method, "args", None) and method.args[0] is GROW_LISTING_JS and isinstance(result, dict):
            return int(result.get("grew", 0)), [str(url) for url in result.get("links", ()) if isinstance(url, str)]
    return 0, []


class RenderPolicyError(ValueError):
    """An unknown render policy or a negative budget; the message lists the valid values."""


def render_policy(value: str | None, default: str = "auto") -> str:
    """``auto``, ``always`` or ``never`` (``None`` or empty: ``default``)."""
    policy = (value or default).strip().lower()
    if policy not in RENDER_POLICIES:
        raise RenderPolicyError(f"render policy must be one of {', '.join(RENDER_POLICIES)}, got {value!r}")
    return policy


@dataclass(frozen=True)
class ShellVerdict:
    """Why a page looks (or does not look) like an application shell."""

    is_app_shell: bool
    visible_chars: int
    scripts: int
    empty_root: bool


def app_shell_verdict(page_html: str) -> ShellVerdict:
    """Little visible text, at least one script and an empty root element (or almost no markup)."""
    selector = Selector(text=page_html or "<html></html>", type="html")
    texts = selector.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
    ).getall()
    visible = len(re.sub(r"\s+", " ", " ".join(texts)).strip())
    scripts = len(selector.xpath("//script[not(@type='application/ld+json')]"))
    roots = selector.xpath(
        " | ".join(f"//*[@id='{i}']" for i in _ROOT_IDS) + " | //*[@data-reactroot] | //*[@ng-app]"
    )
    empty_root = any(not root.xpath("normalize-space(.)").get() for root in roots)
    few_elements = len(selector.xpath("//body//*[not(self::script)]")) <= 5
    return ShellVerdict(
        is_app_shell=visible < APP_SHELL_MAX_TEXT and scripts > 0 and (empty_root or few_elements),
        visible_chars=visible,
        scripts=scripts,
        empty_root=empty_root,
    )


# an element a script fills with the product grid: its id or class names products, not a side
# widget (related or recently viewed products, the cart), that a product page or a listing drawn on
# the server also leaves empty for later
_GRID_NAME = re.compile(r"product|goods|prd|item|catalog", re.IGNORECASE)
_SIDE_WIDGET = re.compile(r"related|recent|recommend|viewed|similar|cart|basket|wish|review|upsell|cross",
                          re.IGNORECASE)
_GRID_TAGS = ("div", "ul", "ol", "section", "main", "tbody")
# pages rendered because they may be listings: grown after rendering (scrolled, "load more" clicked)
LISTING_REASONS = frozenset({"app-shell", "script-listing"})


def empty_product_grid(page_html: str) -> bool:
    """The page has scripts and an empty product grid (``<div id="product-grid"></div>``,
    ``<ul class="prdList"></ul>``): its products exist only once a script ran."""
    selector = Selector(text=page_html or "<html></html>", type="html")
    if not selector.xpath("//script[not(@type='application/ld+json')]"):
        return False
    tags = " | ".join(f"//body//{tag}[@id or @class]" for tag in _GRID_TAGS)
    for element in selector.xpath(tags):
        names = " ".join(element.xpath("@id | @class").getall())
        if (_GRID_NAME.search(names) and not _SIDE_WIDGET.search(names)
                and not element.xpath(".//a | .//img | .//li") and not element.xpath("normalize-space(.)").get()):
            return True
    return False


class BrowserRequestGate:
    """``PLAYWRIGHT_ABORT_REQUEST``: abort images/fonts/media, requests that reach inward
    (:func:`reaches_inward`, asked before robots.txt, whose own fetch would reach inward too) and
    what robots.txt disallows.

    Scrapy's RobotsTxtMiddleware checks the requests Scrapy makes; the browser's own requests
    (XHR, scripts) bypass it. This gate asks the same middleware (same cache, same user agent)
    about each of them. Bound to its crawler by the spider (:meth:`bind`).
    """

    def __init__(self) -> None:
        self.crawler: Any = None

    def bind(self, crawler: Any) -> None:
        self.crawler = crawler

    def _robots_middleware(self) -> Any:
        from vtonkit.crawlers.robots import robots_middleware

        return robots_middleware(self.crawler)

    async def __call__(self, request: Any) -> bool:
        """True to abort the browser's ``request`` (a Playwright Request)."""
        if request.resource_type in SKIPPED_RESOURCES:
            return True
        if self.crawler is None or not request.url.startswith(("http://", "https://")):
            return False
        if host := url_host(request.url):  # a page reaches many hosts: each is resolved once, off the event loop
            await asyncio.get_running_loop().run_in_executor(None, resolves_inward, host)
        if reaches_inward(request.url, getattr(self.crawler.spider, "base_url", "")):
            report_for(self.crawler).browser_blocked.append(request.url)
            logger.warning("browser request blocked: %s is on this machine or a private network, "
                           "outside the shop's own address", request.url)
            return True
        robots = self._robots_middleware()
        if robots is None:  # ROBOTSTXT_OBEY is off
            return False
        import scrapy
        from scrapy.exceptions import IgnoreRequest

        probe = scrapy.Request(request.url, headers={"User-Agent": self.crawler.settings["USER_AGENT"]})
        try:
            robots.process_request_2(await robots.robot_parser(probe), probe)
        except IgnoreRequest:
            report_for(self.crawler).browser_blocked.append(request.url)
            logger.info("browser request blocked by robots.txt: %s", request.url)
            return True
        return False
