"""`vtonkit validate`, `vtonkit review`, `vtonkit clean`: find bad samples, decide, quarantine."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from vtonkit.core.terminal import escape

DATASET_HELP = "Dataset folder with train/, test/ and train_pairs.txt / test_pairs.txt (HR-VITON layout)."


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command()(validate)
    app.command()(review)
    app.command()(clean)


def validate(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help=DATASET_HELP),
    split: list[str] = typer.Option(
        None, "--split", help="Split to check (train or test); repeat for both. Default: the splits present."
    ),
    json_out: Path = typer.Option(
        None,
        "--json",
        help="Also write the full report as JSON here (it is always "
        "written to <dataset>/.vtonkit/validate.json, which `review` reads).",
    ),
    parquet_out: Path = typer.Option(
        None, "--parquet", help="Also write a Parquet table: one row per sample x check."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero on warnings (quality flags) too."),
    category: str = typer.Option(
        None,
        help="Garment category whose agnostic recipe the stored agnostic files "
        "are checked against: upper (VITON-HD / HR-VITON), lower, dresses, or none to skip "
        "(default: the one the dataset's manifest records, else upper).",
    ),
    no_agnostic: bool = typer.Option(False, "--no-agnostic", help="Same as --category none."),
    workers: int = typer.Option(
        0, min=0, help="Worker processes (0 = one per CPU core, at most 8; 1 = no subprocess)."
    ),
) -> None:
    """Check a dataset: files, sizes, modes, parse ids, BODY_25, masks, agnostic, pairs, leakage, duplicates.

    Errors (exit code 1) break HR-VITON; warnings are quality flags for `vtonkit review`.
    DATASET may also be one split folder (DATASET/test): then only that split is checked.

    Example: vtonkit validate data/zalando-hd-resized --split test --parquet report.parquet
    """
    from rich.console import Console
    from rich.progress import Progress

    from vtonkit.datasets.dataset_paths import dataset_and_splits
    from vtonkit.datasets.summary import print_summary, store_report
    from vtonkit.datasets.validate import validate as run_validate

    if category not in (None, "upper", "lower", "dresses", "none"):
        raise typer.BadParameter(f"--category must be upper, lower, dresses or none, got {category!r}")
    if no_agnostic:
        category = "none"
    from vtonkit.commands.checks import check_category, check_dataset_root, check_output_file

    try:
        dataset, splits = dataset_and_splits(dataset, split)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if splits is None:
        check_is_dataset(dataset, split_folder_too=True)
    from vtonkit.datasets.validate import present_splits

    for name in splits or present_splits(dataset):  # before any report is written over the stored one
        check_dataset_root(dataset, name)  # DATASET/test --split test: validate looked for DATASET/test/test
        if category not in (None, "none"):  # as infer and agnostic: a category the manifest contradicts
            check_category(dataset, name, category)
    if json_out is not None:
        check_output_file(json_out, "--json", "validate.json")
    if parquet_out is not None:
        check_output_file(parquet_out, "--parquet", "validate.parquet")
    import os

    from vtonkit.datasets.manifest import agnostic_check_category

    category = category or agnostic_check_category(dataset)
    console = Console(stderr=True, soft_wrap=True)  # the report path whole in a pipe or log
    workers = workers or min(8, len(os.sched_getaffinity(0)))
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("validating", total=None)
            report = run_validate(
                dataset,
                splits,
                category=None if category == "none" else category,
                workers=workers,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    except KeyboardInterrupt as exc:  # the report is written only once every check has run: nothing half-done
        console.print("interrupted: nothing written; run validate again", markup=False)
        raise typer.Exit(130) from exc
    shown = store_report(report, dataset, json_out, parquet_out)
    print_summary(report, console)
    console.print(f"report: {shown}" + (f", table: {parquet_out}" if parquet_out else ""), markup=False)
    raise typer.Exit(report.exit_code(strict))


def review(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help=DATASET_HELP),
    host: str = typer.Option("127.0.0.1", help="Address to bind. Keep 127.0.0.1 unless you know why."),
    port: int = typer.Option(8766, min=0, max=65535, help="Port of the local review app (0 picks a free one; 8765 is the demo store's)."),
    allow_host: list[str] = typer.Option(
        None,
        "--allow-host",
        help="Another host name browsers may use to reach the app (repeatable). Requests naming any "
        "other host are refused (DNS-rebinding protection); 127.0.0.1, localhost, ::1 and --host "
        "(unless a wildcard such as 0.0.0.0) are always allowed.",
    ),
    static: Path = typer.Option(
        None, "--static", help="Write a self-contained HTML report here instead of serving."
    ),
    thumb: int = typer.Option(192, min=16, max=1024, help="Thumbnail height in pixels for --static (16-1024: the "
                              "dataset's own height is the most a thumbnail can show)."),
    flag: str = typer.Option(
        "", help="--static only: keep samples with this finding code ('any' = any flag)."
    ),
    limit: int = typer.Option(
        1000, min=1, help="--static only: at most this many samples (errors first; ~40 KB each)."
    ),
    revalidate: bool = typer.Option(
        False,
        help="Run validate again instead of reading the stored report (after fixing files or running clean).",
    ),
) -> None:
    """Page through samples as grids, filter by flags, record keep / reject / note with the keyboard.

    A garment no person wears as its own (a crawled shop shot) is a sample too: its card shows the
    cloth and its mask, and `clean` quarantines a rejected one with its placeholder copies.

    Keys: j/l or arrows move, k keep, r reject, n note, u undecided, f / F next / previous flag. Decisions are stored in
    <dataset>/.vtonkit/review.sqlite. Runs `validate` first if no report exists.

    Example: vtonkit review data/zalando-hd-resized          (then open http://127.0.0.1:8766)
    Example: vtonkit review data/zalando-hd-resized --static review.html
    """
    from rich.console import Console

    from vtonkit.datasets.summary import load_or_run_report

    from vtonkit.core.errors import VtonkitError

    from vtonkit.commands.checks import check_host_names, check_output_file

    from vtonkit.datasets.review.samples import flag_problem

    from vtonkit.commands.checks import check_dataset_root

    if static is None:  # the app filters in the page: given without --static, these were silently ignored
        # by name: typer's own copy of click has its own ParameterSource enum
        given = [f"--{name}" for name in ("flag", "limit", "thumb")
                 if getattr(ctx.get_parameter_source(name), "name", "DEFAULT") not in ("DEFAULT", "DEFAULT_MAP")]
        if given:
            raise typer.BadParameter(f"{' and '.join(given)} only {'shapes' if len(given) == 1 else 'shape'} a --static report; add --static FILE.html "
                                     "(the review app filters in the page)", param_hint=given[0])
    if (problem := flag_problem(flag)) is not None:
        raise typer.BadParameter(problem, param_hint="--flag")
    check_dataset_root(dataset)
    check_is_dataset(dataset)
    if static is not None:
        check_output_file(static, "--static", "review.html")
    check_host_names(allow_host)
    console = Console(stderr=True, soft_wrap=True)
    try:
        _review(dataset, console, host=host, port=port, allow_host=allow_host, static=static, thumb=thumb,
                flag=flag, limit=limit, report=load_or_run_report(dataset, console, rerun=revalidate))
    except VtonkitError as exc:  # an unreadable decisions database, a file of the dataset
        console.print(f"[red]error[/]: {escape(str(exc))}")
        raise typer.Exit(1) from exc


def check_is_dataset(dataset: Path, *, split_folder_too: bool = False) -> None:
    """A usage error for a folder with no split and no pair list: nothing to check or review, and no
    .vtonkit/ to leave there. `split_folder_too`: the command also takes one split folder (validate)."""
    from vtonkit.datasets.validate import present_splits

    if not present_splits(dataset):
        give = "a dataset root or one of its split folders" if split_folder_too else "a dataset root"
        raise typer.BadParameter(f"{dataset}: no train/ or test/ folder and no pair list here: give {give}",
                                 param_hint="DATASET")


def announced_url(host: str, port: int) -> str:
    """The address to open: a wildcard bind (0.0.0.0, ::) is no name a browser may send (the app
    refuses it as Host), so this machine's loopback name stands in for it."""
    if host in ("0.0.0.0", "::", ""):
        return (f"http://127.0.0.1:{port} on this machine; from another, this machine's name or address "
                "(allow it with --allow-host)")
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _review(dataset: Path, console, *, host: str, port: int, allow_host: list[str] | None, static: Path | None,
            thumb: int, flag: str, limit: int, report) -> None:
    """`review` after its report is loaded: the static report, or the app until Ctrl-C."""
    if static is not None:
        from rich.progress import Progress

        from vtonkit.datasets.review.static_report import write_static_report

        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("rendering thumbnails", total=None)
            count = write_static_report(
                dataset,
                report,
                static,
                thumb_height=thumb,
                flag=flag,
                limit=limit,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        console.print(
            f"wrote {static} ({count} samples, {static.stat().st_size / 1e6:.1f} MB)", markup=False
        )
        return
    import uvicorn

    from vtonkit.core.listening import listening_socket
    from vtonkit.datasets.review.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]warning[/]: serving on {escape(host)}: anyone who can reach this address can read the "
            "dataset and record decisions (there is no login). Browsers must use an allowed host name: "
            "add this machine's name or address with --allow-host"
        )
    listening = listening_socket(host, port)  # a port in use is said before the app is announced
    port = listening.getsockname()[1]  # the one the system picked for --port 0
    console.print(f"review app: {announced_url(host, port)}  (Ctrl+C to stop)", markup=False)
    app = create_app(dataset, report, bound_host=host, allow_hosts=allow_host or ())
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run(sockets=[listening])


