"""Catalog preview sheets: one garment on several persons, or one person in several garments.

A sheet is written twice: a PNG contact sheet and a self-contained HTML page (images embedded as
data URIs, no external files), both captioned with the method (the warp method is marked as a
non-learned BASELINE).
"""
from __future__ import annotations

import base64
import html
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from vtonkit.datasets.io.files import atomic_write_text
from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest, placeholder_stems
from vtonkit.datasets.layout import SplitDir
from vtonkit.datasets.pairs import name_problem
from vtonkit.vton_infer.grids import caption_font, fitted_caption

logger = logging.getLogger(__name__)

THUMB_SIZE = (192, 256)  # (W, H) of a PNG-sheet tile
HTML_SIZE = (384, 512)
CAPTION = 30
LINE = 16  # each further line of a wrapped PNG title
WEIGHTS_META = "vtonkit-weights"  # the HTML sheet's record of the checkpoints it was made with


@dataclass
class SheetTile:
    """One captioned image of a sheet, kept as what the sheet shows of it (not the full image: a
    catalog sheet holds thousands of tiles until it is drawn)."""

    caption: str
    thumb: np.ndarray  # (H, W, 3) uint8 at THUMB_SIZE, for the PNG sheet
    uri: str  # HTML_SIZE JPEG data URI, for the HTML page

    @classmethod
    def of(cls, caption: str, rgb: np.ndarray) -> SheetTile:
        """The tile of an (H, W, 3) uint8 image."""
        return cls(caption, np.asarray(_thumbnail(rgb, THUMB_SIZE)), _data_uri(rgb))


def sheet_pairs(split: SplitDir, *, garment: str | None = None, persons: list[str] | None = None,
                person: str | None = None, garments: list[str] | None = None, limit: int = 8) -> list[tuple[str, str]]:
    """The (person, cloth) stems of a sheet: `garment` x `persons`, or `person` x `garments`.

    Missing lists default to the split's persons (resp. garments), at most `limit`, excluding the
    anchor itself; default garments also exclude the placeholder own-garments `vtonkit pairs` recorded
    in the manifest (copies of other garments, named after their person).
    """
    if (garment is None) == (person is None):
        raise ValueError("give exactly one of garment (one garment on several persons) or person")
    for stem in [s for s in (garment, person, *(persons or []), *(garments or [])) if s is not None]:
        # a stem is what a pair list names (plus .jpg): no folder, so nothing outside the split is read
        problem = "empty name" if not stem else name_problem(f"{stem}.jpg")
        if problem is not None:
            raise ValueError(f"not a sample name: {problem}")
    # a name that is not there was one "file not found" per pair, then "every try-on failed"
    placeholders = placeholder_stems(split.root.parent, split.root.name)
    offered = [g for g in split.cloth_stems() if g not in placeholders]
    _check_not_placeholder(split, [garment, *(garments or [])], placeholders)
    _check_present(split, "garment", [garment, *(garments or [])], offered)
    _check_present(split, "person", [person, *(persons or [])], split.person_stems())
    if garment is not None:
        chosen = persons or [p for p in split.person_stems() if p != garment][:limit]
        return [(p, garment) for p in chosen]
    chosen = garments or [g for g in offered if g != person][:limit]
    return [(person, g) for g in chosen]


def _check_not_placeholder(split: SplitDir, names: list[str | None], placeholders: set[str]) -> None:
    """A placeholder is a copy of another garment under a person's name (`vtonkit pairs`): no garment
    of its own, never offered as one; the sheet of the garment it copies is what was meant."""
    copies = [n for n in names if n is not None and n in placeholders]
    if copies:
        records = Manifest.load(split.root.parent).entries(split.root.name, PLACEHOLDERS)
        said = ", ".join(f"{n!r} (a copy of {records.get(n, {}).get('copied_from', 'another garment')!r})"
                         for n in copies)
        raise ValueError(f"{said} in {split.root / 'cloth'}: a placeholder copy `vtonkit pairs` made for its person, "
                         "not a garment of its own; give the garment it copies")


def sample_stem(name: str | None) -> str | None:
    """A sample's stem from what a user types: the stem, or its file name (`00008_00.jpg` was refused
    as '00008_00.jpg.jpg')."""
    return name.removesuffix(".jpg") if name is not None else None


def _check_present(split: SplitDir, kind: str, names: list[str | None], present: list[str]) -> None:
    there = set(present)
    missing = [n for n in names if n is not None and n not in there]
    if missing:
        folder = "cloth" if kind == "garment" else "image"
        examples = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "") if present else "none"
        raise ValueError(f"no {kind} {', '.join(map(repr, missing))} in {split.root / folder} "
                         f"({len(present)} there: {examples})")


def sheet_name_problem(name: str) -> str | None:
    """Why `name` cannot be a sheet's file name inside the output folder, or None."""
    if not name.strip() or name.startswith(".") or any(c in name for c in "/\\\0"):
        return f"sheet name {name!r}: give a plain file name (no folder, not hidden); it is written inside --out"
    return None


