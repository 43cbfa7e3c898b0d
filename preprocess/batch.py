"""The one batch runner of `prep`, `prep-person`, `prep-cloth` and `agnostic`: one result per item, never an exception out of the batch.

`run_each(items, make_worker, engine=..., on_result=...)` runs every item on an execution engine
(`engines/`: inline, process pool, Ray; the runner only sees their interface) and yields its
result as it arrives (`on_result` drives the progress bars). A worker's `run` wraps each item in
`attempt`, the one failure policy: an expected failure (`VtonkitError`: unreadable file, not a
regular file, no person, several people, a malformed dataset file, ...; or one of those read back
from the stage cache) becomes the item's `Failure` naming the file; a backend's own exception
(`stages.BackendFailure`) a failure naming the backend, anything else an "internal error" failure
(both with a logged traceback); either way the files the item would have
written are removed, so no stale half sample of an earlier run remains, and the next item runs
(`agnostic` names none: what it would overwrite are the dataset's own files, kept as they were).
The one exception: an output the file system refuses (disk full, quota, read-only) would fail
every later item the same way, so the batch stops there with `OutputRefusedError` and the
samples finished so far are kept.
Warnings (cut off at the waist, tiny person, ...) are recorded and the sample is written.
Resumable batches (`prep`) also give `attempt` the item's completion marker (`markers.py`): it is
removed before the item's files change and written after the last of them.

Workers: `EachWorker` runs a plain function per `(path, stem)` in this process (prep-person,
prep-cloth, agnostic); `stage_worker.WorkerSpec` builds the `prep` worker (stage cache, timings)
in whichever process the engine runs it.
"""
from __future__ import annotations

import contextlib

import errno
import fcntl
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vtonkit.datasets.io.files import all_or_none, temp_target
from vtonkit.datasets.io.images import read_rgb, write_jpeg
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.io.parse import read_parse, write_parse
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir, display_name
from vtonkit.datasets.manifest import Manifest
from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic
from vtonkit.preprocess.cache import CachedError
from vtonkit.preprocess.cloth import process_cloth, write_cloth_outputs
from vtonkit.preprocess.engines import ENGINES, Engine, WorkerFactory
from vtonkit.preprocess.markers import CompletionMarker
from vtonkit.preprocess.person import PersonBackends, process_person, write_person_outputs
from vtonkit.preprocess.sources import file_sources, settle_stems, source_warnings
from vtonkit.preprocess.stages import BackendFailure

from vtonkit.core.errors import FormatError, InputError, OutputRefusedError, VtonkitError
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

AGNOSTIC_JPEG_QUALITY = 95
WORKER_DIED = "the worker process died while processing this input alone (native crash or out of memory)"
OUTPUT_REFUSED = "OutputRefused"  # `Failure.error_type` of a write the file system refused
# A full disk, a read-only one, a folder the output needs that is a file (EEXIST from mkdir, ENOTDIR).
_REFUSING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EEXIST, errno.ENOTDIR})
# ... and refusals of one item's file (a folder where it goes): that item fails, the batch goes on
_BLOCKED_ERRNOS = frozenset({errno.EISDIR})


@dataclass(frozen=True)
class Failure:
    """Why an item failed.

    Attributes:
        stage: where it failed ("" when the work has no stages).
        file: the input file ("" when the item has none).
        reason: the problem, without the file name.
        error_type: the exception's class name ("WorkerDied" when its worker process died).
        message: the user-facing line; it always names the file.
    """

    stage: str
    file: str
    reason: str
    error_type: str
    message: str

    def __post_init__(self) -> None:
        # Written to UTF-8 files and printed: a file name that is not UTF-8 is escaped (`display_name`).
        for name in ("file", "reason", "message"):
            object.__setattr__(self, name, display_name(getattr(self, name)))

    def record(self) -> dict[str, str]:
        """The `prep-errors.jsonl` fields."""
        return {"stage": self.stage, "file": self.file, "reason": self.reason, "error_type": self.error_type}


