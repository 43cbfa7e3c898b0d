"""Structured-data-first product extraction, shared by every spider and `vtonkit extract-product`.

Order of evidence, most to least trusted: schema.org ``Product`` in JSON-LD (read tolerantly,
see :mod:`vtonkit.crawlers.jsonld`), schema.org microdata and OpenGraph/``product:`` meta tags
(extruct), then the visible page: labelled references ("Article number: ...",
``data-*="product-reference"``), price-classed elements, breadcrumb trails, ``<h1>``.

The SKU needs care: shops put per-size variant SKUs in their offers and a product-level
reference in the visible page. Candidates from every source are ranked: one that also occurs in
the page URL wins (shops put the product reference in product URLs), then visible labelled
references, then structured-data SKUs.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import extruct
from parsel import Selector
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.items import ProductItem
from vtonkit.crawlers.jsonld import iter_nodes, json_ld_blocks, types_of
from vtonkit.crawlers.prices import currency_code, parse_price

logger = logging.getLogger(__name__)

PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "someproducts", "vehicle"}

# Labels that introduce a product reference in the visible text, in several languages.
_SKU_LABEL = (
    r"(?:article\s*(?:number|no\.?|nr\.?|#)|art\.?\s*-?\s*(?:nr|no|nummer)\.?|artikel\s*-?\s*nummer|artikelnr\.?"
    r"|item\s*(?:number|no\.?|#|code)|style\s*(?:number|no\.?|#|code|id)|product\s*(?:code|number|id|no\.?|ref\.?)"
    r"|model\s*(?:number|no\.?|code)|sku|ref(?:erence)?\.?|r[ée]f[ée]rence|r[ée]f\.?|c[óo]digo(?:\s*de\s*producto)?"
    r"|referencia|codice(?:\s*articolo)?|kod\s*produktu|numer\s*artyku[łl]u|varenummer|artikelnummer)"
)
# a reference has at least one digit ("Style: Casual" is not one)
_SKU_VALUE = r"(?=[A-Za-z\-/._]*\d)([A-Za-z0-9][A-Za-z0-9\-/._]{2,40}[A-Za-z0-9])"
# "Ref. 1234/567" and "SKU 12345" are written without a colon too
_LABELLED_SKU = re.compile(r"(?<![A-Za-z])" + _SKU_LABEL + r"\s*[:#]?\s*" + _SKU_VALUE, re.IGNORECASE)
_SKU_ATTR_WORDS = (
    "sku",
    "product-reference",
    "product-code",
    "productcode",
    "article-number",
    "articlenumber",
    "style-number",
    "item-number",
    "product-ref",
    "product-id-display",
)

_GENDER_WORDS = {
    "women": (
        "women",
        "woman",
        "womens",
        "female",
        "ladies",
        "damen",
        "femme",
        "femmes",
        "mujer",
        "donna",
        "dames",
        "kobiety",
        "نساء",
        "نسائي",
    ),
    "men": (
        "men",
        "man",
        "mens",
        "male",
        "herren",
        "homme",
        "hommes",
        "hombre",
        "uomo",
        "heren",
        "mezczyzni",
        "رجال",
        "رجالي",
    ),
    "kids": (
        "kids",
        "kid",
        "children",
        "girls",
        "boys",
        "kinder",
        "enfant",
        "enfants",
        "nino",
        "bambini",
        "اطفال",
        "اولاد",
        "بنات",
    ),
    "unisex": ("unisex",),
}


@dataclass
class _Evidence:
    """Everything read from one page before fields are chosen."""

    url: str
    selector: Selector
    json_ld: list[dict[str, Any]] = field(default_factory=list)  # Product nodes
    json_ld_all: list[dict[str, Any]] = field(default_factory=list)
    microdata: list[dict[str, Any]] = field(default_factory=list)  # Product items
    microdata_all: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # og:/product:/twitter:/name= metas
    visible_text: str = ""


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return next((v for v in value if v not in (None, "", [], {})), None)
    return value


def _text(value: Any) -> str | None:
    """A plain string from a JSON-LD/microdata value (string, number, {name}, [..])."""
    value = _first(value)
    if isinstance(value, dict):
        value = (
            value.get("name")
            or value.get("@value")
            or value.get("value")
            or value.get("properties", {}).get("name")
        )
        value = _first(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    text = re.sub(r"\s+", " ", html.unescape(str(value))).strip()  # some shops entity-escape JSON-LD
    return text or None


def _schema_term(value: Any) -> str | None:
    """ "http://schema.org/InStock" -> "InStock"."""
    text = _text(value)
    if not text:
        return None
    return text.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _read_evidence(page_html: str, url: str) -> _Evidence:
    selector = Selector(text=page_html)
    evidence = _Evidence(url=url, selector=selector)
    for block in json_ld_blocks(page_html, url):
        for node in iter_nodes(block):
            evidence.json_ld_all.append(node)
            if types_of(node) & PRODUCT_TYPES:
                evidence.json_ld.append(node)
    try:
        data = extruct.extract(
            selector.root,
            base_url=url or None,
            syntaxes=["microdata", "opengraph"],
            uniform=True,
            errors="log",
        )
    except Exception as exc:  # extruct raises assorted errors on odd markup; the rest still works
        logger.info("extruct failed on %s: %s", url or "<page>", exc)
        data = {}
    for item in data.get("microdata", []) or []:
        for node in iter_nodes(item):
            evidence.microdata_all.append(node)
            if types_of(node) & PRODUCT_TYPES:
                evidence.microdata.append(node)
    for og in data.get("opengraph", []) or []:
        for key, value in og.items():
            if isinstance(key, str) and ":" in key and key not in evidence.meta:
                evidence.meta[key.lower()] = _text(value) or ""
    for meta in selector.xpath("//meta[@content]"):
        key = (
            meta.attrib.get("property") or meta.attrib.get("name") or meta.attrib.get("itemprop") or ""
        ).lower()
        if key and key not in evidence.meta:
            evidence.meta[key] = meta.attrib["content"].strip()
    texts = selector.xpath(
        "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
    ).getall()
    evidence.visible_text = re.sub(r"\s+", " ", " ".join(texts))
    return evidence


def _image_paths(value: Any) -> set[str]:
    """URL paths (no query) of a JSON-LD image value, for comparing variants with og:image."""
    values = value if isinstance(value, list) else [value]
    paths = set()
    for v in values:
        if isinstance(v, dict):
            v = v.get("contentUrl") or v.get("url")
        if isinstance(v, str) and v:
            paths.add(urlsplit(v).path)
    return paths


def _main_product(evidence: _Evidence) -> dict[str, Any]:
    """The page's own product node.

    Pages often list one node per variant (size, colour). The node for the variant on screen
    is the one whose URL is the page's, whose image is the page's ``og:image``, or whose colour
    is named in the page URL; otherwise the first named node.
    """
    nodes = [n for n in evidence.json_ld + evidence.microdata if _text(n.get("name"))]
    if not nodes:
        return (evidence.json_ld + evidence.microdata or [{}])[0]
    page = urlsplit(evidence.url)
    page_words = set(re.findall(r"[a-z]+", (page.path + " " + page.query).lower()))
    og_images = {
        urlsplit(u).path for u in evidence.selector.xpath("//meta[@property='og:image']/@content").getall()
    }

    def score(entry: tuple[int, dict[str, Any]]) -> tuple[int, int, int, int]:
        index, node = entry
        node_url = _text(node.get("url")) or ""
        same_page = int(
            bool(node_url) and urlsplit(node_url).path == page.path and bool(page.path.strip("/"))
        )
        same_image = int(bool(og_images & _image_paths(node.get("image"))))
        colour = (_text(node.get("color")) or "").lower()
        colour_in_url = int(bool(colour) and colour in page_words)
        return (same_page, same_image, colour_in_url, -index)

    return max(enumerate(nodes), key=score)[1]


def _offers(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat offers of a product node (list, single Offer, AggregateOffer with or without offers)."""
    raw = node.get("offers")
    if raw is None and isinstance(node.get("hasVariant"), list):
        raw = [v.get("offers") for v in node["hasVariant"] if isinstance(v, dict)]
    pending = raw if isinstance(raw, list) else [raw]
    flat: list[dict[str, Any]] = []
    while pending:
        offer = pending.pop(0)
        if isinstance(offer, list):
            pending[:0] = offer
        elif isinstance(offer, dict):
            if "aggregateoffer" in types_of(offer) and isinstance(offer.get("offers"), (list, dict)):
                pending[:0] = offer["offers"] if isinstance(offer["offers"], list) else [offer["offers"]]
                if offer.get("lowPrice") is None and offer.get("price") is None:
                    continue
            flat.append(offer)
    return flat


