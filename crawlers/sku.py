"""The product reference (SKU): candidates from every source, ranked.

Shops put per-size variant SKUs in their offers and a product-level reference in the visible
page. Candidates come from labelled visible text ("Article number: ...", "상품코드 ...", "品番：..."
with the labels of every language in crawlers/vocab/), ``data-*="product-reference"``-style
elements, structured data and meta tags. One that also occurs in the page URL wins (shops put
the product reference in product URLs), then visible labelled references, then structured-data SKUs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from vtonkit.crawlers.evidence import PageEvidence, text
from vtonkit.crawlers.vocab import merged_vocabulary

# a reference has at least one digit, or is upper-case letter groups joined by dashes ("OI-PMS-OLV");
# "Style: Casual" and "Fit: Slim-Fit" are none
_LETTER_CODE = r"(?-i:[A-Z]{2,}(?:[-_][A-Z]{2,})+)(?![A-Za-z0-9])"
_SKU_VALUE = r"(?=[A-Za-z\-/._]*\d|" + _LETTER_CODE + r")([A-Za-z0-9][A-Za-z0-9\-/._]{2,40}[A-Za-z0-9])"
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

# source ranks
VISIBLE, STRUCTURED, META = 3, 2, 1


@dataclass(frozen=True)
class SkuCandidate:
    """One possible product reference and how trustworthy its source is (higher is better)."""

    value: str
    rank: int


@lru_cache(maxsize=1)
def labelled_sku_pattern() -> re.Pattern[str]:
    """ "<label> [:#：] <reference>" with the SKU labels of every vocabulary."""
    labels = "(?:" + "|".join(merged_vocabulary().sku_labels) + ")"
    # "Ref. 1234/567" and "SKU 12345" are written without a colon too; CJK pages use a full-width colon
    return re.compile(r"(?<![A-Za-z])" + labels + r"\s*[:#：]?\s*" + _SKU_VALUE, re.IGNORECASE)


def sku_candidates(evidence: PageEvidence, product: dict[str, Any],
                   passed_over: Collection[dict[str, Any]] = ()) -> list[SkuCandidate]:
    """Every candidate in page order within each source; the structured nodes in `passed_over` (the
    other variants of the product's group, whose SKUs name another colour or size) give none."""
    labelled = labelled_sku_pattern()
    found = [SkuCandidate(m.group(1), VISIBLE) for m in labelled.finditer(evidence.visible_text)]
    attr_test = " or ".join(
        f"contains(translate(., 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '{w}')"
        for w in _SKU_ATTR_WORDS
    )
    xpath = (
        "//*[@*[(local-name()='class' or local-name()='id' or local-name()='itemprop' or starts-with(local-name(), 'data-'))"
        f" and ({attr_test})]][not(self::script) and not(self::meta) and not(self::input)]"
    )
    for node in evidence.selector.xpath(xpath)[:30]:
        shown = re.sub(r"\s+", " ", " ".join(node.xpath(".//text()").getall())).strip()
        match = labelled.search(shown)
        if match:
            shown = match.group(1)
        if 3 <= len(shown) <= 40 and (re.search(r"\d", shown) or re.fullmatch(_LETTER_CODE, shown)) and " " not in shown:
            found.append(SkuCandidate(shown, VISIBLE))
    skipped = {id(node) for node in passed_over}
    for node in [product] + [n for n in evidence.structured_nodes if n is not product and id(n) not in skipped]:
        for key in ("sku", "productID", "mpn"):
            value = text(node.get(key))
            if value and not value.startswith("http"):
                found.append(SkuCandidate(value.removeprefix("sku:"), STRUCTURED))
    for key in ("product:retailer_item_id", "product:sku", "og:product:id", "sku"):
        if evidence.meta.get(key):
            found.append(SkuCandidate(evidence.meta[key], META))
    return found


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def url_key(url: str) -> str:
    """The path and query of `url` as lower-case letters and digits, to find references in."""
    parts = urlsplit(url)
    return _alnum(parts.path + "?" + parts.query)


def occurs_in(reference: str, key: str) -> bool:
    """`reference` occurs in an address's `url_key`; one under five characters may be there by chance."""
    value = _alnum(reference)
    return len(value) >= 5 and value in key


def choose_sku(candidates: list[SkuCandidate], url: str) -> str | None:
    """The best candidate: found in the page URL, then by source rank, then first."""
    if not candidates:
        return None
    key = url_key(url)

    def score(entry: tuple[int, SkuCandidate]) -> tuple[int, int, int]:
        index, candidate = entry
        return (int(occurs_in(candidate.value, key)), candidate.rank, -index)

    return max(enumerate(candidates), key=score)[1].value
