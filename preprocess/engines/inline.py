"""Inline engine: one worker, built and run in the calling process, items in order.

What prep-person, prep-cloth and agnostic use (their work holds built backends and closures, which
need not pickle), and `vtonkit prep --in-process` (tests, debugging: a native crash in a model
library then ends the run, since nothing isolates the worker).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from vtonkit.preprocess.engines import WorkerFactory


class InlineEngine:
    name = "inline"
    abilities: frozenset[str] = frozenset()

    def run(self, make_worker: WorkerFactory[Any, Any], items: Iterable[Any]) -> Iterator[Any]:
        worker = make_worker()
        for item in items:
            yield worker.run(item)