class StageError(Exception):
    """`error` raised in stage `stage` of an item's work (the failure records the stage)."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error
        super().__init__(str(error))


class OutputWriteError(VtonkitError):
    """One item's output could not be written (a folder without write permission, ...): that item fails
    with this message, which names the output; the batch goes on (`writing_outputs`)."""


def output_name(filename: str | bytes | None) -> str:
    """The output an `OSError` of a write names: its temporary sibling's file name is the output's own."""
    if not filename:
        return "the output"
    path = Path(os.fsdecode(filename))
    target = temp_target(path.name)  # `atomic_write`'s temporary sibling of the output
    return str(path.with_name(target) if target else path)


@contextlib.contextmanager
def writing_outputs() -> Iterator[None]:
    """Around the writes of one item's output files: an `OSError` that neither refuses the whole output
    (`_REFUSING_ERRNOS`: the batch stops) nor puts a folder in one file's way (`_BLOCKED_ERRNOS`) is an
    `OutputWriteError` naming the output, not an "internal error" with a traceback against the input.

    Raises:
        OutputWriteError: e.g. `cannot write <split>/openpose_json/a_keypoints.json: Permission denied`.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno in _REFUSING_ERRNOS or exc.errno in _BLOCKED_ERRNOS:
            raise
        raise OutputWriteError(f"cannot write {output_name(exc.filename)}: {exc.strerror or exc}") from exc


def failure_of(path: Path | None, exc: BaseException, stage: str = "") -> Failure:
    """The failure of the item of `path` that raised `exc` (outside any `StageError`: in `stage`)."""
    if isinstance(exc, StageError):
        stage, exc = exc.stage, exc.error
    file = "" if path is None else str(path)
    if isinstance(exc, CachedError):  # an expected failure of an earlier run
        error_type, reason, message = exc.error_type, exc.reason, exc.reason
    elif isinstance(exc, VtonkitError):
        error_type = type(exc).__name__
        reason = getattr(exc, "reason", None) or str(exc) or error_type
        message = str(exc)
    elif isinstance(exc, OSError) and exc.errno in _REFUSING_ERRNOS:  # not this input's fault, nor a bug
        error_type = OUTPUT_REFUSED
        reason = message = f"cannot write {output_name(exc.filename)}: {exc.strerror}"
    elif isinstance(exc, OSError) and exc.errno in _BLOCKED_ERRNOS:
        error_type = type(exc).__name__
        reason = message = f"cannot write {output_name(exc.filename)}: {exc.strerror}"
    elif isinstance(exc, BackendFailure):  # a backend's bug: named, with its own exception's type
        logger.error("backend failure on %s", path, exc_info=exc.error)
        error_type, reason = type(exc.error).__name__, str(exc)
        return Failure(stage, file, reason, error_type, reason if path is None else f"{path}: {reason}")
    else:  # a bug or an I/O failure: still one failure, never a dead batch
        logger.error("unexpected failure on %s", path, exc_info=exc)
        error_type = type(exc).__name__
        reason = f"internal error ({error_type}: {exc})"
        return Failure(stage, file, reason, error_type, reason if path is None else f"{path}: {reason}")
    if path is not None and file not in message:
        message = f"{path}: {message}"
    return Failure(stage, file, reason, error_type, message)


def failure_reason(path: Path | None, exc: BaseException) -> str:
    """The user-facing message of a failed input: it always names the file."""
    return failure_of(path, exc).message


@dataclass
class ItemResult:
    """Outcome for one input: `failure` is None when its files were written.

    Attributes:
        path: the input file, or None for a sample of a split (agnostic).
        stem: the sample stem.
    """

    path: Path | None
    stem: str
    failure: Failure | None = None
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    duplicate_of: Path | None = None  # not run: its bytes equal this other input's (`sources.assign_stems`)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def error(self) -> str | None:
        """The failure's user-facing message (naming the file), or None."""
        return None if self.failure is None else self.failure.message


R = TypeVar("R", bound=ItemResult)


def attempt(result: R, work: Callable[[], Any], outputs: Callable[[], Iterable[Path]], *,
            marker: CompletionMarker | None = None, stage: str = "") -> R:
    """Run `work()` for `result`'s item under the one failure policy (module docstring); returns `result`.

    Args:
        work: fills `result.warnings` and `result.written`.
        outputs: every file the item can write; removed when the work fails.
        marker: the item's completion marker (resumable batches).
        stage: what a failure outside any `StageError` is recorded at.
    """
    try:
        if marker is not None:
            marker.clear()  # the files below are about to change
        work()
        if marker is not None:
            marker.write(display_name(result.path), result.warnings, result.written)
    except Exception as exc:  # noqa: BLE001 - one bad input never stops the batch
        result.failure = failure_of(result.path, exc, stage)
        result.warnings = []
        for output in outputs():  # an earlier run's files would pass for this item
            # A folder blocked by a file (the failure itself, often) holds nothing to remove.
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                try:
                    output.unlink()
                except PermissionError as refused:  # a folder without write permission (often the failure
                    # itself): the file stays, said here; raised, it ended the whole batch
                    logger.warning("%s: an earlier run's file stays: cannot remove it (%s)", output,
                                   refused.strerror)
    return result


