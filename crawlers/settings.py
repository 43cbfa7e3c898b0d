"""Scrapy settings of the vtonkit crawlers: polite and robust by default.

``scrapy.cfg`` at the repository root points here, so ``scrapy list`` and
``scrapy crawl <store> -O out.jsonl`` work from the repository root. ``vtonkit crawl`` starts
from the same settings and adds the output folder (``VTONKIT_OUT``), the HTTP cache
(``--cache``), a resumable job folder (``--resume``) and, for your own servers only,
``--no-throttle``.
"""

from __future__ import annotations

from vtonkit import __version__

BOT_NAME = "vtonkit"
SPIDER_MODULES = ["vtonkit.crawlers.spiders"]
NEWSPIDER_MODULE = "vtonkit.crawlers.spiders"

PROJECT_URL = "https://github.com/vtonkit/vtonkit"
# An honest user agent: who we are and where to read about us.
USER_AGENT = f"vtonkit/{__version__} (+{PROJECT_URL})"

# Politeness
ROBOTSTXT_OBEY = True
# the product token robots.txt groups are matched against (RFC 9309), not the whole user agent,
# whose project URL holds "github": a "User-agent: github" group applied to vtonkit
ROBOTSTXT_USER_AGENT = "vtonkit"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_DELAY_JITTER = 0.5  # +-50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30

# Robustness: retries with exponential backoff (vtonkit.crawlers.middlewares)
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # the page is reported in the crawl summary; not a crawl error
VTONKIT_RETRY_BACKOFF_BASE = 1.0
VTONKIT_RETRY_BACKOFF_MAX = 60.0
VTONKIT_RETRY_AFTER_MAX = 300.0  # longest Retry-After honoured (the host pauses that long; longer is capped)
VTONKIT_MAX_CRAWL_DELAY = 30.0  # longest robots.txt Crawl-delay honoured, in seconds
DOWNLOADER_MIDDLEWARES = {
    # the store is its hosts and their subdomains on its port (Scrapy's own filter ignores ports)
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "vtonkit.crawlers.middlewares.StoreOffsiteMiddleware": 50,
    # an unreachable robots.txt (5xx, 429, a network error) disallows its host instead of allowing it
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "vtonkit.crawlers.robots.StrictRobotsTxtMiddleware": 100,
    "vtonkit.crawlers.robots.RobotsFileOffsitePass": 49,  # before OffsiteMiddleware (50)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "vtonkit.crawlers.middlewares.BackoffRetryMiddleware": 550,
    # sees 3xx responses before RedirectMiddleware (600): a loop is reported, not silently dropped
    "vtonkit.crawlers.middlewares.RedirectLoopMiddleware": 650,
    # after the robots middleware, which reads Crawl-delay: a host's requests start when it allows
    "vtonkit.crawlers.pacing.HostPacer": 160,
    # after RobotsTxtMiddleware (100): a page robots.txt forbids does not spend the page budget;
    # after HostPacer: nor does a page waiting for its host's turn, which a stopping crawl drops
    "vtonkit.crawlers.limits.PageBudgetGate": 170,
    # after HttpCompressionMiddleware (590) in the response's way: it reads the inflated body
    "vtonkit.crawlers.middlewares.PageEncodingMiddleware": 580,
}
REDIRECT_MAX_TIMES = 8
# the fragment of a hash route (/#/item/3) makes another page (Scrapy's own drops every fragment)
REQUEST_FINGERPRINTER_CLASS = "vtonkit.crawlers.url_roles.RouteFingerprinter"
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # pages, also once decompressed; images have their own limit below
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024

# Bounds of every crawl (vtonkit.crawlers.limits): budgets, and links that only lead to more links
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "vtonkit.crawlers.limits.ListingDepthMiddleware": 900,  # where Scrapy's own stands
    "vtonkit.crawlers.limits.TrapFilter": 950,
}
VTONKIT_MAX_PAGES = 5000  # `vtonkit crawl --max-pages`; 0 = no page budget
VTONKIT_MAX_SECONDS = 3600  # `vtonkit crawl --max-time`; 0 = no time budget
VTONKIT_STALL_PAGES = 300  # stop after this many pages in a row without a product page; 0 = never
VTONKIT_TRAP_QUERY_VARIANTS = 100  # distinct views per URL path (query strings less item and category ids, url_roles)
VTONKIT_TRAP_LISTING_PAGES = 1000  # pages followed of one listing (its URL less the page number)
VTONKIT_TRAP_MAX_PARAMS = 6  # links with more query parameters are stacked facets
VTONKIT_TRAP_SEGMENT_REPEATS = 3  # a path segment this often in one URL is a link loop
VTONKIT_TRAP_MAX_DEPTH = 12  # links with more path segments lead nowhere a shop puts products

# Images and catalog (active only when VTONKIT_OUT is set)
ITEM_PIPELINES = {
    "vtonkit.crawlers.pipelines.GarmentImagesPipeline": 300,
    "vtonkit.crawlers.pipelines.CatalogPipeline": 800,
}
EXTENSIONS = {"vtonkit.crawlers.report.CrawlReport": 500, "vtonkit.crawlers.limits.CrawlBudget": 510}
MEDIA_ALLOW_REDIRECTS = True
VTONKIT_OUT = None
VTONKIT_MIN_IMAGE_SIDE = 256
VTONKIT_MAX_IMAGE_PIXELS = 40_000_000  # from the header, before decoding (image_facts.MAX_IMAGE_PIXELS)
VTONKIT_MAX_IMAGE_BYTES = 30 * 1024 * 1024
VTONKIT_MAX_IMAGES_PER_PRODUCT = 100  # downloadable image URLs per product page; 0 = no cap
VTONKIT_PHASH_DISTANCE = 6
# garment shot vs on-model: "mediapipe" (pose + face; accurate) or "skin" (faster, weaker)
VTONKIT_PERSON_DETECTOR = "mediapipe"

# Development: an HTTP cache, off unless asked for (`vtonkit crawl --cache`, or -s HTTPCACHE_ENABLED=1)
HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 24 * 3600
HTTPCACHE_IGNORE_HTTP_CODES = [500, 502, 503, 504, 408, 429]

# scrapy-playwright is enabled per spider (StoreSpider.needs_browser), never globally
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
