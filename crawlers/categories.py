"""Garment category normalisation: any shop's wording -> ``upper | lower | dresses | other``.

Shops name the same garment in many languages and taxonomies ("Slim fit jeans", "Hose",
"Jupe longue", "Vestido midi", "تيشيرتات"). Try-on datasets only need the three HR-VITON /
Dress Code body regions, so every source (schema.org category, breadcrumbs, title, URL) is
matched against one multilingual keyword table, most specific source first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

from vtonkit.core.categories import CATALOG_CATEGORIES

logger = logging.getLogger(__name__)

CATEGORIES = CATALOG_CATEGORIES

# Latin-script keywords are matched as word prefixes ("trouser" matches "trousers"); keep them
# lower-case and accent-free (text is folded the same way before matching).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "dresses": (
        # en, de, fr, es/pt, it, nl, pl, sv/da/no, tr
        "dress",
        "gown",
        "sundress",
        "kleid",
        "kleider",
        "robe",
        "vestido",
        "vestito",
        "abito",
        "abiti",
        "jurk",
        "jurken",
        "sukienka",
        "sukienki",
        "klanning",
        "kjole",
        "elbise",
        # non-Latin (substring match)
        "платье",
        "платья",
        "فستان",
        "فساتين",
        "ドレス",
        "ワンピース",
        "连衣裙",
    ),
    "lower": (
        "jean",
        "denim jean",
        "trouser",
        "pant",
        "chino",
        "shorts",
        "skirt",
        "legging",
        "jogger",
        "culotte",
        "cargo pant",
        "slacks",
        "sweatpant",
        "bermuda",
        "hose",
        "hosen",
        "rocke",
        "minirock",
        "jeansrock",
        "faltenrock",
        "bleistiftrock",
        "jeanshose",
        "pantalon",
        "pantalons",
        "jupe",
        "jupes",
        "pantacourt",
        "pantalones",
        "falda",
        "vaquero",
        "calca",
        "calcas",
        "saia",
        "pantaloni",
        "gonna",
        "gonne",
        "broek",
        "broeken",
        "rok",
        "rokken",
        "spodnie",
        "spodnica",
        "spodnice",
        "spodnicy",
        "byxor",
        "kjol",
        "kjolar",
        "bukser",
        "nederdel",
        "pantolon",
        "etek",
        "брюки",
        "юбка",
        "юбки",
        "джинсы",
        "шорты",
        "بنطلون",
        "بناطيل",
        "تنورة",
        "تنانير",
        "جينز",
        "شورت",
        "パンツ",
        "スカート",
        "裤",
        "半身裙",
    ),
    "upper": (
        "t-shirt",
        "t shirt",
        "tshirt",
        "tee",
        "shirt",
        "top",
        "blouse",
        "sweater",
        "jumper",
        "hoodie",
        "sweatshirt",
        "cardigan",
        "polo",
        "tank top",
        "camisole",
        "jacket",
        "blazer",
        "coat",
        "pullover",
        "knitwear",
        "bodysuit",
        "crop top",
        "tunic",
        "hemd",
        "hemden",
        "bluse",
        "blusen",
        "oberteil",
        "oberteile",
        "strickjacke",
        "jacke",
        "jacken",
        "chemise",
        "chemisier",
        "pull",
        "debardeur",
        "veste",
        "haut",
        "sweat",
        "camiseta",
        "camisa",
        "blusa",
        "sudadera",
        "jersey",
        "chaqueta",
        "chaleco",
        "maglia",
        "maglietta",
        "magliette",
        "camicia",
        "camicie",
        "felpa",
        "giacca",
        "overhemd",
        "trui",
        "truien",
        "koszula",
        "koszulka",
        "koszulki",
        "bluzka",
        "bluzki",
        "sweter",
        "trojka",
        "gomlek",
        "kazak",
        "футболка",
        "футболки",
        "рубашка",
        "блузка",
        "свитер",
        "толстовка",
        "تيشيرت",
        "تي شيرت",
        "قميص",
        "قمصان",
        "بلوزة",
        "سويت شيرت",
        "كنزة",
        "جاكيت",
        "シャツ",
        "トップス",
        "ニット",
        "衬衫",
        "t恤",
        "上衣",
        "卫衣",
    ),
}

# Phrases that contain a category keyword but do not name the garment ("short-sleeved tee",
# "dress shirt", "bathrobe"). They are removed before matching.
NOISE_PATTERNS = (
    r"short[\s-]*sleeve[sd]?",
    r"long[\s-]*sleeve[sd]?",
    r"manches? courtes?",
    r"manches? longues?",
    r"dress[\s-]*shirt",
    r"bath[\s-]*robe",
    r"dressing[\s-]*gown",
    r"kurzarm",
    r"langarm",
    r"pant[\s-]*suit",
    r"jean[\s-]*jacket",
    r"denim[\s-]*jacket",
    r"jeansjacke",
    r"veste en jean",
    r"polo[\s-]*neck",
    r"robe de chambre",
    r"top[\s-]*seller",
    r"top[\s-]*rated",
    r"on[\s-]*top",
)

# When a text names garments of several regions, the dress wins over the bottom over the top
# ("shirt dress", "t-shirt and shorts set" are rarer than "denim skirt").
PRIORITY = ("dresses", "lower", "upper")


def fold(text: str) -> str:
    """Lower-case, strip accents (Latin only), collapse whitespace."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip()


