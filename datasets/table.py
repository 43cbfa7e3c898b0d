"""A Parquet view of a dataset: one row per person sample, for pandas, Arrow and Hugging Face `datasets`.

Columns: split, sample, category, the relative path of every layout file (empty when missing),
image width and height (0 and the reason in `image_problem` when the photo cannot be read), the `vtonkit validate` findings of the sample (error and warning counts
and the codes, from `.vtonkit/validate.json` when it exists), the review decision and note (from
`.vtonkit/review.sqlite`), and where the photo and garment came from: source file, source URL,
store, product id and licence from the manifest (which carries the crawl catalog's fields).
Plain strings and integers only, so every Parquet reader opens it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from vtonkit.datasets import layout
from vtonkit.datasets.dataset_paths import report_path
from vtonkit.datasets.findings import Finding, Report
from vtonkit.datasets.io.files import atomic_write
from vtonkit.datasets.io.images import open_image
from vtonkit.datasets.manifest import CLOTHS, PERSONS, Manifest
from vtonkit.datasets.review.store import DecisionStore, db_path

from vtonkit.core.errors import InputError

PATH_COLUMNS = tuple(f"path_{folder.replace('-', '_').replace('.', '_')}" for folder in layout.ALL_FOLDERS)


def _findings(dataset: Path) -> tuple[dict[tuple[str, str], list[Finding]], set[tuple[str, str]]]:
    """The stored validate report's findings by sample, and the samples it checked."""
    path = report_path(dataset)
    if not path.is_file():
        return {}, set()
    report = Report.read_json(path)
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for item in report.findings:
        grouped.setdefault((item.split, item.sample), []).append(item)
    return grouped, {(split, stem) for split, stems in report.samples.items() for stem in stems}


def _image_size(path: Path) -> tuple[int, int, str]:
    """(width, height, problem) of the person photo; an unreadable one is (0, 0, the reason), so
    one bad photo is a row that says so instead of a table that is not written."""
    try:
        with open_image(path) as image:
            return image.width, image.height, ""
    except InputError as exc:
        return 0, 0, exc.reason


def _source_url(record: dict[str, Any]) -> str:
    return str(record.get("source_url") or record.get("page_url") or record.get("image_url") or "")


def dataset_rows(dataset: str | Path) -> list[dict[str, Any]]:
    """One dict per person sample (see the module docstring for the columns)."""
    dataset = Path(dataset)
    data = layout.DatasetLayout(dataset)
    if not any(data.split(split).root.is_dir() for split in layout.SPLITS):  # else "0 rows", as if empty
        raise InputError(dataset, f"not a dataset: no {' or '.join(f'{s}/' for s in layout.SPLITS)} folder "
                                  "(give the dataset root that vtonkit prep or import made)")
    manifest = Manifest.load(dataset)
    findings, checked = _findings(dataset)
    decisions = DecisionStore(dataset).all() if db_path(dataset).is_file() else {}
    rows = []
    for split in layout.SPLITS:
        split_dir = data.split(split)
        for stem in split_dir.person_stems():
            person = manifest.entries(split, PERSONS).get(stem, {})
            cloth = manifest.entries(split, CLOTHS).get(stem, {})
            files = {**split_dir.person_files(stem), **split_dir.cloth_files(stem)}
            width, height, image_problem = _image_size(split_dir.image(stem))
            found = findings.get((split, stem), [])
            decision = decisions.get((split, stem))
            row: dict[str, Any] = {"split": split, "sample": stem, "category": str(person.get("category", ""))}
            for column, folder in zip(PATH_COLUMNS, layout.ALL_FOLDERS):
                row[column] = str(files[folder].relative_to(dataset)) if files[folder].is_file() else ""
            row.update({
                "width": width, "height": height, "image_problem": image_problem,
                "validated": (split, stem) in checked,
                "errors": sum(1 for f in found if f.severity == "error"),
                "warnings": sum(1 for f in found if f.severity == "warning"),
                "finding_codes": ",".join(sorted({f.code for f in found})),
                # never decided and set back to undecided read the same (a note alone made "undecided")
                "review_decision": decision.decision if decision else "undecided",
                "review_note": decision.note if decision else "",
                "person_source": str(person.get("source", "")),
                "person_source_url": _source_url(person),
                "person_licence": str(person.get("licence", "")),
                "cloth_source": str(cloth.get("source", "")),
                "cloth_source_url": _source_url(cloth),
                "cloth_store": str(cloth.get("store", "") or ""),
                "cloth_product_id": str(cloth.get("product_id", "") or ""),
                "cloth_licence": str(cloth.get("licence", "")),
            })
            rows.append(row)
    return rows


def write_table(dataset: str | Path, out: str | Path) -> int:
    """Write the dataset's Parquet view to `out` (atomically); returns the number of rows."""
    import pandas as pd

    frame = pd.DataFrame(dataset_rows(dataset))
    with atomic_write(out, "wb") as handle:
        frame.to_parquet(handle, index=False)
    return len(frame)
