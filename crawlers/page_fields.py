"""Product fields read from the page around the product node: brand, breadcrumb trail, images,
audience (gender) and a stable product id.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from parsel import Selector
from vtonkit.crawlers.categories import normalise_category
from vtonkit.crawlers.evidence import PageEvidence, PageMarks, canonical_url, same_product_nodes, text
from vtonkit.crawlers.jsonld import types_of
from vtonkit.crawlers.url_roles import product_in_url
from vtonkit.crawlers.vocab import GENDERS, merged_vocabulary
from vtonkit.crawlers.urls import join_url, split_url

# visible breadcrumb separators, also when a shop writes the whole trail in one text node
_CRUMB_SEPARATORS = {">", "/", "›", "»", "|", "＞", "〉"}
# (or a text node that starts or ends with one: "Women</a> / Skirts")
_CRUMB_SPLIT = re.compile(r"(?:^|\s+)[>›»|＞〉/](?:\s+|$)")
# scripts written without spaces between words: their words are found as substrings
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


_TITLE_SEPARATORS = ("|", "-", "–", "—", "::", "·", ":")

# Containers of other products' cards beside the page's own (related, up-sell and cross-sell blocks,
# "you may also like", recently viewed): a price or a picture there is another product's.
# Japanese shop templates put a ranking of other products in a side column before the product.
_OTHER_PRODUCTS = re.compile(
    r"related|relation|recommend|upsell|up-sell|cross-?sell|also-?(?:like|bought|viewed)|similar|recently|"
    r"suggest|complete-the-look|shop-the-look|ranking|best-?sellers?|popular|trending|"
    r"side-?(?:bar|menu|nav)|(?:^|\s)side(?:$|\s)", re.IGNORECASE)
# A carousel often slides other products' cards, but as often the product's own gallery.
_CAROUSEL = re.compile(r"carousel", re.IGNORECASE)


def in_other_products(element: Any, *, carousels: bool = True) -> bool:
    """`element` (an lxml element) sits in a block of other products' cards, by a class or id of
    an enclosing element; with `carousels`, any carousel counts as one (not for pictures: a gallery slides too)."""
    for ancestor in element.iterancestors():
        if isinstance(ancestor.tag, str):
            marks = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"
            if _OTHER_PRODUCTS.search(marks) or (carousels and _CAROUSEL.search(marks)):
                return True
    return False


def without_site_name(title: str | None, site_name: str | None, heading: str | None = None,
                      host: str = "") -> str | None:
    """A page title without the shop's name that pages append or prepend ("Wide Pants | ACME").

    With no ``og:site_name`` to go by, the page's `heading` shows where the product's name ends: the
    rest is the shop's name when set off by "|" or when it spells the `host` ("Acme Store" on
    acmestore.com), not a colour or a size ("Linen Shirt - White").
    """
    if not title:
        return title
    title = title.strip()
    site = (site_name or "").strip()
    heading = (heading or "").strip()
    for separator in _TITLE_SEPARATORS:
        if site and site != title:
            if title.endswith(f" {separator} {site}"):
                return title[: -len(f" {separator} {site}")].strip() or title
            if title.startswith(f"{site} {separator} "):
                return title[len(f"{site} {separator} "):].strip() or title
        if heading and heading != title:
            rest = (title.removeprefix(f"{heading} {separator} ") if title.startswith(f"{heading} {separator} ")
                    else title.removesuffix(f" {separator} {heading}") if title.endswith(f" {separator} {heading}")
                    else None)
            spelled = re.sub(r"[^a-z0-9]", "", (rest or "").lower().replace("&", "and"))  # "Oak & Ivy": oakandivy.com
            if rest and (separator == "|" or (len(spelled) >= 3 and spelled in host.lower().replace(".", ""))):
                return heading
    if heading and heading != title and title.startswith(heading):
        # a full-width bar, maybe after a bracketed category: "スカート（スカート）｜BRAND - ZOZOTOWN"
        if re.match(r"\s*(?:\([^)]*\)\s*)?\|", unicodedata.normalize("NFKC", title[len(heading):])):
            return heading
    return title


@lru_cache(maxsize=1)
def _placeholder() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in merged_vocabulary().placeholders), re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """Whether a field's whole value is wording for "no value" ("N/A", "상세페이지 참조")."""
    return bool(_placeholder().fullmatch(value.strip(" .:-()[]")))


