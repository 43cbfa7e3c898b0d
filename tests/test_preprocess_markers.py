"""Completion markers: a re-run of `prep` skips a sample only while the outputs it wrote are still whole."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner
from vtonkit.datasets.layout import DatasetLayout
from vtonkit.preprocess.markers import CompletionMarker, completed_warnings, marker_path

from vtonkit.cli import app

PERSONS = ("01008_00.jpg", "01861_00.jpg")
GARMENTS = ("00055_00.jpg", "00126_00.jpg")


def _marker_with_files(dataset: Path, sizes: dict[str, bytes]) -> CompletionMarker:
    marker = CompletionMarker(marker_path(dataset, "test", "cloth", "a"), "key", dataset)
    paths = []
    for name, data in sizes.items():
        path = dataset / "test" / name / "a.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    marker.write("a.jpg", ["a note"], paths)
    return marker


def test_a_sample_is_complete_while_its_outputs_keep_the_sizes_the_marker_recorded(tmp_path):
    _marker_with_files(tmp_path, {"cloth": b"x" * 9000, "cloth-mask": b"y" * 700})
    assert completed_warnings(tmp_path, "test", "cloth", "a", "key") == ["a note"]
    assert completed_warnings(tmp_path, "test", "cloth", "a", "other key") is None
    (tmp_path / "test" / "cloth" / "a.jpg").write_bytes(b"x" * 5000)  # cut short, not empty
    assert completed_warnings(tmp_path, "test", "cloth", "a", "key") is None


def test_an_older_marker_without_sizes_counts_an_empty_output_as_damaged(tmp_path):
    marker = _marker_with_files(tmp_path, {"cloth": b"x" * 9000, "cloth-mask": b"y" * 700})
    older = json.loads(marker.path.read_text())
    del older["sizes"]
    marker.path.write_text(json.dumps(older))
    (tmp_path / "test" / "cloth" / "a.jpg").write_bytes(b"x" * 5000)  # no size to compare with: still complete
    assert completed_warnings(tmp_path, "test", "cloth", "a", "key") == ["a note"]
    (tmp_path / "test" / "cloth-mask" / "a.jpg").write_bytes(b"")
    assert completed_warnings(tmp_path, "test", "cloth", "a", "key") is None


@pytest.mark.slow
def test_a_rerun_rebuilds_samples_whose_outputs_were_emptied_or_cut_short(photos, tmp_path):
    """A re-run said "0 samples written, 4 already complete" over an emptied DensePose and a photo cut
    to 5000 bytes (completion only asked whether each file existed): the broken files stayed."""
    persons, cloths = tmp_path / "persons", tmp_path / "cloths"
    for folder, kind, names in ((persons, "persons", PERSONS), (cloths, "garments", GARMENTS)):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes((photos / kind / name).read_bytes())
    dataset = tmp_path / "ds"
    command = ["prep", "--persons", str(persons), "--cloths", str(cloths), "--out", str(dataset), "--split", "test",
               "--no-progress", "--in-process"]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    split = DatasetLayout(dataset).split("test")
    whole = {path: path.read_bytes() for path in (split.densepose("01008_00"), split.image("01861_00"))}

    again = CliRunner().invoke(app, command)  # untouched: every sample is skipped
    assert again.exit_code == 0, again.output
    assert "prep test: 0 samples written (0 with warnings), 4 already complete, 0 failed" in again.output

    split.densepose("01008_00").write_bytes(b"")
    with open(split.image("01861_00"), "r+b") as image:
        image.truncate(5000)
    rerun = CliRunner().invoke(app, command)
    assert rerun.exit_code == 0, rerun.output
    said = " ".join(rerun.output.split())
    assert ("prep test: 2 samples written (0 with warnings, 2 rebuilt because an output was damaged), "
            "2 already complete, 0 failed") in said, said
    assert {path: path.read_bytes() for path in whole} == whole  # the stage cache gives the same bytes back
    assert os.path.getsize(split.image("01861_00")) > 5000
