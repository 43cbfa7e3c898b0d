"""Everything read from one product page before any field is chosen, and the page's own product node.

:func:`read_evidence` parses a page once: schema.org ``Product`` nodes from JSON-LD (read
tolerantly, see :mod:`vtonkit.crawlers.jsonld`) and microdata, OpenGraph/``product:`` meta tags,
the declared language and the visible text. :func:`main_product` picks the node of the variant
on screen. The ``text``/``first``/``schema_term`` helpers turn structured-data values into strings.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import extruct
from parsel import Selector
from vtonkit.crawlers.jsonld import iter_nodes, json_ld_blocks, resolve_references, types_of
from vtonkit.crawlers.page_state import state_blocks, state_product
from vtonkit.crawlers.rdfa import rdfa_nodes
from vtonkit.crawlers.text_fields import clean_text
from vtonkit.crawlers.vocab import language_of
from vtonkit.crawlers.urls import join_url, split_url

logger = logging.getLogger(__name__)

# A product page has a few thousand elements (the shop pages of the test data: 2,900-4,900) and a
# grown infinite-scroll listing some hundred thousand; past this the page is not read: each scan of
# it would cost seconds (a 32 MiB page of 3.7 million elements took a minute and 2.6 GB).
MAX_PAGE_ELEMENTS = 500_000


class PageTooComplex(ValueError):
    """A page with more than :data:`MAX_PAGE_ELEMENTS` elements."""


PRODUCT_TYPES = {"product", "productgroup", "productmodel", "individualproduct", "someproducts", "vehicle"}


@dataclass
class PageEvidence:
    """Everything read from one page before fields are chosen."""

    url: str
    selector: Selector
    json_ld: list[dict[str, Any]] = field(default_factory=list)  # Product nodes
    json_ld_all: list[dict[str, Any]] = field(default_factory=list)
    microdata: list[dict[str, Any]] = field(default_factory=list)  # Product items
    microdata_all: list[dict[str, Any]] = field(default_factory=list)
    # the attribute syntax the two microdata lists come from: "rdfa" on a page whose schema.org
    # product is written in RDFa only (crawlers/rdfa.py)
    attribute_markup: str = "microdata"
    # the product of the page's application state (crawlers/page_state.py), read only when the page
    # has no JSON-LD, microdata or OpenGraph product
    state: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # og:/product:/twitter:/name= metas
    visible_text: str = ""
    # vocabulary language the page declares (<html lang>, else og:locale, else Content-Language), else
    # the CJK language its script shows (`script_language`): "ko", "zh-Hant", ...
    language: str | None = None

    @property
    def structured_nodes(self) -> list[dict[str, Any]]:
        """Every Product node, JSON-LD first, the application state's last."""
        return self.json_ld + self.microdata + self.state


def first(value: Any) -> Any:
    """The first non-empty entry of a list (a scalar is returned as is)."""
    if isinstance(value, list):
        return next((v for v in value if v not in (None, "", [], {})), None)
    return value


def text(value: Any) -> str | None:
    """A plain string from a JSON-LD/microdata value (string, number, {name}, [..])."""
    value = first(value)
    if isinstance(value, dict):
        value = (
            value.get("name")
            or value.get("@value")
            or value.get("value")
            or value.get("properties", {}).get("name")
        )
        value = first(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    return clean_text(html.unescape(str(value))) or None  # some shops entity-escape JSON-LD


def schema_term(value: Any) -> str | None:
    """ "http://schema.org/InStock" -> "InStock"."""
    plain = text(value)
    if not plain:
        return None
    return plain.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


# Legacy encodings by page language (`<html lang>` is ASCII, so it reads before decoding), in the
# order tried: a short page is too little text for a statistical guess between CJK encodings.
# `cjk_reading` breaks ties in this order too.
LEGACY_ENCODINGS = {"ko": ("cp949",), "ja": ("cp932", "euc_jp"), "zh-Hans": ("gb18030",),
                    "zh-Hant": ("cp950", "big5hkscs")}
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z-]+)", re.IGNORECASE)
# A CJK reading of bytes is believed when its characters are this plausible (see `cjk_plausibility`),
# and it has this many: two Thai or Cyrillic letters can make one common Chinese character.
PLAUSIBLE_CJK = 0.7
_FEWEST_JUDGED = 4
# Letters judged per reading: enough to tell the encodings apart, few enough for a 32 MiB page.
_LETTERS_JUDGED = 4000
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _double_byte_code(char: str, encoding: str) -> int | None:
    """`char`'s two-byte code in `encoding` (GB 2312 0xB0A1, Big5 0xA440, ...), None if it has none."""
    try:
        written = char.encode(encoding)
    except UnicodeEncodeError:
        return None
    return int.from_bytes(written, "big") if len(written) == 2 else None