def brand_from_html(evidence: PageEvidence) -> str | None:
    """A visible brand element (``class="product-brand"``, ``brand-name``); never a site logo."""
    for node in evidence.selector.xpath(
        "//*[contains(@class, 'product-brand') or contains(@class, 'productBrand') or contains(@class, 'brand-name')"
        " or contains(@class, 'product__brand') or contains(@data-testid, 'brand')][not(self::script)]"
    )[:5]:
        shown = re.sub(r"\s+", " ", " ".join(node.xpath(".//text()").getall())).strip()
        if shown and len(shown) <= 60:
            return shown
    return None


def _brand_labels() -> str:
    """The brand labels of every vocabulary as one regular-expression alternation."""
    return "|".join(re.escape(label) for label in merged_vocabulary().brand_labels)


@lru_cache(maxsize=1)
def _brand_label() -> re.Pattern[str]:
    return re.compile(rf"^\s*(?:{_brand_labels()})\s*[:：]?\s*(.*?)\s*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _captioned_brand() -> re.Pattern[str]:
    return re.compile(rf"(?<![^\W\d_])(?:{_brand_labels()})\s*[:：]\s*(\S.*)$", re.IGNORECASE)


def without_brand_label(brand: str | None) -> str | None:
    """A brand given with its caption ("Ver mais artigos da Marca: Roborock", a Shopify theme's
    ``itemprop="brand"`` heading): the part after "<brand label>:"."""
    if not brand:
        return brand
    found = _captioned_brand().search(brand)
    return found.group(1).strip() if found else brand


@lru_cache(maxsize=8)
def _whole_labels(labels: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"^\s*(?:{label})\s*[:：]?\s*$", re.IGNORECASE) for label in labels)


def is_label(text: str, labels: tuple[str, ...]) -> bool:
    """`text` is one of `labels` (regular-expression fragments) as a whole, a colon allowed after it."""
    return any(pattern.match(text) for pattern in _whole_labels(labels))


def card_field(evidence: PageEvidence, labels: tuple[str, ...]) -> str | None:
    """The value a Twitter product card gives under one of `labels` (``twitter:labelN`` "Colour",
    ``twitter:dataN`` "black"): page-level metadata that script-drawn shops write even where their
    structured data is missing."""
    for n in range(1, 5):
        label, value = evidence.meta.get(f"twitter:label{n}"), evidence.meta.get(f"twitter:data{n}")
        if label and value and value.strip() and is_label(label, labels):
            return value.strip()
    return None


def card_brand(evidence: PageEvidence) -> str | None:
    """The brand a Twitter product card names ("Brand" / "Esprit")."""
    return card_field(evidence, tuple(re.escape(label) for label in merged_vocabulary().brand_labels))


def card_colour(evidence: PageEvidence) -> str | None:
    """The colour a Twitter product card names ("Colour" / "black")."""
    return card_field(evidence, merged_vocabulary().colour_labels)


def labelled_cells(evidence: PageEvidence, labels: tuple[str, ...]) -> list[tuple[int, Selector]]:
    """(index of the label, value cell) of each table row or definition-list entry whose header is
    one of `labels` (regular-expression fragments): ``<th>브랜드</th><td>…</td>``, ``<dt>売価</dt><dd>…</dd>``."""
    patterns = _whole_labels(labels)
    found = []
    for cell in evidence.selector.xpath("//th | //dt")[:200]:
        head = " ".join(" ".join(cell.xpath(".//text()").getall()).split())
        index = next((i for i, pattern in enumerate(patterns) if pattern.match(head)), None)
        value = cell.xpath("following-sibling::*[self::td or self::dd][1]") if index is not None else []
        if value:
            found.append((index, value[0]))
    return found


def labelled_brand(evidence: PageEvidence) -> str | None:
    """A brand shown beside its label: a table row (``<th>브랜드</th><td>…</td>``,
    ``<dt>ブランド</dt><dd>…</dd>``) or one element reading "<label>: <brand>" ("品牌：优衣库")."""
    for _, cell in labelled_cells(evidence, tuple(re.escape(label) for label in merged_vocabulary().brand_labels)):
        value = " ".join(" ".join(cell.xpath(".//text()").getall()).split())
        if value and len(value) <= 60:
            return value
    label = _brand_label()
    sel = evidence.selector
    for node in sel.xpath("//p | //li | //span | //div[not(*)]")[:2000]:
        shown = " ".join(" ".join(node.xpath(".//text()").getall()).split())
        if not shown or len(shown) > 80:
            continue
        found = label.match(shown)
        if found and found.group(1) and re.search(r"[:：]", shown):
            return found.group(1)
    return None


