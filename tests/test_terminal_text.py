"""Outside text reaches the terminal as text: a file name holding an escape sequence, a carriage
return or a right-to-left override is printed with those characters escaped, never acted on."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from typer.testing import CliRunner
from vtonkit.core.terminal import escape, printable
from vtonkit.datasets.review.store import DecisionStore

from vtonkit.cli import app

runner = CliRunner()

RETITLE = "\x1b]0;owned\x07"  # sets the terminal window's title
ERASE_LINE = "\r\x1b[2K"  # goes back to the line's start and blanks it


def test_printable_escapes_what_a_terminal_acts_on_and_keeps_the_rest():
    assert printable(f"a{RETITLE}b.jpg") == "a\\x1b]0;owned\\x07b.jpg"
    assert printable(f"x{ERASE_LINE}y") == "x\\x0d\\x1b[2Ky"
    assert printable("photo\u202egpj.exe") == "photo\\u202egpj.exe"  # would read "photoexe.jpg"
    assert printable("\x9b31m\x7f") == "\\x9b31m\\x7f"  # C1 CSI and DEL
    kept = "line one\n\tline two: 한국어 상품, ワンピース, été, 👗"
    assert printable(kept) == kept


def test_escape_is_also_rich_markup_safe():
    assert escape(f"[bold]{RETITLE}") == "\\[bold]\\x1b]0;owned\\x07"


def test_prep_cloth_prints_hostile_file_names_escaped(photos, tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    garment = sorted((photos / "garments").glob("*.jpg"))[0]
    shutil.copy(garment, shots / f"shirt{RETITLE}.jpg")
    (shots / f"junk{ERASE_LINE}.jpg").write_bytes(b"not an image")
    result = runner.invoke(app, ["prep-cloth", str(shots), "--out", str(tmp_path / "data" / "test")])
    assert result.exit_code == 1, result.output  # the junk file failed, the garment was written
    assert "1 written" in result.output
    assert "junk\\x0d\\x1b[2K.jpg: not an image" in result.output
    assert "\x1b" not in result.output and "\r" not in result.output


def test_validate_prints_hostile_file_names_escaped(photos, tmp_path):
    cloth = tmp_path / "test" / "cloth"
    cloth.mkdir(parents=True)
    garment = sorted((photos / "garments").glob("*.jpg"))[0]
    shutil.copy(garment, cloth / "a.jpg")
    shutil.copy(garment, cloth / f"x{RETITLE}.jpg")  # reported as a duplicate of a.jpg
    result = runner.invoke(app, ["validate", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code != 0  # no pair list
    assert "x\\x1b]0;owned\\x07" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_library_warnings_reach_the_terminal_escaped(tmp_path):
    """Warnings no handler takes (Python's last resort) in a real `python -m vtonkit` process:
    here a hand-edited review store whose rejected sample name holds an escape sequence."""
    (tmp_path / "test").mkdir()
    DecisionStore(tmp_path).set("test", f"x{RETITLE}/..", "reject")
    run = subprocess.run([sys.executable, "-m", "vtonkit", "clean", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "review decision for test/x\\x1b]0;owned\\x07/.. skipped" in run.stderr
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr


@pytest.mark.parametrize("width", [80, 100, 200])
def test_the_training_bar_keeps_its_count_and_eta_whole(width: int, monkeypatch) -> None:
    """In 80 columns the training bar's loss text pushed rich to cut the step count and the eta
    ("12/… 0:… eta 0:00…"); losses now go only where they fit."""
    import io

    from rich.console import Console

    import vtonkit.core.progress as progress_module

    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    monkeypatch.setattr(progress_module, "console", console)
    progress = progress_module.make_progress()
    losses = ["l1_cloth 0.224", "g_total 31.5", "d_total 0.969", "g_vgg 1.23"]
    task = progress.add_task(progress_module.fitted_description("train condition", losses, 1000), total=1000)
    progress.update(task, completed=12)
    console.print(progress.get_renderable())
    (line,) = console.file.getvalue().splitlines()
    assert len(line) <= width and "12/1000" in line and "eta" in line and "…" not in line, line
    assert line.startswith("train condition") and ("g_vgg 1.23" in line) == (width >= 160)
