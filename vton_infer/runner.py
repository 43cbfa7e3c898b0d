"""Run try-on over a pair list: read, batch, infer (HR-VITON or the warp baseline), save.

Order is the pair list's, every pair is processed once (no shuffle, no dropped tail, a repeated
pair computed once), a pair whose files are bad is reported and skipped without stopping the
others, and outputs are real PNGs `<person>_<cloth>.png` written atomically, with the method
recorded in the PNG metadata.

Three stages overlap (`LoopOptions`): reader threads decode the next pairs (`prefetch`), this
thread computes a batch, a writer thread saves the previous one and logs it (`output_writer`).
The run log (`run_log`) makes a rerun resume where a run stopped, and `--shard i/n` (`shards`)
gives each of several processes or machines its own disjoint part of the list.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from vtonkit.datasets.layout import SplitDir, stem_of
from vtonkit.datasets.pairs import pairs_path, read_pairs
from vtonkit.vton_infer import grids
from vtonkit.vton_infer.data import PairSample, collate, output_stem, pair_inputs, read_pair
from vtonkit.vton_infer.output_writer import METHOD_LABELS, OutputWriter, PairOutput
from vtonkit.vton_infer.prefetch import LoadedPair, read_ahead
from vtonkit.datasets.file_digest import file_digest
from vtonkit.vton_infer.run_log import (PairRecord, RunLog, check_settings, finished_outputs,
                                        refuse_concurrent_runs, remove_stale_temps, start_fresh)
from vtonkit.vton_infer.shards import Shard

from vtonkit.core.errors import InputError, VtonkitError

logger = logging.getLogger(__name__)

METHODS = ("hrviton", "warp")


@dataclass
class InferOptions:
    """What `run_pairs` does; see `vtonkit infer --help` for the meaning of each field."""

    method: str = "hrviton"
    tocg_checkpoint: Path | None = None
    gen_checkpoint: Path | None = None
    device: str = "cpu"
    batch_size: int = 1
    occlusion: bool = True
    grids: bool = False
    category: str = "upper"
    agnostic_source: str = "compute"
    seed: int | None = 0
    save_tensors: bool = False
    precision: str = "fp32"
    channels_last: bool = False


@dataclass
class LoopOptions:
    """How `run_pairs` moves pairs through (not what it computes: the outputs do not depend on these).

    read_workers: threads reading the next pairs (0: read inline, the serial loop);
    prefetch: pairs read ahead at most; write_queue: batches waiting for the writer thread at most
    (0: write inline); resume: skip the pairs OUT's run log has as done (else start over);
    shard: this process's part of the list; run_log: keep OUT/infer-log*.jsonl and
    OUT/infer-settings.json (off for `vtonkit sheet`, whose folder collects sheets of any settings).
    """

    read_workers: int = 2
    prefetch: int = 4
    write_queue: int = 4
    resume: bool = True
    shard: Shard = field(default_factory=Shard)
    run_log: bool = True


@dataclass
class InferSummary:
    written: list[Path] = field(default_factory=list)  # computed by this run, in pair-list order
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (person, cloth, reason)
    skipped: list[Path] = field(default_factory=list)  # finished by an earlier run (resume)
    outputs: list[Path] = field(default_factory=list)  # every finished output of this run's pairs, in order
    duplicates: int = 0  # pair-list lines repeating an earlier pair (computed once)
    pairs: int = 0  # distinct pairs of this shard
    seconds: float = 0.0
    method: str = "hrviton"
    deviation: dict | None = None  # bf16/fp16 vs fp32, measured on the first batch

    def merge(self, other: InferSummary) -> None:
        """Add another shard's summary (Ray); `seconds` is the caller's wall time."""
        for name in ("written", "failed", "skipped", "outputs"):
            getattr(self, name).extend(getattr(other, name))
        self.pairs += other.pairs
        self.deviation = self.deviation or other.deviation


def resolve_pairs(dataset: Path, split: str, pairs: str | Path | None) -> list[tuple[str, str]]:
    """The pairs of `pairs_path(dataset, split, pairs)`; a list naming none is an error (a run of 0
    pairs said "0/0 pairs written" and exited 0)."""
    path = pairs_path(dataset, split, pairs)
    listed = read_pairs(path)
    if not listed:
        raise InputError(path, "the pair list names no pair: nothing to try on (vtonkit pairs writes one)")
    return listed


def unique_pairs(pairs: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """Stems of the pairs, each (person, cloth) once in first-seen order (one output file each), and
    how many lines repeated an earlier pair.

    Raises:
        VtonkitError: two different pairs would write one output file (`p_1` + `c` and `p` + `1_c`
            are both `p_1_c.png`): one of them would be lost.
    """
    seen: set[tuple[str, str]] = set()
    owners: dict[str, tuple[str, str]] = {}
    unique = []
    for person, cloth in pairs:
        key = (stem_of(person), stem_of(cloth))
        if key in seen:
            continue
        name = output_stem(*key)
        if name in owners:
            raise VtonkitError(f"pairs {' + '.join(owners[name])} and {' + '.join(key)} would both write {name}.png; "
                               "rename one of the files (or drop one pair)")
        owners[name] = key
        seen.add(key)
        unique.append(key)
    return unique, len(pairs) - len(unique)


def _digest_or_none(path: Path | None) -> str | None:
    # a missing file is reported by the checkpoint loader, with its own message
    return file_digest(Path(path)) if path and Path(path).is_file() else None


def run_settings(options: InferOptions) -> dict:
    """What decides an output's pixels and files (recorded in OUT; a resume must match it).
    Device and batch size are left out: outputs do not depend on them beyond float rounding."""
    settings = {"method": options.method, "category": options.category,
                "agnostic_source": options.agnostic_source, "grids": options.grids,
                "save_tensors": options.save_tensors}
    if options.method == "hrviton":
        settings.update(seed=options.seed, occlusion=options.occlusion, precision=options.precision,
                        tocg_checkpoint_sha256=_digest_or_none(options.tocg_checkpoint),
                        gen_checkpoint_sha256=_digest_or_none(options.gen_checkpoint))
    return settings


class TryOnEngine:
    """Turns a list of PairSamples into output images (N, H, W, 3) uint8 plus grid tiles."""

    def __init__(self, options: InferOptions) -> None:
        self.options = options
        self.pipeline = None
        if options.method == "hrviton":
            if options.category != "upper":
                # the published weights are upper-body only; a `vtonkit train --category` run's are not
                logger.info("HR-VITON for %s: expects checkpoints trained with vtonkit train --category %s",
                            options.category, options.category)
            if not options.tocg_checkpoint or not options.gen_checkpoint:
                raise VtonkitError("--method hrviton needs --tocg-checkpoint (mtviton.pth) and --gen-checkpoint "
                                   "(gen.pth); see docs/inference.md, or use --method warp for the baseline")
            from vtonkit.vton_infer.pipeline import HRVitonPipeline

            self.pipeline = HRVitonPipeline.from_checkpoints(
                options.tocg_checkpoint, options.gen_checkpoint, device=options.device,
                occlusion=options.occlusion, seed=options.seed, precision=options.precision,
                channels_last=options.channels_last,
            )
        elif options.method != "warp":
            raise VtonkitError(f"unknown method {options.method!r}; choose one of {', '.join(METHODS)}")

    def run(self, samples: Sequence[PairSample]) -> tuple[np.ndarray, list[np.ndarray], list[dict]]:
        """-> images (N, H, W, 3) uint8, grid rows (if asked), per-sample tensors (if asked)."""
        if self.pipeline is not None:
            from vtonkit.vton_infer.pipeline import per_sample_tensors, to_uint8_images

            result = self.pipeline.run(collate(samples, self.options.category))
            images = to_uint8_images(result.output)
            tensors = per_sample_tensors(result) if self.options.save_tensors else []
            rows = []
            if self.options.grids:
                warped = to_uint8_images(result.warped_cloth)
                for i, s in enumerate(samples):
                    rows.append(grids.labelled_row([
                        ("person", s.image), ("garment", s.cloth), ("agnostic", s.agnostic),
                        ("warped garment", warped[i]),
                        ("layout (7 classes)", grids.layout_rgb(result.parse7[i].cpu().numpy(), grids.CIHP_OF_7)),
                        ("try-on", images[i]),
                    ], title=f"{s.person} + {s.cloth_name}: {METHOD_LABELS['hrviton']}"))
            return images, rows, tensors
        from vtonkit.vton_infer.warp_baseline import try_on_warp

        images, rows = [], []
        for s in samples:
            result = try_on_warp(s.image, s.parse, s.pose, s.cloth, s.cloth_mask, self.options.category)
            images.append(result.output)
            if self.options.grids:
                rows.append(grids.labelled_row([
                    ("person", s.image), ("garment", s.cloth), ("target region", grids.mask_rgb(result.region)),
                    ("warped garment", result.warped_cloth), ("alpha", grids.mask_rgb(result.alpha)),
                    ("BASELINE try-on", result.output),
                ], title=f"{s.person} + {s.cloth_name}: BASELINE - {METHOD_LABELS['warp']}"))
        return np.stack(images), rows, []


def current_outputs(out_dir: Path, split_dir: Path, options: InferOptions) -> dict[str, PairRecord]:
    """`finished_outputs` less the pairs whose input files changed since they were computed (a person
    re-prepared, a garment re-shot): a resume computes those again instead of keeping a stale try-on."""
    finished = finished_outputs(out_dir)
    split = SplitDir(split_dir)
    changed = [name for name, record in finished.items() if record.inputs is not None and record.inputs
               != pair_inputs(split, record.person, record.cloth, agnostic_source=options.agnostic_source,
                              category=options.category)]
    if changed:
        record = finished[changed[0]]
        logger.warning("%d finished pairs are computed again: their input files changed since (%s + %s, ...)",
                       len(changed), record.person, record.cloth)
    return {name: record for name, record in finished.items() if name not in changed}


def run_pairs(
    split_dir: Path,
    pairs: Sequence[tuple[str, str]],
    out_dir: Path,
    options: InferOptions,
    progress: Callable[[int], None] | None = None,
    loop: LoopOptions | None = None,
    on_start: Callable[[int], None] | None = None,
) -> InferSummary:
    """Try on every pair of `pairs` (in order; those of `loop.shard`) with the samples of `split_dir`,
    writing to `out_dir` and its run log; with `loop.resume`, pairs the log has as done are skipped.

    progress: called with the number of pairs finished (written, failed or skipped), from the
    writer thread. on_start: called with the number of distinct pairs of this shard.
    """
    start = time.perf_counter()
    loop = loop or LoopOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unique, duplicates = unique_pairs(pairs)
    mine = [(p, c) for p, c in unique if loop.shard.owns(output_stem(p, c))]
    summary = InferSummary(method=options.method, duplicates=duplicates, pairs=len(mine))
    if on_start:
        on_start(len(mine))
    if not loop.run_log:
        _compute(split_dir, mine, out_dir, options, loop, None, summary, progress)
    else:
        if not loop.resume and not loop.shard.whole:
            raise VtonkitError("--fresh cannot be combined with --shard: the other shards' logs would still "
                               "count; empty the output folder once (or use a new --out) before starting them")
        others_running = refuse_concurrent_runs(out_dir, loop.shard)
        if not loop.resume:
            start_fresh(out_dir)
        check_settings(out_dir, run_settings(options), others_running=others_running)
        with RunLog(out_dir, loop.shard) as log:
            removed = remove_stale_temps(out_dir, loop.shard)
            if removed:
                logger.info("removed %d temporary files left by an interrupted run in %s", removed, out_dir)
            finished = current_outputs(out_dir, split_dir, options) if loop.resume else {}
            todo = [(p, c) for p, c in mine if f"{output_stem(p, c)}.png" not in finished]
            summary.skipped = [out_dir / f"{output_stem(p, c)}.png" for p, c in mine if f"{output_stem(p, c)}.png" in finished]
            if progress and summary.skipped:
                progress(len(summary.skipped))
            if todo:
                _compute(split_dir, todo, out_dir, options, loop, log, summary, progress)
    done = {p.name for p in summary.written} | {p.name for p in summary.skipped}
    summary.outputs = [out_dir / f"{output_stem(p, c)}.png" for p, c in mine if f"{output_stem(p, c)}.png" in done]
    summary.seconds = time.perf_counter() - start
    return summary


def _compute(split_dir: Path, todo: list[tuple[str, str]], out_dir: Path, options: InferOptions,
             loop: LoopOptions, log: RunLog | None, summary: InferSummary,
             progress: Callable[[int], None] | None) -> None:
    """Read (threads) -> compute batches (here) -> write and log (writer thread), overlapped."""
    engine = TryOnEngine(options)
    split = SplitDir(split_dir)

    def finished(output: PairOutput, record: PairRecord) -> None:  # writer thread; the only summary writer
        if record.status == "done":
            summary.written.append(out_dir / output.output_name)
        else:
            # the summary lists it (the CLI prints each failed pair once, after the run)
            logger.info("skipping %s %s: %s", output.person, output.cloth, record.error)
            summary.failed.append((output.person, output.cloth, record.error or ""))
        if progress:
            progress(1)

    def read(person: str, cloth: str) -> PairSample:
        return read_pair(split, person, cloth, agnostic_source=options.agnostic_source, category=options.category)

    writer = OutputWriter(out_dir, options.method, log, finished, depth=loop.write_queue)
    batch: list[LoadedPair] = []

    def flush() -> None:
        if not batch:
            return
        compute_start = time.perf_counter()
        try:
            images, rows, tensors = engine.run([item.sample for item in batch])
        except Exception as exc:  # one batch's failure is its pairs' error, not the run's end
            logger.exception("computing %s", ", ".join(item.output_stem for item in batch))
            reason = f"internal error while computing: {type(exc).__name__}: {exc}"
            writer.put([PairOutput(i.person, i.cloth, error=reason, seconds=i.seconds) for i in batch])
            batch.clear()
            return
        share = (time.perf_counter() - compute_start) / len(batch)
        writer.put([PairOutput(item.person, item.cloth, image=images[i], grid=rows[i] if rows else None,
                               tensors=tensors[i] if tensors else None, seconds=item.seconds + share,
                               inputs=item.sample.inputs)
                    for i, item in enumerate(batch)])
        batch.clear()

    try:
        # at least a batch ahead, so the whole next batch is read while this one computes
        depth = max(loop.prefetch, options.batch_size)
        for item in read_ahead(read, todo, workers=loop.read_workers, depth=depth):
            if item.sample is None:
                writer.put([PairOutput(item.person, item.cloth, error=item.error, seconds=item.seconds)])
                continue
            batch.append(item)
            if len(batch) >= options.batch_size:
                flush()
        flush()
    finally:
        writer.close()
    if engine.pipeline is not None:
        summary.deviation = engine.pipeline.deviation