def brand_before_heading(evidence: PageEvidence, trail: list[str]) -> str | None:
    """A brand shown just above the product's name, as marketplaces show it (Zalando's
    ``<h3>Esprit</h3><h1>Chinos</h1>``), when the page title names both ("Esprit Chinos - camel").

    The text closest before the first ``<h1>`` counts only when it is short, not inside the heading,
    no step of the breadcrumb `trail`, no audience, and the page title (``og:title`` or ``<title>``)
    holds it and the heading: a badge ("New", "-20 %"), a skip link or the trail's last step stays
    out. A title that does not start with it must not name a garment category with it either (a
    "Dresses" link above the heading of "Floral dress - Dresses"); one that does may ("Versace
    Jeans Couture BULL BAROQUE - Slim fit jeans").
    """
    sel = evidence.selector
    heading = _folded(sel.xpath("normalize-space((//h1)[1])").get() or "")
    shown = sel.xpath("(//h1)[1]/preceding::text()[normalize-space()]"
                      "[not(ancestor::script or ancestor::style or ancestor::noscript)][1]").get()
    candidate = " ".join((shown or "").split())
    folded = _folded(candidate)
    if (not heading or not folded or len(candidate) > 40 or len(candidate.split()) > 5
            or not re.search(r"[^\W\d_]", candidate) or _holds(heading, folded)
            or folded in {_folded(step) for step in trail} or is_placeholder(candidate)
            or gender_of_text(candidate) is not None):
        return None
    titles = (sel.xpath("//meta[@property='og:title']/@content").get(), sel.xpath("normalize-space(//title)").get())
    for title in map(_folded, filter(None, titles)):
        if not (_holds(title, folded) and _holds(title, heading)):
            continue
        if title.startswith(f"{folded} ") or normalise_category(title=candidate, language=evidence.language) == "other":
            return candidate
    return None


def _folded(value: str) -> str:
    return " ".join(value.casefold().split())


def _holds(text_: str, part: str) -> bool:
    """`part` in `text_` as whole words (as a substring in scripts written without spaces)."""
    if _UNSPACED.search(part):
        return part in text_
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text_) is not None


def _position(element: dict[str, Any]) -> float:
    position = text(element.get("position")) or ""
    return float(position) if re.match(r"^[\d.]+$", position) else 0


# What shops name their visible trail, tried in this order: Chinese shops write "crumb", Japanese
# ones "topic path" or "pankuzu" (パンくず), Cafe24's skins "xans-product-headcategory".
_TRAIL_NAMES = ("breadcrumb", "crumb", "topicpath", "topic-path", "topic_path", "pankuzu", "headcategory")
# Korean and Japanese shops also write "path" or "location" (현재 위치), words too common inside
# other names ("clip-path", "store-location"): only a whole class or id, with two links or more
# (a store finder's "location" block has one or none).
_TRAIL_WORDS = ("path", "location")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _named(name: str) -> str:
    """An XPath test: the element's class, id or aria-label contains `name` (ASCII), in any case."""
    return " or ".join(f"contains(translate(@{attribute}, '{_UPPER}', '{_UPPER.lower()}'), '{name}')"
                       for attribute in ("class", "id", "aria-label"))


def _named_whole(name: str) -> str:
    """An XPath test: one of the element's classes, or its id, is `name` (ASCII), in any case."""
    return (f"contains(concat(' ', normalize-space(translate(@class, '{_UPPER}', '{_UPPER.lower()}')), ' '), ' {name} ')"
            f" or translate(@id, '{_UPPER}', '{_UPPER.lower()}') = '{name}'")


# a trail's shown texts
_TRAIL_TEXT = ".//text()[normalize-space()][not(ancestor::script or ancestor::style)]"


def _trail_texts(trail: Selector) -> list[str]:
    """The texts of a visible trail from its first link on: the steps, links or not (the current
    category is often plain text, a ``<span>`` or a ``<strong>`` after the last link), and the
    separators between them; a label before the first link ("You are here:", "현재 위치") is no step."""
    texts = trail.root.xpath(_TRAIL_TEXT)
    # lxml's text results know their element: a tail's is the element it follows, not the one holding it
    holders = [t.getparent() if not t.is_tail else t.getparent().getparent() for t in texts]
    first_link = next((i for i, holder in enumerate(holders)
                       if holder is not None and holder.xpath("ancestor-or-self::a")), None)
    return [] if first_link is None else [str(t) for t in texts[first_link:]]


def _trail_steps(texts: list[str]) -> list[str]:
    """The steps of a visible trail's `texts`, split at its separators (also inside one text node)."""
    names = [part for t in texts for part in _CRUMB_SPLIT.split(re.sub(r"\s+", " ", t).strip())]
    return [n.strip() for n in names if n.strip() and n.strip() not in _CRUMB_SEPARATORS]


