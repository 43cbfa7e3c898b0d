"""The same usage mistake gets the same answer from every command: an unknown choice is a usage
error (exit 2) naming the valid ones, found before any work or file is touched; messages keep paths
whole when stderr is not a terminal."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtonkit.cli import app
from vtonkit.datasets.importers.vitonhd import import_vitonhd

from tests.conftest import shared_path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VITON-HD import (upper, train and test)."""
    work = tmp_path_factory.mktemp("datasets")
    assert import_vitonhd(shared_path("data", "vitonhd"), work / "mine", progress=False).exit_code() == 0
    return work / "mine"


@pytest.fixture
def mine(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the dataset (commands under test may write into it)."""
    return Path(shutil.copytree(built, tmp_path / "mine"))


def test_pairs_refuses_an_unknown_category_and_leaves_the_list(mine: Path) -> None:
    before = (mine / "test_pairs.txt").read_bytes()
    result = CliRunner().invoke(app, ["pairs", str(mine), "--category", "bogus"])
    assert result.exit_code == 2, result.output
    assert "upper" in result.output and "dresses" in result.output
    assert (mine / "test_pairs.txt").read_bytes() == before


def test_pairs_unknown_split_is_a_usage_error(mine: Path) -> None:
    result = CliRunner().invoke(app, ["pairs", str(mine), "--split", "valid"])
    assert result.exit_code == 2, result.output
    assert "train" in result.output and "test" in result.output


def test_import_dresscode_refuses_an_unknown_category_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["import", "dresscode", str(shared_path("data", "dresscode")),
                                      "--category", "bogus", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "bogus" in result.output and "upper, lower, dresses" in result.output
    assert "no Dress Code category folder" not in result.output
    assert not out.exists()


def test_import_dresscode_names_the_category_folders_it_found(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "dresscode", str(shared_path("data", "dresscode", "lower_body")),
                                      "--category", "upper", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "lower_body" in result.output and "no Dress Code category folder" not in result.output


@pytest.mark.parametrize("option", [["--flag", "any"], ["--limit", "3"], ["--thumb", "64"]])
def test_review_static_only_options_need_static(mine: Path, option: list[str]) -> None:
    # a subprocess with a timeout: ignoring the option, review started the app and never returned
    result = subprocess.run([sys.executable, "-m", "vtonkit", "review", str(mine), "--port", "0", *option],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 2, result.stderr
    assert option[0] in result.stderr and "--static" in result.stderr


@pytest.mark.parametrize("extra", [[], ["--vgg-width", "8"]])
def test_train_names_a_missing_split_first(built: Path, tmp_path: Path, extra: list[str]) -> None:
    """Without a train split: that split is the error, not a VGG-weights one, and no category note first."""
    dataset = tmp_path / "only-test"
    shutil.copytree(built / "test", dataset / "test")
    shutil.copy(built / "test_pairs.txt", dataset / "test_pairs.txt")
    result = CliRunner().invoke(app, ["train", str(dataset), "--stage", "condition", "--out", str(tmp_path / "tr"),
                                      "--steps", "1", "--batch-size", "1", *extra])
    assert result.exit_code == 2, result.output
    assert "no such split folder" in result.output
    assert "no garment category" not in result.output and "vgg" not in result.output.lower()
    assert not (tmp_path / "tr").exists()


def _long_folder(tmp_path: Path) -> Path:
    """A folder whose path is longer than the 80 columns rich assumes when stderr is no terminal."""
    folder = tmp_path / ("d" * 60) / ("e" * 60)
    folder.mkdir(parents=True)
    return folder


def _stderr_at_80_columns(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "vtonkit", *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "80"})
    return result.stderr


@pytest.mark.parametrize("command", ["agnostic", "review", "validate", "prep-person", "prep-cloth"])
def test_messages_keep_long_paths_whole_in_a_pipe(built: Path, tmp_path: Path, command: str) -> None:
    long = _long_folder(tmp_path)
    if command == "agnostic":  # the console of vtonkit.core.progress (infer, agnostic, evaluate, train)
        shutil.copytree(built, long / "ds")
        path = long / "ds" / "test"
        stderr = _stderr_at_80_columns("agnostic", str(path))
    elif command == "review":
        path = long / "review.html"
        dataset = shutil.copytree(built, tmp_path / "mine")  # review writes its validate report there
        stderr = _stderr_at_80_columns("review", str(dataset), "--static", str(path))
    elif command == "validate":  # its "report: <path>" line
        path = long / "report.json"
        stderr = _stderr_at_80_columns("validate", str(shutil.copytree(built, tmp_path / "mine")), "--json", str(path))
    else:  # a folder without images: the error names it
        path = long / "empty"
        path.mkdir()
        stderr = _stderr_at_80_columns(command, str(path), "--out", str(long / "out" / "test"))
    assert str(path) in stderr, stderr
