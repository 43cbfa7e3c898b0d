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
* its name is the page's title (``og:title``, ``<title>`` or ``<h1>``, the shop's name aside, or
  one part of a title that adds more: "<brand> <product> - 사이즈 & 후기 | 무신사"), so a listing,
  whose state holds many products and whose title names none, yields nothing.

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
# A discounted price first: it is what the product costs now, and Korean shops' "salePrice" is
# their 판매가, the price before the discount (Naver keeps the discounted one in "benefitsView" too,
# Musinsa in "finalPrice"). A price key may hold an object of prices (Musinsa's "goodsPrice":
# {"normalPrice", "salePrice", "finalPrice"}).
PRICE_KEYS = ("discountedSalePrice", "discountedPrice", "benefitsView", "finalPrice", "salePrice", "sale_price",
              "sellPrice", "discountPrice", "currentPrice", "price", "priceAmount", "amount", "goodsPrice")
IMAGE_KEYS = ("image", "images", "imageUrl", "image_url", "imageURL", "mainImage", "representImage",
              "representativeImageUrl", "thumbnail", "thumbnailUrl", "thumbnailImageUrl", "img", "media",
              "productImages", "goodsImages")
SKU_KEYS = ("sku", "productCode", "product_code", "styleCode", "styleNo", "modelCode", "modelNo", "itemCode",
            "goodsCd", "mpn")
CURRENCY_KEYS = ("currency", "currencyCode", "priceCurrency", "currency_code")
# An object describing the brand first: beside it "brand" may be a code (Musinsa's "musinsastandard"
# beside "brandInfo": {"brandName": "무신사 스탠다드"}); Naver keeps it in "naverShoppingSearchInfo"
# ({"brandName", "manufacturerName"}); Shopify names it "vendor". The manufacturer is schema.org's own
# field, a brand's fallback.
BRAND_KEYS = ("brandInfo", "naverShoppingSearchInfo", "brand", "brandName", "brand_name", "vendor")
MANUFACTURER_KEYS = ("naverShoppingSearchInfo", "manufacturer", "manufacturerName")
# The audience as a word or a code, alone or several (Musinsa's "sex": "M", "여성", ["남성", "여성"])
GENDER_KEYS = ("gender", "sex")
CATEGORY_KEYS = ("category", "categoryPath", "wholeCategoryName", "categoryName", "categories")
# The sale status, as schema.org says it; Naver's "productStatusType" is SALE, OUTOFSTOCK, SUSPENSION
# (판매중지), CLOSE (판매종료) or PROHIBITION. True under a sold-out flag says OutOfStock.
AVAILABILITY_KEYS = ("availability", "productStatusType", "stockStatus", "saleStatus", "goodsSaleType")
SOLD_OUT_KEYS = ("soldOut", "isSoldOut", "outOfStock", "isOutOfStock")
AVAILABILITY_WORDS = {
    "instock": "InStock", "sale": "InStock", "onsale": "InStock", "available": "InStock",
    "availablefororder": "InStock", "availabletoorder": "InStock",  # Facebook's catalog: orderable
    "outofstock": "OutOfStock", "oos": "OutOfStock", "soldout": "OutOfStock", "suspension": "OutOfStock",
    "preorder": "PreOrder", "backorder": "BackOrder",
    "discontinued": "Discontinued", "close": "Discontinued", "closed": "Discontinued", "prohibition": "Discontinued",
}

# JavaScript assignments of a state object: the object itself is read as JSON from its first brace,
# or, for `= JSON.parse("...")`, from the double-quoted string (a JSON string literal too)
_ASSIGNED_STATE = re.compile(
    r"(?:window\.|\bvar\s+|\bconst\s+|\blet\s+)?(__PRELOADED_STATE__|__INITIAL_STATE__|__APOLLO_STATE__|"
    r"__NEXT_DATA__|__STATE__)\s*=\s*(?:(?=[{\[])|JSON\.parse\(\s*(?=\"))"
)
MAX_STATE_CHARS = 5_000_000  # a page's state beyond this is not read (a hostile page, not a product)
MAX_NODES = 200_000  # objects and lists walked per page
_WORDS = re.compile(r"\w+", re.UNICODE)
# What sets apart the parts of a page title: the shop's name, a page's suffix ("- 사이즈 & 후기")
_TITLE_PARTS = re.compile(r"\s+[:/·–—-]\s+|\s*[|｜]\s*")


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


def _first_price(node: dict[str, Any], keys: tuple[str, ...], *, inside: bool = True) -> float | str | None:
    """The first price under `keys`: a key holding none (an empty benefit, a discount of 0) is passed
    over; an object of prices is looked into once (`inside`)."""
    for key in keys:
        value = node.get(key)
        if isinstance(value, dict):
            price = _first_price(value, PRICE_KEYS + ("value", "sale", "current", "final"), inside=False) if inside else None
        else:
            price = _price(value)
        if price is not None:
            return price
    return None


