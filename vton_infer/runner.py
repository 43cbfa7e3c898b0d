"""Run try-on over a pair list: read, batch, infer (HR-VITON or the warp baseline), save.

Order is the pair list's, every pair is processed (no shuffle, no dropped tail), a pair whose
files are bad is reported and skipped without stopping the others, and outputs are real PNGs
`<person>_<cloth>.png` written atomically, with the method recorded in the PNG metadata.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from vtonkit.datasets.io.files import atomic_save_image, atomic_write
from vtonkit.datasets.layout import DatasetLayout, SplitDir, stem_of
from vtonkit.datasets.pairs import read_pairs
from vtonkit.vton_infer import grids
from vtonkit.vton_infer.data import PairSample, collate, read_pair

from vtonkit.core.errors import InputError, VtonkitError

logger = logging.getLogger(__name__)

METHODS = ("hrviton", "warp")
METHOD_LABELS = {
    "hrviton": "HR-VITON (official architecture and checkpoints)",
    "warp": "warp baseline (non-learned, not HR-VITON)",
}


@dataclass
class InferOptions:
    """What `run_pairs` does; see `vtonkit infer --help` for the meaning of each field."""

    method: str = "hrviton"
    tocg_checkpoint: Path | None = None
    gen_checkpoint: Path | None = None
    device: str = "cpu"
    batch_size: int = 1
    occlusion: bool = True
    grids: bool = False
    category: str = "upper"
    agnostic_source: str = "compute"
    seed: int | None = 0
    save_tensors: bool = False
    precision: str = "fp32"
    channels_last: bool = False


@dataclass
class InferSummary:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (person, cloth, reason)
    seconds: float = 0.0
    method: str = "hrviton"
    deviation: dict | None = None  # bf16/fp16 vs fp32, measured on the first batch


def pairs_path(dataset: Path, split: str, pairs: str | Path | None) -> Path:
    """The pair-list file: a path, a name inside the dataset root (`test_pairs.txt`), or the split's default."""
    if pairs is None:
        return DatasetLayout(Path(dataset)).pairs_file(split)
    path = Path(pairs)
    if not path.is_file() and (Path(dataset) / path).is_file():
        path = Path(dataset) / path
    return path


def resolve_pairs(dataset: Path, split: str, pairs: str | Path | None) -> list[tuple[str, str]]:
    """The pairs of `pairs_path(dataset, split, pairs)`."""
    return read_pairs(pairs_path(dataset, split, pairs))


def png_info(method: str) -> PngInfo:
    info = PngInfo()
    info.add_text("vtonkit-method", METHOD_LABELS[method])
    if method == "warp":
        info.add_text("Comment", "BASELINE preview: non-learned garment warp, not a try-on model output")
    return info


def save_png(path: Path, rgb: np.ndarray, method: str) -> None:
    atomic_save_image(Image.fromarray(rgb, "RGB"), path, format="PNG", pnginfo=png_info(method))


