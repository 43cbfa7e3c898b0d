"""The run log of `vtonkit infer`: what is finished in an output folder, so a rerun resumes there.

OUT/infer-log.jsonl (OUT/infer-log.shard-<i>-of-<n>.jsonl for `--shard i/n` and Ray workers) has one
JSON object per finished pair, appended, flushed and fsynced only after the pair's files were
renamed into place:

    {"person": "00013_00", "cloth": "00017_00", "output": "00013_00_00017_00.png", "status": "done",
     "seconds": 0.41, "files": ["00013_00_00017_00.png", "grid/00013_00_00017_00.png"], "sizes": [812345, 90211],
     "shard": "0/1", "finished": "2026-12-03T08:10:00Z", "inputs": "stat:3f1c0a9be2d54e77"}

`status` is "done" or "failed" (then "error" says why; failed pairs are retried by the next run).
A kill can tear only the last line; readers skip it and the next writer starts on a new line.
A pair is finished when some log has a "done" line for it, all its `files` exist with the byte
`sizes` recorded beside them, and its input files still have the sizes and times recorded in
`inputs` (a person photo re-prepared since is computed again).

OUT/infer-settings.json holds what decides the pixels (method, category, seed, precision,
checkpoint digests, ...); resuming with other settings is refused rather than mixing two runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vtonkit.datasets.io.files import atomic_write_json, temp_target
from vtonkit.vton_infer.shards import Shard

from vtonkit.core.errors import OutputRefusedError, VtonkitError, describe_os_error

LOG_GLOB = "infer-log*.jsonl"
SETTINGS_FILE = "infer-settings.json"


def log_name(shard: Shard) -> str:
    """infer-log.jsonl for the whole list, infer-log.shard-<i>-of-<n>.jsonl for a shard (one writer each)."""
    return "infer-log.jsonl" if shard.whole else f"infer-log.shard-{shard.index}-of-{shard.count}.jsonl"


@dataclass
class PairRecord:
    """One line of the run log."""

    person: str
    cloth: str
    output: str  # file name inside OUT
    status: str  # "done" | "failed"
    seconds: float  # work spent on this pair: read + its share of the batch compute + write
    files: list[str] = field(default_factory=list)  # every file written for it, relative to OUT
    sizes: list[int] | None = None  # their byte sizes, in `files` order (logs before sizes: None)
    shard: str = "0/1"
    error: str | None = None
    finished: str = ""
    inputs: str | None = None  # `stat_identity` of the pair's files when read (logs before it: None)

    def to_line(self) -> str:
        record = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(record, ensure_ascii=False) + "\n"


def read_records(out_dir: Path) -> list[PairRecord]:
    """Every complete line of every run log in `out_dir` (a torn or foreign line is skipped)."""
    records = []
    for path in sorted(Path(out_dir).glob(LOG_GLOB)):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(PairRecord(**json.loads(line)))
            except (ValueError, TypeError):
                continue
    return records


def _intact(path: Path, size: int | None) -> bool:
    """The file is there with the size it was written with (any size > 0 for logs without sizes): an
    output emptied or cut short since (a full disk elsewhere, a copy that failed) is computed again."""
    try:
        found = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and (found.st_size == size if size is not None else found.st_size > 0)


def finished_outputs(out_dir: Path) -> dict[str, PairRecord]:
    """Output name -> its "done" record, for the pairs whose files all still exist, intact."""
    out_dir = Path(out_dir)
    done: dict[str, PairRecord] = {}
    for record in read_records(out_dir):
        files = record.files or [record.output]
        sizes = record.sizes if record.sizes is not None and len(record.sizes) == len(files) else [None] * len(files)
        if record.status == "done" and all(_intact(out_dir / f, n) for f, n in zip(files, sizes, strict=True)):
            done[record.output] = record
    return done


class RunLog:
    """This process's run log: locked (one writer per log file), appended line by line with fsync."""

    def __init__(self, out_dir: Path, shard: Shard) -> None:
        self.shard = shard
        self.path = Path(out_dir) / log_name(shard)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+b")  # noqa: SIM115 (kept open, and locked, for the run)
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise VtonkitError(f"{self.path}: another `vtonkit infer` is writing this output folder (shard "
                               f"{shard}); wait for it, or give this one another --out or --shard") from None
        self.handle.seek(0, os.SEEK_END)
        if self.handle.tell():
            self.handle.seek(-1, os.SEEK_END)
            if self.handle.read(1) != b"\n":  # torn last line of a killed run: start on a fresh one
                self._append(b"\n")

    def _append(self, data: bytes) -> None:
        try:
            self.handle.write(data)
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as exc:  # a full disk or quota: the error of a write names no file by itself
            raise OutputRefusedError(f"{describe_os_error(exc, self.path)}: the run log cannot record finished "
                                     "pairs; free space and run the same command again to resume") from exc

    def append(self, record: PairRecord) -> None:
        record.shard = str(self.shard)
        record.finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._append(record.to_line().encode("utf-8"))

    def close(self) -> None:
        self.handle.close()  # also releases the lock

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def live_logs(out_dir: Path) -> list[Path]:
    """The run logs of OUT another `vtonkit infer` is writing now (each writer holds its log's lock)."""
    live = []
    for path in sorted(Path(out_dir).glob(LOG_GLOB)):
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            live.append(path)
        except OSError:  # gone meanwhile, or unreadable: no writer to wait for
            continue
    return live