def _offer_price(offer: dict[str, Any]) -> tuple[float | None, str | None]:
    currency = _text(offer.get("priceCurrency"))
    value = offer.get("price")
    if value in (None, ""):
        value = offer.get("lowPrice")
    spec = offer.get("priceSpecification")
    if value in (None, "") and spec:
        spec = _first(spec) if isinstance(spec, list) else spec
        if isinstance(spec, dict):
            value = spec.get("price")
            currency = currency or _text(spec.get("priceCurrency"))
    value = _first(value)
    if isinstance(value, str):
        value = value.strip()
    return parse_price(value, currency)


def _choose_offer(offers: list[dict[str, Any]]) -> dict[str, Any] | None:
    priced = [o for o in offers if _offer_price(o)[0] is not None]
    in_stock = [o for o in priced if (_schema_term(o.get("availability")) or "").lower() == "instock"]
    return (in_stock or priced or offers or [None])[0]


def _price_from_html(evidence: _Evidence) -> tuple[float | None, str | None]:
    sel = evidence.selector
    for value in sel.xpath("//*[@itemprop='price']/@content | //*[@itemprop='price']//text()").getall():
        amount, currency = parse_price(value, sel.xpath("//*[@itemprop='priceCurrency']/@content").get())
        if amount is not None:
            return amount, currency
    price_nodes = sel.xpath(
        "//*[contains(translate(@class, 'PRICE', 'price'), 'price') or contains(translate(@data-testid, 'PRICE', 'price'), 'price')]"
        "[not(ancestor::script)]"
    )
    for node in price_nodes[:40]:
        text = " ".join(node.xpath(".//text()").getall()).strip()
        if not text or len(text) > 60 or not re.search(r"\d", text):
            continue
        amount, currency = parse_price(text)
        if amount is not None and currency:
            return amount, currency
    return None, None


