"""`vtonkit demo`: the whole job on bundled data (what `make demo` runs)."""
from __future__ import annotations

from pathlib import Path

import typer
from vtonkit.core.terminal import escape


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", "-o", help="Folder for every result of the demo."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Parallel preprocessing workers."),
    tocg_checkpoint: Path = typer.Option(None, "--tocg-checkpoint", envvar="VTONKIT_TOCG_CHECKPOINT",
                                         help="HR-VITON mtviton.pth; with --gen-checkpoint, previews use HR-VITON."),
    gen_checkpoint: Path = typer.Option(None, "--gen-checkpoint", envvar="VTONKIT_GEN_CHECKPOINT",
                                        help="HR-VITON gen.pth (else previews use the warp baseline)."),
) -> None:
    """Run the whole toolkit on bundled data, offline: crawl -> prep -> pairs -> validate -> review -> try-on -> sheets.

    Serves the bundled demo store on 127.0.0.1, crawls it, prepares the bundled CC0 person photos
    into upper- and lower-body HR-VITON datasets, validates them, writes static review reports,
    try-on previews (HR-VITON when checkpoints are given, otherwise the warp baseline) and catalog
    sheets, then prints where each result is. Interrupt and re-run to resume.

    Example: vtonkit demo --out demo-out
    """
    from vtonkit.core.progress import console
    from vtonkit.demo import DemoPlan, run_demo

    from vtonkit.commands.checks import check_output_folder

    check_output_folder(out, "--out")
    plan = DemoPlan(out=out, workers=workers, tocg_checkpoint=tocg_checkpoint, gen_checkpoint=gen_checkpoint)
    try:
        # unwrapped and as plain text: each step's command line must paste into a shell whole
        results = run_demo(plan, echo=lambda text: console.print(text, soft_wrap=True, markup=False, highlight=False))
    except RuntimeError as exc:
        console.print(f"[red]demo stopped:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    # one result a line, its path whole: a table cut paths to fit the terminal ("reports/review-up…")
    console.print("\nvtonkit demo: results", style="bold")
    for what, path in results:
        console.print(f"  {what}: {path}", soft_wrap=True, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
