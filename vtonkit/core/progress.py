"""One progress-bar style for every long command (rich, on stderr)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
# soft_wrap: a message keeps a long path on one line in a log or a pipe (80 columns there); the
# bars are tables fitted to the width either way
console = Console(stderr=True, soft_wrap=True)


BAR_WIDTH = 30  # with the count, the times and "eta", the line fits 80 columns beside a short description


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(bar_width=BAR_WIDTH), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False,
    )


def fitted_description(base: str, extras: Iterable[str], total: int) -> str:
    """`base` plus as many of `extras` as fit the terminal beside the other columns: a description
    too long for the line made rich cut the count, the elapsed time and the eta instead."""
    # bar, "done/total", elapsed and remaining (h:mm:ss), "eta", one space between the six columns
    others = BAR_WIDTH + 2 * len(str(total)) + 1 + 7 + 7 + 3 + 5
    room = max(len(base), console.width - others)
    description = base
    for extra in extras:
        if len(description) + 1 + len(extra) > room:
            break
        description += " " + extra
    return description


def track(items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
    """Iterate with a progress bar; `total` may be None for unknown lengths."""
    with make_progress() as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
