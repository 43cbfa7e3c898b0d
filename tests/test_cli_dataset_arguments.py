"""Dataset arguments of the CLI: a split folder where a dataset root is expected (and the reverse) is
one usage error everywhere, naming the folder to give; plus the small messages around them (validate's
--category, clean with nothing rejected, a crawl of a store that is not running, the demo's steps)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vtonkit.cli import app
from vtonkit.datasets.importers.dresscode import import_dresscode
from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.review.store import DecisionStore

from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VITON-HD import (upper, train and test) and a Dress Code lower-body import (train)."""
    work = tmp_path_factory.mktemp("datasets")
    assert import_vitonhd(shared_path("data", "vitonhd"), work / "mine", progress=False).exit_code() == 0
    report = import_dresscode(shared_path("data", "dresscode", "lower_body"), work / "lower", category="lower",
                              progress=False)
    assert report.converted, report
    return work


@pytest.fixture
def mine(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the upper-body dataset (commands under test may write into it)."""
    return Path(shutil.copytree(built / "mine", tmp_path / "data" / "mine"))


def invoke(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})
    return result, " ".join(result.output.split())


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", [
    ["review", "{split}", "--static", "{tmp}/x.html"],
    ["clean", "{split}", "--dry-run"],
    ["export", "{split}", "--to", "stableviton", "--out", "{tmp}/xe"],
    ["pairs", "{split}", "--split", "test"],
    ["table", "{split}", "--out", "{tmp}/t.parquet"],
    ["validate", "{split}", "--split", "test"],
    ["train", "{split}", "--split", "test", "--stage", "condition", "--out", "{tmp}/run"],
    ["infer", "{split}", "--method", "warp", "--out", "{tmp}/tryon"],
    ["evaluate", "--pred", "{split}/image", "--real", "{split}", "--split", "test", "--out", "{tmp}/e.json"],
])
def test_a_split_folder_given_for_a_dataset_root_names_the_root(mine: Path, tmp_path: Path, command: list[str]) -> None:
    """review said "no train/ or test/ folder ... give a dataset root or one of its split folders" (it was
    given one), clean "would quarantine 0 sample(s)" with exit 0, export "0 samples written", pairs and
    train "DATASET/test/test: no such split folder"; validate --split test wrote a report into the split."""
    split = mine / "test"
    before = tree(split)
    result, said = invoke(*(part.format(split=split, tmp=tmp_path) for part in command))
    assert result.exit_code == 2, said
    assert f"{split} is a split folder (it holds image/); give its dataset root {mine}" in said, said
    assert tree(split) == before and not (tmp_path / "xe").exists() and not (tmp_path / "t.parquet").exists()


@pytest.mark.parametrize("command", [
    ["prep", "--out", "{split}", "--split", "test", "--persons", "{split}/image"],
    ["import", "vitonhd", str(REPO), "--out", "{split}"],
])
def test_a_split_folder_given_as_a_dataset_root_to_write_is_refused(mine: Path, command: list[str]) -> None:
    """`import ... --out DATASET/test` wrote a second dataset inside the split folder (test/test/)."""
    split = mine / "test"
    before = tree(split)
    result, said = invoke(*(part.format(split=split) for part in command))
    assert result.exit_code == 2 and "--out" in said, said
    assert f"{split} is a split folder (it holds image/); give its dataset root {mine}" in said, said
    assert tree(split) == before


def test_agnostic_given_a_dataset_root_names_its_split_folders(mine: Path) -> None:
    """`vtonkit agnostic DATASET` said only "no person images (*.jpg) in DATASET/image"."""
    result, said = invoke("agnostic", mine)
    assert result.exit_code == 2, said
    assert f"{mine} is a dataset root" in said and f"give one of its split folders: {mine / 'train'} or " \
        f"{mine / 'test'}" in said, said


def test_validate_still_takes_a_split_folder(mine: Path) -> None:
    result, said = invoke("validate", mine / "test")
    assert result.exit_code == 0 and "5 samples in test" in said, said
    assert (mine / ".vtonkit" / "validate.json").is_file() and not (mine / "test" / ".vtonkit").exists()


def test_validate_refuses_a_category_the_manifest_contradicts_and_keeps_the_report(built: Path,
                                                                                   tmp_path: Path) -> None:
    """`validate LOWER --category upper` reported an agnostic-mismatch error per sample (exit 1) and
    overwrote the report review reads; infer and agnostic refuse the same mistake as a usage error."""
    lower = Path(shutil.copytree(built / "lower", tmp_path / "lower"))
    assert invoke("validate", lower)[0].exit_code == 0
    stored = (lower / ".vtonkit" / "validate.json").read_bytes()
    for folder in (lower, lower / "train"):
        result, said = invoke("validate", folder, "--category", "upper", "--json", tmp_path / "out" / "v.json")
        assert result.exit_code == 2, said
        assert "the manifest says split train holds lower garments, not upper; pass --category lower" in said, said
    assert (lower / ".vtonkit" / "validate.json").read_bytes() == stored and not (tmp_path / "out").exists()
    assert invoke("validate", lower, "--category", "lower")[0].exit_code == 0
    assert invoke("validate", lower, "--category", "none")[0].exit_code == 0


def test_clean_with_nothing_rejected_says_how_to_reject(mine: Path) -> None:
    """clean printed "quarantined 0 sample(s)" and nothing more when no sample was rejected."""
    result, said = invoke("clean", mine)
    assert result.exit_code == 0 and "quarantined 0 sample(s)" in said, said
    assert "none is rejected in the review decisions" in said and f"`vtonkit review {mine}` records" in said, said
    DecisionStore(mine).set("test", "00006_00", "reject", "blurred")
    result, said = invoke("clean", mine, "--dry-run")
    assert result.exit_code == 0 and "would quarantine 1 sample(s)" in said and "none is rejected" not in said, said


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_crawl_of_a_store_that_is_not_running_says_to_start_it(tmp_path: Path) -> None:
    """The crawl said only that robots.txt "could not be read (Connection refused)"."""
    port = _closed_port()
    run = subprocess.run([sys.executable, "-m", "vtonkit", "crawl", "demo", "--url", f"http://127.0.0.1:{port}",
                          "--out", str(tmp_path / "crawl"), "--no-throttle"], capture_output=True, text=True,
                         cwd=REPO, timeout=120, env={**os.environ, "COLUMNS": "400"})
    said = " ".join(run.stderr.split())
    assert run.returncode == 1, said
    assert (f"nothing answered at http://127.0.0.1:{port} (connection refused): the store is not running at that "
            f"address; start it first (in another terminal): vtonkit demo-store --port {port}") in said, said


def test_the_demo_numbers_its_steps_over_the_whole_run_and_prints_commands_whole(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    """The steps restarted at [2/7] for the lower-body dataset and showed [7/7] twice; at 80 columns
    the printed commands were wrapped without a backslash, so they did not paste into a shell."""
    import vtonkit.demo as demo

    out = tmp_path / ("a-long-folder-name-" * 4) / "demo-out"
    (out / "crawl").mkdir(parents=True)
    (out / "crawl" / "summary.json").write_text("{}")  # the crawl is done: no store is started
    for category, folder in (("upper", "cloth"), ("lower", "image")):
        (out / "datasets" / category / "test" / folder).mkdir(parents=True)
        (out / "datasets" / category / "test" / folder / "x.jpg").write_bytes(b"")
    from vtonkit.core.progress import console

    monkeypatch.setattr(console, "width", 80)  # made at import: COLUMNS of this invocation comes too late
    ran = []
    monkeypatch.setattr(demo.subprocess, "run", lambda args: ran.append(args) or subprocess.CompletedProcess(args, 0))
    result = CliRunner().invoke(app, ["demo", "--out", str(out)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    titles = [line for line in result.output.splitlines() if line.startswith("[")]
    total = len(titles)  # the crawl's (done already), five per category, two sheets
    assert total == 13 and [title.split(" ", 1)[0] for title in titles] == [f"[{n}/{total}" for n in
                                                                            range(1, total + 1)], titles
    commands = [line for line in result.output.splitlines() if line.startswith("$ vtonkit ")]
    assert len(commands) == len(ran) == total - 1  # the crawl was done already
    assert all(command.endswith(str(args[-1])) for command, args in zip(commands, ran)), commands
    assert any(len(command) > 80 for command in commands)
    assert "…" not in result.output, result.output  # the results' paths whole too (a table cut them to fit)


def test_evaluate_names_real_as_the_option_given_a_split_folder(mine: Path, tmp_path: Path) -> None:
    """The refusal named "DATASET", an argument evaluate does not have: it is --real."""
    result, said = invoke("evaluate", "--pred", mine / "test" / "image", "--real", mine / "test", "--split", "test",
                          "--out", tmp_path / "e.json")
    assert result.exit_code == 2 and "Invalid value for --real:" in said, said


@pytest.mark.parametrize("command", [
    ["infer", "{lower}", "--method", "warp", "--out", "{tmp}/out"],
    ["sheet", "{lower}", "--garment", "013563", "--out", "{tmp}/sheets"],
    ["evaluate", "--pred", "{tmp}", "--real", "{lower}"],
], ids=["infer", "sheet", "evaluate"])
def test_a_split_the_dataset_lacks_is_named_with_the_splits_it_has(built: Path, tmp_path: Path,
                                                                  command: list[str]) -> None:
    """A lower-body dataset with only train: infer read the missing test split as "no category recorded",
    so upper, and told the user to fetch upper-body checkpoints; sheet said "no garment '013563' in
    lower/test/cloth (0 there)", a folder that does not exist."""
    args = [part.format(lower=built / "lower", tmp=tmp_path) for part in command]
    result = CliRunner().invoke(app, args)
    said = " ".join(result.output.split()).replace("│", " ")
    said = " ".join(said.split())
    assert result.exit_code == 2, said
    assert "test: no such split folder (the dataset has train); choose one with --split" in said, said


def test_train_and_infer_refuse_an_out_holding_the_other_kind_of_run(mine: Path, tmp_path: Path) -> None:
    """`train --out` into an infer output folder put weights, losses.png and samples/ among the try-ons
    (a later `evaluate --pred` scored losses.png); `infer --out` into a run folder the reverse."""
    previews = tmp_path / "previews"
    made = CliRunner().invoke(app, ["infer", str(mine), "--method", "warp", "--out", str(previews)])
    assert made.exit_code == 0, made.output
    trained = CliRunner().invoke(app, ["train", str(mine), "--split", "test", "--stage", "condition", "--steps", "1",
                                       "--batch-size", "1", "--width", "8", "--disc-width", "8", "--vgg-width", "16",
                                       "--out", str(previews)])
    said = " ".join(trained.output.replace("│", " ").split())
    assert trained.exit_code == 2, said
    assert "holds try-on outputs of `vtonkit infer` (infer-settings.json); a training run needs a folder of its own" \
        in said, said
    assert not (previews / "run.json").exists()
    run = tmp_path / "run"
    trained = CliRunner().invoke(app, ["train", str(mine), "--split", "test", "--stage", "condition", "--steps", "1",
                                       "--batch-size", "1", "--width", "8", "--disc-width", "8", "--vgg-width", "16",
                                       "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    refused = CliRunner().invoke(app, ["infer", str(mine), "--method", "warp", "--out", str(run)])
    said = " ".join(refused.output.replace("│", " ").split())
    assert refused.exit_code == 2, said
    assert "holds a training run of `vtonkit train` (run.json); try-on outputs need a folder of its own" in said
    assert not list(run.glob("*_*.png"))
