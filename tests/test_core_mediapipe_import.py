"""`vtonkit.core.mediapipe_import`: mediapipe without matplotlib and its Tasks API, both real when asked for afterwards.

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


TASKS_ON_FIRST_USE = """
import sys
from vtonkit.core.mediapipe_import import import_mediapipe
mp = import_mediapipe()
assert "mediapipe.tasks.python" not in sys.modules, "the Tasks API was imported"
options = mp.tasks.BaseOptions(model_asset_path="x.tflite")  # first use imports the real Tasks API
assert options.model_asset_path == "x.tflite" and "mediapipe.tasks.python.vision" in sys.modules
from mediapipe.tasks.python import vision
assert mp.tasks.vision is vision
"""


def test_the_tasks_api_is_imported_on_first_use():
    run = _run(TASKS_ON_FIRST_USE)
    assert run.returncode == 0, run.stderr[-2000:]
