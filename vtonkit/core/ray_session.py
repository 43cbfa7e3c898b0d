"""A Ray session for the commands that spread work over Ray (`vtonkit infer --engine ray`).

`address=None` starts a local Ray instance with `num_cpus` CPUs (about 10 s) and shuts it down
afterwards; an address (`ray://head:10001`, `auto`) joins an existing cluster, whose nodes need
vtonkit installed and the data and output folders on a shared filesystem.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

RAY_HINT = "the ray engine needs Ray: pip install 'vtonkit[ray]' (or pip install 'ray>=2.9')"


@contextlib.contextmanager
def ray_session(address: str | None, num_cpus: int) -> Iterator[Any]:
    """Yield the `ray` module, initialised (unless it already was: then it is left running)."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(RAY_HINT) from exc
    started_here = not ray.is_initialized()
    if started_here:
        # a local instance sees this interpreter's import path, so the workers import what the driver does
        options: dict[str, Any] = {"address": address} if address else {
            "num_cpus": num_cpus, "include_dashboard": False,
            "runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}}
        ray.init(log_to_driver=False, logging_level=logging.WARNING, **options)
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()
