"""`vtonkit prep`: person photos and garment shots -> a complete HR-VITON split, at scale.

Order of work: list inputs and give each a stable stem (`sources.py`, recorded in the manifest),
compute every stage's cache key, skip samples whose completion marker already holds their key
(`markers.py`), run the rest through the one batch runner (`batch.run_each`, with the `prep` worker
of `stage_worker.py` on the engine `--engine` / `--in-process` pick from `engines/`), then write
`prep-errors.jsonl` (one record per failed input), `prep-warnings.jsonl` (one record per warning of a
sample of the run's inputs, written now or complete before: pre-flight findings, a tiny or cut-off
person; a complete sample's come from its marker) and `prep-profile.json` in the
dataset. Re-running is cheap and safe: finished samples are skipped, finished stages come from the
cache, and a `kill -9` at any point loses only the sample in flight (every file is written
atomically; markers come last).
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtonkit.datasets.io.files import atomic_write_json, atomic_write_text
from vtonkit.datasets.layout import ALL_FOLDERS, SPLITS, DatasetLayout, display_name
from vtonkit.datasets.manifest import CLOTHS, PERSONS, Manifest
from vtonkit.datasets.pairing import split_of
from vtonkit.preprocess.batch import dataset_lock, run_each
from vtonkit.preprocess.cache import stage_key
from vtonkit.preprocess.engines import ENGINES, Engine, has_engine_ability
from vtonkit.preprocess.markers import completed_warnings, damaged_outputs
from vtonkit.preprocess.profile import ProfileBuilder
from vtonkit.preprocess.stage_worker import (
    AGNOSTIC_VERSION,
    CLOTH_PREP_VERSION,
    CLOTH_STAGES,
    NORMALIZE_VERSION,
    PERSON_STAGES,
    WRITER_VERSION,
    ClothTask,
    PersonTask,
    SampleResult,
    WorkerSpec,
)
from vtonkit.preprocess.sources import (
    Duplicate,
    Source,
    check_category,
    cloth_sources,
    person_sources,
    source_warnings,
    sanitize_stem,
    settle_stems,
)
from vtonkit.preprocess.stages import REGISTRIES

from vtonkit.core.errors import VtonkitError
from vtonkit.core.native_logs import NATIVE_LOG
from vtonkit.core.paths import state_dir

logger = logging.getLogger(__name__)

PROFILE_FILE = "prep-profile.json"
ERRORS_FILE = "prep-errors.jsonl"
WARNINGS_FILE = "prep-warnings.jsonl"
PERSON_BACKEND_STAGES = ("pose", "parser", "densepose")
CLOTH_BACKEND_STAGES = ("cloth_mask",)


@dataclass
class PrepOptions:
    """Everything `vtonkit prep` takes (the CLI maps its options one to one).

    Attributes:
        persons: folder or glob of person photos (None: garments only).
        cloths: folder of garment shots, a `catalog.jsonl`, or a crawl folder holding one (None: persons only).
        out: dataset root; the split folder is `out/<split>`.
        split: "train", "test", or "auto": each input goes to the split `datasets.pairing.split_of`
            picks (`test_fraction`, `split_seed`) for its product or file name, so no photo or product
            lands in both and a person stays with the garment of its name.
        backends: `{stage: name}` overrides for "pose", "parser", "densepose", "cloth_mask".
        backend_options: `{stage: {option: value}}` passed to the backend constructors.
        registrations: extra `(stage, name, "module:Class")` backends to register in every worker.
        in_process: run the local engine's single worker in this process (no spawn; a native crash
            in a model library then ends the run). Default: a process pool, even of one worker.
    """

    out: Path
    split: str
    persons: str | None = None
    cloths: str | None = None
    category: str = "upper"
    workers: int = 1
    engine: str = "local"
    ray_address: str | None = None
    backends: dict[str, str] = field(default_factory=dict)
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: Path | None = None
    keep_framing: bool = False
    test_fraction: float = 0.1
    split_seed: int = 0
    registrations: tuple[tuple[str, str, str], ...] = ()
    in_process: bool = False


@dataclass
class PrepReport:
    """Outcome of one run (also what `prep-profile.json` summarises)."""

    ok: dict[str, int]
    failed: dict[str, int]
    skipped_complete: dict[str, int]
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]  # of the samples written by this run
    duplicates: list[dict[str, str]]
    profile: dict[str, Any]
    profile_path: Path
    errors_path: Path
    warnings_path: Path
    earlier_warnings: list[dict[str, str]] = field(default_factory=list)  # of the samples already complete
    rebuilt_damaged: int = 0  # samples whose marker held their key but an output was emptied, cut or removed since


def register_extra_backends(registrations: tuple[tuple[str, str, str], ...]) -> None:
    """Register `(stage, name, "module:Class")` backends in this process (idempotent)."""
    for stage, name, target in registrations:
        if name not in REGISTRIES[stage].names():
            REGISTRIES[stage].register_lazy(name, target)


def resolve_backends(options: PrepOptions) -> dict[str, tuple[str, dict[str, Any]]]:
    """`{stage: (name, options)}` for the four model stages: CLI > `--config` file > registry defaults."""
    from vtonkit.preprocess.config import resolve_backends as resolve_from_config

    register_extra_backends(options.registrations)
    try:
        chosen = resolve_from_config(dict(options.backends), config_path=options.config)
    except KeyError as exc:
        raise VtonkitError(str(exc).strip("\"'")) from exc
    for stage, extra in options.backend_options.items():
        chosen[stage] = (chosen[stage][0], {**chosen[stage][1], **extra})
    return chosen


def backend_identity(stage: str, name: str, options: dict[str, Any]) -> str:
    """`name@version{options}` of the backend registered as `name`, without building it (no model is
    loaded; resolving checks the class's contract, so a broken registration stops the run here).

    Keyed by the registered name, not the class's `name`: a copied class that kept its original's
    `name` must not share its cached outputs (the built-in backends' class names are their
    registered names, so their keys are unchanged)."""
    version = REGISTRIES[stage].resolve(name).version
    return f"{name}@{version}{json.dumps(options, sort_keys=True, default=str)}"


def person_keys(sha256: str, category: str, ids: dict[str, str], keep_framing: bool = False) -> dict[str, str]:
    """Cache keys of every person stage; each includes the keys of the stages it reads."""
    framing = "keep" if keep_framing else "refocus"
    normalize = stage_key("normalize", f"normalize@{NORMALIZE_VERSION}:{framing}", sha256)
    pose = stage_key("pose", ids["pose"], normalize)
    parse = stage_key("parse", ids["parser"], pose)  # the parser reads the keypoints
    densepose = stage_key("densepose", ids["densepose"], parse)  # reads keypoints and parse
    agnostic = stage_key("agnostic", f"agnostic@{AGNOSTIC_VERSION}:{category}", parse)
    sample = stage_key("person-sample", f"writer@{WRITER_VERSION}", agnostic, densepose)
    return {"normalize": normalize, "pose": pose, "parse": parse, "densepose": densepose,
            "agnostic": agnostic, "sample": sample}


def cloth_keys(sha256: str, ids: dict[str, str]) -> dict[str, str]:
    cloth = stage_key("cloth", f"cloth@{CLOTH_PREP_VERSION}", sha256)
    mask = stage_key("cloth_mask", ids["cloth_mask"], cloth)
    sample = stage_key("cloth-sample", f"writer@{WRITER_VERSION}", mask)
    return {"cloth": cloth, "cloth_mask": mask, "sample": sample}


def remove_stale_temporaries(dataset: Path) -> int:
    """Delete `.<name>.<random>.tmp` files left by writers killed mid-write (safe under the lock)."""
    removed = 0
    roots = [dataset / split / folder for split in SPLITS for folder in ALL_FOLDERS] + [state_dir(dataset)]
    for root in roots:
        if not root.is_dir():
            continue
        pattern = "**/.*.tmp" if root == state_dir(dataset) else ".*.tmp"
        for tmp in root.glob(pattern):
            tmp.unlink(missing_ok=True)
            removed += 1
    for tmp in dataset.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _by_split(sources: list[Source], options: PrepOptions, manifest: Manifest) -> dict[str, list[Source]]:
    """`{split: sources}`: all in `options.split`, or with "auto" a stable hash split (`split_of`).

    Catalog shots are keyed by store + product id (a product's garment and on-model shots together);
    files of a folder by their name, because HR-VITON's own-garment rule is a name rule: the person
    `a.jpg` wears `cloth/a.jpg`, so the two must land in one split (keyed by bytes, the test person's
    own garment went to train). Bytes the manifest already holds, or an earlier file of this run,
    keep that split: a renamed copy is then skipped as a duplicate instead of crossing the splits.
    """
    if options.split != "auto":
        return {options.split: sources}
    split_of_bytes = {record["sha256"]: split for split in manifest.splits for table in (PERSONS, CLOTHS)
                      for record in manifest.entries(split, table).values() if record.get("sha256")}
    grouped: dict[str, list[Source]] = {}
    for source in sorted(sources, key=lambda s: str(s.path)):
        product = source.meta.get("product_id")
        if product:
            split = split_of(f"{source.meta.get('store')}/{product}", options.test_fraction, options.split_seed)
        elif source.sha256 in split_of_bytes:
            split = split_of_bytes[source.sha256]
        else:
            split = split_of(f"name:{sanitize_stem(source.path.name)}", options.test_fraction, options.split_seed)
        if source.sha256:
            split_of_bytes.setdefault(source.sha256, split)
        grouped.setdefault(split, []).append(source)
    return grouped


def _plan(dataset: Path, split: str, kind: str, sources: list[Source], manifest: Manifest, category: str,
          ids: dict[str, str], keep_framing: bool
          ) -> tuple[list[PersonTask | ClothTask], list[Duplicate], list[tuple[Source, list[str]]],
                     dict[str, list[str]]]:
    """Stems, manifest entries and tasks of one kind in one split; returns (tasks, duplicates, the
    sources whose samples are complete already, each with the warnings it recorded, and
    `{stem: warnings}` of the tasks whose input prep-person would warn of: written under another name
    than their own, or already in another split)."""
    kept, duplicates = settle_stems(sources, manifest, split, DatasetLayout(dataset).split(split), category)
    tasks: list[PersonTask | ClothTask] = []
    complete: list[tuple[Source, list[str]]] = []
    renamed: dict[str, list[str]] = {}
    for source in kept:
        if kind == "person":
            keys = person_keys(source.sha256 or str(source.path), category, ids, keep_framing)
            task: PersonTask | ClothTask = PersonTask(str(dataset), split, source.stem, str(source.path),
                                                      category, keys, keep_framing)
        else:
            keys = cloth_keys(source.sha256 or str(source.path), ids)
            task = ClothTask(str(dataset), split, source.stem, str(source.path), keys)
        notes = completed_warnings(dataset, split, kind, source.stem, keys["sample"]) if source.sha256 else None
        # said on every run while the rename (or the other split's copy) holds, after the worker's notes
        said = source_warnings(source)
        if notes is not None:
            complete.append((source, [*notes, *said]))
        else:
            tasks.append(task)
            if said:
                renamed[source.stem] = said
    return tasks, duplicates, complete, renamed


ProgressCallback = Callable[[SampleResult], None]
LOCAL = "local"  # `--engine local`: the pool engine, or the inline one with `--in-process`


def build_engine(options: PrepOptions) -> Engine:
    """The execution engine `options` ask for, given the options it declares it takes (`ENGINE_ABILITIES`)."""
    name = ("inline" if options.in_process else "pool") if options.engine == LOCAL else options.engine
    if name not in ENGINES.names():
        raise VtonkitError(f"engine must be one of {', '.join([LOCAL, *ENGINES.names()])}, got {options.engine!r}")
    cls = ENGINES.resolve(name)
    settings: dict[str, Any] = {}
    if has_engine_ability(cls, "parallel"):
        settings["workers"] = options.workers
    if has_engine_ability(cls, "native_log"):
        settings["native_log"] = str(state_dir(options.out) / NATIVE_LOG)
    if has_engine_ability(cls, "cluster"):
        settings["address"] = options.ray_address
    return cls(**settings)


def run_prep(options: PrepOptions, *, on_start: Callable[[dict[str, int]], None] | None = None,
             on_result: ProgressCallback | None = None) -> PrepReport:
    """Build or update `options.out/<split>`; see the module docstring.

    Args:
        on_start: called once with `{stage: number of samples that go through it}` (progress bars).
        on_result: called with every `SampleResult` as it arrives.
    """
    if options.split not in (*SPLITS, "auto"):
        raise VtonkitError(f"split must be one of {SPLITS} or auto, got {options.split!r}")
    engine = build_engine(options)
    if not options.persons and not options.cloths:
        raise VtonkitError("nothing to do: give --persons and/or --cloths")
    category = check_category(options.category)
    dataset = Path(options.out).resolve()
    created = not dataset.exists()
    dataset.mkdir(parents=True, exist_ok=True)
    try:
        return _run_prep(options, dataset, category, engine, on_start, on_result)
    except BaseException:
        if created:
            remove_if_unwritten(dataset)
        raise


def remove_if_unwritten(dataset: Path) -> None:
    """Remove a dataset folder a failed run created, when it holds no file but its own bookkeeping
    (manifest, lock) and empty folders: a run that stopped at its set-up (missing weights, no inputs)
    left an empty dataset behind, which the next run then took for the user's."""
    bookkeeping = state_dir(dataset)
    files = [p for p in dataset.rglob("*") if not p.is_dir() and bookkeeping not in p.parents]
    if not files:
        shutil.rmtree(dataset, ignore_errors=True)


def _run_prep(options: PrepOptions, dataset: Path, category: str, engine: Engine,
              on_start: Callable[[dict[str, int]], None] | None,
              on_result: ProgressCallback | None) -> PrepReport:
    started, started_at = time.perf_counter(), time.time()
    with dataset_lock(dataset):
        remove_stale_temporaries(dataset)
        chosen = resolve_backends(options)
        needed = (PERSON_BACKEND_STAGES if options.persons else ()) + (CLOTH_BACKEND_STAGES if options.cloths else ())
        chosen = {stage: chosen[stage] for stage in needed}
        ids = {stage: backend_identity(stage, name, opts)
               for stage, (name, opts) in chosen.items()}
        resolved_at = time.time()
        manifest = Manifest.load(dataset)
        errors: list[dict[str, str]] = []
        warnings: list[dict[str, str]] = []
        earlier_warnings: list[dict[str, str]] = []  # of the samples complete before this run, from their markers
        tasks: list[PersonTask | ClothTask] = []
        skipped = {"person": 0, "cloth": 0}
        skipped_duplicates: list[dict[str, str]] = []
        renamed: dict[tuple[str, str, str], list[str]] = {}  # (kind, split, stem) -> its input's warnings
        for kind, spec in (("person", options.persons), ("cloth", options.cloths)):
            if not spec:
                continue
            found = person_sources(spec, category) if kind == "person" else cloth_sources(spec, category)
            manifest.refuse_other_categories(category, f"prep --category {category}")
            for split, sources in _by_split(found, options, manifest).items():
                DatasetLayout(dataset).split(split).make_folders()
                planned, duplicates, done, renames = _plan(dataset, split, kind, sources, manifest, category, ids,
                                                           options.keep_framing)
                tasks.extend(planned)
                renamed.update({(kind, split, stem): notes for stem, notes in renames.items()})
                skipped[kind] += len(done)
                earlier_warnings.extend({"kind": kind, "stem": source.stem, "file": display_name(source.path),
                                         "warning": display_name(note)}
                                        for source, notes in done for note in notes)
                skipped_duplicates.extend({"kind": kind, "file": display_name(d.path),
                                           "same_bytes_as": display_name(d.duplicate_of)}
                                          for d in duplicates)
        manifest.save()  # the stem mapping survives a kill
        # Only the samples to run are looked at again: an untouched re-run pays nothing for it.
        rebuilt_damaged = sum(bool(damaged_outputs(dataset, task.split, "person" if isinstance(task, PersonTask)
                                                   else "cloth", task.stem, task.keys["sample"])) for task in tasks)

        if on_start is not None:
            persons = sum(isinstance(t, PersonTask) for t in tasks)
            on_start({**{s: persons for s in PERSON_STAGES}, **{s: len(tasks) - persons for s in CLOTH_STAGES}})
        profile = ProfileBuilder()
        planned_at = time.time()
        if tasks:
            for result in run_each(tasks, WorkerSpec(chosen, options.registrations), engine=engine,
                                   on_result=on_result):
                profile.add(result)
                if result.failure is not None:
                    errors.append({"kind": result.kind, "stem": result.stem, **result.failure.record()})
                else:
                    result.warnings.extend(renamed.get((result.kind, result.split, result.stem), []))
                    warnings.extend({"kind": result.kind, "stem": result.stem, "file": display_name(result.path),
                                     "warning": display_name(note)}
                                    for note in result.warnings)

        last_result_at = time.time()
        errors.sort(key=lambda e: (e.get("kind", ""), e["file"]))  # same file whatever the completion order
        errors_path = dataset / ERRORS_FILE
        atomic_write_text(errors_path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors))
        warnings.sort(key=lambda w: (w["kind"], w["file"]))  # stable sort: a file's notes keep their order
        warnings_path = dataset / WARNINGS_FILE
        # every sample of this run's inputs: a resumed or repeated run lost the finished samples' notes
        listed = sorted(warnings + earlier_warnings, key=lambda w: (w["kind"], w["file"]))
        atomic_write_text(warnings_path, "".join(json.dumps(w, ensure_ascii=False) + "\n" for w in listed))
        wall = time.perf_counter() - started
        profile_json = profile.to_json(wall_seconds=wall, engine=options.engine, workers=options.workers,
                                       skipped_complete=skipped, backends=ids)
        profile_json["timeline"] = profile.timeline(started_at, {"backends_resolved": resolved_at,
                                                                 "tasks_planned": planned_at, "last_result": last_result_at})
        profile_json["split"] = options.split
        profile_json["duplicates_skipped"] = skipped_duplicates
        if options.split == "auto":
            profile_json["test_fraction"] = options.test_fraction
        profile_path = dataset / PROFILE_FILE
        atomic_write_json(profile_path, profile_json, indent=1)
    return PrepReport(ok=dict(profile.ok), failed=dict(profile.failed), skipped_complete=skipped, errors=errors,
                      warnings=warnings, duplicates=skipped_duplicates, profile=profile_json,
                      profile_path=profile_path, errors_path=errors_path, warnings_path=warnings_path,
                      earlier_warnings=earlier_warnings, rebuilt_damaged=rebuilt_damaged)