def worker_died(result: R) -> R:
    """`result` failed because its worker process died while running it alone."""
    file = "" if result.path is None else str(result.path)
    result.failure = Failure("worker", file, WORKER_DIED, "WorkerDied", f"{file}: {WORKER_DIED}" if file else WORKER_DIED)
    return result


@dataclass
class EachWorker:
    """A worker (and its own factory) that runs `work(result)` for each `(path, stem)` in this process.

    Args:
        outputs_of: the files a stem's work writes; removed when the work fails.
    """

    work: Callable[[ItemResult], None]
    outputs_of: Callable[[str], Iterable[Path]]

    def __call__(self) -> EachWorker:
        return self

    def run(self, item: tuple[Path | None, str]) -> ItemResult:
        result = ItemResult(*item)
        return attempt(result, lambda: self.work(result), lambda: self.outputs_of(result.stem))

    def lost(self, item: tuple[Path | None, str]) -> ItemResult:
        return worker_died(ItemResult(*item))

    def close(self) -> None:
        """Nothing to release: the backends in `work` belong to its caller, who closes them."""


def run_each(items: Iterable[Any], make_worker: WorkerFactory[Any, R], *, engine: Engine | str = "inline",
             on_result: Callable[[R], None] | None = None) -> Iterator[R]:
    """Run every item on `engine` (an `Engine`, or a name in `engines.ENGINES` built without options)
    with workers from `make_worker`; yield each result as it arrives (in completion order).

    Args:
        on_result: called with each result as it arrives (progress bars).

    Raises:
        OutputRefusedError: an item's output was refused by the file system (`failure_of`); the
            results before it were yielded, the items in flight finish, no new one starts.
    """
    if isinstance(engine, str):
        engine = ENGINES.build(engine)
    finished = 0
    results = engine.run(make_worker, items)
    try:
        for result in results:
            failure = getattr(result, "failure", None)
            if failure is not None and failure.error_type == OUTPUT_REFUSED:
                raise OutputRefusedError(f"stopped: {failure.message}. The {finished} items finished before it are "
                                         "kept; free the space (or make the folder writable) and run the same "
                                         "command again.")
            finished += failure is None
            if on_result is not None:
                on_result(result)
            yield result
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # the engine's pool shuts down now, not when the generator is collected
            close()


@contextlib.contextmanager
def dataset_lock(dataset: Path) -> Iterator[None]:
    """One writer per dataset at a time: `prep`, `prep-person` and `prep-cloth` all take this lock (the
    lock dies with its process, even on kill -9). Two writers at once lost samples: each settled stems
    against the manifest it had read, so both gave a garment the same stem and one overwrote the other,
    and `prep`'s clean-up deleted the other run's files in flight.

    Raises:
        VtonkitError: another of them holds it now.
    """
    path = state_dir(dataset) / "prep.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise VtonkitError(f"{dataset}: another `vtonkit prep`, `prep-person` or `prep-cloth` is writing this "
                               "dataset; run this one again when it has finished") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_files(kind: str, paths: Iterable[str | Path], split: SplitDir, worker: EachWorker,
               on_result: Callable[[ItemResult], None] | None, category: str | None = None) -> list[ItemResult]:
    """Run `worker` on each file under the stem `prep` would give it (`sources.settle_stems`, with the
    manifest of the split's dataset, `split.root`'s parent): sanitised for the official loaders, made unique
    where two files would share one (`a.jpg`, `a.png`) or where the split holds a sample another file
    made, so no sample overwrites another, while a file run again keeps its stem; a file with the same
    bytes as another is not run but reported as skipped. The dataset is locked meanwhile (`dataset_lock`)."""
    dataset = split.root.absolute().parent
    with dataset_lock(dataset):
        return _run_files_locked(kind, paths, split, dataset, worker, on_result, category)


