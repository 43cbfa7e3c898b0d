"""Text a shop wrote, made fit to store: no control or bidi characters, bounded length.

A page's JSON-LD name can hold NUL, escape sequences or a right-to-left override (which makes
"Tee\\u202egpj.exe" read as "Teeexe.jpg") and run to megabytes; every text field of a product
reaches products.jsonl, the catalog and the review tool. Letters of any script, emoji (their
zero-width joiners included) and accents are kept as written.
"""

from __future__ import annotations

import dataclasses
import re

from vtonkit.core.terminal import CONTROL_CODES
from vtonkit.crawlers.items import ProductItem

# The longest real product titles run to about 250 characters; past 500 it is page junk, not a name.
MAX_TITLE_CHARS = 500
# SKUs and product ids are a few dozen characters; 200 keeps any real one whole.
MAX_ID_CHARS = 200

# The characters terminal-safe printing escapes, dropped; one that is a line break or tab becomes a space.
_CONTROLS = {code: (" " if chr(code).isspace() else None) for code in CONTROL_CODES}


def clean_text(value: str) -> str:
    """`value` without control or bidi characters, its whitespace runs as one space, stripped."""
    return re.sub(r"\s+", " ", value.translate(_CONTROLS)).strip()


def bounded_text(value: object, limit: int) -> str | None:
    """`value` (a shop's JSON may give a number) cleaned and cut to `limit` characters; None when
    nothing is left."""
    if value is None:
        return None
    return clean_text(str(value))[:limit].rstrip() or None


def with_bounded_text(item: ProductItem) -> ProductItem:
    """`item` with its names (title, brand, colour, breadcrumbs) and identifiers (SKU, product id)
    bounded; spiders that build items without the page extraction (Shopify, store selectors) too."""
    return dataclasses.replace(
        item,
        title=bounded_text(item.title, MAX_TITLE_CHARS),
        brand=bounded_text(item.brand, MAX_TITLE_CHARS),
        colour=bounded_text(item.colour, MAX_TITLE_CHARS),
        breadcrumbs=[c for c in (bounded_text(c, MAX_TITLE_CHARS) for c in item.breadcrumbs) if c],
        sku=bounded_text(item.sku, MAX_ID_CHARS),
        product_id=bounded_text(item.product_id, MAX_ID_CHARS),
    )
