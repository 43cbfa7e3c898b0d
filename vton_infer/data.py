"""Read a (person, garment) pair from a dataset split folder into the official test tensors.

Equivalent to HR-VITON's `CPDatasetTest.__getitem__` for the entries `test_generator.py` uses
(format doc sections 1-3, 6): images in [-1, 1] (`(u8 / 255 - 0.5) / 0.5`, torchvision
ToTensor + Normalize), the garment mask thresholded at 128, the parse-agnostic as a 13-channel
one-hot (20 -> 13 merge) read from `image-parse-agnostic-v3.2/`, and the human-agnostic image
recomputed on the fly from image + parse + pose (`compute_agnostic`, upper body), as the official
loader does. `agnostic_source="file"` reads `agnostic-v3.2/` instead.

Every reader is the foundation's (`vtonkit.datasets.io`); a missing or malformed file raises an
`InputError` that names it, and so does a well-formed file that would give an empty try-on (an
empty or full-frame cloth mask, an agnostic without its grey region: `input_checks`).
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from vtonkit.datasets.file_digest import stat_identity
from vtonkit.datasets.io.files import NAME_MAX, TEMP_NAME_EXTRA, name_with_digest
from vtonkit.datasets.io.images import frames_note, read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import merge_to_13, one_hot
from vtonkit.datasets.layout import HEIGHT, WIDTH, SplitDir, stem_of
from vtonkit.preprocess.agnostic import compute_agnostic
from vtonkit.vton_infer.input_checks import check_agnostic, check_cloth_mask

from vtonkit.core.errors import FormatError, InputError

logger = logging.getLogger(__name__)

AgnosticSource = Literal["compute", "file"]


# `<stem>.png` and its temporary name while written must fit one file name.
MAX_OUTPUT_STEM_BYTES = NAME_MAX - TEMP_NAME_EXTRA - len(".png")


def output_stem(person: str, cloth: str) -> str:
    """`<person>_<cloth>`: the stem of a pair's try-on output, as the official test script names it.

    Two long stems (prep keeps up to 226 bytes each) would make a name no file system takes
    ("File name too long" for the pair): then each keeps an equal start and the name ends in a
    digest of both, so every pair still gets its own file."""
    stem = f"{person}_{cloth}"
    if len(stem.encode()) <= MAX_OUTPUT_STEM_BYTES:
        return stem
    return name_with_digest((person, cloth), hashlib.sha256(f"{person}\0{cloth}".encode()).hexdigest(),
                            MAX_OUTPUT_STEM_BYTES)


@dataclass
class PairSample:
    """One person with one garment, as arrays (all (H, W[, 3]) at the dataset resolution).

    image, cloth, densepose, agnostic: uint8 RGB; cloth_mask: bool; parse, parse_agnostic: uint8
    CIHP-20 ids; pose: (25, 3) float32 BODY_25 [x, y, conf].
    """

    person: str
    cloth_name: str
    image: np.ndarray
    cloth: np.ndarray
    cloth_mask: np.ndarray
    parse: np.ndarray
    parse_agnostic: np.ndarray
    densepose: np.ndarray
    agnostic: np.ndarray
    pose: np.ndarray
    inputs: str = ""  # `stat_identity` of the files read (taken before reading): a resume compares it

    @property
    def output_name(self) -> str:
        """`<person>_<cloth>.png`, the official output file name."""
        return f"{output_stem(self.person, self.cloth_name)}.png"


_FRAMES_CHECKED: set[Path] = set()
_FRAMES_LOCK = threading.Lock()


def _read_rgb(path: Path) -> np.ndarray:
    """`read_rgb`, with a warning (once per file and process: training reads every file each epoch)
    when the file holds several frames: like the official loader, only the first one is used."""
    rgb = read_rgb(path)
    with _FRAMES_LOCK:  # `infer` reads pairs on several threads; a person may be in two pairs at once
        first_time = path not in _FRAMES_CHECKED
        _FRAMES_CHECKED.add(path)
    if first_time:
        for note in frames_note(path):
            logger.warning("%s: %s", path, note)
    return rgb


def _check_size(array: np.ndarray, path: Path, size: tuple[int, int]) -> np.ndarray:
    if array.shape[:2] != size:
        raise FormatError(path, f"size {array.shape[1]}x{array.shape[0]} (WxH); the HR-VITON dataset needs "
                                f"{size[1]}x{size[0]}")
    return array


def pair_files(split: SplitDir, person: str, cloth: str, *, agnostic_source: AgnosticSource = "compute",
               category: str = "upper") -> list[Path]:
    """The files `read_pair` reads for the pair (stems or pair-list names)."""
    person, cloth = stem_of(person), stem_of(cloth)
    files = [split.image(person), split.parse(person), split.openpose_json(person), split.densepose(person),
             split.cloth(cloth), split.cloth_mask(cloth)]
    if category == "upper":
        files.append(split.parse_agnostic(person))
        if agnostic_source == "file":
            files.append(split.agnostic(person))
    return files


def pair_inputs(split: SplitDir, person: str, cloth: str, *, agnostic_source: AgnosticSource = "compute",
                category: str = "upper") -> str:
    """The identity of the pair's files now (sizes and times, `stat_identity`)."""
    files = pair_files(split, person, cloth, agnostic_source=agnostic_source, category=category)
    return stat_identity(files, split.root)


