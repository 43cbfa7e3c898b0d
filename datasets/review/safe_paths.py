"""Map a request path to a dataset file, refusing anything that could leave the dataset.

Only `<split>/<known artifact folder>/<plain file name>` is served. Refused: `..` and `.`
segments, absolute paths, backslashes, NUL, any `%` left after the server's one decoding (a
double-encoded `%252e%252e` arrives as `%2e%2e`), hidden files, and symlinks whose target
resolves outside the artifact folder.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from vtonkit.datasets import layout

# Dataset names: letters, digits and combining marks of any script (`café_ü`, also in NFD form,
# where the accents are marks), plus `_`, `-` and `.`; starting with a letter or digit, no `..`.
# Separators, `%`, spaces, controls and symbols stay refused.
MAX_FILE_NAME, MAX_STEM = 201, 121
EXTRA_NAME_CHARACTERS = "_-."


class UnsafePathError(ValueError):
    """The requested path is outside what the review app serves."""


def plain_name_problem(name: str, max_length: int) -> str | None:
    """Why `name` is no dataset stem or file name that can name only one file inside its folder, or None."""
    if not name:
        return "it is empty"
    if len(name) > max_length:
        return f"it is {len(name)} characters long, more than {max_length}"
    if ".." in name:
        return "it holds '..'"
    if unicodedata.category(name[0])[0] not in "LN":
        return f"it starts with {name[0]!r}, not a letter or digit"
    odd = next((ch for ch in name if ch not in EXTRA_NAME_CHARACTERS and unicodedata.category(ch)[0] not in "LNM"), None)
    return None if odd is None else f"it holds {odd!r}: only letters, digits, '_', '-' and '.' are served"


def is_plain_name(name: str, max_length: int) -> bool:
    """A dataset stem or file name that cannot name anything but one file inside its folder."""
    return plain_name_problem(name, max_length) is None


def check_stem(stem: str) -> str:
    if (problem := plain_name_problem(stem, MAX_STEM)) is not None:
        raise UnsafePathError(f"not a sample name: {stem!r} ({problem})")
    return stem


def normalisation_forms(name: str) -> list[str]:
    """`name` as sent, then its NFC and NFD forms: the browser and the disk may disagree on which
    (macOS and some editors write NFD, most input methods type NFC); Python compares code points."""
    forms = [name]
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, name)
        if other not in forms:
            forms.append(other)
    return forms


def check_split(split: str) -> str:
    if split not in layout.SPLITS:
        raise UnsafePathError(f"not a split: {split!r}")
    return split


def resolve_dataset_file(dataset_root: str | Path, relative: str) -> Path:
    """`"test/image/00006_00.jpg"` -> the absolute file, or `UnsafePathError` / `FileNotFoundError`."""
    if not relative or "\x00" in relative or "\\" in relative or "%" in relative:
        raise UnsafePathError("refused path characters")
    if relative.startswith("/") or re.match(r"^[A-Za-z]:", relative):
        raise UnsafePathError("absolute paths are refused")
    parts = relative.split("/")
    if len(parts) != 3 or any(part in ("", ".", "..") for part in parts):
        raise UnsafePathError("expected <split>/<folder>/<file>")
    split, folder, name = parts
    check_split(split)
    if folder not in layout.ALL_FOLDERS:
        raise UnsafePathError(f"not an artifact folder: {folder!r}")
    if not is_plain_name(name, MAX_FILE_NAME):
        raise UnsafePathError(f"not a dataset file name: {name!r}")
    root = Path(dataset_root).resolve()
    allowed = (root / split / folder).resolve()
    if not allowed.is_relative_to(root):  # the split or folder itself is a symlink leaving the dataset
        raise UnsafePathError("resolves outside the dataset")
    candidate = next((allowed / form for form in normalisation_forms(name) if (allowed / form).exists()), None)
    if candidate is None:
        raise FileNotFoundError(relative)
    resolved = candidate.resolve(strict=True)  # follows symlinks: the target must stay inside
    if resolved.parent != allowed or not resolved.is_file():
        raise UnsafePathError("resolves outside the dataset")
    return resolved


def links_outside(dataset_root: str | Path, paths: Iterable[Path]) -> list[Path]:
    """The existing `paths` that resolve (following every symlink) outside the dataset root.

    The live app refuses a sample with such a file and the static report draws a placeholder
    instead of it, so neither ever shows a file from outside the dataset.
    """
    root = Path(dataset_root).resolve()
    outside = []
    for path in paths:
        try:
            if path.exists() and not path.resolve().is_relative_to(root):
                outside.append(path)
        except (OSError, RuntimeError):  # a symlink loop: not readable, so nothing leaks either
            continue
    return outside
