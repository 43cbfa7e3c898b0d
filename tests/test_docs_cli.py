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


def _documented_commands(text: str) -> list[str]:
    """Every `vtonkit ...` command line of the fenced shell blocks, continuation lines joined,
    comments dropped (`torchrun ... -m vtonkit train ...` counts as `vtonkit train ...`)."""
    commands, fence, block = [], None, []
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if fence is None:
                fence, block = line.strip().strip("`"), []
                continue
            if fence in ("", "bash", "sh", "console"):
                for joined in "\n".join(block).replace("\\\n", " ").splitlines():
                    joined = joined.split("#", 1)[0].strip()
                    if joined.startswith("vtonkit ") or " -m vtonkit " in joined:
                        commands.append("vtonkit " + joined.split("vtonkit ", 1)[1])
            fence = None
        elif fence is not None:
            block.append(line)
    return commands


def test_every_documented_command_line_names_real_commands_and_options():
    """The README's, the docs' and the --help texts' examples use commands and options the CLI has,
    so a renamed option cannot leave a copy-pasted example that fails."""
    import typer

    from vtonkit.cli import app

    group = typer.main.get_command(app)
    def examples(command):  # the "Example: vtonkit ..." lines of every command's --help
        for line in (command.help or "").splitlines():
            if line.startswith("Example: vtonkit "):
                yield line.removeprefix("Example: ")
        for sub in getattr(command, "commands", {}).values():
            yield from examples(sub)

    sources = [(page.name, _documented_commands(page.read_text(encoding="utf-8")))
               for page in [README, *sorted((README.parent / "docs").glob("*.md"))]]
    sources.append(("--help examples", list(examples(group))))
    checked, problems = 0, []
    for page_name, documented in sources:
        for command in documented:
            words, target = command.split()[1:], group
            while hasattr(target, "commands") and words and not words[0].startswith("-"):
                if words[0] not in target.commands:
                    break
                target, words = target.commands[words[0]], words[1:]
            if target is group or (hasattr(target, "commands") and words):
                problems.append(f"{page_name}: `{command}`: no such command")
                continue
            if hasattr(target, "commands"):  # a group's own usage line (`vtonkit models`)
                continue
            options = {opt for param in target.params for opt in (*param.opts, *param.secondary_opts)}
            unknown = [w.split("=", 1)[0] for w in words if w.startswith("--") and w.split("=", 1)[0] not in options]
            if unknown:
                problems.append(f"{page_name}: `{command}`: no option {unknown}")
            checked += 1
    assert not problems, "\n".join(problems)
    assert checked >= 100  # the README alone shows more than 40 command lines, every command an example
