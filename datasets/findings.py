"""Validation findings and the report that collects them (JSON, Parquet, counts).

A finding is one problem with one file of one sample: `severity` ("error" breaks training or
inference, "warning" is a quality flag for a human to look at), a stable machine `code`
(`missing-file`, `wrong-size`, ...), the split, the sample stem, the file and a message.
The report also records which checks ran on which sample, so the table can say "ok" too.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vtonkit.datasets.io.files import atomic_write, atomic_write_json

from vtonkit.core.errors import FormatError

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

REPORT_VERSION = 1

# Every code `validate` can emit, with its check family and default severity (the docs table).
CODES: dict[str, tuple[str, Severity, str]] = {
    "missing-file": ("completeness", ERROR, "a file a pair needs does not exist"),
    "missing-split": ("completeness", ERROR, "the split folder or its pair list is missing"),
    "wrong-size": ("format", ERROR, "image is not 1024 (H) x 768 (W)"),
    "wrong-file-type": ("format", ERROR, "content is not the JPEG/PNG the name says, or unreadable"),
    "wrong-mode": (
        "format",
        ERROR,
        "image mode the official loader cannot use (RGBA skeleton, RGB parse, ...)",
    ),
    "exif-orientation": ("format", WARNING, "an image with an EXIF orientation tag of 2-8: viewers and OpenCV "
                         "turn it, the loaders (PIL) do not"),
    "multi-frame": ("format", WARNING, "an animated or multi-page image: the loaders read its first frame only"),
    "parse-ids-out-of-range": ("parse", ERROR, "parse map has label ids >= 20"),
    "parse-labels-missing": ("parse", ERROR, "parse map lacks a face or any garment label"),
    "keypoints-not-body25": ("keypoints", ERROR, "openpose_json is not BODY_25 (COCO-18, other model)"),
    "keypoints-invalid": ("keypoints", ERROR, "openpose_json unreadable, empty or without a person"),
    "mask-not-binary": ("masks", ERROR, "mask has many grey pixels beyond JPEG edge noise"),
    "mask-empty": ("masks", ERROR, "mask is empty"),
    "agnostic-mismatch": ("agnostic", ERROR, "stored agnostic files disagree with parse + pose"),
    "agnostic-unchecked": ("agnostic", WARNING, "the agnostic recipe cannot run on this pose (joints missing or "
                           "on one point): the stored agnostic files were not checked"),
    "pair-list-invalid": ("pairs", ERROR, "pair list line is not two plain file names (blank line, 3 fields, a "
                          "folder in a name, a byte-order mark)"),
    "name-not-jpg": ("completeness", WARNING, "a file in image/ or cloth/ that is no <stem>.jpg (.JPG, .jpeg, .png): "
                     "no loader reads it, so it is no sample"),
    "name-unlistable": ("pairs", WARNING, "a person photo or garment whose name cannot stand in a pair list "
                        "(whitespace, '.jpg' inside it): no pair list can name it"),
    "name-unreviewable": ("pairs", WARNING, "a person photo or garment whose name holds a symbol (+ & ' \" ...): "
                          "pair lists take it, the review app does not"),
    "name-not-utf8": ("pairs", ERROR, "a person photo or garment whose file name is not UTF-8: no pair list can name it"),
    "pair-list-empty": ("pairs", WARNING, "the pair list names no pair: the split gives nothing to train or test"),
    "pair-duplicate": ("pairs", WARNING, "the same pair line appears more than once"),
    "pair-missing-person": ("pairs", ERROR, "pair names a person with no image"),
    "pair-missing-cloth": ("pairs", ERROR, "pair names a cloth with no file"),
    "leakage": ("leakage", ERROR, "same person or garment in train and test (name or image hash)"),
    "duplicate": ("duplicates", WARNING, "exact or near-duplicate image within a split"),
    "pose-low-confidence": ("quality", WARNING, "torso keypoints missing or low confidence"),
    "several-persons": ("quality", WARNING, "openpose_json has more than one person"),
    "person-too-small": ("quality", WARNING, "person occupies a small part of the frame"),
    "person-cut-off": ("quality", WARNING, "a side of the frame cuts the face or an arm, or a shoulder lies outside it"),
    "legs-cut-off": ("quality", WARNING, "a lower-body or dress sample whose knees or ankles are not in the photo"),
    "worn-garment-not-category": ("quality", WARNING, "the person wears no garment of the category checked "
                                  "(a dress in a lower-body set, trousers in a dress set)"),
    "mask-area": ("quality", WARNING, "cloth mask covers too little or too much of the image"),
    "mask-components": ("quality", WARNING, "cloth mask is split into several large pieces"),
    "mask-holes": ("quality", WARNING, "cloth mask has large holes"),
    "mask-mismatch": ("quality", WARNING, "cloth mask does not follow the garment's outline (another garment's mask?)"),
    "arm-labels-swapped": ("quality", WARNING, "left/right arm labels disagree with the pose"),
    "blurry": ("quality", WARNING, "person image is blurred (low variance of Laplacian)"),
    "cloth-background": ("quality", WARNING, "garment is not on a plain light background"),
    # Pre-flight checks (vtonkit.preprocess.preflight; prep reports them per file too).
    "person-side-view": ("preflight", WARNING, "shoulders seen edge-on: the person stands sideways"),
    "person-back-view": ("preflight", WARNING, "no face, or the right shoulder on the image's right"),
    "person-sitting": ("preflight", WARNING, "a knee level with its hip or above it: the person sits or crouches"),
    "arms-hide-garment": ("preflight", WARNING, "arms cover a large part of the torso"),
    "person-underexposed": ("preflight", WARNING, "the person photo is dark (its highlights stay below 180 of 255)"),
    "person-greyscale": ("preflight", WARNING, "a black-and-white person photo (the embedded parser reads colour)"),
    "pose-joint-doubtful": ("preflight", WARNING, "an elbow, wrist or hip lies off the parsed person"),
    "cloth-not-centred": ("preflight", WARNING, "garment far from the centre of the shot"),
    "cloth-hanger": ("preflight", WARNING, "a hanger, hook or loop shows above the garment"),
    "cloth-folded": ("preflight", WARNING, "garment shot folded (compact, nearly rectangular silhouette)"),
}


@dataclass(frozen=True)
class Finding:
    """One problem. `sample` is a stem ("00006_00") or "" for split-level findings (pair list)."""

    severity: Severity
    code: str
    split: str
    sample: str
    file: str
    message: str
    check: str = ""

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(_unknown_code(self.code))
        if not self.check:
            object.__setattr__(self, "check", CODES[self.code][0])


def finding(
    code: str, split: str, sample: str, file: str | Path, message: str, severity: Severity | None = None
) -> Finding:
    """Build a finding with the code's default severity."""
    if code not in CODES:
        raise ValueError(_unknown_code(code))
    return Finding(severity or CODES[code][1], code, split, sample, str(file), message)


