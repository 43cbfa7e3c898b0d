"""The generic spider: any store, no store-specific code.

Discovers product pages through the sitemaps announced in robots.txt (or ``/sitemap.xml``) and
by following same-site links (depth-limited); every fetched page is tried as a product page and
kept when structured product data is found. A page that should be a product (listed in a
product sitemap, linked with a product-like path, or an app shell) but has no product data in
its HTML is rendered in Chromium (``-a render=auto|always|never``). Usage::

    scrapy crawl generic -a url=https://shop.example -a limit=50 -O products.jsonl
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scrapy.http import Response
from vtonkit.crawlers.spiders.base import StoreSpider
from vtonkit.crawlers.url_roles import expected_product_url, is_next_listing_page


class GenericSpider(StoreSpider):
    name = "generic"
    use_sitemap = True
    product_link_pattern = r"."  # from sitemaps every URL is a candidate product page
    custom_settings = {"DEPTH_LIMIT": 4}

    def is_expected_product(self, url: str, sitemap_url: str = "") -> bool:
        """A URL that should hold a product (see `expected_product_url`)."""
        return expected_product_url(url, sitemap_url)

    def parse_listing(self, response: Response) -> Iterable[Any]:
        """Any page: a product when extraction finds one, otherwise a source of links."""
        if not hasattr(response, "text"):
            return
        expected = response.meta.get("vtonkit_expected")
        if expected is None and response.meta.get("redirect_urls") and self.is_expected_product(response.url):
            # an old or short link (`/old/4`) that redirects to a product's address is a product link:
            # judged by the link alone, its product page was read as any page and, without
            # structured data, dropped unreported
            expected = "listing-link"
        yield from self.product_or_render(response, expected, self.parse_listing)
        for url in self.links(response):
            expected = "listing-link" if self.is_expected_product(url) else None
            yield self.page_request(url, self.parse_listing, expected=expected,
                                    next_page=is_next_listing_page(url, response.url))

    def parse_product(self, response: Response) -> Iterable[Any]:
        # sitemap URLs may be categories as well as products: treat them like any page
        yield from self.parse_listing(response)

    def sitemap_entry_expected(self, loc: str, sitemap_url: str) -> str | None:
        return "product-sitemap" if self.is_expected_product(loc, sitemap_url) else None
