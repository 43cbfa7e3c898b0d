"""vton_infer.data: reading a pair from a split folder, and clear errors for bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.layout import SplitDir
from vtonkit.vton_infer.data import collate, read_pair

from vtonkit.core.errors import InputError


def test_agnostic_can_be_read_from_the_shipped_file(vitonhd: Path) -> None:
    split = SplitDir(vitonhd / "test")
    from_file = read_pair(split, "00013_00", "00017_00", agnostic_source="file")
    assert np.array_equal(from_file.agnostic, read_rgb(split.agnostic("00013_00")))
    assert from_file.output_name == "00013_00_00017_00.png"
    batch = collate([from_file, read_pair(split, "00006_00.jpg", "00008_00.jpg")])
    assert batch["cloth"].shape == (2, 3, 1024, 768) and batch["parse_agnostic"].shape == (2, 13, 1024, 768)
    assert batch["cloth"].min() >= -1 and batch["cloth"].max() <= 1
    assert set(batch["cloth_mask"].unique().tolist()) <= {0.0, 1.0}
    assert bool((batch["parse_agnostic"].sum(1) == 1).all())  # a one-hot partition


def test_bad_files_are_named(vitonhd: Path, tmp_path: Path) -> None:
    split_dir = tmp_path / "test"
    shutil.copytree(vitonhd / "test", split_dir)
    split = SplitDir(split_dir)
    Image.open(split.densepose("00006_00")).resize((384, 512)).save(split.densepose("00006_00"))
    with pytest.raises(InputError, match=r"image-densepose/00006_00.jpg.*768x1024"):
        read_pair(split, "00006_00", "00008_00")
    split.cloth_mask("00008_00").unlink()
    with pytest.raises(InputError, match="cloth-mask/00008_00.jpg"):
        read_pair(split, "00013_00", "00008_00")
