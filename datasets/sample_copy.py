"""Copy the layout folders of a dataset (or of a sample set without pair lists) to a new root.

Used to build throw-away datasets from the VITON-HD sample files (tests, screenshots) without
touching the originals: only the HR-VITON layout folders are copied (extras such as
`gt_cloth_wraped_mask/` are left behind). Where the source has no pair list one is written: train
paired (person = garment), test unpaired (each person with the next person's garment), as the
official lists are. `inject_review_defects` adds the two defects the review tests and screenshots
show.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vtonkit.datasets import layout
from vtonkit.datasets.pairs import default_pairs, write_pairs


def copy_dataset(source: str | Path, target: str | Path) -> Path:
    """Copy `source/<split>/<layout folder>` for both splits to `target`; returns `target`."""
    source, target = Path(source), Path(target)
    data = layout.DatasetLayout(target)
    for split in layout.SPLITS:
        for folder in layout.ALL_FOLDERS:
            if (source / split / folder).is_dir():
                shutil.copytree(source / split / folder, target / split / folder)
        source_pairs = layout.DatasetLayout(source).pairs_file(split)
        if source_pairs.is_file():
            shutil.copy(source_pairs, data.pairs_file(split))
            continue
        write_pairs(data.pairs_file(split), default_pairs(split, data.split(split).person_stems()))
    return target


def inject_review_defects(root: str | Path) -> Path:
    """Break a copy of the VITON-HD samples in two ways the validator must flag; returns `root`.

    * train 00001_00: left and right arm labels (CIHP 14/15) swapped in its parse (a warning);
    * test 00008_00: its cloth mask deleted (an error).
    """
    import numpy as np
    from PIL import Image

    root = Path(root)
    parse_file = root / "train" / layout.PARSE / "00001_00.png"
    with Image.open(parse_file) as original:
        labels, palette = np.array(original), original.getpalette()
    swapped = labels.copy()
    swapped[labels == 14], swapped[labels == 15] = 15, 14
    image = Image.fromarray(swapped, "P")
    image.putpalette(palette)
    image.save(parse_file)
    (root / "test" / layout.CLOTH_MASK / "00008_00.jpg").unlink()
    return root


def replicate_samples(source: layout.SplitDir, target: layout.SplitDir, copies: int) -> tuple[list[str], list[str]]:
    """Link every sample of `source` into `target`, and `copies` more times under the stems `<stem>r<k>`.

    A large throw-away split from a few samples (catalog-scale tests and benchmarks of `vtonkit
    infer`): the files are symlinks to the originals, so nothing is copied. Returns the person
    stems and the garment stems of `target`.
    """
    target.make_folders()
    persons: list[str] = []
    cloths: list[str] = []
    for k in range(copies + 1):
        for stems, files, made in ((source.person_stems(), "person_files", persons),
                                   (source.cloth_stems(), "cloth_files", cloths)):
            for stem in stems:
                new = stem if k == 0 else f"{stem}r{k}"
                targets = getattr(target, files)(new)
                for folder, path in getattr(source, files)(stem).items():
                    if path.exists():
                        targets[folder].symlink_to(path.resolve())
                made.append(new)
    return persons, cloths
