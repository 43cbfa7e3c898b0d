"""Pair lists for a built dataset, train/test assignment without leakage, and the own-garment rule.

Modes (`vtonkit pairs --mode`):
* `paired`: every person with its own garment (`cloth/<person stem>.jpg`, as in VITON-HD where a
  person and the garment they wear share a stem). Persons without one are left out.
* `unpaired`: every person with one other garment, drawn with a seeded shuffle so that each
  garment is used about equally often.
* `all`: every person with every garment of the split (its own included).

Own garments from a catalog. Persons taken from a crawler catalog's on-model shots carry their
product id; the same product's garment shot is their own garment. They share the product id as
stem when the product has one shot of each; otherwise `link_own_garments` makes
`cloth/<person>.jpg` (and its mask) a copy of the product's garment, recorded in the manifest with
`own: true`. Such persons pair (`paired`) and train like VITON-HD's.

Own-garment rule. HR-VITON's test loader opens `cloth/<column 1>` and `cloth-mask/<column 1>`
(the person's own garment) for every line, even for unpaired try-on. Persons photographed apart
from the shop (crawled data) have none, so for the **test** split `write_pair_list` writes a
*placeholder*: a copy of the first garment assigned to that person, saved as
`cloth/<person>.jpg` + `cloth-mask/<person>.jpg` and recorded in the manifest under
`placeholders` (they are never offered as garments afterwards). The unpaired result of the
official test script is then correct; its "paired" output for such a person is meaningless.
The **train** loader trains on column 1 only (the person's own garment), so train pairs never
get placeholders: persons without their own garment are left out of train lists.

Split assignment (`split_of`) hashes a stable id (content hash, or product id for garments so
all shots of one product land together) with a seed: the same item always goes to the same split,
and adding items never moves existing ones.
"""
from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.files import atomic_write
from vtonkit.datasets.io.images import regular_file_problem
from vtonkit.datasets.layout import SPLITS, DatasetLayout, SplitDir
from vtonkit.datasets.manifest import CLOTHS, PERSONS, PLACEHOLDERS, Manifest
from vtonkit.datasets.pairs import Pair, name_problem, write_pairs

from vtonkit.core.errors import VtonkitError

logger = logging.getLogger(__name__)

MODES = ("paired", "unpaired", "all")
MAX_ALL_PAIRS = 10_000_000  # a cross product beyond this is a mistake, not a pair list


def split_of(item_id: str, test_fraction: float, seed: int = 0) -> str:
    """"test" or "train" for a stable item id (content hash, product id); deterministic in (id, seed)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    # surrogatepass: a product id read from JSON may hold a lone surrogate ("\udc80"); it still
    # has one stable split (valid text encodes as plain UTF-8, unchanged)
    digest = hashlib.sha256(f"{seed}:{item_id}".encode("utf-8", "surrogatepass")).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def split_pool(item_ids: Iterable[str], test_fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split ids into (train, test), each sorted; see `split_of`."""
    train, test = [], []
    for item in sorted(set(item_ids)):
        (test if split_of(item, test_fraction, seed) == "test" else train).append(item)
    return train, test


def complete_persons(split_dir: SplitDir) -> list[str]:
    """Person stems whose 8 files all exist (sorted)."""
    return [stem for stem in split_dir.person_stems()
            if all(path.is_file() for path in split_dir.person_files(stem).values())]


def complete_cloths(split_dir: SplitDir) -> list[str]:
    """Garment stems with both `cloth/` and `cloth-mask/` files (sorted); a folder or a broken link named
    like a garment is none."""
    return [stem for stem in split_dir.cloth_stems()
            if split_dir.cloth(stem).is_file() and split_dir.cloth_mask(stem).is_file()]


def _category_ok(record: dict | None, category: str | None) -> bool:
    # Samples not made by `vtonkit prep` (no manifest record, e.g. VITON-HD) carry no category: kept.
    return category is None or record is None or record.get("category") in (None, category)


