"""What native libraries print (MediaPipe/TFLite's C++ log lines) stays out of the commands' output.

MediaPipe writes "INFO: Created TensorFlow Lite XNNPACK delegate" and a dozen `W0000 ...` lines to
file descriptor 2 from its own threads when its graphs open. `prep` sends them to the dataset's
`.vtonkit/native.log`; the in-process commands must do the same, which only a real process with a
real fd 2 shows (pytest's and typer's capture sit above it).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys

from vtonkit.core.native_logs import native_stderr_to

NATIVE_MARKERS = ("XNNPACK", "W0000", "absl::InitializeLog")


def test_prep_person_keeps_mediapipe_lines_out_of_the_terminal(photos, tmp_path):
    photo = photos / "persons" / "01008_00.jpg"
    split = tmp_path / "ds" / "test"
    done = subprocess.run([sys.executable, "-m", "vtonkit", "prep-person", str(photo), "--out", str(split)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "prep-person: 1 written" in done.stderr
    assert not [m for m in NATIVE_MARKERS if m in done.stderr + done.stdout], done.stderr
    log = (tmp_path / "ds" / ".vtonkit" / "native.log").read_text(errors="replace")
    assert "XNNPACK" in log  # the lines were printed, into the log


def test_graphs_that_never_ran_print_into_the_log_too(tmp_path):
    """When no photo reaches the models (here: none is an image), MediaPipe's graphs still load their
    models on their own threads; those lines came after the log was handed back, under the summary.
    `prep --in-process` runs its worker in the command's process and had the same leak."""
    junk = tmp_path / "photos" / "scan.jpg"
    junk.parent.mkdir()
    junk.write_text("not an image")
    env = {**os.environ, "COLUMNS": "200"}
    commands = {
        "prep-person": ["prep-person", str(junk), "--out", str(tmp_path / "a" / "test")],
        "prep --in-process": ["prep", "--persons", str(junk.parent), "--out", str(tmp_path / "b"), "--split", "test",
                              "--in-process"],
    }
    for name, args in commands.items():
        done = subprocess.run([sys.executable, "-m", "vtonkit", *args], capture_output=True, text=True, timeout=300,
                              env=env)
        assert done.returncode == 1, (name, done.stderr)
        assert "not an image" in done.stderr, (name, done.stderr)
        assert not [m for m in NATIVE_MARKERS if m in done.stderr + done.stdout], (name, done.stderr)


def test_python_output_keeps_a_captured_stderr(tmp_path, monkeypatch):
    """A stream that is not fd 2 (a test runner's, a notebook's) keeps Python's output; fd 2 goes to the log."""
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    log = tmp_path / "state" / "native.log"
    with native_stderr_to(log):
        print("from python", file=sys.stderr)
        os.write(2, b"from native code\n")
    assert sys.stderr is captured
    assert captured.getvalue() == "from python\n"
    assert log.read_text() == "from native code\n"
