"""`infer` refuses inputs that would give an empty try-on, and prints file names as text (issue #15).

Real VITON-HD samples copied into a folder named `odd[/x]` (rich-markup brackets in every path),
with real files broken the way a careless pipeline breaks them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from vtonkit.datasets.layout import SplitDir
from vtonkit.vton_infer.data import read_pair

from vtonkit.cli import app
from vtonkit.core.errors import InputError


@pytest.fixture(scope="module")
def odd_dataset(vitonhd: Path, tmp_path_factory) -> Path:
    """The test split under `.../odd[/x]/`: 00008_00's cloth mask all black, 00013_00's all white,
    00017_00's a few stray pixels and its stored agnostic replaced by the plain photo (no grey)."""
    root = tmp_path_factory.mktemp("infer") / "odd[" / "x]"
    shutil.copytree(vitonhd / "test", root / "test")
    split = SplitDir(root / "test")
    Image.new("L", (768, 1024), 0).save(split.cloth_mask("00008_00"), quality=95)
    Image.new("L", (768, 1024), 255).save(split.cloth_mask("00013_00"), quality=95)
    stray = Image.new("L", (768, 1024), 0)
    stray.paste(255, (380, 500, 400, 520))  # 400 pixels: 0.05 % of the frame
    stray.save(split.cloth_mask("00017_00"), quality=95)
    shutil.copy(split.image("00017_00"), split.agnostic("00017_00"))
    (root / "test_pairs.txt").write_text("00006_00.jpg 00008_00.jpg\n00006_00.jpg 00034_00.jpg\n")
    return root


def test_read_pair_refuses_empty_and_full_masks_and_a_missing_grey_region(odd_dataset: Path) -> None:
    split = SplitDir(odd_dataset / "test")
    with pytest.raises(InputError, match=r"cloth-mask/00008_00\.jpg.*empty"):
        read_pair(split, "00006_00", "00008_00")
    with pytest.raises(InputError, match=r"cloth-mask/00013_00\.jpg.*100\.0% of the image \(full frame\)"):
        read_pair(split, "00006_00", "00013_00")
    with pytest.raises(InputError, match=r"cloth-mask/00017_00\.jpg.*nearly empty"):
        read_pair(split, "00006_00", "00017_00")
    with pytest.raises(InputError, match=r"agnostic-v3\.2/00017_00\.jpg.*no grey region"):
        read_pair(split, "00017_00", "00034_00", agnostic_source="file")
    # the genuine files of the same persons and garments still read, stored or computed agnostic
    sample = read_pair(split, "00017_00", "00034_00")
    assert (
        sample.cloth_mask.any() and (np.abs(sample.agnostic.astype(int) - 128) <= 8).all(axis=2).mean() > 0.2
    )
    assert read_pair(split, "00006_00", "00034_00", agnostic_source="file").person == "00006_00"


def test_infer_names_the_bad_file_and_fails_and_paths_print_as_text(odd_dataset: Path) -> None:
    out = odd_dataset / "out"
    wide = {"COLUMNS": "400"}  # wide output where the console is made for this run
    result = CliRunner().invoke(
        app, ["infer", str(odd_dataset), "--split", "test", "--out", str(out), "--threads", "1"], env=wide
    )
    # the shared rich console may have been created (with its width) by an earlier test in this
    # process: undo its line folding, which only inserts newlines into a path that has no spaces
    output = result.output.replace("\n", "")
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert result.exit_code == 1, output  # one pair refused: not a silent exit-0 preview
    assert "cloth-mask/00008_00.jpg" in output and "empty" in output
    assert "odd[/x]" in output  # the path is printed as it is, not parsed as rich markup
    assert sorted(p.name for p in out.glob("*.png")) == ["00006_00_00034_00.png"]
    # validate prints the same folder name (its summary and the report path) as text too
    result = CliRunner().invoke(
        app, ["validate", str(odd_dataset), "--split", "test", "--workers", "1"], env=wide
    )
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    flat = result.output.replace("\n", "")
    assert "mask-empty" in flat and "odd[/x]" in flat
