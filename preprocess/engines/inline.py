"""Inline engine: one worker, built and run in the calling process, items in order.

What prep-person, prep-cloth and agnostic use (their work holds built backends and closures, which
need not pickle), and `vtonkit prep --in-process` (tests, debugging: a native crash in a model
library then ends the run, since nothing isolates the worker).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from vtonkit.core.native_logs import native_stderr_to
from vtonkit.preprocess.engines import WorkerFactory


class InlineEngine:
    """Args:
        native_log: the file native libraries' output goes to while the worker is built and runs.
    """

    name = "inline"
    abilities: frozenset[str] = frozenset({"native_log"})

    def __init__(self, native_log: str | None = None) -> None:
        self.native_log = native_log

    def run(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        quiet = native_stderr_to(self.native_log) if self.native_log else contextlib.nullcontext()
        with quiet:
            worker = make_worker()
            try:
                for item in items:
                    yield worker.run(item)
            finally:  # while native output still goes to the log: closing graphs prints too
                worker.close()
