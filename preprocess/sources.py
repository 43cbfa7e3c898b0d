"""What `vtonkit prep` processes, and under which sample stem.

Person photos and garments come from a folder, a glob, or a crawler catalog (`catalog.jsonl`):
persons from its on-model shots, garments from its garment shots, of the requested category. Every input gets a stem that the
HR-VITON loaders accept (letters, digits, `_`, `-`; no dot, since they split names at the first
dot) and that stays the same across runs:

1. identical bytes already in the manifest keep their stem (renaming a file changes nothing);
2. otherwise the sanitised file stem (catalog: the product id, for persons and garments alike), unless another input of this run
   or of the manifest claims it, or the split already holds files of that stem the manifest does not know (a genuine
   VITON-HD sample): then `<stem>_<first 8 hex of sha256>` (deterministic);
3. a second file with the same bytes as another input of the run is a duplicate and is skipped.

A name too long for the dataset's file names is cut, with a digest of the whole name appended
(`sanitize_stem`). Every stem that is not the input's own name says why in `Source.renamed`
(`source_warnings`), which every command reports. A garment named like a placeholder copy that
`vtonkit pairs` made for a person without one replaces that copy (`settle_stems`).
"""
from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from vtonkit.datasets.file_digest import file_digest
from vtonkit.datasets.io.files import NAME_MAX, TEMP_NAME_EXTRA, name_with_digest
from vtonkit.datasets.io.images import HEIF_SUFFIXES, check_regular_file
from vtonkit.datasets.layout import SPLITS, SplitDir, display_name
from vtonkit.datasets.manifest import CLOTHS, PERSONS, PLACEHOLDERS, Manifest

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import InputError, VtonkitError
from vtonkit.core.paths import STATE_DIR_NAME

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif"}) | HEIF_SUFFIXES
CATEGORIES = GARMENT_CATEGORIES
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _longest_suffix() -> int:
    """UTF-8 bytes the layout adds to a stem in its longest file name (`<stem>_keypoints.json`)."""
    split = SplitDir(Path("split"))
    names = [path.name for path in (*split.person_files("s").values(), *split.cloth_files("s").values())]
    return max(len(name.encode()) for name in names) - len("s")


# The longest stem whose every file, and that file's temporary name while written, fits the file
# system's limit on one name: a longer one failed as "File name too long" mid-sample.
MAX_STEM_BYTES = NAME_MAX - TEMP_NAME_EXTRA - _longest_suffix()


@dataclass
class Source:
    """One input file and the sample it becomes.

    Attributes:
        kind: "person" or "cloth".
        path: the input file.
        sha256: hex digest of its bytes ("" when it cannot be read; it then fails at normalise).
        stem: the sample stem in the dataset.
        meta: extra manifest fields (catalog record fields for garments).
        renamed: why `stem` is not the input's own name (too long, taken, known to the manifest
            under another), reported by `source_warnings`; "" when it is its own name.
        other_split: where the manifest holds the same bytes in another split, reported by
            `source_warnings` (the same photo in train and test leaks; validate and pairs refuse it).
    """

    kind: str
    path: Path
    sha256: str
    stem: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    renamed: str = ""  # why `stem` is not the input's own (sanitised) name; "" when it is
    other_split: str = ""  # "<split>/<stem>" of the same bytes in another split of the dataset (leakage)


@dataclass
class Duplicate:
    """An input whose bytes equal another input's: skipped, reported."""

    path: Path
    duplicate_of: Path


def sanitize_stem(name: str) -> str:
    """File name or product id -> a stem safe for the official loaders (`a b.v2.jpg` -> `a_b_v2`).

    No leading `-` either: `-shirt.jpg` in a shell command reads as an option. A name longer than
    `MAX_STEM_BYTES` keeps its start and gets a digest of the whole, so long names stay distinct.
    """
    stem = _sanitized(name)
    if len(stem.encode()) > MAX_STEM_BYTES:
        return with_digest(stem, hashlib.sha256(stem.encode()).hexdigest())
    return stem


def _sanitized(name: str) -> str:
    """`sanitize_stem` without the length limit."""
    base = Path(name).name
    suffix = Path(base).suffix
    if suffix.lower() in IMAGE_SUFFIXES:
        base = base[: -len(suffix)]
    return _UNSAFE.sub("_", base).strip("_").lstrip("-_") or "sample"