# A step of a trail without links is a category's name, never a sentence.
_MAX_PLAIN_STEP = 40


def breadcrumbs(evidence: PageEvidence) -> list[str]:
    """The category trail: schema.org ``BreadcrumbList`` first, then a visible breadcrumb element."""
    for node in evidence.json_ld_all + evidence.microdata_all:
        if "breadcrumblist" not in types_of(node):
            continue
        elements = node.get("itemListElement") or []
        elements = elements if isinstance(elements, list) else [elements]
        elements = sorted((e for e in elements if isinstance(e, dict)), key=_position)
        names = [text(e.get("name")) or text(e.get("item")) for e in elements]
        names = [n for n in names if n and not n.startswith("http")]
        if names:
            return names
    tests = [f"[{_named(name)}][.//a]" for name in _TRAIL_NAMES]
    tests += [f"[{_named_whole(word)}][count(.//a) >= 2]" for word in _TRAIL_WORDS]
    for test in tests:
        for trail in evidence.selector.xpath(f"//*{test}")[:1]:
            names = _trail_steps(_trail_texts(trail))
            if names:
                return names
    # Then a trail written as plain text ("<nav class=breadcrumb>홈 › 하의 › 바지</nav>"): only where
    # separators split it into short steps, since no links say it is one
    for name in _TRAIL_NAMES:
        for trail in evidence.selector.xpath(f"//*[{_named(name)}][not(.//a)]")[:1]:
            names = _trail_steps(trail.xpath(_TRAIL_TEXT).getall())
            if len(names) >= 2 and max(map(len, names)) <= _MAX_PLAIN_STEP:
                return names
    return []


def title_heading(evidence: PageEvidence, title: str | None) -> Selector | None:
    """The heading that names the page's product: the first ``<h1>`` with text, else the first
    ``<h2>``/``<h3>`` that starts with `title` (Cafe24's ``.infoArea h2``, Youngcart's
    ``h2#sit_title``, Taobao's ``h3.tb-main-title``), not one that merely sits on the page ("You may
    also like")."""
    sel = evidence.selector
    h1 = sel.xpath("(//h1[normalize-space()])[1]")
    if h1:
        return h1[0]
    name = _folded(title or "")
    return next((heading for heading in sel.xpath("(//h2 | //h3)[position() <= 50]")
                 if name and _folded(heading.xpath("normalize-space()").get() or "").startswith(name)), None)


# schema.org types of writing: a blog post or guide that recommends an item carries its Product too
_ARTICLE_TYPES = {"article", "blogposting", "newsarticle", "techarticle", "report", "scholarlyarticle",
                  "socialmediaposting", "liveblogposting", "discussionforumposting"}


def _node_address(value: Any) -> str | None:
    """A JSON-LD address written as a string or as a node (``{"@id": ...}``)."""
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    return value if isinstance(value, str) else text(value)


def is_article_page(evidence: PageEvidence, product: dict[str, Any]) -> bool:
    """The page is an article (a blog post, a styling guide) that describes `product`, not its page.

    An Article node is the page's main entity when its headline is the page's heading (``<h1>``,
    ``og:title``, the ``<title>`` less the shop's name), its ``mainEntityOfPage`` is the page's address,
    or a ``WebPage`` names it as its ``mainEntity``; the product is still the page's own when its
    address is the page's, its picture the ``og:image`` or its name the heading itself.
    """
    nodes = evidence.json_ld_all
    articles = [n for n in nodes if types_of(n) & _ARTICLE_TYPES]
    if not articles or not product:
        return False
    sel = evidence.selector
    h1 = sel.xpath("normalize-space(//h1)").get()
    headings = {_folded(h) for h in (h1, evidence.meta.get("og:title"),
                                     without_site_name(sel.xpath("normalize-space(//title)").get(),
                                                       evidence.meta.get("og:site_name"), h1))
                if h and h.strip()}
    same_page, shows_og_image, _ = PageMarks.of(evidence).signals(product)
    if same_page or shows_og_image or _folded(text(product.get("name")) or "") in headings:
        return False
    page_path = split_url(evidence.url).path.rstrip("/")
    main_entities = {id(n["mainEntity"]) for n in nodes if "webpage" in types_of(n) and isinstance(n.get("mainEntity"), dict)}

    def is_main_entity(article: dict[str, Any]) -> bool:
        headline = _folded(text(article.get("headline")) or text(article.get("name")) or "")
        address = _node_address(article.get("mainEntityOfPage")) or ""
        names_page = bool(page_path) and split_url(join_url(evidence.url, address)).path.rstrip("/") == page_path
        return bool(headline and headline in headings) or (bool(address) and names_page) or id(article) in main_entities

    return any(map(is_main_entity, articles))