def make_pairs(persons: list[str], garments: list[str], mode: str, *, own_garments: set[str],
               seed: int = 0) -> list[tuple[str, str]]:
    """Stem pairs `(person, garment)` for `mode` (see the module docstring); deterministic in `seed`.

    Args:
        persons: person stems.
        garments: garment stems offered for try-on (placeholders excluded).
        own_garments: person stems that have their own garment.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    persons = sorted(persons)
    garments = sorted(garments)
    if mode == "paired":
        return [(person, person) for person in persons if person in own_garments]
    if mode == "all":
        if len(persons) * len(garments) > MAX_ALL_PAIRS:
            raise VtonkitError(f"--mode all would write {len(persons) * len(garments):,} pairs "
                               f"(> {MAX_ALL_PAIRS:,}); use --mode unpaired or --category to narrow it")
        return [(person, garment) for person in persons for garment in garments]
    rng = random.Random(seed)
    deck: list[str] = []
    pairs = []
    for person in persons:
        candidates = [g for g in garments if g != person]
        if not candidates:
            continue
        if not deck:
            deck = garments[:]
            rng.shuffle(deck)
        choice = next((g for g in deck if g != person), None)
        if choice is None:  # only the person's own garment is left in this round: start a new round
            deck = garments[:]
            rng.shuffle(deck)
            choice = next(g for g in deck if g != person)
        deck.remove(choice)
        pairs.append((person, choice))
    return pairs


@dataclass(frozen=True)
class SourceLeak:
    """One source file the manifest records in both train and test: `kind` (persons or cloths) and
    the stem it has in each split. The files themselves may differ (prep re-crops a photo)."""

    kind: str
    train_stem: str
    test_stem: str

    def describe(self) -> str:
        return f"{self.kind[:-1]} train/{self.train_stem} and test/{self.test_stem} have the same bytes"


def present_records(manifest: Manifest, data: DatasetLayout, split: str, kind: str) -> dict[str, dict[str, Any]]:
    """The manifest's records of `kind` in `split` whose file is in the dataset: a sample `clean`
    quarantined keeps its record (for --undo), and it leaked forever (validate failed after the leak
    was cleaned away)."""
    folder = data.split(split)
    where = folder.image if kind == PERSONS else folder.cloth
    return {stem: record for stem, record in manifest.entries(split, kind).items() if where(stem).is_file()}


def source_leaks(manifest: Manifest, data: DatasetLayout) -> list[SourceLeak]:
    """Sources (by the content hash the manifest records) prepared into both train and test, every
    test copy of one named."""
    leaks = []
    for kind in (PERSONS, CLOTHS):
        hashes: dict[str, dict[str, list[str]]] = {}
        for split in ("train", "test"):
            hashes[split] = {}
            for stem, record in present_records(manifest, data, split, kind).items():
                if record.get("sha256"):
                    hashes[split].setdefault(record["sha256"], []).append(stem)
        leaks += [SourceLeak(kind, hashes["train"][sha][0], test_stem)
                  for sha in sorted(set(hashes["train"]) & set(hashes["test"])) for test_stem in hashes["test"][sha]]
    return leaks


def find_leakage(manifest: Manifest, data: DatasetLayout) -> list[str]:
    """Sources (by content hash, and catalog images by product id) present in both train and test."""
    problems = [leak.describe() for leak in source_leaks(manifest, data)]
    products = {split: {(r.get("store"), r.get("product_id")) for kind in (PERSONS, CLOTHS)
                        for r in present_records(manifest, data, split, kind).values() if r.get("product_id")}
                for split in ("train", "test")}
    for store, product in sorted(products["train"] & products["test"], key=str):
        problems.append(f"product {store}/{product} has shots in both train and test")
    return problems


def find_file_leakage(layout: DatasetLayout, manifest: Manifest) -> list[str]:
    """Person photos and garments on disk in both train and test: the same name, or the same bytes.

    The manifest check (`find_leakage`) sees only what vtonkit recorded; an imported or hand-made
    layout has no manifest, so its files are compared too. Recorded placeholders are copies on
    purpose and are left out. Near duplicates (a re-encoded copy) take decoding every image:
    `vtonkit validate` reports those.
    """
    problems = []
    for folder, stems_of, path_of in (("image", SplitDir.person_stems, SplitDir.image),
                                      ("cloth", SplitDir.cloth_stems, SplitDir.cloth)):
        stems = {}
        for split in ("train", "test"):
            split_dir = layout.split(split)
            placeholders = manifest.entries(split, PLACEHOLDERS) if folder == "cloth" else {}
            stems[split] = {stem: path_of(split_dir, stem) for stem in stems_of(split_dir) if stem not in placeholders}
        for stem in sorted(set(stems["train"]) & set(stems["test"])):
            problems.append(f"{folder}/{stem}.jpg is in both train and test")
        if not stems["train"] or not stems["test"]:
            continue
        train_digests = {}
        for stem, path in stems["train"].items():
            digest = _digest_or_none(path)
            if digest is not None:
                train_digests.setdefault(digest, stem)
        for stem, path in stems["test"].items():
            twin = train_digests.get(_digest_or_none(path))
            if twin is not None and twin != stem:
                problems.append(f"test/{folder}/{stem}.jpg has the same bytes as train/{folder}/{twin}.jpg")
    return problems


def _digest_or_none(path: Path) -> str | None:
    # An unreadable or special file (a FIFO would block the read) is no leak to report here;
    # `validate` names it.
    if regular_file_problem(path) is not None:
        return None
    try:
        return file_digest(path)
    except OSError:
        return None


@dataclass
class PairListResult:
    path: Path
    pairs: list[Pair]
    without_own_garment: list[str] = field(default_factory=list)
    placeholders: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    own_copies: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # file (split-relative) -> why it cannot be listed


def _copy_atomic(source: Path, target: Path) -> None:
    with open(source, "rb") as src, atomic_write(target, "wb") as dst:
        shutil.copyfileobj(src, dst)


def own_garment_blocker(split_dir: SplitDir, person: str, *, recorded: bool) -> tuple[str, str] | None:
    """Why `cloth/<person>.jpg` and its mask cannot be (re)written as a copy of another garment, as
    `(split-relative file, problem)`, or None when they can.

    Something that is not a regular file where one of them goes (a folder, a symbolic link loop or a
    dangling link) blocks the copy. So does one half of an own garment that is not a recorded
    placeholder (`recorded`): the copy would overwrite the person's real garment shot or mask.
    """
    paths = {split_dir.cloth(person): "cloth", split_dir.cloth_mask(person): "cloth-mask"}
    present = []
    for path, folder in paths.items():
        if not os.path.lexists(path):
            continue
        why = regular_file_problem(path)
        if why is not None:
            return f"{folder}/{path.name}", f"{why}; the person's own garment goes there, fix or remove it"
        present.append(f"{folder}/{path.name}")
    if len(present) == 1 and not recorded:
        missing = next(f"{folder}/{path.name}" for path, folder in paths.items() if f"{folder}/{path.name}" not in present)
        return present[0], (f"the person's own garment has no {missing}; a placeholder copy would overwrite this file, "
                            "so add the missing file or remove this one")
    return None


def link_own_garments(split_dir: SplitDir, persons: list[str], person_records: dict[str, dict],
                      cloth_records: dict[str, dict], cloth_files: set[str],
                      placeholders: dict[str, dict]) -> dict[str, str]:
    """Give persons from a catalog's on-model shots their own garment: the same product's garment shot.

    A person and the garment of one product usually share the product id as stem already; when
    they do not (several shots of a product), `cloth/<person>.jpg` and its mask become copies of
    the product's garment, recorded in `placeholders` with `own: true`. Returns `{person: garment}`
    for the copies made now. Updates `placeholders` in place (the caller saves the manifest).
    """
    by_product: dict[tuple[str, str], str] = {}
    for stem in sorted(cloth_files):
        record = cloth_records.get(stem)
        if stem in placeholders or not record or not record.get("product_id"):
            continue
        by_product.setdefault((str(record.get("store")), str(record["product_id"])), stem)
    copies: dict[str, str] = {}
    for person in persons:
        record = person_records.get(person) or {}
        garment = by_product.get((str(record.get("store")), str(record.get("product_id"))))
        if garment is None or garment == person:
            continue
        if person in cloth_files and person not in placeholders:
            continue  # a garment shot of its own under its stem (another shot of the product): never overwritten
        current = placeholders.get(person, {})
        if current.get("own") and current.get("copied_from") == garment and person in cloth_files:
            continue
        if own_garment_blocker(split_dir, person, recorded=person in placeholders) is not None:
            continue  # left without an own garment: the placeholder step names the file
        _copy_atomic(split_dir.cloth(garment), split_dir.cloth(person))
        _copy_atomic(split_dir.cloth_mask(garment), split_dir.cloth_mask(person))
        placeholders[person] = {"copied_from": garment, "own": True,
                                "reason": "the person's own garment: the garment shot of the same product"}
        cloth_files.add(person)
        copies[person] = garment
    return copies


def unlistable(stems: list[str], folder: str) -> dict[str, str]:
    """`{"<folder>/<stem>.jpg": reason}` for the stems whose file name cannot stand in a pair list."""
    problems = {}
    for stem in stems:
        problem = name_problem(f"{stem}.jpg")
        if problem is not None:
            problems[f"{folder}/{stem}.jpg"] = f"{problem}; rename it to list it"
    return problems


def missing_split_problem(layout: DatasetLayout, split: str) -> str | None:
    """Why `split` of the dataset is not there (no dataset folder, or the split was never made: prep
    --split auto may put all in train), naming the splits it has; None when its folder exists."""
    if not layout.root.is_dir():
        return f"{layout.root}: no such dataset folder"
    split_dir = layout.split(split)
    if split_dir.root.is_dir():
        return None
    present = [name for name in SPLITS if layout.split(name).root.is_dir()]
    return (f"{split_dir.root}: no such split folder (the dataset has {', '.join(present) or 'no split folder'}); "
            "choose one with --split")


def _why_no_pair(split: str, mode: str) -> str:
    """Why no pair was made when every person lacks its own garment (" (...)"), or "" otherwise."""
    if split == "train":  # the train loader reads column 1 only: no mode helps, only the data does
        return (" (no person has its own garment: training needs each person's own garment under the same stem, "
                "cloth/<person>.jpg, such as a shop's on-model and product shots of one product prepared with "
                "`vtonkit prep --split auto`; --mode unpaired makes placeholder garments only on the test split)")
    if mode == "paired":
        return " (no person has its own garment: use --mode unpaired on the test split)"
    return ""


def write_pair_list(dataset: str | Path, split: str, mode: str, *, seed: int = 0, category: str | None = None,
                    allow_leakage: bool = False, output: str | Path | None = None) -> PairListResult:
    """Build and write `<dataset>/<split>_pairs.txt` (or `output`); see the module docstring.

    Raises:
        VtonkitError: no persons or garments, or train/test leakage (unless `allow_leakage`).
    """
    dataset = Path(dataset)
    layout = DatasetLayout(dataset)
    split_dir = layout.split(split)
    manifest = Manifest.load(dataset)
    leaks = find_leakage(manifest, layout) + find_file_leakage(layout, manifest)
    if leaks and not allow_leakage:
        raise VtonkitError(f"{dataset}: train/test leakage: " + "; ".join(leaks[:5])
                           + (f" (+{len(leaks) - 5} more)" if len(leaks) > 5 else ""))
    placeholders = manifest.entries(split, PLACEHOLDERS)
    person_records = manifest.entries(split, PERSONS)
    cloth_records = manifest.entries(split, CLOTHS)
    persons = [s for s in complete_persons(split_dir) if _category_ok(person_records.get(s), category)]
    cloth_files = set(complete_cloths(split_dir))
    garments = [s for s in sorted(cloth_files) if s not in placeholders and _category_ok(cloth_records.get(s), category)]
    # One photo whose name a pair list cannot hold (`my photo.jpg`) is left out, not the whole list.
    skipped = {**unlistable(persons, "image"), **unlistable(garments, "cloth")}
    persons = [s for s in persons if f"image/{s}.jpg" not in skipped]
    garments = [s for s in garments if f"cloth/{s}.jpg" not in skipped]
    if not persons:
        if (problem := missing_split_problem(layout, split)) is not None:
            raise VtonkitError(problem)
        raise VtonkitError(f"{split_dir.root}: no complete person sample" + (f" of category {category}" if category else ""))
    if not garments and mode != "paired":
        raise VtonkitError(f"{split_dir.root}: no garment with its mask" + (f" of category {category}" if category else ""))
    result = PairListResult(Path(output) if output else layout.pairs_file(split), [], skipped=skipped)
    result.own_copies = link_own_garments(split_dir, persons, person_records, cloth_records, cloth_files,
                                          placeholders)
    own = {p for p in persons if p in cloth_files and (p not in placeholders or placeholders[p].get("own"))}
    result.without_own_garment = sorted(set(persons) - own)
    stem_pairs = make_pairs(persons, garments, mode, own_garments=own, seed=seed)
    if split == "train" or mode == "paired":
        # No placeholders here: the train loader learns from column 1, the person's own garment.
        result.dropped = result.without_own_garment
        stem_pairs = [(p, g) for p, g in stem_pairs if p in own]
    else:
        blocked: set[str] = set()
        for person, garment in stem_pairs:
            if person in own or person in result.placeholders or person in blocked:
                continue
            if (person in placeholders and not placeholders[person].get("own")
                    and placeholders[person].get("copied_from") in cloth_files):
                result.placeholders[person] = placeholders[person]["copied_from"]
                continue
            problem = own_garment_blocker(split_dir, person, recorded=person in placeholders)
            if problem is not None:  # this person is left out; the others are listed
                result.skipped[problem[0]] = problem[1]
                blocked.add(person)
                continue
            _copy_atomic(split_dir.cloth(garment), split_dir.cloth(person))
            _copy_atomic(split_dir.cloth_mask(garment), split_dir.cloth_mask(person))
            placeholders[person] = {"copied_from": garment,
                                    "reason": "person has no own garment; HR-VITON's test loader opens cloth/<person>"}
            result.placeholders[person] = garment
        stem_pairs = [(p, g) for p, g in stem_pairs if p not in blocked]
        manifest.save()
    result.pairs = [(f"{p}.jpg", f"{g}.jpg") for p, g in stem_pairs]
    if not result.pairs:
        raise VtonkitError(f"{split_dir.root}: no {mode} pair can be made{_why_no_pair(split, mode)}")
    if result.own_copies:
        manifest.save()
    write_pairs(result.path, result.pairs)
    return result
