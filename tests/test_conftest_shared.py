"""`shared_path` skips in a user's clone without ../shared, and fails under CI=true (where it must be there)."""

from __future__ import annotations

import pytest

from tests import conftest


def test_missing_shared_data_skips_outside_ci(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SHARED", tmp_path / "no-shared-here")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs the shared test data"):
        conftest.shared_path("data", "vitonhd")


def test_missing_shared_data_fails_under_ci(tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "SHARED", tmp_path / "no-shared-here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but needs the shared test data"):
        conftest.shared_path("data", "vitonhd")


def test_present_shared_data_is_returned(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(conftest, "SHARED", tmp_path)
    monkeypatch.setenv("CI", "true")
    assert conftest.shared_path("data") == tmp_path / "data"
