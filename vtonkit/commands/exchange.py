"""`vtonkit export`, `vtonkit import`, `vtonkit table`: to and from other try-on layouts, and a Parquet view."""
from __future__ import annotations

from pathlib import Path

import typer
from vtonkit.core.terminal import escape

from vtonkit.commands.checks import check_choice, check_dataset_root, check_output_file, output_folder
from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import VtonkitError, describe_os_error
from vtonkit.datasets.export import EXPORTERS

LICENCE_HELP = ("Licence: VITON-HD (CC BY-NC 4.0) and Dress Code (non-commercial research, no redistribution) "
                "data stay under their licences after conversion: non-commercial use only, and never "
                "redistribute Dress Code-derived files.")
SOURCES = ("dresscode", "vitonhd")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("export", help=export.__doc__.replace("LICENCE", LICENCE_HELP))(export)
    app.command("import", help=import_.__doc__.replace("LICENCE", LICENCE_HELP))(import_)
    app.command()(table)


def _run_and_report(convert) -> None:
    """Run one conversion, print what was written, each failed sample and the notes; exit with its code."""
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    try:
        report = convert()
    except (VtonkitError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # a full disk or a read-only folder while writing a pair list or the manifest
        console.print(f"[red]error:[/red] {escape(describe_os_error(exc, 'the output folder'))}; the samples "
                      "written so far are complete: free the space and run the same command again")
        raise typer.Exit(2) from exc
    missing = f", {len(report.missing)} listed in a pair file but missing" if report.missing else ""
    console.print(f"{report.target}: {len(report.converted)} samples written to {report.out}, "
                  f"{len(report.failures)} failed{missing}")
    for samples in (report.failures, report.missing):
        for failure in samples[:20]:
            console.print(f"  [yellow]{escape(f'{failure.split}/{failure.sample}')}[/yellow]: {escape(failure.reason)}")
        if len(samples) > 20:
            console.print(f"  ... {len(samples) - 20} more")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    raise typer.Exit(report.exit_code())


def export(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help="vtonkit / HR-VITON dataset root."),
    to: str = typer.Option(..., "--to", help=f"Target layout: {', '.join(EXPORTERS)}."),
    out: Path = typer.Option(..., "--out", help="Folder to write the target layout into (created)."),
    category: str = typer.Option(None, "--category", help="upper, lower or dresses: only samples of this "
                                 "category; also the category of samples the manifest does not know."),
    split: list[str] = typer.Option(None, "--split", help="train or test; repeat for both (default: both)."),
    mask_recipe: str = typer.Option("stored", "--mask-recipe", help="mask-inpaint only: stored (the dataset's "
                                    "agnostic mask) or upper, lower, dresses (that category's recipe, recomputed)."),
    replace: bool = typer.Option(False, "--replace", help="Empty the folders this export writes (dresscode: "
                                 "the category folders; the others: the split folders) when an earlier export "
                                 "left files there; without it such a folder is refused, as its samples would "
                                 "be mixed with this export's."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Write a dataset in the layout another try-on trainer reads: names, modes, value sets, sizes, keypoints,
    labels and pair files as its data loader expects them (docs/formats.md lists every field and its source).

    dresscode: <out>/<upper_body|lower_body|dresses>/ with images, keypoints, skeletons, label_maps, dense,
    image-densepose, agnostic_masks, cloth_mask, the three pair files, an empty dc_caption.txt (IDM-VTON opens
    it), vtonkit_stems.txt (the vtonkit sample of each Dress Code id) and vtonkit_placeholders.json (persons
    whose garment is a placeholder copy); the categories without samples get empty pair files (CatVTON and the
    official loader open all three). stableviton: VITON-HD split folders plus gt_cloth_warped_mask.
    mask-inpaint: image, cloth, image-densepose and a binary agnostic-mask per person, and an empty
    <split>/vitonhd_<split>_tagged.json (IDM-VTON, CatVTON). Masks are L 0/255 and checked to read back identical. A sample that fails is named
    with the reason and the others are written; exit code 1 when any failed.

    LICENCE

    Example: vtonkit export data/mine --to dresscode --out export/dresscode --category lower
    """
    from vtonkit.datasets.export import exporter

    if to not in EXPORTERS:
        raise typer.BadParameter(f"--to must be one of {', '.join(EXPORTERS)}, got {to!r}")
    if mask_recipe != "stored" and to != "mask-inpaint":
        raise typer.BadParameter("--mask-recipe applies to --to mask-inpaint only")
    check_dataset_root(dataset)  # DATASET/test exported 0 samples and said no more
    options = {"category": category, "splits": split or None, "progress": progress, "replace": replace}
    if to == "mask-inpaint":
        options["mask_recipe"] = mask_recipe
    export_function = exporter(to)
    with output_folder(out):
        _run_and_report(lambda: export_function(dataset, out, **options))


def import_(
    source_format: str = typer.Argument(..., metavar="FORMAT", help="dresscode or vitonhd."),
    source: Path = typer.Argument(..., exists=True, file_okay=False, help="The public dataset's root folder "
                                  "(Dress Code: the root or one category folder; VITON-HD: the folder with train/ and test/)."),
    out: Path = typer.Option(..., "--out", help="vtonkit dataset root to write (created)."),
    category: str = typer.Option(None, "--category", help="dresscode: which category to import (upper, lower, "
                                 "dresses); needed when SOURCE holds several. One dataset per category."),
    unlisted: str = typer.Option("train", "--unlisted", help="dresscode: split for samples no pair file lists "
                                 "(train, test, or skip)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Convert a public try-on dataset into the vtonkit layout, so validate, review, training and export work on it.

    dresscode: labels to CIHP-20, keypoints to BODY_25 (1024x768), DensePose from image-densepose/ as shipped (else
    rendered in the HR-VITON colours from the part ids of dense/<id>_5.png), cloth masks computed (or read from cloth_mask/), agnostic files by
    the category's recipe, pair files and a manifest with the category, source and licence. vitonhd: files
    copied byte for byte, missing skeleton/agnostic files made. Samples that cannot be converted are named with
    the reason; exit code 1 when any failed.

    LICENCE

    Example: vtonkit import dresscode ~/DressCode --category lower --out data/dresscode-lower
    """
    from vtonkit.datasets.importers.dresscode import import_dresscode
    from vtonkit.datasets.importers.vitonhd import import_vitonhd

    if source_format not in SOURCES:
        raise typer.BadParameter(f"FORMAT must be one of {', '.join(SOURCES)}, got {source_format!r}")
    if category is not None:  # before the source is read: an unknown one was "no category folder here"
        check_choice(category, GARMENT_CATEGORIES, "--category")
    if unlisted not in ("train", "test", "skip"):
        raise typer.BadParameter(f"--unlisted must be train, test or skip, got {unlisted!r}")
    check_dataset_root(out, option="--out")  # into DATASET/test: a dataset inside a split folder
    with output_folder(out):
        if source_format == "dresscode":
            _run_and_report(lambda: import_dresscode(source, out, category=category,
                                                     unlisted_split=None if unlisted == "skip" else unlisted,
                                                     progress=progress))
        else:
            _run_and_report(lambda: import_vitonhd(source, out, progress=progress))


def table(
    dataset: Path = typer.Argument(..., exists=True, file_okay=False, help="vtonkit / HR-VITON dataset root."),
    out: Path = typer.Option(..., "--out", help="Parquet file to write."),
) -> None:
    """Write a Parquet table of the dataset, one row per sample: paths, category, size, validate findings,
    review decision, source URL and licence. pandas (pd.read_parquet), pyarrow and Hugging Face datasets
    (load_dataset("parquet", data_files=...)) open it directly; run `vtonkit validate` first for findings.

    Example: vtonkit table data/mine --out mine.parquet
    """
    from rich.console import Console

    from vtonkit.datasets.table import write_table

    check_dataset_root(dataset)
    check_output_file(out, "--out", "dataset.parquet", suffixes=(".parquet", ".pq"))
    console = Console(stderr=True, soft_wrap=True)
    try:
        rows = write_table(dataset, out)
    except VtonkitError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # a full disk or a read-only folder: the table is not written (atomic)
        console.print(f"[red]error:[/red] {escape(describe_os_error(exc, out))}")
        raise typer.Exit(2) from exc
    console.print(f"{out}: {rows} rows")
