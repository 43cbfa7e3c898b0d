"""The batch runner of `prep-person`, `prep-cloth` and `agnostic`: one result per input, never an exception out of the batch.

Every input goes through `run_each`, with one failure policy: an expected failure (`VtonkitError`:
unreadable file, not a regular file, no person, several people, a malformed dataset file,
...) becomes the input's error naming the file; anything else becomes an "internal error" result
(and a logged traceback); either way the files the input would have written are removed, so no
stale half sample of an earlier run remains, and the next input runs. Warnings (cut off at the
waist, tiny person, ...) are recorded and the sample is written.

`vtonkit prep` runs the same per-sample chains (`person.process_person`, `cloth.process_cloth`)
through its stage worker (`stage_worker.py`, with the stage cache, the engines and error records
in `prep-errors.jsonl`), using the same error wording (`failure_reason`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vtonkit.datasets.io.images import read_rgb, write_jpeg
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import write_mask
from vtonkit.datasets.io.parse import read_parse, write_parse
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir
from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic
from vtonkit.preprocess.cloth import process_cloth, write_cloth_outputs
from vtonkit.preprocess.person import PersonBackends, process_person, write_person_outputs

from vtonkit.core.errors import FormatError, InputError, VtonkitError

logger = logging.getLogger(__name__)

AGNOSTIC_JPEG_QUALITY = 95


@dataclass
class ItemResult:
    """Outcome for one input: `error` is None when its files were written.

    Attributes:
        path: the input file (prep-person, prep-cloth), or None for a sample of a split (agnostic).
        stem: the sample stem.
    """

    path: Path | None
    stem: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def failure_reason(path: Path | None, exc: BaseException) -> str:
    """The user-facing message of a failed input: it always names the file."""
    if isinstance(exc, VtonkitError):
        message = str(exc)
        return message if path is None or str(path) in message else f"{path}: {message}"
    logger.exception("unexpected failure on %s", path)
    where = f"{path}: " if path is not None else ""
    return f"{where}internal error ({type(exc).__name__}: {exc})"


def run_each(items: Iterable[tuple[Path | None, str]], work: Callable[[ItemResult], None],
             outputs_of: Callable[[str], Iterable[Path]],
             on_result: Callable[[ItemResult], None] | None = None) -> Iterator[ItemResult]:
    """Run `work(result)` for each `(path, stem)` and yield its result (see the module docstring).

    Args:
        outputs_of: the files a stem's work writes; removed when the work fails.
        on_result: called with each result as it is made (progress bars).
    """
    for path, stem in items:
        result = ItemResult(path, stem)
        try:
            work(result)
        except Exception as exc:  # noqa: BLE001 - one bad input never stops the batch
            result.error = failure_reason(path, exc)
            result.warnings = []
            for output in outputs_of(stem):
                output.unlink(missing_ok=True)
        if on_result:
            on_result(result)
        yield result


def _files(paths: Iterable[str | Path]) -> list[tuple[Path | None, str]]:
    return [(Path(p), Path(p).stem) for p in paths]


def prep_person_files(paths: Iterable[str | Path], split: SplitDir, backends: PersonBackends, *,
                      category: str = "upper", keep_framing: bool = False,
                      on_result: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """`prep-person`: the person chain on each file, written under `split` with the file's stem."""

    def work(result: ItemResult) -> None:
        outputs = process_person(result.path, backends, category=category, keep=keep_framing)
        result.warnings = outputs.warnings
        result.written = write_person_outputs(split, result.stem, outputs)

    return list(run_each(_files(paths), work, lambda stem: split.person_files(stem).values(), on_result))


def prep_cloth_files(paths: Iterable[str | Path], split: SplitDir, masker, *,
                     on_result: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """`prep-cloth`: the garment chain on each shot, writing `cloth/` + `cloth-mask/` under `split`."""

    def work(result: ItemResult) -> None:
        outputs = process_cloth(result.path, masker)
        result.warnings = outputs.warnings
        result.written = write_cloth_outputs(split, result.stem, outputs.rgb, outputs.mask)

    return list(run_each(_files(paths), work, lambda stem: split.cloth_files(stem).values(), on_result))


def recompute_sample(split: SplitDir, stem: str, category: str = "upper") -> list[Path]:
    """Recompute and write the three agnostic files of one sample from its image, parse and pose files.

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
    write_parse(split.parse_agnostic(stem), result.parse_agnostic)
    write_jpeg(split.agnostic(stem), result.image, quality=AGNOSTIC_JPEG_QUALITY)
    write_mask(split.agnostic_mask(stem), result.mask)
    return [split.parse_agnostic(stem), split.agnostic(stem), split.agnostic_mask(stem)]


def recompute_split(split: SplitDir, category: str = "upper", stems: Iterable[str] | None = None) -> Iterator[ItemResult]:
    """`agnostic`: yield one result per sample (all persons in `image/` unless `stems` is given)."""

    def work(result: ItemResult) -> None:
        result.written = recompute_sample(split, result.stem, category)

    def agnostic_files(stem: str) -> list[Path]:
        return [split.parse_agnostic(stem), split.agnostic(stem), split.agnostic_mask(stem)]

    items = [(None, stem) for stem in (split.person_stems() if stems is None else stems)]
    return run_each(items, work, agnostic_files)
