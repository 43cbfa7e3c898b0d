"""`validate(dataset_root, splits) -> Report`: everything that would break or degrade HR-VITON.

Order of the checks, per split:
1. the pair list (two tokens per line, no blank line, no duplicate line, names that exist);
2. completeness: every file a pair needs, including `cloth/<person>` and its mask, which the
   official test loader opens even for unpaired runs;
3. per-file format (`file_checks`): real JPEG/PNG, 1024x768, modes, parse ids, BODY_25, masks;
4. agnostic files against a recomputation from parse + pose (`agnostic_check`);
5. quality flags (`quality`): warnings only;
and across splits: exact / near-duplicate images and train/test leakage (`duplicates`).
One bad file never stops the run: each becomes a finding.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from vtonkit.datasets import layout, quality
from vtonkit.datasets.agnostic_check import compare_agnostic
from vtonkit.datasets.manifest import PERSONS, PLACEHOLDERS, Manifest
from vtonkit.datasets.pairing import source_leaks
from vtonkit.datasets.pairs import BOM_PROBLEM, BYTE_ORDER_MARK, name_problem, pair_list_lines, pair_of, read_pair_text
from vtonkit.datasets.duplicates import HashedImage, find_duplicates, hash_image, shared_names
from vtonkit.datasets.file_checks import SampleFiles, load_and_check
from vtonkit.datasets.io.images import regular_file_problem
from vtonkit.datasets.findings import Report, finding
from vtonkit.datasets.layout import DatasetLayout, SplitDir, is_utf8_name, stem_of
from vtonkit.datasets.review.safe_paths import MAX_STEM, plain_name_problem

from vtonkit.core.errors import FormatError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


def lint_pairs(path: Path, split: str, split_dir: SplitDir, report: Report) -> list[tuple[str, str]]:
    """Check every line of a pair list (not only the first bad one); returns the usable pairs."""
    name = path.name
    if not path.is_file():
        report.add(finding("missing-split", split, "", name, f"{name}: pair list not found"))
        return []
    pairs: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        text = read_pair_text(path)
    except FormatError as exc:  # decoded anyway, every name would be wrong: one finding says why
        report.add(finding("pair-list-invalid", split, "", name, f"{name}: {exc.reason}"))
        return []
    if text.startswith(BYTE_ORDER_MARK):
        report.add(finding("pair-list-invalid", split, "", name, f"{name}: {BOM_PROBLEM}"))
        text = text[1:]  # the lines themselves are still worth checking
    if not text.strip():
        report.add(finding("pair-list-empty", split, "", name, f"{name}: names no pair"))
    for number, line in enumerate(pair_list_lines(text), start=1):
        try:
            person, cloth = pair_of(line)
        except ValueError as exc:
            report.add(finding("pair-list-invalid", split, "", name, f"{name} line {number}: {exc}"))
            continue
        if (person, cloth) in seen:
            report.add(
                finding(
                    "pair-duplicate",
                    split,
                    stem_of(person),
                    name,
                    f"{name} line {number}: same pair as line {seen[(person, cloth)]}",
                )
            )
            continue
        seen[(person, cloth)] = number
        pairs.append((person, cloth))
        person_stem, cloth_stem = stem_of(person), stem_of(cloth)
        if not split_dir.image(person_stem).is_file():
            report.add(
                finding(
                    "pair-missing-person",
                    split,
                    person_stem,
                    name,
                    f"{name} line {number}: {layout.IMAGE}/{person} does not exist",
                )
            )
        missing = [
            f"{folder}/{cloth}"
            for folder, file in split_dir.cloth_files(cloth_stem).items()
            if not file.is_file()
        ]
        if missing:
            report.add(
                finding(
                    "pair-missing-cloth",
                    split,
                    person_stem,
                    name,
                    f"{name} line {number}: missing {', '.join(missing)}",
                )
            )
    return pairs


def check_completeness(split_dir: SplitDir, split: str, stem: str, root: Path, report: Report) -> None:
    report.ran(split, stem, "completeness")
    wanted = {**split_dir.person_files(stem), **split_dir.cloth_files(stem)}
    for folder, path in wanted.items():
        if path.is_file():
            continue
        why = regular_file_problem(path)  # a folder, a link loop or a dangling link says which
        problem = "is missing" if why in (None, "file not found") else f"is missing: {why}"
        reason = (
            " (the official test loader opens cloth/<person> even for unpaired runs)"
            if folder in layout.CLOTH_FOLDERS
            else ""
        )
        report.add(
            finding(
                "missing-file",
                split,
                stem,
                path.relative_to(root),
                f"{path.relative_to(root)} {problem}{reason}",
            )
        )


def check_agnostic(sample: SampleFiles, category: str, root: Path, report: Report) -> None:
    image, parse, body25 = (
        sample.get(layout.IMAGE),
        sample.get(layout.PARSE),
        sample.get(layout.OPENPOSE_JSON),
    )
    if image is None or parse is None or body25 is None:
        return  # inputs missing or broken: already reported
    report.ran(sample.split, sample.stem, "agnostic")
    try:
        mismatches = compare_agnostic(
            image,
            parse,
            body25,
            stored_parse_agnostic=sample.get(layout.PARSE_AGNOSTIC),
            stored_agnostic=sample.get(layout.AGNOSTIC),
            stored_agnostic_mask=sample.get(layout.AGNOSTIC_MASK),
            category=category,
        )
    except ValueError as exc:  # pose unusable for the recipe: say so, or a broken agnostic passes unseen
        path = sample.paths[layout.OPENPOSE_JSON]
        report.add(finding("agnostic-unchecked", sample.split, sample.stem, path.relative_to(root),
                           f"{path.relative_to(root)}: agnostic not recomputed ({exc}); the stored agnostic "
                           "files were not checked"))
        return
    for mismatch in mismatches:
        path = sample.paths[mismatch.folder]
        report.add(
            finding(
                "agnostic-mismatch",
                sample.split,
                sample.stem,
                path.relative_to(root),
                f"{path.relative_to(root)}: {mismatch.message}",
            )
        )


def check_quality(sample: SampleFiles, root: Path, report: Report, *, garment: bool = True,
                  category: str | None = None) -> None:
    """The quality and pre-flight flags of one sample; `garment=False` skips its garment's (a
    placeholder copy of a garment checked under its own name); `category` adds its framing needs
    (a lower-body or dress sample needs its legs) and the garment the person must wear."""
    split, stem = sample.split, sample.stem
    flags: list[tuple[str, quality.Flag]] = []
    body25, parse = sample.get(layout.OPENPOSE_JSON), sample.get(layout.PARSE)
    if body25 is not None:
        flags += [(layout.OPENPOSE_JSON, f) for f in quality.pose_flags(body25, sample.num_people)]
        if category is not None:
            flags += [(layout.OPENPOSE_JSON, f) for f in quality.legs_flags(body25, category)]
    if parse is not None:
        flags += [(layout.PARSE, f) for f in quality.framing_flags(parse, body25)]
        if category is not None:
            flags += [(layout.PARSE, f) for f in quality.worn_garment_flags(parse, category)]
        if body25 is not None:
            flags += [(layout.PARSE, f) for f in quality.arm_swap_flags(parse, body25)]
    if sample.get(layout.IMAGE) is not None:
        flags += [(layout.IMAGE, f) for f in quality.photo_flags(sample.get(layout.IMAGE))]
    cloth, cloth_mask = (sample.get(layout.CLOTH), sample.get(layout.CLOTH_MASK)) if garment else (None, None)
    if cloth is not None:
        flags += [(layout.CLOTH, f) for f in quality.cloth_background_flags(cloth)]
    if cloth_mask is not None:
        flags += [(layout.CLOTH_MASK, f) for f in quality.cloth_mask_flags(cloth_mask >= 128)]
        if cloth is not None:
            flags += [(layout.CLOTH_MASK, f) for f in quality.cloth_mask_mismatch_flags(cloth, cloth_mask >= 128)]
    for kind, flag in quality.preflight_flags(body25, parse, cloth, None if cloth_mask is None else cloth_mask >= 128):
        folder = (layout.PARSE if parse is not None else layout.OPENPOSE_JSON) if kind == "person" else layout.CLOTH
        flags.append((folder, flag))
    if sample.arrays:
        report.ran(split, stem, "quality")
    for folder, flag in flags:
        path = sample.paths[folder]
        report.add(
            finding(
                flag.code, split, stem, path.relative_to(root), f"{path.relative_to(root)}: {flag.message}"
            )
        )


def check_leakage_and_duplicates(
    hashed: list[HashedImage], stems: dict[str, dict[str, set[str]]], root: Path, report: Report
) -> None:
    """Same name in two splits, or the same / nearly the same image anywhere."""
    for kind, by_split in stems.items():
        folder = layout.IMAGE if kind == "image" else layout.CLOTH
        for stem in sorted(shared_names(by_split)):
            where = [split for split, names in by_split.items() if stem in names]
            report.add(
                finding(
                    "leakage",
                    where[-1],
                    stem,
                    f"{where[-1]}/{folder}/{stem}.jpg",
                    f"{folder}/{stem}.jpg exists in {' and '.join(where)}: the same "
                    f"{'person' if kind == 'image' else 'garment'} in train and test",
                )
            )
    for pair in find_duplicates(hashed):
        # Report on the later sample (the test one for leakage): that is the one to drop.
        first, second = sorted(
            (pair.first, pair.second), key=lambda item: (item.split != "train", item.split, item.stem)
        )
        how = (
            "identical file (sha256)"
            if pair.exact
            else f"near-duplicate image (hash distance {pair.distance})"
        )
        rel_first, rel_second = first.path.relative_to(root), second.path.relative_to(root)
        code = "leakage" if pair.cross_split else "duplicate"
        report.add(
            finding(code, second.split, second.stem, rel_second, f"{rel_second}: {how} of {rel_first}")
        )
    for split in report.splits:
        for stem in report.samples.get(split, []):
            report.ran(split, stem, "leakage")
            report.ran(split, stem, "duplicates")


def check_sample(root: Path, split: str, stem: str, is_person: bool, category: str | None,
                 placeholder_cloth: bool = False) -> Report:
    """All per-sample checks of one person sample (or a garment used only as an unpaired cloth);
    `placeholder_cloth`: its `cloth/` file is a copy `vtonkit pairs` made of a garment checked under
    its own name, whose quality flags are not repeated here."""
    report = Report(dataset=str(root), splits=[split])
    split_dir = DatasetLayout(root).split(split)
    if is_person:
        check_completeness(split_dir, split, stem, root, report)
        paths = {**split_dir.person_files(stem), **split_dir.cloth_files(stem)}
    else:
        paths = split_dir.cloth_files(stem)
    sample = SampleFiles(split, stem, paths)
    report.ran(split, stem, "format")
    for item in load_and_check(sample, root):
        report.add(item)
    if is_person and category is not None:
        check_agnostic(sample, category, root, report)
    check_quality(sample, root, report, garment=not placeholder_cloth, category=category if is_person else None)
    return report


def _check_sample_job(job: tuple[Path, str, str, bool, str | None, bool]) -> Report:
    return check_sample(*job)


def _hash_job(job: tuple[str, str, str, Path]) -> HashedImage | None:
    return hash_image(*job)


class _InlineExecutor:
    """`map` in this process (workers=1): no pickling, easy debugging."""

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn, items, chunksize: int = 1):  # noqa: ARG002 - same signature as the pool's
        return map(fn, items)


def _ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group, and only the parent acts on it
    (a worker's KeyboardInterrupt printed a traceback and could leave the pool waiting forever)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C in this thread while workers are started: a worker inherits the mask, so a
    Ctrl-C while it imports (before `_ignore_interrupts` runs) cannot print its traceback. The
    parent gets the held signal when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _WorkerPool:
    """Worker processes that ignore Ctrl-C; on an exception in the block (KeyboardInterrupt above
    all) the pending work is cancelled and the workers are ended, without waiting for them."""

    def __init__(self, workers: int) -> None:
        # spawn, not fork: the caller may hold threads (a server, a progress bar) that fork would copy.
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_ignore_interrupts)

    def __enter__(self) -> _WorkerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self._pool.shutdown(wait=True)
        else:
            self.abandon()

    def map(self, fn, items, chunksize: int = 1):
        with _interrupts_held():  # map submits every item now: the workers start here
            return self._pool.map(fn, items, chunksize=chunksize)

    def abandon(self) -> None:
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        manager = getattr(self._pool, "_executor_manager_thread", None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a worker busy on a chunk would finish it first: end it now
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        if manager is not None:  # let it see its workers gone and close its pipes before the interpreter
            manager.join(timeout=10)  # exits: at exit Python 3.11 writes to them, a race that printed a traceback


def _executor(workers: int) -> _InlineExecutor | _WorkerPool:
    return _InlineExecutor() if workers <= 1 else _WorkerPool(workers)


def recorded_manifest(root: Path) -> Manifest:
    """The dataset's manifest, or an empty one (with a warning naming the file) when it is unreadable:
    validate reads it only for the placeholder garments, and checks every sample either way."""
    try:
        return Manifest.load(root)
    except FormatError as exc:
        logger.warning("%s; its placeholder garments are reported as duplicates", exc)
        return Manifest(exc.path)


def present_splits(dataset_root: str | Path) -> list[str]:
    """Splits that exist in a dataset: a split folder or its pair list is there."""
    data = DatasetLayout(dataset_root)
    return [s for s in layout.SPLITS if data.split(s).root.is_dir() or data.pairs_file(s).is_file()]


def validate(
    dataset_root: str | Path,
    splits: Iterable[str] | None = None,
    *,
    category: str | None = "upper",
    duplicates: bool = True,
    progress: Progress | None = None,
    workers: int = 1,
) -> Report:
    """Validate an HR-VITON / VITON-HD dataset.

    Args:
        dataset_root: folder with `train/`, `test/` and their pair lists.
        splits: which splits to check (leakage needs both); None = the splits present (a
            test-only dataset is fine), and a dataset with neither split is an error. A split
            asked for by name must exist.
        category: garment category for the agnostic consistency check (None skips it).
        duplicates: hash every person and cloth image for duplicates and leakage.
        progress: called with (done, total) after each sample and each hashed image.
        workers: processes for the per-sample checks and hashing (1 = in this process).
    Returns:
        The report; `report.exit_code()` is 1 when it holds errors.
    """
    root = Path(dataset_root).resolve()
    data = DatasetLayout(root)
    splits = present_splits(root) if splits is None else list(splits)
    report = Report(dataset=str(root), splits=splits)
    if not splits:
        report.add(finding("missing-split", "", "", "", f"{root}: neither train/ nor test/ (nor a pair list) found"))
    work: list[tuple[str, SplitDir, str, bool]] = []  # (split, dir, stem, is_person)
    for split in splits:
        split_dir = data.split(split)
        if not split_dir.root.is_dir():
            report.add(finding("missing-split", split, "", split, f"{split}/ does not exist"))
            report.samples[split] = []
            continue
        for name in split_dir.not_jpg_names():
            report.add(finding("name-not-jpg", split, "", name,
                               f"{name}: no <stem>.jpg name, so no loader reads it as a sample; rename or convert it"))
        for name in split_dir.non_utf8_names():
            report.add(finding("name-not-utf8", split, "", name,
                               f"{name}: the file name is not UTF-8, so no pair list can name it; rename it"))
        for folder, stems in (("image", split_dir.person_stems()), ("cloth", split_dir.cloth_stems())):
            for stem in stems:
                if is_utf8_name(stem) and (problem := name_problem(f"{stem}.jpg")) is not None:
                    report.add(finding("name-unlistable", split, stem if folder == "image" else "", f"{folder}/{stem}.jpg",
                                       f"{folder}/{stem}.jpg: {problem}; no pair list can name it (nor can review "
                                       "decide on it): rename it"))
                elif is_utf8_name(stem) and (unplain := plain_name_problem(stem, MAX_STEM)) is not None:
                    report.add(finding("name-unreviewable", split, stem if folder == "image" else "",
                                       f"{folder}/{stem}.jpg",
                                       f"{folder}/{stem}.jpg: the review app shows and decides only on names of "
                                       f"letters, digits, '_', '-' and '.', at most {MAX_STEM} characters (it serves "
                                       f"files by name), and {unplain}: rename it to review it"))
        pairs = lint_pairs(data.pairs_file(split), split, split_dir, report)
        persons = sorted(set(split_dir.person_stems()) | {stem_of(person) for person, _ in pairs})
        # every garment on disk, listed or not (a shop's garments wait for a pair list; a shot left out
        # of one is still in the dataset and can be paired later)
        cloth_only = sorted(({stem_of(cloth) for _, cloth in pairs} | set(split_dir.cloth_stems())) - set(persons))
        cloth_only = [stem for stem in cloth_only if split_dir.cloth(stem).is_file()]
        report.samples[split] = persons
        work += [(split, split_dir, stem, True) for stem in persons]
        work += [(split, split_dir, stem, False) for stem in cloth_only]

    hash_jobs: list[tuple[str, str, str, Path]] = []
    stems: dict[str, dict[str, set[str]]] = {"image": {}, "cloth": {}}
    # `vtonkit pairs` copies a garment to cloth/<person> on purpose (the official test loader opens
    # it); such recorded placeholders are no duplicates to report, nor garments to flag twice.
    manifest = recorded_manifest(root)
    placeholders = {split: set(manifest.entries(split, PLACEHOLDERS)) for split in splits}
    if duplicates:
        # Every person photo and garment on disk, used by a pair or not: leftovers leak too.
        for split in splits:
            split_dir = data.split(split)
            cloths = [stem for stem in split_dir.cloth_stems() if stem not in placeholders[split]]
            for kind, listed, path_of in (
                ("image", split_dir.person_stems(), split_dir.image),
                ("cloth", cloths, split_dir.cloth),
            ):
                stems[kind][split] = set(listed)
                hash_jobs += [(kind, split, stem, path_of(stem)) for stem in listed]
    jobs = [(root, split, stem, is_person, category, stem in placeholders[split]) for split, _, stem, is_person in work]
    total = len(jobs) + (len(hash_jobs) if duplicates else 0)
    hashed: list[HashedImage] = []
    with _executor(workers) as pool:
        for done, part in enumerate(pool.map(_check_sample_job, jobs, chunksize=4), start=1):
            report.findings += part.findings
            report.checks_run |= part.checks_run
            if progress is not None:
                progress(done, total)
        if duplicates:
            for done, item in enumerate(pool.map(_hash_job, hash_jobs, chunksize=16), start=len(jobs) + 1):
                if item is not None:
                    hashed.append(item)
                if progress is not None:
                    progress(done, total)
    if duplicates:
        check_leakage_and_duplicates(hashed, stems, root, report)
    if set(splits) >= {"train", "test"}:
        check_source_leakage(manifest, DatasetLayout(root), report)
    return report


def check_source_leakage(manifest: Manifest, data: DatasetLayout, report: Report) -> None:
    """Source files the manifest records in train and test. Their dataset files differ where prep
    re-cropped the photo (a near-duplicate hash 77 bits away): `pairs` refused the dataset for it
    while validate called it clean."""
    reported = {(f.split, f.sample) for f in report.findings if f.code == "leakage"}
    for leak in source_leaks(manifest, data):
        folder = layout.IMAGE if leak.kind == PERSONS else layout.CLOTH
        if ("test", leak.test_stem) in reported:
            continue
        path = f"test/{folder}/{leak.test_stem}.jpg"
        report.add(finding("leakage", "test", leak.test_stem, path,
                           f"{path}: made from the same source file as train/{folder}/{leak.train_stem}.jpg "
                           f"(the manifest's sha256): the same {'person' if leak.kind == PERSONS else 'garment'} "
                           "in train and test"))