def _sku_candidates(evidence: _Evidence, product: dict[str, Any]) -> list[tuple[str, int]]:
    """(sku, source rank) pairs; rank 3 = visible labelled, 2 = structured data, 1 = meta."""
    found: list[tuple[str, int]] = []
    for match in _LABELLED_SKU.finditer(evidence.visible_text):
        found.append((match.group(1), 3))
    attr_test = " or ".join(
        f"contains(translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '{w}')"
        for w in _SKU_ATTR_WORDS
    )
    xpath = (
        "//*[@*[(local-name()='class' or local-name()='id' or local-name()='itemprop' or starts-with(local-name(), 'data-'))"
        f" and ({attr_test})]][not(self::script) and not(self::meta) and not(self::input)]"
    )
    for node in evidence.selector.xpath(xpath)[:30]:
        text = re.sub(r"\s+", " ", " ".join(node.xpath(".//text()").getall())).strip()
        labelled = _LABELLED_SKU.search(text)
        if labelled:
            text = labelled.group(1)
        if 3 <= len(text) <= 40 and re.search(r"\d", text) and " " not in text:
            found.append((text, 3))
    for node in [product] + [n for n in evidence.json_ld + evidence.microdata if n is not product]:
        for key in ("sku", "productID", "mpn"):
            value = _text(node.get(key))
            if value and not value.startswith("http"):
                found.append((value.removeprefix("sku:"), 2))
    for key in ("product:retailer_item_id", "product:sku", "og:product:id", "sku"):
        if evidence.meta.get(key):
            found.append((evidence.meta[key], 1))
    return found