def _thumbnail(rgb: np.ndarray, size: tuple[int, int]) -> Image.Image:
    image = Image.fromarray(rgb)
    image.thumbnail(size, Image.LANCZOS)
    canvas = Image.new("RGB", size, "white")
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas


def _title_lines(title: str, width: int) -> list[str]:
    """`title` broken at spaces into lines that fit `width` pixels (a word longer than a line stays whole)."""
    font = caption_font(text=title)
    lines: list[str] = []
    for word in title.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def render_png(title: str, tiles: list[SheetTile], columns: int = 5) -> np.ndarray:
    """The contact sheet: the title, then tiles in rows of at most `columns`, each captioned: (H, W, 3) uint8.

    As wide as its cells (3 tiles were drawn on a 5-tile canvas, its right part empty); the title
    wraps onto more lines where it is wider."""
    width, height = THUMB_SIZE
    columns = max(1, min(columns, len(tiles)))
    rows = (len(tiles) + columns - 1) // columns
    lines = _title_lines(title, columns * width - 12)
    top = CAPTION + (len(lines) - 1) * LINE
    canvas = Image.new("RGB", (columns * width, top + rows * (height + CAPTION)), "white")
    draw = ImageDraw.Draw(canvas)
    for number, line in enumerate(lines):
        draw.text((6, 10 + number * LINE), line, fill=(0, 0, 0), font=caption_font(text=line))
    for i, tile in enumerate(tiles):
        x, y = (i % columns) * width, top + (i // columns) * (height + CAPTION)
        caption = fitted_caption(tile.caption, width - 8)
        draw.text((x + 4, y + 10), caption, fill=(0, 0, 0), font=caption_font(text=caption))
        canvas.paste(Image.fromarray(tile.thumb), (x, y + CAPTION))
    return np.asarray(canvas)


def _data_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    _thumbnail(rgb, HTML_SIZE).save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass(frozen=True)
class SheetWeights:
    """The checkpoints a sheet was made with, as (option, path, content id); none for the warp baseline."""

    files: tuple[tuple[str, Path, str], ...] = ()

    @classmethod
    def of(cls, checkpoints: dict[str, Path | None]) -> SheetWeights:
        """`{option: path}` of the checkpoints given, read for their content ids (as a training run records them)."""
        from vtonkit.vton_infer.train.run_files import content_id

        return cls(tuple((option, Path(path), content_id(Path(path)))
                         for option, path in checkpoints.items() if path is not None))

    @property
    def key(self) -> str:
        """What tells two sheets' weights apart: the content ids (a moved file is the same network)."""
        return " ".join(f"{option} {identity}" for option, _, identity in self.files) or "none"

    def describe(self) -> str:
        return ", ".join(f"{option} {path} ({identity})" for option, path, identity in self.files) or "no checkpoints"


def recorded_weights(html_path: Path) -> str | None:
    """The weights key an HTML sheet records, or None (no such file, or a sheet of an older version)."""
    try:
        text = html_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(rf'<meta name="{WEIGHTS_META}" content="([^"]*)">', text)
    return html.unescape(found.group(1)) if found else None


def other_weights_problem(out_dir: Path, name: str, weights: SheetWeights) -> str | None:
    """Why the sheet `name` in `out_dir` must not be replaced: it was made with other checkpoints (as
    `vtonkit infer` refuses to mix settings in one folder); None when it is not there or the same."""
    html_path = Path(out_dir) / f"{name}.html"
    recorded = recorded_weights(html_path)
    if recorded is None or recorded == weights.key:
        return None
    return (f"{html_path}: this sheet was made with other checkpoints ({recorded}), not {weights.key}; give the "
            "new one another --name or --out to compare them, or remove this sheet to replace it")


def _shown_tiles(html_path: Path) -> tuple[set[str], str | None]:
    """The try-on stems an HTML sheet shows (its figure captions) and the weights key it records."""
    try:
        text = html_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set(), None
    found = re.search(rf'<meta name="{WEIGHTS_META}" content="([^"]*)">', text)
    captions = {html.unescape(c) for c in re.findall(r"<figcaption>([^<]*)</figcaption>", text)}
    return captions, html.unescape(found.group(1)) if found else None


def _tile_method(path: Path) -> str | None:
    """The method label a try-on PNG records (`vtonkit-method`), or None (unreadable, not recorded)."""
    try:
        with Image.open(path) as image:
            method = image.info.get("vtonkit-method")
    except (OSError, ValueError):
        return None
    return method if isinstance(method, str) else None


def other_tiles_problem(out_dir: Path, stems: list[str], method_label: str, weights: SheetWeights) -> str | None:
    """Why the try-ons `stems` must not be written into `out_dir`: one of them is there already, shown
    by another sheet made with another method or other checkpoints, which it would silently replace
    (sheets of one folder share their try-on files); None when nothing there would change."""
    out_dir = Path(out_dir)
    present = [stem for stem in stems if (out_dir / f"{stem}.png").is_file()]
    if not present:
        return None
    sheets = {path: _shown_tiles(path) for path in sorted(out_dir.glob("*.html"))}
    for stem in present:
        tile = out_dir / f"{stem}.png"
        method = _tile_method(tile)
        for sheet, (captions, recorded) in sheets.items():
            if stem not in captions:
                continue
            differs = []
            if method is not None and method != method_label:
                differs.append(f"method {method}, not {method_label}")
            if recorded is not None and recorded != weights.key:
                differs.append(f"checkpoints {recorded}, not {weights.key}")
            if differs:
                return (f"{tile} is a try-on of the sheet {sheet}, made with other settings ({'; '.join(differs)}): "
                        "this sheet would replace it; give this sheet another --out")
    return None


def render_html(title: str, tiles: list[SheetTile], note: str, weights: SheetWeights | None = None) -> str:
    """A self-contained HTML page (inline CSS, images as data URIs); with `weights`, a footer naming
    the checkpoints and their content ids (and a meta tag that `recorded_weights` reads back)."""
    meta, footer = "", ""
    if weights is not None:
        meta = f'<meta name="{WEIGHTS_META}" content="{html.escape(weights.key)}">\n'
        footer = f'<footer class="weights">Made with {html.escape(weights.describe())}.</footer>\n'
    figures = "\n".join(
        f'<figure><img src="{t.uri}" alt="{html.escape(t.caption)}">'
        f"<figcaption>{html.escape(t.caption)}</figcaption></figure>"
        for t in tiles
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
{meta}<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
.note {{ color: #a00; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
figure {{ margin: 0; width: 192px; }}
img {{ width: 192px; height: 256px; object-fit: contain; background: #fff; border: 1px solid #ddd; }}
figcaption {{ font-size: 0.8rem; word-break: break-all; }}
footer {{ margin-top: 1.5rem; font-size: 0.8rem; color: #666; word-break: break-all; }}
</style></head>
<body><h1>{html.escape(title)}</h1><p class="note">{html.escape(note)}</p>
<div class="grid">
{figures}
</div>
{footer}</body></html>
"""


def write_sheet(out_dir: Path, name: str, title: str, tiles: list[SheetTile], note: str,
                weights: SheetWeights | None = None) -> tuple[Path, Path]:
    """Write `<out_dir>/<name>.png` and `<out_dir>/<name>.html`; returns both paths."""
    from vtonkit.datasets.io.images import write_png

    out_dir = Path(out_dir)
    png_path, html_path = out_dir / f"{name}.png", out_dir / f"{name}.html"
    write_png(png_path, render_png(f"{title} - {note}", tiles))
    atomic_write_text(html_path, render_html(title, tiles, note, weights))
    return png_path, html_path


def sheet_file_name(garment: str | None, person: str | None, name: str | None = None) -> str:
    """The sheet's file name without suffix: `name`, else garment_<id> or person_<id>."""
    return name or (f"garment_{garment}" if garment else f"person_{person}")


def write_tryon_sheet(split: SplitDir, tryons: list[Path], out_dir: Path, method_label: str, *, baseline: bool,
                      garment: str | None = None, person: str | None = None, name: str | None = None,
                      left_out: list[str] = (), weights: SheetWeights | None = None) -> tuple[Path, Path]:
    """The sheet of `vtonkit sheet`: the anchor (`garment`'s cloth or `person`'s photo) then every try-on PNG.

    `left_out`: the persons or garments whose try-on failed, named in the title (a sheet of 2 of 4
    persons read as if there were 2). Returns the PNG and HTML paths (`<out_dir>/<name>.png|.html`;
    default name garment_<id> / person_<id>).
    """
    from vtonkit.datasets.io.images import read_rgb

    if garment:
        anchor = SheetTile.of(f"garment {garment}", read_rgb(split.cloth(garment)))
        title = f"Garment {garment} on {len(tryons)} persons"
    else:
        anchor = SheetTile.of(f"person {person}", read_rgb(split.image(person)))
        title = f"Person {person} in {len(tryons)} garments"
    if left_out:
        shown = ", ".join(left_out[:5]) + (f" and {len(left_out) - 5} more" if len(left_out) > 5 else "")
        title += f" ({len(left_out)} left out, their try-on failed: {shown})"
    tiles = [anchor] + [SheetTile.of(p.stem, read_rgb(p)) for p in tryons]  # each full image freed once tiled
    note = method_label + (" - BASELINE previews, not try-on model outputs" if baseline else "")
    if name is not None and (problem := sheet_name_problem(name)):
        raise ValueError(problem)
    return write_sheet(out_dir, sheet_file_name(garment, person, name), title, tiles, note, weights)
