"""Errors shared by every stage. Messages always name the file and the problem."""
from __future__ import annotations

from pathlib import Path


class VtonkitError(Exception):
    """Base class: an expected, user-facing failure (bad input, missing file, bad format)."""


class InputError(VtonkitError):
    """A specific input file is unusable. `str(err)` = "<path>: <reason>"."""

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path is not None else reason)


class FormatError(InputError):
    """A file exists but does not follow the expected format (mode, size, ids, layout)."""


class NoPersonError(InputError):
    """No person was detected in a person photo."""


class MultiplePersonsError(InputError):
    """More than one person was detected where exactly one is required."""


class OutputRefusedError(VtonkitError):
    """A batch stopped: the file system refused an output (full, over quota, read-only)."""


def describe_os_error(exc: OSError, where: str | Path) -> str:
    """`<file>: <problem>` of an `OSError` that is no one input's fault (an output folder that is read-only,
    full or blocked by a file, an unreadable input folder): the file it names, else `where`."""
    if isinstance(exc, FileExistsError) and exc.filename and not Path(exc.filename).is_dir():
        return f"{exc.filename}: a file is in the way of a folder vtonkit writes into (move it away)"
    return f"{exc.filename or where}: {exc.strerror or exc}"
