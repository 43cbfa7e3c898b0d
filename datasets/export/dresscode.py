"""Export a vtonkit dataset to the Dress Code layout (`datasets/dresscode_layout.py`).

Per sample: the person and garment photos byte for byte; keypoints as 18 COCO-order rows in
512x384 coordinates; the CIHP parse converted to Dress Code's 18 labels (PNG mode P, Dress Code's
own palette); DensePose part ids decoded from `image-densepose` into `dense/<id>_5.png`; the
skeleton rendered; `image-densepose`, the agnostic mask and the cloth mask for the readers that
use them. Train and test samples share the category folder; the pair files say which is which.
Each category folder gets an empty `dc_caption.txt` (IDM-VTON opens it), and a category without
samples a folder of empty pair files (CatVTON and the official loader open all three categories).
Not written: `dense/<id>_5_uv.npz` (DensePose UV coordinates; the HR-VITON layout has none).
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image
from vtonkit.datasets import layout
from vtonkit.datasets.conversion import (
    ConversionReport,
    DatasetSample,
    check_separate,
    SampleFailure,
    dataset_garments,
    copy_file,
    require_image,
    require_mask,
    dataset_samples,
    prepare_export_folders,
    run_samples,
    write_binary_mask,
)
from vtonkit.datasets.dresscode_layout import (
    FOLDER_OF_CATEGORY,
    TEST_PAIRS_PAIRED,
    TEST_PAIRS_UNPAIRED,
    TRAIN_PAIRS,
    CategoryDir,
    dresscode_id,
)
from vtonkit.datasets.io.densepose import read_densepose
from vtonkit.datasets.io.files import atomic_save_image, atomic_write_text
from vtonkit.datasets.io.images import write_jpeg, write_png
from vtonkit.datasets.io.keypoints import read_keypoints, write_dresscode_keypoints
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.io.skeleton import render_skeleton
from vtonkit.datasets.labels import CIHP_TO_DRESSCODE, DRESSCODE_PALETTE
from vtonkit.datasets.export.common import (
    borrowed,
    copy_garment,
    dataset_pair_lists,
    exported_pairs,
    placeholder_records,
)
from vtonkit.datasets.pairs import Pair, write_pairs

# IDM-VTON's Dress Code reader opens `<category>/dc_caption.txt` ("<id>_1.jpg <words>" lines) always,
# and captions a garment the file does not name with the category: an empty file is valid.
CAPTIONS = "dc_caption.txt"
EMPTY_CATEGORY_FILES = (TRAIN_PAIRS, TEST_PAIRS_PAIRED, TEST_PAIRS_UNPAIRED, CAPTIONS)
UV_NOTE = ("dense/<id>_5_uv.npz (DensePose UV) is not written: the HR-VITON layout keeps part ids only; "
           "the official Dress Code dataset.py opens it, so drop that line or use a loader without UV")


def dresscode_label_map(parse_cihp) -> Image.Image:
    """CIHP-20 ids `(H, W)` -> Dress Code label map image (mode P, Dress Code palette)."""
    image = Image.fromarray(CIHP_TO_DRESSCODE[parse_cihp], "P")
    image.putpalette(DRESSCODE_PALETTE)
    return image


def export_sample(dataset: Path, out: Path, sample: DatasetSample) -> None:
    """Write every Dress Code file of one sample into `out/<category folder>/`."""
    split_dir = layout.DatasetLayout(dataset).split(sample.split)
    target = CategoryDir(out / FOLDER_OF_CATEGORY[sample.category])
    dc_id = dresscode_id(sample.stem)
    # Everything is read and rendered first: a sample with a missing or bad file leaves nothing behind.
    person = require_image(split_dir.image(sample.stem), layout.IMAGE)
    garment = require_image(split_dir.cloth(sample.stem), layout.CLOTH)
    densepose = require_image(split_dir.densepose(sample.stem), layout.DENSEPOSE)
    body25 = read_keypoints(split_dir.openpose_json(sample.stem), fmt="body25", image_size=(layout.HEIGHT, layout.WIDTH))
    skeleton = render_skeleton(body25, layout.HEIGHT, layout.WIDTH)
    label_map = dresscode_label_map(read_parse(require_image(split_dir.parse(sample.stem), layout.PARSE)))
    part_ids = read_densepose(densepose)
    agnostic_mask = require_mask(split_dir.agnostic_mask(sample.stem), cloth=False)
    cloth_mask = require_mask(split_dir.cloth_mask(sample.stem), cloth=True)
    copy_file(person, target.person(dc_id))
    copy_file(garment, target.garment(dc_id))
    write_dresscode_keypoints(target.keypoints(dc_id), body25, (layout.HEIGHT, layout.WIDTH))
    write_jpeg(target.skeleton(dc_id), skeleton)
    atomic_save_image(label_map, target.label_map(dc_id), format="PNG")
    write_png(target.dense(dc_id), part_ids)
    copy_file(densepose, target.densepose(dc_id))
    write_binary_mask(target.agnostic_mask(dc_id), agnostic_mask)
    write_binary_mask(target.cloth_mask(dc_id), cloth_mask)


def export_garment(dataset: Path, out: Path, sample: DatasetSample) -> None:
    """A garment-only id (a shop's garment no person wears): `images/<id>_1.jpg` and its cloth mask,
    what Dress Code's loaders read of the garment of an unpaired pair."""
    target = CategoryDir(out / FOLDER_OF_CATEGORY[sample.category])
    dc_id = dresscode_id(sample.stem)
    copy_garment(layout.DatasetLayout(dataset).split(sample.split), sample.stem, target.garment(dc_id),
                 target.cloth_mask(dc_id))


def write_empty_category(target: CategoryDir) -> bool:
    """Give a category folder this export has no sample for empty pair files and captions, since
    CatVTON asserts all three categories' pair files and the official loader opens each one's by
    default; True when written. A folder holding files (an earlier export's) is left as it is."""
    if target.root.is_dir() and any(path.is_file() for path in target.root.rglob("*")):
        return False
    for name in EMPTY_CATEGORY_FILES:
        atomic_write_text(target.root / name, "")
    return True


def _dc_pair(pair: Pair) -> Pair:
    person, cloth = (dresscode_id(layout.stem_of(name)) for name in pair)
    return f"{person}_0.jpg", f"{cloth}_1.jpg"


def export_dresscode(dataset: str | Path, out: str | Path, *, category: str | None = None,
                     splits: list[str] | None = None, progress: bool = True,
                     replace: bool = False) -> ConversionReport:
    """Export `dataset` to a Dress Code root at `out` (one folder per category; see the module docstring).

    Args:
        dataset: a vtonkit / HR-VITON dataset root.
        out: Dress Code root to write (created).
        category: only this category (and the category of samples the manifest does not know).
        splits: splits to export (default both).
        replace: empty the category folders first when they hold files (else refused).
    Returns:
        The report: converted samples, failures with reasons, notes on what was not written.
    """
    dataset, out = Path(dataset), Path(out)
    check_separate(dataset, out)
    report = ConversionReport("dresscode", out, notes=[UV_NOTE])
    samples = dataset_samples(dataset, splits, category)
    test_pairs = dataset_pair_lists(dataset)["test"]  # before any sample: an unreadable list writes nothing
    garments = dataset_garments(dataset, splits, category)
    prepare_export_folders((out / FOLDER_OF_CATEGORY[s.category] for s in [*samples, *garments]), replace,
                           stubs=EMPTY_CATEGORY_FILES)
    # Dress Code keeps train and test of a category in one folder: a name must be unique there.
    owner: dict[tuple[str, str], DatasetSample] = {}
    unique, unique_garments = [], []
    for sample in [*samples, *garments]:
        key = (sample.category, dresscode_id(sample.stem))
        if key in owner:
            first = owner[key]
            report.failures.append(SampleFailure(sample.split, sample.stem, f"Dress Code id {key[1]!r} already used by "
                                                 f"{first.split}/{first.stem} in {FOLDER_OF_CATEGORY[key[0]]}/"))
            continue
        owner[key] = sample
        (unique_garments if sample in garments else unique).append(sample)
    run_samples(unique, lambda s: export_sample(dataset, out, s), label=lambda s: (s.split, s.stem),
                report=report, description="export dresscode", progress=progress)
    run_samples(unique_garments, lambda s: export_garment(dataset, out, s), label=lambda s: (s.split, s.stem),
                report=report, description="export garments", progress=progress)
    done = set(report.converted)
    records = {split: placeholder_records(dataset, split) for split in layout.SPLITS}
    empty = []
    for category_name, folder in FOLDER_OF_CATEGORY.items():
        target = CategoryDir(out / folder)
        members = [s for s in unique if s.category == category_name and (s.split, s.stem) in done]
        shop_garments = [s for s in unique_garments if s.category == category_name and (s.split, s.stem) in done]
        if not members and not shop_garments:
            if write_empty_category(target):
                empty.append(folder)
            continue
        by_split = {split: {s.stem for s in members if s.split == split} for split in layout.SPLITS}
        # paired lists: each person in its own garment, not in a placeholder copy of another
        own = {split: sorted(by_split[split] - borrowed(records[split])) for split in layout.SPLITS}
        write_pairs(target.root / TRAIN_PAIRS, [_dc_pair((f"{s}.jpg", f"{s}.jpg")) for s in own["train"]])
        write_pairs(target.root / TEST_PAIRS_PAIRED, [_dc_pair((f"{s}.jpg", f"{s}.jpg")) for s in own["test"]])
        listed = exported_pairs(test_pairs, "test", by_split["test"],
                                {s.stem for s in shop_garments if s.split == "test"}, records["test"])
        # a person in its own garment is a paired line, which test_pairs_paired.txt holds: in the
        # unpaired list it was scored as an unpaired try-on
        unpaired = [pair for pair in listed if layout.stem_of(pair[0]) != layout.stem_of(pair[1])]
        if len(unpaired) < len(listed):
            report.notes.append(f"{folder}: {len(listed) - len(unpaired)} line(s) of the test pair list pair a person "
                                f"with its own garment: left out of {TEST_PAIRS_UNPAIRED} ({TEST_PAIRS_PAIRED} "
                                "holds every person in its own garment)")
        write_pairs(target.root / TEST_PAIRS_UNPAIRED, [_dc_pair(pair) for pair in unpaired])
        atomic_write_text(target.root / CAPTIONS, "")  # vtonkit keeps no garment descriptions
        target.write_stem_map({dresscode_id(s.stem): s.stem for s in [*members, *shop_garments]},
                              {dresscode_id(s.stem): s.split for s in shop_garments})
        target.write_placeholders({s.stem: records[s.split][s.stem] for s in members if s.stem in records[s.split]})
    if empty:
        report.notes.append(f"{', '.join(empty)}: no sample of that category, written with empty pair files and "
                            f"{CAPTIONS} only, as CatVTON and the official Dress Code loader open all three categories")
    return report
