"""Shared fixtures. Real data lives in ../shared (CI always has it; a user's clone may not)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__import__("os").environ.get("VTONKIT_SHARED", REPO.parent / "shared"))


def in_ci() -> bool:
    """CI=true (set by CI services): there ../shared is always present, so its absence is a failure."""
    return os.environ.get("CI", "").lower() in ("true", "1")


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; when absent, skip the test with a clear reason, or fail it under CI=true."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"needs the shared test data at {path} (present in CI, absent in a user's clone)"
        if in_ci():
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def vitonhd() -> Path:
    """../shared/data/vitonhd: genuine VITON-HD samples (test/ and train/ split dirs)."""
    return shared_path("data", "vitonhd")


@pytest.fixture(scope="session")
def dresscode() -> Path:
    """../shared/data/dresscode: Dress Code samples for upper_body, lower_body, dresses."""
    return shared_path("data", "dresscode")


@pytest.fixture(scope="session")
def photos() -> Path:
    """../shared/data/photos: persons/ and garments/."""
    return shared_path("data", "photos")


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference: official-code fixtures (agnostic/, hrviton/)."""
    return shared_path("reference")
