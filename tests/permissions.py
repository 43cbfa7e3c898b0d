"""File permissions that hold in tests run as root."""

from __future__ import annotations

import os
import shutil

import pytest


def without_root_override() -> list[str]:
    """The command prefix that makes file permissions hold: root reads and writes any file (its
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so as root a command runs under setpriv without them
    (the test is skipped where setpriv is missing); empty for any other user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("runs as root, who reads and writes any file, and setpriv is missing to drop that")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
