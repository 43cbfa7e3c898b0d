"""`prep-person` / `prep-cloth` on a list of files: one result per file, never an exception out of the batch.

Files are written under the input's file stem (`photo.jpg` -> `image/photo.jpg`, ...). A file that
fails (unreadable, no person, several people) gets an error result and leaves no partial sample
behind; warnings (cut off at the waist, tiny person, ...) are recorded and the sample is written.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vtonkit.datasets.layout import SplitDir
from vtonkit.preprocess.cloth import check_cloth_mask, masker_input, prepare_cloth, write_cloth_outputs
from vtonkit.preprocess.person import PersonBackends, process_person, write_person_outputs

from vtonkit.core.errors import VtonkitError

logger = logging.getLogger(__name__)


@dataclass
class FileResult:
    """Outcome for one input file: `error` is None when the sample was written."""

    path: Path
    stem: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _failure(path: Path, exc: BaseException) -> str:
    if isinstance(exc, VtonkitError):
        message = str(exc)
        return message if str(path) in message else f"{path}: {message}"
    logger.exception("unexpected failure on %s", path)
    return f"{path}: internal error ({type(exc).__name__}: {exc})"


def _each_file(paths: Iterable[str | Path], sample_files: Callable[[str], dict[str, Path]],
               work: Callable[[Path, FileResult], None],
               on_result: Callable[[FileResult], None] | None) -> list[FileResult]:
    """Run `work(path, result)` on each file; a failure becomes the file's error and removes its
    sample files (`sample_files(stem)`), so no stale half sample of a previous run remains."""
    results = []
    for raw in paths:
        path = Path(raw)
        result = FileResult(path, path.stem)
        try:
            work(path, result)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
            result.error = _failure(path, exc)
            _remove(sample_files(path.stem).values())
        results.append(result)
        if on_result:
            on_result(result)
    return results


def prep_person_files(paths: Iterable[str | Path], split: SplitDir, backends: PersonBackends, *,
                      category: str = "upper", keep_framing: bool = False,
                      on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Run the person chain on each file and write its HR-VITON files under `split`."""

    def work(path: Path, result: FileResult) -> None:
        outputs = process_person(path, backends, category=category, keep=keep_framing)
        result.warnings = outputs.warnings
        result.written = write_person_outputs(split, path.stem, outputs)

    return _each_file(paths, split.person_files, work, on_result)


def prep_cloth_files(paths: Iterable[str | Path], split: SplitDir, masker, *,
                     on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Normalise each garment shot, mask it and write `cloth/` + `cloth-mask/` under `split`."""

    def work(path: Path, result: FileResult) -> None:
        rgb, alpha = prepare_cloth(path)
        mask = masker.mask(masker_input(rgb, alpha))
        result.warnings += check_cloth_mask(path, mask)
        result.written = write_cloth_outputs(split, path.stem, rgb, mask)

    return _each_file(paths, split.cloth_files, work, on_result)
