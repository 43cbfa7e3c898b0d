"""Inputs that are not plain image files, and file names that look like rich markup, through the real CLIs.

A FIFO, a dangling symbolic link and a symbolic link loop named `.jpg` must each get an error record
that names it (never a silent skip, never a hang: a FIFO must not be opened for reading), and a
path holding `[/x]` must be printed as text, not parsed as markup (which crashed the summary).
Garment shots are used (the cheap classic cloth-mask backend), in-process (no worker pool).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtonkit.cli import app

pytestmark = pytest.mark.timeout(120)  # a FIFO opened for reading would hang forever


def _odd_inputs(folder: Path) -> dict[str, str]:
    """{file name: expected reason} of three non-files named like images."""
    folder.mkdir(parents=True)
    os.mkfifo(folder / "fifo.jpg")
    (folder / "dangling.jpg").symlink_to(folder / "gone.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    return {"fifo.jpg": "not a regular file (a FIFO)", "dangling.jpg": "dangling symbolic link",
            "loop.jpg": "symbolic link loop"}


def test_prep_reports_fifo_and_broken_links_by_name(tmp_path):
    expected = _odd_inputs(tmp_path / "shots")
    out = tmp_path / "dataset"
    result = CliRunner().invoke(app, ["prep", "--cloths", str(tmp_path / "shots"), "--out", str(out), "--split",
                                      "test", "--in-process", "--no-progress"])
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in (out / "prep-errors.jsonl").read_text().splitlines()]
    reasons = {Path(r["file"]).name: r["reason"] for r in records}
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name]
        assert name in result.output


def test_prep_person_reports_a_fifo_without_opening_it(tmp_path):
    expected = _odd_inputs(tmp_path / "photos")
    result = CliRunner().invoke(app, ["prep-person", *(str(tmp_path / "photos" / n) for n in expected), "--out",
                                      str(tmp_path / "out" / "test")])
    assert result.exit_code == 1
    for name, reason in expected.items():
        assert f"{name}: {reason}" in result.output.replace("\n", "")


def test_markup_like_paths_are_printed_as_text(tmp_path):
    shots = tmp_path / "odd["  # with the file below, the path holds "odd[/x].jpg"
    shots.mkdir()
    (shots / "x].jpg").write_bytes(b"not a JPEG")
    out = tmp_path / "dataset"
    result = CliRunner().invoke(app, ["prep", "--cloths", str(shots), "--out", str(out), "--split", "test",
                                      "--in-process", "--no-progress"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "odd[/x].jpg: not an image" in result.output.replace("\n", "")
    result = CliRunner().invoke(app, ["prep-cloth", str(shots / "x].jpg"), "--out", str(tmp_path / "c" / "test")])
    assert result.exit_code == 1 and "odd[/x].jpg" in result.output.replace("\n", "")


def test_agnostic_prints_markup_like_paths_as_text(tmp_path):
    split = tmp_path / "odd[" / "test"
    (split / "image").mkdir(parents=True)
    (split / "image" / "x].jpg").write_bytes(b"not a JPEG")
    result = CliRunner().invoke(app, ["agnostic", str(split)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "x]: " in result.output and "odd[/test" in result.output.replace("\n", "")
