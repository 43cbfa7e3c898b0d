"""`vtonkit train`: train or fine-tune one HR-VITON stage on a dataset (any garment category)."""
from __future__ import annotations

import os
from pathlib import Path

import typer
from vtonkit.core.terminal import escape

ADVANCED = "Advanced: not the published architecture"


def train(
    dataset: Path = typer.Argument(..., help="Dataset root holding <split>/ and <split>_pairs.txt (HR-VITON layout, e.g. from vtonkit prep)."),
    stage: str = typer.Option(..., "--stage", help="condition: the try-on condition generator at 256x192 (stage 1, makes mtviton.pth); generator: the SPADE image generator at 512x384 behind a frozen condition generator (stage 2, makes gen.pth)."),
    out: Path = typer.Option(..., "--out", help="Run folder: losses.jsonl, mtviton.pth / gen.pth, checkpoints/, resume.pt, samples/, losses.png."),
    category: str = typer.Option(None, "--category", help="upper, lower or dresses: which parse labels are the garment (docs/training.md). Default: the category vtonkit prep recorded, else upper."),
    split: str = typer.Option("train", "--split", help="Split folder to train on."),
    pairs: Path = typer.Option(None, "--pairs", help="Pair list (default <split>_pairs.txt); training is paired: each listed person wears its own garment."),
    vgg_weights: Path = typer.Option(None, "--vgg-weights", help="torchvision's VGG19 weights (vgg19-dcbb9e9d.pth) for the perceptual loss. Required."),
    init_tocg: Path = typer.Option(None, "--init-tocg", help="Start the condition generator from this file (the published mtviton.pth to fine-tune)."),
    init_gen: Path = typer.Option(None, "--init-gen", help="Start the image generator from this file (the published gen.pth to fine-tune)."),
    init_disc: Path = typer.Option(None, "--init-disc", help="Start the stage's discriminator from a state dict, or from the resume.pt of an earlier run of this stage (the official code publishes none)."),
    tocg_checkpoint: Path = typer.Option(None, "--tocg-checkpoint", help="Stage generator: the frozen condition generator in front (mtviton.pth)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Global batch (split over torchrun processes). Official: 8 (stage 1), 4 (stage 2)."),
    steps: int = typer.Option(1000, "--steps", min=1, help="Stop after this many steps (the official scripts' defaults: condition 300000; generator 100000 at the full rate + 100000 decaying). The generator's learning rate stays for the first half of --steps and decays linearly to 0 over the second."),
    lr: float = typer.Option(None, "--lr", help="Generator learning rate (the discriminator's keeps the official ratio). Default: official (2e-4; 1e-4 for stage 2)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint (same step count; the log is cut back to it)."),
    seed: int = typer.Option(0, "--seed", help="Seed of initialisation, data order, dropout and noise."),
    no_shuffle: bool = typer.Option(False, "--no-shuffle", help="Read batches in pair-list order (the official loader always shuffles)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda (under torchrun each process takes cuda:<local rank>)."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (official numbers), bf16 (autocast, CPU or GPU) or fp16 (autocast + gradient scaling, GPU only)."),
    recipe: str = typer.Option("default", "--recipe", help="default: the official scripts' argparse defaults; readme: the flags of the HR-VITON README commands (stage 1: --Ddownx2 --Ddropout --lasttvonly --interflowloss --occlusion; stage 2: --occlusion), which trained the published weights."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1, help="Write checkpoints and the resume file every N steps (and at the end)."),
    sample_every: int = typer.Option(500, "--sample-every", min=1, help="Write a sample grid and the loss plot every N steps."),
    workers: int = typer.Option(0, "--workers", min=0, help="Data-loading processes per training process."),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
    width: int = typer.Option(None, "--width", rich_help_panel=ADVANCED, help="Base width (ngf) of the trained network instead of the official 96 / 64: narrower trains faster on CPU. `vtonkit infer` reads the width from the file; the official code cannot load it."),
    disc_width: int = typer.Option(None, "--disc-width", rich_help_panel=ADVANCED, help="Base width of the discriminator (official 64)."),
    vgg_width: int = typer.Option(None, "--vgg-width", hidden=True, help="Tests only: divide VGG19's widths by this and use random frozen weights instead of --vgg-weights (the loss is then NOT the perceptual loss; tests only)."),
) -> None:
    """Train or fine-tune one HR-VITON stage on a dataset, on CPU or GPU(s).

    Stage 1 (condition) learns the garment warp and the layout; stage 2 (generator) learns the
    image synthesis behind the frozen stage-1 network. The run folder gets a per-step JSONL log,
    checkpoints in the published format (loadable by `vtonkit infer` and by the official test
    script), a resume file, sample grids and a loss plot. Several GPUs or processes:
    `torchrun --nproc-per-node N -m vtonkit train ...`. Fine-tuning the published weights inherits
    their non-commercial licence. Details: docs/training.md.

    Example: vtonkit train data/lower --stage condition --category lower --init-tocg mtviton.pth
    --vgg-weights vgg19-dcbb9e9d.pth --out runs/lower-tocg

    Example: vtonkit train data/lower --stage generator --category lower --tocg-checkpoint
    runs/lower-tocg/mtviton.pth --init-gen gen.pth --vgg-weights vgg19-dcbb9e9d.pth --out runs/lower-gen
    """
    import torch
    from vtonkit.datasets.layout import SPLITS

    from vtonkit.commands.checks import (check_choice, check_dataset_root, check_device, check_out_beside_dataset,
                                         check_out_holds_no_other_run, check_output_folder, check_split_exists)
    from vtonkit.core.errors import VtonkitError
    from vtonkit.core.progress import console, fitted_description, make_progress
    from vtonkit.vton_infer.train.runner import TrainOptions, check_option_values, check_options
    from vtonkit.vton_infer.train.runner import train as run_training

    # usage errors before any model is built (not a traceback from the first .to(device) or mkdir)
    check_choice(split, SPLITS, "--split")
    check_dataset_root(dataset, split)  # DATASET/test: "DATASET/test/train: no such split folder" named no fix
    check_device(device)
    check_out_beside_dataset(out, dataset)
    if threads:
        torch.set_num_threads(threads)
    options = TrainOptions(
        dataset=dataset, out=out, stage=stage, category=category, split=split, pairs=pairs,
        vgg_weights=vgg_weights, init_tocg=init_tocg, init_gen=init_gen, init_disc=init_disc,
        tocg_checkpoint=tocg_checkpoint, batch_size=batch_size, steps=steps, lr=lr, resume=resume, seed=seed,
        shuffle=not no_shuffle, device=device, precision=precision, recipe=recipe, checkpoint_every=checkpoint_every,
        sample_every=sample_every, workers=workers, width=width, disc_width=disc_width, vgg_width=vgg_width,
    )
    made_out = not out.exists()
    try:
        check_option_values(options)  # an official stage name (tocg, gen) says the vtonkit one
        # then the split: a dataset without it got the category note, then a --vgg-weights error, then this
        check_split_exists(dataset, split)
        check_options(options)  # before the progress bar: a usage error is no training run
        check_out_holds_no_other_run(out, "train")
        check_output_folder(out)  # after the options: a refused option leaves no folder behind
        if category is None and not resume:  # only for a run that trains: a refused one has no use for it
            _note_assumed_category(dataset, split)
        if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 shows the progress
            summary = run_training(options)
        else:
            with make_progress() as progress:
                # shown from the first step: a run refused while it starts (a bad file, a finished
                # run) printed an empty "0/N" bar above its error
                task = progress.add_task(f"train {stage}", total=steps, visible=False)

                def report(step: int, total: int, losses: dict[str, float]) -> None:
                    shown = [f"{k} {v:.3g}" for k, v in losses.items() if k in ("g_total", "d_total", "l1_cloth", "g_vgg")]
                    progress.update(task, completed=step, description=fitted_description(f"train {stage}", shown, total),
                                    visible=True)

                summary = run_training(options, report)
    except VtonkitError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        if made_out and out.is_dir() and not any(out.iterdir()):  # a refused run leaves no empty folder
            out.rmdir()
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        from vtonkit.vton_infer.train.run_files import RESUME_FILE

        again = ("the same command with --resume continues from its last checkpoint" if (out / RESUME_FILE).is_file()
                 else "it stopped before its first checkpoint: the same command starts it afresh")
        console.print(f"interrupted: {escape(str(out))}: {again}")
        raise typer.Exit(130) from None
    for name, reason in summary.bad_samples.items():
        console.print(f"[red]bad sample[/] {escape(f'{name}: {reason}')}")
    if summary.steps_done == summary.resumed_from:  # a resumed run that had reached --steps already
        console.print(f"nothing to train: {out} is at step {summary.resumed_from} and --steps is {steps}; "
                      "raise --steps to train on", markup=False)
        return
    trained = summary.steps_done - summary.resumed_from
    span = f" ({summary.resumed_from} -> {summary.steps_done})" if summary.resumed_from else ""
    console.print(f"{trained} steps{span} in {summary.seconds:.1f} s on {summary.world_size} process(es); "
                  f"last checkpoint: {summary.checkpoint}")


def register(app: typer.Typer) -> None:
    app.command("train")(train)


def _note_assumed_category(dataset: Path, split: str) -> None:
    """Say so when no manifest records the garment category, so upper is assumed: a lower-body dataset
    built or copied by hand trained an upper-body model without a word (its agnostic files give it away
    only to `validate`)."""
    from vtonkit.core.errors import VtonkitError
    from vtonkit.core.progress import console
    from vtonkit.datasets.manifest import dataset_category

    try:
        if dataset_category(dataset, split) is not None:
            return
    except VtonkitError:  # a mixed or damaged manifest: the run itself names it
        return
    console.print(f"note: no garment category is recorded for {escape(str(dataset))} (split {split}; a dataset "
                  "not prepared or imported by vtonkit): training for upper-body garments; pass --category lower "
                  "or dresses for other garments")