def _is_kana(char: str) -> bool:
    """Hiragana, katakana or half-width katakana."""
    return "\u3041" <= char <= "\u30fc" or "\uff66" <= char <= "\uff9f"


def _in_range(code: int | None, first: int, last: int) -> bool:
    return code is not None and first <= code <= last


@lru_cache(maxsize=65536)
def _letter_weight(char: str, language: str) -> float:
    """How ordinary a letter is in text of `language`: 1 for the everyday letters of its script (the
    frequent set each national standard defines: GB 2312 level 1, Big5's frequent characters, JIS
    level 1 kanji, KS X 1001 hangul; kana), 0.5 for the rarer characters of the same standard
    (Korean hanja 0.25), 0 for a letter that language does not write (kana in Chinese, Cyrillic,
    extension or private-use characters), which is what decoding with the wrong CJK encoding
    produces."""
    if language == "ko":
        if "\uac00" <= char <= "\ud7a3":
            return 1.0 if _double_byte_code(char, "euc_kr") else 0.0  # cp949's extra syllables are rare
        # hanja: KS X 1001 has them, but Korean shops seldom write them; Chinese read as Korean shows many
        return 0.25 if unicodedata.name(char, "").startswith("CJK UNIFIED") and _double_byte_code(char, "euc_kr") else 0.0
    if language == "ja":
        if _is_kana(char):  # half-width katakana: old shops write some, mis-readings many
            return 0.5 if char >= "\uff66" else 1.0
        code = _double_byte_code(char, "cp932")
        return 1.0 if _in_range(code, 0x889F, 0x9872) else 0.5 if _in_range(code, 0x989F, 0xEAA4) else 0.0
    if language == "zh-Hans":
        code = _double_byte_code(char, "gb2312")
        return 1.0 if _in_range(code, 0xB0A1, 0xD7F9) else 0.5 if _in_range(code, 0xD8A1, 0xF7FE) else 0.0
    code = _double_byte_code(char, "cp950")  # zh-Hant
    return 1.0 if _in_range(code, 0xA440, 0xC67E) else 0.5 if _in_range(code, 0xC940, 0xF9D5) else 0.0


# Punctuation every CJK text writes (general and CJK punctuation, full-width forms): no evidence of
# an encoding, so not judged; every other non-ASCII character is.
_PUNCTUATION = re.compile(r"[\s\u00b7\u2010-\u2027\u3000-\u303f\uff01-\uff65\uffe0-\uffee]")


def _judged(char: str) -> bool:
    """A character that tells a right reading from a wrong one: not punctuation every CJK text writes.
    Symbols (a wrong reading of Thai as GB 2312 gives "∫¨") and private-use or unassigned code points
    weigh 0 (`_letter_weight`)."""
    return not _PUNCTUATION.match(char)