def _unknown_code(code: str) -> str:
    return (f"unknown finding code {code!r}: a new check adds its code to CODES in datasets/findings.py "
            "(check family, default severity, one line) and a row to the table of docs/validation.md")


@dataclass
class Report:
    """All findings of one `validate` run plus the (split, sample, check) triples that ran."""

    dataset: str
    splits: list[str]
    findings: list[Finding] = field(default_factory=list)
    checks_run: set[tuple[str, str, str]] = field(default_factory=set)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, item: Finding) -> None:
        self.findings.append(item)
        self.checks_run.add((item.split, item.sample, item.check))

    def ran(self, split: str, sample: str, check: str) -> None:
        self.checks_run.add((split, sample, check))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def counts(self) -> dict[str, int]:
        """Findings per code, most frequent first."""
        return dict(Counter(f.code for f in self.findings).most_common())

    def for_sample(self, split: str, sample: str) -> list[Finding]:
        return [f for f in self.findings if f.split == split and f.sample == sample]

    def exit_code(self, strict: bool = False) -> int:
        """1 on errors (or on warnings with `strict`), else 0."""
        return 1 if self.errors or (strict and self.warnings) else 0

    def merged_over(self, older: Report) -> Report:
        """This report plus `older`'s findings, checks and samples of the splits this run did not
        check: a stored report kept whole by `validate --split train` must not lose the test split."""
        kept = [split for split in older.splits if split not in self.splits]
        return Report(self.dataset, [*self.splits, *kept],
                      findings=self.findings + [f for f in older.findings if f.split in kept],
                      checks_run=self.checks_run | {check for check in older.checks_run if check[0] in kept},
                      samples={**{split: older.samples[split] for split in kept if split in older.samples},
                               **self.samples})

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "dataset": self.dataset,
            "splits": self.splits,
            "samples": self.samples,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings), "codes": self.counts()},
            "findings": [asdict(f) for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(dataset=data["dataset"], splits=list(data["splits"]), samples=data.get("samples", {}))
        for item in data["findings"]:
            report.add(Finding(**item))
        return report

    def write_json(self, path: str | Path) -> None:
        atomic_write_json(path, self.to_dict(), indent=1)

    @classmethod
    def read_json(cls, path: str | Path) -> Report:
        """A report `write_json` wrote; anything else (damaged, cut short, hand-edited) is a `FormatError`
        naming the file."""
        path = Path(path)
        try:
            report = cls.from_dict(json.loads(path.read_bytes().decode("utf-8")))
            if not all(isinstance(stems, list) and all(isinstance(s, str) for s in stems)
                       for stems in report.samples.values()):
                raise ValueError("'samples' is not a list of sample names per split")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FormatError(path, f"unreadable validate report ({type(exc).__name__}: {exc}); "
                              "run `vtonkit validate` again to rewrite it") from None
        return report

    def table_rows(self) -> list[dict[str, str]]:
        """One row per (split, sample, check): a row per finding, or one `ok` row when none."""
        rows: list[dict[str, str]] = []
        by_key: dict[tuple[str, str, str], list[Finding]] = {}
        for item in self.findings:
            by_key.setdefault((item.split, item.sample, item.check), []).append(item)
        for key in sorted(self.checks_run | set(by_key)):
            split, sample, check = key
            for item in by_key.get(key, []):
                rows.append(
                    {
                        "split": split,
                        "sample": sample,
                        "check": check,
                        "status": item.severity,
                        "code": item.code,
                        "file": item.file,
                        "message": item.message,
                    }
                )
            if key not in by_key:
                rows.append(
                    {
                        "split": split,
                        "sample": sample,
                        "check": check,
                        "status": "ok",
                        "code": "",
                        "file": "",
                        "message": "",
                    }
                )
        return rows

    def write_parquet(self, path: str | Path) -> None:
        import pandas as pd

        frame = pd.DataFrame(
            self.table_rows(), columns=["split", "sample", "check", "status", "code", "file", "message"]
        )
        with atomic_write(path, "wb") as handle:
            frame.to_parquet(handle, index=False)
