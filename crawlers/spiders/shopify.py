"""Shopify stores through their public ``/products.json`` (paginated, no HTML parsing).

Every Shopify store serves ``/products.json?limit=250&page=N``: titles, vendor, product type,
tags, variants (SKU, price, availability) and all image URLs. A Shopify store spider only needs
a ``name``, a ``base_url`` and, since products.json carries no currency, ``currency``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.http import Response
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.prices import parse_price
from vtonkit.crawlers.report import report_for
from vtonkit.crawlers.spiders.base import StoreSpider


def product_from_shopify(
    product: dict[str, Any], base_url: str, store: str, currency: str | None
) -> ProductItem:
    """One ``products.json`` entry -> :class:`ProductItem`."""
    variants = product.get("variants") or [{}]
    variant = next((v for v in variants if v.get("available")), variants[0])
    price, currency = parse_price(variant.get("price"), currency)
    tags = product.get("tags") or []
    tags = tags.split(",") if isinstance(tags, str) else tags
    url = f"{base_url}/products/{product.get('handle')}"
    gender = next(
        (t.strip().lower() for t in tags if t.strip().lower() in ("women", "men", "unisex", "kids")), None
    )
    return ProductItem(
        store=store,
        url=url,
        product_id=str(product.get("id")),
        sku=variant.get("sku") or None,
        title=product.get("title"),
        brand=product.get("vendor"),
        price=price,
        currency=currency,
        availability="InStock" if any(v.get("available") for v in variants) else "OutOfStock",
        gender=gender,
        category=normalise_category(
            product_type=product.get("product_type"), breadcrumbs=tags, title=product.get("title"), url=url
        ),
        breadcrumbs=[product["product_type"]] if product.get("product_type") else [],
        image_urls=[i["src"] for i in product.get("images") or [] if i.get("src")],
        sources={"product": "shopify"},
    )


class ShopifySpider(StoreSpider):
    """Base class of Shopify store spiders (``scrapy crawl shopify -a url=...`` for any store)."""

    name = "shopify"
    renders_pages = False  # products.json only: never a page to render
    page_size = 250
    currency: str | None = None

    async def start(self) -> AsyncIterator[Any]:
        yield self._start_request(self.page_request(1))  # brand.myshopify.com -> brand.example

    def page_request(self, page: int) -> scrapy.Request:
        return scrapy.Request(
            self.url_for(f"/products.json?limit={self.page_size}&page={page}"),
            callback=self.parse_products_json,
            errback=self.on_error,
            cb_kwargs={"page": page},
        )

    def parse_products_json(self, response: Response, page: int) -> Iterable[Any]:
        try:
            products = json.loads(response.text).get("products") or []
        except (ValueError, AttributeError) as exc:
            report_for(self.crawler).page_error(response.url, f"not a products.json: {exc}")
            return
        for product in products:
            try:
                item = product_from_shopify(product, self.base_url, self.name, self.currency)
            except Exception as exc:  # one odd product must not end the store
                report_for(self.crawler).page_error(response.url, f"product {product.get('id')}: {exc}")
                continue
            yield from self.emit(item)
        if products:
            yield self.page_request(page + 1)
