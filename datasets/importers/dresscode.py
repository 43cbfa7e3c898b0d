"""Import Dress Code (one category folder, or the root with all three) into the vtonkit layout.

Per sample `<id>`: the person and garment photos byte for byte; `keypoints/<id>_2.json`
(COCO-18, 512x384) converted to BODY_25 at 1024x768 and its skeleton rendered; `label_maps`
(Dress Code-18) converted to CIHP-20; DensePose: the shipped `image-densepose/<id>_0.jpg` byte for
byte when present, else rendered in the HR-VITON PARULA colours from the part ids of
`dense/<id>_5.png`; the cloth mask from `cloth_mask/<id>_1.png` when present (vtonkit's own
exports) or computed by the `cv` cloth masker; the three agnostic files by the
category's recipe (`preprocess/agnostic.py`). Splits come from the pair files (`train_pairs.txt`
-> train, `test_pairs_*.txt` -> test); ids in none of them go to `unlisted_split`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from vtonkit.datasets import layout
from vtonkit.datasets.conversion import (
    LICENCE_NOTE,
    ConversionReport,
    SampleFailure,
    add_pairs,
    check_not_foreign,
    check_separate,
    check_stem,
    copy_file,
    refuse_unrecorded_samples,
    run_samples,
    sample_outputs,
    spec_problem,
)
from vtonkit.datasets.dresscode_layout import (
    TEST_PAIRS_PAIRED,
    TEST_PAIRS_UNPAIRED,
    TRAIN_PAIRS,
    IMAGES,
    CategoryDir,
    category_dirs,
)
from vtonkit.datasets.io.densepose import NUM_PARTS, write_densepose
from vtonkit.datasets.io.images import open_image, read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints, write_openpose_json
from vtonkit.datasets.io.masks import read_mask, write_mask
from vtonkit.datasets.io.parse import write_parse
from vtonkit.datasets.io.skeleton import write_skeleton
from vtonkit.datasets.labels import DRESSCODE_LABELS, to_cihp
from vtonkit.datasets.manifest import CLOTHS, PERSONS, PLACEHOLDERS, Manifest
from vtonkit.datasets.pairs import Pair, default_pairs, read_pairs
from vtonkit.preprocess.batch import recompute_sample
from vtonkit.preprocess.stages import CLOTH_MASKERS

from vtonkit.core.errors import FormatError, InputError

SOURCE_URL = "https://github.com/aimagelab/dress-code"
LICENCE = "Dress Code licence: non-commercial research only, no redistribution"


def _read_ids(path: Path, column: int, skipped: list[str]) -> set[str]:
    """Ids in one column of a Dress Code pair file (`<id>_0.jpg <id>_1.jpg`), empty when absent; a
    bad line is described in `skipped` and costs only itself."""
    if not path.is_file():
        return set()
    suffix = "_0.jpg" if column == 0 else "_1.jpg"
    return {pair[column][: -len(suffix)] for pair in read_pairs(path, skipped=skipped) if pair[column].endswith(suffix)}


def _listed_ids(folder: CategoryDir, skipped: list[str]) -> dict[str, tuple[str, str]]:
    """`{dc id: (split, pair file name)}` of the person ids the category's pair files list (train wins)."""
    listed: dict[str, tuple[str, str]] = {}
    for name, split in ((TEST_PAIRS_UNPAIRED, "test"), (TEST_PAIRS_PAIRED, "test"), (TRAIN_PAIRS, "train")):
        listed.update(dict.fromkeys(_read_ids(folder.root / name, 0, skipped), (split, name)))
    return listed


def _raw_ids(path: Path, what: str, limit: int) -> np.ndarray:
    """A single-channel id map (label map or DensePose part ids) with its range checked."""
    image = open_image(path)
    if image.mode not in ("P", "L"):
        raise FormatError(path, f"{what} has mode {image.mode}: expected raw ids in mode P or L")
    ids = np.array(image, dtype=np.uint8)
    if ids.shape != (layout.HEIGHT, layout.WIDTH):
        raise FormatError(path, f"{what} is {ids.shape[1]}x{ids.shape[0]}, expected {layout.WIDTH}x{layout.HEIGHT}")
    if ids.size and int(ids.max()) >= limit:
        raise FormatError(path, f"{what} has ids up to {int(ids.max())}, expected 0..{limit - 1}")
    return ids


