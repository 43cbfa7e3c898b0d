"""Training samples of a vtonkit dataset split, as the official `CPDataset` builds them (paired).

Paired training (as HR-VITON trains): each person wears its own garment, `cloth/<person>.jpg`;
the pair list only says which persons train. Every array is read at the dataset resolution
(1024x768) with the foundation's readers (`vtonkit.vton_infer.data.read_pair`, which names the
file on any error) and resized exactly like `CPDataset` (`transforms.Resize(width)` on the PIL
image): RGB bilinear (image, cloth, DensePose, agnostic), nearest for the cloth mask (its raw grey
values, thresholded later by the stage) and both parse maps. The agnostic image is computed from
the full-resolution image, parse and pose and then resized, as `CPDataset.get_agnostic` does.

Categories (docs/training.md): `upper` is the official recipe (parse-agnostic read from
`image-parse-agnostic-v3.2/`); `lower` and `dresses` use the recipes of
`vtonkit.preprocess.agnostic` (recomputed, so a dataset from any `vtonkit prep` trains without
conversion). The 13-channel table of the category (`datasets.labels.CATEGORY_TO_13`) is applied
by the stages, not here: the tensors are raw CIHP-20 ids like the official loader's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from vtonkit.datasets.file_digest import stat_identity
from vtonkit.datasets.io.images import open_image
from vtonkit.datasets.layout import DatasetLayout, SplitDir, stem_of
from vtonkit.datasets.manifest import placeholder_stems
from vtonkit.datasets.pairing import missing_split_problem
from vtonkit.datasets.pairs import Pair, read_pairs
from vtonkit.datasets.pairs import pairs_path as pair_list_path  # its local name is the path itself
from vtonkit.vton_infer.data import pair_files, read_pair

from vtonkit.core.categories import GARMENT_CATEGORIES
from vtonkit.core.errors import InputError, VtonkitError

logger = logging.getLogger(__name__)

CONDITION_SIZE = (256, 192)  # stage 1 (train_condition.py fine size)
GENERATOR_SIZE = (512, 384)  # stage 2 at the smallest size the generator supports (README of the fixtures)
RGB_KEYS = ("cloth", "image", "densepose")
LABEL_KEYS = ("cloth_mask", "parse", "parse_agnostic")


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, h, w) uint8, PIL bilinear (`transforms.Resize(w, interpolation=2)`)."""
    height, width = size
    resized = Image.fromarray(np.ascontiguousarray(rgb), "RGB").resize((width, height), Image.BILINEAR)
    return torch.from_numpy(np.array(resized)).permute(2, 0, 1).contiguous()


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """(H, W) uint8 -> (h, w) uint8, PIL nearest (`interpolation=0`): ids and mask values are kept."""
    height, width = size
    resized = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), "L").resize((width, height), Image.NEAREST)
    return torch.from_numpy(np.array(resized))


def read_cloth_mask_grey(path: Path) -> np.ndarray:
    """The cloth-mask file's grey values (the official loader thresholds after resizing)."""
    return np.array(open_image(path).convert("L"))


def _warn_of_other_garments(pairs_path: Path, listed: list[Pair]) -> None:
    """Say once that an unpaired list's garment column is not trained on (it was ignored without a word)."""
    others = sum(stem_of(person) != stem_of(garment) for person, garment in listed)
    if others:
        logger.warning("%s: %d of %d pairs list another person's garment; training uses each person's own "
                       "garment (cloth/<person>.jpg)", pairs_path, others, len(listed))


