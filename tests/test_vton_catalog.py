"""`vtonkit infer` at catalog scale: read-ahead, background writer, run log, resume after kill -9,
shards and Ray, each pair computed exactly once. Real VITON-HD samples (linked under extra stems
to make a longer list), the real CLI, real files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from vtonkit.cli import app
from vtonkit.datasets.layout import DatasetLayout, SplitDir
from vtonkit.datasets.pairs import write_pairs
from vtonkit.datasets.sample_copy import replicate_samples
from vtonkit.vton_infer.prefetch import read_ahead
from vtonkit.vton_infer.run_log import RunLog, read_records
from vtonkit.vton_infer.shards import Shard

REPO = Path(__file__).resolve().parents[1]


def catalog_dataset(vitonhd: Path, root: Path, copies: int, garments: int) -> list[tuple[str, str]]:
    """The 5 test persons and garments linked `copies` more times under new stems; every person with
    the first `garments` garments written as test_pairs.txt. Returns the pairs (stems)."""
    persons, cloths = replicate_samples(SplitDir(vitonhd / "test"), DatasetLayout(root).split("test"), copies)
    pairs = [(p, c) for p in persons for c in cloths[:garments]]
    write_pairs(DatasetLayout(root).pairs_file("test"), [(f"{p}.jpg", f"{c}.jpg") for p, c in pairs])
    return pairs


def done_lines(out: Path) -> Counter:
    """Output name -> number of "done" lines over every run log of OUT."""
    return Counter(r.output for r in read_records(out) if r.status == "done")


def assert_every_pair_once(out: Path, pairs: list[tuple[str, str]]) -> None:
    names = {f"{p}_{c}.png" for p, c in pairs}
    assert done_lines(out) == Counter(names)  # exactly one done line per pair, none for anything else
    assert {p.name for p in out.glob("*.png")} == names
    for name in names:
        with Image.open(out / name) as image:
            image.load()  # a truncated file raises here
            assert image.format == "PNG" and image.size == (768, 1024) and image.mode == "RGB"
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no temporary file left


def vtonkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "vtonkit", *args]


@pytest.mark.slow
def test_resume_after_kill_9_writes_every_pair_once(vitonhd: Path, tmp_path: Path) -> None:
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=1, garments=5)  # 10 persons x 5 garments
    assert len(pairs) == 50
    out = tmp_path / "out"
    command = vtonkit("infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out), "--threads", "1")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(tmp_path / "first.log", "wb") as log:
        first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        deadline = time.monotonic() + 300
        while sum(done_lines(out).values()) < 8 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, (tmp_path / "first.log").read_text()
    before = {name: (out / name).stat().st_mtime_ns for name in done_lines(out)}
    assert 8 <= len(before) < len(pairs)  # killed in the middle of the list

    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    output = " ".join((second.stdout + second.stderr).split())
    assert second.returncode == 0, output
    assert f"{len(before)} already done (resumed)" in output
    assert f"{len(pairs) - len(before)}/{len(pairs)} pairs written" in output
    assert_every_pair_once(out, pairs)
    # the pairs finished before the kill were not computed again: same files, untouched
    assert {name: (out / name).stat().st_mtime_ns for name in before} == before


def test_shards_are_disjoint_and_cover_the_list() -> None:
    stems = [f"{p:05d}_00_{c:05d}_00" for p in range(60) for c in range(7)]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(count) if Shard(i, count).owns(s)] for s in stems]
        assert all(len(o) == 1 for o in owners)  # each pair in exactly one shard
        sizes = Counter(o[0] for o in owners)
        assert len(sizes) == count and min(sizes.values()) > len(stems) / count / 2  # none empty or starved
    assert Shard.parse(" 2/5 ") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"
    for bad in ("5/5", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            Shard.parse(bad)


def test_two_shard_processes_compute_the_list_once(vitonhd: Path, tmp_path: Path) -> None:
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=1, garments=2)  # 20 pairs
    out = tmp_path / "out"
    for index in (0, 1):
        result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out),
                                          "--shard", f"{index}/2"])
        assert result.exit_code == 0, result.output
    assert_every_pair_once(out, pairs)
    for index in (0, 1):
        logged = {r.output for r in read_records(out) if r.shard == f"{index}/2"}
        assert logged and all(Shard(index, 2).owns(name.removesuffix(".png")) for name in logged)
        assert (out / f"infer-log.shard-{index}-of-2.jsonl").is_file()
    # a later whole-list run finds every pair done in the shard logs and computes nothing
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"0/{len(pairs)} pairs written" in " ".join(result.output.split())
    assert_every_pair_once(out, pairs)
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out),
                                      "--shard", "0/2", "--fresh"])
    assert result.exit_code == 2 and "--fresh" in result.output


def test_other_settings_are_refused_and_fresh_recomputes(vitonhd: Path, tmp_path: Path) -> None:
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)  # 5 pairs
    out = tmp_path / "out"
    base = ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)]
    assert CliRunner().invoke(app, base).exit_code == 0
    refused = CliRunner().invoke(app, [*base, "--grids"])
    assert refused.exit_code == 2
    assert "other settings" in refused.output and "grids" in refused.output
    again = CliRunner().invoke(app, [*base, "--grids", "--fresh"])
    assert again.exit_code == 0, again.output
    assert f"{len(pairs)}/{len(pairs)} pairs written" in " ".join(again.output.split())
    assert_every_pair_once(out, pairs)
    records = read_records(out)
    assert all(r.files == [r.output, f"grid/{r.output}"] and r.seconds > 0 for r in records)


def test_a_pair_that_cannot_be_written_is_logged_and_the_batch_goes_on(vitonhd: Path, tmp_path: Path) -> None:
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=2)  # 10 pairs
    out = tmp_path / "out"
    blocked = f"{pairs[3][0]}_{pairs[3][1]}.png"
    (out / blocked).mkdir(parents=True)  # a folder where the PNG must go: the rename fails
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out),
                                      "--batch-size", "3"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "9/10 pairs written" in output and "cannot write" in output
    assert blocked in result.output.replace("\n", "")  # rich may fold the long path anywhere
    failed = [r for r in read_records(out) if r.status == "failed"]
    assert [r.output for r in failed] == [blocked] and "cannot write" in failed[0].error
    assert done_lines(out) == Counter(f"{p}_{c}.png" for p, c in pairs if f"{p}_{c}.png" != blocked)
    # once the obstacle is gone, the rerun computes that pair only
    (out / blocked).rmdir()
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1/10 pairs written" in " ".join(result.output.split())
    assert_every_pair_once(out, pairs)


def test_a_resume_computes_again_the_outputs_damaged_since(vitonhd: Path, tmp_path: Path) -> None:
    """A "done" line used to count for as long as its file existed: a PNG emptied or cut short after the
    run (a full disk during a copy, a failed sync) was skipped as done by every rerun."""
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)  # 5 pairs
    out = tmp_path / "out"
    base = ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)]
    assert CliRunner().invoke(app, base).exit_code == 0
    assert all(r.sizes == [(out / r.output).stat().st_size] for r in read_records(out))
    cut, emptied = (out / f"{p}_{c}.png" for p, c in pairs[:2])
    cut.write_bytes(cut.read_bytes()[:1000])
    emptied.write_bytes(b"")
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 0, result.output
    assert "2/5 pairs written" in " ".join(result.output.split())
    for name in (cut, emptied):
        with Image.open(name) as image:
            image.load()
    assert Counter(r.output for r in read_records(out) if r.status == "done") == Counter(
        {f"{p}_{c}.png": 2 if i < 2 else 1 for i, (p, c) in enumerate(pairs)})


def test_a_torn_last_log_line_is_skipped_and_the_next_line_starts_fresh(tmp_path: Path) -> None:
    from vtonkit.vton_infer.run_log import PairRecord

    log_path = tmp_path / "infer-log.jsonl"
    whole = PairRecord("a", "b", "a_b.png", "done", 0.5, ["a_b.png"]).to_line()
    log_path.write_text(whole + whole[: len(whole) // 2])  # what a kill during a write leaves
    with RunLog(tmp_path, Shard()) as log:
        log.append(PairRecord("c", "d", "c_d.png", "done", 0.25, ["c_d.png"]))
        with pytest.raises(Exception, match="another `vtonkit infer` is writing"):
            RunLog(tmp_path, Shard())  # one writer per log
    assert [r.output for r in read_records(tmp_path)] == ["a_b.png", "c_d.png"]
    assert json.loads(log_path.read_text().splitlines()[-1])["person"] == "c"


def test_read_ahead_keeps_order_and_its_bound() -> None:
    consumed = 0
    ahead = []
    lock = threading.Lock()

    def read(person: str, cloth: str):
        with lock:
            ahead.append(int(person) - consumed)
        time.sleep(0.002 * (int(person) % 3))  # finish out of order
        if person == "7":
            raise ValueError("bad pair 7")
        return person

    pairs = [(str(i), "x") for i in range(30)]
    got = []
    for item in read_ahead(read, pairs, workers=3, depth=4):
        got.append((item.person, item.sample, item.error))
        consumed += 1
    assert [g[0] for g in got] == [str(i) for i in range(30)]
    assert got[7] == ("7", None, "bad pair 7") and got[8] == ("8", "8", None)
    assert max(ahead) < 4  # never more than `depth` pairs read ahead of the consumer


@pytest.mark.ray
@pytest.mark.slow
def test_ray_workers_compute_each_pair_once(vitonhd: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=2)  # 10 pairs
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out),
                                      "--engine", "ray", "--workers", "2"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "10/10 pairs written" in said and "2 Ray workers, start-up included" in said, said
    assert "torch threads" not in said  # each worker is a task of its own threads
    assert_every_pair_once(out, pairs)
    for index in (0, 1):  # each Ray task computed its own shard, and only it
        logged = {r.output for r in read_records(out) if r.shard == f"{index}/2"}
        assert logged and logged == {f"{p}_{c}.png" for p, c in pairs if Shard(index, 2).owns(f"{p}_{c}")}
    # the local engine resumes a Ray run: nothing left to compute
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)])
    assert result.exit_code == 0 and "0/10 pairs written" in " ".join(result.output.split())
    assert_every_pair_once(out, pairs)


def test_sheets_keep_no_run_log_so_one_folder_takes_sheets_of_any_settings(vitonhd: Path, tmp_path: Path) -> None:
    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    out = tmp_path / "sheets"
    for extra in ([], ["--category", "dresses", "--name", "as_dresses"]):
        result = CliRunner().invoke(app, ["sheet", str(tmp_path / "ds"), "--person", "00013_00", "--limit", "2",
                                          "--method", "warp", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
    assert (out / "person_00013_00.png").is_file() and (out / "as_dresses.png").is_file()
    assert not list(out.glob("infer-*"))  # no run log, no settings record: nothing to refuse


def test_hrviton_settings_record_the_checkpoints_by_content(tmp_path: Path) -> None:
    """Resuming HR-VITON with other weights is refused even when the checkpoint paths are the same."""
    from vtonkit.core.errors import VtonkitError
    from vtonkit.vton_infer.run_log import PairRecord, check_settings
    from vtonkit.vton_infer.runner import InferOptions, run_settings

    tocg, gen = tmp_path / "mtviton.pth", tmp_path / "gen.pth"
    tocg.write_bytes(b"condition generator weights")
    gen.write_bytes(b"image generator weights")
    options = InferOptions(method="hrviton", tocg_checkpoint=tocg, gen_checkpoint=gen)
    out = tmp_path / "out"
    out.mkdir()
    check_settings(out, run_settings(options))
    with RunLog(out, Shard()) as log:
        log.append(PairRecord("a", "b", "a_b.png", "done", 0.1, ["a_b.png"]))
    (out / "a_b.png").write_bytes(b"a finished output")  # what the folder protects
    check_settings(out, run_settings(options))  # same weights: resumes
    gen.write_bytes(b"image generator weights, retrained")
    with pytest.raises(VtonkitError, match="gen_checkpoint_sha256"):
        check_settings(out, run_settings(options))


def test_two_pairs_that_would_write_one_output_are_refused_by_name() -> None:
    """`p_1` + `c` and `p` + `1_c` both name `p_1_c.png`: one would silently overwrite the other."""
    from vtonkit.core.errors import VtonkitError
    from vtonkit.vton_infer.runner import unique_pairs

    assert unique_pairs([("a.jpg", "b.jpg"), ("a.jpg", "b.jpg")]) == ([("a", "b")], 1)
    with pytest.raises(VtonkitError, match=r"p_1 \+ c and p \+ 1_c would both write p_1_c\.png"):
        unique_pairs([("p_1.jpg", "c.jpg"), ("p.jpg", "1_c.jpg")])


@pytest.mark.slow
def test_ctrl_c_says_how_to_continue_and_leaves_no_half_written_file(vitonhd: Path, tmp_path: Path) -> None:
    """Ctrl-C ended `infer` with exit code 130 and no word after the progress bar; it now says that
    the same command continues, and the run continues from there."""
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=1, garments=5)  # 10 persons x 5 garments
    out = tmp_path / "out"
    command = vtonkit("infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out), "--threads", "1")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    # SIGINT as a terminal's Ctrl-C: a pytest-xdist worker ignores it, and its children would inherit that
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO, env=env, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while sum(done_lines(out).values()) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    said = " ".join(first.communicate(timeout=120)[0].split())
    assert first.returncode == 130, said
    assert "interrupted:" in said and "the same command continues" in said and "Traceback" not in said
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert_every_pair_once(out, pairs)


def test_a_pair_of_two_long_names_gets_an_output_that_fits(vitonhd: Path, tmp_path: Path) -> None:
    """prep keeps stems up to 226 bytes: `<person>_<cloth>.png` of two of them is no legal file
    name, and the pair failed "File name too long". Its output keeps both starts and a digest."""
    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    split = DatasetLayout(tmp_path / "ds").split("test")
    person, cloth = "p" * 226, "c" * 226
    for old, new, files in (("00006_00", person, split.person_files), ("00008_00", cloth, split.cloth_files)):
        for source, target in zip(files(old).values(), files(new).values()):
            if source.exists():
                source.rename(target)
    pairs = [(person, cloth), (person, "00013_00")]
    write_pairs(DatasetLayout(tmp_path / "ds").pairs_file("test"), [(f"{p}.jpg", f"{c}.jpg") for p, c in pairs])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.glob("*.png"))
    assert len(written) == 2 and all(len(name.encode()) + 14 <= 255 for name in written)
    assert f"{person}_00013_00.png" in written  # names that fit keep the official form
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_run_beside_a_live_shard_of_another_kind_is_refused(vitonhd: Path, tmp_path: Path) -> None:
    """A whole-list run (or its --fresh, or a shard of another count) beside a shard still writing
    OUT computed the shard's pairs twice, and --fresh deleted the live shard's log so its finished
    pairs were forgotten; a sibling shard with other settings was let in before any pair was done.
    A live shard is the lock its log holds: here held open, as the other machine's process would."""
    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    out = tmp_path / "out"
    base = ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)]
    live = RunLog(out, Shard(0, 2))  # shard 0/2 running elsewhere, nothing finished yet
    try:
        (out / "infer-settings.json").write_text("{}")  # what it recorded
        for extra in ([], ["--fresh"], ["--shard", "1/3"]):
            result = CliRunner().invoke(app, [*base, *extra])
            assert result.exit_code == 2 and "another `vtonkit infer` is writing this output folder" in result.output, \
                (extra, result.output)
        assert live.path.is_file()  # --fresh left the live shard's log alone
        sibling = CliRunner().invoke(app, [*base, "--shard", "1/2"])
        assert sibling.exit_code == 2 and "other settings" in sibling.output, sibling.output
    finally:
        live.close()
    result = CliRunner().invoke(app, [*base, "--fresh"])  # the shard ended: the folder is free again
    assert result.exit_code == 0, result.output


