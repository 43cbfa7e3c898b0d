"""Structured-data-first product extraction, shared by every spider and `vtonkit extract-product`.

Order of evidence, most to least trusted: schema.org ``Product`` in JSON-LD, schema.org
microdata and OpenGraph/``product:`` meta tags, the page's application state when it has none of
those (:mod:`~vtonkit.crawlers.page_state`), then the visible page: labelled references,
price-classed elements, breadcrumb trails, ``<h1>``. This module only assembles; each job has
its module:

* :mod:`~vtonkit.crawlers.evidence`: parse the page once, pick the product node on screen
* :mod:`~vtonkit.crawlers.offers`: price, currency, availability
* :mod:`~vtonkit.crawlers.sku`: the product reference, ranked over every source
* :mod:`~vtonkit.crawlers.variants`: the variant of a product group the page shows
* :mod:`~vtonkit.crawlers.page_fields`: brand, breadcrumbs, images, gender, product id
* :mod:`~vtonkit.crawlers.categories`: the garment category, from the vocabularies in crawlers/vocab/
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from vtonkit.crawlers import page_fields
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.evidence import (
    canonical_url,
    has_opengraph_product,
    main_product,
    page_text,
    page_url,
    read_evidence,
    text,
)
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.offers import read_offer, shows_many_prices
from vtonkit.crawlers.sku import choose_sku, sku_candidates
from vtonkit.crawlers.text_fields import with_bounded_text
from vtonkit.crawlers.urls import join_url, split_url
from vtonkit.crawlers.variants import chosen_variant, group_variants, other_looks, variant_availability

logger = logging.getLogger(__name__)

__all__ = ["ProductPage", "extract_product", "is_product_page", "page_url", "read_product_page"]


def is_product_page(item: ProductItem | None) -> bool:
    """True when extraction found a product (a title plus a price, SKU or image from product data)."""
    return bool(item and item.title and (item.price is not None or item.sku) and item.sources.get("product"))


@dataclasses.dataclass
class ProductPage:
    """What one product page gives a crawl: its product, and for a product group (``hasVariant``) the
    group's other colours: a record for each colour this page alone shows (no address of its own)
    with a picture of its own, and the addresses of the colours that have pages of their own."""

    item: ProductItem | None
    other_colours: list[ProductItem] = dataclasses.field(default_factory=list)
    colour_pages: list[str] = dataclasses.field(default_factory=list)


def extract_product(page_html: str | bytes, url: str = "", *, store: str = "",
                    expected: bool = False) -> ProductItem | None:
    """The product of one page (`read_product_page`); None when the page holds no product."""
    return read_product_page(page_html, url, store=store, expected=expected).item


def read_product_page(page_html: str | bytes, url: str = "", *, store: str = "",
                      expected: bool = False) -> ProductPage:
    """Read one product page into a :class:`ProductItem` (None when the page holds no product) and
    its group's other colours.

    ``url`` is the page's address (used to resolve relative image URLs and to rank SKU
    candidates); when empty the page's canonical/og:url is used. ``expected``: the crawl reached
    the page as a product's (a product link, a product sitemap); then a page without product data
    is one when it shows one product: a ``<h1>`` name, its price and its picture, and not the
    prices of several (``sources["product"] == "visible"``). Script-drawn shops often write no
    product data at all.
    """
    if isinstance(page_html, bytes):
        page_html = page_text(page_html)
    url = url or page_url(page_html) or ""
    evidence = read_evidence(page_html, url)
    product = main_product(evidence)
    if page_fields.is_article_page(evidence, product):
        return ProductPage(None)  # a blog post's Product is the item it writes about, not the page's
    # A group's name, brand and id are the product's; SKU, offer, colour and picture are one variant's.
    variant = chosen_variant(product, url)
    item = _product_item(evidence, product, variant, url, store=store, expected=expected)
    if variant is None or item is None:
        return ProductPage(item)
    page = ProductPage(item)
    for other, address in other_looks(product, variant, url):
        if address:
            page.colour_pages.append(join_url(url, address))
        elif other.get("image") and repr(other.get("image")) != repr(variant.get("image")):
            # without a picture of its own the record would hold the shown colour's
            colour = _product_item(evidence, product, other, url, store=store, expected=expected)
            if colour is not None:
                page.other_colours.append(colour)
    return page


def _product_item(evidence: Any, product: dict[str, Any], variant: dict[str, Any] | None, url: str, *,
                  store: str, expected: bool) -> ProductItem | None:
    """The record of `product` as `variant` of its group (None: no group) shows it; None when the page
    holds no product."""
    shown = variant or product
    meta = evidence.meta
    sources: dict[str, str] = {}
    if evidence.json_ld:
        sources["product"] = "json-ld"
    elif evidence.microdata:
        sources["product"] = evidence.attribute_markup
    elif has_opengraph_product(meta):
        sources["product"] = "opengraph"
    elif evidence.state:
        sources["product"] = "page-state"
    structured = ("json-ld" if product in evidence.json_ld else evidence.attribute_markup if product in evidence.microdata
                  else "page-state")

    def pick(name: str, *candidates: tuple[str, Any]) -> str | None:
        """The first non-empty candidate that is no placeholder ("N/A"); a callable one (a scan of
        the page) runs only when reached."""
        for source, value in candidates:
            chosen = text(value() if callable(value) else value)
            if chosen and not page_fields.is_placeholder(chosen):
                sources[name] = source
                return chosen
        return None

    h1 = evidence.selector.xpath("normalize-space(//h1)").get()
    site, host = meta.get("og:site_name"), split_url(url).hostname or ""
    title = pick(
        "title",
        (structured, product.get("name")),
        ("opengraph", page_fields.without_site_name(meta.get("og:title"), site, h1, host)),
        ("html", h1),
        ("html", page_fields.without_site_name(evidence.selector.xpath("normalize-space(//title)").get(), site)),
    )
    trail = page_fields.breadcrumbs(evidence)
    brand = pick(
        "brand",
        (structured, product.get("brand")),
        ("opengraph", meta.get("product:brand")),
        ("opengraph", meta.get("og:brand")),
        (structured, product.get("manufacturer")),
        ("twitter-card", lambda: page_fields.card_brand(evidence)),
        ("html", lambda: page_fields.brand_from_html(evidence)),
        ("html", lambda: page_fields.labelled_brand(evidence)),
        ("html", lambda: page_fields.brand_before_heading(evidence, trail)),
    )
    brand = page_fields.without_brand_label(brand)
    colour = pick(
        "colour",
        (structured, shown.get("color")),
        (structured, product.get("color")),
        ("opengraph", meta.get("product:color")),
        ("twitter-card", lambda: page_fields.card_colour(evidence)),
        ("html", lambda: page_fields.visible_colour(evidence)),
    )

    offer = read_offer(evidence, shown, structured)
    if variant is not None:
        # read_offer counts every variant of the group as a size of this one: not the other colours
        offer = dataclasses.replace(offer, availability=variant_availability(product, variant) or offer.availability)
    if offer.price_source:
        sources["price"] = offer.price_source

    other_variants = [v for v in group_variants(product) if v is not variant]
    sku = choose_sku(sku_candidates(evidence, shown, passed_over=other_variants), url)
    category = normalise_category(
        schema_category=text(product.get("category")) or offer.category,
        breadcrumbs=trail,
        title=title,
        url=url,
        language=evidence.language,
    )

    images = page_fields.image_urls(evidence, shown, None if sources.get("product") else title)
    if (sources.get("product") == "opengraph" and offer.price is None and not sku and images
            and all(map(page_fields.is_decoration, images))):
        # og:type "product" with no price, no reference and no picture but the shop's logo: an error
        # page the shop's template declares as a product ("Page not found")
        del sources["product"]
    item = with_bounded_text(ProductItem(
        store=store or (split_url(url).hostname or ""),
        url=url,
        canonical_url=canonical_url(evidence.selector, url),
        product_id=page_fields.product_id(product, sku, url),
        sku=sku,
        title=title,
        brand=brand,
        price=offer.price,
        currency=offer.currency,
        availability=offer.availability,
        gender=page_fields.gender(evidence, product, trail),
        colour=colour,
        category=category,
        breadcrumbs=trail,
        image_urls=images,
        sources=sources,
    ))
    shows_one_product = (title and offer.price is not None and item.image_urls
                         and page_fields.title_heading(evidence, title) is not None and not shows_many_prices(evidence))
    if expected and not sources.get("product") and shows_one_product:
        sources["product"] = "visible"
    if not sources.get("product") and not (title and offer.price is not None):
        return None
    if not sources.get("product"):
        # a title and a price, which `vtonkit extract-product` prints, are no product to a crawl (`is_product_page`)
        sources["crawl"] = "not kept: no product data" + (
            "; kept where a crawl reaches it as a product's (a product link or sitemap entry)" if shows_one_product
            else ", and the page does not show one product (a heading naming it, its price and picture)")
    return item
