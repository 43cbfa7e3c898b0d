"""Procedurally drawn flat-lay product shots of lower-body garments and dresses.

No permissively licensed flat photo of trousers, skirts or dresses exists to ship (see
PROVENANCE.md), so the demo store draws its own: a garment silhouette (polygons, 4x
supersampled for smooth edges), fabric texture (denim twill, knit noise, print dots, pleats),
cushion shading from the distance to the outline, seams, and a soft drop shadow on a white or
light-grey studio background. Output is deterministic for a given spec.

All images are ``(1024, 768, 3) uint8 RGB`` (HR-VITON size).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

logger = logging.getLogger(__name__)

HEIGHT, WIDTH = 1024, 768
_SS = 4  # supersampling factor for the silhouette
DRAWING_VERSION = 3  # bump when the drawing changes: cached renders are keyed on it
KINDS = ("trousers", "jeans", "shorts", "skirt", "pleated-skirt", "dress", "strap-dress")


@dataclass(frozen=True)
class GarmentSpec:
    """What to draw: a garment kind, its base colour (``#rrggbb``), a fabric and a background."""

    kind: str
    colour: str
    fabric: str = "plain"  # plain | denim | knit | dots
    background: str = "#ffffff"
    seed: int = 0


def _rgb(hex_colour: str) -> np.ndarray:
    hex_colour = hex_colour.lstrip("#")
    return np.array([int(hex_colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def _scale(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x * WIDTH * _SS, y * HEIGHT * _SS) for x, y in points]


def _outline(kind: str) -> tuple[list[list[tuple[float, float]]], list[list[tuple[float, float]]]]:
    """Garment polygons and seam polylines in unit coordinates (x in [0,1] of width, y of height)."""
    if kind in ("trousers", "jeans"):
        body = [
            (0.27, 0.08),
            (0.73, 0.08),
            (0.76, 0.30),
            (0.80, 0.93),
            (0.56, 0.94),
            (0.505, 0.36),
            (0.495, 0.36),
            (0.44, 0.94),
            (0.20, 0.93),
            (0.24, 0.30),
        ]
        seams = [
            [(0.27, 0.13), (0.73, 0.13)],
            [(0.50, 0.13), (0.50, 0.30)],
            [(0.29, 0.14), (0.36, 0.22)],
            [(0.71, 0.14), (0.64, 0.22)],
        ]
        return [body], seams
    if kind == "shorts":
        body = [
            (0.25, 0.18),
            (0.75, 0.18),
            (0.79, 0.40),
            (0.83, 0.66),
            (0.56, 0.70),
            (0.505, 0.45),
            (0.495, 0.45),
            (0.44, 0.70),
            (0.17, 0.66),
            (0.21, 0.40),
        ]
        seams = [
            [(0.25, 0.23), (0.75, 0.23)],
            [(0.50, 0.23), (0.50, 0.38)],
            [(0.18, 0.62), (0.44, 0.655)],
            [(0.56, 0.655), (0.82, 0.62)],
        ]
        return [body], seams
    if kind in ("skirt", "pleated-skirt"):
        body = [
            (0.33, 0.14),
            (0.67, 0.14),
            (0.69, 0.20),
            (0.84, 0.84),
            (0.67, 0.862),
            (0.50, 0.868),
            (0.33, 0.862),
            (0.16, 0.84),
            (0.31, 0.20),
        ]
        seams = [[(0.32, 0.20), (0.68, 0.20)]]
        if kind == "pleated-skirt":
            for i in range(1, 10):
                t = i / 10
                seams.append([(0.31 + 0.38 * t, 0.21), (0.16 + 0.68 * t, 0.85)])
        return [body], seams
    if kind == "dress":
        body = [
            (0.36, 0.07),
            (0.44, 0.09),
            (0.50, 0.13),
            (0.56, 0.09),
            (0.64, 0.07),
            (0.78, 0.16),
            (0.72, 0.24),
            (0.66, 0.21),
            (0.64, 0.40),
            (0.80, 0.92),
            (0.65, 0.942),
            (0.50, 0.948),
            (0.35, 0.942),
            (0.20, 0.92),
            (0.36, 0.40),
            (0.34, 0.21),
            (0.28, 0.24),
            (0.22, 0.16),
        ]
        seams = [[(0.36, 0.40), (0.64, 0.40)], [(0.44, 0.09), (0.50, 0.13), (0.56, 0.09)]]
        return [body], seams
    if kind == "strap-dress":
        body = [
            (0.37, 0.15),
            (0.40, 0.15),
            (0.42, 0.22),
            (0.58, 0.22),
            (0.60, 0.15),
            (0.63, 0.15),
            (0.65, 0.30),
            (0.63, 0.42),
            (0.84, 0.93),
            (0.67, 0.952),
            (0.50, 0.958),
            (0.33, 0.952),
            (0.16, 0.93),
            (0.37, 0.42),
            (0.35, 0.30),
        ]
        seams = [[(0.37, 0.42), (0.63, 0.42)]]
        return [body], seams
    raise ValueError(f"unknown garment kind {kind!r}; choose one of {', '.join(KINDS)}")


def _silhouette(polygons: list[list[tuple[float, float]]]) -> np.ndarray:
    canvas = Image.new("L", (WIDTH * _SS, HEIGHT * _SS), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        draw.polygon(_scale(polygon), fill=255)
    return np.asarray(canvas.resize((WIDTH, HEIGHT), Image.LANCZOS), dtype=np.float32) / 255.0


def _texture(fabric: str, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative fabric texture, (H, W) float32 around 1.0."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), 0.8)
    if fabric == "denim":
        twill = 0.5 + 0.5 * np.sin((xx + yy) * 0.9)
        return 0.90 + 0.10 * twill + 0.05 * noise
    if fabric == "knit":
        rib = 0.5 + 0.5 * np.sin(xx * 0.7)
        return 0.93 + 0.07 * rib + 0.03 * noise
    return 1.0 + 0.025 * noise


def _dots(rng: np.random.Generator, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A small floral-like print: an alpha map and its colour."""
    layer = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(260):
        x, y = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT)
        r = rng.uniform(5, 11)
        for k in range(5):  # five petals
            angle = k * 2 * np.pi / 5
            px, py = x + r * np.cos(angle), y + r * np.sin(angle)
            draw.ellipse([px - r * 0.6, py - r * 0.6, px + r * 0.6, py + r * 0.6], fill=255)
    alpha = np.asarray(layer.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32) / 255.0
    print_colour = np.clip(255 - colour * 0.5, 0, 255)
    return alpha, print_colour


def draw_garment(spec: GarmentSpec) -> np.ndarray:
    """Render one product shot. Returns ``(1024, 768, 3) uint8 RGB``."""
    rng = np.random.default_rng(spec.seed)
    polygons, seams = _outline(spec.kind)
    mask = _silhouette(polygons)
    background = _rgb(spec.background)
    # studio background: a faint vertical gradient
    grad = np.linspace(1.0, 0.965, HEIGHT, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(background, (HEIGHT, WIDTH, 3)) * grad
    # soft drop shadow, offset down-right
    shadow = ndimage.gaussian_filter(ndimage.shift(mask, (14, 10), order=1), 12)
    image = image * (1.0 - 0.28 * shadow[..., None])
    # cushion shading: darker near the outline, lighter across the middle, plus soft folds
    inside = ndimage.distance_transform_edt(mask > 0.5).astype(np.float32)
    cushion = 0.78 + 0.22 * np.clip(inside / 40.0, 0, 1)
    # folds hang vertically: noise smoothed much more along y than along x
    folds = ndimage.gaussian_filter(
        rng.normal(0, 1, (HEIGHT // 16, WIDTH // 16)).astype(np.float32), (4.0, 0.9)
    )
    folds = folds / (np.abs(folds).max() + 1e-6)
    folds = np.asarray(Image.fromarray(folds).resize((WIDTH, HEIGHT), Image.BICUBIC), dtype=np.float32)
    shading = cushion * (1.0 + 0.10 * folds) * _texture(spec.fabric, rng)
    colour = _rgb(spec.colour)
    fabric = colour[None, None, :] * shading[..., None]
    # dark fabrics show their folds as soft highlights rather than shadows
    darkness = 1.0 - float(colour.mean()) / 255.0
    fabric = fabric + (darkness**2 * 40.0) * np.clip(folds, 0, None)[..., None]
    if spec.fabric == "dots":
        alpha, print_colour = _dots(rng, colour)
        fabric = (
            fabric * (1 - alpha[..., None])
            + print_colour[None, None, :] * shading[..., None] * alpha[..., None]
        )
    image = image * (1 - mask[..., None]) + fabric * mask[..., None]
    # seams and stitching: thin darker lines clipped to the garment
    seam_layer = Image.new("L", (WIDTH * _SS, HEIGHT * _SS), 0)
    draw = ImageDraw.Draw(seam_layer)
    for line in seams:
        draw.line(_scale(line), fill=255, width=3 * _SS)
    seam = np.asarray(seam_layer.resize((WIDTH, HEIGHT), Image.LANCZOS), dtype=np.float32) / 255.0 * mask
    image = image * (1 - 0.35 * seam[..., None])
    return np.clip(image, 0, 255).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str = "PNG") -> bytes:
    """Encode an RGB array as PNG or JPEG bytes (deterministic)."""
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt.upper() in ("JPEG", "JPG"):
        image.save(buffer, format="JPEG", quality=92)
    else:
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