def cjk_plausibility(decoded: str, language: str) -> float:
    """The mean `_letter_weight` of the non-ASCII characters of `decoded` read as `language` (0 to 1),
    punctuation aside.

    A letter alone between ASCII weighs 0: CJK words are runs of letters, while a Western page read
    as a CJK encoding turns each accent or curly quote, with the ASCII byte after it, into one
    ("don’t" in cp1252 is "don稚" in cp932). Japanese is written with kana: a reading without any
    is at most half plausible as Japanese. Fewer than `_FEWEST_JUDGED` characters are no evidence (0).
    """
    weights: list[float] = []
    kana = 0
    for run in _NON_ASCII_RUN.finditer(decoded):
        letters = [c for c in run.group() if _judged(c)]
        kana += sum(map(_is_kana, letters))
        weights += [_letter_weight(c, language) if len(run.group()) > 1 else 0.0 for c in letters]
        if len(weights) >= _LETTERS_JUDGED:
            break
    if len(weights) < _FEWEST_JUDGED:
        return 0.0
    score = sum(weights) / len(weights)
    return score / 2 if language == "ja" and not kana else score


def cjk_reading(body: bytes) -> str | None:
    """The CJK legacy encoding whose reading of `body` is the most plausible (`cjk_plausibility`), when
    one is plausible enough; None for bytes no CJK encoding reads as ordinary text.

    Every encoding of `LEGACY_ENCODINGS` that decodes the bytes cleanly competes; a tie goes to the
    first in that table: Korean before Chinese (EUC-KR hangul decode as common GB 2312 characters
    too, while Chinese text read as Korean shows hanja, which Korean seldom writes), simplified
    Chinese before traditional (GB 2312's common rows are Big5's common ones, and mainland shops
    are the many).
    """
    best, best_score = None, 0.0
    for language, encodings in LEGACY_ENCODINGS.items():
        for encoding in encodings:
            try:
                decoded = body.decode(encoding)
            except UnicodeDecodeError:
                continue
            score = cjk_plausibility(decoded, language)
            if score >= PLAUSIBLE_CJK and score > best_score:
                best, best_score = encoding, score
    return best


def sniff_encoding(body: bytes) -> str:
    """The encoding of a page that declares none: UTF-8 when it decodes as such, else the first
    legacy encoding of its language that decodes it, else the CJK encoding whose reading is
    plausible text (`cjk_reading`), else charset-normalizer's guess.

    charset-normalizer alone read an undeclared GB18030 title as Thai (cp874) and a Big5 one as
    Korean: a few characters are too little for its statistics, and a single-byte encoding decodes
    any bytes.
    """
    candidates = ["utf-8"]
    declared = _HTML_LANG.search(body[:4096])
    if declared:
        candidates += LEGACY_ENCODINGS.get(language_of(declared.group(1).decode("ascii")) or "", ())
    for encoding in candidates:
        try:
            body.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    cjk = cjk_reading(body)
    if cjk is not None:
        return cjk
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return best.encoding if best is not None else "utf-8"


# Of a page's letters, the CJK share that makes its script its language when it declares none.
_CJK_SCRIPT_SHARE = 0.2
# Kana in this share of the CJK letters make the text Japanese (Chinese text borrows a stray "の").
_KANA_SHARE = 0.1
_SCRIPT_TEXT = 20_000  # characters read: a page's script shows in its first screens


def script_language(shown: str) -> str | None:
    """The CJK language a page's text is written in, for a page that declares none: hangul is
    Korean, Han with kana Japanese, Han alone Chinese (traditional when more of its characters are
    only in Big5 than only in GB 2312); None when CJK letters are under a fifth of its letters."""
    letters = [c for c in shown[:_SCRIPT_TEXT] if c.isalpha()]
    hangul = sum("\uac00" <= c <= "\ud7a3" for c in letters)
    kana = sum(map(_is_kana, letters))
    han = [c for c in letters if unicodedata.name(c, "").startswith("CJK UNIFIED")]
    cjk = hangul + kana + len(han)
    if not cjk or cjk < _CJK_SCRIPT_SHARE * len(letters):
        return None
    if hangul * 2 >= cjk:
        return "ko"
    if kana >= _KANA_SHARE * cjk:
        return "ja"
    simplified = sum(_double_byte_code(c, "big5") is None and _double_byte_code(c, "gb2312") is not None for c in han)
    traditional = sum(_double_byte_code(c, "gb2312") is None and _double_byte_code(c, "big5") is not None for c in han)
    return "zh-Hant" if traditional > simplified else "zh-Hans"


