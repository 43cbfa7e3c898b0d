"""A pool-engine worker that reports the process it runs in, for tests/test_preprocess_pool.py.

It imports numpy and OpenCV at module level, as prep's workers do (they load when the pool
unpickles the factory, before the pool initializer runs), so the threads their OpenBLAS copies
start at import are visible in the report.
"""
from __future__ import annotations

import ctypes
import os
import time

import cv2  # noqa: F401  (imported for its OpenBLAS thread pool)
import numpy as np


def _huge_pages_of_a_malloc(size: int) -> int:
    """KiB of transparent huge pages that a plain C `malloc` of `size` bytes, written, gets."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    before = _anon_huge_pages_kib()
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    after = _anon_huge_pages_kib()
    libc.free(ctypes.c_void_p(block))
    return after - before


def _anon_huge_pages_kib() -> int:
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


class ProbeFactory:
    def __call__(self) -> ProbeWorker:
        return ProbeWorker()

    def lost(self, item: int) -> dict:
        return {"item": item, "lost": True}


class ProbeWorker:
    def close(self) -> None:
        """Holds nothing (the `Worker` protocol's)."""

    def run(self, item: int) -> dict:
        np.ones((64, 64)) @ np.ones((64, 64))  # OpenBLAS is used, as the backends use it
        huge_pages_kib = _huge_pages_of_a_malloc(64 << 20)
        time.sleep(0.2)  # long enough for every worker of the pool to get items
        start_environment = dict(entry.split("=", 1) for entry in
                                 open("/proc/self/environ").read().split("\0") if "=" in entry)
        thread_cores = set()
        for thread in os.listdir("/proc/self/task"):
            try:
                thread_cores.add(tuple(sorted(os.sched_getaffinity(int(thread)))))
            except OSError:  # ended meanwhile
                pass
        return {"item": item, "pid": os.getpid(), "threads": len(os.listdir("/proc/self/task")),
                "huge_pages_kib": huge_pages_kib,
                "start_environment": start_environment, "thread_cores": sorted(thread_cores)}