def test_a_resumed_run_that_computes_nothing_gives_no_rate(vitonhd: Path, tmp_path: Path) -> None:
    """"0/5 pairs written ... (1.35 s/pair)": the start-up time over no pair read as a speed."""
    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    command = ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(tmp_path / "out")]
    first = CliRunner().invoke(app, command, env={"COLUMNS": "300"})
    assert first.exit_code == 0 and "s/pair" in first.output, first.output
    again = CliRunner().invoke(app, command, env={"COLUMNS": "300"})
    assert again.exit_code == 0 and "0/5 pairs written" in again.output and "s/pair" not in again.output, again.output


def test_a_file_where_grid_goes_is_refused_before_any_pair(vitonhd: Path, tmp_path: Path) -> None:
    """A file named `grid` in OUT with --grids: every pair was computed, then failed to write."""
    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "grid").touch()
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out), "--grids"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 2 and f"{out / 'grid'} exists and is not a folder" in result.output, result.output
    assert sorted(p.name for p in out.iterdir()) == ["grid"]


@pytest.mark.slow
def test_a_resume_computes_again_the_pairs_whose_inputs_changed_since(vitonhd: Path, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A person photo re-prepared after a run (or a garment re-shot) kept its stale try-on on every
    resume: the run log recorded the outputs, not what they were computed from."""
    pairs = catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)  # 5 pairs
    out = tmp_path / "out"
    base = ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)]
    assert CliRunner().invoke(app, base).exit_code == 0
    split = SplitDir(tmp_path / "ds" / "test")
    changed_output = out / f"{pairs[0][0]}_{pairs[0][1]}.png"
    before = changed_output.read_bytes()
    photo = split.image(pairs[0][0])
    with Image.open(photo) as image:
        brighter = image.point(lambda v: min(255, v + 60))
    photo.unlink()  # a link to the shared sample: replace the link, never write through it
    brighter.save(photo, quality=95)

    result = CliRunner().invoke(app, base)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1/5 pairs written" in text
    assert "1 finished pairs are computed again: their input files changed since" in caplog.text
    assert changed_output.read_bytes() != before
    assert done_lines(out)[changed_output.name] == 2
    caplog.clear()
    assert "0/5 pairs written" in " ".join(CliRunner().invoke(app, base).output.split())
    assert "computed again" not in caplog.text  # once recomputed, it is current


def test_a_run_log_the_disk_refuses_is_named(vitonhd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while appending to the run log read "error: a file: No space left on device": the
    error of a write names no file. Mocked: a real full file system cannot be made here without root."""
    import errno

    from vtonkit.vton_infer import run_log

    catalog_dataset(vitonhd, tmp_path / "ds", copies=0, garments=1)
    out = tmp_path / "out"

    class FullDisk:  # `os` for the run log only: the outputs' own atomic writes still succeed
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        @staticmethod
        def fsync(_fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(run_log, "os", FullDisk())
    result = CliRunner().invoke(app, ["infer", str(tmp_path / "ds"), "--method", "warp", "--out", str(out)])
    assert result.exit_code == 2, result.output
    squeezed = "".join(result.output.split())  # the console wraps long paths
    assert "".join(f"{out / 'infer-log.jsonl'}: No space left on device".split()) in squeezed
    assert "runthesamecommandagaintoresume" in squeezed
