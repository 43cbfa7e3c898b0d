"""Atomic file writes: a reader (or a `kill -9`) never sees a half-written file.

Every writer in vtonkit goes through these helpers: data is written to a temporary file in the
destination directory, flushed and fsynced, then moved into place with `os.replace` (atomic on
POSIX within one filesystem).
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import stat
import tempfile
from contextvars import ContextVar
from functools import cache
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from PIL import Image


@cache
def _file_mode() -> int:
    """Permissions of a normally created file (0666 minus the umask); mkstemp's 0600 is too strict."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


NAME_MAX = 255  # bytes in one file name (ext4, XFS, Btrfs: the usual limit)
# What `atomic_write` adds to its target's name for the temporary file: "." + name + "." + 8 random
# characters (tempfile's) + ".tmp". A target name longer than NAME_MAX minus this cannot be written.
TEMP_NAME_EXTRA = len(".") + len(".") + 8 + len(".tmp")


def name_with_digest(parts: tuple[str, ...], digest: str, max_bytes: int) -> str:
    """`<part>_<part>..._<first 8 hex of digest>` in at most `max_bytes` UTF-8 bytes: each part keeps an
    equal start, cut at a character. How a name too long for a file system stays distinct."""
    keep = (max_bytes - 8 - len(parts)) // len(parts)  # a "_" before each part but the first, and the digest
    return "_".join(part.encode()[:keep].decode("utf-8", errors="ignore") for part in parts) + f"_{digest[:8]}"


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of `path` for writing; on success it replaces `path`.

    On an exception the temporary file is removed and `path` is left untouched. A `path` that is a
    pipe, a terminal or a device (``/dev/stdout``, a FIFO, a link to either) is written into as a
    stream: renamed onto, a report meant for a pipe replaced the link, and as root ``/dev/stdout``
    itself, with a file. A link to a file is replaced, never the file it names (a dataset's link into
    another dataset).
    """
    path = Path("/dev/stdout") if str(path) == "-" else Path(path)  # "-": standard output, as a command line says it
    if is_stream(path):
        with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _file_mode())
        _replace_or_defer(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def is_stream(path: Path) -> bool:
    """`path` (its link followed) is there and is neither a regular file nor a folder: a pipe, a
    terminal, a device."""
    try:
        kind = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(kind) and not stat.S_ISDIR(kind)


# The writes of an open `all_or_none` block: (temporary file, target), moved into place at its end.
_DEFERRED: ContextVar[list[tuple[str, Path]] | None] = ContextVar("deferred_replaces", default=None)


def _replace_or_defer(tmp_name: str, path: Path) -> None:
    deferred = _DEFERRED.get()
    if deferred is None:
        os.replace(tmp_name, path)
    else:
        deferred.append((tmp_name, path))


@contextlib.contextmanager
def all_or_none() -> Iterator[None]:
    """The `atomic_write`s inside the block replace their targets only once the whole block succeeded;
    when it raises, every one of them is removed and all targets keep what they held. For files that
    belong together (a sample's three agnostic files): never part new, part old, never one lost."""
    deferred: list[tuple[str, Path]] = []
    token = _DEFERRED.set(deferred)
    try:
        yield
        # a folder where a file goes would stop the moves half-way: refuse before the first one
        for _, path in deferred:
            if path.is_dir() and not path.is_symlink():
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way of this file", str(path))
        for done, (tmp_name, path) in enumerate(deferred):
            os.replace(tmp_name, path)
            deferred[done] = ("", path)
    except BaseException:
        for tmp_name, _ in deferred:
            if tmp_name:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
        raise
    finally:
        _DEFERRED.reset(token)


# `atomic_write`'s temporary files: ".<target name>.<8 random chars>.tmp" (tempfile.mkstemp).
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp")


def temp_target(name: str) -> str | None:
    """The name of the file an `atomic_write` temporary file called `name` was to become, else None
    (what a writer killed mid-write leaves is cleaned up by who owns the target)."""
    match = _TEMP_NAME.fullmatch(name)
    return match.group("target") if match else None


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = None) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + ("\n" if indent else ""))


def atomic_save_image(image: Image.Image, path: str | Path, **save_kwargs: Any) -> None:
    """`image.save(path, **save_kwargs)` atomically; the format follows the extension unless given.

    Encoded in memory first: given a real file, Pillow's encoders write to its descriptor from C and
    ignore a short write, so on a nearly full disk the file came out truncated with no error raised.
    Python's own file writes retry a short write and raise ENOSPC.
    """
    path = Path(path)
    save_kwargs.setdefault("format", Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    encoded = io.BytesIO()
    image.save(encoded, **save_kwargs)
    atomic_write_bytes(path, encoded.getbuffer())
