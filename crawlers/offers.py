"""Price, currency and availability of a product: structured offers first, then meta tags, then the page.

Offers come flat or nested (a list, one ``Offer``, an ``AggregateOffer`` with or without its
offers, offers under ``hasVariant``); the offer shown is the first priced one in stock.
:func:`read_offer` returns one :class:`OfferFinding` saying where each value came from.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vtonkit.crawlers import page_fields
from vtonkit.crawlers.evidence import PageEvidence, first, same_product_nodes, schema_term, text
from vtonkit.crawlers.jsonld import types_of
from vtonkit.crawlers.page_fields import in_other_products as _in_other_products
from vtonkit.crawlers.page_state import availability_term
from vtonkit.crawlers.prices import currency_code, parse_price, structured_amount
from vtonkit.crawlers.vocab import merged_vocabulary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfferFinding:
    """The product's price and availability, each with its source (``None`` when not found)."""

    price: float | None
    currency: str | None
    availability: str | None
    price_source: str | None  # "json-ld", "microdata", "opengraph", "html"
    category: str | None  # an offer's schema.org category (some shops put it there)


# A product has tens of offers (sizes x colours); past this a page's list is hostile or broken.
MAX_OFFERS = 5000


def flat_offers(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat offers of a product node (list, single Offer, AggregateOffer with or without offers), in
    document order, at most `MAX_OFFERS`."""
    raw = node.get("offers")
    if raw is None and isinstance(node.get("hasVariant"), list):
        raw = [v.get("offers") for v in node["hasVariant"] if isinstance(v, dict)]
    pending = deque(raw if isinstance(raw, list) else [raw])  # a list's pop(0) made 400,000 offers quadratic
    flat: list[dict[str, Any]] = []
    while pending and len(flat) < MAX_OFFERS:
        offer = pending.popleft()
        if isinstance(offer, list):
            pending.extendleft(reversed(offer))
        elif isinstance(offer, dict):
            if "aggregateoffer" in types_of(offer) and isinstance(offer.get("offers"), (list, dict)):
                inner = offer["offers"] if isinstance(offer["offers"], list) else [offer["offers"]]
                pending.extendleft(reversed(inner))
                if offer.get("lowPrice") is None and offer.get("price") is None:
                    continue
            flat.append(offer)
    return flat


_LIST_PRICE_TYPES = {"strikethroughprice", "listprice", "srp", "msrp", "invoiceprice"}


def written_price(offer: dict[str, Any]) -> tuple[Any, str | None]:
    """(the price one offer writes: ``price``, ``lowPrice`` or its price specification's, the currency it names)."""
    currency = text(offer.get("priceCurrency"))
    value = offer.get("price")
    if value in (None, ""):
        value = offer.get("lowPrice")
    spec = offer.get("priceSpecification")
    if value in (None, "") and spec:
        specs = spec if isinstance(spec, list) else [spec]
        # Google's sale markup lists the struck list price beside the price it costs now.
        current = [s for s in specs if isinstance(s, dict)
                   and (schema_term(s.get("priceType")) or "").lower() not in _LIST_PRICE_TYPES]
        spec = first(current or specs)
        if isinstance(spec, dict):
            value = spec.get("price")
            currency = currency or text(spec.get("priceCurrency"))
    value = first(value)
    return (value.strip() if isinstance(value, str) else value), currency


def offer_price(offer: dict[str, Any], language: str | None = None) -> tuple[float | None, str | None]:
    """(amount, ISO currency) of one offer, its written price read as the machine number it is
    (`structured_amount`); ``language``, the page's, settles a shared symbol such as "¥" (see
    ``prices.currency_code``)."""
    value, currency = written_price(offer)
    return parse_price(structured_amount(value, currency), currency, language)


def offer_availability(offer: dict[str, Any]) -> str | None:
    """An offer's availability as a schema.org term: the shop's own wording read as one ("in stock",
    "Available for order"), else the term it writes (".../InStock", ".../LimitedAvailability")."""
    return availability_term(text(offer.get("availability"))) or schema_term(offer.get("availability"))


def choose_offer(offers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first priced offer in stock, else the first priced one, else the first."""
    priced = [o for o in offers if offer_price(o)[0] is not None]
    in_stock = [o for o in priced if offer_availability(o) == "InStock"]
    return (in_stock or priced or offers or [None])[0]


def _class_token(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# Elements the page keeps but does not show: platforms ship the sold-out badge or button on every
# product page and hide it while the product is in stock (Cafe24: class "displaynone").
# A declaration counts from its start: tmon's <body> has "-webkit-backface-visibility: hidden",
# which hid every button of the page.
_STYLE = "concat(';', translate(@style, ' \t\r\n', ''))"
SHOWN = (f"[not(ancestor-or-self::*[@hidden or contains({_STYLE}, ';display:none')"
         f" or contains({_STYLE}, ';visibility:hidden') or "
         + " or ".join(_class_token(name) for name in ("displaynone", "hidden", "hide", "d-none", "is-hidden"))
         + "])]")


# A price shown struck through, or in an element named as the old one, is not what the product
# costs now: shops on sale show it first ("<del>49,000원</del> 39,000원", Magento's "old-price",
# Shopify's "<s class=price-item--regular>"; Korean shops' 정가 "org_price", Chinese 市场价
# "market-price", Japanese 定価 "proper-price"; BigCommerce's "price--non-sale", and the amount
# saved, "price--saving"). "regular" alone is not old: Shopify names the only
# price of a product not on sale that way; nor is "normal" alone (Tailwind's "font-normal").
_STRUCK_TAGS = {"del", "s", "strike"}
_OLD_PRICE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:old|was|compare|original|origin|org|before|strike|crossed|rrp|msrp|list|consumer|market|mkt"
    r"|proper|saving|savings|save)(?:$|[\s_-])|oldprice|wasprice|compareat|listprice|price-?old|price-?was"
    r"|normal[-_]?price|non-?sale",
    re.IGNORECASE,
)
# "sale", but not in BigCommerce's "price--non-sale" (its struck price)
_NOW_PRICE_CLASS = re.compile(r"(?<!non-)(?<!non)sale|special|final|current|now|discount|promo|reduced|selling",
                              re.IGNORECASE)
# Marks of a price before tax, shown beside the one the customer pays ("3,619円(税抜)").
_BEFORE_TAX = re.compile(r"税抜|税別|本体価格|\+\s*税|excl\.?\s*(?:vat|tax)|before tax|tax excluded|세전|부가세\s*별도",
                         re.IGNORECASE)


def _is_old_price(element: Any, *, container: bool = False) -> bool:
    """Struck through, or named as the old price. A `container` (an ancestor of the price) counts
    only when its name is about a price: "info_list" or "product-list" hold current prices."""
    if not isinstance(element.tag, str):  # a comment or processing instruction
        return False
    name = element.get("class") or ""
    named_old = bool(_OLD_PRICE_CLASS.search(name)) and (not container or "price" in name.lower())
    struck_by_style = "line-through" in (element.get("style") or "").lower()  # Cafe24's regular price on sale
    return (element.tag.lower() in _STRUCK_TAGS or named_old or struck_by_style
            or (element.get("data-price-type") or "").lower() == "oldprice")


# An old price written out in the same element as the current one ("Was £40.00 Now £25.00",
# "RRP £60.00 Our price £35.00", "정가 39,000원 할인가 27,300원", "原价：￥399.00 促销价：￥199.00"): the
# label (``labels.old_price`` in crawlers/vocab/) and the amount after it go.
@lru_cache(maxsize=1)
def _old_price_words() -> re.Pattern[str]:
    # a Latin-script label is a whole word; CJK labels stand between other words unspaced
    labels = "|".join(rf"(?<!\w)(?:{label})(?![^\W\d_])" if label[0].isascii() else f"(?:{label})"
                      for label in merged_vocabulary().old_price_labels)
    return re.compile(rf"(?:{labels})\s*[:：]?\s*[^\d\s]{{0,4}}\s*\d[\d.,]*\s*(?:[^\d\s]{{1,4}}(?=\s|$))?", re.IGNORECASE)


def _label_before(element: Any) -> str:
    """The text shown just before `element` in its row: the element before it (``<th>소비자가</th>``,
    ``<dt>定価</dt>``, Cafe24's ``<span>소비자가</span>``), else its parent's text before it; out of
    at most two wrappers with nothing before the price (``<td><span class="price">``)."""
    node = element
    for _ in range(3):
        previous = node.getprevious()
        if previous is not None:
            shown = (previous.tail or "").strip() or (" ".join(previous.itertext()) if isinstance(previous.tag, str) else "")
            return " ".join(shown.split())
        parent = node.getparent()
        if parent is None or (parent.text or "").strip():
            return " ".join((parent.text or "").split()) if parent is not None else ""
        node = parent
    return ""


def _labelled_old_price(element: Any) -> bool:
    """The label shown before `element` names a list price ("소비자가", "定価", "市场价", "RRP")."""
    return page_fields.is_label(_label_before(element), merged_vocabulary().old_price_labels)


# A multi-buy offer ("2 for £30", "3 for 2"): no one product's price.
_MULTI_BUY = re.compile(r"(?<![\w.,])\d+\s+for\s+\S*\d", re.IGNORECASE)


def _marked_before_tax(node: Any) -> bool:
    """The price element, or what follows it ("¥9,000<span class=tax>+税</span>"), marks it as the
    price before tax."""
    following = node.getnext()
    beside = " ".join([*node.itertext(), node.tail or "",
                       *(following.itertext() if following is not None and isinstance(following.tag, str) else [])])
    return bool(_BEFORE_TAX.search(beside[:200]))


def _current_price_text(element: Any) -> str:
    """The text of `element` without what it shows struck through or as the old price."""
    parts = [element.text or ""] if isinstance(element.tag, str) else []
    for child in element:
        if isinstance(child.tag, str) and not _is_old_price(child):
            parts.append(_current_price_text(child))
        parts.append(child.tail or "")
    return " ".join(" ".join(parts).split())


def _current_price_elements(evidence: PageEvidence) -> list[Any]:
    """The shown price-named elements (class, test id or id) of the page's own product: not old
    prices, not inside an old-price container, not in related products' cards."""
    price_nodes = [node.root for node in evidence.selector.xpath(
        "//*[contains(translate(@class, 'PRICE', 'price'), 'price') or contains(translate(@data-testid, 'PRICE', 'price'), 'price')"
        " or contains(translate(@id, 'PRICE', 'price'), 'price')]"
        "[not(ancestor::script)]" + SHOWN
    )[:40]]
    return [node for node in price_nodes
            if not _is_old_price(node) and not any(_is_old_price(e, container=True) for e in node.iterancestors())
            and not _in_other_products(node)]


def shows_many_prices(evidence: PageEvidence) -> bool:
    """The page shows the prices of several products (a listing's cards): four or more price
    elements, none inside another, with three or more different amounts."""
    current = _current_price_elements(evidence)
    outermost = [node for node in current if not any(ancestor in current for ancestor in node.iterancestors())]
    amounts = [parse_price(_current_price_text(node), language=evidence.language)[0] for node in outermost]
    amounts = [amount for amount in amounts if amount is not None]
    return len(amounts) >= 4 and len(set(amounts)) >= 3


def _in_other_microdata_product(element: Any, product_name: str | None) -> bool:
    """Inside a microdata ``Product`` whose name is not `product_name` (a related product's card)."""
    if not product_name:
        return False
    scope = next((e for e in element.iterancestors()
                  if isinstance(e.tag, str) and "product" in (e.get("itemtype") or "").lower()), None)
    names = scope.xpath(".//*[@itemprop='name']") if scope is not None else []
    shown = " ".join(" ".join(names[0].itertext()).split()).casefold() if names else ""
    wanted = " ".join(product_name.split()).casefold()
    return bool(shown) and shown not in wanted and wanted not in shown


def price_from_html(evidence: PageEvidence, product_name: str | None = None) -> tuple[float | None, str | None]:
    """A visible price: ``itemprop=price``, else a price-named element (class, test id or id, as
    Cafe24's ``span_product_price_text``) that shows a currency, else the row labelled with the
    price ("<th>판매가</th><td>39,000원</td>", see ``labels.price`` in crawlers/vocab/).

    The price the product costs now: elements named as a sale or final price first, a price
    marked as before tax last, nothing shown struck through or named as the old price, and a list
    price ("<th>소비자가</th>", "<dt>定価</dt>", "市场价：￥399.00") only when the page shows no other; nor in the
    cards of related or recommended products (nor in another product's microdata, when
    `product_name`, the page's own product's name, is given).
    """
    sel = evidence.selector
    for node in sel.xpath("//*[@itemprop='price']"):
        if _in_other_products(node.root) or _in_other_microdata_product(node.root, product_name):
            continue
        for value in node.xpath("@content | .//text()").getall():
            amount, currency = parse_price(value, sel.xpath("//*[@itemprop='priceCurrency']/@content").get(),
                                           evidence.language)
            if amount is not None:
                return amount, currency
    current = _current_price_elements(evidence)
    # A list price ("<th>소비자가</th><td class=price>") is the price only where no other is shown.
    listed = [node for node in current if _labelled_old_price(node)]
    # A price the page marks as before tax goes after the others; then sale and final prices first.
    now_first = sorted((node for node in current if node not in listed),
                       key=lambda node: (_marked_before_tax(node), not _NOW_PRICE_CLASS.search(node.get("class") or "")))
    # Then the labelled rows, a sale price's label first.
    labelled = sorted(page_fields.labelled_cells(evidence, merged_vocabulary().price_labels), key=lambda row: row[0])
    shown_prices = now_first + [cell.root for _, cell in labelled if not _in_other_products(cell.root)]
    for node in shown_prices + listed:
        shown = _current_price_text(node)
        shown = shown if node in listed else _old_price_words().sub(" ", shown).strip()
        if not shown or len(shown) > 60 or not re.search(r"\d", shown) or _MULTI_BUY.search(shown):
            continue
        amount, currency = parse_price(shown, language=evidence.language)
        if amount is not None and currency:
            return amount, currency
    return None, None


def price_from_card(evidence: PageEvidence) -> tuple[float | None, str | None]:
    """The price a Twitter product card states ("Price" / "€39.30", `page_fields.card_field`; labels
    in any known language, see ``labels.price`` in crawlers/vocab/)."""
    shown = page_fields.card_field(evidence, merged_vocabulary().price_labels)
    amount, currency = parse_price(shown, language=evidence.language) if shown else (None, None)
    return (amount, currency) if amount is not None and currency else (None, None)


def currency_beside(evidence: PageEvidence, amount: float) -> str | None:
    """The currency the visible page writes beside `amount` ("39,000원", "€ 59,90"), for a price
    read without one (an application state: Naver's has none) and shown in no price element."""
    whole, cents = f"{amount:.2f}".split(".")
    groups = [whole[max(0, end - 3):end] for end in range(len(whole), 0, -3)][::-1]
    fraction = cents.rstrip("0")
    number = (r"(?<![\d.,])" + r"[,.\s'’]?".join(groups)
              + (rf"[.,]{fraction}0?" if fraction else r"(?:[.,]00?)?") + r"(?!\d)")
    text = evidence.visible_text
    for shown in re.finditer(number, text):
        before = re.search(r"\D{0,6}$", text[max(0, shown.start() - 6):shown.start()]).group()
        after = re.match(r"\D{0,6}", text[shown.end():shown.end() + 6]).group()
        currency = parse_price(before + shown.group() + after, language=evidence.language)[1]
        if currency:
            return currency
    return None


def _shown_major_units(evidence: PageEvidence, amount: float) -> float:
    """An application state's whole-number price in minor units (Shopify's storefront objects: 5800
    for $58.00) as the amount the page shows: divided by 100 when the page shows that, with a
    currency, and nowhere the number as read."""
    if amount != int(amount) or amount < 100 or currency_beside(evidence, amount):
        return amount
    return amount / 100 if currency_beside(evidence, amount / 100) else amount


@lru_cache(maxsize=1)
def _orderable() -> re.Pattern[str] | None:
    fragments = merged_vocabulary().orderable
    return re.compile("|".join(f"(?:{f})" for f in fragments), re.IGNORECASE) if fragments else None


@lru_cache(maxsize=1)
def _buy_caption() -> re.Pattern[str] | None:
    fragments = merged_vocabulary().buy
    return re.compile(r"^\s*(?:" + "|".join(f"(?:{f})" for f in fragments) + r")\s*$", re.IGNORECASE) if fragments else None


# What shops build buy buttons from: <button>, a submit <input>, and (Cafe24, Godomall) a link that
# runs a script instead of going anywhere; a link with a real address (the header's cart) is no button.
_BUY_CONTROLS = (
    "//button | //input[@type='submit' or @type='button']"
    " | //a[@role='button' or @onclick or starts-with(normalize-space(@href), '#')"
    " or starts-with(normalize-space(@href), 'javascript:')]"
)


def _enabled_buy_button(evidence: PageEvidence) -> bool:
    """A shown, enabled control of the page's own product captioned as a buy button ("Add to bag")."""
    caption = _buy_caption()
    if caption is None:
        return False
    controls = evidence.selector.xpath(
        f"({_BUY_CONTROLS})[not(@disabled) and not(@aria-disabled='true')][not(ancestor::script)]" + SHOWN)
    for control in controls[:80]:
        # the caption as shown: Cafe24 keeps a hidden "SOLD OUT" inside its buy link
        words = (control.attrib.get("value", "") if control.root.tag == "input"
                 else " ".join(control.xpath(".//text()" + SHOWN).getall()))
        shown = " ".join(words.split())
        disabled = re.search(r"disabled|soldout|sold-out|sold_out", control.attrib.get("class", ""), re.IGNORECASE)
        if shown and caption.match(shown) and not disabled and not _in_other_products(control.root):
            return True
    return False


# A size picker's control: "XS - Sold out" there is one variant's stock, not the product's.
_VARIANT_PICKER = re.compile(r"size|variant|swatch", re.IGNORECASE)
_SIZE_WORD = re.compile(r"(?:[2-6]?x{0,3}[sml]|xx?l|one ?size|free|f|\d{1,3}(?:[./x]\d{1,3})?|eu ?\d{2}|uk ?\d{1,2}|us ?\d{1,2})",
                        re.IGNORECASE)


def _one_variant(element: Any, shown: str, sold_out_words: list[str]) -> bool:
    """A sold-out word on a variant's control (named as a size or swatch, as is its parent, or
    captioned with a size)."""
    parent = element.getparent()
    if any(_VARIANT_PICKER.search(f"{e.get('class') or ''} {e.get('id') or ''} {e.get('name') or ''}")
           for e in (element, parent) if e is not None and isinstance(e.tag, str)):
        return True
    rest = _without_sold_out_words(shown, sold_out_words)
    return bool(rest) and _SIZE_WORD.fullmatch(rest) is not None


def _without_sold_out_words(shown: str, sold_out_words: list[str]) -> str:
    """`shown` less its sold-out words and the punctuation around them ("xs - sold out" -> "xs")."""
    for word in sold_out_words:
        shown = shown.replace(word, " ")
    return re.sub(r"[\s\-–—:/|()\[\],]+", " ", shown).strip()


def visible_availability(evidence: PageEvidence) -> str | None:
    """``OutOfStock`` when a shown stock/buy element says "sold out" in any known language;
    ``InStock`` when it says the product can be ordered, a sold-out word beside it or not; else
    ``InStock`` when the page shows an enabled buy button ("Add to bag", "장바구니 담기")."""
    words = [w.lower() for w in merged_vocabulary().out_of_stock]
    orderable = _orderable()
    # by class or id: Youngcart's notice is <p id="sit_ov_soldout"> with no class
    nodes = evidence.selector.xpath(
        "//*[contains(translate(@class, 'STOCK', 'stock'), 'stock') or contains(translate(@class, 'SOLD', 'sold'), 'sold')"
        " or contains(translate(@id, 'STOCK', 'stock'), 'stock') or contains(translate(@id, 'SOLD', 'sold'), 'sold')"
        " or contains(@class, 'availability') or self::button][not(ancestor::script)]" + SHOWN
    )
    for node in nodes[:20]:
        shown = re.sub(r"\s+", " ", " ".join(node.xpath(".//text()" + SHOWN).getall())).strip().lower()
        if not shown or len(shown) > 40:
            continue
        if orderable is not None and orderable.search(shown):
            return "InStock"
        if any(w in shown for w in words) and not _one_variant(node.root, shown, words) \
                and not _in_other_products(node.root):  # a related product's badge is not this one's stock
            return "OutOfStock"
    if _sold_out_control(evidence, words):
        return "OutOfStock"
    return "InStock" if _enabled_buy_button(evidence) else None


def _sold_out_control(evidence: PageEvidence, words: list[str]) -> bool:
    """A shown button of the page's own product captioned only with a sold-out word: Cafe24 shows
    `<span class="btnSubmit">SOLD OUT</span>` (or a script link captioned "품절") where the buy links
    were, with no stock or sold class to find it by."""
    controls = evidence.selector.xpath(f"({_BUY_CONTROLS} | //*[contains(translate(@class, 'BTN', 'btn'), 'btn')])"
                                       "[not(ancestor::script)]" + SHOWN)
    for control in controls[:80]:
        shown = " ".join(" ".join(control.xpath(".//text()" + SHOWN).getall()).split()).lower()
        # only the word: a size's control shows its size too ("XS - sold out"), whatever its class
        # says (Cafe24's button classes say "sizeL" of the button itself)
        if shown and len(shown) <= 40 and any(w in shown for w in words) \
                and not re.search(r"[^\W_]", _without_sold_out_words(shown, words)) \
                and not _in_other_products(control.root):
            return True
    return False


def read_offer(evidence: PageEvidence, product: dict[str, Any], structured: str) -> OfferFinding:
    """Price, currency and availability of ``product`` (``structured`` names its source)."""
    meta = evidence.meta
    offer = choose_offer(flat_offers(product))
    if offer is None:
        for node in same_product_nodes(evidence, product)[1:]:
            offer = choose_offer(flat_offers(node))
            if offer is not None:
                break
    price, currency = offer_price(offer, evidence.language) if offer else (None, None)
    written = written_price(offer)[0] if offer else None
    if price is None and written not in (None, ""):
        logger.info("%s: the offer's price %r is no price (zero, negative or no number): the page's other "
                    "evidence decides", evidence.url, written)
    if price is not None and structured == "page-state":
        price = _shown_major_units(evidence, price)
    source = structured if price is not None else None
    if price is None:
        for meta_source, amount_key, currency_key in (  # a sale price, when given, is what it costs now
            ("opengraph", "product:sale_price:amount", "product:sale_price:currency"),
            ("opengraph", "product:price:amount", "product:price:currency"),
            ("opengraph", "og:price:amount", "og:price:currency"),
            ("opengraph", "og:price", "og:price:currency"),  # the price as shown, currency in its text
        ):
            if meta.get(amount_key):
                price, currency = parse_price(meta[amount_key], meta.get(currency_key) or None, evidence.language)
                if price is not None:
                    source = meta_source
                    break
    if price is None:
        price, currency = price_from_html(evidence, text(product.get("name")))
        if price is not None:
            source = "html"
    if price is None:
        price, currency = price_from_card(evidence)
        if price is not None:
            source = "twitter-card"
    currency = currency or currency_code(meta.get("product:price:currency") or meta.get("og:price:currency"),
                                         evidence.language)
    if price is not None and not currency:
        # the visible price usually shows the symbol, when not in a price element then beside the amount
        currency = price_from_html(evidence, text(product.get("name")))[1] or currency_beside(evidence, price)

    availability = offer_availability(offer) if offer else None
    if offer is not None and availability != "InStock":
        # One node per size (Zara: 8 sizes, the first sold out): the product can be ordered when
        # any of its sizes can.
        for node in same_product_nodes(evidence, product)[1:]:
            if any(offer_availability(o) == "InStock" for o in flat_offers(node)):
                availability = "InStock"
                break
    written = meta.get("product:availability") or meta.get("og:availability")
    if not availability and written:
        availability = availability_term(written)  # Facebook's catalog, Pinterest's rich pins
    if not availability:
        availability = visible_availability(evidence)
    return OfferFinding(
        price=price,
        currency=currency,
        availability=availability,
        price_source=source,
        category=text(offer.get("category")) if offer else None,
    )