class _Engine:
    """Turns a list of PairSamples into output images (N, H, W, 3) uint8 plus grid tiles."""

    def __init__(self, options: InferOptions) -> None:
        self.options = options
        self.pipeline = None
        if options.method == "hrviton":
            if options.category != "upper":
                # the published weights are upper-body only; a `vtonkit train --category` run's are not
                logger.info("HR-VITON for %s: expects checkpoints trained with vtonkit train --category %s",
                            options.category, options.category)
            if not options.tocg_checkpoint or not options.gen_checkpoint:
                raise VtonkitError("--method hrviton needs --tocg-checkpoint (mtviton.pth) and --gen-checkpoint "
                                   "(gen.pth); see docs/inference.md, or use --method warp for the baseline")
            from vtonkit.vton_infer.pipeline import HRVitonPipeline

            self.pipeline = HRVitonPipeline.from_checkpoints(
                options.tocg_checkpoint, options.gen_checkpoint, device=options.device,
                occlusion=options.occlusion, seed=options.seed, precision=options.precision,
                channels_last=options.channels_last,
            )
        elif options.method != "warp":
            raise VtonkitError(f"unknown method {options.method!r}; choose one of {', '.join(METHODS)}")

    def run(self, samples: Sequence[PairSample]) -> tuple[np.ndarray, list[np.ndarray], list[dict]]:
        """-> images (N, H, W, 3) uint8, grid rows (if asked), per-sample tensors (if asked)."""
        if self.pipeline is not None:
            from vtonkit.vton_infer.pipeline import per_sample_tensors, to_uint8_images

            result = self.pipeline.run(collate(samples, self.options.category))
            images = to_uint8_images(result.output)
            tensors = per_sample_tensors(result) if self.options.save_tensors else []
            rows = []
            if self.options.grids:
                warped = to_uint8_images(result.warped_cloth)
                for i, s in enumerate(samples):
                    rows.append(grids.labelled_row([
                        ("person", s.image), ("garment", s.cloth), ("agnostic", s.agnostic),
                        ("warped garment", warped[i]),
                        ("layout (7 classes)", grids.layout_rgb(result.parse7[i].cpu().numpy(), grids.CIHP_OF_7)),
                        ("try-on", images[i]),
                    ], title=f"{s.person} + {s.cloth_name}: {METHOD_LABELS['hrviton']}"))
            return images, rows, tensors
        from vtonkit.vton_infer.warp_baseline import try_on_warp

        images, rows = [], []
        for s in samples:
            result = try_on_warp(s.image, s.parse, s.pose, s.cloth, s.cloth_mask, self.options.category)
            images.append(result.output)
            if self.options.grids:
                rows.append(grids.labelled_row([
                    ("person", s.image), ("garment", s.cloth), ("target region", grids.mask_rgb(result.region)),
                    ("warped garment", result.warped_cloth), ("alpha", grids.mask_rgb(result.alpha)),
                    ("BASELINE try-on", result.output),
                ], title=f"{s.person} + {s.cloth_name}: BASELINE - {METHOD_LABELS['warp']}"))
        return np.stack(images), rows, []


def run_pairs(
    split_dir: Path,
    pairs: Sequence[tuple[str, str]],
    out_dir: Path,
    options: InferOptions,
    progress: Callable[[int], None] | None = None,
) -> InferSummary:
    """Try on every pair of `pairs` (in order) with the samples of `split_dir`, writing to `out_dir`.

    progress: called with the number of pairs finished (or failed) after each batch.
    """
    start = time.perf_counter()
    engine = _Engine(options)
    split = SplitDir(split_dir)
    out_dir = Path(out_dir)
    summary = InferSummary(method=options.method)
    batch: list[PairSample] = []

    def flush() -> None:
        if not batch:
            return
        images, rows, tensors = engine.run(batch)
        for sample, rgb in zip(batch, images):
            path = out_dir / sample.output_name
            save_png(path, rgb, options.method)
            summary.written.append(path)
        for sample, row in zip(batch, rows):
            save_png(out_dir / "grid" / sample.output_name, row, options.method)
        for sample, entry in zip(batch, tensors):
            with atomic_write(out_dir / "tensors" / (Path(sample.output_name).stem + ".pt")) as handle:
                torch.save(entry, handle)
        if progress:
            progress(len(batch))
        batch.clear()

    for person, cloth in pairs:
        try:
            batch.append(read_pair(split, person, cloth, agnostic_source=options.agnostic_source,
                                   category=options.category))
        except (InputError, ValueError) as exc:
            logger.error("skipping %s %s: %s", person, cloth, exc)
            summary.failed.append((stem_of(person), stem_of(cloth), str(exc)))
            if progress:
                progress(1)
            continue
        if len(batch) >= options.batch_size:
            flush()
    flush()
    summary.seconds = time.perf_counter() - start
    if engine.pipeline is not None:
        summary.deviation = engine.pipeline.deviation
    return summary