def document_base(evidence: PageEvidence) -> str:
    """The address the page's relative URLs resolve against: its ``<base href>`` (itself resolved
    against the page's URL), else the page's URL."""
    href = (evidence.selector.xpath("//head/base/@href | //base/@href").get() or "").strip()
    if not href:
        return evidence.url
    absolute = join_url(evidence.url, href) if evidence.url else href
    return absolute if split_url(absolute).scheme in ("http", "https") else evidence.url


def _images_base(evidence: PageEvidence, product: dict[str, Any]) -> str | None:
    """Where the product's relative image paths are served when the page's og:image shows one of
    them on another host (a CDN: Musinsa's state writes "/images/goods_img/..." and its og:image
    is that path on image.msscdn.net); None otherwise."""
    images = product.get("image") if isinstance(product.get("image"), list) else [product.get("image")]
    relative = {split_url(i.strip()).path for i in images if isinstance(i, str) and re.match(r"\s*/(?!/)", i)}
    for og_image in evidence.selector.xpath("//meta[@property='og:image']/@content").getall():
        parts = split_url(og_image.strip())
        if relative and parts.scheme in ("http", "https") and parts.path in relative:
            return f"{parts.scheme}://{parts.netloc}/"
    return None


# A product shows tens of pictures; a page listing more is hostile or broken, and each URL kept is
# one more line of its product record (the download cap is the pipeline's, VTONKIT_MAX_IMAGES_PER_PRODUCT).
MAX_IMAGE_URLS = 1000


def image_urls(evidence: PageEvidence, product: dict[str, Any], title: str | None = None) -> list[str]:
    """Absolute image URLs, once each and at most `MAX_IMAGE_URLS`: the product node's, any product
    node's (a lazy-loading placeholder among them read as the picture its `<img>` loads, or
    dropped: :func:`_loaded_images`), else og:image with Magento's gallery data (:func:`magento_gallery`), then gallery images
    (not in related products' cards), then the pictures the page shows as the product titled
    `title` (:func:`pictures_of`)."""
    found: dict[str, None] = {}  # in page order; a dict, since a list's `in` made 200,000 URLs quadratic
    base = _images_base(evidence, product) or document_base(evidence)
    loaded: dict[str, list[str]] | None = None

    def add(value: Any) -> None:
        if len(found) >= MAX_IMAGE_URLS:
            return
        if isinstance(value, list):
            for v in value:
                add(v)
        elif isinstance(value, dict):
            # An "@id" naming a node inside a page (Yoast: ".../#primaryimage") is no image; the
            # references are resolved to the ImageObject they name when the page has it.
            identifier = value.get("@id")
            if not isinstance(identifier, str) or "#" in identifier:
                identifier = None
            add(value.get("contentUrl") or value.get("url") or identifier)
        elif isinstance(value, str) and value.strip() and is_placeholder_image(value.strip()):
            # a lazy-loading placeholder (microdata's image is the <img>'s `src`): the picture that
            # element shows once loaded, else nothing, so that the fallbacks below are read
            nonlocal loaded
            loaded = _loaded_images(evidence) if loaded is None else loaded
            shown = loaded.get(_resolved(evidence, value.strip()))
            if shown:
                add(shown.pop(0))
        elif isinstance(value, str) and value.strip():
            absolute = join_url(base, value.strip()) if base else value.strip()
            # split_url gives a malformed address ("http://[x/a.jpg") no parts at all: it is no image
            if split_url(absolute).geturl():
                found.setdefault(absolute)

    add(product.get("image"))
    if not found:
        for node in same_product_nodes(evidence, product)[1:]:
            add(node.get("image"))
    if not found:
        add(
            evidence.selector.xpath(
                "//meta[@property='og:image' or @property='og:image:url' or @property='og:image:secure_url']/@content"
            ).getall()
            or evidence.meta.get("twitter:image")
        )
        # Magento's gallery data is the product's own, every shot: og:image names only the first (on a
        # Luma page, the on-model photo), and the garment shot the crawl keeps is often another. The
        # og:image is a resized cache copy of a gallery file: the gallery's full size replaces it.
        gallery = magento_gallery(evidence)
        files = {split_url(url).path.rsplit("/", 1)[-1] for url in gallery}
        for url in [u for u in found if split_url(u).path.rsplit("/", 1)[-1] in files]:
            del found[url]
        add(gallery)
    if not found:
        sel = evidence.selector
        # Taobao and Tmall show the main picture in their "booth"
        add([_full_image(img) for img in sel.xpath("//img[@itemprop='image' or @id='J_ImgBooth']") if _own_picture(img)])
        # (Luma's related-product cards are "product-image-container"s too)
        add([_full_image(img) for img in sel.xpath(
            "//*[contains(@class, 'gallery') or contains(@class, 'product-image') or contains(@class, 'product-media')]"
            "//img | //img[contains(translate(@class, 'BIGIMAGE', 'bigimage'), 'bigimage')]"
        ) if _own_picture(img)])
    if not found and title:
        add(pictures_of(evidence, title))
    return list(dict.fromkeys(largest_shown(evidence, list(found), document_base(evidence))))


