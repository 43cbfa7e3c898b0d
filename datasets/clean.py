"""`vtonkit clean`: apply review decisions without ever deleting anything; `--undo` restores exactly.

A rejected sample's files (every layout folder, its own garment included, and the placeholder
copies `vtonkit pairs` made of a rejected garment) move to
`<dataset>/quarantine/<split>/<folder>/<file>`, and the pair-list lines naming it (as person or
as garment) are removed, the list being rewritten atomically. Each run is recorded in
`<dataset>/.vtonkit/clean-manifest.json` BEFORE anything moves (status "applying", then
"applied"), with the moved files and the removed lines (their index and exact text, line ending
included), so `--undo` (or a re-run after a crash) can put every file and line back where it was.
"""

from __future__ import annotations

import contextlib

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vtonkit.datasets import layout
from vtonkit.datasets.io.files import atomic_write_bytes, atomic_write_json
from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest
from vtonkit.datasets.pairs import pair_list_lines, read_pair_text
from vtonkit.datasets.review.store import DecisionStore

from vtonkit.core.errors import VtonkitError, describe_os_error
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

QUARANTINE = "quarantine"
MANIFEST_NAME = "clean-manifest.json"
MANIFEST_VERSION = 1


class CleanError(VtonkitError):
    pass


@dataclass
class CleanResult:
    """What a clean / undo did (or would do with `dry_run`)."""

    samples: int = 0
    moves: list[tuple[str, str]] = field(default_factory=list)  # (from, to), dataset-relative
    removed_lines: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)  # ids of earlier runs a crash cut short, finished now
    placeholder_persons: list[str] = field(default_factory=list)  # "<split>/<person>" whose placeholder garment went
    unpaired_persons: list[str] = field(default_factory=list)  # "<split>/<person>" kept, but in no pair line left
    dangling_links: list[str] = field(default_factory=list)  # kept files that are links to a file moved away

    @property
    def files(self) -> int:
        return len(self.moves)

    @property
    def pair_lines(self) -> int:
        return sum(len(lines) for lines in self.removed_lines.values())

    def lines(self) -> list[str]:
        out = [f"{source} -> {target}" for source, target in self.moves]
        for split, lines in self.removed_lines.items():
            out += [f"{split}_pairs.txt line {index + 1}: {text.rstrip()}" for index, text in lines]
        return out


def manifest_path(dataset_root: str | Path) -> Path:
    return state_dir(dataset_root) / MANIFEST_NAME


def _read_manifest(root: Path) -> dict[str, Any]:
    path = manifest_path(root)
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "runs": []}
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
        runs = manifest["runs"]
        if not isinstance(runs, list) or not all(isinstance(run, dict) and set(_RUN_KEYS) <= set(run) for run in runs):
            raise ValueError(f"'runs' is not a list of clean runs with {', '.join(_RUN_KEYS)}")
        if not all(_is_removed_lines(run["removed_lines"]) for run in runs):
            raise ValueError("a run's 'removed_lines' is not {split: [[line index, line text], ...]}")
    except (ValueError, KeyError, TypeError) as exc:
        raise CleanError(f"{path}: unreadable clean manifest ({exc}); it records what earlier cleans moved, "
                         "for --undo: repair it, or move it away to start a new record") from None
    return manifest


def _is_removed_lines(value: Any) -> bool:
    return isinstance(value, dict) and all(
        split in layout.SPLITS and isinstance(lines, list) and all(
            isinstance(item, list) and len(item) == 2 and type(item[0]) is int and isinstance(item[1], str)
            for item in lines)
        for split, lines in value.items())


# What every recorded run holds (apply_decisions writes them, undo_last reads them).
_RUN_KEYS = ("status", "samples", "moves", "removed_lines", "pairs_rewritten")


def _write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    atomic_write_json(manifest_path(root), manifest, indent=1)


