"""What every exporter and importer shares: the samples of a dataset with their category, a batch
runner that names each failed sample and carries on, byte copies and verified binary masks.

A conversion never stops on one bad sample: its failure (split, sample, reason) goes into the
`ConversionReport` and the next sample is converted. Every file is written atomically, and a failed
sample leaves the output as it found it: the files it made are removed, the ones it replaced put back.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.file_checks import grey_problem, spec_problems
from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.files import atomic_write_bytes
from vtonkit.datasets.io.images import check_regular_file, open_image
from vtonkit.datasets.io.masks import read_mask, write_mask
from vtonkit.datasets.manifest import CLOTHS, PERSONS, Manifest
from vtonkit.datasets.pairs import Pair, name_problem, read_pairs, write_pairs

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import FormatError, InputError, VtonkitError
from vtonkit.core.progress import track

T = TypeVar("T")

LICENCE_NOTE = (
    "Data converted from or to VITON-HD (CC BY-NC 4.0) or Dress Code (non-commercial research licence "
    "that forbids redistribution) keeps that licence: non-commercial use only, and Dress Code-derived "
    "files must not be redistributed."
)


@dataclass(frozen=True)
class SampleFailure:
    """One sample that could not be converted, and why (the message names the file)."""

    split: str
    sample: str
    reason: str


@dataclass
class ConversionReport:
    """Result of one export or import: what was written, what failed, what the reader should know."""

    target: str
    out: Path
    converted: list[tuple[str, str]] = field(default_factory=list)  # (split or category, sample)
    failures: list[SampleFailure] = field(default_factory=list)
    # Samples a list of the source names whose file is not there: skipped, named, counted, yet no failure,
    # since a shared subset of a dataset keeps the full pair files (Dress Code's list 1800 ids for 3 photos).
    missing: list[SampleFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def exit_code(self) -> int:
        """1 when any sample failed (or nothing was converted), else 0."""
        return 1 if self.failures or not self.converted else 0


@dataclass(frozen=True)
class DatasetSample:
    """One person sample of a vtonkit / HR-VITON dataset: its split, stem and garment category."""

    split: str
    stem: str
    category: str


def dataset_samples(dataset: str | Path, splits: Iterable[str] | None = None,
                    category: str | None = None) -> list[DatasetSample]:
    """Person samples of `dataset` (the stems in `<split>/image/`) with their category.

    The category comes from the manifest (`vtonkit prep`, `vtonkit import` record it); `category`
    fills it in where the manifest has none and, when given, keeps only samples of that category.
    Raises `InputError` when a sample's category is unknown and none was given.
    """
    if category is not None and category not in GARMENT_CATEGORIES:
        raise ValueError(f"category must be one of {GARMENT_CATEGORIES}, got {category!r}")
    data = layout.DatasetLayout(dataset)
    manifest = Manifest.load(dataset)
    samples = []
    for split in splits or layout.SPLITS:
        for stem in data.split(split).person_stems():
            recorded = manifest.entries(split, PERSONS).get(stem, {}).get("category")
            if recorded is None and category is None:
                raise InputError(data.split(split).image(stem), "garment category unknown (not in the manifest): "
                                 "pass --category upper, lower or dresses")
            if category is not None and recorded not in (None, category):
                continue
            samples.append(DatasetSample(split, stem, recorded or category))
    return samples


def dataset_garments(dataset: str | Path, splits: Iterable[str] | None = None,
                     category: str | None = None) -> list[DatasetSample]:
    """Garment-only samples of `dataset`: the stems in `<split>/cloth/` that are no person's (a shop's
    garments, which a prepped dataset's unpaired pair lists put on its persons), with the category
    the manifest records for each, else `category`, as for persons (`dataset_samples`).

    The exporters wrote person samples only, so every pair naming such a garment was dropped with it.
    Raises `InputError` when a garment's category is unknown and none was given: left out, it took its
    pairs with it without a word.
    """
    data = layout.DatasetLayout(dataset)
    manifest = Manifest.load(dataset)
    garments = []
    for split in splits or layout.SPLITS:
        split_dir = data.split(split)
        persons = set(split_dir.person_stems())
        for stem in split_dir.cloth_stems():
            recorded = manifest.entries(split, CLOTHS).get(stem, {}).get("category")
            if stem in persons or (category is not None and recorded not in (None, category)):
                continue
            if recorded is None and category is None:
                raise InputError(split_dir.cloth(stem), "garment category unknown (not in the manifest): "
                                 "pass --category upper, lower or dresses")
            garments.append(DatasetSample(split, stem, recorded or category))
    return garments


class ForeignSampleError(InputError):
    """The output dataset holds a sample of that name made from another photo: refused, its files untouched."""


def check_not_foreign(existing: Path, incoming: Path, stem: str) -> None:
    """Refuse to import `incoming` as sample `stem` when the dataset's copy `existing` (its photo, or
    for a garment-only sample its garment) holds other bytes: the import would replace another
    sample's files. The same bytes are a re-run. Importers check this first, before the sample's other
    files: the name clash is the problem to report (an `incoming` that is no file is left to the
    importer's own check, which names it)."""
    if existing.is_file() and incoming.is_file() and file_digest(existing) != file_digest(incoming):
        raise ForeignSampleError(incoming, f"the dataset already holds a sample {stem} made from another photo "
                                           f"({existing}); importing would replace it: import into another --out, "
                                           "or move that sample away first")


def refuse_unrecorded_samples(out: Path, manifest: Manifest, incoming: Mapping[tuple[str, str], Path],
                              action: str) -> None:
    """Refuse an import into `out` when it holds person samples that `manifest` does not record (an
    HR-VITON-layout dataset made by other tools): their garment category is unknown, so the category
    guard (`Manifest.refuse_other_categories`) cannot see that `action` would mix categories, and the
    import merged into a lower-body set without a word. Checked before anything is written.

    Args:
        incoming: `{(split, stem): source photo}` of the samples this import brings. A sample whose
            photo is byte for byte the one this import brings under its name is this import's own,
            written by a run stopped before it saved the manifest (`kill -9`), and does not count.
    """
    data = layout.DatasetLayout(out)
    unknown: dict[str, int] = {}
    for split in layout.SPLITS:
        recorded = manifest.splits.get(split, {}).get(PERSONS, {})
        split_dir = data.split(split)
        for stem in split_dir.person_stems():
            if stem in recorded:
                continue
            photo, source = split_dir.image(stem), incoming.get((split, stem))
            if (source is not None and source.is_file() and photo.is_file()
                    and file_digest(photo) == file_digest(source)):
                continue
            unknown[split] = unknown.get(split, 0) + 1
    if unknown:
        counts = ", ".join(f"{count} in {split}" for split, count in unknown.items())
        raise InputError(out, f"already holds {sum(unknown.values())} samples ({counts}) that no vtonkit manifest "
                         f"records (a dataset made by other tools?): their garment category is unknown, so "
                         f"{action} could mix garment categories in one dataset; give another --out (one "
                         "dataset per category)")


class SampleWrites:
    """What one sample's conversion did to its output files, so that a failed sample can take back
    exactly that: the files it made are removed, the files that were there before it are put back as
    they were (an import into an existing dataset must never lose a sample it failed to re-import).

    Every writer replaces a file by renaming a new one over it (`io.files.atomic_write`), so a hard
    link taken before the sample keeps the earlier bytes whatever the sample writes or removes. The
    link is a hidden sibling named like `atomic_write`'s temporary files, which no sample listing reads.
    """

    def __init__(self, paths: Iterable[Path]) -> None:
        self.made: list[Path] = []  # no file there before: removed when the sample fails
        self.kept: list[tuple[Path, Path]] = []  # (file, its earlier bytes' link): put back when it fails
        try:
            for path in dict.fromkeys(Path(path) for path in paths):
                if path.is_symlink() or path.is_file():
                    self.kept.append((path, self._keep(path)))
                elif not path.exists():
                    self.made.append(path)
        except BaseException:
            self.commit()
            raise

    @staticmethod
    def _keep(path: Path) -> Path:
        while True:
            link = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                os.link(path, link, follow_symlinks=False)
                return link
            except FileExistsError:
                continue
            except OSError:  # no hard links here (a FAT drive, a share): a copy keeps the bytes as well
                shutil.copy2(path, link, follow_symlinks=False)
                return link

    def undo(self) -> None:
        """Remove the files the sample made and put back the ones it replaced or removed."""
        for path in self.made:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
                path.unlink()
        for path, link in self.kept:
            if path.is_symlink() or path.exists():
                with contextlib.suppress(OSError):
                    if os.path.samestat(path.lstat(), link.lstat()):  # untouched: a rename onto it does nothing
                        link.unlink()
                        continue
            os.replace(link, path)
        self.kept = []

    def commit(self) -> None:
        """The sample is complete: drop the links to the earlier bytes."""
        for _, link in self.kept:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
        self.kept = []


def run_samples(items: Iterable[T], convert: Callable[[T], None], *, label: Callable[[T], tuple[str, str]],
                report: ConversionReport, description: str, progress: bool = True, total: int | None = None,
                outputs: Callable[[T], Iterable[Path]] | None = None) -> None:
    """`convert` each item; a failing one is recorded in `report.failures` and the batch goes on.

    Args:
        outputs: the files an item writes. When it fails (a sample that failed at its last step, the
            agnostic say, must not leave the files of its first steps looking like a sample), the files
            it made are removed and the files that were there before it are put back (`SampleWrites`):
            an existing sample of that name is never lost to a failed re-import. So too when the batch
            is interrupted (Ctrl-C) during the item, and the interruption goes on up: the items before
            it are complete, and the caller records them (the importers save their manifest in a
            `finally`).
    """
    items = list(items)
    iterator = track(items, total if total is not None else len(items), description) if progress else items
    for item in iterator:
        split, sample = label(item)
        writes = SampleWrites(outputs(item) if outputs is not None else ())
        try:
            convert(item)
        except (VtonkitError, ValueError, OSError) as exc:
            writes.undo()
            report.failures.append(SampleFailure(split, sample, str(exc)))
            continue
        except BaseException:  # Ctrl-C: no half-written sample is left, the ones done stay
            writes.undo()
            raise
        writes.commit()
        report.converted.append((split, sample))


def check_separate(source: Path, out: Path) -> None:
    """Refuse an output folder that is the source, inside it or around it: inside, a conversion would
    rewrite the source's own files (an export's binarised masks over the genuine ones) or add to its
    splits; around it, an export's --replace empties the folder that holds the source, and an import
    makes the source a stray folder of the dataset. Checked before anything is written or removed."""
    src, dst = source.resolve(), out.resolve()
    if src == dst or src in dst.parents:
        raise InputError(out, f"overlaps the source {source}: write the conversion to a folder of its own")
    if dst in src.parents:
        raise InputError(out, f"holds the source {source}: write the conversion to a folder outside it")


def prepare_export_folders(folders: Iterable[Path], replace: bool, stubs: Iterable[str] = ()) -> None:
    """Folders an earlier export wrote keep that export's samples beside the new ones, while the new
    pair lists and stem maps leave them out (and an import brings them back under other names or
    splits): refuse folders that hold files, or with `replace` empty them first. All are checked
    before any is emptied.

    Args:
        stubs: names of the empty files an export leaves in a folder it has no sample for (Dress Code's
            other categories, which its loaders open): a folder holding only those holds nothing.
    """
    folders = sorted({Path(folder) for folder in folders})
    stubs = set(stubs)

    def held_file(path: Path) -> bool:
        if not path.is_file():
            return False
        return not (path.parent in folders and path.name in stubs and path.stat().st_size == 0)

    if not replace:
        for folder in folders:
            held = sum(1 for path in folder.rglob("*") if held_file(path)) if folder.is_dir() else 0
            if held:
                raise InputError(folder, f"already holds {held} files (an earlier export?): this export's samples "
                                 "would be mixed with them; pass --replace to empty it first, or give another --out")
        return
    for folder in folders:
        if folder.is_symlink() or folder.is_file():
            raise InputError(folder, "is not a folder this export can empty: give another --out")
        if folder.is_dir():
            shutil.rmtree(folder)


def check_stem(stem: str, source: Path) -> None:
    """An `InputError` naming `source` when `stem` cannot name a sample in a pair list (a space, a
    folder, a control character...): checked before any file of the sample is written."""
    if (problem := name_problem(f"{stem}.jpg")) is not None:
        raise InputError(source, f"its name cannot stand in a pair list: {problem}; rename it")


def sample_outputs(split: layout.SplitDir, stem: str) -> list[Path]:
    """Every file an imported sample `stem` gets in `split`."""
    return [*split.person_files(stem).values(), *split.cloth_files(stem).values()]


def add_pairs(path: Path, pairs: list[Pair]) -> None:
    """Merge `pairs` into the pair list `path`, each pair once: importing into an existing dataset keeps
    the lines of every person `pairs` does not name, in their order; a person `pairs` names gets
    exactly its lines from `pairs`, where its first line was (new persons after the others). So a
    re-run, or an import resumed after the source gained a sample, lists each person as a fresh
    import does, where appending put a person twice in the list, in two garments."""
    existing = read_pairs(path) if path.is_file() else []
    pairs = list(dict.fromkeys(pairs))
    lines_of: dict[str, list[Pair]] = {}
    for pair in pairs:
        lines_of.setdefault(pair[0], []).append(pair)
    merged: list[Pair] = []
    placed: set[str] = set()
    for pair in existing:
        if pair[0] not in lines_of:
            merged.append(pair)
        elif pair[0] not in placed:
            merged.extend(lines_of[pair[0]])
            placed.add(pair[0])
    merged.extend(pair for pair in pairs if pair[0] not in placed)
    write_pairs(path, list(dict.fromkeys(merged)))


def require_file(source: Path) -> Path:
    """`source`, or an `InputError` naming it and saying why it is not a readable file (missing, a
    folder, a link loop): exporters check every input of a sample before they write any of its
    outputs, so a failed sample leaves none behind."""
    check_regular_file(source)
    return source


def spec_problem(source: Path, folder: str) -> str | None:
    """What of `folder`'s file contract (`file_checks.spec_problems`: JPEG or PNG as the name says,
    1024x768, a mode the loaders read) the image `source` breaks, or None; an `InputError` naming it
    when it does not decode (empty, truncated, not an image, a decompression bomb)."""
    with open_image(source) as image:
        problems = [problem for _, problem in spec_problems(image, folder)]
    return "; ".join(problems) or None


def require_image(source: Path, folder: str) -> Path:
    """`source` when it keeps `folder`'s file contract (`spec_problem`), else an `InputError` naming it:
    a byte-for-byte copy must not hand the next loader a file it cannot read or one `validate` rejects.
    The sample is refused rather than converted: a greyscale or CMYK photo, or a PNG under a .jpg name,
    becomes a contract JPEG only by re-encoding it (lossy) and, for CMYK, by changing its colours."""
    if (problem := spec_problem(source, folder)) is not None:
        raise InputError(source, problem)
    return source


def require_mask(source: Path, *, cloth: bool) -> np.ndarray:
    """The bool mask of `source` at 1024x768 (a cloth mask must also hold the garment), else an
    `InputError` naming it."""
    mask = read_mask(source)
    if mask.shape != (layout.HEIGHT, layout.WIDTH):
        raise InputError(source, f"mask is {mask.shape[1]}x{mask.shape[0]} (W x H), not {layout.WIDTH}x{layout.HEIGHT}")
    if cloth and not mask.any():
        raise InputError(source, "cloth mask is empty: it shows no garment")
    return mask


def copy_mask(source: Path, target: Path, mask: np.ndarray, folder: str) -> str | None:
    """Copy the mask `source` (already read by `require_mask` as `mask`) byte for byte when it keeps
    `folder`'s file contract and is 0/255 up to JPEG noise (as `validate` asks); else write `mask` as
    the L 0/255 file the contract asks for and return a note naming `source`. Every loader binarises masks, so the rewrite loses nothing they see
    (`write_binary_mask` verifies it), where a copy would hand HR-VITON, which opens the cloth mask
    without a convert, three channels where one belongs."""
    problem = spec_problem(source, folder)
    if problem is None:
        with open_image(source) as image:
            problem = grey_problem(np.asarray(image.convert("L")))
    if problem is None:
        copy_file(source, target)
        return None
    write_binary_mask(target, mask)
    return f"{source}: {problem}; written as a single-channel (L) 0/255 mask, split at 128 as the loaders split it"


def copy_file(source: Path, target: Path) -> None:
    """Byte-for-byte copy (lossless), atomic; a missing source is an `InputError` naming it."""
    atomic_write_bytes(target, require_file(source).read_bytes())


def write_binary_mask(path: Path, mask: np.ndarray) -> None:
    """Write a bool mask as L 0/255 (PNG or JPEG by the name) and check it reads back identical.

    Every loader here binarises masks (>= 128 or >= 0.5), so a JPEG mask is lossless as long as
    its decoded pixels fall on the right side of 128; this is verified, not assumed.
    """
    mask = np.asarray(mask, dtype=bool)
    write_mask(path, mask)
    if not np.array_equal(read_mask(path), mask):
        raise FormatError(path, "binary mask did not survive JPEG encoding; write it as PNG")