def is_placeholder_image(url: str) -> bool:
    """An image address a lazy-loading `<img>` shows until its picture loads: inline data, or a
    blank, spacer or "loading" file (`blank.gif`, `loading.svg`)."""
    return url.startswith("data:") or bool(_PLACEHOLDER_IMAGE.search(split_url(url).path.rsplit("/", 1)[-1]))


def _resolved(evidence: PageEvidence, url: str) -> str:
    base = document_base(evidence)
    return join_url(base, url) if base and not url.startswith("data:") else url


def _loaded_images(evidence: PageEvidence) -> dict[str, list[str]]:
    """Placeholder `src` (resolved) -> the pictures the `<img>`s showing it load (:func:`_full_image`),
    in page order: the ``itemprop="image"`` ones (microdata names each by its `src`), else the one
    `<img>` that shows that placeholder (several: which one a structured value means is unknown)."""
    marked: dict[str, list[str]] = {}
    others: dict[str, list[str | None]] = {}
    for img in evidence.selector.xpath("//img[@src]"):
        src = (img.attrib.get("src") or "").strip()
        if not src or not is_placeholder_image(src) or not _own_picture(img):
            continue
        key, shown = _resolved(evidence, src), _full_image(img)
        if "image" in (img.attrib.get("itemprop") or "").split():
            if shown:
                marked.setdefault(key, []).append(shown)
        else:
            others.setdefault(key, []).append(shown)
    for key, shown_ in others.items():
        if key not in marked and len(shown_) == 1 and shown_[0]:
            marked[key] = [shown_[0]]
    return marked


def _own_picture(img: Selector) -> bool:
    """An `<img>` outside the blocks of other products' cards (a related product's photo is not
    this product's); a carousel may be the product's own gallery."""
    return not in_other_products(img.root, carousels=False)


def magento_gallery(evidence: PageEvidence) -> list[str]:
    """The pictures of a Magento product's gallery, which Luma draws from the ``mage/gallery/gallery``
    data of an ``x-magento-init`` script (each picture's ``full`` size, else its ``img``), in order;
    a video's still aside. The page itself may show none of them, or only the first."""
    found: list[str] = []
    for script in evidence.selector.xpath(
            "//script[@type='text/x-magento-init'][contains(., 'mage/gallery/gallery')]/text()").getall():
        try:
            init = json.loads(script)
        except (ValueError, RecursionError):
            continue
        for components in init.values() if isinstance(init, dict) else []:
            gallery = components.get("mage/gallery/gallery") if isinstance(components, dict) else None
            pictures = gallery.get("data") if isinstance(gallery, dict) else None
            for picture in pictures if isinstance(pictures, list) else []:
                if isinstance(picture, dict) and picture.get("type", "image") == "image":
                    url = picture.get("full") or picture.get("img")
                    if isinstance(url, str):
                        found.append(url)
    return found


# Query parameters image CDNs size a picture by (Zalando imwidth, Shopify/Imgix width and w, Scene7 wid)
_SIZE_PARAMETERS = ("imwidth", "width", "w", "wid", "sw")
_SRCSET_ENTRY = re.compile(r"(\S+)(?:\s+\d+(?:\.\d+)?[wx])?\s*(?:,|$)")


def _size_asked(url: str) -> int | None:
    query = split_url(url).query
    for name, value in (pair.partition("=")[::2] for pair in query.split("&")):
        if name.lower() in _SIZE_PARAMETERS and value.isdigit():
            return int(value)
    return None