def clean(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help=DATASET_HELP),
    undo: bool = typer.Option(False, "--undo", help="Restore the files and pair lines of the last clean."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would move."),
) -> None:
    """Apply review decisions: move rejected samples to <dataset>/quarantine/ and drop their pair lines.

    Nothing is deleted; a manifest in <dataset>/.vtonkit/ lets `--undo` put everything back exactly.

    Example: vtonkit clean data/zalando-hd-resized --dry-run
    """
    from rich.console import Console

    from vtonkit.datasets.clean import apply_decisions, undo_last

    from vtonkit.core.errors import VtonkitError

    from vtonkit.commands.checks import check_dataset_root

    check_dataset_root(dataset)  # DATASET/test has no decisions: it quarantined nothing and said so
    # the plan and what moved are the command's output (stdout: `clean --dry-run > plan.txt` kept
    # nothing); one moved file a line, whole: scripts read it. Errors go to stderr.
    console = Console(soft_wrap=True)
    try:
        if undo:
            result = undo_last(dataset, dry_run=dry_run)
            verb = "would restore" if dry_run else "restored"
        else:
            result = apply_decisions(dataset, dry_run=dry_run)
            verb = "would quarantine" if dry_run else "quarantined"
    except VtonkitError as exc:  # a clean problem, an unreadable pair list, manifest or decisions database
        Console(stderr=True, soft_wrap=True).print(f"[red]error[/]: {escape(str(exc))}")
        raise typer.Exit(1) from exc
    for line in result.lines():
        console.print(line, markup=False, highlight=False)
    for run in result.interrupted:
        console.print(f"finished the clean of {run} that was cut short (its files and lines are counted below; "
                      "--undo restores it whole)", markup=False, highlight=False)
    console.print(
        f"{verb} {result.samples} sample(s): {result.files} file(s), {result.pair_lines} pair line(s)"
    )
    if result.placeholder_persons and not undo:
        console.print(f"{len(result.placeholder_persons)} placeholder garment(s) copied from a rejected garment "
                      f"{'would go' if dry_run else 'went'} with it ({', '.join(result.placeholder_persons[:5])}"
                      f"{' ...' if len(result.placeholder_persons) > 5 else ''}): run `vtonkit pairs` for their "
                      "split again to give those persons new ones", markup=False, highlight=False)
    if result.dangling_links and not undo:
        console.print(f"{len(result.dangling_links)} kept file(s) {'would be' if dry_run else 'are'} links to a "
                      f"quarantined file, leading nowhere now ({', '.join(result.dangling_links[:5])}"
                      f"{' ...' if len(result.dangling_links) > 5 else ''}): reject them too, or replace each link "
                      "by a copy of its file (clean --undo mends them)", markup=False, highlight=False)
    if result.unpaired_persons and not undo:
        console.print(f"{len(result.unpaired_persons)} kept person(s) {'would be' if dry_run else 'are'} left in no pair "
                      f"line, all theirs named a rejected sample ({', '.join(result.unpaired_persons[:5])}"
                      f"{' ...' if len(result.unpaired_persons) > 5 else ''}): run `vtonkit pairs` for their split "
                      "again to pair them", markup=False, highlight=False)
    if not result.samples and not undo:
        console.print(f"no sample to quarantine: none is rejected in the review decisions, or every rejected one "
                      f"is in quarantine/ already; `vtonkit review {shlex.quote(str(dataset))}` records keep / "
                      "reject decisions",
                      markup=False, highlight=False)
    if result.samples and not dry_run:
        console.print("run `vtonkit validate` again to refresh the report")
