"""`vtonkit evaluate`: score try-on outputs against ground truth under a named protocol."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from vtonkit.core.terminal import escape

PROTOCOL_HELP = ("hrviton (HR-VITON's evaluate.py: greyscale SSIM, LPIPS alex at 128x128, 1024x768), cleanfid-512 "
                 "(clean-fid FID/KID, 512x384), torchmetrics-1024 (torchmetrics conventions, 1024x768). "
                 "See docs/evaluation.md.")
SKIPPED_SHOWN = 10  # skipped items named on the terminal per kind; the report names every one


def print_summary(result, json_path: Path | None, html_path: Path | None) -> None:
    """Headline numbers with their protocol and counts, skipped items, metrics left out."""
    from vtonkit.core.progress import console

    p = result.protocol
    console.print(f"protocol [bold]{p.name}[/] ({p.resolution[1]}x{p.resolution[0]}): "
                  f"{result.counts['paired_scored']} paired predictions scored, "
                  f"{result.counts['generated_for_fid']} generated and {result.counts['real_for_fid']} real images "
                  "for FID/KID", highlight=False)
    for name, value in result.means.items():
        console.print(f"  {name:12s} {value:.4f}", highlight=False)
    for name, value in result.official_averages.items():
        console.print(f"  {name:12s} {value:.4f}  (divided by the {result.counts['real_images']} ground-truth "
                      "images, as HR-VITON's evaluate.py does)", highlight=False)
    if result.fid is not None:
        console.print(f"  {'fid':12s} {result.fid:.3f}", highlight=False)
    if result.kid is not None:
        console.print(f"  {'kid':12s} {result.kid.mean:.3f} +- {result.kid.std:.3f} (x{p.kid_scale:g}, "
                      f"{result.kid.subsets} subsets of {result.kid.subset_size})", highlight=False)
    for metric, reason in result.not_computed.items():
        if reason != "not requested":
            console.print(f"[yellow]{metric} not computed:[/] {escape(str(reason))}", highlight=False)
    shown = Counter()
    for item in result.skipped:  # a catalog's unpaired run skips every pair from the paired metrics
        shown[item.metrics] += 1
        if shown[item.metrics] > SKIPPED_SHOWN:
            continue
        colour = "red" if item.metrics == "all" else "yellow"
        console.print(f"[{colour}]skipped ({escape(str(item.metrics))})[/] {escape(f'{item.name}: {item.reason}')}", highlight=False)
    for metrics, count in shown.items():
        if count > SKIPPED_SHOWN:
            console.print(f"... {count - SKIPPED_SHOWN} more skipped ({metrics})"
                          + (f", every one named in {json_path}" if json_path else ""), highlight=False)
    if json_path:
        console.print(f"report: {json_path} and {html_path}", highlight=False)


def run_evaluation(pred_dir: Path, dataset: Path, protocol_name: str, out: Path | None, **options):
    """Evaluate with a progress bar and write the report; `options` go to `vtonkit.vton_infer.evaluation.runner.evaluate`."""
    from vtonkit.core.progress import make_progress
    from vtonkit.vton_infer.evaluation.protocols import get_protocol
    from vtonkit.vton_infer.evaluation.report import write_report
    from vtonkit.vton_infer.evaluation.runner import evaluate

    protocol = get_protocol(protocol_name)
    with make_progress() as progress:
        task = progress.add_task(f"evaluate ({protocol.name})", total=None)
        result = evaluate(pred_dir, dataset, protocol,
                          progress=lambda done, total: progress.update(task, completed=done, total=total), **options)
    paths = write_report(result, out) if out else (None, None)
    print_summary(result, *paths)
    return result


def evaluate(
    pred: Path = typer.Option(..., "--pred", exists=True, file_okay=False, help="Folder of try-on outputs <person>_<cloth>.png (what `vtonkit infer` writes)."),
    real: Path = typer.Option(..., "--real", exists=True, file_okay=False, help="Dataset root (HR-VITON layout) holding the ground truth <split>/image/."),
    split: str = typer.Option("test", "--split", help="Split folder of the ground truth."),
    pairs: Path = typer.Option(None, "--pairs", help="Pair list (path, or file name inside --real, as infer and train read it): score exactly these pairs (a missing output is reported). Default: every image in --pred."),
    protocol: str = typer.Option("hrviton", "--protocol", help=PROTOCOL_HELP),
    out: Path = typer.Option(None, "--out", help="JSON report to write (and the HTML page next to it, same name .html)."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated subset of ssim,psnr,lpips,fid,kid. Default: all whose weights are present (the others are listed as not computed)."),
    inception_weights: Path = typer.Option(None, "--inception-weights", help="pt_inception-2015-12-05-6726825d.pth (default: `vtonkit models path fid-inception`)."),
    lpips_weights: Path = typer.Option(None, "--lpips-weights", help="LPIPS v0.1 linear layers alex.pth / vgg.pth (default: `vtonkit models path lpips-alex|lpips-vgg`)."),
    lpips_backbone_weights: Path = typer.Option(None, "--lpips-backbone-weights", help="torchvision alexnet-owt-7be5be79.pth / vgg16-397923af.pth (default: `vtonkit models path torchvision-alexnet|torchvision-vgg16`)."),
    category: str = typer.Option(None, "--category", help="Garment region for the masked metrics: upper, lower or dresses (default: the one the --real dataset's manifest records, else upper)."),
    no_masked: bool = typer.Option(False, "--no-masked", help="Skip SSIM/PSNR inside the garment region of the ground-truth parse."),
    compare_to_person: bool = typer.Option(False, "--compare-to-person", help="Score every output against its person's photo even when the garment is another one (HR-VITON evaluate.py's pairing)."),
    resize_pred: bool = typer.Option(False, "--resize-pred", help="Resize outputs of another size to the protocol's resolution (recorded in the report) instead of skipping them."),
    kid_subset_size: int = typer.Option(None, "--kid-subset-size", min=2, help="KID subset size (default: the protocol's, 1000)."),
    kid_subsets: int = typer.Option(None, "--kid-subsets", min=1, help="Number of KID subsets (default: the protocol's, 100)."),
    seed: int = typer.Option(0, "--seed", help="Seed of KID's subset draws."),
    device: str = typer.Option("cpu", "--device", help="torch device for the feature networks."),
) -> None:
    """Score try-on outputs: SSIM, PSNR, LPIPS (paired, against the person photos) and FID, KID (unpaired).

    Every number is tied to a named protocol (resolution, resize filter, colour handling, library
    convention, LPIPS backbone; docs/evaluation.md), and the report records the protocol, library
    versions, the weight files (sha256), exact image counts and every skipped item with its reason.
    SSIM and PSNR need no weights; LPIPS, FID and KID load local files (`vtonkit models list`).
    Exit code 1 when no metric could be computed (the report is still written), 2 on bad input.

    VITON-HD is licensed for non-commercial research (CC BY-NC 4.0).

    Example: vtonkit evaluate --pred previews --real data/zalando-hd-resized --split test --protocol hrviton --out eval.json
    """
    from vtonkit.commands.checks import (
        check_category,
        check_choice,
        check_dataset_root,
        check_device,
        check_output_file,
    )
    from vtonkit.core.errors import VtonkitError
    from vtonkit.core.progress import console
    from vtonkit.vton_infer.evaluation.protocols import PROTOCOLS
    from vtonkit.vton_infer.evaluation.runner import METRICS, FeatureWeights

    check_choice(protocol, PROTOCOLS, "--protocol")
    check_dataset_root(real, split, "--real")
    category = check_category(real, split, category, dataset_option="--real")
    check_device(device)
    if out is not None:
        from vtonkit.vton_infer.evaluation.report import report_paths

        try:
            report_paths(out)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--out") from None
        check_output_file(out)
    chosen = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    for metric in chosen or ():
        check_choice(metric, METRICS, "--metrics")
    try:
        result = run_evaluation(
            pred, real, protocol, out, split=split, pairs_file=pairs,
            weights=FeatureWeights(inception_weights, lpips_backbone_weights, lpips_weights),
            metrics=chosen,
            masked=not no_masked, category=category, compare_to_person=compare_to_person, resize_pred=resize_pred,
            kid_subset_size=kid_subset_size, kid_subsets=kid_subsets, seed=seed, device=device,
        )
    except (VtonkitError, ValueError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    exit_when_nothing_scored(result, console)


def exit_when_nothing_scored(result, console) -> None:
    """Exit 1 when the report holds no metric at all: a script must not read it as a score."""
    if not result.means and result.fid is None and result.kid is None:
        console.print(f"[red]error:[/] no metric was computed: {escape(_why_nothing_scored(result))}", highlight=False)
        raise typer.Exit(1)


def _why_nothing_scored(result) -> str:
    """Why no metric came out, in words: every output of another size than the protocol's is not "no
    ground truth" (it is there; the outputs were never read)."""
    counts, protocol = result.counts, result.protocol
    height, width = protocol.resolution
    other_size, predictions = counts.get("skipped_for_size", 0), counts.get("predictions", 0)
    resize = ("resize them, or pass --resize-pred to `vtonkit evaluate` (the report records it), or use a "
              "protocol of their size")
    if predictions and other_size == predictions:
        return (f"every output ({predictions}) was left out for its size: protocol {protocol.name} evaluates at "
                f"{width}x{height} (WxH), and the ground truth is there; {resize}")
    some = (f"; {other_size} of the {predictions} outputs were left out for their size (protocol {protocol.name} "
            f"evaluates at {width}x{height}): {resize}") if other_size else ""
    return ("no output had a ground truth for the paired metrics and FID/KID were not computed (see above); paired "
            f"outputs need the person's own garment, FID/KID their weights (`vtonkit models list`){some}")


def register(app: typer.Typer) -> None:
    """Add `evaluate` to the root app."""
    app.command("evaluate")(evaluate)