def with_digest(stem: str, digest: str) -> str:
    """`<stem>_<first 8 hex of digest>`, `stem` cut (at a character) so the result fits `MAX_STEM_BYTES`."""
    return name_with_digest((stem,), digest, MAX_STEM_BYTES)


def _candidate_note(name: str, what: str = "name") -> str:
    """Why the candidate stem of `name` is not its sanitised self (cut for length), or ""."""
    if len(_sanitized(name).encode()) <= MAX_STEM_BYTES:
        return ""
    return f"its {what} is longer than the {MAX_STEM_BYTES} bytes a sample name may have"


def source_warnings(source: Source) -> list[str]:
    """What `prep`, `prep-person` and `prep-cloth` alike say of a sample's input: written under
    another name than its own (`Source.renamed`), or already in another split (`Source.other_split`)."""
    warnings = [f"written as sample {source.stem}: {source.renamed}"] if source.renamed else []
    if source.other_split:
        warnings.append(f"the same file is sample {source.other_split} already: a photo in train and test leaks "
                        "(validate reports it, pairs refuses it); remove one of them")
    return warnings


def list_images(spec: str | Path) -> list[Path]:
    """Image files of a folder (not recursive, hidden files skipped) or of a glob pattern, sorted.

    Files are selected by extension only: a broken file named `.jpg` is listed and then reported.
    """
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.iterdir() if not p.name.startswith(".") and not p.is_dir()]
    elif path.is_file():
        files = [path]
    else:
        files = [Path(p) for p in glob.glob(str(spec), recursive=True) if not Path(p).is_dir()]
        if not files:
            raise InputError(spec, "no such folder, file or glob match")
    # Not only regular files: a FIFO, a dangling or looping link named `.jpg` is listed too, and
    # then fails with an error record naming it (never skipped silently, never opened).
    return sorted(_absolute(p) for p in files if p.suffix.lower() in IMAGE_SUFFIXES)


