"""Review rows: one per sample, with its validate findings and its decision; filter and sort.

Shared by the live app (JSON API) and the static report, so both list the same samples in the
same order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vtonkit.datasets.findings import CODES, Finding, Report
from vtonkit.datasets.review.store import Record

SORTS = ("severity", "name", "flags")


@dataclass
class SampleRow:
    split: str
    sample: str
    findings: list[Finding] = field(default_factory=list)
    decision: str = "undecided"
    note: str = ""

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})

    @property
    def chips(self) -> list[tuple[str, str, str]]:
        """(code, severity, first message) once per code, in finding order."""
        seen: dict[str, tuple[str, str, str]] = {}
        for item in self.findings:
            seen.setdefault(item.code, (item.code, item.severity, item.message))
        return list(seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "sample": self.sample,
            "decision": self.decision,
            "note": self.note,
            "errors": self.errors,
            "warnings": self.warnings,
            "codes": self.codes,
            "findings": [asdict(f) for f in self.findings],
        }


def build_rows(report: Report, decisions: dict[tuple[str, str], Record]) -> list[SampleRow]:
    """Every sample of the report (in report order), with findings attached by (split, sample)."""
    rows: dict[tuple[str, str], SampleRow] = {}
    for split in report.splits:
        for stem in report.samples.get(split, []):
            rows[(split, stem)] = SampleRow(split, stem)
    for item in report.findings:
        if item.sample and (item.split, item.sample) in rows:
            rows[(item.split, item.sample)].findings.append(item)
    for key, record in decisions.items():
        if key in rows:
            rows[key].decision, rows[key].note = record.decision, record.note
    return list(rows.values())


def split_level_findings(report: Report) -> list[Finding]:
    """Findings not tied to a listed sample (pair-list lines, cloth-only garments, missing splits)."""
    listed = {(split, stem) for split, stems in report.samples.items() for stem in stems}
    return [f for f in report.findings if (f.split, f.sample) not in listed]


def flag_problem(flag: str) -> str | None:
    """Why `flag` selects nothing by construction (no finding has that code), or None."""
    if flag in ("", "any", "none") or flag in CODES:
        return None
    return f"unknown finding code {flag!r}: use any, none or one of {', '.join(sorted(CODES))}"


def select_rows(
    rows: list[SampleRow], *, flag: str = "", decision: str = "", sort: str = "severity"
) -> list[SampleRow]:
    """Filter by flag code ("any" = any finding, "none" = clean) and decision; sort."""
    if flag == "any":
        rows = [r for r in rows if r.findings]
    elif flag == "none":
        rows = [r for r in rows if not r.findings]
    elif flag:
        rows = [r for r in rows if flag in r.codes]
    if decision:
        rows = [r for r in rows if r.decision == decision]
    if sort == "name":
        return sorted(rows, key=lambda r: (r.split, r.sample))
    if sort == "flags":
        return sorted(rows, key=lambda r: (-len(r.findings), r.split, r.sample))
    return sorted(rows, key=lambda r: (-r.errors, -r.warnings, r.split, r.sample))
