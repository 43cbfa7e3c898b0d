"""Review decisions (keep / reject / undecided + a note) in SQLite inside the dataset.

`<dataset>/.vtonkit/review.sqlite`. Durability over speed: rollback journal (no WAL, so the
database is one self-contained file that can be copied with the dataset) and `synchronous=FULL`,
so a decision acknowledged to the browser survives a crash or power loss. One writer at a time:
a process-wide lock plus `BEGIN IMMEDIATE` (other processes wait up to `BUSY_TIMEOUT_MS`), and
each write changes only the column it is about (a note edit never writes the decision back).
Every change is also appended to `history`, so nothing a reviewer did is ever lost.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from vtonkit.core.errors import VtonkitError
from vtonkit.core.paths import state_dir

SCHEMA_VERSION = 1
DB_NAME = "review.sqlite"
BUSY_TIMEOUT_MS = 10_000
Decision = Literal["keep", "reject", "undecided"]
DECISIONS: tuple[str, ...] = ("keep", "reject", "undecided")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    split TEXT NOT NULL,
    sample TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('keep', 'reject', 'undecided')),
    note TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (split, sample)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    split TEXT NOT NULL, sample TEXT NOT NULL, decision TEXT NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL
);
"""

# Which columns one write changes -> (the values of a new row, the SET of an existing one): a write
# touches only its own columns (fixed SQL fragments; values are always bound parameters).
_UPSERTS: dict[str, tuple[str, str]] = {
    "decision": ("?, ''", "decision = excluded.decision"),
    "note": ("'undecided', ?", "note = excluded.note"),
    "decision, note": ("?, ?", "decision = excluded.decision, note = excluded.note"),
}


def storable_note(note: str) -> str:
    """`note` when it is Unicode text SQLite can store, else ValueError saying where it is not.

    JSON's escapes can spell a lone surrogate ("\\ud800"), which no UTF-8 text holds."""
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"note is not valid Unicode text: a lone surrogate (U+{ord(note[exc.start]):04X}) "
                         f"at character {exc.start}") from None
    # control characters (NUL, escape, ...) are no note text: tools reading the table or the
    # database as C strings stop at a NUL, and a terminal acts on an escape sequence
    controls = (i for i, ch in enumerate(note) if (ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127)
    if (at := next(controls, None)) is not None:
        raise ValueError(f"note holds a control character (U+{ord(note[at]):04X}) at character {at}")
    return note if note.strip() else ""  # blanks alone are no note (they showed as one)


class StoreError(VtonkitError, RuntimeError):
    """The decisions database cannot be used (damaged, not SQLite, or from a newer vtonkit)."""


class NoteConflict(VtonkitError):
    """The note (or decision) changed since the writer read it (another tab or reviewer): writing would
    drop that change."""

    def __init__(self, split: str, sample: str, current: str, what: str = "note") -> None:
        self.current = current
        super().__init__(f"the {what} of {split}/{sample} was changed elsewhere (another tab or reviewer) since this "
                         f"page read it; it now reads {current!r}: reload to see it, then "
                         f"{'edit it' if what == 'note' else 'decide'} again")


@dataclass(frozen=True)
class Record:
    split: str
    sample: str
    decision: str
    note: str
    updated_at: str


def db_path(dataset_root: str | Path) -> Path:
    return state_dir(dataset_root) / DB_NAME


class DecisionStore:
    """Decisions of one dataset. Safe to share between threads (each call opens its connection)."""

    _write_lock = threading.Lock()

    def __init__(self, dataset_root: str | Path) -> None:
        self.path = db_path(dataset_root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open()
        except sqlite3.DatabaseError as exc:  # not SQLite, damaged, or a folder in its place
            raise StoreError(f"{self.path}: not a usable review database ({exc}); move it away to start a new one "
                             "(the decisions in it stay there)") from None

    def _open(self) -> None:
        """Create the tables if needed and check the schema version."""
        with self._write_lock, self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                connection.execute(statement)
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                connection.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                connection.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path}: schema version {row[0]} is newer than this vtonkit ({SCHEMA_VERSION}); "
                    "upgrade vtonkit"
                )
            connection.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=DELETE")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            yield connection
        finally:
            connection.close()

    def schema_version(self) -> int:
        with self._connect() as connection:
            return int(
                connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            )

    def set(self, split: str, sample: str, decision: str, note: str | None = None, *,
            note_read: str | None = None, decision_read: str | None = None) -> Record:
        """Record a decision (and the note; None keeps the current note). Durable on return.
        `note_read` / `decision_read`: the note / decision the writer last read (None: not checked);
        a stored one that differs is a `NoteConflict` and nothing is written."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        if note is None:
            return self._write(split, sample, "decision", decision, decision_read=decision_read)
        return self._write(split, sample, "decision, note", decision, storable_note(note), note_read=note_read,
                           decision_read=decision_read)

    def set_note(self, split: str, sample: str, note: str, *, note_read: str | None = None) -> Record:
        """Change only the note; the decision stays what it is at the moment of the write (`note_read`: as in `set`)."""
        return self._write(split, sample, "note", storable_note(note), note_read=note_read)

    def _write(self, split: str, sample: str, columns: str, *values: str, note_read: str | None = None,
               decision_read: str | None = None) -> Record:
        """Upsert `columns` of one sample and append the resulting row to `history`, in ONE
        transaction: the columns a write does not name are never read and written back, so two
        concurrent writers (a decision and a note) cannot revert each other; a note is checked
        against `note_read` in the same transaction."""
        inserted, updated = _UPSERTS[columns]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._write_lock, self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                if note_read is not None or decision_read is not None:
                    stored = connection.execute("SELECT note, decision FROM decisions WHERE split = ? AND sample = ?",
                                                (split, sample)).fetchone()
                    note_now, decision_now = (stored[0] or "", stored[1]) if stored else ("", "undecided")
                    if note_read is not None and note_now != note_read:
                        raise NoteConflict(split, sample, note_now)
                    if decision_read is not None and decision_now != decision_read:
                        raise NoteConflict(split, sample, decision_now, "decision")
                row = connection.execute(
                    f"INSERT INTO decisions (split, sample, decision, note, updated_at) "
                    f"VALUES (?, ?, {inserted}, ?) ON CONFLICT (split, sample) DO UPDATE SET "
                    f"{updated}, updated_at = excluded.updated_at "
                    "RETURNING split, sample, decision, note, updated_at",
                    (split, sample, *values, now),
                ).fetchone()
                connection.execute(
                    "INSERT INTO history (split, sample, decision, note, at) VALUES (?, ?, ?, ?, ?)",
                    (row[0], row[1], row[2], row[3], row[4]),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return Record(*row)

    def get(self, split: str, sample: str) -> Record | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT split, sample, decision, note, updated_at FROM decisions "
                "WHERE split = ? AND sample = ?",
                (split, sample),
            ).fetchone()
        return Record(*row) if row else None

    def all(self) -> dict[tuple[str, str], Record]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT split, sample, decision, note, updated_at FROM decisions"
            ).fetchall()
        return {(row[0], row[1]): Record(*row) for row in rows}

    def rejected(self) -> list[Record]:
        return sorted(
            (r for r in self.all().values() if r.decision == "reject"), key=lambda r: (r.split, r.sample)
        )

    def history(self) -> list[tuple[str, str, str, str, str]]:
        with self._connect() as connection:
            return connection.execute(
                "SELECT split, sample, decision, note, at FROM history ORDER BY id"
            ).fetchall()
