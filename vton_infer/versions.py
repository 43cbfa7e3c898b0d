"""The library versions a result depends on, recorded beside it (evaluation.json, a training run's run.json)."""
from __future__ import annotations

import platform


def library_versions() -> dict[str, str]:
    """`{library: version}` of vtonkit, Python and the numeric libraries its results depend on."""
    import numpy as np
    import scipy
    import torch
    from PIL import Image

    from vtonkit import __version__

    return {"vtonkit": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "pillow": Image.__version__, "scipy": scipy.__version__}
