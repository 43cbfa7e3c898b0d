"""Export for mask-based diffusion try-on (IDM-VTON, CatVTON; OOTDiffusion-style inpainting).

```
<out>/train_pairs.txt  test_pairs.txt  test_pairs_unpaired.txt (CatVTON's name)  test_pairs_paired.txt
<out>/<split>/image/<stem>.jpg  cloth/<stem>.jpg  image-densepose/<stem>.jpg
              agnostic-mask/<stem>_mask.png       L 0/255, white = the region to inpaint
              vitonhd_<split>_tagged.json         {} (no garment tags: IDM-VTON captions "shirts")
```
IDM-VTON reads `agnostic-mask/<stem>_mask.png` (resized without thresholding, so the file must be
binary) and `image-densepose` at 1024x768; CatVTON reads the same mask name and binarises it.
`--mask-recipe` chooses the mask: `stored` (the dataset's agnostic mask, as VITON-HD ships it) or
a category recipe of `preprocess/agnostic.py` (`upper`, `lower`, `dresses`) recomputed from the
parse and the pose, e.g. a lower-body mask for persons of an upper-body dataset.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.conversion import (
    ConversionReport,
    DatasetSample,
    check_separate,
    dataset_garments,
    dataset_samples,
    prepare_export_folders,
    require_image,
    run_samples,
    write_binary_mask,
)
from vtonkit.datasets.export.common import (
    borrowed,
    copy_person_and_cloth,
    dataset_pair_lists,
    export_garments,
    exported_stems,
    label_sample,
    placeholder_records,
    write_split_pair_lists,
)
from vtonkit.datasets.io.files import atomic_write_json
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.pairs import write_pairs
from vtonkit.preprocess.agnostic import MissingKeypointsError, compute_agnostic

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import InputError

MASK_RECIPES: tuple[str, ...] = ("stored", *GARMENT_CATEGORIES)
FOLDERS = (layout.IMAGE, layout.CLOTH, layout.DENSEPOSE)


def inpaint_mask(split: layout.SplitDir, stem: str, recipe: str) -> np.ndarray:
    """The `(H, W)` bool inpainting mask of one sample by `recipe` (see `MASK_RECIPES`)."""
    if recipe not in MASK_RECIPES:
        raise ValueError(f"mask recipe must be one of {MASK_RECIPES}, got {recipe!r}")
    if recipe == "stored":
        return read_mask(split.agnostic_mask(stem))
    pose_file = split.openpose_json(stem)
    try:
        parse = read_parse(require_image(split.parse(stem), layout.PARSE))
        return compute_agnostic(read_rgb(split.image(stem)), parse, read_keypoints(pose_file, fmt="body25"), recipe).mask
    except MissingKeypointsError as exc:
        raise InputError(pose_file, str(exc)) from exc


def export_sample(dataset: Path, out: Path, sample: DatasetSample, recipe: str) -> None:
    source = layout.DatasetLayout(dataset).split(sample.split)
    target = layout.DatasetLayout(out).split(sample.split)
    mask = inpaint_mask(source, sample.stem, recipe)
    copy_person_and_cloth(source, target, sample.stem, FOLDERS)
    write_binary_mask(target.agnostic_mask(sample.stem), mask)


def export_mask_inpaint(dataset: str | Path, out: str | Path, *, category: str | None = None,
                        splits: list[str] | None = None, mask_recipe: str = "stored",
                        progress: bool = True, replace: bool = False) -> ConversionReport:
    """Export `dataset` for mask-based inpainting try-on at `out`."""
    if mask_recipe not in MASK_RECIPES:
        raise ValueError(f"--mask-recipe must be one of {', '.join(MASK_RECIPES)}, got {mask_recipe!r}")
    dataset, out = Path(dataset), Path(out)
    check_separate(dataset, out)
    report = ConversionReport("mask-inpaint", out)
    samples = dataset_samples(dataset, splits, category)
    pair_lists = dataset_pair_lists(dataset)
    garments = dataset_garments(dataset, splits, category)
    prepare_export_folders((out / s.split for s in [*samples, *garments]), replace)
    run_samples(samples, lambda s: export_sample(dataset, out, s, mask_recipe), label=label_sample, report=report,
                description=f"export mask-inpaint ({mask_recipe} masks)", progress=progress)
    export_garments(dataset, out, garments, report, progress)
    write_split_pair_lists(pair_lists, out, report, samples, garments, dataset,
                           extra_names=lambda split: ("test_pairs_unpaired.txt",) if split == "test" else ())
    # paired: each person in its own garment, not in a placeholder copy of another
    exported_test = exported_stems(report, samples, "test")
    if exported_test:  # written even empty (every person in a placeholder), as the readers open all three
        own = sorted(exported_test - borrowed(placeholder_records(dataset, "test")))
        write_pairs(out / "test_pairs_paired.txt", [(f"{s}.jpg", f"{s}.jpg") for s in own])
    write_tag_files(out, report, samples)
    return report


def write_tag_files(out: Path, report: ConversionReport, samples: list[DatasetSample]) -> None:
    """`<split>/vitonhd_<split>_tagged.json` for every split with exported persons: IDM-VTON's VITON-HD
    reader opens it always (its garment tags make the captions). A vtonkit dataset has no tags, so it
    maps nothing, `{}`: the reader iterates `.items()` and captions every garment "shirts"."""
    for split in layout.SPLITS:
        if exported_stems(report, samples, split):
            atomic_write_json(out / split / f"vitonhd_{split}_tagged.json", {})
