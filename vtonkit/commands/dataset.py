"""`vtonkit prep` and `vtonkit pairs`: build an HR-VITON dataset from photos and garments, then its pair lists."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer

from vtonkit.core.errors import VtonkitError, describe_os_error


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command()(prep)
    app.command()(pairs)


def prep(
    out: Path = typer.Option(..., "--out", help="Dataset root (created if needed); files go to <out>/<split>/."),
    split: str = typer.Option(..., "--split", help="Split to build: train, test, or auto (a stable hash split "
                              "by product and by file name, so nothing lands in both and a person stays with the "
                              "garment of its name, its own garment; see --test-fraction)."),
    persons: str = typer.Option(None, "--persons", help="Folder or glob ('photos/*.jpg') of person photos."),
    cloths: str = typer.Option(None, "--cloths", help="Folder of garment shots, or a crawler catalog (the crawl "
                               "folder, its catalog.jsonl or catalog.parquet, or any .jsonl copy): then only garment "
                               "shots of --category are taken."),
    category: str = typer.Option("upper", "--category", help="Garment category: upper, lower or dresses "
                                 "(selects catalog garments and the agnostic recipe)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel workers; each loads every model once."),
    engine: str = typer.Option("local", "--engine", help="local (process pool, or this process with --in-process) "
                               "or ray (actors; pip install ray); the engine names pool and inline work too."),
    ray_address: str = typer.Option(None, "--ray-address", help="Join this Ray cluster (e.g. ray://head:10001 or "
                                    "auto) instead of starting a local Ray instance."),
    pose: str = typer.Option(None, "--pose", help="Pose backend (`vtonkit models backends` lists every stage's); default: config or mediapipe."),
    parser: str = typer.Option(None, "--parser", help="Human-parser backend; default: config or geometric."),
    densepose: str = typer.Option(None, "--densepose", help="DensePose backend; default: config or geometric."),
    cloth_mask: str = typer.Option(None, "--cloth-mask", help="Cloth-mask backend; default: config or cv."),
    config: Path = typer.Option(None, "--config", help="TOML config with \\[backends] and \\[options.<backend>] tables "
                                "(default: $VTONKIT_CONFIG or ./vtonkit.toml)."),
    keep_framing: bool = typer.Option(False, "--keep-framing", help="Do not refocus around the person: "
                                      "only orient, convert and resize (for photos already framed 3:4)."),
    test_fraction: float = typer.Option(0.1, "--test-fraction", min=0.0, max=1.0,
                                        help="With --split auto: share of persons and products put in test."),
    split_seed: int = typer.Option(0, "--split-seed", help="With --split auto: seed of the hash split."),
    in_process: bool = typer.Option(False, "--in-process", help="Debugging: run the single worker in this "
                                    "process (no pool; a native crash in a model library then ends the run)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar per stage."),
) -> None:
    """Run every stage (normalise, pose, parse, DensePose, agnostic; cloth, cloth mask) and write the HR-VITON layout.

    Re-running is cheap: finished samples are skipped, and changing one backend recomputes only its
    stage and the stages after it. Failed inputs never stop the batch: each gets a record in
    <out>/prep-errors.jsonl. Warnings (pre-flight findings such as person-too-small or
    cloth-background, see docs/preflight.md) are printed per file and kept in <out>/prep-warnings.jsonl;
    the photo is still written. Timings and model loads go to <out>/prep-profile.json. Exit code 1
    when any input failed.

    Example: vtonkit prep --persons photos/ --cloths crawl/catalog.jsonl --category upper --out data/mine --split test --workers 2
    """
    from rich.console import Console

    from vtonkit.core.terminal import escape  # paths and reasons are outside text: no markup, no terminal controls

    from vtonkit.preprocess.pipeline import PrepOptions, run_prep

    from vtonkit.commands.checks import check_dataset_root

    check_dataset_root(out, None if split == "auto" else split, "--out")  # not DATASET/test: it made test/test/
    console = Console(stderr=True, soft_wrap=True)
    options = PrepOptions(out=out, split=split, persons=persons, cloths=cloths, category=category, workers=workers,
                          engine=engine, ray_address=ray_address, config=config, test_fraction=test_fraction,
                          keep_framing=keep_framing, in_process=in_process,
                          split_seed=split_seed,
                          backends={k: v for k, v in {"pose": pose, "parser": parser, "densepose": densepose,
                                                      "cloth_mask": cloth_mask}.items() if v})
    try:
        written: Counter[str] = Counter()  # samples per split: --split auto may leave one empty

        def advance(result: Any) -> None:
            bars.advance(result)
            if result.failure is None:
                written[result.split] += 1

        with _StageBars(console, enabled=progress) as bars:
            report = run_prep(options, on_start=bars.start, on_result=advance)
    except (VtonkitError, ImportError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # the dataset cannot be written (read-only, disk full): a message, not a traceback
        console.print(f"[red]error:[/red] {escape(describe_os_error(exc, out))}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt as exc:  # every finished sample has its completion marker: the next run skips it
        console.print("interrupted: the samples finished so far are kept; run the same command again to go on "
                      "(finished samples are skipped)")
        raise typer.Exit(130) from exc
    ok, failed, skipped = (sum(d.values()) for d in (report.ok, report.failed, report.skipped_complete))
    warned = len({w["file"] for w in report.warnings})
    per_split = f" (train {written['train']}, test {written['test']})" if split == "auto" else ""
    earlier = len({w["file"] for w in report.earlier_warnings})
    complete = f"{skipped} already complete" + (f" ({earlier} with warnings, listed in the warnings file)" if earlier else "")
    rebuilt = f", {report.rebuilt_damaged} rebuilt because an output was damaged" if report.rebuilt_damaged else ""
    console.print(f"prep {split}: {ok} samples written{per_split} ({warned} with warnings{rebuilt}), {complete}, "
                  f"{failed} failed ({report.profile['images_per_s']} images/s)")
    if report.duplicates:
        console.print(f"{len(report.duplicates)} inputs skipped: same bytes as another input")
        for duplicate in report.duplicates[:_SHOWN]:  # named as prep-person and prep-cloth name them
            console.print(f"  skipped {escape(duplicate['file'])}: same bytes as {escape(duplicate['same_bytes_as'])}")
        if len(report.duplicates) > _SHOWN:
            console.print(f"  ... {len(report.duplicates) - _SHOWN} more (all in the profile)")
    for record in report.warnings[:_SHOWN]:
        console.print(f"  [yellow]warning[/yellow] {escape(record['file'])}: {escape(record['warning'])}")
    if len(report.warnings) > _SHOWN:
        from vtonkit.preprocess.preflight import warning_kind

        kinds = Counter(warning_kind(record["warning"]) for record in report.warnings)
        tally = ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())
        console.print(f"  ... {len(report.warnings) - _SHOWN} more warnings; all {len(report.warnings)} by kind: {tally}")
    for record in report.errors[:_SHOWN]:
        where = f"{record['file']}: {record['reason']}"
        console.print(f"  [red]{escape(record['stage'])}[/red] {escape(where)}")
    if len(report.errors) > _SHOWN:
        console.print(f"  ... {len(report.errors) - _SHOWN} more errors")
    console.print(f"errors: {report.errors_path}  warnings: {report.warnings_path}  profile: {report.profile_path}",
                  markup=False)
    raise typer.Exit(1 if report.errors else 0)


_SHOWN = 10  # per kind of finding on the terminal; the files in the dataset hold them all


class _StageBars:
    """One rich progress bar per stage; a failed sample shortens the bars of the stages it never reached."""

    def __init__(self, console, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description:>11}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=console, disable=not enabled)
        self.bars: dict[str, int] = {}

    def __enter__(self) -> _StageBars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start(self, totals: dict[str, int]) -> None:
        for stage, total in totals.items():
            if total:
                self.bars[stage] = self.progress.add_task(stage, total=total)

    def advance(self, result) -> None:
        from vtonkit.preprocess.stage_worker import CLOTH_STAGES, PERSON_STAGES

        reached = set(result.seconds) | set(result.cache_hits)
        for stage in PERSON_STAGES if result.kind == "person" else CLOTH_STAGES:
            if stage not in self.bars:
                continue
            if stage in reached:
                self.progress.advance(self.bars[stage])
            else:
                task = self.progress.tasks[self.bars[stage]]
                self.progress.update(self.bars[stage], total=max((task.total or 1) - 1, task.completed))


def pairs(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help="Dataset root built by `vtonkit prep` "
                                   "(or any HR-VITON layout)."),
    split: str = typer.Option("test", "--split", help="train or test."),
    mode: str = typer.Option("unpaired", "--mode", help="paired (own garment), unpaired (another garment, "
                             "seeded) or all (every combination)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the unpaired draw (same seed, same list)."),
    category: str = typer.Option(None, "--category", help="Only persons/garments prepared for this category."),
    output: Path = typer.Option(None, "--output", help="Write here instead of <dataset>/<split>_pairs.txt."),
    allow_leakage: bool = typer.Option(False, "--allow-leakage", help="Write even if a photo or product is in "
                                       "both train and test."),
) -> None:
    """Write a pair list in the official format ('<person>.jpg <cloth>.jpg' per line).

    HR-VITON's test loader also opens cloth/<person>.jpg (the person's own garment). Test persons
    without one (crawled data) get a placeholder: a copy of their first assigned garment, recorded in
    the manifest and never offered as a garment. Train lists never get placeholders: persons without
    their own garment are left out (training reads column 1 only).

    Refuses to write when train and test share a photo or garment: the same product in the
    manifest, the same file name, or the same bytes (near duplicates: `vtonkit validate`).

    Example: vtonkit pairs data/mine --split test --mode unpaired --seed 1
    """
    from rich.console import Console
    from vtonkit.core.terminal import escape  # file names are outside text: no markup, no terminal controls

    from vtonkit.datasets.pairing import MODES, write_pair_list

    from vtonkit.datasets.layout import SPLITS

    from vtonkit.commands.checks import check_choice, check_dataset_root, check_output_file
    from vtonkit.core.categories import GARMENT_CATEGORIES

    console = Console(stderr=True, soft_wrap=True)
    if mode not in MODES:
        raise typer.BadParameter(f"--mode must be one of {MODES}, got {mode!r}")
    # usage errors (exit 2) as in validate, export and infer: an unknown category wrote an empty
    # filter's list over test_pairs.txt, an unknown split came back as a failure (exit 1)
    check_choice(split, SPLITS, "--split")
    if category is not None:
        check_choice(category, GARMENT_CATEGORIES, "--category")
    check_dataset_root(dataset, split)
    if output is not None:
        check_output_file(output, "--output", f"{split}_pairs.txt")
    try:
        result = write_pair_list(dataset, split, mode, seed=seed, category=category, allow_leakage=allow_leakage,
                                 output=output)
    except (VtonkitError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    except OSError as exc:  # the dataset cannot be written (read-only, disk full): a message, not a traceback
        console.print(f"[red]error:[/red] {escape(describe_os_error(exc, dataset))}")
        raise typer.Exit(1) from exc
    for file, problem in result.skipped.items():
        console.print(f"[yellow]skipped {escape(f'{split}/{file}')}: {escape(problem)}[/yellow]")
    console.print(f"{result.path}: {len(result.pairs)} {mode} pairs")
    if split == "train" and mode != "paired":
        console.print("[yellow]note: HR-VITON's training loader reads column 1 only (the person's own garment), "
                      "so every line of a train list trains paired; --mode paired is the usual choice[/yellow]")
    if result.dropped:
        console.print(f"[yellow]{len(result.dropped)} persons left out: no own garment "
                      f"(cloth/<person>.jpg){' — train reads column 1 only' if split == 'train' else ''}[/yellow]")
    if result.placeholders:
        console.print(f"[yellow]{len(result.placeholders)} persons have no own garment: cloth/<person>.jpg and its "
                      "mask are placeholder copies of their first assigned garment (recorded in "
                      ".vtonkit/manifest.json). The official test script's unpaired output is correct; its "
                      "paired output for these persons is meaningless.[/yellow]")