def read_pair(
    split: SplitDir,
    person: str,
    cloth: str,
    *,
    agnostic_source: AgnosticSource = "compute",
    category: str = "upper",
    size: tuple[int, int] = (HEIGHT, WIDTH),
) -> PairSample:
    """Read the files of one pair. `person`/`cloth` are stems or pair-list names (`00006_00.jpg`).

    category: the agnostic recipe for `agnostic_source="compute"` ("upper" = official HR-VITON).
    The parse-agnostic always comes from `image-parse-agnostic-v3.2/` (the file the official
    loader reads); for a category other than "upper" it is recomputed like the agnostic image.
    """
    person, cloth = stem_of(person), stem_of(cloth)
    # before reading: a file replaced meanwhile gets a new identity, so a resume computes it again
    identity = pair_inputs(split, person, cloth, agnostic_source=agnostic_source, category=category)
    image = _check_size(_read_rgb(split.image(person)), split.image(person), size)
    parse = _check_size(read_parse(split.parse(person)), split.parse(person), size)
    pose = read_keypoints(split.openpose_json(person))
    densepose = _check_size(_read_rgb(split.densepose(person)), split.densepose(person), size)
    cloth_rgb = _check_size(_read_rgb(split.cloth(cloth)), split.cloth(cloth), size)
    cloth_mask = _check_size(read_mask(split.cloth_mask(cloth)), split.cloth_mask(cloth), size)
    check_cloth_mask(cloth_mask, split.cloth_mask(cloth))
    if agnostic_source == "file" and category == "upper":
        agnostic = _check_size(_read_rgb(split.agnostic(person)), split.agnostic(person), size)
        check_agnostic(agnostic, split.agnostic(person))
        parse_agnostic = read_parse(split.parse_agnostic(person))
    else:
        try:
            computed = compute_agnostic(image, parse, pose, category)
        except ValueError as exc:  # MissingKeypointsError and friends
            raise InputError(split.openpose_json(person), f"cannot build the {category} agnostic: {exc}") from exc
        inputs = f"{split.parse(person).name} + {split.openpose_json(person).name}"
        agnostic = check_agnostic(computed.image, split.parse(person), computed_from=inputs)
        if category == "upper":
            parse_agnostic = read_parse(split.parse_agnostic(person))
        else:
            parse_agnostic = computed.parse_agnostic
    _check_size(parse_agnostic, split.parse_agnostic(person), size)
    return PairSample(person, cloth, image, cloth_rgb, cloth_mask, parse, parse_agnostic, densepose, agnostic, pose,
                      identity)


def to_unit_range(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1], bit-identical to ToTensor + Normalize(0.5, 0.5)."""
    tensor = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).contiguous()
    return (tensor.float() / 255 - 0.5) / 0.5


def sample_tensors(sample: PairSample, category: str = "upper") -> dict[str, torch.Tensor]:
    """The test-time tensors of one pair (no batch dim); `category` picks the 13-channel table.

    cloth, densepose, agnostic, image: (3, H, W) [-1, 1]; cloth_mask: (1, H, W) {0, 1};
    parse_agnostic: (13, H, W) one-hot.
    """
    return {
        "cloth": to_unit_range(sample.cloth),
        "cloth_mask": torch.from_numpy(sample.cloth_mask.astype(np.float32))[None],
        "parse_agnostic": torch.from_numpy(one_hot(merge_to_13(sample.parse_agnostic, category), 13)),
        "densepose": to_unit_range(sample.densepose),
        "agnostic": to_unit_range(sample.agnostic),
        "image": to_unit_range(sample.image),
    }


def collate(samples: Sequence[PairSample], category: str = "upper") -> dict[str, torch.Tensor]:
    """Stack `sample_tensors` of several pairs into a batch (N, ...), in the given order."""
    tensors = [sample_tensors(s, category) for s in samples]
    return {key: torch.stack([t[key] for t in tensors]) for key in tensors[0]}
