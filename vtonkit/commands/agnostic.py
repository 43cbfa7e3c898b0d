"""`vtonkit agnostic`: recompute parse-agnostic, agnostic image and mask of a split directory."""
from __future__ import annotations

from pathlib import Path

import typer


def agnostic(
    split_dir: Path = typer.Argument(..., help="A split directory (e.g. DATASET/test) with image/, image-parse-v3/, openpose_json/."),
    category: str = typer.Option(None, "--category", "-c", help="upper (official HR-VITON recipe), lower or dresses. "
                                 "Default: the category `vtonkit prep` recorded for the split, else upper; another one "
                                 "than the recorded is refused (validate, infer and training read the recorded one)."),
) -> None:
    """Recompute image-parse-agnostic-v3.2/, agnostic-v3.2/ and agnostic-mask/ for every sample.

    upper reproduces the official HR-VITON procedures exactly; lower and dresses use the Dress
    Code-style recipe on CIHP labels. A bad sample is reported (naming the file) and skipped;
    the exit code is 1 when any sample failed.

    Example: vtonkit agnostic data/zalando-hd-resized/test --category upper
    """
    from vtonkit.core.terminal import escape  # paths and reasons are outside text: no markup, no terminal controls

    from vtonkit.core.errors import OutputRefusedError
    from vtonkit.core.progress import console, track
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess.batch import recompute_split

    from vtonkit.commands.checks import check_category, check_not_dataset_root

    check_not_dataset_root(split_dir, "SPLIT_DIR")  # DATASET has no image/: "no person images" named no fix
    # a split recomputed for another category left the manifest's: validate and infer read that one
    category = check_category(split_dir.resolve().parent, split_dir.resolve().name, category)
    split = SplitDir(split_dir)
    stems = split.person_stems()
    if not stems:
        console.print(f"[red]error:[/] no person images (*.jpg) in {escape(str(split.root / 'image'))}")
        raise typer.Exit(2)
    failures = []
    try:
        for result in track(recompute_split(split, category, stems), len(stems), f"agnostic ({category})"):
            if not result.ok:
                failures.append(result)
                console.print(f"[red]error[/] {escape(f'{result.stem}: {result.error}')}", soft_wrap=True)  # paths unbroken
    except OutputRefusedError as exc:  # the disk filled up: every later sample would fail the same way
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    done = len(stems) - len(failures)
    console.print(f"{done}/{len(stems)} samples written to {split.root} ({len(failures)} failed)", markup=False)
    if failures:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("agnostic")(agnostic)
