"""The evaluation report: JSON (every number with its protocol, counts, versions, skipped items)
and a small self-contained HTML page with the worst-scoring pairs side by side."""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import asdict
from pathlib import Path

from PIL import Image
from vtonkit.datasets.io.files import atomic_write_text
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.layout import SplitDir
from vtonkit.vton_infer.evaluation.runner import EvaluationResult, PairScore

THUMB_HEIGHT = 256
WORST_PAIRS = 12


def report_dict(result: EvaluationResult) -> dict:
    """The JSON-ready report."""
    data = {
        "protocol": result.protocol.to_dict(),
        "pred_dir": result.pred_dir, "dataset": result.dataset, "split": result.split,
        "counts": result.counts,
        "paired": result.means,
        "paired_divided_by_gt_count": result.official_averages,
        "fid": result.fid,
        "kid": None if result.kid is None else {**asdict(result.kid), "scale": result.protocol.kid_scale},
        "not_computed": result.not_computed,
        "settings": result.settings, "weights": result.weights, "versions": result.versions,
        "skipped": [asdict(s) for s in result.skipped],
        "pairs": [asdict(p) for p in result.pairs],
    }
    return data


def worst_pairs(result: EvaluationResult, limit: int = WORST_PAIRS) -> list[PairScore]:
    """Highest LPIPS first when LPIPS was computed, else lowest SSIM first."""
    if any(p.lpips is not None for p in result.pairs):
        return sorted(result.pairs, key=lambda p: -(p.lpips or 0.0))[:limit]
    return sorted(result.pairs, key=lambda p: p.ssim)[:limit]


def _thumbnail(path: Path) -> str:
    image = Image.fromarray(read_rgb(path))
    image.thumbnail((THUMB_HEIGHT * 4, THUMB_HEIGHT))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report_html(result: EvaluationResult) -> str:
    """A self-contained page: headline numbers, protocol, worst pairs (ground truth | prediction)."""
    p = result.protocol
    rows = []
    split = SplitDir(Path(result.dataset) / result.split)
    for pair in worst_pairs(result):
        rows.append(
            f"<tr><td>{html.escape(pair.name)}</td>"
            f"<td><img src='{_thumbnail(split.image(pair.person))}'></td>"
            f"<td><img src='{_thumbnail(Path(result.pred_dir) / pair.name)}'></td>"
            f"<td>SSIM {_number(pair.ssim)}<br>PSNR {_number(pair.psnr, 2)}<br>LPIPS {_number(pair.lpips)}</td></tr>"
        )
    headline = ", ".join(f"{k} {_number(v)}" for k, v in result.means.items())
    kid = "-" if result.kid is None else f"{result.kid.mean:.3f} &plusmn; {result.kid.std:.3f} (x{p.kid_scale:g})"
    skipped = "".join(f"<li>{html.escape(s.name)} ({s.metrics}): {html.escape(s.reason)}</li>" for s in result.skipped)
    missing = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in result.not_computed.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>vtonkit evaluation ({html.escape(p.name)})</title>
<style>body{{font-family:sans-serif;margin:1.5em}}td{{padding:4px;vertical-align:top}}img{{height:{THUMB_HEIGHT}px}}</style>
</head><body>
<h1>Evaluation: protocol {html.escape(p.name)}</h1>
<p>{html.escape(p.summary)}. {html.escape(p.library)}. Resolution {p.resolution[1]}x{p.resolution[0]} (WxH).</p>
<p>Predictions: {html.escape(result.pred_dir)}; ground truth: {html.escape(result.dataset)}/{html.escape(result.split)}.
Counts: {html.escape(json.dumps(result.counts))}.</p>
<p><b>Paired means</b>: {headline or '-'}<br><b>FID</b>: {_number(result.fid, 3)} &nbsp; <b>KID</b>: {kid}</p>
<h2>Worst pairs (ground truth | prediction)</h2>
<table>{''.join(rows)}</table>
<h2>Not computed</h2><ul>{missing or '<li>none</li>'}</ul>
<h2>Skipped</h2><ul>{skipped or '<li>none</li>'}</ul>
</body></html>
"""


def report_paths(path: Path) -> tuple[Path, Path]:
    """(the JSON report `path`, its HTML page: same name, .html); `ValueError` when both would be one file."""
    path = Path(path)
    if path.suffix.lower() == ".html":
        raise ValueError(f"{path} names the JSON report, and its HTML page is written next to it as <name>.html: "
                         f"the page would replace the JSON; give a .json name such as {path.with_suffix('.json')}")
    return path, path.with_suffix(".html")


def write_report(result: EvaluationResult, path: Path) -> tuple[Path, Path]:
    """Write `path` (JSON) and the HTML page next to it (same name, .html); returns both paths."""
    path, html_path = report_paths(path)
    atomic_write_text(path, json.dumps(report_dict(result), indent=2, allow_nan=False) + "\n")
    atomic_write_text(html_path, report_html(result))
    return path, html_path
