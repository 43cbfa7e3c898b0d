"""Where vtonkit keeps its own state inside a dataset: `<dataset>/.vtonkit/` (hidden from the
official HR-VITON loaders, which only list the split folders)."""
from __future__ import annotations

from pathlib import Path

STATE_DIR_NAME = ".vtonkit"


def state_dir(dataset: str | Path) -> Path:
    """`<dataset>/.vtonkit`: manifest, cache, completion markers, validate report, review database."""
    return Path(dataset) / STATE_DIR_NAME
