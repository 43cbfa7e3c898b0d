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


def test_reflow_help_joins_wrapped_lines_and_keeps_examples_and_lists():
    from vtonkit.cli import reflow_help

    text = """First line.

    A paragraph wrapped
    for the source.

    - a bullet
    - another bullet

    Example: vtonkit prep --persons p/ --cloths c/
    --out data/mine
    Example: vtonkit prep --help

        vtonkit demo-store --port 8765
        vtonkit crawl demo --out runs/demo
    """
    assert reflow_help(text) == (
        "First line.\n\nA paragraph wrapped for the source.\n\n- a bullet\n- another bullet\n\n"
        "Example: vtonkit prep --persons p/ --cloths c/ --out data/mine\nExample: vtonkit prep --help\n\n"
        "    vtonkit demo-store --port 8765\n    vtonkit crawl demo --out runs/demo"
    )


def test_every_command_help_reads_unwrapped_at_any_terminal_width():
    """Typer's rich help keeps single line breaks: a docstring wrapped at 100 columns reads
    ragged in an 80-column terminal unless the CLI reflows it."""
    import typer

    from vtonkit.cli import app, reflow_help

    def commands(group):
        for command in group.commands.values():
            yield command
            if hasattr(command, "commands"):
                yield from commands(command)

    for command in commands(typer.main.get_command(app)):
        assert command.help, f"{command.name} has no help"
        assert command.help == reflow_help(command.help), f"{command.name}: help keeps hard wraps"