def _price(value: Any) -> float | str | None:
    """A price value: a number or a numeric string, not 0 (no garment costs nothing)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value > 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[\d.,\s]*\d[\d.,\s]*", value) and re.search(r"[1-9]", value):
        return value.strip()
    return None


def _images(node: dict[str, Any]) -> list[str]:
    """The image URLs under every image key (the main image, then a gallery: Naver's "productImages"),
    each a string or an object holding one (``{"url": ...}``)."""
    urls: dict[str, None] = {}  # once each, in order (a list's `in` is quadratic in a hostile gallery)
    for key in IMAGE_KEYS:
        value = node.get(key)
        for candidate in value if isinstance(value, list) else [value]:
            if isinstance(candidate, dict):
                candidate = _first(candidate, ("url", "src", "contentUrl", "imageUrl", "original", "large"))
            if isinstance(candidate, str) and re.match(r"(?:https?:)?//|/", candidate.strip()):
                urls.setdefault(candidate.strip())
    return list(urls)


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = _first(value, ("name", "value", "text"))
    return value.strip() if isinstance(value, str) and value.strip() else None


def _named(node: dict[str, Any], keys: tuple[str, ...], inner: tuple[str, ...]) -> str | None:
    """The first name under `keys`: a string, or one under `inner` of an object there (an object
    naming none, Naver's search info without a brand, passes to the next key)."""
    for key in keys:
        value = node.get(key)
        name = _text(_first(value, inner) if isinstance(value, dict) else value)
        if name:
            return name
    return None


def _category(value: Any) -> str | None:
    """A category path: a string, a list of levels, or an object naming it (its whole path first:
    Naver's "wholeCategoryName") or naming its levels, in order (Musinsa's "categoryDepth1Name", ...)."""
    if isinstance(value, dict):
        whole = _text(_first(value, ("wholeCategoryName", "fullName", "path", "name", "categoryName")))
        value = whole or [v for k, v in value.items() if k.lower().endswith("name")]
    levels = [_text(level) for level in (value if isinstance(value, list) else [value])]
    return ">".join(level for level in levels if level) or None


def availability_term(value: Any) -> str | None:
    """A schema.org availability term for a shop's stock word ("out_of_stock", "SOLD OUT", Naver's
    "SALE"), a schema.org URL included; None for any other word."""
    if not isinstance(value, str):
        return None
    return AVAILABILITY_WORDS.get(re.sub(r"[\s_-]+", "", value.rstrip("/").rsplit("/", 1)[-1].lower()))


def _availability(node: dict[str, Any]) -> str | None:
    if any(node.get(key) is True for key in SOLD_OUT_KEYS):
        return "OutOfStock"
    return next((term for key in AVAILABILITY_KEYS if (term := availability_term(node.get(key)))), None)


def _words(value: str) -> list[str]:
    return _WORDS.findall(value.casefold())


def names_the_page(name: str, titles: list[str]) -> bool:
    """``name`` is what one of the page's titles says: all of its words, in order, inside the title
    (which may add the shop's name), and at least half of the title's words; or so inside one part
    of the title (the shop's name and a suffix such as "- 사이즈 & 후기" set apart)."""
    words = _words(name)
    if not words:
        return False
    for title in titles:
        for part in (title, *_TITLE_PARTS.split(title)):
            part_words = _words(part)
            if f" {' '.join(words)} " in f" {' '.join(part_words)} " and len(words) * 2 >= len(part_words):
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
            price = _first_price(node, PRICE_KEYS)
            images = _images(node)
            if name and price is not None and images and names_the_page(name, titles):
                if best is None or len(_words(name)) > best[0]:
                    best = (len(_words(name)), _as_product(node, name, price, images))
    return best[1] if best else None


def _as_product(node: dict[str, Any], name: str, price: float | str, images: list[str]) -> dict[str, Any]:
    """A state object as a schema.org Product node."""
    offer: dict[str, Any] = {"@type": "Offer", "price": price}
    price_objects = [node[k] for k in PRICE_KEYS if isinstance(node.get(k), dict)]
    currency = next((c for holder in (node, *price_objects) if (c := _text(_first(holder, CURRENCY_KEYS)))), None)
    if currency:
        offer["priceCurrency"] = currency
    availability = _availability(node)
    if availability:
        offer["availability"] = availability
    product: dict[str, Any] = {"@type": "Product", "name": name, "image": images, "offers": offer}
    gender = _first(node, GENDER_KEYS)
    gender = ", ".join(g for g in map(_text, gender) if g) if isinstance(gender, list) else _text(gender)
    if gender:
        product["audience"] = {"@type": "PeopleAudience", "suggestedGender": gender}
    category = _category(_first(node, CATEGORY_KEYS))
    if category:
        product["category"] = category
    sku = _first(node, SKU_KEYS)
    if isinstance(sku, (str, int)) and not isinstance(sku, bool) and str(sku).strip():
        product["sku"] = str(sku).strip()
    brand = _named(node, BRAND_KEYS, ("name", "brandName"))
    if brand:
        product["brand"] = brand
    manufacturer = _named(node, MANUFACTURER_KEYS, ("name", "manufacturerName"))
    if manufacturer:
        product["manufacturer"] = manufacturer
    return product