def _fsync_dir(directory: Path) -> None:
    # A rename is durable only once its directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move(root: Path, source: str, target: str) -> None:
    src, dst = root / source, root / target
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    _fsync_dir(dst.parent)
    _fsync_dir(src.parent)


def _pair_lines(path: Path) -> list[str]:
    """The lines of a pair list with their exact endings (`read_text` would turn CRLF into LF); a list
    that is not UTF-8 is a `FormatError` naming it, before anything moves."""
    return pair_list_lines(read_pair_text(path), keepends=True)


def _write_pair_lines(path: Path, lines: list[str]) -> None:
    atomic_write_bytes(path, "".join(lines).encode("utf-8"))  # bytes: no newline translation either


def _sample_files(root: Path, split: str, stem: str) -> list[tuple[str, str]]:
    """(dataset-relative file, quarantine-relative target) for each existing entry of a sample.

    Whatever sits at a file's place moves, a folder or a dangling link too: left behind, it would
    still name the rejected sample in the dataset (validate would report it again).
    """
    split_dir = layout.DatasetLayout(root).split(split)
    files = {**split_dir.person_files(stem), **split_dir.cloth_files(stem)}
    moves = []
    for folder, path in files.items():
        if os.path.lexists(path):
            moves.append((f"{split}/{folder}/{path.name}", f"{QUARANTINE}/{split}/{folder}/{path.name}"))
    return moves


def _placeholder_copies(root: Path, split: str, garment: str, placeholders: dict[str, dict]) -> list[tuple[str, str]]:
    """(file, quarantine target) of the placeholder own-garments `vtonkit pairs` copied from `garment`
    (`cloth/<person>.jpg` and its mask): copies of a rejected garment leave with it, as an export
    would otherwise carry them on as those persons' garments. A copy of a person's own product
    garment (`own`) is that person's, and stays."""
    split_dir = layout.DatasetLayout(root).split(split)
    moves = []
    for person, record in placeholders.items():
        if record.get("copied_from") != garment or record.get("own") or sample_name_problem(person):
            continue
        for folder, path in split_dir.cloth_files(person).items():
            if os.path.lexists(path):
                moves.append((f"{split}/{folder}/{path.name}", f"{QUARANTINE}/{split}/{folder}/{path.name}"))
    return moves


def sample_name_problem(stem: str) -> str | None:
    """Why a review decision's sample cannot be a stem of the dataset (it would name a file elsewhere), or None."""
    if stem in ("", ".", "..") or any(ch in stem for ch in "/\\\x00"):
        return f"{stem!r} is no sample name (a stem holds no folder)"
    return None


def move_problem(root: Path, source: str, target: str) -> str | None:
    """Why `clean` may not move the dataset-relative `source` to `target` (or back), or None.

    A move goes from `<split>/<folder>/<file>` to `quarantine/<split>/<folder>/<file>`, and no folder on
    either way may be a symbolic link: a rename through one would take a file out of a folder
    tree outside the dataset (or put one into it). The file itself may be a link: it moves as the link.
    """
    parts = source.split("/")
    if (len(parts) != 3 or parts[0] not in layout.SPLITS or parts[1] not in layout.ALL_FOLDERS
            or sample_name_problem(parts[2]) or target != f"{QUARANTINE}/{source}"):
        return f"{source!r} -> {target!r} is no move between <split>/<folder>/<file> and {QUARANTINE}/"
    real_root = Path(os.path.realpath(root))
    for relative in (source, target):
        folder = Path(relative).parent
        real = Path(os.path.realpath(root / folder))
        if real != real_root / folder:
            return f"{folder} is reached through a symbolic link (to {real}); clean moves no file through a linked folder"
    return None


