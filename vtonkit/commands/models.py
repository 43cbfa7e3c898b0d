"""`vtonkit models ...`: list, download, verify and locate the real-model weights."""
from __future__ import annotations

from pathlib import Path

import typer

models_app = typer.Typer(
    name="models",
    help=(
        "Real-model weights (SCHP, DWPose, U2-Net, carvekit, DensePose; the FID/LPIPS networks of "
        "`vtonkit evaluate`): list, download (resumable, "
        "checksum-verified) into $VTONKIT_HOME, verify, or point at local files.\n\n"
        "Backends load them through `vtonkit models path NAME`; see docs/real-models.md."
    ),
    no_args_is_help=True,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@models_app.command("list")
def list_command(
    long: bool = typer.Option(False, "--long", "-l", help="Also show URLs, checksum sources, licences and notes."),
) -> None:
    """List the known weights with size, checksum, commercial use and whether they are here.

    Example: vtonkit models list --long
    """
    from rich.console import Console
    from rich.table import Table

    from vtonkit.preprocess import models

    table = Table(title=f"models (cache: {models.home() / 'models'})")
    for column in ("name", "backend", "state", "size", "checksum", "commercial use"):
        table.add_column(column, overflow="fold")
    for spec, state in models.list_models():
        checksum = f"{spec.checksum_algorithm} ({'published' if 'mirror' not in spec.checksum_source else 'mirror'})" \
            if spec.checksum else "unverified"
        size = f"{spec.size / 1e6:.1f} MB" if spec.size else f"~{spec.approx_mb:.0f} MB"
        table.add_row(spec.name, ", ".join(spec.backends), state, size, checksum, spec.commercial)
    console = Console()
    console.print(table)
    if long:
        for spec, _ in models.list_models():
            console.print(f"\n[bold]{spec.name}[/bold] ({spec.filename})", highlight=False)
            for label, value in (("urls", " | ".join(spec.urls) or "none"), ("checksum", spec.checksum or "none"),
                                 ("checksum source", spec.checksum_source), ("licence", spec.licence),
                                 ("notes", spec.notes)):
                console.print(f"  {label}: {value}", markup=False, highlight=False)


@models_app.command("backends")
def backends_command() -> None:
    """List the backends of each preprocessing stage: the names --pose, --parser, --densepose and
    --cloth-mask take (or [backends] in vtonkit.toml), the default of each stage, and the weights
    a backend needs (`vtonkit models list`). A new backend registers in preprocess/stages.py (docs/extending.md).

    Example: vtonkit models backends
    """
    from rich.console import Console
    from rich.table import Table

    from vtonkit.preprocess.model_registry import MODELS
    from vtonkit.preprocess.stages import REGISTRIES

    table = Table(title="preprocessing backends")
    for column in ("stage (option)", "backend", "weights", "what it is"):
        table.add_column(column, overflow="fold")
    for stage, registry in REGISTRIES.items():
        for name in registry.names():
            weights = ", ".join(m for m, spec in MODELS.items() if name in spec.backends) or "bundled / none"
            label = f"{name} (default)" if name == registry.default else name
            table.add_row(f"{stage} (--{stage.replace('_', '-')})", label, weights, registry.describe(name))
    Console().print(table)


@models_app.command("download")
def download_command(
    names: list[str] = typer.Argument(..., help="Model names from `vtonkit models list` (or 'all')."),
    url: str | None = typer.Option(None, help="Download from this URL (a mirror) instead of the registry's."),
    force: bool = typer.Option(False, "--force", help="Download again even when a verified copy is cached."),
    retries: int = typer.Option(3, help="Resume attempts after a cut connection."),
) -> None:
    """Download weights into the cache; resumes interrupted downloads and verifies size/checksum.

    Example: vtonkit models download schp-lip dwpose-det dwpose-pose
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from vtonkit.core.errors import VtonkitError
    from vtonkit.preprocess import models
    from vtonkit.preprocess.model_registry import MODELS

    if names == ["all"]:
        names = [name for name, spec in MODELS.items() if spec.urls]
    failures = 0
    for name in names:
        if name not in MODELS:
            _fail(f"unknown model {name!r}; known: {', '.join(MODELS)}")
        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TransferSpeedColumn()) as progress:
            task = progress.add_task(name, total=MODELS[name].size)

            def update(done: int, total: int | None, task=task) -> None:
                progress.update(task, completed=done, total=total)

            try:
                path = models.download(name, url=url, force=force, retries=retries, progress=update)
            except VtonkitError as exc:
                typer.secho(f"error: {name}: {exc}", fg=typer.colors.RED, err=True)
                failures += 1
                continue
        typer.echo(f"{name}: {path}")
    typer.echo(f"{len(names) - failures} downloaded, {failures} failed")
    if failures:
        raise typer.Exit(1)


@models_app.command("verify")
def verify_command(
    names: list[str] = typer.Argument(None, help="Models to check (default: every model that is present)."),
) -> None:
    """Check size and checksum of the files the backends would load.

    Example: vtonkit models verify schp-lip
    """
    from vtonkit.preprocess import models
    from vtonkit.preprocess.model_registry import MODELS

    if names:
        unknown = [n for n in names if n not in MODELS]
        if unknown:
            _fail(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
        targets = names
    else:
        targets = [spec.name for spec, state in models.list_models() if state != "missing"]
        if not targets:
            typer.echo("no model files present (see `vtonkit models list`)")
            return
    bad = 0
    for name in targets:
        result = models.verify(name)
        colour = {"ok": typer.colors.GREEN, "unverified": typer.colors.YELLOW}.get(result.status, typer.colors.RED)
        typer.secho(f"{name}: {result.status} {result.path or ''} - {result.detail}", fg=colour)
        bad += result.status in ("corrupt", "missing")
    if bad:
        raise typer.Exit(1)


@models_app.command("path")
def path_command(name: str = typer.Argument(..., help="Model name.")) -> None:
    """Print the file a backend would load for NAME (config \\[models], `use`, then the cache).

    Example: vtonkit models path dwpose-pose
    """
    from vtonkit.core.errors import VtonkitError
    from vtonkit.preprocess import models

    try:
        typer.echo(str(models.path(name)))
    except (VtonkitError, KeyError) as exc:
        _fail(str(exc).strip('"'))


@models_app.command("use")
def use_command(
    name: str = typer.Argument(..., help="Model name."),
    file: Path = typer.Option(..., "--file", "-f", help="Local weights file to use for NAME."),
    no_check: bool = typer.Option(False, "--no-check", help="Skip the size/checksum check (a re-export, a fine-tune)."),
) -> None:
    """Use a local file for NAME instead of downloading it (recorded in $VTONKIT_HOME).

    Example: vtonkit models use schp-atr --file ~/weights/parsing_atr.onnx
    """
    from vtonkit.core.errors import VtonkitError
    from vtonkit.preprocess import models

    try:
        path = models.use(name, file, check=not no_check)
    except (VtonkitError, KeyError) as exc:
        _fail(str(exc).strip('"'))
    typer.echo(f"{name} -> {path}")


@models_app.command("forget")
def forget_command(name: str = typer.Argument(..., help="Model name.")) -> None:
    """Stop using the local file recorded for NAME by `vtonkit models use`.

    Example: vtonkit models forget schp-atr
    """
    from vtonkit.preprocess import models

    typer.echo(f"{name}: {'forgotten' if models.forget(name) else 'no local file was recorded'}")


def register(app: typer.Typer) -> None:
    """Add `vtonkit models ...`."""
    app.add_typer(models_app, name="models")