def _checked_photo(path: Path) -> None:
    image = open_image(path)
    if image.format != "JPEG" or image.mode != "RGB" or image.size != (layout.WIDTH, layout.HEIGHT):
        raise FormatError(path, f"{image.format} {image.mode} {image.width}x{image.height}: expected an RGB JPEG "
                          f"of {layout.WIDTH}x{layout.HEIGHT}")


def _cloth_mask(source: CategoryDir, dc_id: str, masker) -> np.ndarray:
    if source.cloth_mask(dc_id).is_file():
        return read_mask(source.cloth_mask(dc_id))
    mask = masker.mask(read_rgb(source.garment(dc_id)))
    if not mask.any():
        raise InputError(source.garment(dc_id), "no garment found (the computed cloth mask is empty)")
    return mask


def _garment_only_ids(folder: CategoryDir, person_ids: set[str], unlisted_split: str | None) -> dict[str, str]:
    """`{dc id: split}` of garments with no person photo of their own (a shop's garments, as `vtonkit
    export` writes them), imported as garments only: in the split of the pair file that puts them on
    a person, else in the split `vtonkit_stems.txt` records, else in `unlisted_split`, as an unlisted
    person goes (a round trip dropped the garments no pair line named)."""
    found: dict[str, str] = {}
    for name, split in ((TEST_PAIRS_UNPAIRED, "test"), (TRAIN_PAIRS, "train")):
        for dc_id in _read_ids(folder.root / name, 1, []):  # bad lines: in the notes already
            if dc_id not in person_ids and folder.garment(dc_id).is_file():
                found.setdefault(dc_id, split)
    recorded = folder.read_garment_splits()  # what a vtonkit export knew of the others
    if (folder.root / IMAGES).is_dir():
        for garment in sorted((folder.root / IMAGES).glob("*_1.jpg")):
            dc_id = garment.name[: -len("_1.jpg")]
            split = recorded.get(dc_id, unlisted_split)
            if not garment.name.startswith(".") and dc_id not in person_ids and split is not None:
                found.setdefault(dc_id, split)
    return found


def import_garment(source: CategoryDir, dc_id: str, split_dir: layout.SplitDir, stem: str, masker) -> None:
    """Convert one garment-only id (`<id>_1.jpg`, no person) into `split_dir`'s cloth folders."""
    check_not_foreign(split_dir.cloth(stem), source.garment(dc_id), stem)  # first: the name clash is the problem
    _checked_photo(source.garment(dc_id))
    cloth_mask = _cloth_mask(source, dc_id, masker)
    copy_file(source.garment(dc_id), split_dir.cloth(stem))
    write_mask(split_dir.cloth_mask(stem), cloth_mask)


