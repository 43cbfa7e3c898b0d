"""The `vtonkit` command: a thin Typer front over the packages.

Each area registers its subcommands from its own module in `vtonkit.commands`; modules import
heavy dependencies (torch, scrapy, mediapipe) inside the command functions so that `--help`
stays instant.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys

import typer

from vtonkit import __version__
from vtonkit.core.terminal import print_warnings_printable

app = typer.Typer(
    name="vtonkit",
    help=(
        "Shops and person photos to HR-VITON / VITON-HD try-on datasets and previews.\n\n"
        "Data flows one way: crawl -> preprocess -> dataset (pairs, validate, review, clean) -> infer."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

# Order = order of the data flow; each module defines `register(app)`.
COMMAND_MODULES = (
    "crawl",
    "preprocess",
    "agnostic",
    "models",
    "dataset",
    "review",
    "exchange",
    "train",
    "infer",
    "evaluate",
    "demo",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"vtonkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """vtonkit: virtual try-on datasets and previews."""


def reflow_help(text: str) -> str:
    """Join the hard-wrapped lines of each help paragraph into one.

    Typer's rich help keeps every single line break, so docstrings wrapped for the source read
    ragged in a narrower terminal. Lines that start an example, a bullet or an indented block
    keep their own line.
    """
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            starts_own_line = line.startswith(("Example", "- ", "* ", " ")) or not lines
            if starts_own_line:
                lines.append(line)
            else:
                lines[-1] = f"{lines[-1]} {line.strip()}"
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _reflow_commands(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback)
        if doc:
            info.help = reflow_help(doc)
    for group in typer_app.registered_groups:
        _reflow_commands(group.typer_instance)


for _name in COMMAND_MODULES:
    importlib.import_module(f"vtonkit.commands.{_name}").register(app)
_reflow_commands(app)


def run_as_module_entry() -> None:
    """Give the console script's `__main__` the module spec of `python -m vtonkit`.

    A spawned worker process (prep's pool) first re-runs its parent's `__main__` script: for the
    console script that imports this CLI and every command module, ~0.04-0.08 CPU s per worker
    before its first photo, on the critical path. For `python -m vtonkit` multiprocessing skips
    that step; nothing a worker needs lives in the script, so the script gets the same spec.
    """
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None:
        script.__spec__ = importlib.util.find_spec("vtonkit.__main__")


def main() -> None:
    run_as_module_entry()
    print_warnings_printable()  # the library's warnings name files and samples: outside text
    try:
        app()
    except OSError as exc:
        # A file system refusal no command foresaw (a file where the dataset's .vtonkit/ folder goes,
        # a read-only dataset): the path and the reason, not a traceback. VTONKIT_TRACEBACK=1 shows it.
        if os.environ.get("VTONKIT_TRACEBACK"):
            raise
        from vtonkit.core.errors import describe_os_error
        from vtonkit.core.terminal import printable

        print(f"error: {printable(describe_os_error(exc, 'a file'))}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
