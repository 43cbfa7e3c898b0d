"""Spiders for the demo store that ships with vtonkit (``vtonkit demo-store`` serves it).

``demo`` walks the paginated ``/shop`` listing and the JavaScript-rendered ``/new-in`` section;
``demo-shopify`` reads the same store through its Shopify-style ``/products.json``.
The store URL comes from ``-a url=...``, else ``$VTONKIT_DEMO_URL``, else http://127.0.0.1:8765.
"""

from __future__ import annotations

import os

from vtonkit.crawlers.spiders.base import StoreSpider
from vtonkit.crawlers.spiders.shopify import ShopifySpider

DEFAULT_DEMO_URL = os.environ.get("VTONKIT_DEMO_URL", "http://127.0.0.1:8765")


class DemoStoreSpider(StoreSpider):
    name = "demo"
    base_url = DEFAULT_DEMO_URL
    start_paths = ("/shop",)
    js_paths = ("/new-in",)
    js_wait_selector = "#new-in[data-loaded]"
    product_link_pattern = r"^/(?:products|private)/[^/]+$"


class DemoShopifySpider(ShopifySpider):
    name = "demo-shopify"
    base_url = DEFAULT_DEMO_URL
    currency = "EUR"
    page_size = 5
