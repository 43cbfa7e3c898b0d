"""Run one store crawl in this process (the reactor starts once: one crawl per process).

Used by ``vtonkit crawl`` and the benchmark; tests call it through the CLI in a subprocess.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

SETTINGS_MODULE = "vtonkit.crawlers.settings"
# In a resumable crawl's job folder while the crawl runs; a killed crawl leaves it behind.
RUNNING_MARK = "vtonkit-running"
DROPPED_WAITING = "dropped-waiting"  # a stopped crawl dropped requests waiting for their host's turn
FORCED_STOP = "forced-stop"  # finish reason of a crawl a second Ctrl-C stopped at once
LIMIT_REACHED = "limit"  # --limit stopped the crawl: product pages in flight were fetched and not written

# For crawling your own server (the demo store, benchmarks): no politeness delays.
NO_THROTTLE: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "VTONKIT_RETRY_BACKOFF_BASE": 0.1,
}


class CrawlSetupError(ValueError):
    """The crawl cannot start as asked (unknown store, missing URL); the message says why."""


class UnknownStore(CrawlSetupError):
    pass


def _check_address(url: str) -> None:
    """Refuse a store address the crawl could only fail on, before it starts (a typo'd scheme went on
    to a DNS lookup; words or a broken IPv6 literal ended in a bare 'start_error')."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError as exc:
        raise CrawlSetupError(f"--url {url!r} is no web address ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CrawlSetupError(f"--url {url!r} is no http(s) address with a host name; give it as https://shop.example")


def crawl_settings(
    out: Path | None,
    *,
    cache: bool = False,
    resume: bool = False,
    no_throttle: bool = False,
    log_file: bool = True,
    extra: dict[str, Any] | None = None,
):
    """The project settings plus the options of one ``vtonkit crawl`` run."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    overrides: dict[str, Any] = {}
    if out is not None:
        out = Path(out).resolve()
        out.mkdir(parents=True, exist_ok=True)
        overrides["VTONKIT_OUT"] = str(out)
        if log_file:
            overrides.update(LOG_FILE=str(out / "crawl.log"), LOG_FILE_APPEND=resume, LOG_LEVEL="INFO")
        if resume:
            overrides["JOBDIR"] = str(out / ".job")
        if cache:
            overrides.update(HTTPCACHE_ENABLED=True, HTTPCACHE_DIR=str(out / ".httpcache"))
    elif cache:
        overrides["HTTPCACHE_ENABLED"] = True
    if no_throttle:
        overrides.update(NO_THROTTLE)
    overrides.update(extra or {})
    settings.setdict(overrides, priority="cmdline")
    return settings


def recover_killed_job(job: Path) -> str | None:
    """Drop the request queue and seen-list that a killed crawl left in its job folder; a note saying
    so, or None when the last run ended cleanly.

    Scrapy writes the queue's index at a clean close only, while the duplicate filter's seen-list
    grows on disk as the crawl goes: resumed from them, the start pages were dropped as seen and
    nothing else was queued, so the crawl ended at once with most of the store never crawled. The
    store is crawled again instead; the spider skips the products found before (products.jsonl).
    """
    from vtonkit.crawlers.robots import ROBOTS_UNREACHABLE

    mark = job / RUNNING_MARK
    if not mark.exists():
        return None
    reason = mark.read_text(encoding="utf-8", errors="replace").strip()
    shutil.rmtree(job / "requests.queue", ignore_errors=True)
    (job / "requests.seen").unlink(missing_ok=True)
    why = {ROBOTS_UNREACHABLE: "stopped because the store's robots.txt could not be read",
           DROPPED_WAITING: "stopped with pages still waiting for the store's Crawl-delay or Retry-After",
           LIMIT_REACHED: "stopped at its --limit, with product pages fetched but not written"}.get(
        reason, "was killed, and its request queue with it")
    return f"the last run of this crawl {why}: the store is crawled again from its start pages, the products found before kept once"


def store_names() -> list[str]:
    """Names of every spider of the project (``scrapy list``)."""
    from scrapy.spiderloader import SpiderLoader

    settings = crawl_settings(None)
    return sorted(SpiderLoader.from_settings(settings).list())


def skipped_store_files() -> list[str]:
    """The store files left out of :func:`store_names`, each "<file>: <problem>"."""
    store_names()  # the spider loader reads the store files
    from vtonkit.crawlers.spiders.configured import SKIPPED_STORE_FILES

    return list(SKIPPED_STORE_FILES)


def check_out_folder(out: Path | None, resume: bool) -> None:
    """Refuse a crawl without --resume into a folder that holds a resumable crawl (``OUT/.job``): it
    truncated the folder's products.jsonl and catalog.jsonl and kept the job, whose seen-list then
    made a later --resume skip the pages of the products lost (29 products, then 13, for good)."""
    if resume or out is None or not (Path(out) / ".job").is_dir():
        return
    raise CrawlSetupError(f"{out} holds a resumable crawl ({Path(out) / '.job'}): pass --resume to continue it, "
                          "or choose another --out (or remove that folder) to start over")


def check_crawl(store: str, url: str | None, *, out: Path | None = None, resume: bool = False) -> None:
    """Refuse a crawl that cannot start as asked (an unknown store, a store without an address, an
    address that is none, a resumable crawl's folder without --resume) with a `CrawlSetupError` that
    says why, before anything runs."""
    from scrapy.spiderloader import SpiderLoader

    names = store_names()
    if store not in names:
        raise UnknownStore(f"unknown store {store!r}; known stores: {', '.join(names)}")
    spider_cls = SpiderLoader.from_settings(crawl_settings(None)).load(store)
    if not url and not getattr(spider_cls, "base_url", ""):
        raise CrawlSetupError(f"store {store!r} needs the store's address: --url https://shop.example")
    if url:
        _check_address(url)
    check_out_folder(out, resume)


def run_crawl(
    store: str,
    out: Path,
    *,
    url: str | None = None,
    limit: int | None = None,
    category: str | None = None,
    cache: bool = False,
    resume: bool = False,
    no_throttle: bool = False,
    max_pages: int | None = None,
    max_seconds: float | None = None,
    extra_settings: dict[str, Any] | None = None,
    spider_args: dict[str, Any] | None = None,
    on_event: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Crawl ``store`` into ``out``; returns the crawl summary (also in ``<out>/summary.json``).

    ``max_pages`` / ``max_seconds`` replace the default budgets (``VTONKIT_MAX_PAGES``,
    ``VTONKIT_MAX_SECONDS`` in :mod:`vtonkit.crawlers.settings`; 0 = none), see
    :mod:`vtonkit.crawlers.limits`.

    ``on_event(kind, payload)`` is called from the crawl thread with ``"page"`` (a response),
    ``"product"`` (an item), ``"error"`` (a URL) and, once, ``"stopping"`` (why: a budget, or
    "interrupted") events, for progress displays.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from vtonkit.crawlers.report import SUMMARY_NAME
    from vtonkit.crawlers.robots import ROBOTS_UNREACHABLE
    from vtonkit.datasets.io.files import atomic_write_json

    check_crawl(store, url, out=out, resume=resume)
    budgets: dict[str, Any] = {}
    if max_pages is not None:
        budgets["VTONKIT_MAX_PAGES"] = max_pages
    if max_seconds is not None:
        budgets["VTONKIT_MAX_SECONDS"] = max_seconds
    settings = crawl_settings(
        out, cache=cache, resume=resume, no_throttle=no_throttle, extra={**budgets, **(extra_settings or {})}
    )
    job = Path(settings["JOBDIR"]) if settings.get("JOBDIR") else None
    if job is not None:
        settings.set("VTONKIT_RESUME_NOTE", recover_killed_job(job), priority="cmdline")
        job.mkdir(parents=True, exist_ok=True)
        (job / RUNNING_MARK).touch()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(store)
    if on_event is not None:
        # weak=False: the dispatcher would otherwise drop these closures at once
        from vtonkit.crawlers.limits import is_page_request

        crawler.signals.connect(  # pages as the page budget counts them: no image, no robots.txt
            lambda response, request, spider: on_event("page", response) if is_page_request(request) else None,
            signal=signals.response_received,
            weak=False,
        )
        crawler.signals.connect(
            lambda item, response, spider: on_event("product", item), signal=signals.item_scraped, weak=False
        )
        from vtonkit.crawlers.pacing import CRAWL_STOPPING

        crawler.signals.connect(lambda reason: on_event("stopping", reason), signal=CRAWL_STOPPING, weak=False)
    kwargs: dict[str, Any] = dict(spider_args or {})
    if url:
        kwargs["url"] = url
    if limit:
        kwargs["limit"] = limit
    if category:
        kwargs["category"] = category
    process.crawl(crawler, **kwargs)
    process.start()
    report = getattr(crawler, "vtonkit_report", None)
    summary = report.as_dict() if report is not None else {}
    try:
        summary["finish_reason"] = crawler.stats.get_value("finish_reason")
    except RuntimeError:  # the crawl never started (the spider refused its arguments)
        summary["finish_reason"] = "not started (see crawl.log)"
    forced = summary["finish_reason"] is None and report is not None
    if forced:  # a second Ctrl-C: Scrapy stopped without closing the spider, so nothing wrote the summary
        summary["finish_reason"] = FORCED_STOP
        atomic_write_json(Path(out) / SUMMARY_NAME, summary, indent=2)
    pacer = getattr(crawler, "vtonkit_pacer", None)
    unfinished = (ROBOTS_UNREACHABLE if summary["finish_reason"] == ROBOTS_UNREACHABLE
                  else "killed" if forced  # its queue was not saved: the next --resume starts over
                  else DROPPED_WAITING if pacer is not None and pacer.dropped
                  # the product pages in flight past the limit are in the seen-list, their products unwritten
                  else LIMIT_REACHED if summary["finish_reason"] == LIMIT_REACHED else None)
    if job is not None and unfinished:  # its queue is spent or short of the dropped pages: start over
        (job / RUNNING_MARK).write_text(unfinished, encoding="utf-8")
    elif job is not None:
        (job / RUNNING_MARK).unlink(missing_ok=True)  # a clean end: Scrapy has saved its queue
    summary["out"] = str(Path(out).resolve())
    return summary