def import_sample(source: CategoryDir, dc_id: str, split_dir: layout.SplitDir, stem: str, masker) -> None:
    """Convert one Dress Code sample into `split_dir` under `stem`."""
    check_not_foreign(split_dir.image(stem), source.person(dc_id), stem)  # first: the name clash is the problem
    for photo in (source.person(dc_id), source.garment(dc_id)):
        _checked_photo(photo)
    body25 = read_keypoints(source.keypoints(dc_id), fmt="dresscode", image_size=(layout.HEIGHT, layout.WIDTH))
    labels = _raw_ids(source.label_map(dc_id), "label map", len(DRESSCODE_LABELS))
    parts = _raw_ids(source.dense(dc_id), "DensePose part ids", NUM_PARTS + 1)
    cloth_mask = _cloth_mask(source, dc_id, masker)
    copy_file(source.person(dc_id), split_dir.image(stem))
    copy_file(source.garment(dc_id), split_dir.cloth(stem))
    write_mask(split_dir.cloth_mask(stem), cloth_mask)
    write_openpose_json(split_dir.openpose_json(stem), body25)
    write_skeleton(split_dir.openpose_img(stem), body25, layout.HEIGHT, layout.WIDTH)
    write_parse(split_dir.parse(stem), to_cihp(labels, "dresscode"))
    rendered = source.densepose(dc_id)
    if rendered.is_file() and spec_problem(rendered, layout.DENSEPOSE) is None:
        copy_file(rendered, split_dir.densepose(stem))  # the shipped rendering (IDM-VTON's), kept as it is
    else:
        write_densepose(split_dir.densepose(stem), parts)
    recompute_sample(split_dir, stem, source.category)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_dresscode(source: str | Path, out: str | Path, *, category: str | None = None,
                     unlisted_split: str | None = "train", progress: bool = True) -> ConversionReport:
    """Import a Dress Code root (or one category folder) into the vtonkit dataset `out`.

    Args:
        source: Dress Code root with `upper_body/`, `lower_body/`, `dresses/`, or one of them.
        out: vtonkit dataset root (created). One dataset holds one category, because the agnostic
            files and `vtonkit validate --category` are per category.
        category: which category to import; required when `source` holds more than one.
        unlisted_split: split for ids no pair file names ("train", "test", or None to skip them).
    """
    source, out = Path(source), Path(out)
    check_separate(source, out)
    folders = category_dirs(source)
    found = [folder.root.name for folder in folders]
    if category is not None:
        folders = [folder for folder in folders if folder.category == category]
    else:  # an export's other categories are stubs (empty pair files for the loaders that open all three)
        folders = [folder for folder in folders if folder.person_ids()] or folders
    if not folders:
        if category is not None and found:  # the folders are there, not the one asked for
            raise InputError(source, f"no Dress Code folder of category {category!r} here (it holds "
                             + ", ".join(found) + ")")
        raise InputError(source, "no Dress Code category folder (upper_body, lower_body, dresses) here")
    if len(folders) > 1:
        raise InputError(source, "holds several categories (" + ", ".join(f.root.name for f in folders)
                         + "): pass --category upper, lower or dresses (one dataset per category)")
    folder = folders[0]
    report = ConversionReport("vtonkit", out, notes=[LICENCE_NOTE])
    skipped_lines: list[str] = []
    listed = _listed_ids(folder, skipped_lines)
    report.notes.extend(skipped_lines)
    stem_of_id = folder.read_stem_map()
    placeholders = folder.read_placeholders()
    data = layout.DatasetLayout(out)
    manifest = Manifest.load(out)
    manifest.refuse_other_categories(folder.category, f"importing Dress Code {folder.root.name} samples")
    jobs: list[tuple[str, str, str]] = []  # (split, dc id, stem)
    person_ids = folder.person_ids()
    for dc_id in sorted(listed.keys() - set(person_ids)):
        split, pair_file = listed[dc_id]
        report.missing.append(SampleFailure(split, folder.person(dc_id).name,
                                            f"{folder.person(dc_id)}: file not found, though {pair_file} lists it"))
    for dc_id in person_ids:
        split = listed[dc_id][0] if dc_id in listed else unlisted_split
        if split is None:
            report.notes.append(f"{folder.person(dc_id)}: in no pair file, skipped")
            continue
        jobs.append((split, dc_id, stem_of_id.get(dc_id, dc_id)))
    if not jobs:
        raise InputError(folder.root / "images", "no person photo (<id>_0.jpg) to import here"
                         + (" that a pair file names" if unlisted_split is None else ""))
    refuse_unrecorded_samples(out, manifest, {(split, stem): folder.person(dc_id) for split, dc_id, stem in jobs},
                              f"importing Dress Code {folder.root.name} samples")
    masker = CLOTH_MASKERS.build("cv")
    imported: list[tuple[str, str, str]] = []

    def convert(job: tuple[str, str, str]) -> None:
        split, dc_id, stem = job
        check_stem(stem, folder.person(dc_id))
        import_sample(folder, dc_id, data.split(split), stem, masker)
        record = {"category": folder.category, "dataset": "Dress Code", "source_url": SOURCE_URL, "licence": LICENCE}
        manifest.entries(split, PERSONS)[stem] = {"source": str(folder.person(dc_id).resolve()),
                                                  "sha256": _sha256(folder.person(dc_id)), **record}
        if stem in placeholders:  # a copy of another garment, as `vtonkit pairs` recorded it
            manifest.entries(split, PLACEHOLDERS)[stem] = placeholders[stem]
            manifest.entries(split, CLOTHS).pop(stem, None)
        else:
            manifest.entries(split, CLOTHS)[stem] = {"source": str(folder.garment(dc_id).resolve()),
                                                     "sha256": _sha256(folder.garment(dc_id)), **record}
            manifest.entries(split, PLACEHOLDERS).pop(stem, None)
        imported.append(job)

    garments: list[tuple[str, str, str]] = []

    def convert_garment(job: tuple[str, str, str]) -> None:
        split, dc_id, stem = job
        check_stem(stem, folder.garment(dc_id))
        import_garment(folder, dc_id, data.split(split), stem, masker)
        manifest.entries(split, CLOTHS)[stem] = {
            "source": str(folder.garment(dc_id).resolve()), "sha256": _sha256(folder.garment(dc_id)),
            "category": folder.category, "dataset": "Dress Code", "source_url": SOURCE_URL, "licence": LICENCE}
        garments.append(job)

    garment_jobs = [(split, dc_id, stem_of_id.get(dc_id, dc_id))
                    for dc_id, split in sorted(_garment_only_ids(folder, set(person_ids), unlisted_split).items())]
    try:
        run_samples(jobs, convert, label=lambda job: (job[0], folder.person(job[1]).name), report=report,
                    description=f"import dresscode/{folder.root.name}", progress=progress,
                    outputs=lambda job: sample_outputs(data.split(job[0]), job[2]))
        run_samples(garment_jobs, convert_garment, label=lambda job: (job[0], folder.garment(job[1]).name),
                    report=report, description=f"import dresscode/{folder.root.name} garments", progress=progress,
                    outputs=lambda job: list(data.split(job[0]).cloth_files(job[2]).values()))
    finally:  # interrupted (Ctrl-C), the samples written so far are recorded with their category all the same
        manifest.save()
    for split in layout.SPLITS:
        stem_by_id = {dc_id: stem for s, dc_id, stem in imported if s == split}
        garment_by_id = {dc_id: stem for s, dc_id, stem in garments if s == split}
        if stem_by_id:
            dropped: list[str] = []
            add_pairs(data.pairs_file(split), _pairs(folder, split, stem_by_id, garment_by_id, dropped))
            if dropped:
                report.notes.append(f"{len(dropped)} line(s) of {folder.root / _pair_file(split)} put a {split} "
                                    f"person in a garment not imported into {split} (a pair list holds one "
                                    f"split), left out: {', '.join(dropped[:3])}" + (" ..." if len(dropped) > 3 else ""))
    return report


def _pair_file(split: str) -> str:
    return TRAIN_PAIRS if split == "train" else TEST_PAIRS_UNPAIRED


def _pairs(folder: CategoryDir, split: str, stem_by_id: dict[str, str],
           garment_by_id: dict[str, str] | None = None, dropped: list[str] | None = None) -> list[Pair]:
    """The category's own pairs of imported ids (unpaired list for test; a garment may be a
    garment-only id), else the default list of the persons. Lines whose person was imported into
    `split` but whose garment was not are described in `dropped`."""
    source = folder.root / _pair_file(split)
    cloth_by_id = {**(garment_by_id or {}), **stem_by_id}
    pairs = []
    if source.is_file():
        for person, cloth in read_pairs(source, skipped=[]):  # its bad lines are in the notes already
            person_id, cloth_id = person[: -len("_0.jpg")], cloth[: -len("_1.jpg")]
            if person_id in stem_by_id and cloth_id in cloth_by_id:
                pairs.append((f"{stem_by_id[person_id]}.jpg", f"{cloth_by_id[cloth_id]}.jpg"))
            elif person_id in stem_by_id and dropped is not None:
                dropped.append(f"{person} {cloth}")
    return pairs or default_pairs(split, sorted(stem_by_id.values()))
