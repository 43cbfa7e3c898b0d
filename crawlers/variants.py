"""The variant of a ``ProductGroup`` that a page stands for.

A group (``hasVariant``) gives each colour or size its own SKU, offer, colour and picture; a record
takes all of them from one variant, or it mixes one variant's SKU with another's price (the beige
skirt's SKU sold at the navy one's price and stock). The variant is the one the page URL names (its
own address or id, its SKU, its colour word), else the first in stock with a price, else the first.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from vtonkit.crawlers.evidence import text
from vtonkit.crawlers.offers import choose_offer, flat_offers, offer_availability
from vtonkit.crawlers.sku import occurs_in, url_key
from vtonkit.crawlers.urls import join_url, split_url


def group_variants(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The variant nodes of a product group (``hasVariant``), in page order; none for a plain product."""
    raw = product.get("hasVariant")
    return [v for v in (raw if isinstance(raw, list) else [raw]) if isinstance(v, dict)]


def _addresses(variant: dict[str, Any]) -> list[str]:
    """Where a variant says it is shown: its ``url``, its ``@id``, its offers' ``url``s (Shopify:
    ``/products/linen-shirt?variant=2``)."""
    found = [text(variant.get("url")), variant.get("@id") if isinstance(variant.get("@id"), str) else None]
    found += [text(offer.get("url")) for offer in flat_offers(variant)]
    return [address for address in found if address]


def _names_page(address: str, page_url: str) -> bool:
    """`address` is the page's: its query parameters are all the page's (``?variant=2``), or, with no
    query, its path is the page's."""
    own, page = split_url(join_url(page_url, address) if page_url else address), split_url(page_url)
    pairs = parse_qsl(own.query)
    if pairs:
        return set(pairs) <= set(parse_qsl(page.query))
    return bool(own.path.strip("/")) and own.path.rstrip("/") == page.path.rstrip("/")


def _url_words(url: str) -> list[str]:
    """The words of a URL's path and query, decoded and folded (``/p/ps-1-beige?c=light%20blue``)."""
    parts = split_url(url)
    return re.findall(r"\w+", unquote(parts.path + " " + parts.query).casefold())


def _colour_named(colour: str | None, words: list[str]) -> bool:
    """The URL `words` hold the colour's words one after another ("light blue" in ``light-blue``)."""
    wanted = re.findall(r"\w+", (colour or "").casefold())
    return bool(wanted) and any(words[i:i + len(wanted)] == wanted for i in range(len(words)))


def _references(variant: dict[str, Any]) -> list[str]:
    return [value for value in (text(variant.get("sku")), text(variant.get("productID"))) if value]


def preferred_variant(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """The variant whose offer `offers.choose_offer` prefers (in stock with a price, else with a price),
    else the first."""
    owned = [(offer, variant) for variant in variants for offer in flat_offers(variant)]
    best = choose_offer([offer for offer, _ in owned])
    return next((variant for offer, variant in owned if offer is best), variants[0])


def chosen_variant(product: dict[str, Any], page_url: str) -> dict[str, Any] | None:
    """The variant of `product`'s group the page at `page_url` shows; None when it is no group.

    Signals, strongest first: the variant's own address, its SKU or id in the URL (the longest one
    found, so "AB-12" is not read as "AB-1"), its colour in the URL's words. A signal that every
    variant matches (all share the group's address) names none; of several matching (the sizes of
    the named colour), the `preferred_variant`.
    """
    variants = group_variants(product)
    if not variants:
        return None
    key, words = url_key(page_url), _url_words(page_url)

    def reference_length(variant: dict[str, Any]) -> int:
        return max((len(r) for r in _references(variant) if occurs_in(r, key)), default=0)

    longest = max(map(reference_length, variants))
    signals = (
        lambda v: any(_names_page(address, page_url) for address in _addresses(v)),
        lambda v: longest > 0 and reference_length(v) == longest,
        lambda v: _colour_named(text(v.get("color")), words),
    )
    for names in signals:
        matching = [v for v in variants if names(v)]
        if matching and len(matching) < len(variants):
            return preferred_variant(matching)
    return preferred_variant(variants)


def _look(variant: dict[str, Any]) -> tuple[str, str]:
    """What a shopper sees of a variant: its colour and its picture (sizes look alike)."""
    return (text(variant.get("color")) or "").casefold(), repr(variant.get("image"))


def other_looks(product: dict[str, Any], shown: dict[str, Any], page_url: str) -> list[tuple[dict[str, Any], str | None]]:
    """One variant for each colour (or picture) of the group other than `shown`'s, in page order, with
    the address of its own page, or None where it has none but the group's (this page)."""
    looks: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for variant in group_variants(product):
        looks.setdefault(_look(variant), []).append(variant)
    found = []
    for look, sizes in looks.items():
        if look == _look(shown):
            continue
        own = [a for v in sizes for a in _addresses(v) if not _names_page(a, page_url) and a.split("#")[0]]
        found.append((preferred_variant(sizes), own[0].split("#")[0] if own else None))
    return found


def variant_availability(product: dict[str, Any], variant: dict[str, Any]) -> str | None:
    """`variant`'s availability: ``InStock`` when it or a variant that looks the same (another size
    of that colour and picture) can be ordered, else what its own offer says; None when it has no offer.

    The group's other colours do not count: a sold-out beige skirt is sold out while the navy one sells.
    """
    offer = choose_offer(flat_offers(variant))
    own = offer_availability(offer) if offer else None
    if own is None:
        return None
    sizes = [v for v in group_variants(product) if _look(v) == _look(variant)]
    if any(offer_availability(o) == "InStock" for v in sizes for o in flat_offers(v)):
        return "InStock"
    return own
