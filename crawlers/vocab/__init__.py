"""Shop vocabularies: one TOML file per language, loaded and merged by one loader.

Each ``<language>.toml`` (BCP 47 tag: ``en``, ``de``, ``ko``, ``zh-Hans``, ...) may hold:

* ``[categories]`` ``dresses``/``lower``/``upper``: garment words. Latin-script words match as
  whole words after accent folding (with an optional plural ``s``/``es``); other scripts match
  as substrings (Korean, Japanese and Chinese do not separate words with spaces).
* ``[categories] other``: words of things no try-on category holds, worn or not (swimwear,
  underwear, socks, hats, bags, shoes, jewellery, jumpsuits): a text naming one is ``other``
  whatever garment words it names too ("Triangle bikini top", "Knit beanie", "Boxer shorts").
* ``[categories] noise``: regular expressions of phrases that contain a garment word but do not
  name the garment ("dress shirt", "robe de chambre"); removed before matching.
* ``[categories] compound_suffixes_*``: garment words that end compounds ("Sommerkleid").
* ``[categories] ambiguous``: this file's garment words or compound suffixes that also name
  something else (German "Rock" is a skirt and music: "Punkrock"); a category they name loses
  to one that an unambiguous word of the same text names ("Punkrock T-Shirt" is a top). A word
  that alone names no garment at all (Japanese "デニム", Korean "베스트") is no garment word.
* ``[genders]`` ``women``/``men``/``kids``/``unisex``: audience words.
* ``[labels]`` ``sku``: regular-expression fragments that introduce a product reference in the
  visible page ("Article number", "상품코드", "品番"); ``colour``: the same for a colour;
  ``brand``: for a brand; ``price``: the whole header of a table row or definition-list entry
  that shows the price paid ("판매가", "販売価格", "售价"), a sale price's first; ``old_price``: the
  label of a list price shown beside the price paid ("소비자가", "定価", "市场价", "RRP", "UVP"),
  whose amount is not the price, as a row's header or written before the amount; ``load_more``: the
  caption of a listing's "load more" button ("Load more", "더보기", "もっと見る"), clicked when a
  rendered listing stops growing on scroll; ``next_page``: the whole caption of a "next page"
  button ("Next", "다음", "下一页"), clicked when there is no "load more" button. These fragments
  are also run as JavaScript regular expressions in the browser: keep to the common syntax.
* ``[availability]`` ``out_of_stock``: visible "sold out" wording; ``orderable``: regular-expression
  fragments of visible wording that says the product can be ordered ("available to order"),
  which wins over a sold-out word beside it ("Out of stock online - available to order");
  ``buy``: the whole caption of a shown, enabled buy button ("Add to bag", "장바구니 담기",
  "カートに入れる"): the product can be ordered when nothing on the page says otherwise.
* ``[values]`` ``placeholder``: regular-expression fragments of what shops write in a field that
  has no value ("N/A", "see the description", Korean sellers' "상세페이지 참조"), matched against
  the whole value; such a value is no brand, colour or name.
* ``[false_friends]`` ``words``: garment words of this language that mean something else in
  others (French "robe" is an English bathrobe): they only count on pages that declare this
  language (``<html lang>``) or declare none.

Adding a language is adding a file; :func:`merged_vocabulary` unions every file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from vtonkit.core.categories import GARMENT_CATEGORIES

VOCAB_DIR = Path(__file__).resolve().parent
# The [categories] key of words that name what no try-on category holds (see the module docstring).
NOT_GARMENT = "other"
GENDERS = ("women", "men", "kids", "unisex")


@dataclass(frozen=True)
class Vocabulary:
    """The word lists of one language (or of all languages merged)."""

    language: str
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    category_noise: tuple[str, ...] = ()
    compound_suffixes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ambiguous: tuple[str, ...] = ()
    genders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sku_labels: tuple[str, ...] = ()
    colour_labels: tuple[str, ...] = ()
    brand_labels: tuple[str, ...] = ()
    price_labels: tuple[str, ...] = ()
    old_price_labels: tuple[str, ...] = ()
    load_more_labels: tuple[str, ...] = ()
    next_page_labels: tuple[str, ...] = ()
    out_of_stock: tuple[str, ...] = ()
    orderable: tuple[str, ...] = ()
    buy: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()
    false_friends: tuple[str, ...] = ()


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used; the message names the file and the problem."""


