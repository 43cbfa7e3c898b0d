"""Option checks shared by the commands: a bad value is a usage error naming the option, caught
before any work starts (not a traceback after the first batch)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer


def check_device(device: str, option: str = "--device") -> str:
    """`device` when this machine has it (cpu, cuda, cuda:N, mps), else `typer.BadParameter` saying why."""
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise typer.BadParameter(f"not a torch device: {device!r} ({exc})", param_hint=option) from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise typer.BadParameter("CUDA is not available on this machine (torch.cuda.is_available() is False); "
                                     "use --device cpu", param_hint=option)
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise typer.BadParameter(f"no GPU {parsed.index}: this machine has {torch.cuda.device_count()}",
                                     param_hint=option)
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise typer.BadParameter("Apple's MPS is not available on this machine; use --device cpu", param_hint=option)
    return device


def check_choice(value: str, choices: Iterable[str], option: str) -> str:
    """`value` when it is one of `choices`, else `typer.BadParameter` listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=option)
    return value


def check_output_folder(path: Path, option: str = "--out") -> Path:
    """`path` as a folder this process can write files into (created when missing)."""
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{path} exists and is not a folder", param_hint=option)
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A real write: permission bits say nothing for root, nor for an immutable folder.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise typer.BadParameter(f"cannot write into {path} ({exc.strerror or exc})", param_hint=option) from None
    return path


@contextlib.contextmanager
def output_folder(path: Path, option: str = "--out") -> Iterator[Path]:
    """`check_output_folder` for the length of a command that may still refuse its work: the folders it
    created are removed again when the command leaves them empty (a refused export left an empty
    folder inside its source)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    check_output_folder(path, option)
    try:
        yield path
    finally:
        for folder in missing:  # deepest first; stops at the first that holds anything
            try:
                folder.rmdir()
            except OSError:
                break


def check_split_folder(path: Path, option: str = "--out") -> Path:
    """`path` as a split folder (DATASET/train or DATASET/test), not a dataset root nor a folder of
    another name: given either, prep-person wrote image/ ... into it and put the manifest in the folder above."""
    from vtonkit.datasets.layout import SPLITS

    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{path} exists and is not a folder", param_hint=option)
    check_not_dataset_root(path, option)
    # The folder above becomes the dataset: any other name made a split that validate, pairs and prep never read.
    if path.name not in SPLITS:
        beside = f" or {path.parent / 'test'}" if path.name and path.parent != Path(".") else ""  # a misnamed split
        raise typer.BadParameter(f"{path} is not a split folder: its name must be train or test, as the folder "
                                 f"above it holds the dataset; give <dataset>/train or <dataset>/test, such as "
                                 f"{path / 'test'}{beside}", param_hint=option)
    return path


def check_not_dataset_root(path: Path, option: str) -> Path:
    """`path` unless it is a dataset root (it holds .vtonkit/, train/ or test/) where a split folder is
    expected: given DATASET, agnostic looked for DATASET/image and found no person image."""
    from vtonkit.core.paths import STATE_DIR_NAME
    from vtonkit.datasets.layout import SPLITS

    held = [name for name in (STATE_DIR_NAME, *SPLITS) if (path / name).is_dir()]
    if held:
        splits = [str(path / name) for name in SPLITS if (path / name).is_dir()]
        which = f": {' or '.join(splits)}" if splits else f", such as {path / 'test'}"
        raise typer.BadParameter(f"{path} is a dataset root (it holds {', '.join(f'{name}/' for name in held)}); "
                                 f"give one of its split folders{which}", param_hint=option)
    return path


def check_out_beside_dataset(out: Path, dataset: Path, option: str = "--out") -> None:
    """A usage error when `out` would put files among the dataset's (checked before it is made)."""
    from vtonkit.vton_infer.output_writer import dataset_overlap_problem

    if (problem := dataset_overlap_problem(out, dataset)) is not None:
        raise typer.BadParameter(problem, param_hint=option)


def check_out_holds_no_other_run(out: Path, kind: str) -> None:
    """Refuse an --out that holds the other kind of run: a training run's files (weights, losses.png,
    samples/) among try-on outputs were scored by `evaluate --pred` as outputs, and the reverse mixed
    previews into a run folder. `kind`: "train" or "infer", the run about to start."""
    from vtonkit.vton_infer.run_log import LOG_GLOB, SETTINGS_FILE
    from vtonkit.vton_infer.train.run_files import OPTIONS_FILE, RESUME_FILE

    if kind == "train":
        found = [(out / SETTINGS_FILE)] + sorted(out.glob(LOG_GLOB))
        other, what = "try-on outputs of `vtonkit infer`", "a training run needs"
    else:
        found = [out / OPTIONS_FILE, out / RESUME_FILE]
        other, what = "a training run of `vtonkit train`", "try-on outputs need"
    held = next((path for path in found if path.is_file()), None)
    if held is not None:
        raise typer.BadParameter(f"{out} holds {other} ({held.name}); {what} a folder of its own",
                                 param_hint="--out")


