"""Import VITON-HD (the `zalando-hd-resized` download) into the vtonkit layout.

StableVITON's copy cannot be imported: it has no `image-parse-v3` (its samples fail, each named).

VITON-HD already is the HR-VITON layout, so every file that exists is copied byte for byte (the
genuine annotations stay genuine). Folder names of VITON-HD's own loader (`image-parse`,
`openpose-json`, `openpose-img`) are accepted too. What a download may lack is made: the
skeleton image from the keypoints, and the three agnostic files by the official upper-body
recipe (`preprocess/agnostic.py`) when any of them is missing. A sample missing a file that
cannot be made (photo, garment, its mask, parse, keypoints, DensePose) is named with the reason.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

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
    copy_mask,
    refuse_unrecorded_samples,
    require_image,
    require_mask,
    run_samples,
    sample_outputs,
)
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.io.skeleton import write_skeleton
from vtonkit.datasets.manifest import CLOTHS, PERSONS, Manifest
from vtonkit.datasets.pairs import Pair, default_pairs, read_pairs
from vtonkit.preprocess.batch import recompute_sample

from vtonkit.core.errors import FormatError, InputError

SOURCE_URL = "https://github.com/shadow2496/VITON-HD"
LICENCE = "CC BY-NC 4.0"
# VITON-HD's own loader (datasets.py) names these folders differently from HR-VITON.
ALIASES = {layout.PARSE: "image-parse", layout.OPENPOSE_JSON: "openpose-json", layout.OPENPOSE_IMG: "openpose-img"}
REQUIRED = (layout.IMAGE, layout.CLOTH, layout.CLOTH_MASK, layout.PARSE, layout.OPENPOSE_JSON, layout.DENSEPOSE)
AGNOSTIC_FOLDERS = (layout.PARSE_AGNOSTIC, layout.AGNOSTIC, layout.AGNOSTIC_MASK)
MASK_FOLDERS = (layout.CLOTH_MASK, layout.AGNOSTIC_MASK)


def _source_file(source: layout.SplitDir, folder: str, stem: str) -> Path:
    path = {**source.person_files(stem), **source.cloth_files(stem)}[folder]
    if not path.is_file() and folder in ALIASES:
        alias = source.root / ALIASES[folder] / path.name
        if alias.is_file():
            return alias
    return path


def import_sample(source: layout.SplitDir, target: layout.SplitDir, stem: str) -> list[str]:
    """Copy one VITON-HD sample, checking the files the loaders decode, and make what is missing.

    Returns notes naming the masks rewritten to the file contract (`conversion.copy_mask`).
    """
    files = {folder: path for folder in layout.ALL_FOLDERS if (path := _source_file(source, folder, stem)).is_file()}
    targets = {**target.person_files(stem), **target.cloth_files(stem)}
    # first: a sample of that name made from another photo is what to report, whatever else this one lacks
    check_not_foreign(targets[layout.IMAGE], _source_file(source, layout.IMAGE, stem), stem)
    for folder in REQUIRED:
        if folder not in files:
            raise InputError(_source_file(source, folder, stem), f"missing ({folder} cannot be made from the other files)")
    body25 = read_keypoints(files[layout.OPENPOSE_JSON], fmt="body25")
    read_parse(files[layout.PARSE])
    masks = {folder: require_mask(files[folder], cloth=folder == layout.CLOTH_MASK)
             for folder in MASK_FOLDERS if folder in files}
    for folder, path in files.items():  # the byte copies below must open in the loaders too
        if folder not in (layout.OPENPOSE_JSON, *MASK_FOLDERS):
            require_image(path, folder)
    for folder in (*AGNOSTIC_FOLDERS, layout.OPENPOSE_IMG):  # made again below when the source lacks them:
        if folder not in files:  # an earlier import's copy must not stand in for them
            targets[folder].unlink(missing_ok=True)
    notes = [note for folder, mask in masks.items() if (note := copy_mask(files[folder], targets[folder], mask, folder))]
    for folder, path in files.items():
        if folder not in masks:
            copy_file(path, targets[folder])
    if layout.OPENPOSE_IMG not in files:
        write_skeleton(target.openpose_img(stem), body25, layout.HEIGHT, layout.WIDTH)
    if not all(folder in files for folder in AGNOSTIC_FOLDERS):
        recompute_sample(target, stem, "upper", keep_existing=True)  # the genuine ones copied above stay
    return notes


def import_vitonhd(source: str | Path, out: str | Path, *, progress: bool = True) -> ConversionReport:
    """Import the `train/` and `test/` splits of a VITON-HD root into the vtonkit dataset `out`."""
    source, out = Path(source), Path(out)
    check_separate(source, out)
    splits = [split for split in layout.SPLITS if (source / split).is_dir()]
    if not splits:
        raise InputError(source, "no train/ or test/ folder: not a VITON-HD root")
    report = ConversionReport("vtonkit", out, notes=[LICENCE_NOTE])
    data_in, data_out = layout.DatasetLayout(source), layout.DatasetLayout(out)
    manifest = Manifest.load(out)
    manifest.refuse_other_categories("upper", "importing VITON-HD (upper-body) samples")
    record = {"category": "upper", "dataset": "VITON-HD", "source_url": SOURCE_URL, "licence": LICENCE}
    jobs = [(split, stem) for split in splits for stem in data_in.split(split).person_stems()]
    refuse_unrecorded_samples(out, manifest, {job: data_in.split(job[0]).image(job[1]) for job in jobs},
                              "importing VITON-HD (upper-body) samples")

    def convert(job: tuple[str, str]) -> None:
        split, stem = job
        source_split = data_in.split(split)
        check_stem(stem, source_split.image(stem))
        report.notes.extend(import_sample(source_split, data_out.split(split), stem))
        for kind, path in ((PERSONS, source_split.image(stem)), (CLOTHS, source_split.cloth(stem))):
            manifest.entries(split, kind)[stem] = {"source": str(path.resolve()),
                                                   "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), **record}

    try:
        run_samples(jobs, convert, label=lambda job: job, report=report, description="import vitonhd",
                    progress=progress, outputs=lambda job: sample_outputs(data_out.split(job[0]), job[1]))
    finally:  # interrupted (Ctrl-C), the samples written so far are recorded with their category all the same
        manifest.save()
    for split in splits:
        stems = {stem for s, stem in report.converted if s == split}
        if not stems:
            continue
        pairs_file = data_in.pairs_file(split)
        pairs = default_pairs(split, sorted(stems))
        if pairs_file.is_file():
            try:
                listed = read_pairs(pairs_file)
            except FormatError as exc:  # the samples are in: give them the default pairs rather than none
                report.notes.append(f"{exc}; the {split} samples get the default pair list instead")
            else:
                pairs = [pair for pair in listed if all(layout.stem_of(n) in stems for n in pair)]
                _name_dropped_pair_lines(report, split, data_in.split(split), pairs_file, listed, pairs, stems)
        add_pairs(data_out.pairs_file(split), pairs)
    return report


def _name_dropped_pair_lines(report: ConversionReport, split: str, source: layout.SplitDir, pairs_file: Path,
                             listed: list[Pair], kept: list[Pair], stems: set[str]) -> None:
    """Say why lines of the source's pair list were left out (they went silently): a sample the list
    names that the source lacks is missing, like a Dress Code import's; one that failed is named among
    the failures already; and the imported persons that no kept line pairs are noted."""
    failed = {failure.sample for failure in report.failures if failure.split == split}
    absent = dict.fromkeys(layout.stem_of(name) for pair in listed for name in pair
                           if layout.stem_of(name) not in stems and layout.stem_of(name) not in failed)
    for stem in absent:
        report.missing.append(SampleFailure(split, stem, f"{source.image(stem)}: file not found, though "
                                                         f"{pairs_file} lists it"))
    dropped = len(listed) - len(kept)
    if dropped:
        report.notes.append(f"{pairs_file}: {dropped} of {len(listed)} lines left out of the imported {split} pair "
                            "list, as they name a sample that was not imported")
    unpaired = sorted(stems - {layout.stem_of(person) for person, _ in kept})
    if unpaired:
        shown = ", ".join(unpaired[:5]) + (f" and {len(unpaired) - 5} more" if len(unpaired) > 5 else "")
        report.notes.append(f"{pairs_file} pairs no garment with {len(unpaired)} imported {split} person(s) "
                            f"({shown}): they are in no pair line; `vtonkit pairs` writes a list for all of them")