def page_text(body: bytes) -> str:
    """A saved page's bytes as text, decoded as a browser would with no HTTP header to go by.

    Byte-order mark, then the page's own `<meta charset>` / `http-equiv` declaration, then a
    guess. Korean, Japanese and Chinese shops still serve EUC-KR, Shift_JIS, GBK or Big5; read as
    UTF-8 their titles came out as U+FFFD.
    """
    from w3lib.encoding import html_to_unicode

    return html_to_unicode(None, body, auto_detect_fun=sniff_encoding)[1]


def read_evidence(page_html: str, url: str) -> PageEvidence:
    """Parse one page into :class:`PageEvidence` (extruct failures are logged, never raised)."""
    selector = Selector(text=page_html, type="html")
    if sum(1 for _ in itertools.islice(selector.root.iter(), MAX_PAGE_ELEMENTS + 1)) > MAX_PAGE_ELEMENTS:
        raise PageTooComplex(f"the page has more than {MAX_PAGE_ELEMENTS:,} elements (a product page has a few "
                             "thousand): not read")
    evidence = PageEvidence(url=url, selector=selector)
    products_seen: set[str] = set()
    for block in resolve_references(json_ld_blocks(page_html, url)):
        for node in iter_nodes(block):
            evidence.json_ld_all.append(node)
            if types_of(node) & PRODUCT_TYPES:
                # a product also inlined where another node refers to it ("mainEntity") counts once
                identifier = node.get("@id")
                if isinstance(identifier, str):
                    if identifier in products_seen:
                        continue
                    products_seen.add(identifier)
                evidence.json_ld.append(node)
    data: dict[str, Any] = {}
    for syntax in ("microdata", "opengraph"):
        # One syntax at a time, strict: extruct's own "log" mode prints a whole traceback for odd
        # markup (an XML document has no <head>), and a failure in one syntax must not cost the other.
        try:
            data.update(extruct.extract(selector.root, base_url=url or None, syntaxes=[syntax], uniform=True,
                                        errors="strict"))
        except Exception as exc:  # extruct raises assorted errors on odd markup; the rest still works
            logger.info("extruct (%s) failed on %s: %s", syntax, url or "<page>", exc)
    for item in data.get("microdata", []) or []:
        for node in iter_nodes(item):
            evidence.microdata_all.append(node)
            if types_of(node) & PRODUCT_TYPES:
                evidence.microdata.append(node)
    if not evidence.json_ld and not evidence.microdata:
        rdfa = [node for block in rdfa_nodes(page_html, selector.root, url) for node in iter_nodes(block)]
        if any(types_of(node) & PRODUCT_TYPES for node in rdfa):
            evidence.attribute_markup = "rdfa"
            evidence.microdata_all += rdfa
            evidence.microdata += [node for node in rdfa if types_of(node) & PRODUCT_TYPES]
    for og in data.get("opengraph", []) or []:
        for key, value in og.items():
            if isinstance(key, str) and ":" in key and key not in evidence.meta:
                evidence.meta[key.lower()] = text(value) or ""
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
    # Older shops declare the language in a Content-Language meta, maybe a list ("zh-CN, en")
    content_language = selector.xpath(
        "//meta[translate(@http-equiv, 'CONTENTLAGU', 'contentlagu')='content-language']/@content").get()
    # a page that declares no language is in the one its script shows: "￥" on an undeclared Chinese
    # page was read as the yen
    evidence.language = language_of(
        (selector.xpath("/html/@lang").get() or "").strip() or evidence.meta.get("og:locale")
        or (content_language or "").split(",")[0].strip() or None
    ) or script_language(f"{selector.xpath('normalize-space(//title)').get()} {evidence.visible_text}")
    if lists_products(evidence):
        # A category page describing the products it lists: none of them is this page's product.
        evidence.json_ld, evidence.microdata = [], []
    if not evidence.json_ld and not evidence.microdata and not has_opengraph_product(evidence.meta):
        titles = [t for t in (evidence.meta.get("og:title"), selector.xpath("normalize-space(//title)").get(),
                              selector.xpath("normalize-space(//h1)").get()) if t]
        found = state_product(state_blocks(selector), titles)
        if found:
            evidence.state.append(found)
    return evidence


