"""Classic (model-free) cloth masks for product shots on plain or transparent backgrounds.

Method, in the order `ClassicClothMasker.mask` applies it:
1. RGBA with a meaningful alpha channel (some pixels clearly transparent): the mask is alpha >= 128
   (drop shadows rendered into the alpha stay out: they are faint), then cleaned as below.
2. Otherwise the background is modelled as a smooth quadratic colour surface fitted to the image
   border (vignetting, light gradients), with tolerances adapted to the noise measured there. A
   pixel is a background candidate when it is close to that surface AND not on an edge; the real
   background is every candidate connected to the image border (a flood fill with tolerance), so
   - white garments on white survive thanks to their outline and shading (edges stop the fill),
   - logos and prints inside the garment never touch the border and are filled,
   - sleeve openings and necklines that open onto the background are reached and stay background.
3. Clean-up: open away edge fringes, fill enclosed holes, keep the largest component(s).
4. Outline snapping at full resolution: pixels in a thin band around the coarse outline go to the
   nearer of the background colour and the garment's local colour.

All work happens at a working resolution of at most `work_size` pixels on the long side (masks
are smooth; this keeps a 1024x768 shot well under 0.1 s on one core), then the mask is resized back.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
from vtonkit.datasets.mask_geometry import enclosed_background

logger = logging.getLogger(__name__)

GAP = 6  # pixels at the working resolution; see `_mask_from_colour`


def _largest_components(mask: np.ndarray, min_fraction: float) -> np.ndarray:
    """Keep the largest 8-connected component and any other at least `min_fraction` of its area."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)  # areas only: no boxes
    if count <= 1:
        return mask.astype(bool)
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= max(areas.max() * min_fraction, 1)
    return keep[labels]


