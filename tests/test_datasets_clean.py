"""`clean` quarantines rejected samples (never deletes) and `--undo` restores files and pair lines exactly."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner
from vtonkit.datasets.clean import CleanError, apply_decisions, manifest_path, undo_last
from vtonkit.datasets.review.store import SCHEMA_VERSION, DecisionStore, StoreError, db_path
from vtonkit.datasets.sample_copy import copy_dataset

from vtonkit.cli import app


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file outside .vtonkit (relative path -> digest)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".vtonkit" not in p.parts
    }


def flat(text: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture()
def dataset(vitonhd: Path, tmp_path: Path) -> Path:
    root = copy_dataset(vitonhd, tmp_path / "ds")
    # An unterminated last line must survive clean + undo byte for byte.
    pairs = root / "test_pairs.txt"
    pairs.write_text(pairs.read_text().rstrip("\n"))
    return root


def test_clean_quarantines_and_undo_restores_exactly(dataset: Path) -> None:
    before = snapshot(dataset)
    store = DecisionStore(dataset)
    store.set("test", "00013_00", "reject", "parse bleeds into background")
    store.set("test", "00006_00", "keep")
    store.set("train", "00002_00", "reject")

    result = apply_decisions(dataset)
    assert result.samples == 2
    # 8 person files + cloth + cloth-mask per sample, all moved (none deleted)
    assert result.files == 20
    for folder, name in (
        ("image", "00013_00.jpg"),
        ("cloth-mask", "00013_00.jpg"),
        ("openpose_json", "00013_00_keypoints.json"),
        ("agnostic-mask", "00013_00_mask.png"),
    ):
        assert not (dataset / "test" / folder / name).exists()
        assert (dataset / "quarantine/test" / folder / name).is_file()
    assert (dataset / "quarantine/train/image/00002_00.jpg").is_file()
    # lines naming 00013_00 as person or as garment are gone, the others untouched
    test_pairs = (dataset / "test_pairs.txt").read_text()
    assert "00013_00" not in test_pairs
    assert test_pairs.splitlines() == [
        "00006_00.jpg 00008_00.jpg",
        "00017_00.jpg 00034_00.jpg",
        "00034_00.jpg 00006_00.jpg",
    ]
    assert "00002_00" not in (dataset / "train_pairs.txt").read_text()
    # 00008_00's only line named the rejected 00013_00 as its garment: kept, but in no pair now, and said
    assert result.unpaired_persons == ["test/00008_00"]
    moved = set(before) - set(snapshot(dataset))
    assert len(moved) == 20 + 0 and all(snapshot(dataset)[f"quarantine/{m}"] == before[m] for m in moved)

    undone = undo_last(dataset)
    assert undone.files == 20 and undone.pair_lines == result.pair_lines == 3
    after = snapshot(dataset)
    assert {k: v for k, v in after.items() if not k.startswith("quarantine")} == before
    assert not (dataset / "quarantine").exists()  # its emptied folders went too
    with pytest.raises(CleanError, match="nothing to undo: every clean recorded in .* is undone already"):
        undo_last(dataset)


def test_dry_run_changes_nothing_and_cli(dataset: Path) -> None:
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00017_00", "reject")
    runner = CliRunner()
    result = runner.invoke(app, ["clean", str(dataset), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would quarantine 1 sample(s): 10 file(s), 2 pair line(s)" in flat(result.output)
    # each move whole on its line (rich wrapped them at 80 columns, which split them for grep)
    assert "test/agnostic-mask/00017_00_mask.png -> quarantine/test/agnostic-mask/00017_00_mask.png\n" in result.output
    assert "kept person(s) would be left in no pair line" in flat(result.output)
    assert snapshot(dataset) == before and not manifest_path(dataset).exists()
    result = runner.invoke(app, ["clean", str(dataset)])
    assert result.exit_code == 0 and "quarantined 1 sample(s)" in flat(result.output)
    assert (dataset / "quarantine/test/image/00017_00.jpg").is_file()
    # a second clean has nothing left to do
    assert apply_decisions(dataset).samples == 0
    result = runner.invoke(app, ["clean", str(dataset), "--undo"])
    assert result.exit_code == 0 and "restored 1 sample(s)" in flat(result.output)
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before
    result = runner.invoke(app, ["clean", str(dataset), "--undo"])
    assert result.exit_code == 1 and "nothing to undo" in flat(result.output)


def test_store_is_durable_versioned_and_keeps_history(dataset: Path) -> None:
    store = DecisionStore(dataset)
    store.set("test", "00006_00", "reject")
    store.set_note("test", "00006_00", "sleeve cut")
    store.set("test", "00006_00", "keep")
    reopened = DecisionStore(dataset)
    record = reopened.get("test", "00006_00")
    assert (record.decision, record.note) == ("keep", "sleeve cut")
    assert [h[2] for h in reopened.history()] == ["reject", "reject", "keep"]
    with sqlite3.connect(db_path(dataset)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreError, match="newer"):
        DecisionStore(dataset)
    with pytest.raises(ValueError):
        store.set("test", "00006_00", "maybe")


def _clean_dying_at_the_fourth_move(dataset: Path, monkeypatch) -> None:
    """`apply_decisions` cut short (simulated: the 4th file move raises, as a kill or a power loss)."""
    import vtonkit.datasets.clean as clean_module

    real_move, calls = clean_module._move, []

    def dying_move(root: Path, source: str, target: str) -> None:
        calls.append(source)
        if len(calls) == 4:
            raise OSError("simulated power loss")
        real_move(root, source, target)

    monkeypatch.setattr(clean_module, "_move", dying_move)
    with pytest.raises(CleanError, match="simulated power loss: the clean stopped after moving 3 of"):
        apply_decisions(dataset)
    monkeypatch.setattr(clean_module, "_move", real_move)


def test_undo_recovers_an_interrupted_clean(dataset: Path, monkeypatch) -> None:
    """A clean that dies half-way (simulated: the 4th move raises) is fully undone from its manifest."""
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00034_00", "reject")
    _clean_dying_at_the_fourth_move(dataset, monkeypatch)
    assert len([p for p in (dataset / "quarantine").rglob("*") if p.is_file()]) == 3
    undone = undo_last(dataset)
    assert undone.files == 3 and undone.pair_lines == 0  # pair lists were not rewritten yet
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


def test_store_serialises_concurrent_writers(dataset: Path) -> None:
    """Threads (the app's request workers) and a second store (another process's view) all land."""
    import threading

    stores = [DecisionStore(dataset), DecisionStore(dataset)]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for step in range(15):
                stores[index % 2].set("test", f"s{index}", ("keep", "reject")[step % 2], f"step {step}")
        except BaseException as exc:  # collected: an exception in a thread would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = DecisionStore(dataset).all()
    assert {key: (r.decision, r.note) for key, r in records.items()} == {
        ("test", f"s{i}"): ("keep", "step 14") for i in range(6)
    }
    assert len(DecisionStore(dataset).history()) == 6 * 15


def test_store_two_processes_write_at_once(dataset: Path) -> None:
    """Another process writing at the same time waits for the lock (BEGIN IMMEDIATE) instead of failing."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom vtonkit.datasets.review.store import DecisionStore\n"
        "store = DecisionStore(sys.argv[1])\n"
        "for i in range(30): store.set('train', f'p{i}', 'reject', 'other process')\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(dataset)])
    store = DecisionStore(dataset)
    for i in range(30):
        store.set("test", f"m{i}", "keep")
    assert child.wait(timeout=120) == 0
    records = DecisionStore(dataset).all()
    assert sum(r.decision == "reject" for r in records.values()) == 30
    assert sum(r.decision == "keep" for r in records.values()) == 30