@dataclass
class TrainingDataset(Dataset):
    """Paired training samples of `<dataset>/<split>/` listed in a pair list.

    `__getitem__` returns uint8 tensors without batch dim: cloth, image, densepose (3, h, w);
    cloth_mask, parse, parse_agnostic (h, w); with `with_agnostic` also agnostic (3, h, w); plus
    `index` (int64) so a batch can be traced back to `names`. A sample whose files are bad is
    logged with the file and the reason and replaced by the next good one (recorded in `bad`).
    """

    dataset: Path
    split: str = "train"
    pairs: Path | None = None
    category: str = "upper"
    size: tuple[int, int] = CONDITION_SIZE
    with_agnostic: bool = False
    batch_size: int = 1  # fewer usable samples than this is refused: a batch would hold one twice
    names: list[str] = field(init=False)
    bad: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.dataset = Path(self.dataset)
        if self.category not in GARMENT_CATEGORIES:
            raise VtonkitError(f"category must be one of {', '.join(GARMENT_CATEGORIES)}, not {self.category!r}")
        layout = DatasetLayout(self.dataset)
        if (missing := missing_split_problem(layout, self.split)) is not None:  # not "pair list not found"
            raise VtonkitError(missing)
        self.split_dir = SplitDir(layout.split(self.split).root)
        pairs_path = pair_list_path(self.dataset, self.split, self.pairs)  # as infer and evaluate read --pairs
        if not pairs_path.exists() and not pairs_path.is_symlink():  # anything else there: read_pairs says what
            raise InputError(pairs_path, "pair list not found (write one with `vtonkit pairs`, or pass --pairs)")
        # paired training: the person's own garment (CPDataset's c_name['paired'] = im_name)
        seen: dict[str, None] = {}
        listed = read_pairs(pairs_path)
        for person, _ in listed:
            seen.setdefault(stem_of(person), None)
        if not seen:
            raise InputError(pairs_path, "empty pair list: nothing to train on")
        if len(listed) > len(seen):  # as `infer` says of its repeated lines
            logger.warning("%s: %d repeated pair-list lines (a person listed again) trained once",
                           pairs_path, len(listed) - len(seen))
        _warn_of_other_garments(pairs_path, listed)
        # A placeholder is a copy of another garment under the person's name (`vtonkit pairs`, for
        # test persons without their own): trained on, it teaches a garment the person never wore.
        placeholders = placeholder_stems(self.dataset, self.split)
        self.names = [name for name in seen if name not in placeholders]
        self.placeholders_left_out = [name for name in seen if name in placeholders]
        if self.placeholders_left_out:
            logger.warning("%d listed person(s) left out, e.g. %s: cloth/<person>.jpg is a placeholder copy of "
                           "another garment (vtonkit pairs), not the garment the person wears",
                           len(self.placeholders_left_out), self.placeholders_left_out[0])
        if not self.names:
            raise InputError(pairs_path, f"every listed person's own garment in {self.split_dir.root / 'cloth'} is a "
                                         "placeholder copy of another garment (vtonkit pairs made them for persons "
                                         "without one): nothing to train on; train on persons photographed in "
                                         "their own garment")
        self._note_missing_files()

    def _note_missing_files(self) -> None:
        """Mark the samples whose files are missing as bad before the first step (a stat each): found one
        by one while training, the usable count was wrong ("1 of 3 usable" with none) and a step could
        be trained on a batch that repeated the one good sample."""
        for name in self.names:
            absent = next((path for path in pair_files(self.split_dir, name, name, category=self.category)
                           if not path.is_file()), None)
            if absent is not None:
                self.bad[name] = f"{absent}: no such file"
        if self.bad:
            logger.error("%d of %d listed training samples lack a file and are left out (%s)", len(self.bad),
                         len(self.names), self._bad_example())
            self._check_enough_usable()

    def __len__(self) -> int:
        return len(self.names)

    def read(self, index: int) -> dict[str, torch.Tensor]:
        """One sample, or an InputError naming the bad file."""
        name = self.names[index]
        full = read_pair(self.split_dir, name, name, category=self.category)
        sample = {
            "cloth": resize_rgb(full.cloth, self.size),
            "cloth_mask": resize_labels(read_cloth_mask_grey(self.split_dir.cloth_mask(name)), self.size),
            "image": resize_rgb(full.image, self.size),
            "densepose": resize_rgb(full.densepose, self.size),
            "parse": resize_labels(full.parse, self.size),
            "parse_agnostic": resize_labels(full.parse_agnostic, self.size),
            "index": torch.tensor(index, dtype=torch.int64),
        }
        if self.with_agnostic:
            sample["agnostic"] = resize_rgb(full.agnostic, self.size)
        return sample

    def files_identity(self) -> str:
        """A cheap identity of the listed persons' files (`stat_identity`: sizes and modification times)."""
        return stat_identity((path for name in self.names
                              for path in pair_files(self.split_dir, name, name, category=self.category)),
                             self.split_dir.root)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        for offset in range(len(self.names)):
            candidate = (index + offset) % len(self.names)
            try:
                return self.read(candidate)
            except (InputError, ValueError) as exc:
                name = self.names[candidate]
                if name not in self.bad:
                    logger.error("bad training sample %s (replaced by the next one): %s", name, exc)
                self.bad[name] = str(exc)
                self._check_enough_usable()
        raise VtonkitError(f"{self.split_dir.root}: no readable training sample ({self._bad_example()})")

    def _bad_example(self) -> str:
        name, reason = next(iter(self.bad.items()))
        return f"{len(self.bad)} bad, e.g. {name} ({reason})"

    def _check_enough_usable(self) -> None:
        """Refuse once the samples known to be bad leave fewer good ones than a batch: their
        replacements would fill each batch with the same few samples, and the run would go on."""
        usable = len(self.names) - len(self.bad)
        if usable == 0:
            raise VtonkitError(f"{self.split_dir.root}: no readable training sample ({self._bad_example()})")
        if usable < self.batch_size:
            raise VtonkitError(f"{self.split_dir.root}: {usable} of {len(self.names)} listed training samples "
                               f"left ({self._bad_example()}), fewer than one batch of {self.batch_size}: each "
                               "batch would repeat a sample; fix or unlist the bad ones, or lower --batch-size")