def check_category(dataset: Path, split: str, category: str | None, option: str = "--category",
                   dataset_option: str = "DATASET") -> str:
    """The garment category to use on `dataset`'s `split`: `category` if given and the manifest agrees,
    else the one the manifest records, else upper (a usage error names a disagreement)."""
    from vtonkit.datasets.manifest import resolve_category

    from vtonkit.core.categories import GARMENT_CATEGORIES
    from vtonkit.core.errors import FormatError, VtonkitError

    check_dataset_root(Path(dataset), split, dataset_option)
    # before the manifest: a split never made read as "no category recorded", so upper, and infer
    # blamed lower-body checkpoints for it
    check_split_exists(Path(dataset), split, dataset_option)
    if category is not None:
        check_choice(category, GARMENT_CATEGORIES, option)
    try:
        return resolve_category(Path(dataset), split, category)
    except FormatError:  # a damaged manifest is no usage error: the command names it where it reads it
        return category or "upper"
    except VtonkitError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def check_split_exists(dataset: Path, split: str, dataset_option: str = "DATASET") -> None:
    """Refuse a dataset folder that is not there, or a split of it never made (naming the splits it has)."""
    from vtonkit.datasets.layout import SPLITS, DatasetLayout
    from vtonkit.datasets.pairing import missing_split_problem

    check_choice(split, SPLITS, "--split")
    if (problem := missing_split_problem(DatasetLayout(dataset), split)) is not None:
        raise typer.BadParameter(problem, param_hint="--split" if dataset.is_dir() else dataset_option)


def check_checkpoint_category(category: str, *checkpoints: Path | None) -> None:
    """Refuse checkpoints a vtonkit run trained for another garment category (its run.json says so)."""
    from vtonkit.vton_infer.train.run_files import category_mismatch

    if (problem := category_mismatch(checkpoints, category)) is not None:
        raise typer.BadParameter(problem, param_hint="--category")


def check_dataset_root(dataset: Path, split: str | None = None, option: str = "DATASET") -> Path:
    """`dataset` as a dataset root, not one of its split folders (given DATASET/test, infer looked for
    DATASET/test/test_pairs.txt, sheet for DATASET/test/test/, clean found no decision and export
    wrote nothing). `split`: the split the command reads or writes; None: any.

    A split folder holds image/ or cloth/ and not the split asked for (None: no split folder).
    Only a DATASET argument gets a --split hint: the split of an --out is the one to write."""
    from vtonkit.datasets.layout import CLOTH, IMAGE, SPLITS

    marks = [f"{name}/" for name in (IMAGE, CLOTH) if (dataset / name).is_dir()]
    if marks and not any((dataset / name).is_dir() for name in ((split,) if split else SPLITS)):
        reading = option == "DATASET" and dataset.name in SPLITS and dataset.name != split and split is not None
        hint = f" --split {dataset.name}" if reading else ""
        raise typer.BadParameter(f"{dataset} is a split folder (it holds {marks[0]}); give its dataset root "
                                 f"{_parent(dataset)}{hint}", param_hint=option)
    return dataset


def _parent(path: Path) -> Path:
    """The folder above `path`; absolute when that is "." (given "test" or "."), which names no folder."""
    return path.parent if path.parent != Path(".") else path.resolve().parent


def check_output_file(path: Path, option: str = "--out", example: str = "report.json",
                      suffixes: tuple[str, ...] = ()) -> Path:
    """`path` as a file this process can write (its folder created when missing); not an existing folder.

    `example`: the file name the error suggests inside a folder given by mistake. `suffixes`: the
    endings a file of this format may have (none: any), so that "out/" (a folder meant; the shell's
    slash is gone by now) or "t.csv" for a Parquet file is refused instead of written as named.
    ``-`` is standard output; a pipe, terminal or device given by name (``/dev/stdout``, a FIFO) is
    written into as it is.
    """
    from vtonkit.datasets.io.files import is_stream

    if str(path) == "-":
        path = Path("/dev/stdout")
    if is_stream(path):
        if not os.access(path, os.W_OK):
            raise typer.BadParameter(f"cannot write into {path}", param_hint=option)
        return path
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give a file name such as {path / example}",
                                 param_hint=option)
    if suffixes and path.suffix.lower() not in suffixes:
        instead = path.with_suffix(suffixes[0]) if path.suffix else path / example
        raise typer.BadParameter(f"{path}: the file written is {example.rsplit('.', 1)[-1].title()}, so its name must "
                                 f"end in {' or '.join(suffixes)}, such as {instead}", param_hint=option)
    check_output_folder(path.parent if str(path.parent) else Path("."), option)
    return path


def check_host_names(names: Iterable[str] | None, option: str = "--allow-host") -> tuple[str, ...]:
    """`names` when each is a host name a server can compare a Host header with, else `typer.BadParameter`."""
    from vtonkit.core.hosts import allowed_host_names

    names = tuple(names or ())
    try:
        allowed_host_names(None, names)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
    return names
