"""`import mediapipe` without the modules of it that vtonkit never uses.

mediapipe's package `__init__` imports `solutions.drawing_utils`, which imports `matplotlib.pyplot`
(about 0.35 of the ~0.5 CPU s that `import mediapipe` costs), and the whole Tasks API
(`mediapipe.tasks.python`: vision, audio and text tasks, ~0.03 s more). Every prep worker process
pays that at start-up, on the critical path, although vtonkit draws nothing with mediapipe and
runs only its `solutions`. While mediapipe imports, placeholders stand in for those modules and
leave `sys.modules` right afterwards:

* a later `import matplotlib.pyplot` anywhere gets the real one; only mediapipe's own drawing
  helpers (`drawing_utils.plot_landmarks`) keep the placeholder, which says so when used;
* `mediapipe.tasks` imports the real Tasks API on first use (`mp.tasks.vision...` works as usual).
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class _Placeholder(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{self.__name__}.{name}: matplotlib was not imported for mediapipe's drawing "
                             "helpers (see vtonkit.core.mediapipe_import); import matplotlib before mediapipe to use them")


class _LazyTasks(types.ModuleType):
    """Stands for `mediapipe.tasks.python` (what mediapipe calls `mp.tasks`) until an attribute is read."""

    def __getattr__(self, name: str) -> Any:
        real = importlib.import_module("mediapipe.tasks.python")
        # Importing it binds the package `mediapipe.tasks` to `mp.tasks`; mediapipe's own `__init__`
        # binds the `python` module there (`import mediapipe.tasks.python as tasks`): so do we.
        sys.modules["mediapipe"].tasks = real
        return getattr(real, name)


def _stand_ins() -> dict[str, types.ModuleType]:
    stand_ins: dict[str, types.ModuleType] = {}
    if "matplotlib" not in sys.modules:  # already imported: mediapipe gets the real one
        stand_ins["matplotlib"] = _Placeholder("matplotlib")
        stand_ins["matplotlib.pyplot"] = stand_ins["matplotlib"].pyplot = _Placeholder("matplotlib.pyplot")
    package = types.ModuleType("mediapipe.tasks")  # only for mediapipe's `import mediapipe.tasks.python as tasks`
    package.python = _LazyTasks("mediapipe.tasks.python")
    stand_ins.update({"mediapipe.tasks": package, "mediapipe.tasks.python": package.python})
    return stand_ins


def import_mediapipe() -> types.ModuleType:
    """The `mediapipe` module (imported once per process; see the module docstring)."""
    if "mediapipe" in sys.modules:
        import mediapipe

        return mediapipe
    stand_ins = _stand_ins()
    sys.modules.update(stand_ins)
    try:
        import mediapipe
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return mediapipe