def plan_clean(dataset_root: str | Path) -> tuple[list[tuple[str, str]], CleanResult]:
    """Rejected samples that still have files or pair lines -> (samples, planned result)."""
    root = Path(dataset_root)
    data = layout.DatasetLayout(root)
    result = CleanResult()
    candidates: list[tuple[str, str]] = []
    with_files: set[tuple[str, str]] = set()
    dataset_manifest = Manifest.load(root)  # the placeholder records, read once
    for record in DecisionStore(root).rejected():
        if record.split not in layout.SPLITS:  # a hand-edited review store: nothing of the dataset to move
            logger.warning("review decision for %s/%s skipped: %r is not a split (%s)", record.split, record.sample,
                           record.split, ", ".join(layout.SPLITS))
            continue
        if (problem := sample_name_problem(record.sample)) is not None:
            logger.warning("review decision for %s/%s skipped: %s", record.split, record.sample, problem)
            continue
        planned = {source for source, _ in result.moves}  # a placeholder may also be a rejected person's
        copies = _placeholder_copies(root, record.split, record.sample,
                                     dataset_manifest.entries(record.split, PLACEHOLDERS))
        moves = list(dict.fromkeys(move for move in [*_sample_files(root, record.split, record.sample), *copies]
                                   if move[0] not in planned))
        if (problem := next(filter(None, (move_problem(root, *move) for move in moves)), None)) is not None:
            logger.warning("%s/%s skipped: %s", record.split, record.sample, problem)
            continue
        for _, target in moves:
            if (root / target).exists():
                raise CleanError(f"{root / target} already exists in the quarantine; move it away first")
        result.moves += moves
        result.placeholder_persons += sorted({f"{record.split}/{Path(source).stem}" for source, target in copies
                                              if (source, target) in moves and source.split("/")[1] == layout.CLOTH})
        candidates.append((record.split, record.sample))
        if moves:
            with_files.add((record.split, record.sample))
    named: set[tuple[str, str]] = set()
    for split in sorted({split for split, _ in candidates}):
        stems = {stem for s, stem in candidates if s == split}
        pairs_file = data.pairs_file(split)
        if not pairs_file.is_file():
            continue
        # a kept person whose placeholder garment leaves cannot load (every test line opens
        # cloth/<person>): its lines go too, and it is named among the unpaired below
        without_garment = {entry.split("/", 1)[1] for entry in result.placeholder_persons
                           if entry.split("/", 1)[0] == split} - stems
        listed_before: set[str] = set()
        listed_after: set[str] = set()
        for index, line in enumerate(_pair_lines(pairs_file)):
            names = line.split()
            hit = {layout.stem_of(token) for token in names} & stems
            person = {layout.stem_of(names[0])} if names else set()
            listed_before |= person
            if hit or person & without_garment:
                result.removed_lines.setdefault(split, []).append((index, line))
                named |= {(split, stem) for stem in hit}
            else:
                listed_after |= person
        # a kept person whose every line named a rejected garment is in the list no more
        result.unpaired_persons += sorted(f"{split}/{stem}" for stem in listed_before - listed_after - stems)
    samples = [key for key in candidates if key in with_files or key in named]
    result.samples = len(samples)
    result.dangling_links = _links_to_moved(root, result.moves)
    return samples, result


def _links_to_moved(root: Path, moves: list[tuple[str, str]]) -> list[str]:
    """Dataset-relative files that stay but are symbolic links to a file that moves (copies made with
    `ln -s`): after the clean they lead nowhere, so clean names them (undo mends them)."""
    moved = {source for source, _ in moves}
    targets = {os.path.realpath(root / source) for source in moved}
    folders = {str(Path(source).parent) for source in moved}
    found = []
    for folder in sorted(folders):
        with contextlib.suppress(OSError):
            for entry in os.scandir(root / folder):
                relative = f"{folder}/{entry.name}"
                if relative not in moved and entry.is_symlink() and os.path.realpath(entry.path) in targets:
                    found.append(relative)
    return sorted(found)


def _check_recorded_moves(root: Path, run: dict[str, Any], outcome: str) -> None:
    """Refuse a recorded run whose moves are not all `<split>/<folder>/<file>` <-> quarantine renames."""
    for move in run["moves"]:
        problem = (move_problem(root, *move) if isinstance(move, list) and len(move) == 2
                   and all(isinstance(part, str) for part in move) else f"{move!r} is no [file, quarantine file] pair")
        if problem is not None:  # the manifest travels with the dataset: it must not steer a rename elsewhere
            raise CleanError(f"{manifest_path(root)}: run {run.get('id', '?')}: {problem}; {outcome}")


