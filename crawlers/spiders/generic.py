"""The generic spider: any store, no store-specific code.

Discovers product pages through the sitemaps announced in robots.txt (or ``/sitemap.xml``) and
by following same-site links (depth-limited); every fetched page is tried as a product page and
kept when structured product data is found. Usage::

    scrapy crawl generic -a url=https://shop.example -a limit=50 -O products.jsonl
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import scrapy
from scrapy.http import Response
from vtonkit.crawlers.extract import is_product_page
from vtonkit.crawlers.spiders.base import StoreSpider


class GenericSpider(StoreSpider):
    name = "generic"
    use_sitemap = True
    product_link_pattern = r"."  # from sitemaps every URL is a candidate product page
    custom_settings = {"DEPTH_LIMIT": 4}

    def parse_listing(self, response: Response) -> Iterable[Any]:
        """Any page: a product when extraction finds one, otherwise a source of links."""
        if not hasattr(response, "text"):
            return
        _, item = self.extract(response)
        if is_product_page(item):
            yield from self.emit(item)
        for url in self.links(response):
            yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_error)

    def parse_product(self, response: Response) -> Iterable[Any]:
        # sitemap URLs may be categories as well as products: treat them like any page
        yield from self.parse_listing(response)