def refuse_concurrent_runs(out_dir: Path, shard: Shard) -> bool:
    """Refuse a run that would share OUT with one still writing it, unless both are shards of one
    count (the way to spread a list over machines): a whole-list run beside a shard computed the
    shard's pairs twice, and its --fresh deleted the shard's log, whose finished pairs were then
    forgotten. Returns whether another shard is writing OUT now."""
    live = live_logs(out_dir)
    others = [p for p in live if shard.whole or not p.name.startswith("infer-log.shard-")
              or not p.name.endswith(f"-of-{shard.count}.jsonl")]
    if others:
        raise VtonkitError(f"{others[0]}: another `vtonkit infer` is writing this output folder "
                           f"({', '.join(p.name for p in others)}); only shards of one --shard count run side by "
                           "side: wait for it, or give this run another --out")
    return bool(live)


def check_settings(out_dir: Path, settings: dict[str, Any], *, others_running: bool = False) -> None:
    """Record `settings` in OUT, or refuse when OUT already holds a run made with other ones (or
    another shard is writing it with other ones: before its first pair there is nothing finished)."""
    path = Path(out_dir) / SETTINGS_FILE
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            recorded = None
        if recorded == settings:
            return
        if isinstance(recorded, dict):
            changed = sorted(k for k in set(recorded) | set(settings) if recorded.get(k) != settings.get(k))
            what = ", ".join(f"{k}: {recorded.get(k)!r} -> {settings.get(k)!r}" for k in changed)
        else:
            what = "the file is unreadable"
        # Only finished pairs are worth protecting: a run that failed before its first pair (a
        # mistyped checkpoint path) leaves logs with nothing in them, and must not lock the folder.
        if others_running or finished_outputs(out_dir):
            raise VtonkitError(f"{path}: this output folder holds a run with other settings ({what}); resuming "
                               "would mix them. Use another --out, or --fresh to recompute every pair")
    atomic_write_json(path, settings, indent=2)


def holds_run(out_dir: Path) -> bool:
    """OUT holds a resumable `vtonkit infer` run (its settings record or run logs)."""
    return (Path(out_dir) / SETTINGS_FILE).is_file() or any(Path(out_dir).glob(LOG_GLOB))


def start_fresh(out_dir: Path) -> None:
    """Forget every finished pair of OUT (`--fresh`): remove the run logs and the settings record."""
    for path in Path(out_dir).glob(LOG_GLOB):
        path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (Path(out_dir) / SETTINGS_FILE).unlink()


def remove_stale_temps(out_dir: Path, shard: Shard, folders: tuple[str, ...] = ("", "grid", "tensors")) -> int:
    """Delete temporary files a killed run left in OUT (only those of `shard`'s pairs: another
    shard's process may be writing its own right now). Returns how many."""
    removed = 0
    for folder in folders:
        directory = Path(out_dir) / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            target = temp_target(path.name)
            if target and (shard.whole or shard.owns(Path(target).stem)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    return removed
