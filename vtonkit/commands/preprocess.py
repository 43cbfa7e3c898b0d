"""`vtonkit prep-person`, `prep-cloth` and `eval-prep`: per-file preprocessing and its measured quality."""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import typer
from vtonkit.core.terminal import escape  # paths and reasons are outside text: no markup, no terminal controls

from vtonkit.core.errors import OutputRefusedError, describe_os_error
from vtonkit.core.native_logs import NATIVE_LOG, native_stderr_to
from vtonkit.core.paths import state_dir

from vtonkit.commands.checks import check_split_folder

CATEGORY_HELP = "Garment category the agnostic is made for: upper, lower or dresses."


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("prep-person")(prep_person)
    app.command("prep-cloth")(prep_cloth)
    app.command("eval-prep")(eval_prep)


def _report(console, results, kind: str) -> None:
    """Per-file lines for errors and warnings, a summary, and the exit code."""
    from vtonkit.datasets.layout import display_name

    failed = [r for r in results if not r.ok]
    skipped = [r for r in results if r.duplicate_of is not None]
    warned = [r for r in results if r.ok and r.warnings]
    for result in warned:
        for note in result.warnings:
            console.print(f"[yellow]warning[/yellow] {escape(display_name(f'{result.path}: {note}'))}", soft_wrap=True)
    for result in skipped:
        same = display_name(f"{result.path}: same bytes as {result.duplicate_of}")  # as the errors name files
        console.print(f"skipped {escape(same)}", soft_wrap=True)
    for result in failed:
        console.print(f"[red]error[/red] {escape(result.error)}", soft_wrap=True)
    written = len(results) - len(failed) - len(skipped)
    console.print(f"{kind}: {written} written ({len(warned)} with warnings), {len(failed)} failed"
                  + (f", {len(skipped)} skipped" if skipped else ""))
    raise typer.Exit(1 if failed else 0)


