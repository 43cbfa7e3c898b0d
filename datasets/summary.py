"""Where the validate report lives in a dataset, and its short human summary (rich)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from vtonkit.datasets.findings import CODES, Report

from vtonkit.core.paths import state_dir

REPORT_NAME = "validate.json"


def report_path(dataset_root: str | Path) -> Path:
    return state_dir(dataset_root) / REPORT_NAME


def load_or_run_report(
    dataset_root: str | Path, console: Console | None = None, *, rerun: bool = False
) -> Report:
    """The stored validate report, or a fresh run (stored) when there is none or `rerun`."""
    path = report_path(dataset_root)
    if path.is_file() and not rerun:
        return Report.read_json(path)
    from vtonkit.datasets.validate import validate

    if console is not None:
        console.print(
            "running validate" if rerun else f"no report at {path}: running validate first", markup=False
        )
    report = validate(dataset_root)
    report.write_json(path)
    return report


def print_summary(report: Report, console: Console, max_examples: int = 3) -> None:
    """Counts per code with a few examples; one line when the dataset is clean.

    Dataset, sample and file names are escaped: a name like `odd[/x]` is text, not rich markup."""
    samples = sum(len(stems) for stems in report.samples.values())
    if not report.findings:
        console.print(
            f"[green]clean[/]: {samples} samples in {escape(', '.join(report.splits))}, no error, no warning"
        )
        return
    table = Table(title=f"{escape(str(report.dataset))}: {samples} samples", title_justify="left")
    for column in ("severity", "code", "count", "examples"):
        table.add_column(column)
    for code, count in report.counts().items():
        severity = CODES[code][1]
        examples = [f"{f.split}/{f.sample or f.file}" for f in report.findings if f.code == code][
            :max_examples
        ]
        table.add_row(
            f"[red]{severity}[/]" if severity == "error" else f"[yellow]{severity}[/]",
            code,
            str(count),
            escape(", ".join(examples)),
        )
    console.print(table)
    console.print(f"[red]{len(report.errors)} error(s)[/], [yellow]{len(report.warnings)} warning(s)[/]")