def largest_shown(evidence: PageEvidence, urls: list[str], base: str | None) -> list[str]:
    """Each of `urls` that asks its CDN for a size (`imwidth=103`) as the largest size the page itself
    shows of the same picture (the same address but for its query): structured data often names a
    thumbnail (Zalando's JSON-LD: 103 px, below the 256 px a garment shot needs; its gallery: 1800)."""
    if not any(_size_asked(url) for url in urls):
        return urls
    largest: dict[tuple[str, str], tuple[int, str]] = {}
    for value in evidence.selector.xpath("//img/@src | //img/@data-src | //img/@srcset | //source/@srcset").getall():
        for candidate in _SRCSET_ENTRY.findall(value.strip()):
            absolute = join_url(base, candidate) if base else candidate
            size, parts = _size_asked(absolute), split_url(absolute)
            key = (parts.netloc, parts.path)
            if size is not None and size > largest.get(key, (0, ""))[0]:
                largest[key] = (size, absolute)
    out = []
    for url in urls:
        size, parts = _size_asked(url), split_url(url)
        shown = largest.get((parts.netloc, parts.path))
        out.append(shown[1] if size is not None and shown and shown[0] > size else url)
    return out


# what a page shows beside a product that is not its picture
_NOT_A_PICTURE = re.compile(r"logo|icon|sprite|badge|flag|payment|avatar|banner|rating|star", re.IGNORECASE)


def is_decoration(url: str) -> bool:
    """An image whose file name says it is the shop's logo, an icon, a badge, not a product's picture."""
    return bool(_NOT_A_PICTURE.search(split_url(url).path.rsplit("/", 1)[-1]))


def pictures_of(evidence: PageEvidence, title: str) -> list[str]:
    """The pictures a page without product data shows of its product: the images whose alt text
    is the product's name (or holds it), else those beside the heading that names it (`title_heading`,
    in its nearest enclosing element that has any), logos and icons aside."""
    name = " ".join(title.casefold().split())

    def wanted(img: Any) -> bool:
        marks = " ".join(img.xpath("@src | @alt | @class | @id").getall())
        return (not _NOT_A_PICTURE.search(marks) and not img.xpath("ancestor::header | ancestor::footer | ancestor::nav")
                and _own_picture(img))

    named = [img for img in evidence.selector.xpath("//img[@alt]")
             if name and name in " ".join((img.attrib.get("alt") or "").casefold().split()) and wanted(img)]
    heading = title_heading(evidence, title)
    if not named and heading is not None:
        for container in heading.xpath("ancestor::*[position() <= 3]"):
            named = [img for img in container.xpath(".//img") if wanted(img)]
            if named:
                break
    return [url for url in (_full_image(img) for img in named) if url]


# Where lazy-loading galleries keep the real image while `src` holds a placeholder (Cafe24:
# `ec-data-src`), most specific first; then the largest `srcset` candidate (the lazy loaders'
# `data-srcset` first), then the `<source>`s of an enclosing `<picture>`, then `src`.
_LAZY_IMAGE_ATTRIBUTES = ("data-zoom-image", "data-large", "data-original", "data-src", "ec-data-src",
                          "data-lazy-src", "data-lazy")
_PLACEHOLDER_IMAGE = re.compile(r"(?:blank|spacer|placeholder|loading|transparent|pixel)\.(?:gif|png|svg)", re.IGNORECASE)
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")


def srcset_candidates(value: str) -> list[tuple[str, str, float]]:
    """`(url, "w" or "x", size)` of each candidate of a `srcset` value, split as browsers split it.

    A URL runs to the next whitespace, so commas inside it stay (`.../w_1600,c_fill/a.jpg`); a
    comma after the URL or its descriptors ends the candidate. No descriptor means `1x`.
    """
    candidates: list[tuple[str, str, float]] = []
    position, end = 0, len(value)
    while position < end:
        while position < end and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < end and not value[position].isspace():
            position += 1
        url, descriptors = value[start:position], ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start = position
            while position < end and value[position] != ",":
                position += 1
            descriptors = value[start:position]
        kind, size = "x", 1.0
        for token in descriptors.split():
            found = _DESCRIPTOR.match(token)
            if found:
                kind, size = found.group(2), float(found.group(1))
        if url:
            candidates.append((url, kind, size))
    return candidates


def _largest(srcsets: list[str]) -> str | None:
    """The largest image of some `srcset` values: widest `w`, else densest `x`; a tie goes to the later one."""
    ranked = [((kind == "w", size, index), url)
              for index, (url, kind, size) in enumerate(c for value in srcsets for c in srcset_candidates(value))
              if not url.startswith("data:")]
    return max(ranked)[1] if ranked else None