def _said(exc: Exception) -> str:
    """An error's message; a KeyError's own str() would wrap it in quotes."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def _native_log_of(split_dir: Path):
    """What MediaPipe/TFLite print while the models load and run goes to `<dataset>/.vtonkit/native.log`
    (the log `prep` uses), not over the progress bar."""
    return native_stderr_to(state_dir(Path(split_dir).absolute().parent) / NATIVE_LOG)


@contextlib.contextmanager
def _writable(console, out: Path):
    """An `OSError` no one input caused (the output folder is read-only, full, or a file is in its
    way; each input's own failures are caught per input) -> a message naming the file, exit code 2."""
    try:
        yield
    except OSError as exc:
        console.print(f"[red]error:[/red] {escape(describe_os_error(exc, out))}")
        raise typer.Exit(2) from exc
    except OutputRefusedError as exc:  # the same, met by the batch after some files were written
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _progress(console, total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                    transient=False, disable=total == 0)


def prep_person(
    # readable=False: Click would refuse the whole command for one unreadable file; it fails on its own.
    images: list[Path] = typer.Argument(..., readable=False, help="Person photos (JPEG, PNG, WebP, HEIC, AVIF, "
                                        "TIFF, ...; EXIF orientation honoured), or folders of them."),
    out: Path = typer.Option(..., "--out", help="Split folder to write into, e.g. data/mine/test (created)."),
    category: str = typer.Option("upper", "--category", help=CATEGORY_HELP),
    keep_framing: bool = typer.Option(False, "--keep-framing", help="Do not crop around the person: only fix "
                                      "orientation and colour mode and resize to 1024x768 (for 3:4 inputs; outputs "
                                      "then align pixel for pixel with the input)."),
    pose: str = typer.Option(None, "--pose", help="Pose backend (default: config, else mediapipe, embedded)."),
    parser: str = typer.Option(None, "--parser", help="Human-parser backend (default: config, else geometric)."),
    densepose: str = typer.Option(None, "--densepose", help="DensePose backend (default: config, else geometric)."),
    config: Path = typer.Option(None, "--config", help="TOML config with \\[backends], \\[options.<backend>] and "
                                "\\[models] tables (default: $VTONKIT_CONFIG or ./vtonkit.toml)."),
) -> None:
    """Preprocess person photos into HR-VITON files under each photo's file stem (made safe for the official
    loaders, as `prep` does: `a b.v2.jpg` -> a_b_v2; `a.jpg` and `a.png` get a hash suffix each, and so
    does a photo whose stem the split already holds from another file; a photo run again keeps its stem:
    the dataset's .vtonkit/manifest.json, in the split's parent folder, records which photo made each).

    Writes image/, openpose_json/, openpose_img/, image-parse-v3/, image-densepose/,
    image-parse-agnostic-v3.2/, agnostic-v3.2/ and agnostic-mask/. A photo with no person or
    several people is reported and skipped; a person cut off at the waist or a tiny person gives a
    warning. Exit code 1 when any photo failed.

    Example: vtonkit prep-person photos/anna.jpg photos/ben.png --out data/mine/test --category upper
    """
    from rich.console import Console

    from vtonkit.core.errors import VtonkitError
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess.config import build_backends
    from vtonkit.preprocess.person import CATEGORIES, PersonBackends
    from vtonkit.preprocess.batch import prep_person_files
    from vtonkit.preprocess.sources import with_folders_listed

    console = Console(stderr=True, soft_wrap=True)
    if category not in CATEGORIES:
        raise typer.BadParameter(f"must be one of {', '.join(CATEGORIES)}", param_hint="--category")
    check_split_folder(out)
    with _writable(console, out), _native_log_of(out):
        try:
            images = with_folders_listed(images)
            built = build_backends({"pose": pose, "parser": parser, "densepose": densepose}, config,
                                   stages=("pose", "parser", "densepose"))
        except (KeyError, ImportError, VtonkitError) as exc:
            console.print(f"[red]error:[/red] {escape(_said(exc))}")
            raise typer.Exit(2) from exc
        backends = PersonBackends(pose=built["pose"], parser=built["parser"], densepose=built["densepose"])
        try:
            with _progress(console, len(images), "prep-person") as bar:
                task = bar.add_task("persons", total=len(images))
                results = prep_person_files(images, SplitDir(out), backends, category=category,
                                            keep_framing=keep_framing, on_result=lambda _r: bar.advance(task))
        except VtonkitError as exc:  # an unreadable manifest (no stem can be settled), or a refused output
            console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from exc
        finally:  # inside the native log: MediaPipe graphs that never ran print as they stop
            backends.close()
    _report(console, results, "prep-person")


def prep_cloth(
    images: list[Path] = typer.Argument(..., readable=False, help="Garment shots (white, grey or transparent "
                                        "background), or folders of them."),
    out: Path = typer.Option(..., "--out", help="Split folder to write into, e.g. data/mine/test (created)."),
    cloth_mask: str = typer.Option(None, "--cloth-mask", help="Cloth-mask backend (default: config, else cv)."),
    config: Path = typer.Option(None, "--config", help="TOML config with \\[backends], \\[options.<backend>] and "
                                "\\[models] tables (default: $VTONKIT_CONFIG or ./vtonkit.toml)."),
) -> None:
    """Normalise garment shots to 1024x768 and write cloth/<stem>.jpg and cloth-mask/<stem>.jpg (stems as
    prep-person gives them; the dataset's .vtonkit/manifest.json records which shot made each).

    Exit code 1 when any shot failed (unreadable, or no garment separable from the background).

    Example: vtonkit prep-cloth shop/shirt-123.png --out data/mine/test
    """
    from rich.console import Console

    from vtonkit.core.errors import VtonkitError
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.preprocess.config import build_backends
    from vtonkit.preprocess.batch import prep_cloth_files
    from vtonkit.preprocess.stages import close_backend
    from vtonkit.preprocess.sources import with_folders_listed

    console = Console(stderr=True, soft_wrap=True)
    check_split_folder(out)
    with _writable(console, out), _native_log_of(out):
        try:
            images = with_folders_listed(images)
            masker = build_backends({"cloth_mask": cloth_mask}, config, stages=("cloth_mask",))["cloth_mask"]
        except (KeyError, ImportError, VtonkitError) as exc:
            console.print(f"[red]error:[/red] {escape(_said(exc))}")
            raise typer.Exit(2) from exc
        try:
            with _progress(console, len(images), "prep-cloth") as bar:
                task = bar.add_task("garments", total=len(images))
                results = prep_cloth_files(images, SplitDir(out), masker, on_result=lambda _r: bar.advance(task))
        except VtonkitError as exc:  # an unreadable manifest (no stem can be settled), or a refused output
            console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from exc
        finally:
            close_backend(masker)
    _report(console, results, "prep-cloth")


def eval_prep(
    data: Path = typer.Option(None, "--data", help="Folder holding vitonhd/ and dresscode/ genuine samples "
                              "(default: ../shared/data next to the checkout, or $VTONKIT_SHARED/data)."),
    json_out: Path = typer.Option(None, "--json", help="Also write the per-sample and mean results as JSON here."),
    pose: str = typer.Option(None, "--pose", help="Pose backend to evaluate (default: mediapipe)."),
    parser: str = typer.Option(None, "--parser", help="Human-parser backend to evaluate (default: geometric)."),
    densepose: str = typer.Option(None, "--densepose", help="DensePose backend to evaluate (default: geometric)."),
    cloth_mask: str = typer.Option(None, "--cloth-mask", help="Cloth-mask backend to evaluate (default: cv)."),
) -> None:
    """Measure the preprocessing backends against genuine VITON-HD and Dress Code annotations.

    Runs the prep-person --keep-framing chain on every genuine person photo and prints pose PCK
    (0.05 x image height, agnostic joints), parse mIoU, DensePose part accuracy inside the person
    and cloth-mask IoU, per sample and as means next to the goals; then a tuning set (VITON-HD
    train + the first Dress Code person per category) beside a disjoint test set (the others),
    per joint and per class. Quote the test set; never tune on it.

    Example: vtonkit eval-prep --json eval-prep.json
    """
    from rich.console import Console

    from vtonkit.preprocess.evaluation import default_data_root, format_table, run_evaluation, write_json

    if json_out is not None:
        from vtonkit.commands.checks import check_output_file

        check_output_file(json_out, "--json", "eval-prep.json")
    root = data or default_data_root()
    if not (root / "vitonhd").is_dir() and not (root / "dresscode").is_dir():
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(root))}: no vitonhd/ or dresscode/ samples there "
                                   "(use --data)")
        raise typer.Exit(2)
    from vtonkit.core.errors import VtonkitError

    native_log = Path(tempfile.gettempdir()) / "vtonkit-native.log"  # no dataset of its own to hold it
    try:
        with native_stderr_to(native_log), _progress(Console(stderr=True), 1, "eval-prep") as bar:
            task = bar.add_task("samples", total=None)
            report = run_evaluation(root, pose=pose, parser=parser, densepose=densepose, cloth_mask=cloth_mask,
                                    on_sample=lambda done, total: bar.update(task, completed=done, total=total))
    except VtonkitError as exc:  # an unknown backend, or one that cannot be built: refused as prep refuses it
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    typer.echo(format_table(report))  # plain echo: rich would read "[...]" notes as markup
    if json_out:
        write_json(json_out, report)
        typer.echo(f"written {json_out}")
    raise typer.Exit(1 if report["failures"] else 0)
