"""pytest plugin: CPU seconds (user+sys, this process and its waited-for children) per test phase and per module.

Wall-clock figures on a shared machine follow its load; CPU seconds mostly do not, so this is what
the suite's speed work is measured in. Use: `python -m pytest -p no:xdist -p bench.pytest_cputime ...`
(from the repository root); `VTONKIT_CPUTIME_JSONL=path` also appends each test's figures to that
file as it finishes (one JSON object a line), so a run that dies still leaves them.
The table goes to the terminal summary. Under xdist each worker measures its own tests, so run it
with `-p no:xdist` for a complete table.
"""
from __future__ import annotations

import json
import os
import resource
import time
from collections import defaultdict
from contextlib import contextmanager

import pytest

_per_test: dict[str, dict[str, float]] = defaultdict(dict)
_wall: dict[str, float] = defaultdict(float)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextmanager
def _measured(item: pytest.Item, phase: str):
    cpu, wall = _cpu_seconds(), time.perf_counter()
    try:
        yield
    finally:
        _per_test[item.nodeid][phase] = _cpu_seconds() - cpu
        _wall[item.nodeid] += time.perf_counter() - wall
        out = os.environ.get("VTONKIT_CPUTIME_JSONL")
        if out and phase == "teardown":
            with open(out, "a") as handle:
                handle.write(json.dumps({"nodeid": item.nodeid, **_per_test[item.nodeid], "wall": _wall[item.nodeid],
                                         "load1": os.getloadavg()[0], "finished": time.time(),
                                         "worker": os.environ.get("PYTEST_XDIST_WORKER", "")}) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _measured(item, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _measured(item, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    with _measured(item, "teardown"):
        return (yield)


def pytest_terminal_summary(terminalreporter):
    if not _per_test:
        return
    per_module: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for nodeid, phases in _per_test.items():
        row = per_module[nodeid.split("::", 1)[0]]
        row[0] += sum(phases.values())
        row[1] += _wall[nodeid]
        row[2] += 1
    write = terminalreporter.write_line
    terminalreporter.section("CPU seconds per module (user+sys, with children)")
    write(f"{'module':<48} {'tests':>5} {'cpu s':>8} {'wall s':>8}")
    for module, (cpu, wall, count) in sorted(per_module.items(), key=lambda kv: -kv[1][0]):
        write(f"{module:<48} {count:>5} {cpu:>8.1f} {wall:>8.1f}")
    total_cpu = sum(row[0] for row in per_module.values())
    total_wall = sum(row[1] for row in per_module.values())
    write(f"{'total':<48} {len(_per_test):>5} {total_cpu:>8.1f} {total_wall:>8.1f}")
    write(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
