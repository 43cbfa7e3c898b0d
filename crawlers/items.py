"""The one product item every spider yields, and the per-image catalog record.

A product item comes from :func:`vtonkit.crawlers.extract.extract_product` (or the Shopify
``/products.json`` reader); the image pipeline fills ``images`` and ``garment_image_url``, and
turns each kept image into a :data:`CATALOG_COLUMNS` record for ``catalog.jsonl``/``.parquet``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProductItem:
    """One product page (or Shopify product) in the shape every store shares.

    ``category`` is always one of ``upper | lower | dresses | other``; ``price`` is a float in
    ``currency`` (ISO 4217 code where the symbol is unambiguous, else the shop's own symbol);
    ``availability`` is the schema.org term (``InStock``, ``OutOfStock``, ...).
    """

    store: str
    url: str
    # the address the page declares as its own (canonical link, else og:url), on its own host: one
    # product reached by two paths (/collections/dresses/products/x and /products/x) declares one
    canonical_url: str | None = None
    product_id: str | None = None
    sku: str | None = None
    title: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    availability: str | None = None
    gender: str | None = None
    colour: str | None = None
    category: str = "other"
    breadcrumbs: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)
    # filled by the image pipeline: the image judged to be the plain-background garment shot,
    # and one result per image URL (kept / duplicate / rejected, with path and hashes)
    garment_image_url: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    # where each field came from ("json-ld", "microdata", "opengraph", "html", "shopify", ...)
    sources: dict[str, str] = field(default_factory=dict)
    crawled_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# One record per kept image; the prep pipeline reads these columns.
CATALOG_COLUMNS = (
    "store",
    "product_id",
    "sku",
    "title",
    "brand",
    "price",
    "currency",
    "availability",
    "gender",
    "colour",
    "category",
    "image_url",
    "page_url",
    "path",
    "sha256",
    "phash",
    "width",
    "height",
    "format",
    "has_alpha",
    "is_garment_shot",
    "garment_score",
    "shot_evidence",
    "shot_reasons",
    "crawled_at",
)
