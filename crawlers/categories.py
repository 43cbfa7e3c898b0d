"""Garment category normalisation: any shop's wording -> ``upper | lower | dresses | other``.

Shops name the same garment in many languages and taxonomies ("Slim fit jeans", "Hose",
"Jupe longue", "Vestido midi", "تيشيرتات"). Try-on datasets only need the three HR-VITON /
Dress Code body regions, so every source (schema.org category, breadcrumbs, title, URL) is
matched against the keyword tables of every language (crawlers/vocab/), most specific source
first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from vtonkit.crawlers.vocab import false_friends_for, merged_vocabulary

from vtonkit.core.categories import CATALOG_CATEGORIES

logger = logging.getLogger(__name__)

CATEGORIES = CATALOG_CATEGORIES

# Latin-script keywords are matched as word prefixes ("trouser" matches "trousers"); the word
# lists live in one file per language (crawlers/vocab/*.toml) and are matched all together.
KEYWORDS: dict[str, tuple[str, ...]] = merged_vocabulary().categories

# Phrases that contain a category keyword but do not name the garment ("short-sleeved tee",
# "dress shirt", "bathrobe"). They are removed before matching.
NOISE_PATTERNS = merged_vocabulary().category_noise

# A text naming something no try-on category holds is "other" ("Triangle bikini top"); when it
# names garments of several regions, the dress wins over the bottom over the top ("shirt dress",
# "t-shirt and shorts set" are rarer than "denim skirt").
PRIORITY = ("other", "dresses", "lower", "upper")


# Japanese voicing marks (ガ = カ + U+3099) are part of the word, not an accent.
_KANA_VOICING = {"\u3099", "\u309a"}


def fold(text: str) -> str:
    """Lower-case, strip accents, collapse whitespace; full-width letters become ASCII (NFKC).

    Kana voicing marks and Hangul syllables survive (decomposed, then recomposed).
    """
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) or ch in _KANA_VOICING)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


# Words that also name something else (see crawlers/vocab/__init__.py): a category only they name
# loses to one an unambiguous word of the same text names.
AMBIGUOUS = frozenset(fold(w) for w in merged_vocabulary().ambiguous)


def _words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    words = list(words)
    latin = sorted({fold(w) for w in words if w.isascii() or fold(w).isascii()}, key=len, reverse=True)
    other = sorted({fold(w) for w in words if not (w.isascii() or fold(w).isascii())}, key=len, reverse=True)
    parts = []
    if latin:
        # whole words, with an optional English/Romance plural ending; other inflections are
        # listed in the vocabularies (a free letter tail would make "tee" match "teen")
        parts.append(r"(?<![a-z])(?:" + "|".join(re.escape(w) for w in latin) + r")(?:s|es)?(?![a-z])")
    if other:
        parts.append("(?:" + "|".join(re.escape(w) for w in other) + ")")
    return re.compile("|".join(parts)) if parts else None


def _compound_pattern(suffixes: Iterable[str]) -> re.Pattern[str] | None:
    suffixes = list(suffixes)
    # written together or hyphenated ("Faltenrock", "Plissee-Rock")
    return re.compile(r"(?<![a-z])[a-z]{3,}-?(?:" + "|".join(suffixes) + r")(?![a-z])") if suffixes else None


_Patterns = tuple[re.Pattern[str] | None, re.Pattern[str] | None]


def _split(table: dict[str, tuple[str, ...]],
           build: Callable[[Iterable[str]], re.Pattern[str] | None]) -> dict[str, _Patterns]:
    """category -> (pattern of its unambiguous words, pattern of its ambiguous ones)."""
    return {category: (build(w for w in words if fold(w) not in AMBIGUOUS),
                       build(w for w in words if fold(w) in AMBIGUOUS))
            for category, words in table.items()}


# German writes garments as compounds ("Sommerkleid"): the garment is the last part (see de.toml).
COMPOUND_SUFFIXES: dict[str, tuple[str, ...]] = merged_vocabulary().compound_suffixes

_PATTERNS = _split(KEYWORDS, _words_pattern)
_COMPOUNDS = _split(COMPOUND_SUFFIXES, _compound_pattern)
_NOISE = re.compile("|".join(NOISE_PATTERNS))


@lru_cache(maxsize=64)
def _false_friends(language: str | None) -> re.Pattern[str] | None:
    """Other languages' false friends ("robe" on an English page), removed before matching."""
    words = sorted({fold(w) for w in false_friends_for(language)}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(w) for w in words) + r")(?:s|es)?(?![a-z])")


def categories_in_text(text: str, language: str | None = None) -> set[str]:
    """Every garment category whose keywords occur in ``text`` (may be empty); those that only
    ambiguous words name ("Punkrock") only when no unambiguous word names one ("T-Shirt").

    ``language`` is the page's declared language (a vocabulary tag such as ``en`` or ``ko``):
    when given, other languages' false friends do not count.
    """
    folded = _NOISE.sub(" ", fold(text))
    friends = _false_friends(language)
    if friends is not None:
        folded = friends.sub(" ", folded)
    folded = re.sub(r"[_/|>+]", " ", folded)
    named = [{category for table in (_PATTERNS, _COMPOUNDS) for category, patterns in table.items()
              if patterns[rank] is not None and patterns[rank].search(folded)} for rank in (0, 1)]
    return named[0] or named[1]


def category_of_text(text: str | None, language: str | None = None) -> str | None:
    """The single category ``text`` names, by priority, or None when it names none."""
    if not text:
        return None
    found = categories_in_text(text, language)
    for category in PRIORITY:
        if category in found:
            return category
    return None


def normalise_category(
    *,
    schema_category: str | None = None,
    breadcrumbs: Iterable[str] = (),
    title: str | None = None,
    url: str | None = None,
    product_type: str | None = None,
    language: str | None = None,
) -> str:
    """Map a product's evidence to ``upper | lower | dresses | other``.

    Sources are tried from the most to the least specific: the shop's own product type or
    schema.org category, the breadcrumb trail from its last (most specific) crumb backwards,
    the title, then the URL path. The first source that names a garment, or something no try-on
    category holds (a "Swimwear" crumb, a "Hats" category), decides. ``language``
    (the page's ``<html lang>`` as a vocabulary tag) rules out other languages' false friends.
    """
    crumbs = [c for c in breadcrumbs if c]
    sources: list[str | None] = [product_type, schema_category, *reversed(crumbs), title]
    if url:
        path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0]
        sources.append(re.sub(r"[-_/.]+", " ", path))
    for source in sources:
        category = category_of_text(source, language)
        if category:
            return category
    return "other"
