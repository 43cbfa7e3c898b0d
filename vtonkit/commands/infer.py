"""`vtonkit infer` (try-on of a pair list) and `vtonkit sheet` (catalog preview sheets)."""
from __future__ import annotations

from pathlib import Path

import typer
from vtonkit.core.terminal import escape

METHOD_HELP = ("hrviton: the official HR-VITON networks (needs both checkpoints); warp: a non-learned "
               "BASELINE that needs none. Default: hrviton when both checkpoints are given, else warp.")


def _choose_method(method: str | None, tocg: Path | None, gen: Path | None) -> str:
    """The method to run, checked against the checkpoints given (before any output folder is read:
    a missing checkpoint was reported as "this output folder holds a run with other settings")."""
    from vtonkit.core.progress import console

    if method not in (None, "hrviton", "warp"):
        raise typer.BadParameter("must be hrviton or warp", param_hint="--method")
    given = {name: path for name, path in (("--tocg-checkpoint", tocg), ("--gen-checkpoint", gen)) if path}
    if method == "warp" and given:
        raise typer.BadParameter(f"the warp baseline takes no checkpoint; drop {' and '.join(given)} "
                                 "(or use --method hrviton)", param_hint="--method")
    if len(given) == 1:  # a lone checkpoint was dropped without a word, and the warp baseline ran
        (name,) = given
        missing = "--gen-checkpoint" if name == "--tocg-checkpoint" else "--tocg-checkpoint"
        raise typer.BadParameter(f"HR-VITON needs both checkpoints: {name} is given, {missing} is not",
                                 param_hint=missing)
    for name, path in given.items():
        if not Path(path).is_file():
            raise typer.BadParameter(f"{path}: checkpoint not found", param_hint=name)
    if method is None:
        method = "hrviton" if given else "warp"
        if method == "warp":
            console.print("[yellow]no checkpoints given: using the non-learned warp BASELINE "
                          "(--method warp); pass --tocg-checkpoint and --gen-checkpoint for HR-VITON[/]")
    elif method == "hrviton" and not given:
        raise typer.BadParameter("HR-VITON needs --tocg-checkpoint and --gen-checkpoint (or --method warp, the "
                                 "non-learned baseline, without them)", param_hint="--method")
    return method


def _warn_about_checkpoints(category: str, tocg: Path | None, gen: Path | None) -> None:
    """Say what may make the checkpoints draw nonsense but cannot be refused for sure: a generator behind
    another condition generator than the one it trained behind (a deliberate experiment, or a
    mistake), or a checkpoint whose category cannot be told on a lower/dresses dataset."""
    from vtonkit.core.progress import console
    from vtonkit.vton_infer.train.run_files import category_unknown, tocg_mismatch

    notes = [f"note: {note}" for note in category_unknown((tocg, gen), category)]
    if (mismatch := tocg_mismatch(tocg, gen)) is not None:
        notes.insert(0, f"warning: {mismatch}")
    for note in notes:
        console.print(f"[yellow]{escape(note)}[/]")


