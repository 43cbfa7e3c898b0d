"""Garment categories: the one definition every layer uses."""
from __future__ import annotations

from typing import Final, Literal

Category = Literal["upper", "lower", "dresses"]

# The three try-on categories (Dress Code's upper_body / lower_body / dresses).
GARMENT_CATEGORIES: Final[tuple[str, ...]] = ("upper", "lower", "dresses")
# What the crawler may record: the try-on categories plus everything it cannot place.
CATALOG_CATEGORIES: Final[tuple[str, ...]] = (*GARMENT_CATEGORIES, "other")
# Dress Code's folder names.
DRESSCODE_FOLDERS: Final[dict[str, str]] = {"upper_body": "upper", "lower_body": "lower", "dresses": "dresses"}
