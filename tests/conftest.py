"""Shared fixtures. Real data lives in ../shared (CI always has it; a user's clone may not)."""
from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="session")
def fill(reference: Path):
    """The reference's deterministic weight fill (`fill_state_dict` of hrviton/fill_weights.py)."""
    spec = importlib.util.spec_from_file_location("hrviton_fill_weights", reference / "hrviton" / "fill_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill_state_dict



# The costliest test modules and tests, in CPU seconds (bench/pytest_cputime.py under make test's
# options, load average 4-13 on the shared 2-core machine; test_train_run.py's figure is a lower
# bound). `make test` hands whole files to 2 workers (`--dist loadfile`) in collection order
# (`--no-loadscope-reorder`: xdist otherwise orders files by their number of tests, and
# test_vton_fixtures.py, about half the CPU of the 322 tests of issue #12's baseline in 8 tests,
# went nearly last and ran alone while the other worker idled). Collection starts with the
# costliest file, and within it with the costliest tests (xdist queues a worker's next file once 2
# of its tests are left, so a costly last test would hold a whole further file back), and the other
# worker works through the rest meanwhile. Only the order depends on these figures: a stale one
# costs time, never a result. Everything not listed keeps its (alphabetical) order after these.
MODULE_CPU_SECONDS = {
    "test_vton_fixtures.py": 189,
    "test_train_fixtures.py": 169,  # alone in one process (a make test worker was OOM-killed in it)
    "test_train_run.py": 89,
    "test_crawlers_demo_crawl.py": 34,
    "test_preprocess_pipeline.py": 28,
    "test_evaluate.py": 23,
    "test_train_steps.py": 23,
    "test_crawlers_render.py": 17,
    "test_crawlers_hostile.py": 14,
    "test_datasets_validate.py": 14,
}
TEST_CPU_SECONDS = {
    "tests/test_vton_fixtures.py::test_c_whole_pipeline_through_the_cli": 102,
    "tests/test_vton_fixtures.py::test_b_generator_1024x768": 12,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Costliest modules first, costliest tests first within them; the sort is stable."""
    def cost(item: pytest.Item) -> tuple[int, int]:
        function_id = item.nodeid.split("[", 1)[0]  # parametrised tests share their function's figure
        return -MODULE_CPU_SECONDS.get(item.path.name, 0), -TEST_CPU_SECONDS.get(function_id, 0)

    items.sort(key=cost)
