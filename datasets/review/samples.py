"""Review rows: one per sample, with its validate findings and its decision; filter and sort.

A sample is a person (the report's samples, its own garment included) or a garment-only stem (a
crawled garment shot no person wears as its own): validate checks and flags those per garment, and
`clean` quarantines a rejected one with its placeholder copies and pair lines, so they are reviewed
too. Shared by the live app (JSON API) and the static report, so both list the same samples in the
same order.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vtonkit.datasets import layout
from vtonkit.datasets.findings import CODES, Finding, Report
from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest
from vtonkit.datasets.review.safe_paths import MAX_STEM, is_plain_name
from vtonkit.datasets.review.store import Record

from vtonkit.core.errors import FormatError

logger = logging.getLogger(__name__)

SORTS = ("severity", "name", "flags")
PERSON, GARMENT = "person", "garment"


@dataclass(frozen=True)
class Listing:
    """What the review lists beside the report's persons, read once from the dataset: its garment-only
    stems per split, and the placeholder copies `vtonkit pairs` made ((split, person) -> copied-from
    garment, and whether it is the person's own product garment)."""

    garments: dict[str, list[str]] = field(default_factory=dict)
    copies: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)

    @classmethod
    def read(cls, dataset_root: str | Path, report: Report) -> Listing:
        root = Path(dataset_root)
        placeholders = _placeholders(root, report.splits)
        copies = {(split, person): (str(record.get("copied_from", "")), bool(record.get("own")))
                  for split, records in placeholders.items() for person, record in records.items()}
        garments = {split: _garment_stems(root, report, split, set(placeholders.get(split, {})))
                    for split in report.splits if split in layout.SPLITS}
        return cls(garments, copies)


def _placeholders(root: Path, splits: list[str]) -> dict[str, dict[str, dict]]:
    """The manifest's placeholder records per split; none when it is unreadable (validate names it)."""
    try:
        manifest = Manifest.load(root)
    except FormatError as exc:
        logger.warning("%s; its placeholder garments are not captioned as copies", exc)
        return {}
    return {split: dict(manifest.entries(split, PLACEHOLDERS)) for split in splits}


def _garment_stems(root: Path, report: Report, split: str, placeholders: set[str]) -> list[str]:
    """Garments of `split` no person of the report shares a stem with: every `cloth/<stem>.jpg` on
    disk (as validate checks every one) and every stem a finding names beside the persons (a garment
    since gone). A placeholder copy is its person's; a name the app cannot serve is left out
    (validate reports it as `name-unreviewable`)."""
    persons = set(report.samples.get(split, []))
    split_dir = layout.DatasetLayout(root).split(split)
    on_disk = {stem for stem in split_dir.cloth_stems() if split_dir.cloth(stem).is_file()}
    named = {f.sample for f in report.findings if f.split == split and f.sample}
    return sorted(stem for stem in on_disk | named
                  if stem not in persons and stem not in placeholders and is_plain_name(stem, MAX_STEM))


@dataclass
class SampleRow:
    split: str
    sample: str
    findings: list[Finding] = field(default_factory=list)
    decision: str = "undecided"
    note: str = ""
    kind: str = PERSON  # or GARMENT: a garment-only stem, shown as its cloth and cloth mask
    copy_of: str = ""  # the garment its cloth/ file is a placeholder copy of
    own_copy: bool = False  # ... of the person's own product garment (so still its garment)

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

    @property
    def tile_notes(self) -> dict[str, str]:
        """Tile kind -> what a caption adds: a placeholder garment is a copy, not this person's shot."""
        if not self.copy_of:
            return {}
        what = "own garment" if self.own_copy else "placeholder"
        return {kind: f"{what}: copy of {self.copy_of}" for kind in ("cloth", "cloth-mask")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "sample": self.sample,
            "kind": self.kind,
            "tile_notes": self.tile_notes,
            "decision": self.decision,
            "note": self.note,
            "errors": self.errors,
            "warnings": self.warnings,
            "codes": self.codes,
            "findings": [asdict(f) for f in self.findings],
        }


def build_rows(report: Report, decisions: dict[tuple[str, str], Record],
               listing: Listing | None = None) -> list[SampleRow]:
    """Every sample of the report (in report order), then the listing's garments, with findings
    attached by (split, sample)."""
    listing = listing or Listing()
    rows: dict[tuple[str, str], SampleRow] = {}
    for split in report.splits:
        for stem in report.samples.get(split, []):
            copy_of, own = listing.copies.get((split, stem), ("", False))
            rows[(split, stem)] = SampleRow(split, stem, copy_of=copy_of, own_copy=own)
    for split, stems in listing.garments.items():
        for stem in stems:
            rows.setdefault((split, stem), SampleRow(split, stem, kind=GARMENT))
    for item in report.findings:
        if item.sample and (item.split, item.sample) in rows:
            rows[(item.split, item.sample)].findings.append(item)
    for key, record in decisions.items():
        if key in rows:
            rows[key].decision, rows[key].note = record.decision, record.note
    return list(rows.values())


def reviewable(report: Report, listing: Listing | None = None) -> set[tuple[str, str]]:
    """(split, sample) of every sample the review lists: the report's persons and the listing's garments."""
    listed = {(split, stem) for split, stems in report.samples.items() for stem in stems}
    return listed | {(split, stem) for split, stems in (listing or Listing()).garments.items() for stem in stems}


def split_level_findings(report: Report, listing: Listing | None = None) -> list[Finding]:
    """Findings not tied to a listed sample (pair-list lines, unreviewable names, missing splits)."""
    listed = reviewable(report, listing)
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
