"""`vtonkit.core.mediapipe_import`: mediapipe without matplotlib, and the real matplotlib afterwards.

Each case runs in a fresh interpreter: whether matplotlib is imported is per process.
"""
from __future__ import annotations

import subprocess
import sys

LIGHT = """
import sys
from vtonkit.core.mediapipe_import import import_mediapipe
mp = import_mediapipe()
assert "matplotlib" not in sys.modules and "matplotlib.pyplot" not in sys.modules, "matplotlib was imported"
pose = mp.solutions.pose.Pose(static_image_mode=True)  # the solutions work without it
assert import_mediapipe() is mp
import matplotlib.pyplot as plt  # a later import gets the real module
assert callable(plt.figure) and plt.__file__.endswith("pyplot.py")
"""

MATPLOTLIB_FIRST = """
import sys
import matplotlib.pyplot as plt
from vtonkit.core.mediapipe_import import import_mediapipe
mp = import_mediapipe()
assert mp.solutions.drawing_utils.plt is plt  # already imported: mediapipe gets the real one
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_mediapipe_imports_without_matplotlib_which_stays_importable():
    run = _run(LIGHT)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_process_that_already_has_matplotlib_keeps_it_for_mediapipe():
    run = _run(MATPLOTLIB_FIRST)
    assert run.returncode == 0, run.stderr[-2000:]
