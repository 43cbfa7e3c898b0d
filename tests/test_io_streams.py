"""Reports written to a pipe, a terminal or standard output: `--json -`, `/dev/stdout`, a FIFO, a
link to a stream. Renamed onto (the atomic write of a regular file), a report meant for a pipe
replaced the link with a file and the reader got nothing; as root `--json /dev/stdout` replaced
/dev/stdout itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.io.files import atomic_write_text

from tests.conftest import shared_path

VTONKIT = [sys.executable, "-m", "vtonkit"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("streams") / "ds"
    assert import_vitonhd(shared_path("data", "vitonhd"), out, progress=False).failures == []
    return out


def test_json_dash_is_standard_output(dataset: Path, tmp_path: Path) -> None:
    run = subprocess.run([*VTONKIT, "validate", str(dataset), "--json", "-"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["dataset"] == str(dataset.resolve())
    assert not (tmp_path / "-").exists()  # no file named "-"


def test_a_link_to_standard_output_stays_a_link(dataset: Path, tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("/proc/self/fd/1")
    run = subprocess.run([*VTONKIT, "validate", str(dataset), "--json", str(link)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert link.is_symlink() and json.loads(run.stdout)["version"] == 1


def test_a_fifo_is_written_into(dataset: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pairs.txt"
    os.mkfifo(fifo)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    run = subprocess.run([*VTONKIT, "pairs", str(dataset), "--split", "test", "--output", str(fifo)],
                         capture_output=True, text=True, timeout=300, check=False)
    reader.join(timeout=30)
    assert run.returncode == 0, run.stderr[-2000:]
    assert fifo.is_fifo() and read and len(read[0].splitlines()) == 5, read


def test_a_link_to_a_regular_file_is_replaced_not_the_file_it_names(tmp_path: Path) -> None:
    """A dataset's file linked into another dataset: a write replaces the link, never the other
    dataset's file."""
    elsewhere = tmp_path / "other.txt"
    elsewhere.write_text("another dataset's\n", encoding="utf-8")
    link = tmp_path / "test_pairs.txt"
    link.symlink_to(elsewhere)
    atomic_write_text(link, "new\n")
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "new\n"
    assert elsewhere.read_text(encoding="utf-8") == "another dataset's\n"