def _full_image(img: Any) -> str | None:
    """The URL of the picture an `<img>` shows once loaded (not a lazy-loading placeholder)."""
    for attribute in _LAZY_IMAGE_ATTRIBUTES:
        value = (img.attrib.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    for attribute in ("data-srcset", "srcset"):
        found = _largest([img.attrib.get(attribute) or ""])
        if found:
            return found
    found = _largest([source.attrib.get("data-srcset") or source.attrib.get("srcset") or ""
                      for source in img.xpath("ancestor::picture[1]//source")])  # lxml nests <source>s
    if found:
        return found
    src = (img.attrib.get("src") or "").strip()
    return None if not src or src.startswith("data:") or _PLACEHOLDER_IMAGE.search(src) else src


@lru_cache(maxsize=1)
def _gender_words() -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    """gender -> (whole words, substrings for scripts without spaces)."""
    genders = merged_vocabulary().genders
    return {
        g: (
            frozenset(w.lower() for w in genders[g] if not _UNSPACED.search(w)),
            tuple(w for w in genders[g] if _UNSPACED.search(w)),
        )
        for g in GENDERS
    }


def gender_of_text(value: str) -> str | None:
    """The audience a text names (``unisex`` before ``kids`` before ``women`` before ``men``)."""
    words = set(re.findall(r"[^\W\d_]+", value.lower()))
    table = _gender_words()
    for gender in ("unisex", "kids", "women", "men"):
        whole, unspaced = table[gender]
        if words & whole or any(w in value for w in unspaced):
            return gender
    return None


# One-letter codes a gender field holds (Musinsa's "sex": "M"); never read from other text, where
# "M" is a size
_GENDER_CODES = {"m": "men", "f": "women"}


def gender_of_field(value: str) -> str | None:
    """The audience a gender field names: a word (any language) or a code, or several ("M, F",
    "남성, 여성"), which for men and women is unisex."""
    found = {_GENDER_CODES.get(part.strip().casefold()) or gender_of_text(part) for part in re.split(r"[,;/|&]", value)}
    if {"men", "women"} <= found:
        return "unisex"
    return next((g for g in ("unisex", "kids", "women", "men") if g in found), None)


def gender(evidence: PageEvidence, product: dict[str, Any], trail: list[str]) -> str | None:
    """The audience from explicit fields, then the breadcrumb trail, then the path of the page's
    canonical URL (else its URL)."""
    audience = product.get("audience")
    explicit = [
        text(audience.get("suggestedGender")) if isinstance(audience, dict) else None,
        text(product.get("gender")),
        evidence.meta.get("product:target_gender"),
        evidence.meta.get("product:gender"),
    ]
    for value in [t for t in explicit if t]:
        found = gender_of_field(value)
        if found:
            return found
    # the address the page names as its own first (the same whichever link reached it), then the one
    # that reached it: Magento serves a product at /women/tops-women/tee.html and at /tee.html, its
    # canonical one, and only the category path says whom it is for
    own_url = canonical_url(evidence.selector, evidence.url) or evidence.url
    for value in (" ".join(trail), split_url(own_url).path, split_url(evidence.url).path):
        found = gender_of_text(value)
        if found:
            return found
    return None


def product_id(product: dict[str, Any], sku: str | None, url: str) -> str:
    """The shop's product id, else the SKU, else the product the URL names (`url_roles.product_in_url`:
    a product parameter or the path's last segment), else a hash of the URL."""
    for key in ("productID", "productGroupID", "sku"):
        value = text(product.get(key))
        if value and not value.startswith("http"):
            return value
    if sku:
        return sku
    return product_in_url(url) or hashlib.sha1(url.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _labelled_colour() -> re.Pattern[str]:
    labels = "|".join(merged_vocabulary().colour_labels)
    # a colon is required: "Colour" alone is usually a filter or a heading
    return re.compile(r"(?<![A-Za-z])(?:" + labels + r")\s*[:：]\s*([^\s,/|;:：()]{1,24})", re.IGNORECASE)


def colour_cell(evidence: PageEvidence) -> str | None:
    """The colour of an attribute table's row headed by a colour label (WooCommerce's "Additional
    information", Magento's "More Information": ``<th>Color</th><td>Red</td>``); not a chooser's
    row (a ``<select>`` of the colours on offer), not a list of several, not another product's."""
    for _, cell in labelled_cells(evidence, merged_vocabulary().colour_labels):
        value = " ".join(" ".join(cell.xpath(".//text()").getall()).split())
        if (value and len(value) <= 40 and not re.search(r"[,;、，]", value)
                and not cell.xpath(".//select | .//input | .//button") and not in_other_products(cell.root)):
            return value
    return None


def visible_colour(evidence: PageEvidence) -> str | None:
    """A colour shown in an attribute table's row (:func:`colour_cell`), else as "<label>: <colour>"
    ("Colour: Navy", "색상: 블랙", "カラー：ブラック")."""
    in_table = colour_cell(evidence)
    if in_table:
        return in_table
    match = _labelled_colour().search(evidence.visible_text)
    return match.group(1) if match else None
