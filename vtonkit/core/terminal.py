"""Outside text (file names, URLs, page text, error messages holding them) made safe to print.

A file named `a\\x1b]0;owned\\x07.jpg` or a page title holding `\\x1b[2J` would otherwise reach the
terminal as an escape sequence (retitle the window, clear the screen, hide the lines before it),
and a carriage return lets a name overwrite the line it is printed on. Every character the
terminal acts on instead of showing is written as its escape (`\\x1b`); line breaks and tabs stay,
because messages use them. Right-to-left overrides and isolates are escaped too: they reorder
what follows them, so `photo\\u202egpj.exe` would read as `photoexe.jpg`.
"""
from __future__ import annotations

import logging

from rich.markup import escape as escape_markup

_KEPT = frozenset("\n\t")
# C0 and C1 controls, and the bidi marks, embeddings, overrides and isolates: what a terminal (or
# a text field: crawlers/text_fields.py) acts on instead of showing.
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
CONTROL_CODES = (*range(0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS)
_ESCAPES = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            for code in CONTROL_CODES if chr(code) not in _KEPT}


def printable(text: str) -> str:
    """`text` with the characters a terminal would act on written as escapes (`\\x1b`, `\\u202e`)."""
    return text.translate(_ESCAPES)


def escape(text: str) -> str:
    """`text` for rich markup: printable, and `[...]` shown as text, not read as a style."""
    return escape_markup(printable(text))


class PrintableFormatter(logging.Formatter):
    """A log record's text (message and traceback) made printable."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def print_warnings_printable() -> None:
    """Make the warnings no handler takes (Python's last-resort handler: stderr, the bare message)
    printable. A command that sets up logging of its own (a crawl's log) keeps its handlers."""
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(PrintableFormatter())