def _touching_border(labels: np.ndarray, count: int) -> np.ndarray:
    """`(H, W)` bool: pixels whose component (label > 0) touches the image border."""
    touching = np.zeros(count, dtype=bool)
    touching[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    touching[0] = False
    return touching[labels]


def background_surface(image: np.ndarray, ring: int = 4) -> np.ndarray:
    """Smooth background model: a per-channel quadratic in (x, y) fitted to the border ring.

    Studio shots often have vignetting or a light gradient; a single border colour would then call
    the brighter corners foreground. Returns `(H, W, 3)` float32. Outliers (garment parts touching
    the border) are down-weighted by one refit on the pixels closest to the first fit.
    """
    h, w = image.shape[:2]
    ring = max(1, min(ring, h // 4, w // 4))
    on_ring = np.zeros((h, w), dtype=bool)
    on_ring[:ring] = on_ring[-ring:] = True
    on_ring[:, :ring] = on_ring[:, -ring:] = True
    ring_y, ring_x = np.nonzero(on_ring)
    x = ring_x.astype(np.float32) / w - 0.5
    y = ring_y.astype(np.float32) / h - 0.5
    design = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    values = image[on_ring].astype(np.float32)
    keep = np.abs(values - np.median(values, axis=0)).max(axis=1) <= 30
    if keep.sum() < design.shape[1] * 4:
        keep[:] = True
    coef = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
    residual = np.abs(design @ coef - values).max(axis=1)
    inliers = keep & (residual <= max(3.0, float(np.percentile(residual[keep], 80))))
    if inliers.sum() >= design.shape[1] * 4:
        coef = np.linalg.lstsq(design[inliers], values[inliers], rcond=None)[0]
    # The surface is smooth: evaluate it on a coarse grid and interpolate (bilinear is exact enough).
    gh, gw = max(2, h // 8), max(2, w // 8)
    gx = ((np.arange(gw, dtype=np.float32) + 0.5) * (w / gw) / w - 0.5)[None, :, None]
    gy = ((np.arange(gh, dtype=np.float32) + 0.5) * (h / gh) / h - 0.5)[:, None, None]
    c = coef.astype(np.float32)
    grid = c[0] + gx * (c[1] + gx * c[3]) + gy * (c[2] + gy * c[4]) + (gx * gy) * c[5]
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)


def alpha_is_meaningful(alpha: np.ndarray) -> bool:
    """True when the alpha channel actually cuts something out (>= 0.5% of pixels clearly transparent)."""
    return bool((alpha < 128).mean() >= 0.005)


class ClassicClothMasker:
    """Background-estimation + border flood-fill cloth masker (registry name "cv", the default).

    Args:
        colour_tolerance: upper bound of the per-channel distance (0..255, after a light blur) to
            the background model for a pixel to count as background. The tolerance actually used
            adapts to the noise measured on the border ring (a clean 246-grey VITON-HD background
            gets ~3, so a white tee at 250 still separates; a noisy photo backdrop gets more).
        edge_tolerance: upper bound of the max Sobel gradient magnitude (grey levels per pixel) of a
            background pixel, also adapted to the border noise; garment outlines stop the flood fill.
        work_size: long side of the working resolution.
        min_component_fraction: other components are kept when at least this fraction of the largest.
    """

    name = "cv"
    version = "1"

    def __init__(self, *, colour_tolerance: float = 10.0, edge_tolerance: float = 6.0, work_size: int = 512,
                 min_component_fraction: float = 0.15) -> None:
        self.colour_tolerance = float(colour_tolerance)
        self.edge_tolerance = float(edge_tolerance)
        self.work_size = int(work_size)
        self.min_component_fraction = float(min_component_fraction)

    def mask(self, image: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` RGB or `(H, W, 4)` RGBA uint8 garment shot -> `(H, W)` bool garment mask.

        Raises:
            ValueError: not an `(H, W, 3|4)` uint8 array.
        """
        image = np.asarray(image)
        if (image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4)
                or min(image.shape[:2]) < 8):
            raise ValueError(f"cloth image must be (H, W, 3|4) uint8 with H, W >= 8, "
                             f"got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        scale = min(1.0, self.work_size / max(h, w))
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image.copy()

        if image.shape[2] == 4 and alpha_is_meaningful(image[..., 3]):
            mask = self._clean(small[..., 3] >= 128)
            if scale < 1.0:
                mask = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
            # Alpha is exact: only pixels the alpha keeps can be garment.
            mask &= image[..., 3] >= 128
        else:
            rgb = np.ascontiguousarray(small[..., :3])
            blurred = cv2.GaussianBlur(rgb, (5, 5), 0)
            background = background_surface(blurred)
            coarse_small, colour_tolerance = self._mask_from_colour(blurred, background)
            coarse_small = self._clean(coarse_small)
            coarse = coarse_small
            if scale < 1.0:
                coarse = cv2.resize(coarse_small.astype(np.uint8), (w, h),
                                    interpolation=cv2.INTER_NEAREST) > 0
            full_rgb = image if image.shape[2] == 3 else cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
            mask = self._clean(self._refine_outline(full_rgb, coarse, coarse_small, rgb, background,
                                                    colour_tolerance))
        if not mask.any():
            # debug only: the caller fails the shot with an error that names its file
            logger.debug("cloth mask is empty: the garment could not be separated from the background")
        return mask

    def _mask_from_colour(self, rgb: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, float]:
        """Foreground = not reachable from the border through background-coloured, edge-free pixels.

        `rgb`: blurred `(h, w, 3)` uint8 at working resolution; `background`: `(h, w, 3)` float32
        model of the background colour at each pixel. Returns the mask and the colour tolerance used.
        """
        difference = np.abs(rgb.astype(np.float32) - background)
        distance = np.maximum(np.maximum(difference[..., 0], difference[..., 1]), difference[..., 2])
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        edge = np.sqrt(gx * gx + gy * gy)
        # Thicken edges by one pixel so a thin outline with a one-pixel gap still stops the fill.
        edge = cv2.dilate(edge, np.ones((3, 3), np.uint8))
        ring = np.zeros(distance.shape, dtype=bool)
        ring[:4] = ring[-4:] = True
        ring[:, :4] = ring[:, -4:] = True
        colour_tolerance = float(np.clip(np.percentile(distance[ring], 95) + 2.0, 3.0, self.colour_tolerance))
        edge_tolerance = float(np.clip(np.percentile(edge[ring], 95) + 1.0, 1.5, self.edge_tolerance))
        logger.debug("cloth mask tolerances: colour %.1f, edge %.1f", colour_tolerance, edge_tolerance)
        candidate = ((distance <= colour_tolerance) & (edge <= edge_tolerance)).astype(np.uint8)
        count, labels = cv2.connectedComponents(candidate, connectivity=4)
        background = _touching_border(labels, count)
        # Leak-proof fill: a faint outline (white on white) has gaps through which the fill
        # floods the garment. Shrinking the candidates closes gaps up to 2 * GAP + 1 pixels;
        # after that fill the background grows back by GAP pixels only.
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GAP + 1, 2 * GAP + 1))
        shrunk = cv2.erode(candidate, kernel, borderType=cv2.BORDER_REPLICATE)
        count, labels = cv2.connectedComponents(shrunk, connectivity=4)
        sealed = cv2.dilate(_touching_border(labels, count).astype(np.uint8), kernel).astype(bool)
        # Regions only the plain fill reached: a flooded garment interior is walled by faint
        # outlines, a real narrow opening (between a sleeve and the body) by the garment's colour.
        leaked = background & ~sealed
        count, labels = cv2.connectedComponents(leaked.astype(np.uint8), connectivity=4)
        if count > 1:
            ring = cv2.dilate(leaked.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~background
            nearest = cv2.dilate(labels.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
            strong = distance > 4.0 * colour_tolerance
            walls = np.bincount(nearest[ring], minlength=count).astype(np.float64)
            strong_walls = np.bincount(nearest[ring], weights=strong[ring], minlength=count)
            # Only large flooded regions: a neckline behind a white collar is also walled by faint
            # outlines, but it is small next to the garment.
            areas = np.bincount(labels.ravel(), minlength=count)
            large = areas >= 0.03 * max(int((~background).sum()), 1)
            faint = (walls > 0) & (strong_walls < 0.5 * walls) & large
            faint[0] = False
            background &= ~faint[labels]
        return ~background, colour_tolerance

    def _refine_outline(self, rgb: np.ndarray, coarse: np.ndarray, coarse_small: np.ndarray,
                        small_rgb: np.ndarray, small_background: np.ndarray,
                        colour_tolerance: float) -> np.ndarray:
        """Snap the coarse outline (a few pixels too wide: blur and edge dilation) to the garment edge.

        In a band around the outline each pixel goes to whichever is nearer in colour: the background
        or the garment's local colour (mean of the nearby interior, taken at the working resolution).
        Where the garment is too close to the background colour for that (white on white), a band
        pixel is garment when it differs from the background by more than the noise tolerance.
        Only band pixels are touched, so this costs little at full resolution.
        """
        h, w = coarse.shape
        radius = max(2, round(0.009 * max(h, w)))
        coarse_u8 = coarse.astype(np.uint8)
        # Erosion by a disc of `radius`, via the distance transform (much cheaper than a big kernel).
        interior = cv2.distanceTransform(coarse_u8, cv2.DIST_L2, 3) > radius
        band = (cv2.dilate(coarse_u8, np.ones((3, 3), np.uint8)) > 0) & ~interior
        ys, xs = np.nonzero(band)
        if ys.size == 0:
            return coarse
        # Local garment colour: interior mean over a window ~4 band widths wide, at working resolution.
        sh, sw = coarse_small.shape
        fy, fx = sh / h, sw / w
        small_radius = max(1, round(radius * fx))
        small_interior = cv2.erode(coarse_small.astype(np.uint8), cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * small_radius + 1, 2 * small_radius + 1))).astype(np.float32)
        window = (8 * small_radius + 1, 8 * small_radius + 1)
        weight = cv2.boxFilter(small_interior, -1, window, normalize=False)
        total = cv2.boxFilter(small_rgb.astype(np.float32) * small_interior[..., None], -1, window,
                              normalize=False)
        sy = np.minimum((ys * fy).astype(np.intp), sh - 1)
        sx = np.minimum((xs * fx).astype(np.intp), sw - 1)
        band_weight = weight[sy, sx]
        local = total[sy, sx] / np.maximum(band_weight, 1e-6)[:, None]
        pixel = cv2.GaussianBlur(rgb, (3, 3), 0)[ys, xs].astype(np.float32)
        background = small_background[sy, sx]
        to_background = ((pixel - background) ** 2).sum(axis=1)
        to_garment = ((pixel - local) ** 2).sum(axis=1)
        contrast = np.sqrt(((local - background) ** 2).sum(axis=1))
        decidable = (band_weight > 0) & (contrast >= 10.0)
        refined = interior.copy()
        differs = np.abs(pixel - background).max(axis=1) > colour_tolerance
        refined[ys, xs] = np.where(decidable, to_garment < to_background, differs)
        return refined

    def _clean(self, mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return mask
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
        mask = _largest_components(mask, self.min_component_fraction)
        return mask | enclosed_background(mask)  # prints and logos inside the garment
