"""The pool engine's workers (and the Ray engine's actors): numeric libraries single-threaded from the process start, and one
core each when the pool takes every core (what keeps `prep --workers N` from fighting over cores)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from pool_probe import ProbeFactory

from vtonkit.preprocess.engines import MALLOC_HUGE_PAGES, SINGLE_THREAD_ENV, worker_environment
from vtonkit.preprocess.engines.local import PoolEngine

CORES = sorted(os.sched_getaffinity(0))
needs_two_cores = pytest.mark.skipif(len(CORES) < 2 and os.environ.get("CI") != "true",
                                     reason="needs 2 cores (one core leaves nothing to pin or to spin on)")


def _run(workers: int, items: int) -> list[dict]:
    return list(PoolEngine(workers=workers).run(ProbeFactory(), range(items)))


@needs_two_cores
def test_workers_start_with_one_thread_per_numeric_library_and_the_parent_keeps_its_environment(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    results = _run(workers=1, items=2)
    assert len(results) == 2
    for result in results:
        # The environment the process was started with (not what the initializer set later):
        # OpenBLAS reads it once, when numpy loads.
        assert {name: result["start_environment"].get(name) for name in SINGLE_THREAD_ENV} == SINGLE_THREAD_ENV
        # numpy's and OpenCV's OpenBLAS started no helper threads: the worker runs on its main
        # thread alone (before, each started one per extra core, which spin after every call).
        assert result["threads"] == 1, result
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "7"


def test_workers_malloc_asks_for_huge_pages_and_a_users_glibc_tunables_are_kept(monkeypatch):
    assert worker_environment({})["GLIBC_TUNABLES"] == MALLOC_HUGE_PAGES
    assert worker_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})["GLIBC_TUNABLES"] == \
        f"glibc.malloc.arena_max=2:{MALLOC_HUGE_PAGES}"
    assert worker_environment({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=0"
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.is_file() or "[never]" in thp.read_text():
        pytest.skip("transparent huge pages are off on this machine: nothing to ask for")
    result = _run(workers=1, items=1)[0]
    assert result["start_environment"]["GLIBC_TUNABLES"] == MALLOC_HUGE_PAGES
    # A 64 MiB malloc in the worker is backed by huge pages (with 4 KiB pages: 0 KiB of them).
    assert result["huge_pages_kib"] >= 32 * 1024, result["huge_pages_kib"]
    assert "GLIBC_TUNABLES" not in os.environ


@needs_two_cores
def test_a_pool_on_every_core_runs_each_worker_on_a_core_of_its_own():
    results = _run(workers=len(CORES), items=4 * len(CORES))
    cores_of = {}
    for result in results:
        assert len(result["thread_cores"]) == 1, result  # every thread of the worker on the same core set
        cores_of.setdefault(result["pid"], set()).add(result["thread_cores"][0])
    assert len(cores_of) == len(CORES)
    assert all(len(sets) == 1 and len(next(iter(sets))) == 1 for sets in cores_of.values())
    assert sorted(next(iter(sets))[0] for sets in cores_of.values()) == CORES


@needs_two_cores
def test_a_pool_on_part_of_the_machine_leaves_placement_to_the_scheduler():
    for result in _run(workers=1, items=2):
        assert result["thread_cores"] == [tuple(CORES)]


@pytest.mark.ray
@pytest.mark.slow
def test_ray_actors_start_with_the_same_worker_environment():
    pytest.importorskip("ray")
    from vtonkit.preprocess.engines.ray_engine import RayEngine

    results = list(RayEngine(workers=2).run(ProbeFactory(), range(4)))
    assert len(results) == 4
    for result in results:
        environment = result["start_environment"]
        assert {name: environment.get(name) for name in SINGLE_THREAD_ENV} == SINGLE_THREAD_ENV
        assert MALLOC_HUGE_PAGES in environment.get("GLIBC_TUNABLES", "")


@pytest.mark.parametrize("entry, reimported", [("run_as_module_entry()", False), ("pass", True)])
def test_workers_spawned_from_the_console_script_skip_re_running_it(tmp_path, entry, reimported):
    # The `vtonkit` console script is a file run as __main__: a spawned worker re-runs such a file
    # before its first task, which imports the whole CLI (typer, every command module) in every
    # worker. `main()` gives the script the spec of `python -m vtonkit`, which spawn skips. The
    # script below is the console script's shape; the worker reports what it has imported.
    import subprocess
    import sys

    script = tmp_path / "vtonkit"
    script.write_text(
        "import multiprocessing, sys\n"
        "from vtonkit.cli import run_as_module_entry\n"
        "if __name__ == '__main__':\n"
        f"    {entry}\n"
        "    with multiprocessing.get_context('spawn').Pool(1) as pool:\n"
        "        print(pool.apply(eval, (\"'vtonkit.cli' in __import__('sys').modules\",)))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(reimported)
