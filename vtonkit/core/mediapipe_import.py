"""`import mediapipe` without the matplotlib import its drawing helpers pull in.

mediapipe's package `__init__` imports `solutions.drawing_utils`, which imports `matplotlib.pyplot`:
about 0.35 of the ~0.5 CPU s that `import mediapipe` costs, paid again by every prep worker process
at start-up, although vtonkit never draws with mediapipe. While mediapipe imports, placeholders
stand in for `matplotlib` and `matplotlib.pyplot`; they leave `sys.modules` right afterwards, so a
later `import matplotlib.pyplot` anywhere gets the real one. Only mediapipe's own drawing helpers
(`drawing_utils.plot_landmarks`) keep the placeholder, which says so when used.
"""
from __future__ import annotations

import sys
import types
from typing import Any

_STAND_INS = ("matplotlib", "matplotlib.pyplot")


class _Placeholder(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{self.__name__}.{name}: matplotlib was not imported for mediapipe's drawing "
                             "helpers (see vtonkit.core.mediapipe_import); import matplotlib before mediapipe to use them")


def import_mediapipe() -> types.ModuleType:
    """The `mediapipe` module (imported once per process; see the module docstring)."""
    if "mediapipe" in sys.modules or any(name in sys.modules for name in _STAND_INS):
        import mediapipe

        return mediapipe
    stand_ins = {name: _Placeholder(name) for name in _STAND_INS}
    stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]  # `import matplotlib.pyplot as plt`
    sys.modules.update(stand_ins)
    try:
        import mediapipe
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return mediapipe