def has_opengraph_product(meta: dict[str, str]) -> bool:
    """The page declares a product in its OpenGraph tags (``og:type`` product, or a price; Korean
    open markets write the shown price as ``og:price``, "2,900원~")."""
    return bool(meta.get("og:type", "").endswith("product") or meta.get("product:price:amount")
                or meta.get("og:price:amount") or meta.get("og:price"))


def _image_paths(value: Any) -> set[str]:
    """URL paths (no query) of a JSON-LD image value, for comparing variants with og:image."""
    values = value if isinstance(value, list) else [value]
    paths = set()
    for v in values:
        if isinstance(v, dict):
            v = v.get("contentUrl") or v.get("url")
        if isinstance(v, str) and v:
            paths.add(split_url(v).path)
    return paths


def _words(value: str | None) -> str:
    return " ".join(re.findall(r"\w+", (value or "").casefold()))


def _contain_one_another(a: str, b: str) -> bool:
    """Word strings (`_words`) of which one holds the other: as whole words where words are spaced
    (a category page's "Linen Dresses" does not name its card "Linen Dress"), as text in Chinese
    and Japanese, which write words together."""
    if _UNSPACED_SCRIPT.search(a + b):
        return a in b or b in a
    return f" {a} " in f" {b} " or f" {b} " in f" {a} "


_UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _listed_in_item_list(nodes: list[dict[str, Any]]) -> set[int]:
    """`id()`s of the nodes that are elements of an ``ItemList`` (or ``OfferCatalog``) among `nodes`."""
    listed: set[int] = set()
    for node in nodes:
        if not types_of(node) & {"itemlist", "offercatalog"}:
            continue
        elements = node.get("itemListElement") or []
        for element in elements if isinstance(elements, list) else [elements]:
            if isinstance(element, dict):
                listed.add(id(element))
                if isinstance(element.get("item"), dict):
                    listed.add(id(element["item"]))
    return listed


@dataclass(frozen=True)
class PageMarks:
    """What names a page's own product: its URL path, its og:image paths, its heading's words."""

    path: str
    og_images: frozenset[str]
    heading: str  # words of the <h1>, else og:title, else <title>

    @classmethod
    def of(cls, evidence: PageEvidence) -> PageMarks:
        selector = evidence.selector
        headings = [selector.xpath("normalize-space(//h1)").get(), evidence.meta.get("og:title"),
                    selector.xpath("normalize-space(//title)").get()]
        return cls(split_url(evidence.url).path,
                   frozenset(split_url(u).path for u in selector.xpath("//meta[@property='og:image']/@content").getall()),
                   next((_words(h) for h in headings if _words(h)), ""))

    def signals(self, node: dict[str, Any]) -> tuple[int, int, int]:
        """(names the page's URL, shows its og:image, its name and the heading contain one another)."""
        same_page = bool(self.path.strip("/")) and split_url(text(node.get("url")) or "").path == self.path
        name = _words(text(node.get("name")))
        named = bool(name and self.heading and _contain_one_another(name, self.heading))
        return int(same_page), int(bool(self.og_images & _image_paths(node.get("image")))), int(named)


def _variants_in_groups(nodes: list[dict[str, Any]]) -> set[int]:
    """`id()`s of the nodes among `nodes` that are variants (``hasVariant``) of another of them."""
    listed: set[int] = set()
    identifiers: set[str] = set()
    for node in nodes:
        variants = node.get("hasVariant") or []
        for variant in variants if isinstance(variants, list) else [variants]:
            if isinstance(variant, dict):
                listed.add(id(variant))
                if isinstance(variant.get("@id"), str):
                    identifiers.add(variant["@id"])
    return {id(n) for n in nodes if id(n) in listed or n.get("@id") in identifiers}