def _finish_interrupted(root: Path, manifest: dict[str, Any], result: CleanResult) -> None:
    """Complete every run a crash left "applying": its remaining moves and pair-list rewrites.

    Left as it was, the next clean recorded only the files still in place as a new run, and `--undo`
    restored that run alone: the interrupted run's files stayed in the quarantine while the dataset
    looked restored. Completed, the interrupted run is one run again, undone as a whole.
    """
    data = layout.DatasetLayout(root)
    for run in manifest["runs"]:
        if run["status"] != "applying":
            continue
        _check_recorded_moves(root, run, "nothing moved")
        for source, target in run["moves"]:
            if os.path.lexists(root / source) and not os.path.lexists(root / target):
                _move(root, source, target)
                result.moves.append((source, target))
        for split, removed in run["removed_lines"].items():
            pairs_file = data.pairs_file(split)
            if not pairs_file.is_file():
                continue
            # a clean drops every line naming its samples: a removed text still present was not dropped yet
            texts = {text for _, text in removed}
            current = _pair_lines(pairs_file)
            dropped = [(index, line) for index, line in enumerate(current) if line in texts]
            if dropped:
                _write_pair_lines(pairs_file, [line for line in current if line not in texts])
                result.removed_lines.setdefault(split, []).extend(dropped)
            if split not in run["pairs_rewritten"]:
                run["pairs_rewritten"].append(split)
            _write_manifest(root, manifest)
        run["status"] = "applied"
        _write_manifest(root, manifest)
        result.samples += len(run["samples"])
        result.interrupted.append(str(run.get("id", "?")))


def apply_decisions(dataset_root: str | Path, *, dry_run: bool = False) -> CleanResult:
    """Quarantine every rejected sample and drop its pair lines; recorded for `undo_last`. A run a
    crash cut short is completed first (`_finish_interrupted`)."""
    root = Path(dataset_root)
    finished = CleanResult()
    if not dry_run:
        _finish_interrupted(root, _read_manifest(root), finished)
    samples, result = plan_clean(root)
    if not dry_run and samples:
        _apply(root, samples, result)
    if finished.interrupted:  # the completed runs' files and lines come first, as they were planned first
        result.samples += finished.samples
        result.moves = finished.moves + result.moves
        for split, lines in finished.removed_lines.items():
            result.removed_lines[split] = lines + result.removed_lines.get(split, [])
        result.interrupted = finished.interrupted
    return result


def _apply(root: Path, samples: list[tuple[str, str]], result: CleanResult) -> None:
    """Record, then carry out, one planned clean run."""
    manifest = _read_manifest(root)
    run = {
        "id": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": "applying",
        "samples": samples,
        "moves": result.moves,
        "removed_lines": {split: lines for split, lines in result.removed_lines.items()},
        "pairs_rewritten": [],
    }
    manifest["runs"].append(run)
    _write_manifest(root, manifest)  # intent first: a crash below is recoverable by undo
    moved = 0
    try:
        for source, target in result.moves:
            _move(root, source, target)
            moved += 1
        data = layout.DatasetLayout(root)
        for split, lines in result.removed_lines.items():
            pairs_file = data.pairs_file(split)
            drop = {index for index, _ in lines}
            _write_pair_lines(pairs_file, [line for index, line in enumerate(_pair_lines(pairs_file))
                                           if index not in drop])
            run["pairs_rewritten"].append(split)
            _write_manifest(root, manifest)
    except OSError as exc:  # a read-only folder, a full disk: the dataset is half-cleaned; say so and how to go on
        raise CleanError(f"{describe_os_error(exc, root)}: the clean stopped after moving {moved} of "
                         f"{len(result.moves)} file(s), and the pair lists may still name the moved samples; "
                         "fix the cause and run `vtonkit clean` again to finish it, or `vtonkit clean --undo` "
                         "to put back what moved") from exc
    run["status"] = "applied"
    _write_manifest(root, manifest)
    logger.info("quarantined %d sample(s), %d file(s)", result.samples, result.files)


