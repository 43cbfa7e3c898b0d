"""Pair lists (`train_pairs.txt`, `test_pairs.txt`): one `<person file> <cloth file>` per line.

The official loaders split each line on whitespace and need exactly two tokens; a blank line
crashes them, so the writer never emits one and the reader reports it with its line number.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vtonkit.datasets.io.files import atomic_write_text

from vtonkit.core.errors import FormatError, InputError

Pair = tuple[str, str]


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a pair list; raises `FormatError` naming the line for anything but two tokens."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "pair list not found")
    pairs: list[Pair] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        tokens = line.split()
        if len(tokens) != 2:
            what = "blank line" if not tokens else f"{len(tokens)} fields"
            raise FormatError(path, f"line {number}: {what}; expected '<person file> <cloth file>'")
        pairs.append((tokens[0], tokens[1]))
    return pairs


def write_pairs(path: str | Path, pairs: Iterable[Pair]) -> None:
    """Write a pair list atomically (space separated, newline terminated, no blank lines)."""
    lines = []
    for person, cloth in pairs:
        if not person or not cloth or any(ch.isspace() for ch in person + cloth):
            raise ValueError(f"pair names must be non-empty and free of whitespace: {person!r} {cloth!r}")
        lines.append(f"{person} {cloth}\n")
    atomic_write_text(path, "".join(lines))


def default_pairs(split: str, stems: list[str]) -> list[Pair]:
    """The pair list of a source that ships none, shaped like the official lists: train paired
    (person = own garment), test unpaired (each person with the next person's garment)."""
    if split == "train":
        return [(f"{stem}.jpg", f"{stem}.jpg") for stem in stems]
    return [(f"{stem}.jpg", f"{stems[(i + 1) % len(stems)]}.jpg") for i, stem in enumerate(stems)]
