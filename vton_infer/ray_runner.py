"""`vtonkit infer --engine ray --workers N`: the pair list over N Ray tasks, on one machine or a cluster.

Task i runs `run_pairs` on shard i/N (`shards.Shard`: a fixed hash of the output name), with its
own read-ahead, writer thread and run log (OUT/infer-log.shard-<i>-of-<N>.jsonl). Shards are
disjoint and cover the list, and Ray never retries a task (`max_retries=0`), so each pair is
computed by exactly one task; a task that dies leaves its finished pairs logged, its other pairs
are reported as failed, and a rerun (same N or not) resumes from the logs. Every node needs
vtonkit installed and the dataset and OUT on a shared filesystem: tasks read and write there.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vtonkit.vton_infer.data import output_stem
from vtonkit.vton_infer.run_log import (check_settings, finished_outputs, log_name, refuse_concurrent_runs,
                                        start_fresh)
from vtonkit.vton_infer.runner import (InferOptions, InferSummary, LoopOptions, current_outputs, run_pairs,
                                      run_settings, unique_pairs)
from vtonkit.vton_infer.shards import Shard

from vtonkit.core.errors import VtonkitError
from vtonkit.core.ray_session import ray_session

POLL_SECONDS = 1.0


def _run_shard(split_dir: Path, pairs: list[tuple[str, str]], out_dir: Path, options: InferOptions,
               loop: LoopOptions) -> InferSummary:
    """One Ray task: the shard `loop.shard` of `pairs`."""
    return run_pairs(split_dir, pairs, out_dir, options, None, loop)


def _logged_lines(out_dir: Path, workers: int) -> int:
    """Lines in the N shard logs (progress: each is one pair finished)."""
    total = 0
    for i in range(workers):
        path = out_dir / log_name(Shard(i, workers))
        if path.is_file():
            with open(path, "rb") as handle:
                total += sum(1 for _ in handle)
    return total


def run_pairs_ray(
    split_dir: Path,
    pairs: Sequence[tuple[str, str]],
    out_dir: Path,
    options: InferOptions,
    progress: Callable[[int], None] | None = None,
    loop: LoopOptions | None = None,
    *,
    workers: int = 2,
    address: str | None = None,
) -> InferSummary:
    """Like `run_pairs`, the pairs spread over `workers` Ray tasks (1 CPU each, 1 GPU each on cuda)."""
    start = time.perf_counter()
    loop = loop or LoopOptions()
    if not loop.shard.whole:
        raise VtonkitError("--shard and --engine ray do not combine: Ray gives each of its workers a shard")
    workers = max(1, int(workers))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    refuse_concurrent_runs(out_dir, loop.shard)  # the whole list: no other run may write OUT meanwhile
    if not loop.resume:
        start_fresh(out_dir)
    check_settings(out_dir, run_settings(options))  # refuse a mismatch before starting Ray
    unique, duplicates = unique_pairs(pairs)
    already = current_outputs(out_dir, split_dir, options)
    if progress:
        progress(sum(f"{output_stem(p, c)}.png" in already for p, c in unique))
    summary = InferSummary(method=options.method, duplicates=duplicates)
    with ray_session(address, workers) as ray:
        from ray.exceptions import RayError, RayTaskError

        gpus = 1 if options.device.startswith("cuda") else 0
        task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_run_shard)
        pairs_ref = ray.put(unique)
        refs = {task.remote(split_dir, pairs_ref, out_dir, options,
                            dataclasses.replace(loop, resume=True, shard=Shard(i, workers))): Shard(i, workers)
                for i in range(workers)}
        logged = _logged_lines(out_dir, workers)
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_SECONDS)
            if progress:
                now = _logged_lines(out_dir, workers)
                progress(now - logged)
                logged = now
            for ref in ready:
                shard = refs.pop(ref)
                try:
                    summary.merge(ray.get(ref))
                except RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, VtonkitError):  # the same refusal in every task: say it once
                        raise cause from None
                    _shard_lost(summary, unique, out_dir, shard, exc)
                except RayError as exc:  # the worker process or its node died
                    _shard_lost(summary, unique, out_dir, shard, exc)
    order = {f"{output_stem(p, c)}.png": i for i, (p, c) in enumerate(unique)}
    for name in ("written", "skipped", "outputs"):
        getattr(summary, name).sort(key=lambda path: order[path.name])
    summary.failed.sort(key=lambda failed: order[f"{output_stem(failed[0], failed[1])}.png"])  # pair-list order
    summary.seconds = time.perf_counter() - start
    return summary


def _shard_lost(summary: InferSummary, unique: list[tuple[str, str]], out_dir: Path, shard: Shard,
                exc: Exception) -> None:
    """A task ended without a result: its pairs not in the logs are failed (a rerun resumes them)."""
    finished = finished_outputs(out_dir)
    mine = [(p, c) for p, c in unique if shard.owns(output_stem(p, c))]
    reason = f"Ray worker of shard {shard} ended early ({type(exc).__name__}); rerun to resume"
    summary.pairs += len(mine)
    for person, cloth in mine:
        name = f"{output_stem(person, cloth)}.png"
        if name in finished:
            summary.outputs.append(out_dir / name)
        else:
            summary.failed.append((person, cloth, reason))
