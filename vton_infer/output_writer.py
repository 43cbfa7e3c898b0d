"""Write try-on outputs on a background thread while the next batch computes.

Each pair's files (the PNG, its grid, its tensors) are written atomically (temporary file, then
rename); only then is its "done" line appended to the run log, so a kill at any moment leaves
either a finished pair (file + log line) or nothing that a rerun trusts. A pair whose files cannot
be written gets a "failed" line and the others go on. The queue is bounded: when the disk is the
bottleneck, compute waits instead of piling images up in memory. `depth=0` writes inline.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from vtonkit.datasets.io.files import atomic_save_image, atomic_write
from vtonkit.datasets.layout import ALL_FOLDERS, SPLITS
from vtonkit.vton_infer.data import output_stem
from vtonkit.vton_infer.run_log import PairRecord, RunLog

logger = logging.getLogger(__name__)

METHOD_LABELS = {
    "hrviton": "HR-VITON (learned try-on)",  # the published weights or trained ones, of any --width
    "warp": "warp baseline (non-learned, not HR-VITON)",
}
_STOP = object()


OUTPUT_SUBFOLDERS = ("grid", "tensors")  # beside the try-on images: --grids, --save-tensors


def dataset_overlap_problem(out_dir: Path, dataset: Path) -> str | None:
    """Why `out_dir` cannot take try-on outputs for `dataset`, or None.

    Outputs are `<person>_<cloth>.png` and sheets `<name>.png`: inside a split folder they land among
    the dataset files and can replace one (`sheet --name 00008_00` in image-parse-v3/ is that person's
    parse map); in the dataset root they mix with the pair lists. Paths are compared resolved, so a
    symlink to a split folder (or a split folder that is a symlink) is caught too. A folder beside the
    splits (`<dataset>/previews`) holds no dataset file and is allowed.
    """
    root = Path(dataset).resolve()
    # the subfolders too: an existing `grid/` that links into a split would take the grids there
    for target in (Path(out_dir), *(Path(out_dir) / name for name in OUTPUT_SUBFOLDERS)):
        out = target.resolve()
        if out == root:
            return f"{target} is the dataset folder itself; give the outputs a folder of their own"
        for split in SPLITS:
            for folder in (root / split, *(root / split / name for name in ALL_FOLDERS)):
                guarded = folder.resolve()
                if out == guarded or guarded in out.parents:
                    return (f"{target} is inside the dataset's {folder.relative_to(root)} folder ({guarded}): "
                            "outputs written there would sit among the dataset files and could replace them; "
                            "give a folder outside the dataset's splits")
    return None


def png_info(method: str) -> PngInfo:
    info = PngInfo()
    info.add_text("vtonkit-method", METHOD_LABELS[method])
    if method == "warp":
        info.add_text("Comment", "BASELINE preview: non-learned garment warp, not a try-on model output")
    return info


def save_png(path: Path, rgb: np.ndarray, method: str) -> None:
    atomic_save_image(Image.fromarray(rgb, "RGB"), path, format="PNG", pnginfo=png_info(method))


@dataclass
class PairOutput:
    """What one pair produced (or why it failed before writing), on its way to the disk."""

    person: str
    cloth: str
    image: np.ndarray | None = None  # (H, W, 3) uint8 try-on
    grid: np.ndarray | None = None
    tensors: dict | None = None
    error: str | None = None
    seconds: float = 0.0  # read + share of the batch compute so far
    inputs: str | None = None  # identity of the files it was computed from (`PairSample.inputs`)

    @property
    def output_name(self) -> str:
        return f"{output_stem(self.person, self.cloth)}.png"


class OutputWriter:
    """Writes `PairOutput`s in the order given; calls `on_finished(output, record)` after each (on the
    writer thread). The first error that is not a pair's own (the run log cannot be written) stops it
    and is raised by the next `put` or by `close`."""

    def __init__(self, out_dir: Path, method: str, log: RunLog | None,
                 on_finished: Callable[[PairOutput, PairRecord], None], *, depth: int = 8) -> None:
        self.out_dir = Path(out_dir)
        self.method = method
        self.log = log
        self.on_finished = on_finished
        self.fatal: BaseException | None = None
        self.queue: queue.Queue | None = queue.Queue(maxsize=depth) if depth > 0 else None
        self.thread = None
        if self.queue is not None:
            self.thread = threading.Thread(target=self._drain, name="vtonkit-write", daemon=True)
            self.thread.start()

    def write_one(self, output: PairOutput) -> None:
        """Write the pair's files, then log it (a failure of the pair's files is logged as its error)."""
        start = time.perf_counter()
        files: list[str] = []
        sizes: list[int] = []
        error = output.error
        if error is None:
            try:
                save_png(self.out_dir / output.output_name, output.image, self.method)
                files.append(output.output_name)
                if output.grid is not None:
                    save_png(self.out_dir / OUTPUT_SUBFOLDERS[0] / output.output_name, output.grid, self.method)
                    files.append(f"grid/{output.output_name}")
                if output.tensors is not None:
                    name = f"tensors/{Path(output.output_name).stem}.pt"
                    with atomic_write(self.out_dir / name) as handle:
                        torch.save(output.tensors, handle)
                    files.append(name)
                sizes = [(self.out_dir / f).stat().st_size for f in files]  # what a resume checks
            except OSError as exc:
                error = f"{self.out_dir / output.output_name}: cannot write ({exc})"
            except Exception as exc:  # e.g. an encoder error: recorded for this pair, batch goes on
                logger.exception("writing %s", output.output_name)
                error = f"internal error while writing {output.output_name}: {type(exc).__name__}: {exc}"
        record = PairRecord(output.person, output.cloth, output.output_name, "failed" if error else "done",
                            round(output.seconds + time.perf_counter() - start, 4), files, error=error,
                            sizes=None if error else sizes, inputs=output.inputs)
        if self.log is not None:
            self.log.append(record)  # after the rename: a "done" line always has its files
        self.on_finished(output, record)

    def _drain(self) -> None:
        assert self.queue is not None
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            if self.fatal is not None:
                continue  # keep emptying the queue so that `put` never blocks on a dead writer
            try:
                for output in item:
                    self.write_one(output)
            except BaseException as exc:  # the run log is unwritable: nothing more can be recorded
                self.fatal = exc

    def put(self, outputs: list[PairOutput]) -> None:
        if self.fatal is not None:
            raise self.fatal
        if self.queue is None:
            for output in outputs:
                self.write_one(output)
        else:
            self.queue.put(outputs)

    def close(self) -> None:
        """Wait until everything queued is written; raise the writer's fatal error if there was one."""
        if self.queue is not None and self.thread is not None and self.thread.is_alive():
            self.queue.put(_STOP)
            self.thread.join()
        if self.fatal is not None:
            raise self.fatal
