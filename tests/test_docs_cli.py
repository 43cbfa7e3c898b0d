"""The README's CLI reference is generated from the CLI; this fails when it drifts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vtonkit.docs_cli import BEGIN, END, reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_cli_reference_is_current():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) + len(BEGIN): text.index(END)].strip()
    assert block == reference().strip(), "README CLI reference is stale: run `python -m vtonkit.docs_cli --update README.md`"


def test_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "vtonkit", "--help"], capture_output=True, text=True, check=True).stdout
    import typer

    from vtonkit.cli import app

    for name in typer.main.get_command(app).commands:
        assert name in out
