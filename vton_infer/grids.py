"""Per-pair visual grid: inputs, intermediate results and the try-on, with captions."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from vtonkit.datasets.io.parse import parse_to_rgb

CAPTION_HEIGHT = 28
TILE_WIDTH = 256


# Fonts with CJK, Hangul and kana glyphs, first found wins: WenQuanYi Micro Hei (`make system-deps`
# installs the Debian package, 1.6 MB), else Droid Sans Fallback or Noto Sans CJK if present.
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# Code point ranges DejaVu Sans has no glyph for: CJK symbols and punctuation, kana, Hangul jamo and
# syllables, CJK ideographs (with extension A and compatibility), full-width forms.
CJK_RANGES = ((0x1100, 0x11FF), (0x2E80, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF),
              (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))


def needs_cjk_font(text: str) -> bool:
    return any(low <= ord(char) <= high for char in text for low, high in CJK_RANGES)


@functools.cache
def _font(path: str | None, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def caption_font(size: int = 12, text: str = "") -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """The font to draw `text` with: DejaVu Sans (shipped inside matplotlib, a dependency), whose
    accented letters Pillow's default font draws as boxes (`café_ü` came out `caf□_□`); for Korean,
    Japanese or Chinese text a CJK font (`CJK_FONTS`) when one is installed, which DejaVu draws as
    boxes too."""
    import matplotlib

    if needs_cjk_font(text):
        for path in CJK_FONTS:
            if Path(path).is_file():
                return _font(path, size)
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return _font(str(dejavu) if dejavu.is_file() else None, size)


def fitted_caption(caption: str, width: int) -> str:
    """`caption` as it fits `width` pixels: whole, else its start and end around an ellipsis (a
    person_garment name differs at its end as often as at its start). Cut at 30 characters, CJK names
    ran twice a tile's width, over the next tile's caption."""
    font = caption_font(text=caption)
    if font.getlength(caption) <= width:
        return caption
    head, tail = "", ""
    left, right = 0, len(caption) - 1
    while left <= right:  # take from the start and the end in turn while the result still fits
        if len(head) <= len(tail):
            candidate, grown = caption[left], "head"
        else:
            candidate, grown = caption[right], "tail"
        trial = f"{head}{candidate}…{tail}" if grown == "head" else f"{head}…{candidate}{tail}"
        if font.getlength(trial) > width:
            break
        if grown == "head":
            head, left = head + candidate, left + 1
        else:
            tail, right = candidate + tail, right - 1
    return f"{head}…{tail}"


def _tile(rgb: np.ndarray, caption: str, width: int = TILE_WIDTH) -> Image.Image:
    image = Image.fromarray(rgb)
    height = round(image.height * width / image.width)
    image = image.resize((width, height), Image.BILINEAR)
    tile = Image.new("RGB", (width, height + CAPTION_HEIGHT), (255, 255, 255))
    tile.paste(image, (0, CAPTION_HEIGHT))
    caption = fitted_caption(caption, width - 8)
    ImageDraw.Draw(tile).text((4, 8), caption, fill=(0, 0, 0), font=caption_font(text=caption))
    return tile


def labelled_row(images: list[tuple[str, np.ndarray]], title: str | None = None) -> np.ndarray:
    """Tiles side by side, each with its caption above, and an optional title bar: (H, W, 3) uint8."""
    tiles = [_tile(rgb, caption) for caption, rgb in images]
    title_height = CAPTION_HEIGHT if title else 0
    canvas = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles) + title_height), "white")
    if title:
        ImageDraw.Draw(canvas).text((4, 8), title, fill=(160, 0, 0), font=caption_font(text=title))
    x = 0
    for tile in tiles:
        canvas.paste(tile, (x, title_height))
        x += tile.width
    return np.asarray(canvas)


def mask_rgb(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool or float in [0, 1] -> (H, W, 3) uint8 grey."""
    values = np.clip(np.asarray(mask, dtype=np.float32), 0, 1) * 255
    return np.repeat(values.astype(np.uint8)[..., None], 3, axis=2)


def layout_rgb(labels: np.ndarray, palette_ids: np.ndarray) -> np.ndarray:
    """Colour a 13- or 7-class layout with CIHP colours of representative ids (`palette_ids[class]`)."""
    return parse_to_rgb(palette_ids[np.asarray(labels)])


# a representative CIHP id per HR-VITON class, for colouring 13- and 7-class maps
CIHP_OF_13 = np.array([0, 2, 13, 5, 9, 14, 15, 16, 17, 18, 19, 8, 3], dtype=np.uint8)
CIHP_OF_7 = np.array([0, 13, 5, 2, 14, 15, 3], dtype=np.uint8)