def test_undo_restores_crlf_pair_lists_byte_for_byte(dataset: Path) -> None:
    """Reading the list as text turned CRLF into LF: the kept lines and the restored ones changed bytes."""
    pairs = dataset / "test_pairs.txt"
    pairs.write_bytes(pairs.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00013_00", "reject")
    result = apply_decisions(dataset)
    assert result.pair_lines == 2
    assert b"\r\n" in pairs.read_bytes() and b"\n" not in pairs.read_bytes().replace(b"\r\n", b"")
    undo_last(dataset)
    after = snapshot(dataset)
    assert {k: v for k, v in after.items() if not k.startswith("quarantine")} == before


@pytest.mark.parametrize("damage", ["pair list not UTF-8", "clean manifest cut short", "decisions not SQLite"])
def test_damaged_state_files_end_in_a_named_error_and_move_nothing(dataset: Path, damage: str) -> None:
    """A pair list in Latin-1, a cut-short clean manifest or a review.sqlite that is no database:
    exit 1 with the file named (no traceback), and not one file moved."""
    DecisionStore(dataset).set("test", "00013_00", "reject")
    if damage == "pair list not UTF-8":
        target = dataset / "test_pairs.txt"
        target.write_bytes(target.read_bytes() + b"\ncaf\xe9.jpg 00006_00.jpg\n")
    elif damage == "clean manifest cut short":
        target = manifest_path(dataset)
        target.write_text('{"version": 1, "runs": [')
    else:
        target = db_path(dataset)
        target.write_bytes(b"not a database at all")
    before = snapshot(dataset)
    result = CliRunner().invoke(app, ["clean", str(dataset)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert str(target) in "".join(result.output.split()), result.output
    undo = CliRunner().invoke(app, ["clean", str(dataset), "--undo"])  # nothing recorded, or the manifest named
    assert undo.exit_code == 1 and isinstance(undo.exception, SystemExit), undo.output
    assert snapshot(dataset) == before


def test_a_folder_or_dangling_link_in_a_files_place_moves_with_its_sample(dataset: Path) -> None:
    image = dataset / "test" / "image" / "00013_00.jpg"
    image.unlink()
    image.mkdir()
    (image / "inside.txt").write_text("a folder where the photo belongs")
    mask = dataset / "test" / "cloth-mask" / "00013_00.jpg"
    mask.unlink()
    mask.symlink_to(dataset / "nowhere.jpg")
    DecisionStore(dataset).set("test", "00013_00", "reject")

    result = apply_decisions(dataset)
    assert result.files == 10
    assert not os.path.lexists(image) and not os.path.lexists(mask)
    assert (dataset / "quarantine/test/image/00013_00.jpg/inside.txt").is_file()
    assert (dataset / "quarantine/test/cloth-mask/00013_00.jpg").is_symlink()

    undone = undo_last(dataset)
    assert undone.files == 10
    assert (image / "inside.txt").read_text() == "a folder where the photo belongs"
    assert mask.is_symlink()


def test_a_decision_for_no_split_is_skipped_with_a_warning(dataset: Path, caplog) -> None:
    """A hand-edited review store with a decision for split "bogus" stopped `clean` with a ValueError
    traceback; the decision is skipped, named in a warning, and the other decisions are applied."""
    store = DecisionStore(dataset)
    store.set("test", "00017_00", "reject")
    with sqlite3.connect(db_path(dataset)) as connection:
        connection.execute("UPDATE decisions SET split = 'bogus' WHERE sample = '00017_00'")
    store.set("test", "00013_00", "reject")
    result = apply_decisions(dataset)
    assert result.samples == 1 and (dataset / "quarantine/test/image/00013_00.jpg").is_file()
    assert (dataset / "test/image/00017_00.jpg").is_file()
    assert any("'bogus' is not a split" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("link", ["image folder", "split folder"])
def test_clean_moves_nothing_through_a_linked_folder(dataset: Path, tmp_path: Path, link: str, caplog) -> None:
    """`test/image` (or `test/`) a symbolic link to a folder outside the dataset: os.replace took the photo
    out of that outside folder into the quarantine. The sample is skipped, named in a warning; the
    outside folder keeps every file, and the other decisions are still applied."""
    outside = tmp_path / "elsewhere"
    moved = dataset / "test" / ("image" if link == "image folder" else "")
    os.replace(moved, outside)
    moved.symlink_to(outside, target_is_directory=True)
    before_outside = snapshot(outside)
    store = DecisionStore(dataset)
    store.set("test", "00013_00", "reject")
    store.set("train", "00002_00", "reject")

    result = apply_decisions(dataset)
    assert snapshot(outside) == before_outside
    assert not (dataset / "quarantine" / "test").exists()
    assert result.samples == 1 and (dataset / "quarantine/train/image/00002_00.jpg").is_file()
    assert "00013_00" in (dataset / "test_pairs.txt").read_text()  # a skipped sample keeps its pair lines
    assert any("test/00013_00 skipped" in r.getMessage() and "symbolic link" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("sample", ["../../../elsewhere/image/victim", "/abs/elsewhere/image/victim"])
def test_a_decision_for_no_plain_sample_name_moves_nothing(dataset: Path, tmp_path: Path, sample: str) -> None:
    """A hand-edited review store naming `../..` or an absolute path: clean stopped with a
    FileNotFoundError traceback after recording a half run. The decision is skipped; nothing
    outside the dataset is touched."""
    victim = tmp_path / "elsewhere" / "image" / "victim.jpg"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"not the dataset's")
    if sample.startswith("/abs"):
        sample = str(tmp_path) + sample[len("/abs"):]
    DecisionStore(dataset).set("test", sample, "reject")
    before = snapshot(dataset)
    result = CliRunner().invoke(app, ["clean", str(dataset)])
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b"not the dataset's"
    assert snapshot(dataset) == before


@pytest.mark.parametrize("move", [("test/image/00013_00.jpg", "../elsewhere/victim.jpg"),
                                  ("../elsewhere/planted.jpg", "test/image/00013_00.jpg"),
                                  ("test/image/00013_00.jpg", "quarantine/test/image/00013_00.jpg")])
def test_undo_moves_nothing_a_clean_manifest_points_outside(dataset: Path, tmp_path: Path, move) -> None:
    """A clean manifest (it travels with the dataset) whose recorded move leaves the dataset, or goes
    through a linked quarantine folder: `--undo` renamed a file from outside into the dataset, or
    a dataset file out of it. Now it is a named error and nothing moves."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.jpg").write_bytes(b"not the dataset's")
    if move[1].startswith("quarantine"):
        (elsewhere / "test" / "image").mkdir(parents=True)
        (elsewhere / "test" / "image" / "00013_00.jpg").write_bytes(b"not the dataset's")
        (dataset / "quarantine").symlink_to(elsewhere, target_is_directory=True)
    if move[0].startswith("test/"):  # the recorded file is not in its place (as after a clean)
        os.remove(dataset / move[0])
    manifest_path(dataset).parent.mkdir(parents=True, exist_ok=True)
    manifest_path(dataset).write_text(json.dumps({"version": 1, "runs": [
        {"status": "applied", "samples": [["test", "00013_00"]], "moves": [list(move)], "removed_lines": {},
         "pairs_rewritten": []}]}))
    before, outside = snapshot(dataset), snapshot(elsewhere)
    result = CliRunner().invoke(app, ["clean", str(dataset), "--undo"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert str(manifest_path(dataset)) in "".join(result.output.split()), result.output
    assert snapshot(dataset) == before and snapshot(elsewhere) == outside


def _last_run(root: Path, **changes: object) -> None:
    """Set fields of the clean manifest's last run, as a kill between two writes would leave it."""
    manifest = json.loads(manifest_path(root).read_text())
    manifest["runs"][-1].update(changes)
    manifest_path(root).write_text(json.dumps(manifest))


def test_undo_restores_pair_lines_a_killed_clean_rewrote_but_had_not_recorded(dataset: Path) -> None:
    """kill -9 after a pair list's rewrite, before the manifest said so: undo read only the record,
    so the removed lines were never restored."""
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00013_00", "reject")
    apply_decisions(dataset)
    _last_run(dataset, status="applying", pairs_rewritten=[])
    undone = undo_last(dataset)
    assert undone.pair_lines == 2
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


def test_a_second_undo_after_a_kill_before_marking_the_first_done_doubles_no_line(dataset: Path) -> None:
    """kill -9 after undo put the lines back, before it marked the run undone: the next undo inserted
    them a second time."""
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00013_00", "reject")
    apply_decisions(dataset)
    undo_last(dataset)
    _last_run(dataset, status="applied")
    again = undo_last(dataset)
    assert again.pair_lines == 0 and again.files == 0
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


@pytest.mark.parametrize("removed", [{"test": [["x", 1]]}, {"test": "00013_00.jpg 00006_00.jpg"},
                                     {"../../elsewhere": [[0, "a.jpg b.jpg"]]}])
def test_undo_refuses_removed_lines_of_the_wrong_shape(dataset: Path, removed: object) -> None:
    """The manifest travels with the dataset: a malformed record was a raw TypeError, and a split
    named like a path would have steered the rewrite of a file outside the dataset."""
    DecisionStore(dataset).set("test", "00013_00", "reject")
    apply_decisions(dataset)
    _last_run(dataset, removed_lines=removed, pairs_rewritten=["test"])
    before = snapshot(dataset)
    with pytest.raises(CleanError, match="removed_lines"):
        undo_last(dataset)
    assert snapshot(dataset) == before


def test_a_clean_run_again_after_a_crash_finishes_the_cut_short_run(dataset: Path, monkeypatch) -> None:
    """kill -9 half-way, then `clean` again: the re-run recorded the files still in place as a new run,
    and `--undo` restored only those; the first run's files stayed quarantined while undo said
    "restored". The re-run now completes the cut-short run, and one undo restores everything."""
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00034_00", "reject")
    DecisionStore(dataset).set("test", "00013_00", "reject")
    _clean_dying_at_the_fourth_move(dataset, monkeypatch)
    result = CliRunner().invoke(app, ["clean", str(dataset)])
    assert result.exit_code == 0, result.output
    # 3 files moved before the kill, the other 17 now
    assert "that was cut short" in flat(result.output) and "quarantined 2 sample(s): 17 file(s)" in flat(result.output)
    runs = json.loads(manifest_path(dataset).read_text())["runs"]
    assert [run["status"] for run in runs] == ["applied"]
    pairs = (dataset / "test_pairs.txt").read_text()
    assert "00034_00" not in pairs and "00013_00" not in pairs
    undone = undo_last(dataset)
    assert undone.files == 20
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


def test_the_placeholder_copies_of_a_rejected_garment_leave_with_it(vitonhd: Path, tmp_path: Path) -> None:
    """A rejected shop garment went to the quarantine, but the copies `vtonkit pairs` had made of it as
    placeholder own-garments stayed under the persons' names (and an export carried them on as those
    persons' garments). They now move with it, and undo brings them back."""
    from vtonkit.datasets.manifest import placeholder_stems
    from vtonkit.datasets.pairing import write_pair_list

    from tests.test_datasets_pairing import _crawled_like

    dataset = _crawled_like(vitonhd, tmp_path / "shop")
    placeholders = write_pair_list(dataset, "test", "unpaired", seed=0).placeholders
    rejected = "shop_0"
    copies = sorted(person for person, garment in placeholders.items() if garment == rejected)
    kept = sorted(person for person, garment in placeholders.items() if garment != rejected)
    assert copies and kept
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", rejected, "reject", "wrong product")
    said = flat(CliRunner().invoke(app, ["clean", str(dataset), "--dry-run"]).output)
    assert f"{len(copies)} placeholder garment(s) copied from a rejected garment would go with it" in said, said
    assert snapshot(dataset) == before
    result = apply_decisions(dataset)
    assert result.placeholder_persons == [f"test/{person}" for person in copies]
    for stem in [rejected, *copies]:
        for folder in ("cloth", "cloth-mask"):
            assert not (dataset / "test" / folder / f"{stem}.jpg").exists()
            assert (dataset / "quarantine" / "test" / folder / f"{stem}.jpg").is_file()
    assert result.files == 2 * (1 + len(copies))
    for person in [*copies, *kept]:
        assert (dataset / "test" / "image" / f"{person}.jpg").is_file()  # the persons stay
    assert all((dataset / "test" / "cloth" / f"{person}.jpg").is_file() for person in kept)
    # a person whose placeholder left cannot load (every test line opens cloth/<person>): its lines
    # went too (kept, the loader failed on them), and it is named as left unpaired until `pairs` runs
    listed = {line.split()[0].removesuffix(".jpg") for line in (dataset / "test_pairs.txt").read_text().splitlines()}
    assert not listed & set(copies) and result.unpaired_persons == [f"test/{person}" for person in copies]
    assert placeholder_stems(dataset, "test") == set(placeholders)  # records kept for undo and `pairs`
    undo_last(dataset)
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before
    apply_decisions(dataset)
    again = write_pair_list(dataset, "test", "unpaired", seed=0)  # as the message says: new placeholders
    assert set(again.placeholders) >= set(copies) and rejected not in again.placeholders.values()
    from vtonkit.datasets.validate import validate

    assert not [f for f in validate(dataset, ["test"], duplicates=False).findings if f.code == "missing-file"]


def test_a_kept_person_whose_placeholder_leaves_leaves_the_pair_list(vitonhd: Path, tmp_path: Path) -> None:
    """With every person paired with every garment (`pairs --mode all`), rejecting the garment a
    placeholder copies moved the copy but kept its person's lines: the official test loader opens
    cloth/<person> for each of them and failed. The lines go with the copy and come back on undo."""
    from vtonkit.datasets.pairing import write_pair_list

    from tests.test_datasets_pairing import _crawled_like

    dataset = _crawled_like(vitonhd, tmp_path / "shop")
    placeholders = write_pair_list(dataset, "test", "all", seed=0).placeholders
    rejected = "shop_0"
    copies = sorted(person for person, garment in placeholders.items() if garment == rejected)
    assert copies
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", rejected, "reject", "wrong product")
    result = apply_decisions(dataset)
    persons = [line.split()[0].removesuffix(".jpg") for line in (dataset / "test_pairs.txt").read_text().splitlines()]
    assert not set(persons) & set(copies), persons  # their lines named shop_1 and shop_2 too
    assert result.unpaired_persons == [f"test/{person}" for person in copies]
    undo_last(dataset)
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


def test_kept_links_to_a_quarantined_file_are_named(dataset: Path) -> None:
    """Garment copies made with `ln -s` of a rejected garment were left as links to nothing, unsaid."""
    for folder in ("cloth", "cloth-mask"):
        os.symlink("00008_00.jpg", dataset / "test" / folder / "copy_a.jpg")
    DecisionStore(dataset).set("test", "00008_00", "reject", "")
    said = flat(CliRunner().invoke(app, ["clean", str(dataset), "--dry-run"]).output)
    assert "2 kept file(s) would be links to a quarantined file, leading nowhere now (test/cloth-mask/copy_a.jpg, " \
           "test/cloth/copy_a.jpg)" in said, said
    result = apply_decisions(dataset)
    assert result.dangling_links == ["test/cloth-mask/copy_a.jpg", "test/cloth/copy_a.jpg"]
    assert not (dataset / "test" / "cloth" / "copy_a.jpg").exists()  # the link leads nowhere, as said
    undo_last(dataset)
    assert (dataset / "test" / "cloth" / "copy_a.jpg").exists()


def test_undo_names_every_file_in_the_way(dataset: Path) -> None:
    """Files back where the clean took others from (a `vtonkit pairs` after it made placeholders again):
    undo named only the first, so each was found by one more failed run."""
    DecisionStore(dataset).set("test", "00013_00", "reject")
    apply_decisions(dataset)
    before = snapshot(dataset)
    for folder in ("cloth", "cloth-mask"):
        (dataset / "test" / folder / "00013_00.jpg").write_bytes(b"new")
    with pytest.raises(CleanError) as refused:
        undo_last(dataset)
    message = str(refused.value)
    assert message.startswith("cannot restore 2 file(s)")
    assert all(str(dataset / "test" / f / "00013_00.jpg") in message for f in ("cloth", "cloth-mask"))
    for folder in ("cloth", "cloth-mask"):
        (dataset / "test" / folder / "00013_00.jpg").unlink()
    assert snapshot(dataset) == before  # nothing was moved by the refusal


def test_the_dry_run_plan_is_the_commands_output(dataset: Path) -> None:
    """`clean --dry-run > plan.txt` kept nothing: the plan went to stderr."""
    import subprocess
    import sys

    DecisionStore(dataset).set("test", "00013_00", "reject")
    run = subprocess.run([sys.executable, "-m", "vtonkit", "clean", str(dataset), "--dry-run"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "would quarantine 1 sample(s)" in run.stdout and "test/image/00013_00.jpg" in run.stdout
    assert "would quarantine" not in run.stderr


def test_a_clean_a_read_only_folder_stops_says_what_is_half_done_and_how_to_go_on(dataset: Path) -> None:
    """A read-only artifact folder stopped `clean` after 9 moves with only "<file>: Permission denied":
    nothing said the dataset was half-cleaned, its pair lists still naming the moved samples, nor
    that `clean` again or `clean --undo` sets it right. The real CLI in its own process; as root it
    runs under setpriv without the override that lets root write anywhere (skipped without setpriv)."""
    import subprocess
    import sys

    from tests.permissions import without_root_override

    prefix = without_root_override()
    before = snapshot(dataset)
    DecisionStore(dataset).set("test", "00034_00", "reject")
    for folder in [dataset, *(p for p in dataset.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)  # copied with the shared data's read-only modes
    locked = dataset / "test" / "image-densepose"
    locked.chmod(0o555)
    try:
        run = subprocess.run([*prefix, sys.executable, "-m", "vtonkit", "clean", str(dataset)],
                             capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "300"})
    finally:
        locked.chmod(0o755)
    said = flat(run.stderr)
    assert run.returncode == 1 and "Permission denied: the clean stopped after moving" in said, said
    assert "image-densepose/00034_00.jpg" in said and "stopped after moving 0 of" not in said, said
    assert "run `vtonkit clean` again to finish it, or `vtonkit clean --undo`" in said and "Traceback" not in said
    finished = apply_decisions(dataset)  # the cause fixed: the clean cut short is finished
    assert finished.interrupted and not (dataset / "test" / "image-densepose" / "00034_00.jpg").exists()
    undo_last(dataset)
    assert {k: v for k, v in snapshot(dataset).items() if not k.startswith("quarantine")} == before


def test_a_leak_cleaned_away_is_no_leak(dataset: Path) -> None:
    """The manifest keeps a quarantined sample's record (for --undo), and validate read its leak from
    the manifest alone: after `clean` took the test copy of a train person away, validate still
    failed on `leakage` for files no longer there, and review showed a ghost card. Every test copy of
    one source is named (only the last one was)."""
    from vtonkit.datasets.manifest import PERSONS, Manifest
    from vtonkit.datasets.validate import validate

    manifest = Manifest.load(dataset)
    for split, stem in (("train", "00000_00"), ("test", "00006_00"), ("test", "00008_00")):
        manifest.entries(split, PERSONS)[stem] = {"sha256": "one source photo"}
    manifest.save()
    leaking = {f.sample for f in validate(dataset, duplicates=False).findings if f.code == "leakage"}
    assert leaking == {"00006_00", "00008_00"}
    store = DecisionStore(dataset)
    for stem in leaking:
        store.set("test", stem, "reject", "the train person again")
    apply_decisions(dataset)
    assert [f for f in validate(dataset, duplicates=False).findings if f.code == "leakage"] == []
    undo_last(dataset)  # back: the leak is back
    assert {f.sample for f in validate(dataset, duplicates=False).findings if f.code == "leakage"} == leaking