def with_folders_listed(paths: Iterable[str | Path]) -> list[Path]:
    """Arguments of `prep-person` / `prep-cloth`: a folder stands for its images (`list_images`), a
    file stays as given, whatever its name, so that a bad one is reported, not dropped."""
    files: list[Path] = []
    for path in map(Path, paths):
        listed = list_images(path) if path.is_dir() else [path]
        if not listed:  # refused before any work: a mistyped folder, not a bad file inside a batch
            raise InputError(path, f"folder holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files.extend(listed)
    return files


def _absolute(path: Path) -> Path:
    """The absolute path, symbolic links not followed: a folder of links (`anna.jpg -> IMG_0412.jpg`)
    gives stems and error records by the links' names, the ones the user chose."""
    return Path(os.path.abspath(path))


def catalog_file(spec: str | Path) -> Path | None:
    """The catalog named by `spec`, else None: a crawl folder holding `catalog.jsonl`, a JSON-lines
    file (`catalog.jsonl` or a copy of it under any name), or a crawl's `catalog.parquet`."""
    from vtonkit.crawlers.catalog import CATALOG_JSONL

    path = Path(spec)
    if path.is_file() and path.suffix.lower() in (".jsonl", ".parquet"):
        return path
    if path.is_dir() and (path / CATALOG_JSONL).is_file():
        return path / CATALOG_JSONL
    return None


def read_catalog(catalog: Path, category: str, *, garment_shots: bool) -> list[tuple[Path, dict[str, Any]]]:
    """Images of `category` in a crawler catalog: `[(image path, record), ...]`.

    Args:
        garment_shots: True for the garment shots (`is_garment_shot: true`, for `--cloths`), False for
            the on-model shots (`is_garment_shot: false`, for `--persons`: a person wearing the
            product, whose own garment is then the product's garment shot).

    Records are read by the crawler's own reader (`crawlers.catalog`, which skips a bad line with a
    warning and tolerates the cut last line of a killed crawl); a file listed again (one image for
    several products) counts once.

    Raises:
        InputError: the catalog holds no image of the kind and category asked for; the message
            counts what it holds instead (a run would otherwise write nothing and say nothing).
    """
    from collections import Counter

    from vtonkit.crawlers.catalog import read_catalog_file

    out: list[tuple[Path, dict[str, Any]]] = []
    seen: set[Path] = set()
    refused = 0
    records = read_catalog_file(catalog)
    for record in records:
        if record.get("is_garment_shot") is not garment_shots or record.get("category") != category:
            continue
        relative = record.get("path")
        # A hand-edited or foreign catalog can hold any JSON here (a number, a list, a NUL byte),
        # which would otherwise end the whole run with a traceback.
        if not isinstance(relative, str) or not relative or "\0" in relative:
            logger.warning("%s: skipped a record whose path is not a file name (%r; image %s)", catalog, relative,
                           record.get("image_url"))
            refused += 1
            continue
        # The crawler writes paths inside its folder; one leaving it (absolute, "..") would bring any
        # file of this machine into a dataset that may be shared.
        if PurePath(relative).is_absolute() or ".." in PurePath(relative).parts:
            logger.warning("%s: skipped a record whose path leaves the crawl folder (%r; image %s)", catalog,
                           relative, record.get("image_url"))
            refused += 1
            continue
        # Not resolved: a link loop or dangling link then fails as that file's error record, not the run.
        path = _absolute(catalog.parent / relative)
        if path in seen:
            continue
        seen.add(path)
        out.append((path, record))
    if not out:
        shot = "garment shots" if garment_shots else "on-model shots"
        if refused:
            raise InputError(catalog, f"all {refused} {shot} of category {category} were skipped: their paths are "
                             "not file names or leave the crawl folder (the warnings above name each)")
        held = Counter(f"{r.get('category') or 'no category'} "
                       f"{'garment shots' if r.get('is_garment_shot') is True else 'other shots'}" for r in records)
        holds = ", ".join(f"{n} {what}" for what, n in sorted(held.items())) or "nothing"
        raise InputError(catalog, f"no {shot} of category {category} among its {len(records)} records ({holds})")
    return out


def _sha_or_empty(path: Path) -> str:
    """The content digest, or "" for anything but a readable regular file, and for an empty one (it then
    fails at the first stage). Empty files all have one digest: all but the first were skipped as "same
    bytes as" it, and only the first was said to be empty."""
    try:
        if check_regular_file(path).st_size == 0:
            return ""
        return file_digest(path)
    except (OSError, InputError):
        return ""


CATALOG_FIELDS = ("store", "product_id", "title", "brand", "colour", "gender", "category", "image_url", "page_url",
                  "sha256", "phash")


def _sources(kind: str, spec: str | Path, category: str) -> list[Source]:
    """Sources of one kind from a folder/glob of images or from a catalog (see `read_catalog`)."""
    catalog = catalog_file(spec)
    if catalog is None:
        files = list_images(spec)
        if not files:  # a mistyped folder or pattern: refused, not a run that "succeeds" with 0 samples
            raise InputError(spec, f"no image files there ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return file_sources(kind, files)
    sources = []
    for path, record in read_catalog(catalog, category, garment_shots=kind == "cloth"):
        sha = _sha_or_empty(path)
        product = str(record.get("product_id") or "")
        # The product id for both kinds: a product's single on-model shot and single garment shot
        # then share a stem, which is exactly VITON-HD's "person wears the garment of the same name".
        # An id is not a path: "men/tee/9" keeps its folders as words ("men_tee_9"), or it would clash
        # with "women/tee/9".
        identifier = product.replace("/", "_").replace("\\", "_")
        if product:
            candidate, note = sanitize_stem(identifier), _candidate_note(identifier, "product id")
        elif sha:
            candidate, note = sha[:16], ""
        else:
            candidate, note = sanitize_stem(path.name), _candidate_note(path.name)
        meta = {name: record[name] for name in CATALOG_FIELDS if name in record}
        meta["catalog_sha256"] = meta.pop("sha256", None)
        sources.append(Source(kind, path, sha, meta={"candidate": candidate, **meta}, renamed=note))
    return sources


def file_sources(kind: str, paths: Iterable[str | Path]) -> list[Source]:
    """Sources of image files given one by one (a folder's, or `prep-person`/`prep-cloth`'s arguments),
    each a candidate stem from its sanitised file name (`assign_stems` settles clashes). A file given
    twice (`prep-person photos photos`) is one input, not a duplicate of itself."""
    unique: dict[str, Path] = {}
    for path in paths:
        unique.setdefault(os.path.abspath(path), Path(path))
    return [Source(kind, path, _sha_or_empty(path), meta={"candidate": sanitize_stem(path.name)},
                   renamed=_candidate_note(path.name))
            for path in unique.values()]


def person_sources(spec: str | Path, category: str = "upper") -> list[Source]:
    """Person photos from a folder/glob, or a catalog's on-model shots of `category`."""
    return _sources("person", spec, category)


def cloth_sources(spec: str | Path, category: str = "upper") -> list[Source]:
    """Garments from a folder/glob of images, or a catalog's garment shots of `category`."""
    return _sources("cloth", spec, category)


def assign_stems(sources: list[Source], existing: dict[str, dict[str, Any]],
                 on_disk: Callable[[str], bool] = lambda stem: False) -> tuple[list[Source], list[Duplicate]]:
    """Give every source a stem (rules in the module docstring); returns (kept, duplicates).

    Args:
        sources: inputs of one kind and split, in a deterministic order.
        existing: the manifest's `{stem: record}` of that kind and split (read only).
        on_disk: whether the split already holds files of a stem of that kind; such a stem outside the
            manifest belongs to no input of `prep` and would be overwritten.
    """
    by_sha = {record.get("sha256"): stem for stem, record in existing.items() if record.get("sha256")}
    by_source = {record.get("source"): stem for stem, record in existing.items()}
    kept: list[Source] = []
    duplicates: list[Duplicate] = []
    first_of_sha: dict[str, Path] = {}
    for source in sorted(sources, key=lambda s: str(s.path)):
        if source.sha256 and source.sha256 in first_of_sha:
            duplicates.append(Duplicate(source.path, first_of_sha[source.sha256]))
            continue
        if source.sha256:
            first_of_sha[source.sha256] = source.path
        kept.append(source)
    unassigned: dict[str, list[Source]] = defaultdict(list)
    for source in kept:
        known = by_sha.get(source.sha256) if source.sha256 else None
        known = known or by_source.get(display_name(source.path))  # same file edited in place: keep its stem
        if known:
            source.stem = known
            if known != source.meta["candidate"]:
                source.renamed = f"the dataset's manifest holds this file as {known}"
        else:
            unassigned[source.meta["candidate"]].append(source)
    # Stems are compared case-folded: `Anna` and `anna` are one file on macOS, Windows and exFAT,
    # where a dataset copied there would keep one of the two.
    taken = {source.stem.casefold() for source in kept if source.stem}
    existing_folded = {stem.casefold() for stem in existing}
    by_folded: dict[str, list[Source]] = defaultdict(list)
    for candidate, group in unassigned.items():
        by_folded[candidate.casefold()].extend(group)
    for folded, group in by_folded.items():
        clash = (len(group) > 1 or folded in existing_folded or folded in taken
                 or any(on_disk(source.meta["candidate"]) for source in group))
        for source in group:
            candidate = source.meta["candidate"]
            if clash:
                source.stem = with_digest(candidate, source.sha256 or _path_digest(source.path))
                source.renamed = f"another file has the name {candidate}"
            else:
                source.stem = candidate
            taken.add(source.stem.casefold())
    for source in kept:
        source.meta.pop("candidate", None)
    return kept, duplicates


def _path_digest(path: Path) -> str:
    return hashlib.sha256(os.fsencode(path)).hexdigest()  # the name's bytes: any name, UTF-8 or not


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise VtonkitError(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
    return category


def _has_files(split_dir: SplitDir, kind: str, stem: str) -> bool:
    """Whether `split_dir` holds any file of sample `stem` of `kind` (person: image/, parse, pose, ...)."""
    files = split_dir.person_files(stem) if kind == "person" else split_dir.cloth_files(stem)
    return any(os.path.lexists(path) for path in files.values())


def manifest_kind(kind: str) -> str:
    """The manifest table of a source kind: `persons` for "person", `cloths` for "cloth"."""
    return PERSONS if kind == "person" else CLOTHS


def replaceable_placeholders(placeholders: dict[str, dict[str, Any]], sources: list[Source]) -> set[str]:
    """The placeholder own-garments (manifest `placeholders`) that a garment of `sources` named like
    them replaces: the real own garment of a person `vtonkit pairs` ran for too early. Copies of the
    person's catalog product garment (`own`) are no stand-in, and `pairs` remakes them: they stay."""
    candidates = {source.meta.get("candidate") for source in sources}
    return {stem for stem, record in placeholders.items() if stem in candidates and not record.get("own")}


def _without_dataset_files(sources: list[Source], split_dir: SplitDir) -> list[Source]:
    """`sources` less the files of the dataset being written (`split_dir`'s parent): those in a folder of
    one of its splits (`test/image/`, `train/cloth/`, ...) and in its state folder (`.vtonkit/`), with a
    note of how many were left out. They are its own outputs: a recursive glob over a folder that holds
    the dataset (`--persons 'photos/**/*.jpg' --out photos/ds`) listed its person images, agnostic
    images and garments as new person photos on the next run. Photos kept elsewhere in the dataset's
    folder (`ds/raw/`) stay inputs."""
    dataset = os.path.realpath(split_dir.root.absolute().parent)
    splits = {*SPLITS, split_dir.root.name}

    def in_dataset(source: Source) -> bool:
        folder = os.path.relpath(os.path.realpath(source.path.parent), dataset)
        parts = Path(folder).parts
        return bool(parts) and parts[0] != ".." and (parts[0] == STATE_DIR_NAME or
                                                     (len(parts) >= 2 and parts[0] in splits))

    kept: list[Source] = []
    left_out: list[Source] = []
    for source in sources:
        (left_out if in_dataset(source) else kept).append(source)
    if left_out:
        logger.warning("%s: left out %d input file%s inside this dataset's own folders, which are its outputs, not "
                       "inputs (%s%s); give an input folder or glob that does not cover them",
                       display_name(dataset), len(left_out), "" if len(left_out) == 1 else "s",
                       display_name(left_out[0].path), ", ..." if len(left_out) > 1 else "")
    return kept


def settle_stems(sources: list[Source], manifest: Manifest, split: str, split_dir: SplitDir,
                 category: str | None) -> tuple[list[Source], list[Duplicate]]:
    """`assign_stems` against the manifest's records and the files `split_dir` (of split name `split`)
    already holds, then record every kept source in `manifest` (not saved); returns (kept, duplicates).

    `prep`, `prep-person` and `prep-cloth` all settle stems here, so a file run again keeps its sample
    while another file of the same name never overwrites, nor on failure deletes, a sample it did not make.
    A garment named like a placeholder own-garment takes its name, and its record leaves `placeholders`
    (`replaceable_placeholders`). Files of the dataset's own folders are left out (`_without_dataset_files`).

    Args:
        sources: inputs of one kind (all `person` or all `cloth`).
        category: recorded with each source; None records none (a garment of any category).
    """
    kind = sources[0].kind if sources else "person"
    sources = _without_dataset_files(sources, split_dir)
    table = manifest_kind(kind)
    existing = dict(manifest.entries(split, table))
    placeholders = manifest.entries(split, PLACEHOLDERS) if kind == "cloth" else {}
    replaceable = replaceable_placeholders(placeholders, sources)
    # the other placeholder own-garments (see datasets.pairing) hold their cloth/ names
    existing = {**{stem: record for stem, record in placeholders.items() if stem not in replaceable}, **existing}
    kept, duplicates = assign_stems(sources, existing,
                                    lambda stem: stem not in replaceable and _has_files(split_dir, kind, stem))
    entries = manifest.entries(split, table)
    elsewhere = {record.get("sha256"): f"{other}/{stem}" for other in manifest.splits if other != split
                 for stem, record in manifest.entries(other, table).items() if record.get("sha256")}
    for source in kept:
        source.other_split = elsewhere.get(source.sha256, "") if source.sha256 else ""
        if source.stem in replaceable:  # its files are about to become this garment's
            del placeholders[source.stem]
        # A name that is not UTF-8 is stored escaped (`display_name`): the manifest is UTF-8 JSON.
        record = {"source": display_name(source.path), "sha256": source.sha256}
        entries[source.stem] = {**record, **({} if category is None else {"category": category}), **source.meta}
    return kept, duplicates