def _run_files_locked(kind: str, paths: Iterable[str | Path], split: SplitDir, dataset: Path, worker: EachWorker,
                      on_result: Callable[[ItemResult], None] | None, category: str | None) -> list[ItemResult]:
    manifest = Manifest.load(dataset)
    sources = file_sources(kind, paths)
    kept, duplicates = settle_stems(sources, manifest, split.root.name, split, category)
    manifest.save()  # the stems are taken before any file is written
    said = {source.stem: source_warnings(source) for source in kept}
    results = []
    for result in run_each([(source.path, source.stem) for source in kept], worker):
        if result.ok:
            result.warnings.extend(said.get(result.stem, []))
        if on_result is not None:
            on_result(result)
        results.append(result)
    for duplicate in duplicates:
        skipped = ItemResult(duplicate.path, "", duplicate_of=duplicate.duplicate_of)
        if on_result is not None:
            on_result(skipped)
        results.append(skipped)
    return results


def prep_person_files(paths: Iterable[str | Path], split: SplitDir, backends: PersonBackends, *,
                      category: str = "upper", keep_framing: bool = False,
                      on_result: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """`prep-person`: the person chain on each file, written under `split` with the file's stem (see `_run_files`)."""

    def work(result: ItemResult) -> None:
        outputs = process_person(result.path, backends, category=category, keep=keep_framing)
        result.warnings = outputs.warnings
        with writing_outputs():
            result.written = write_person_outputs(split, result.stem, outputs)

    return _run_files("person", paths, split, EachWorker(work, lambda stem: split.person_files(stem).values()),
                      on_result, category)


def prep_cloth_files(paths: Iterable[str | Path], split: SplitDir, masker, *,
                     on_result: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """`prep-cloth`: the garment chain on each shot, writing `cloth/` + `cloth-mask/` under `split`."""

    def work(result: ItemResult) -> None:
        outputs = process_cloth(result.path, masker)
        result.warnings = outputs.warnings
        with writing_outputs():
            result.written = write_cloth_outputs(split, result.stem, outputs.rgb, outputs.mask)

    return _run_files("cloth", paths, split, EachWorker(work, lambda stem: split.cloth_files(stem).values()), on_result)


def recompute_sample(split: SplitDir, stem: str, category: str = "upper", *, keep_existing: bool = False) -> list[Path]:
    """Recompute and write the three agnostic files of one sample from its image, parse and pose files
    (with `keep_existing`, only those it does not have yet: an import keeps the genuine ones).

    Raises:
        InputError / FormatError: naming the file that is missing, malformed or unusable.
    """
    image_path, parse_path, pose_path = split.image(stem), split.parse(stem), split.openpose_json(stem)
    image = read_rgb(image_path)
    if image.shape[:2] != (HEIGHT, WIDTH):
        raise FormatError(image_path, f"image is {image.shape[1]}x{image.shape[0]}, expected {WIDTH}x{HEIGHT} (WxH)")
    parse = read_parse(parse_path)
    if parse.shape != image.shape[:2]:
        raise FormatError(parse_path, f"parse is {parse.shape[1]}x{parse.shape[0]}, image is {WIDTH}x{HEIGHT}")
    keypoints = read_keypoints(pose_path, fmt="body25")
    try:
        result = compute_agnostic(image, parse, keypoints, category)
    except MissingKeypointsError as exc:
        raise InputError(pose_path, str(exc)) from exc
    writers = ((split.parse_agnostic(stem), lambda path: write_parse(path, result.parse_agnostic)),
               (split.agnostic(stem), lambda path: write_jpeg(path, result.image, quality=AGNOSTIC_JPEG_QUALITY)),
               (split.agnostic_mask(stem), lambda path: write_mask(path, result.mask)))
    written = [(path, write) for path, write in writers if not (keep_existing and path.exists())]
    with all_or_none():  # the files change together or not at all
        for path, write in written:
            write(path)
    return [path for path, _ in written]


def recompute_split(split: SplitDir, category: str = "upper", stems: Iterable[str] | None = None) -> Iterator[ItemResult]:
    """`agnostic`: yield one result per sample (all persons in `image/` unless `stems` is given).

    A failed sample removes nothing: its agnostic files already there are often the dataset's genuine
    ones, and `recompute_sample` writes all three or none, so no half sample can be left.
    """

    def work(result: ItemResult) -> None:
        result.written = recompute_sample(split, result.stem, category)

    items = [(None, stem) for stem in (split.person_stems() if stems is None else stems)]
    return run_each(items, EachWorker(work, lambda stem: []))
