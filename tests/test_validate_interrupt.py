"""Ctrl-C during `vtonkit validate --workers 2`: the run hung for good (it needed SIGKILL) or printed
the workers' KeyboardInterrupt tracebacks. A terminal sends SIGINT to the whole process group, so
the workers got it too, and the pool then waited on them. Now the workers ignore it and the command
cancels what is left, ends its workers, writes nothing and says so in one line, with exit status 130."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

COPIES = 12  # each VITON-HD sample under this many names: the run lasts well past the interrupt


def _replicated(vitonhd: Path, root: Path) -> Path:
    """The shared VITON-HD samples, each under COPIES names (`<stem>x<k>`), with paired pair lists."""
    for split_dir in sorted(p for p in vitonhd.iterdir() if p.is_dir()):
        split = split_dir.name
        stems = sorted(p.stem for p in (split_dir / "image").glob("*.jpg"))
        for folder in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            target = root / split / folder.name
            target.mkdir(parents=True)
            for file in folder.iterdir():
                stem = next((s for s in stems if file.name.startswith(s)), None)
                if stem is None:
                    continue
                for copy in range(COPIES):
                    shutil.copyfile(file, target / f"{stem}x{copy}{file.name[len(stem):]}")
        names = [f"{stem}x{copy}.jpg" for stem in stems for copy in range(COPIES)]
        (root / f"{split}_pairs.txt").write_text("".join(f"{name} {name}\n" for name in names))
    return root


def _interruptible() -> None:
    """Ctrl-C reaches the child even when this test runs in a background job, whose shell ignores
    SIGINT for everything it starts (Python then installs no KeyboardInterrupt handler at all)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _workers(process: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in process.children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # gone or not readable yet
            continue
    return found


@pytest.fixture(scope="module")
def dataset(vitonhd: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _replicated(vitonhd, tmp_path_factory.mktemp("validate-interrupt") / "ds")


@pytest.mark.parametrize("after", [0.0, 1.0], ids=["while-workers-start", "while-workers-check"])
def test_ctrl_c_ends_validate_with_its_workers_and_one_line(dataset: Path, after: float) -> None:
    stored = dataset / ".vtonkit" / "validate.json"
    if stored.exists():
        stored.unlink()
    run = subprocess.Popen([sys.executable, "-m", "vtonkit", "validate", str(dataset), "--workers", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=_interruptible)
    try:
        parent = psutil.Process(run.pid)
        deadline = time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline and len(_workers(parent)) < 2:
            time.sleep(0.02)
        time.sleep(after)
        children = parent.children(recursive=True) if run.poll() is None else []
        os.killpg(run.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        started = time.monotonic()
        try:
            stdout, stderr = run.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("validate still running 15 s after Ctrl-C")
        took = time.monotonic() - started
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate()
    if run.returncode in (0, 1):
        pytest.fail(f"the run finished before the interrupt arrived: {stderr}")
    assert len([c for c in children if c.pid]) >= 2, "interrupted before the workers started"
    assert run.returncode == 130, (run.returncode, stderr)
    assert "Traceback" not in stderr + stdout, stderr
    assert "interrupted: nothing written; run validate again" in stderr, stderr
    assert took < 15, took
    _, alive = psutil.wait_procs(children, timeout=5)  # the resource tracker goes once the parent is gone
    assert not alive, [(p.pid, p.cmdline()) for p in alive if p.is_running()]
    assert not stored.exists(), "an interrupted run wrote its report"