def _lines_not_back(removed: list[Any], current: list[str]) -> list[tuple[int, str]]:
    """The removed pair lines that the pair list does not hold now. Read from the list itself, not
    from the run's record of rewritten lists: a kill between rewriting a list and recording it, or
    between restoring the lines and marking the run undone, must neither lose nor double a line.
    A clean removes every line naming its samples, so a removed text still present was not removed
    (or is back already)."""
    present = Counter(current)
    missing = []
    for index, text in sorted(tuple(item) for item in removed):
        if present[text] > 0:
            present[text] -= 1
        else:
            missing.append((index, text))
    return missing


def _remove_empty_quarantine_folders(root: Path, emptied: list[str]) -> None:
    """The quarantine folders an undo emptied (`quarantine/<split>/<folder>/`, then up), so a dataset
    cleaned and restored looks as it did; a folder still holding anything stays."""
    top = root / QUARANTINE
    folders = {(root / target).parent for target in emptied}
    for folder in sorted(folders | {f.parent for f in folders} | {top}, key=lambda f: len(f.parts), reverse=True):
        if folder == top or top in folder.parents:
            with contextlib.suppress(OSError):  # not empty (or gone): kept
                folder.rmdir()


def undo_last(dataset_root: str | Path, *, dry_run: bool = False) -> CleanResult:
    """Restore the files and pair lines of the most recent clean that is not undone yet."""
    root = Path(dataset_root)
    manifest = _read_manifest(root)
    runs = [run for run in manifest["runs"] if run["status"] in ("applying", "applied")]
    if not runs:
        undone = [run for run in manifest["runs"] if run["status"] == "undone"]
        if undone:
            raise CleanError(f"nothing to undo: every clean recorded in {manifest_path(root)} is undone already "
                             f"(the last: {undone[-1]['id']})")
        raise CleanError(f"nothing to undo: no clean recorded in {manifest_path(root)}")
    run = runs[-1]
    _check_recorded_moves(root, run, "nothing restored")
    moves = [
        (target, source)
        for source, target in run["moves"]
        if (root / target).exists() or (root / target).is_symlink()
    ]
    # every one at once: they are often several (a `vtonkit pairs` after the clean made placeholders again)
    back = [root / source for _, source in moves if (root / source).exists()]
    if back:
        shown = ", ".join(str(path) for path in back[:10]) + (f" and {len(back) - 10} more" if len(back) > 10 else "")
        raise CleanError(f"cannot restore {len(back)} file(s): a file is there again at {shown}; move them away "
                         "first (often placeholder copies a `vtonkit pairs` made after the clean)")
    data = layout.DatasetLayout(root)
    current_lines = {split: _pair_lines(data.pairs_file(split)) if data.pairs_file(split).is_file() else []
                     for split in run["removed_lines"]}
    restored_lines = {}
    for split, removed in run["removed_lines"].items():
        if missing := _lines_not_back(removed, current_lines[split]):
            restored_lines[split] = missing
    result = CleanResult(samples=len(run["samples"]), moves=moves, removed_lines=restored_lines)
    if dry_run:
        return result
    for target, source in moves:
        _move(root, target, source)
    _remove_empty_quarantine_folders(root, [target for target, _ in moves])
    for split, lines in restored_lines.items():
        pairs_file = data.pairs_file(split)
        current = current_lines[split]
        for index, text in sorted(lines):  # ascending: each goes back to its original index
            current.insert(min(index, len(current)), text)
        _write_pair_lines(pairs_file, current)
    run["status"] = "undone"
    run["undone_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _write_manifest(root, manifest)
    return result
