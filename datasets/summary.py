"""Where the validate report lives in a dataset, and its short human summary (rich)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from vtonkit.core.terminal import escape
from rich.table import Table
from vtonkit.datasets.dataset_paths import report_path
from vtonkit.datasets.findings import CODES, Report

from vtonkit.core.errors import FormatError


def load_or_run_report(
    dataset_root: str | Path, console: Console | None = None, *, rerun: bool = False
) -> Report:
    """The stored validate report, or a fresh run (stored) when there is none or `rerun`."""
    path = report_path(dataset_root)
    why = "running validate" if rerun else f"no report at {path}: running validate first"
    if path.is_file() and not rerun and _cleaned_since(dataset_root, path):
        # `clean` moved samples away (or back) after it: the stored report still lists them
        why, rerun = "the dataset was cleaned after its stored report: running validate again", True
    if path.is_file() and not rerun:
        try:
            return Report.read_json(path)
        except FormatError as exc:  # the stored report is only a cache of validate: make it again
            why = f"{exc.path}: {exc.reason.split('; ')[0]}: running validate again"
    from vtonkit.datasets.manifest import agnostic_check_category
    from vtonkit.datasets.validate import validate

    if console is not None:
        console.print(why, markup=False)
    report = validate(dataset_root, category=agnostic_check_category(dataset_root))
    report.write_json(path)
    return report


def _cleaned_since(dataset_root: str | Path, report: Path) -> bool:
    """Whether `vtonkit clean` (or its --undo) ran after `report` was written."""
    from vtonkit.datasets.clean import manifest_path

    cleaned = manifest_path(dataset_root)
    return cleaned.is_file() and cleaned.stat().st_mtime_ns > report.stat().st_mtime_ns


def store_report(report: Report, dataset_root: str | Path, json_out: Path | None = None,
                 parquet_out: Path | None = None) -> Path:
    """Write the report where `review` reads it, plus the optional JSON / Parquet copies (this run's
    alone); returns the JSON path to show (the extra copy when there is one). The stored report keeps
    what an earlier run found in the splits this one did not check (`Report.merged_over`)."""
    path = report_path(dataset_root)
    stored = report
    if path.is_file():
        try:
            older = Report.read_json(path)
        except FormatError:  # a damaged cache of an earlier run: this run replaces it
            older = None
        if older is not None:
            stored = report.merged_over(older)
    stored.write_json(path)
    if json_out:
        report.write_json(json_out)
    if parquet_out:
        report.write_parquet(parquet_out)
    return Path(json_out) if json_out else report_path(dataset_root)


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
        # once each: a sample can hold several findings of one code (both files of a duplicate)
        examples = list(dict.fromkeys(f"{f.split}/{f.sample or f.file}" for f in report.findings
                                      if f.code == code))[:max_examples]
        table.add_row(
            f"[red]{severity}[/]" if severity == "error" else f"[yellow]{severity}[/]",
            code,
            str(count),
            escape(", ".join(examples)),
        )
    console.print(table)
    console.print(f"[red]{len(report.errors)} error(s)[/], [yellow]{len(report.warnings)} warning(s)[/]")