def _compile() -> dict[str, re.Pattern[str]]:
    patterns: dict[str, re.Pattern[str]] = {}
    for category, words in KEYWORDS.items():
        latin = sorted({fold(w) for w in words if w.isascii() or fold(w).isascii()}, key=len, reverse=True)
        other = sorted(
            {w.lower() for w in words if not (w.isascii() or fold(w).isascii())}, key=len, reverse=True
        )
        parts = []
        if latin:
            # whole words, with an optional English/Romance plural ending; other inflections are
            # listed explicitly above (a free letter tail would make "tee" match "teen")
            parts.append(r"(?<![a-z])(?:" + "|".join(re.escape(w) for w in latin) + r")(?:s|es)?(?![a-z])")
        if other:
            parts.append("(?:" + "|".join(re.escape(w) for w in other) + ")")
        patterns[category] = re.compile("|".join(parts))
    return patterns


# German writes garments as compounds ("Sommerkleid", "Jeanshose", "Faltenrock"): the garment
# is the last part. At least three letters before it, so that "those" is not a "hose".
COMPOUND_SUFFIXES: dict[str, tuple[str, ...]] = {
    "dresses": ("kleid", "kleider"),
    "lower": ("hose", "hosen", "rock", "rocke", "shorts", "jeans"),
    "upper": (
        "shirt",
        "shirts",
        "jacke",
        "jacken",
        "bluse",
        "blusen",
        "pullover",
        "hemd",
        "hemden",
        "top",
        "tops",
    ),
}


def _compile_compounds() -> dict[str, re.Pattern[str]]:
    return {
        category: re.compile(r"(?<![a-z])[a-z]{3,}(?:" + "|".join(suffixes) + r")(?![a-z])")
        for category, suffixes in COMPOUND_SUFFIXES.items()
    }


_PATTERNS = _compile()
_COMPOUNDS = _compile_compounds()
_NOISE = re.compile("|".join(NOISE_PATTERNS))


def categories_in_text(text: str) -> set[str]:
    """Every garment category whose keywords occur in ``text`` (may be empty)."""
    folded = _NOISE.sub(" ", fold(text))
    folded = re.sub(r"[_/|>+]", " ", folded)
    found = {category for category, pattern in _PATTERNS.items() if pattern.search(folded)}
    return found | {category for category, pattern in _COMPOUNDS.items() if pattern.search(folded)}


def category_of_text(text: str | None) -> str | None:
    """The single category ``text`` names, by priority, or None when it names none."""
    if not text:
        return None
    found = categories_in_text(text)
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
) -> str:
    """Map a product's evidence to ``upper | lower | dresses | other``.

    Sources are tried from the most to the least specific: the shop's own product type or
    schema.org category, the breadcrumb trail from its last (most specific) crumb backwards,
    the title, then the URL path. The first source that names a garment decides.
    """
    crumbs = [c for c in breadcrumbs if c]
    sources: list[str | None] = [product_type, schema_category, *reversed(crumbs), title]
    if url:
        path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0]
        sources.append(re.sub(r"[-_/.]+", " ", path))
    for source in sources:
        category = category_of_text(source)
        if category:
            return category
    return "other"