def _setup_torch(threads: int | None) -> int:
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def infer(
    dataset: Path = typer.Argument(..., help="Dataset root holding <split>/ and <split>_pairs.txt (HR-VITON layout)."),
    split: str = typer.Option("test", "--split", help="Split folder to read persons and garments from."),
    pairs: str = typer.Option(None, "--pairs", help="Pair list (path, or file name inside DATASET). Default: <split>_pairs.txt."),
    tocg_checkpoint: Path = typer.Option(None, "--tocg-checkpoint", help="HR-VITON try-on condition generator (mtviton.pth)."),
    gen_checkpoint: Path = typer.Option(None, "--gen-checkpoint", help="HR-VITON image generator (gen.pth)."),
    out: Path = typer.Option(..., "--out", help="Output folder for <person>_<cloth>.png (and grid/ with --grids)."),
    method: str = typer.Option(None, "--method", help=METHOD_HELP),
    device: str = typer.Option("cpu", "--device", help="torch device: cpu, cuda, cuda:1, mps, ... (on CUDA the inputs go through pinned memory)."),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Pairs per forward pass (outputs equal for any size up to float rounding: 1 of 255 on a few pixels; docs/inference.md)."),
    no_occlusion: bool = typer.Option(False, "--no-occlusion", help="Skip HR-VITON's occlusion handling (the official default is off; its README command turns it on, as we do)."),
    grids: bool = typer.Option(False, "--grids", help="Also write a captioned per-pair grid (inputs, warped garment, layout, result) to OUT/grid/."),
    category: str = typer.Option(None, "--category", help="Garment category: upper, lower or dresses (default: the one the dataset's manifest records, else upper; a different one is refused). HR-VITON needs checkpoints trained for it (the published ones are upper only; `vtonkit train --category` makes lower/dresses ones)."),
    agnostic_from_file: bool = typer.Option(False, "--agnostic-from-file", help="Read agnostic-v3.2/ instead of recomputing the agnostic like the official loader."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generator's noise, per pair (outputs do not depend on batching)."),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's choice)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (official numbers), bf16 or fp16 (generator under autocast: bf16 for GPUs and CPUs with AMX, fp16 for GPUs; not the official numbers, their deviation from fp32 is measured on the first batch and printed)."),
    channels_last: bool = typer.Option(False, "--channels-last", help="Networks and tensors in channels-last memory format (faster on GPU tensor cores, with --precision fp16/bf16; slower on CPUs). Same numbers up to float32 rounding."),
    save_tensors: bool = typer.Option(False, "--save-tensors", help="Also save each pair's intermediate tensors (flows, layout, warped garment, float output) to OUT/tensors/<name>.pt, to compare with the official code."),
    evaluate: bool = typer.Option(False, "--evaluate", help="Then score the outputs against the person photos (paired test list) with `vtonkit evaluate`'s --eval-protocol; report in OUT/evaluation.json (+ .html)."),
    eval_protocol: str = typer.Option("hrviton", "--eval-protocol", help="Protocol for --evaluate (see `vtonkit evaluate --help`)."),
    resume: bool = typer.Option(True, "--resume/--fresh", help="--resume (default): skip the pairs OUT/infer-log*.jsonl has as done whose files exist, so a rerun continues where a run stopped (refused if OUT was made with other settings). --fresh: forget the log and compute every pair again."),
    shard: str = typer.Option(None, "--shard", help="INDEX/COUNT, e.g. 0/4: compute only this part of the list (a fixed hash of the output name; shards 0..COUNT-1 are disjoint and cover the list). Start one per machine on the same OUT."),
    engine: str = typer.Option("local", "--engine", help="local (this process) or ray (--workers Ray tasks, each with its own shard; pip install ray)."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --engine ray: how many Ray tasks (1 CPU each, 1 GPU each with --device cuda)."),
    ray_address: str = typer.Option(None, "--ray-address", help="With --engine ray: join this cluster (ray://head:10001 or auto) instead of starting a local Ray instance."),
    read_workers: int = typer.Option(2, "--read-workers", min=0, help="Threads reading and decoding the next pairs while the current batch computes (0: read one pair after the other)."),
    prefetch: int = typer.Option(4, "--prefetch", min=1, help="Pairs read ahead at most, at least one batch (memory: about 15 MB a pair at 1024x768)."),
) -> None:
    """Virtual try-on of every pair of a pair list, in order, to real PNG files.

    Reads the person files (image, image-parse-v3, image-parse-agnostic-v3.2, image-densepose,
    openpose_json) and the garment files (cloth, cloth-mask) like HR-VITON's test loader and runs
    the official inference path (numerically identical to test_generator.py). A pair with bad files
    is reported and skipped; the exit code is 1 if any pair failed.

    Catalog scale: reading, computing and writing overlap (reader threads, a writer thread); every
    finished pair is appended to OUT/infer-log.jsonl, so after a crash or a kill the same command
    resumes; --shard i/n or --engine ray spread the list over processes or machines, each pair
    computed once (docs/inference.md, "Catalog scale").

    HR-VITON weights are for non-commercial use only (see docs/inference.md for how to get them).

    Example: vtonkit infer data/zalando-hd-resized --split test --pairs test_pairs.txt
    --tocg-checkpoint mtviton.pth --gen-checkpoint gen.pth --out previews --grids

    Example (machine 2 of 3, same shared OUT): vtonkit infer data/catalog --method warp --out previews --shard 1/3
    """
    from vtonkit.core.errors import VtonkitError
    from vtonkit.core.progress import console, make_progress
    from vtonkit.datasets.layout import DatasetLayout
    from vtonkit.vton_infer.runner import METHOD_LABELS, InferOptions, LoopOptions, resolve_pairs, run_pairs
    from vtonkit.vton_infer.shards import Shard

    from vtonkit.commands.checks import (check_category, check_checkpoint_category, check_choice, check_device,
                                         check_out_beside_dataset, check_out_holds_no_other_run, check_output_folder)
    from vtonkit.vton_infer.evaluation.protocols import PROTOCOLS

    method = _choose_method(method, tocg_checkpoint, gen_checkpoint)
    check_device(device)
    category = check_category(dataset, split, category)
    check_checkpoint_category(category, tocg_checkpoint, gen_checkpoint)
    _warn_about_checkpoints(category, tocg_checkpoint, gen_checkpoint)
    if evaluate:  # checked now, not after every pair is computed
        check_choice(eval_protocol, PROTOCOLS, "--eval-protocol")
    check_out_beside_dataset(out, dataset)
    check_out_holds_no_other_run(out, "infer")
    check_output_folder(out)
    # a file where a subfolder goes failed every pair after computing it
    for wanted, folder in ((grids, "grid"), (save_tensors, "tensors")):
        if wanted:
            check_output_folder(out / folder, "--out")
    if engine not in ("local", "ray"):
        raise typer.BadParameter("must be local or ray", param_hint="--engine")
    if engine == "local" and workers > 1:
        raise typer.BadParameter("several workers need --engine ray (or one --shard i/n per process)",
                                 param_hint="--workers")
    try:
        part = Shard.parse(shard) if shard else Shard()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shard") from None
    num_threads = _setup_torch(threads)
    try:
        pair_list = resolve_pairs(dataset, split, pairs)
        split_dir = DatasetLayout(dataset).split(split).root
        options = InferOptions(
            method=method, tocg_checkpoint=tocg_checkpoint, gen_checkpoint=gen_checkpoint, device=device,
            batch_size=batch_size, occlusion=not no_occlusion, grids=grids, category=category,
            agnostic_source="file" if agnostic_from_file else "compute", seed=seed, save_tensors=save_tensors,
            precision=precision, channels_last=channels_last,
        )
        loop = LoopOptions(read_workers=read_workers, prefetch=prefetch, resume=resume, shard=part)
        with make_progress() as progress:
            where = f" shard {part}" if not part.whole else (f" on {workers} Ray workers" if engine == "ray" else "")
            task = progress.add_task(f"try-on ({method}){where}", total=None)

            def advance(n: int) -> None:
                progress.advance(task, n)

            if engine == "ray":
                from vtonkit.vton_infer.ray_runner import run_pairs_ray
                from vtonkit.vton_infer.runner import unique_pairs

                progress.update(task, total=len(unique_pairs(pair_list)[0]))
                summary = run_pairs_ray(split_dir, pair_list, out, options, advance, loop, workers=workers,
                                        address=ray_address)
            else:
                summary = run_pairs(split_dir, pair_list, out, options, advance, loop,
                                    on_start=lambda total: progress.update(task, total=total))
    except (VtonkitError, ValueError, ImportError) as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:  # each written pair is logged once it is on disk: nothing half-done to clean
        console.print(f"interrupted: the pairs written so far are in {escape(str(out))} and its run log; the same "
                      "command continues with the others (--resume is the default)")
        raise typer.Exit(130) from None
    for person, cloth, reason in summary.failed:
        console.print(f"[red]failed[/] {escape(f'{person} {cloth}: {reason}')}")
    # a rate only of pairs computed: a resumed run that wrote none said "(1.35 s/pair)" for its start-up
    per_pair = f"{summary.seconds / len(summary.written):.2f} s/pair, " if summary.written else ""
    # Ray: the wall time holds the cluster's start-up, and each worker is one task of its own threads
    compute = f"{num_threads} torch threads" if engine != "ray" else f"{workers} Ray workers, start-up included"
    resumed = f", {len(summary.skipped)} already done (resumed)" if summary.skipped else ""
    repeated = f", {summary.duplicates} repeated pair-list lines computed once" if summary.duplicates else ""
    console.print(
        f"{len(summary.written)}/{summary.pairs} pairs written to {escape(str(out))}{resumed}{repeated} with "
        f"{METHOD_LABELS[method]} in {summary.seconds:.1f} s ({per_pair}{compute}, "
        f"{device}); run log: {escape(str(out))}/infer-log*.jsonl"
    )
    if summary.deviation:
        d = summary.deviation
        console.print(f"[yellow]{precision}: outputs deviate from float32 by max {d['max']:.4f} (about {d['uint8_max']} "
                      f"grey levels), mean {d['mean']:.5f}, measured on the first batch[/]")
    if method == "warp":
        console.print("[yellow]note: these are BASELINE previews from a non-learned warp, not try-on model outputs[/]")
    if evaluate:
        from vtonkit.commands.evaluate import exit_when_nothing_scored, run_evaluation
        from vtonkit.datasets.pairs import pairs_path

        try:
            scores = run_evaluation(out, dataset, eval_protocol, out / "evaluation.json", split=split,
                                    pairs_file=pairs_path(dataset, split, pairs), category=category, device=device)
        except (VtonkitError, ValueError, KeyError) as exc:
            console.print(f"[red]evaluation failed:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        exit_when_nothing_scored(scores, console)
    if summary.failed:
        raise typer.Exit(1)


def sheet(
    dataset: Path = typer.Argument(..., help="Dataset root holding <split>/ (HR-VITON layout)."),
    split: str = typer.Option("test", "--split", help="Split folder to read from."),
    garment: str = typer.Option(None, "--garment", help="One garment (cloth stem) to show on several persons."),
    persons: str = typer.Option(None, "--persons", help="Comma-separated person stems for --garment (default: the first --limit persons)."),
    person: str = typer.Option(None, "--person", help="One person (stem) to show in several garments."),
    garments: str = typer.Option(None, "--garments", help="Comma-separated cloth stems for --person (default: the first --limit garments)."),
    limit: int = typer.Option(8, "--limit", min=1, help="How many persons/garments when not listed."),
    out: Path = typer.Option(..., "--out", help="Output folder: sheet PNG + HTML and the try-on images."),
    name: str = typer.Option(None, "--name", help="File name of the sheet (default: garment_<id> or person_<id>)."),
    tocg_checkpoint: Path = typer.Option(None, "--tocg-checkpoint", help="HR-VITON try-on condition generator (mtviton.pth)."),
    gen_checkpoint: Path = typer.Option(None, "--gen-checkpoint", help="HR-VITON image generator (gen.pth)."),
    method: str = typer.Option(None, "--method", help=METHOD_HELP),
    category: str = typer.Option(None, "--category", help="upper, lower or dresses (default: the one the dataset's manifest records, else upper; HR-VITON: checkpoints trained for that category, see vtonkit train)."),
    device: str = typer.Option("cpu", "--device", help="torch device."),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
) -> None:
    """Catalog preview sheet (PNG + self-contained HTML): one garment across persons, or one person across garments.

    Example: vtonkit sheet data/zalando-hd-resized --garment 00008_00 --persons 00006_00,00013_00 --out sheets
    Example: vtonkit sheet data/zalando-hd-resized --person 00006_00 --limit 6 --method warp --out sheets
    """
    from vtonkit.core.errors import VtonkitError
    from vtonkit.core.progress import console, make_progress
    from vtonkit.datasets.layout import DatasetLayout
    from vtonkit.vton_infer.runner import METHOD_LABELS, InferOptions, LoopOptions, run_pairs
    from vtonkit.vton_infer.data import output_stem
    from vtonkit.vton_infer.sheets import (SheetWeights, other_tiles_problem, other_weights_problem, sample_stem,
                                           sheet_file_name, sheet_name_problem, sheet_pairs, write_tryon_sheet)

    from vtonkit.commands.checks import (check_category, check_checkpoint_category, check_device,
                                         check_out_beside_dataset, check_output_folder)

    method = _choose_method(method, tocg_checkpoint, gen_checkpoint)
    check_device(device)
    category = check_category(dataset, split, category)
    check_checkpoint_category(category, tocg_checkpoint, gen_checkpoint)
    _warn_about_checkpoints(category, tocg_checkpoint, gen_checkpoint)
    check_out_beside_dataset(out, dataset)
    check_output_folder(out)
    if name is not None and (problem := sheet_name_problem(name)):
        raise typer.BadParameter(problem, param_hint="--name")
    from vtonkit.vton_infer.run_log import holds_run

    if holds_run(out):
        raise typer.BadParameter(f"{out} holds a `vtonkit infer` run; a sheet would overwrite its outputs with "
                                 "its own: give the sheet a folder of its own", param_hint="--out")
    _setup_torch(threads)
    try:
        split_dir = DatasetLayout(dataset).split(split)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--split") from None

    garment, person = sample_stem(garment), sample_stem(person)  # "00008_00.jpg" names the sample too
    # checked before any try-on is computed: a sheet of other checkpoints was replaced without a word
    weights = SheetWeights.of({"--tocg-checkpoint": tocg_checkpoint, "--gen-checkpoint": gen_checkpoint})
    if (problem := other_weights_problem(out, sheet_file_name(garment, person, name), weights)) is not None:
        raise typer.BadParameter(problem, param_hint="--out")

    def split_list(text: str | None) -> list[str] | None:
        return [sample_stem(s.strip()) for s in text.split(",") if s.strip()] if text else None

    try:
        pair_list = sheet_pairs(split_dir, garment=garment, persons=split_list(persons), person=person,
                                garments=split_list(garments), limit=limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--garment/--person") from None
    except VtonkitError as exc:  # an unreadable dataset manifest
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if not pair_list:
        console.print(f"[red]error:[/] nothing to show: no persons/garments found in {escape(str(split_dir.root))}")
        raise typer.Exit(2)
    # a sheet folder shares its try-on files: another sheet's tile was replaced by this method's image
    stems = [output_stem(p, c) for p, c in pair_list]
    if (problem := other_tiles_problem(out, stems, METHOD_LABELS[method], weights)) is not None:
        raise typer.BadParameter(problem, param_hint="--out")
    options = InferOptions(method=method, tocg_checkpoint=tocg_checkpoint, gen_checkpoint=gen_checkpoint,
                           device=device, category=category)
    try:
        with make_progress() as progress:
            task = progress.add_task(f"sheet ({method})", total=len(pair_list))
            # a sheet folder collects sheets made with any settings: no run log, every pair computed
            summary = run_pairs(split_dir.root, pair_list, out, options, lambda n: progress.advance(task, n),
                                LoopOptions(run_log=False))
        for p, c, reason in summary.failed:
            console.print(f"[red]failed[/] {escape(f'{p} {c}: {reason}')}")
        if not summary.outputs:  # a sheet of nothing would look like a result
            console.print("[red]error:[/] every try-on failed: no sheet written")
            raise typer.Exit(1)
        png_path, html_path = write_tryon_sheet(split_dir, summary.outputs, out, METHOD_LABELS[method],
                                                baseline=method == "warp", garment=garment, person=person,
                                                name=name, left_out=[p if garment else c for p, c, _ in summary.failed],
                                                weights=weights)
    except VtonkitError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    console.print(f"sheet written: {png_path} and {html_path} ({len(summary.outputs)} try-ons, {METHOD_LABELS[method]})",
                  markup=False)
    if summary.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `infer` and `sheet` to the root app."""
    app.command("infer")(infer)
    app.command("sheet")(sheet)