def _strings(path: Path, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise VocabularyError(f"{path}: {where} must be a list of non-empty strings")
    return tuple(value)


def load_vocabulary(path: Path) -> Vocabulary:
    """One ``<language>.toml`` file; raises :class:`VocabularyError` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"{path}: {exc}") from exc
    known = {"categories", "genders", "labels", "availability", "values", "false_friends"}
    if set(data) - known:
        raise VocabularyError(f"{path}: unknown tables {sorted(set(data) - known)} (known: {sorted(known)})")
    categories = data.get("categories", {})
    genders = data.get("genders", {})
    labels = data.get("labels", {})
    for name in set(genders) - set(GENDERS):
        raise VocabularyError(f"{path}: unknown gender {name!r} (known: {', '.join(GENDERS)})")
    garment = {c for c in GARMENT_CATEGORIES}
    suffix_keys = {f"compound_suffixes_{c}" for c in garment}
    for name in set(categories) - garment - suffix_keys - {"noise", "ambiguous", NOT_GARMENT}:
        raise VocabularyError(f"{path}: unknown category key {name!r} "
                              f"(known: {', '.join(sorted(garment | {NOT_GARMENT}))})")
    vocabulary = Vocabulary(
        language=path.stem,
        categories={c: _strings(path, f"categories.{c}", categories[c])
                    for c in (*GARMENT_CATEGORIES, NOT_GARMENT) if c in categories},
        category_noise=_strings(path, "categories.noise", categories.get("noise", []))
        if "noise" in categories
        else (),
        compound_suffixes={
            c: _strings(path, f"categories.compound_suffixes_{c}", categories[f"compound_suffixes_{c}"])
            for c in garment
            if f"compound_suffixes_{c}" in categories
        },
        ambiguous=_strings(path, "categories.ambiguous", categories["ambiguous"]) if "ambiguous" in categories else (),
        genders={g: _strings(path, f"genders.{g}", genders[g]) for g in GENDERS if g in genders},
        sku_labels=_strings(path, "labels.sku", labels["sku"]) if "sku" in labels else (),
        colour_labels=_strings(path, "labels.colour", labels["colour"]) if "colour" in labels else (),
        brand_labels=_strings(path, "labels.brand", labels["brand"]) if "brand" in labels else (),
        price_labels=_strings(path, "labels.price", labels["price"]) if "price" in labels else (),
        old_price_labels=_strings(path, "labels.old_price", labels["old_price"]) if "old_price" in labels else (),
        load_more_labels=_strings(path, "labels.load_more", labels["load_more"]) if "load_more" in labels else (),
        next_page_labels=_strings(path, "labels.next_page", labels["next_page"]) if "next_page" in labels else (),
        out_of_stock=tuple(data.get("availability", {}).get("out_of_stock", ())),
        orderable=_strings(path, "availability.orderable", data["availability"]["orderable"])
        if "orderable" in data.get("availability", {})
        else (),
        buy=_strings(path, "availability.buy", data["availability"]["buy"]) if "buy" in data.get("availability", {})
        else (),
        placeholders=_strings(path, "values.placeholder", data["values"]["placeholder"])
        if "placeholder" in data.get("values", {})
        else (),
        false_friends=tuple(data.get("false_friends", {}).get("words", ())),
    )
    words = {w for table in (vocabulary.categories, vocabulary.compound_suffixes) for ws in table.values() for w in ws}
    for word in set(vocabulary.ambiguous) - words:
        raise VocabularyError(f"{path}: categories.ambiguous word {word!r} is none of this file's garment words")
    return vocabulary


@lru_cache(maxsize=1)
def vocabularies() -> dict[str, Vocabulary]:
    """Every shipped vocabulary by language tag, in file-name order."""
    return {path.stem: load_vocabulary(path) for path in sorted(VOCAB_DIR.glob("*.toml"))}


def _union(lists: list[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(word for words in lists for word in words))


@lru_cache(maxsize=1)
def merged_vocabulary() -> Vocabulary:
    """All languages in one vocabulary (a page's words are matched against every language)."""
    every = list(vocabularies().values())
    return Vocabulary(
        language="*",
        categories={c: _union([v.categories.get(c, ()) for v in every]) for c in (*GARMENT_CATEGORIES, NOT_GARMENT)},
        category_noise=_union([v.category_noise for v in every]),
        compound_suffixes={
            c: _union([v.compound_suffixes.get(c, ()) for v in every])
            for c in GARMENT_CATEGORIES
            if any(c in v.compound_suffixes for v in every)
        },
        ambiguous=_union([v.ambiguous for v in every]),
        genders={g: _union([v.genders.get(g, ()) for v in every]) for g in GENDERS},
        sku_labels=_union([v.sku_labels for v in every]),
        colour_labels=_union([v.colour_labels for v in every]),
        brand_labels=_union([v.brand_labels for v in every]),
        price_labels=_union([v.price_labels for v in every]),
        old_price_labels=_union([v.old_price_labels for v in every]),
        load_more_labels=_union([v.load_more_labels for v in every]),
        next_page_labels=_union([v.next_page_labels for v in every]),
        out_of_stock=_union([v.out_of_stock for v in every]),
        orderable=_union([v.orderable for v in every]),
        buy=_union([v.buy for v in every]),
        placeholders=_union([v.placeholders for v in every]),
        false_friends=(),
    )


def language_of(tag: str | None) -> str | None:
    """The vocabulary language for a page's declared language ("ko-KR" -> "ko", "zh-TW" -> "zh-Hant")."""
    if not tag:
        return None
    parts = tag.replace("_", "-").strip().split("-")
    base = parts[0].lower()
    if base == "zh":
        rest = {p.lower() for p in parts[1:]}
        return "zh-Hant" if rest & {"hant", "tw", "hk", "mo"} else "zh-Hans"
    return base or None


def false_friends_for(language: str | None) -> frozenset[str]:
    """Words to ignore on a page in ``language``: other languages' false friends (none when unknown)."""
    if not language:
        return frozenset()
    return frozenset(
        word for lang, vocab in vocabularies().items() if lang != language for word in vocab.false_friends
    )
