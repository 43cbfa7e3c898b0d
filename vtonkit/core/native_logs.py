"""Keep what native libraries print (MediaPipe/TFLite, Chromium) out of the progress display.

They write to file descriptor 2 from their own threads, below Python's `sys.stderr`, so the
descriptor itself is pointed at a log file while Python's `sys.stderr` keeps the terminal.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

NATIVE_LOG = "native.log"  # its file name, in a dataset's state folder or a crawl's output folder


def redirect_native_stderr(path: str | Path) -> None:
    """For the rest of this process: fd 2 appends to `path`, `sys.stderr` stays on the terminal."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    sys.stderr = terminal


@contextlib.contextmanager
def native_stderr_to(path: str | Path) -> Iterator[None]:
    """Like `redirect_native_stderr`, restored when the block ends.

    `sys.stderr` is only re-pointed at the terminal when it writes to file descriptor 2 itself; a
    stream that does not (a test runner's capture, a notebook's) keeps receiving Python's output.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    original_stderr = sys.stderr
    terminal = os.fdopen(os.dup(saved), "w", buffering=1) if _writes_to_fd_2(original_stderr) else None
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    if terminal is not None:
        sys.stderr = terminal
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = original_stderr
        os.dup2(saved, 2)
        os.close(saved)
        if terminal is not None:
            terminal.close()


def _writes_to_fd_2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
