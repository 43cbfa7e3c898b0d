"""Export a vtonkit dataset to StableVITON's layout (its `dataset.py`, `VITONHDDataset`).

```
<out>/train_pairs.txt  test_pairs.txt
<out>/<split>/image/<stem>.jpg  image-densepose/<stem>.jpg  agnostic-v3.2/<stem>.jpg
              agnostic-mask/<stem>_mask.png  cloth/<stem>.jpg  cloth-mask/<stem>.jpg
              gt_cloth_warped_mask/<stem>.jpg     (read for training only)
```
StableVITON reads every file with OpenCV, resizes to its 512x384 and binarises masks at 128;
`gt_cloth_warped_mask` is the garment as worn (on the shipped VITON-HD train samples it equals
the parse's upper-clothes pixels exactly). Masks are L 0/255 and checked to read back identical.
"""
from __future__ import annotations

from pathlib import Path

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
    copy_person_and_cloth,
    dataset_pair_lists,
    export_garments,
    garment_mask,
    label_sample,
    write_split_pair_lists,
)
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import Cihp

GT_CLOTH_WARPED_MASK = "gt_cloth_warped_mask"
FOLDERS = (layout.IMAGE, layout.DENSEPOSE, layout.AGNOSTIC, layout.AGNOSTIC_MASK, layout.CLOTH, layout.CLOTH_MASK)
# The garment's parse labels per category (upper: measured on the shipped files; lower, dresses: by analogy).
WORN_GARMENT_LABELS: dict[str, tuple[int, ...]] = {
    "upper": (Cihp.UPPER_CLOTHES,),
    "lower": (Cihp.PANTS, Cihp.SKIRT),
    "dresses": (Cihp.DRESS,),
}


def gt_cloth_warped_mask_path(split_root: Path, stem: str) -> Path:
    return split_root / GT_CLOTH_WARPED_MASK / f"{stem}.jpg"


def export_sample(dataset: Path, out: Path, sample: DatasetSample) -> None:
    source = layout.DatasetLayout(dataset).split(sample.split)
    target = layout.DatasetLayout(out).split(sample.split)
    worn = garment_mask(read_parse(require_image(source.parse(sample.stem), layout.PARSE)),
                        WORN_GARMENT_LABELS[sample.category])
    copy_person_and_cloth(source, target, sample.stem, FOLDERS)
    write_binary_mask(gt_cloth_warped_mask_path(target.root, sample.stem), worn)


def export_stableviton(dataset: str | Path, out: str | Path, *, category: str | None = None,
                       splits: list[str] | None = None, progress: bool = True,
                       replace: bool = False) -> ConversionReport:
    """Export `dataset` to a StableVITON data root at `out` (its `--data_root_dir`)."""
    dataset, out = Path(dataset), Path(out)
    check_separate(dataset, out)
    report = ConversionReport("stableviton", out)
    samples = dataset_samples(dataset, splits, category)
    pair_lists = dataset_pair_lists(dataset)
    garments = dataset_garments(dataset, splits, category)
    prepare_export_folders((out / s.split for s in [*samples, *garments]), replace)
    if any(sample.category != "upper" for sample in samples):
        report.notes.append("StableVITON's released model is trained on VITON-HD (upper body); lower-body and "
                            "dress samples are written in the same layout with their own masks")
    run_samples(samples, lambda s: export_sample(dataset, out, s), label=label_sample, report=report,
                description="export stableviton", progress=progress)
    export_garments(dataset, out, garments, report, progress)
    write_split_pair_lists(pair_lists, out, report, samples, garments, dataset)
    return report
