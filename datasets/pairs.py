"""Pair lists (`train_pairs.txt`, `test_pairs.txt`): one `<person file> <cloth file>` per line.

The official loaders split each line on whitespace and need exactly two tokens; a blank line
crashes them, so the writer never emits one and the reader reports it with its line number. They
join each token to `image/` or `cloth/` as it stands, so a token holding a folder (`../x.jpg`) points
outside them, and a byte-order mark (Windows editors save one) becomes part of the first name: both
are refused by name and line.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from vtonkit.datasets.io.files import atomic_write_text
from vtonkit.datasets.layout import DatasetLayout
from vtonkit.datasets.io.images import regular_file_problem

from vtonkit.core.errors import FormatError, InputError

Pair = tuple[str, str]

BYTE_ORDER_MARK = "\ufeff"
MAX_NAME_BYTES = 255 - len("_keypoints.json") + len(".jpg")  # the longest derived name must fit NAME_MAX
BOM_PROBLEM = ("starts with a UTF-8 byte-order mark, which the official loaders read as part of the first person's "
               "name; save the file as UTF-8 without BOM")


def name_problem(name: str) -> str | None:
    """Why `name` cannot stand in a pair list as the official loaders read it, or None."""
    if not name:
        return "empty name"
    if any(ch.isspace() for ch in name):
        return f"{name!r} holds whitespace, which splits a pair-list line into more than two names"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        # A NUL cannot stand in a file name at all (the OS refuses the path), the others name no real file.
        return f"{name!r} holds a control character; no file name does"
    if "/" in name or "\\" in name:
        return f"{name!r} holds a folder; a pair names files inside image/ and cloth/"
    if not name.endswith(".jpg"):
        # The loaders open image/<name> as it stands and derive the parse and pose names from '.jpg'.
        return f"{name!r} is no .jpg file name; a pair names the .jpg files in image/ and cloth/"
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        return f"a name of {len(os.fsencode(name))} bytes ({name[:40]!r}...) is longer than a file name may be"
    if ".jpg" in name[:-len(".jpg")]:
        # The loaders' name.replace('.jpg', '.png') rewrites every occurrence, not the suffix alone.
        return f"{name!r} holds '.jpg' before its end; the official loaders would rewrite that too"
    return None


def pair_of(line: str) -> Pair:
    """One line of a pair list -> `(person, cloth)`; `ValueError` saying what is wrong with it."""
    tokens = line.split()
    if len(tokens) != 2:
        what = "blank line" if not tokens else f"{len(tokens)} fields"
        raise ValueError(f"{what}; expected '<person file> <cloth file>'")
    for token in tokens:
        if (problem := name_problem(token)) is not None:
            raise ValueError(problem)
    return tokens[0], tokens[1]


def read_pair_text(path: Path) -> str:
    """The pair list as UTF-8 text, as the official loaders read it; `FormatError` when it is not."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FormatError(path, "UTF-16 text (a UTF-16 byte-order mark), not UTF-8; save the file as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(path, f"not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x})") from None


def pair_list_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The lines of a pair list as the official loaders' text-mode `readlines()` sees them: ended by
    \\n, \\r or \\r\\n only. `str.splitlines` also ends a line at U+2028, U+0085, \\f or \\x1e, which the
    loaders' `split()` reads as a space between two more names of the same line."""
    lines = io.StringIO(text, newline="").readlines()  # newline="": split there, keep the endings as they are
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def read_pairs(path: str | Path, *, skipped: list[str] | None = None) -> list[Pair]:
    """Read a pair list; raises `FormatError` naming the line of anything `pair_of` refuses (and a BOM).

    With `skipped` (an importer reading another dataset's list, which it rewrites anyway), a bad line
    costs only itself and a BOM is dropped: each is described in `skipped` instead.
    """
    path = Path(path)
    why = regular_file_problem(path)  # missing, or a folder / link loop / dangling link where the list should be
    if why is not None:
        raise InputError(path, "pair list not found" if why == "file not found" else f"pair list is no readable file: {why}")
    text = read_pair_text(path)
    if text.startswith(BYTE_ORDER_MARK):
        if skipped is None:
            raise FormatError(path, BOM_PROBLEM)
        skipped.append(f"{path}: {BOM_PROBLEM} (ignored)")
        text = text[len(BYTE_ORDER_MARK):]
    pairs: list[Pair] = []
    for number, line in enumerate(pair_list_lines(text), start=1):
        try:
            pairs.append(pair_of(line))
        except ValueError as exc:
            if skipped is None:
                raise FormatError(path, f"line {number}: {exc}") from None
            skipped.append(f"{path}: line {number} skipped: {exc}")
    return pairs


def write_pairs(path: str | Path, pairs: Iterable[Pair]) -> None:
    """Write a pair list atomically (space separated, newline terminated, no blank lines)."""
    lines = []
    for person, cloth in pairs:
        if (problem := name_problem(person) or name_problem(cloth)) is not None:
            raise ValueError(f"cannot write the pair {person!r} {cloth!r}: {problem}")
        lines.append(f"{person} {cloth}\n")
    atomic_write_text(path, "".join(lines))


def default_pairs(split: str, stems: list[str]) -> list[Pair]:
    """The pair list of a source that ships none, shaped like the official lists: train paired
    (person = own garment), test unpaired (each person with the next person's garment)."""
    if split == "train":
        return [(f"{stem}.jpg", f"{stem}.jpg") for stem in stems]
    return [(f"{stem}.jpg", f"{stems[(i + 1) % len(stems)]}.jpg") for i, stem in enumerate(stems)]


def pairs_path(dataset: Path, split: str, pairs: str | Path | None) -> Path:
    """The pair-list file: a path, a name inside the dataset root (`test_pairs.txt`), or the split's default;
    how infer, train and evaluate read their --pairs."""
    if pairs is None:
        return DatasetLayout(Path(dataset)).pairs_file(split)
    path = Path(pairs)
    if not path.is_file() and (Path(dataset) / path).is_file():
        path = Path(dataset) / path
    return path