def lists_products(evidence: PageEvidence) -> bool:
    """The page's Product nodes are a listing's (a category page), not a product page's.

    So when none of them is the page's own (no `PageMarks.signals`) and they are either all elements
    of an ``ItemList`` or at least two products of different names (variants of one product share
    a name; a product page's "related" products come beside its own).
    """
    nodes = [n for n in evidence.json_ld + evidence.microdata if text(n.get("name"))]
    variants = _variants_in_groups(nodes)  # a group's sizes and colours are one product
    nodes = [n for n in nodes if id(n) not in variants]
    marks = PageMarks.of(evidence)
    if not nodes or any(any(marks.signals(n)) for n in nodes):
        return False
    listed = _listed_in_item_list(evidence.json_ld_all + evidence.microdata_all)
    names = {_words(text(n.get("name"))) for n in nodes}
    return all(id(n) in listed for n in nodes) or len(names) >= 2


def same_product_nodes(evidence: PageEvidence, product: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's structured nodes that describe `product` (itself first): a node with no name, one
    with its ``@id`` or URL, or one whose name and its name contain one another (a variant adds its
    size). A differently named node is another product (a "You may also like" card): its offers
    and images are not this one's."""
    name = _words(text(product.get("name")))
    path = split_url(text(product.get("url")) or "").path.strip("/")

    def same(node: dict[str, Any]) -> bool:
        other = _words(text(node.get("name")))
        if not name or not other or (product.get("@id") and node.get("@id") == product.get("@id")):
            return True
        if path and split_url(text(node.get("url")) or "").path.strip("/") == path:
            return True
        return other in name or name in other

    return [product] + [n for n in evidence.structured_nodes if n is not product and same(n)]


def main_product(evidence: PageEvidence) -> dict[str, Any]:
    """The page's own product node (``{}`` when the page has none).

    Pages often list one node per variant (size, colour), or related products beside their own.
    The node on screen is the one whose URL is the page's, whose image is the page's ``og:image``,
    whose name is the page's heading, or whose colour is named in the page URL; otherwise the
    first named node. A ``ProductGroup`` is the product rather than any of its variants: its name
    is the product's (theirs add the size), its offers span them all.
    """
    nodes = [n for n in evidence.structured_nodes if text(n.get("name"))]
    if not nodes:
        return (evidence.structured_nodes or [{}])[0]
    variants = _variants_in_groups(nodes)
    nodes = [n for n in nodes if id(n) not in variants]
    page = split_url(evidence.url)
    page_words = set(re.findall(r"[a-z]+", (page.path + " " + page.query).lower()))
    marks = PageMarks.of(evidence)

    def score(entry: tuple[int, dict[str, Any]]) -> tuple[int, ...]:
        index, node = entry
        colour = (text(node.get("color")) or "").lower()
        colour_in_url = int(bool(colour) and colour in page_words)
        return (*marks.signals(node), colour_in_url, -index)

    return max(enumerate(nodes), key=score)[1]


def page_url(page_html: str) -> str | None:
    """The page's own URL as it declares it (canonical link, then og:url), for saved pages."""
    return declared_url(Selector(text=page_html, type="html"))


def declared_url(selector: Selector) -> str | None:
    """The canonical link's href, else og:url, as written (maybe relative)."""
    found = (
        selector.xpath("//link[@rel='canonical']/@href").get()
        or selector.xpath("//meta[@property='og:url']/@content").get()
    )
    return found.strip() if found and found.strip() else None


def canonical_url(selector: Selector, url: str) -> str | None:
    """The address a page declares as its own, absolute, when it is on the page's own host (a
    canonical link to another site is a syndication or a mistake, not the same page)."""
    declared = declared_url(selector)
    if not declared:
        return None
    absolute = join_url(url, declared) if url else declared
    parts, own = split_url(absolute), split_url(url)
    if parts.scheme not in ("http", "https") or (url and parts.netloc.lower() != own.netloc.lower()):
        return None
    return absolute