def _alnum(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _choose_sku(candidates: list[tuple[str, int]], url: str) -> str | None:
    if not candidates:
        return None
    parts = urlsplit(url)
    url_key = _alnum(parts.path + "?" + parts.query)

    def score(entry: tuple[int, tuple[str, int]]) -> tuple[int, int, int]:
        index, (sku, rank) = entry
        key = _alnum(sku)
        in_url = 1 if len(key) >= 5 and key in url_key else 0
        return (in_url, rank, -index)

    return max(enumerate(candidates), key=score)[1][0]


def _brand_from_html(evidence: _Evidence) -> str | None:
    """A visible brand element (``class="product-brand"``, ``brand-name``); never a site logo."""
    for node in evidence.selector.xpath(
        "//*[contains(@class, 'product-brand') or contains(@class, 'productBrand') or contains(@class, 'brand-name')"
        " or contains(@class, 'product__brand') or contains(@data-testid, 'brand')][not(self::script)]"
    )[:5]:
        text = re.sub(r"\s+", " ", " ".join(node.xpath(".//text()").getall())).strip()
        if text and len(text) <= 60:
            return text
    return None


def _breadcrumbs(evidence: _Evidence) -> list[str]:
    for node in evidence.json_ld_all + evidence.microdata_all:
        if "breadcrumblist" not in types_of(node):
            continue
        elements = node.get("itemListElement") or []
        elements = elements if isinstance(elements, list) else [elements]
        elements = sorted(
            (e for e in elements if isinstance(e, dict)),
            key=lambda e: (
                float(_text(e.get("position")) or 0)
                if re.match(r"^[\d.]+$", _text(e.get("position")) or "")
                else 0
            ),
        )
        names = [_text(e.get("name")) or _text(e.get("item")) for e in elements]
        names = [n for n in names if n and not n.startswith("http")]
        if names:
            return names
    for trail in evidence.selector.xpath(
        "//*[contains(translate(@class, 'BREADCRUMB', 'breadcrumb'), 'breadcrumb') or "
        "contains(translate(@aria-label, 'BREADCRUMB', 'breadcrumb'), 'breadcrumb') or "
        "contains(translate(@id, 'BREADCRUMB', 'breadcrumb'), 'breadcrumb')][.//a]"
    )[:1]:
        names = [
            re.sub(r"\s+", " ", t).strip()
            for t in trail.xpath(".//a//text() | .//li[not(.//a)]//text()").getall()
        ]
        names = [n for n in names if n and n not in {">", "/", "›", "»", "|"}]
        if names:
            return names
    return []


def _image_urls(evidence: _Evidence, product: dict[str, Any]) -> list[str]:
    urls: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                add(v)
        elif isinstance(value, dict):
            add(value.get("contentUrl") or value.get("url") or value.get("@id"))
        elif isinstance(value, str) and value.strip() and not value.strip().startswith("data:"):
            absolute = urljoin(evidence.url, value.strip()) if evidence.url else value.strip()
            if absolute not in urls:
                urls.append(absolute)

    add(product.get("image"))
    if not urls:
        for node in evidence.json_ld + evidence.microdata:
            add(node.get("image"))
    if not urls:
        add(
            evidence.selector.xpath(
                "//meta[@property='og:image' or @property='og:image:url' or @property='og:image:secure_url']/@content"
            ).getall()
            or evidence.meta.get("twitter:image")
        )
    if not urls:
        sel = evidence.selector
        add(sel.xpath("//img[@itemprop='image']/@src").getall())
        add(
            sel.xpath(
                "//*[contains(@class, 'gallery') or contains(@class, 'product-image') or contains(@class, 'product-media')]"
                "//img/@src"
            ).getall()
        )
    return urls


def _gender(evidence: _Evidence, product: dict[str, Any], breadcrumbs: list[str]) -> str | None:
    audience = product.get("audience")
    explicit = [
        _text(audience.get("suggestedGender")) if isinstance(audience, dict) else None,
        _text(product.get("gender")),
        evidence.meta.get("product:target_gender"),
        evidence.meta.get("product:gender"),
    ]
    texts = [t for t in explicit if t] + [" ".join(breadcrumbs), urlsplit(evidence.url).path]
    for text in texts:
        words = set(re.findall(r"[^\W\d_]+", text.lower()))
        for gender in ("unisex", "kids", "women", "men"):
            if words & set(_GENDER_WORDS[gender]):
                return gender
    return None


def _product_id(product: dict[str, Any], sku: str | None, url: str) -> str:
    for key in ("productID", "productGroupID", "sku"):
        value = _text(product.get(key))
        if value and not value.startswith("http"):
            return value
    if sku:
        return sku
    path = urlsplit(url).path.rstrip("/")
    slug = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return slug or hashlib.sha1(url.encode()).hexdigest()[:12]


def page_url(page_html: str) -> str | None:
    """The page's own URL as it declares it (canonical link, then og:url), for saved pages."""
    selector = Selector(text=page_html)
    return (
        selector.xpath("//link[@rel='canonical']/@href").get()
        or selector.xpath("//meta[@property='og:url']/@content").get()
    )


def is_product_page(item: ProductItem | None) -> bool:
    """True when extraction found a product (a title plus a price, SKU or image from product data)."""
    return bool(item and item.title and (item.price is not None or item.sku) and item.sources.get("product"))


def extract_product(page_html: str | bytes, url: str = "", *, store: str = "") -> ProductItem | None:
    """Read one product page into a :class:`ProductItem`; None when the page holds no product.

    ``url`` is the page's address (used to resolve relative image URLs and to rank SKU
    candidates); when empty the page's canonical/og:url is used.
    """
    if isinstance(page_html, bytes):
        page_html = page_html.decode("utf-8", errors="replace")
    url = url or page_url(page_html) or ""
    evidence = _read_evidence(page_html, url)
    product = _main_product(evidence)
    meta = evidence.meta
    sources: dict[str, str] = {}
    if evidence.json_ld:
        sources["product"] = "json-ld"
    elif evidence.microdata:
        sources["product"] = "microdata"
    elif (
        meta.get("og:type", "").endswith("product")
        or meta.get("product:price:amount")
        or meta.get("og:price:amount")
    ):
        sources["product"] = "opengraph"
    structured = "json-ld" if product in evidence.json_ld else "microdata"

    def pick(name: str, *candidates: tuple[str, Any]) -> str | None:
        for source, value in candidates:
            text = _text(value)
            if text:
                sources[name] = source
                return text
        return None

    h1 = evidence.selector.xpath("normalize-space(//h1)").get()
    title = pick(
        "title",
        (structured, product.get("name")),
        ("opengraph", meta.get("og:title")),
        ("html", h1),
        ("html", evidence.selector.xpath("normalize-space(//title)").get()),
    )
    brand = pick(
        "brand",
        (structured, product.get("brand")),
        ("opengraph", meta.get("product:brand")),
        ("opengraph", meta.get("og:brand")),
        (structured, product.get("manufacturer")),
        ("html", _brand_from_html(evidence)),
    )
    colour = pick("colour", (structured, product.get("color")), ("opengraph", meta.get("product:color")))

    offer = _choose_offer(_offers(product))
    if offer is None:
        for node in evidence.json_ld + evidence.microdata:
            offer = _choose_offer(_offers(node))
            if offer is not None:
                break
    price, currency = _offer_price(offer) if offer else (None, None)
    if price is not None:
        sources["price"] = structured
    else:
        for source, amount_key, currency_key in (
            ("opengraph", "product:price:amount", "product:price:currency"),
            ("opengraph", "og:price:amount", "og:price:currency"),
            ("opengraph", "product:sale_price:amount", "product:sale_price:currency"),
        ):
            if meta.get(amount_key):
                price, currency = parse_price(meta[amount_key], meta.get(currency_key) or None)
                if price is not None:
                    sources["price"] = source
                    break
    if price is None:
        price, currency = _price_from_html(evidence)
        if price is not None:
            sources["price"] = "html"
    currency = currency or currency_code(meta.get("product:price:currency") or meta.get("og:price:currency"))
    if price is not None and not currency:
        currency = _price_from_html(evidence)[1]  # the visible price usually shows the symbol

    availability = _schema_term(offer.get("availability")) if offer else None
    if not availability and meta.get("product:availability"):
        availability = {
            "in stock": "InStock",
            "instock": "InStock",
            "out of stock": "OutOfStock",
            "oos": "OutOfStock",
            "preorder": "PreOrder",
        }.get(meta["product:availability"].lower())

    sku = _choose_sku(_sku_candidates(evidence, product), url)
    breadcrumbs = _breadcrumbs(evidence)
    schema_category = _text(product.get("category")) or (_text(offer.get("category")) if offer else None)
    category = normalise_category(
        schema_category=schema_category, breadcrumbs=breadcrumbs, title=title, url=url
    )

    item = ProductItem(
        store=store or (urlsplit(url).hostname or ""),
        url=url,
        product_id=_product_id(product, sku, url),
        sku=sku,
        title=title,
        brand=brand,
        price=price,
        currency=currency,
        availability=availability,
        gender=_gender(evidence, product, breadcrumbs),
        colour=colour,
        category=category,
        breadcrumbs=breadcrumbs,
        image_urls=_image_urls(evidence, product),
        sources=sources,
    )
    if not sources.get("product") and not (title and price is not None):
        return None
    return item
