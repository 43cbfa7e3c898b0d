"""`vtonkit review --static OUT.html`: the review grids as one self-contained HTML file.

Thumbnails are inlined as base64 JPEG and the style sheet is embedded, so the file opens
offline, from an e-mail or a shared drive, with no server. Decisions are shown read-only.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import jinja2
from vtonkit.datasets import layout
from vtonkit.datasets.findings import Report
from vtonkit.datasets.io.files import atomic_write_text
from vtonkit.datasets.review.samples import Listing, build_rows, select_rows, split_level_findings
from vtonkit.datasets.review.store import DecisionStore
from vtonkit.datasets.review.tiles import tile_jpeg, tile_kinds

STATIC_DIR = Path(__file__).parent / "static"


def render_static_report(
    dataset_root: str | Path,
    report: Report,
    *,
    thumb_height: int = 192,
    flag: str = "",
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The report HTML (str). `flag` keeps samples with that code ("any" = any flag); `limit`
    keeps the first samples in review order (errors first), since each costs ~40 KB of HTML."""
    root = Path(dataset_root).resolve()
    data = layout.DatasetLayout(root)
    listing = Listing.read(root, report)
    rows = select_rows(build_rows(report, DecisionStore(root).all(), listing), flag=flag)
    total = len(rows)
    rows = rows[:limit] if limit else rows
    tiles: dict[tuple[str, str, str], str] = {}
    for done, row in enumerate(rows, start=1):
        for kind, _ in tile_kinds(row.kind):
            jpeg = tile_jpeg(data.split(row.split), row.sample, kind, thumb_height, quality=75)
            tiles[(row.split, row.sample, kind)] = base64.b64encode(jpeg).decode("ascii")
        if progress is not None:
            progress(done, len(rows))
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(STATIC_DIR), autoescape=True)
    counts: dict[str, int] = {}
    for row in rows:
        for code in row.codes:
            counts[code] = counts.get(code, 0) + 1
    return environment.get_template("report_template.html").render(
        dataset=root.name,
        rows=rows,
        total=total,
        tile_kinds=tile_kinds,
        tiles=tiles,
        css=(STATIC_DIR / "app.css").read_text(encoding="utf-8"),
        flag_counts=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
        n_errors=sum(r.errors for r in rows),
        n_warnings=sum(r.warnings for r in rows),
        n_garments=sum(r.kind == "garment" for r in rows),
        other=split_level_findings(report, listing),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_static_report(
    dataset_root: str | Path,
    report: Report,
    out: str | Path,
    *,
    thumb_height: int = 192,
    flag: str = "",
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the report atomically; returns the number of samples in it."""
    html = render_static_report(
        dataset_root, report, thumb_height=thumb_height, flag=flag, limit=limit, progress=progress
    )
    atomic_write_text(out, html)
    return html.count('<section class="card')
