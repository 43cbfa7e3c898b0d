"""The product a script-built page carries as data: its application state, read without a browser.

Shops built with Next.js, or with a Redux/Vuex store filled on the server, put the page's data in
the HTML as JSON (``<script id="__NEXT_DATA__">``, ``window.__PRELOADED_STATE__ = {...}``,
``window.__INITIAL_STATE__ = JSON.parse("...")``, ``window.__APOLLO_STATE__``) and often no
schema.org markup at all.
Those objects hold the product under names each shop picks (``productName``, ``salePrice``,
``representImage``), beside related products, recommendations and menus, so a product is taken
only when:

* an object has a name, a price and an image under the usual keys (:data:`NAME_KEYS`,
  :data:`PRICE_KEYS`, :data:`IMAGE_KEYS`), and
* its name is the page's title (``og:title``, ``<title>`` or ``<h1>``, the shop's name aside), so
  a listing, whose state holds many products and whose title names none, yields nothing.

The product comes back as a schema.org-shaped node, so every field is then chosen as for JSON-LD.
Read only for a page without JSON-LD, microdata or OpenGraph product data.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from parsel import Selector

NAME_KEYS = ("name", "productName", "product_name", "goodsName", "goodsNm", "itemName", "prdName", "title")
PRICE_KEYS = ("salePrice", "sale_price", "sellPrice", "finalPrice", "discountedPrice", "discountPrice",
              "currentPrice", "price", "priceAmount", "amount")
IMAGE_KEYS = ("image", "images", "imageUrl", "image_url", "imageURL", "mainImage", "representImage",
              "thumbnail", "thumbnailUrl", "img", "media")
SKU_KEYS = ("sku", "productCode", "product_code", "styleCode", "styleNo", "modelCode", "modelNo", "itemCode",
            "goodsCd", "mpn")
CURRENCY_KEYS = ("currency", "currencyCode", "priceCurrency", "currency_code")
BRAND_KEYS = ("brand", "brandName", "brand_name", "manufacturer")

# JavaScript assignments of a state object: the object itself is read as JSON from its first brace,
# or, for `= JSON.parse("...")`, from the double-quoted string (a JSON string literal too)
_ASSIGNED_STATE = re.compile(
    r"(?:window\.|\bvar\s+|\bconst\s+|\blet\s+)?(__PRELOADED_STATE__|__INITIAL_STATE__|__APOLLO_STATE__|"
    r"__NEXT_DATA__|__STATE__)\s*=\s*(?:(?=[{\[])|JSON\.parse\(\s*(?=\"))"
)
MAX_STATE_CHARS = 5_000_000  # a page's state beyond this is not read (a hostile page, not a product)
MAX_NODES = 200_000  # objects and lists walked per page
_WORDS = re.compile(r"\w+", re.UNICODE)


def state_blocks(selector: Selector) -> list[Any]:
    """Every state object the page's scripts hold, decoded (undecodable ones skipped)."""
    blocks: list[Any] = []
    for script in selector.xpath("//script[@id='__NEXT_DATA__' or @type='application/json']/text()").getall():
        if len(script) <= MAX_STATE_CHARS:
            try:
                blocks.append(json.loads(script))
            except (ValueError, RecursionError):  # not JSON; nested past the parser's depth (hostile)
                continue
    decoder = json.JSONDecoder()
    for script in selector.xpath("//script[not(@src) and not(@type='application/json') and "
                                 "not(@type='application/ld+json')]/text()").getall():
        if len(script) > MAX_STATE_CHARS:
            continue
        for found in _ASSIGNED_STATE.finditer(script):
            try:
                value = decoder.raw_decode(script, found.end())[0]
                blocks.append(json.loads(value) if isinstance(value, str) else value)
            except (ValueError, RecursionError):
                continue
    return blocks


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every object inside ``value``, breadth first, at most :data:`MAX_NODES` containers."""
    queue, seen = deque([value]), 0
    while queue and seen < MAX_NODES:
        current = queue.popleft()
        seen += 1
        if isinstance(current, dict):
            yield current
            queue.extend(v for v in current.values() if isinstance(v, (dict, list)))
        elif isinstance(current, list):
            queue.extend(v for v in current if isinstance(v, (dict, list)))


def _first(node: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((node[k] for k in keys if node.get(k) not in (None, "", [], {})), None)


def _price(value: Any) -> float | str | None:
    """A price value: a number, a numeric string, or an object holding one (``{"amount": 59.9}``)."""
    if isinstance(value, dict):
        value = _first(value, ("amount", "value", "price", "sale", "current", "final"))
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[\d.,\s]*\d[\d.,\s]*", value):
        return value.strip()
    return None


def _image(value: Any) -> str | None:
    """An image URL from a string, a list of them, or objects holding one (``{"url": ...}``)."""
    for candidate in value if isinstance(value, list) else [value]:
        if isinstance(candidate, dict):
            candidate = _first(candidate, ("url", "src", "contentUrl", "imageUrl", "original", "large"))
        if isinstance(candidate, str) and re.match(r"(?:https?:)?//|/", candidate.strip()):
            return candidate.strip()
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = _first(value, ("name", "value", "text"))
    return value.strip() if isinstance(value, str) and value.strip() else None


def _words(value: str) -> list[str]:
    return _WORDS.findall(value.casefold())


def names_the_page(name: str, titles: list[str]) -> bool:
    """``name`` is what one of the page's titles says: all of its words, in order, inside the title
    (which may add the shop's name), and at least half of the title's words."""
    words = _words(name)
    if not words:
        return False
    for title in titles:
        title_words = _words(title)
        joined = " ".join(title_words)
        if f" {' '.join(words)} " in f" {joined} " and len(words) * 2 >= len(title_words):
            return True
    return False


def state_product(blocks: list[Any], titles: list[str]) -> dict[str, Any] | None:
    """The page's own product in its state, as a schema.org-shaped node, or None (see the module
    docstring for when an object counts). Of several objects that qualify (a related "Midi skirt"
    beside the page's "Pleated midi skirt"), the one whose name says most of the title wins."""
    best: tuple[int, dict[str, Any]] | None = None
    for block in blocks:
        for node in _walk(block):
            name = _text(_first(node, NAME_KEYS))
            price = _price(_first(node, PRICE_KEYS))
            image = _image(_first(node, IMAGE_KEYS))
            if name and price is not None and image and names_the_page(name, titles):
                if best is None or len(_words(name)) > best[0]:
                    best = (len(_words(name)), _as_product(node, name, price, image))
    return best[1] if best else None


def _as_product(node: dict[str, Any], name: str, price: float | str, image: str) -> dict[str, Any]:
    """A state object as a schema.org Product node."""
    offer: dict[str, Any] = {"@type": "Offer", "price": price}
    price_object = _first(node, PRICE_KEYS)
    currency = _text(_first(node, CURRENCY_KEYS)) or (
        _text(_first(price_object, CURRENCY_KEYS)) if isinstance(price_object, dict) else None)
    if currency:
        offer["priceCurrency"] = currency
    product: dict[str, Any] = {"@type": "Product", "name": name, "image": image, "offers": offer}
    sku = _first(node, SKU_KEYS)
    if isinstance(sku, (str, int)) and not isinstance(sku, bool) and str(sku).strip():
        product["sku"] = str(sku).strip()
    brand = _text(_first(node, BRAND_KEYS))
    if brand:
        product["brand"] = brand
    return product
