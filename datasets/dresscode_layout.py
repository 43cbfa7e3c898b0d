"""The Dress Code dataset layout: one folder per category, files named `<id>_<kind>.<ext>`.

```
<root>/<upper_body|lower_body|dresses>/
    images/<id>_0.jpg  <id>_1.jpg     person photo, garment photo (1024 x 768 RGB JPEG)
    keypoints/<id>_2.json             {"keypoints": 18 COCO-order [x, y, score, id] rows, 512x384 coords}
    skeletons/<id>_5.jpg              rendered skeleton, RGB JPEG
    label_maps/<id>_4.png             18-class label map, PNG mode P (raw pixel value = label)
    dense/<id>_5.png                  DensePose part ids 0..24, PNG mode L  (+ <id>_5_uv.npz, UV)
    image-densepose/<id>_0.jpg        DensePose rendering (IDM-VTON's Dress Code reader)
    agnostic_masks/<id>_0.png         inpainting mask (CatVTON's Dress Code reader)
    cloth_mask/<id>_1.png             garment mask (third-party layouts; vtonkit writes and reads it)
    train_pairs.txt  test_pairs_paired.txt  test_pairs_unpaired.txt
```
The official loader derives every name from the person file with `str.replace`: `'_0.jpg'` ->
`'_4.png'`, `'_2.json'`, `'_5.png'`, and for the skeleton `'_0'` -> `'_5'` anywhere in the name,
so an id must not contain `_0` (`00006_00` would become `00006_50_5.jpg`). vtonkit writes ids
without underscores and keeps the original stems in `vtonkit_stems.txt` for the way back, and the
persons whose garment is a placeholder copy in `vtonkit_placeholders.json`.
Sources of each fact: docs/formats.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vtonkit.datasets.io.files import atomic_write_json, atomic_write_text

from vtonkit.core.categories import DRESSCODE_FOLDERS
from vtonkit.core.errors import FormatError

IMAGES = "images"
KEYPOINTS = "keypoints"
SKELETONS = "skeletons"
LABEL_MAPS = "label_maps"
DENSE = "dense"
DENSEPOSE = "image-densepose"
AGNOSTIC_MASKS = "agnostic_masks"
CLOTH_MASKS = "cloth_mask"
TRAIN_PAIRS = "train_pairs.txt"
TEST_PAIRS_PAIRED = "test_pairs_paired.txt"
TEST_PAIRS_UNPAIRED = "test_pairs_unpaired.txt"
STEM_MAP = "vtonkit_stems.txt"
# Persons whose `_1` garment is a placeholder copy of another garment (`vtonkit pairs`), with the
# manifest's record of each, so the way back does not take them for the persons' own garments.
PLACEHOLDER_MAP = "vtonkit_placeholders.json"
FOLDER_OF_CATEGORY: dict[str, str] = {category: folder for folder, category in DRESSCODE_FOLDERS.items()}
SIZE = (1024, 768)  # (H, W) of the images; keypoints are in 512x384


def dresscode_id(stem: str) -> str:
    """A vtonkit stem as a Dress Code id the official `str.replace` naming cannot corrupt."""
    return stem.replace("_", "-")


@dataclass(frozen=True)
class CategoryDir:
    """One category folder (`<root>/upper_body`, ...) and the file of every artifact of an id."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def category(self) -> str:
        return DRESSCODE_FOLDERS[self.root.name]

    def person(self, dc_id: str) -> Path:
        return self.root / IMAGES / f"{dc_id}_0.jpg"

    def garment(self, dc_id: str) -> Path:
        return self.root / IMAGES / f"{dc_id}_1.jpg"

    def keypoints(self, dc_id: str) -> Path:
        return self.root / KEYPOINTS / f"{dc_id}_2.json"

    def skeleton(self, dc_id: str) -> Path:
        return self.root / SKELETONS / f"{dc_id}_5.jpg"

    def label_map(self, dc_id: str) -> Path:
        return self.root / LABEL_MAPS / f"{dc_id}_4.png"

    def dense(self, dc_id: str) -> Path:
        return self.root / DENSE / f"{dc_id}_5.png"

    def densepose(self, dc_id: str) -> Path:
        return self.root / DENSEPOSE / f"{dc_id}_0.jpg"

    def agnostic_mask(self, dc_id: str) -> Path:
        return self.root / AGNOSTIC_MASKS / f"{dc_id}_0.png"

    def cloth_mask(self, dc_id: str) -> Path:
        return self.root / CLOTH_MASKS / f"{dc_id}_1.png"

    def person_ids(self) -> list[str]:
        """Ids of the person photos in `images/` (sorted)."""
        folder = self.root / IMAGES
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len("_0.jpg")] for p in folder.glob("*_0.jpg") if not p.name.startswith("."))

    def _stem_map_lines(self) -> list[list[str]]:
        path = self.root / STEM_MAP
        if not path.is_file():
            return []
        lines = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            tokens = line.split()
            if len(tokens) not in (2, 3):
                raise FormatError(path, f"line {number}: expected '<dress code id> <vtonkit stem> [<split>]'")
            lines.append(tokens)
        return lines

    def read_stem_map(self) -> dict[str, str]:
        """`{dress code id: vtonkit stem}` from `vtonkit_stems.txt` (empty when absent)."""
        return {tokens[0]: tokens[1] for tokens in self._stem_map_lines()}

    def read_garment_splits(self) -> dict[str, str]:
        """`{dress code id: split}` of the garment-only ids `vtonkit_stems.txt` records a split for:
        a shop's garment no pair line names has no pair file to say its split."""
        return {tokens[0]: tokens[2] for tokens in self._stem_map_lines() if len(tokens) == 3}

    def write_stem_map(self, mapping: dict[str, str], garment_splits: dict[str, str] | None = None) -> None:
        splits = garment_splits or {}
        atomic_write_text(self.root / STEM_MAP, "".join(
            f"{dc_id} {stem}" + (f" {splits[dc_id]}" if dc_id in splits else "") + "\n"
            for dc_id, stem in sorted(mapping.items())))

    def read_placeholders(self) -> dict[str, dict]:
        """`{vtonkit stem: manifest placeholder record}` from `vtonkit_placeholders.json` (empty when absent)."""
        path = self.root / PLACEHOLDER_MAP
        if not path.is_file():
            return {}
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(path, f"not JSON: {exc}") from exc
        if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
            raise FormatError(path, "expected an object of {stem: placeholder record}")
        return records

    def write_placeholders(self, records: dict[str, dict]) -> None:
        """Record the placeholder garments (none: the file is removed, an earlier export's stays no longer)."""
        path = self.root / PLACEHOLDER_MAP
        if records:
            atomic_write_json(path, dict(sorted(records.items())), indent=1)
        else:
            path.unlink(missing_ok=True)


def category_dirs(source: str | Path) -> list[CategoryDir]:
    """The category folders of a Dress Code root, or `[source]` when it is one itself."""
    source = Path(source)
    if source.name in DRESSCODE_FOLDERS:
        return [CategoryDir(source)]
    return [CategoryDir(source / folder) for folder in DRESSCODE_FOLDERS if (source / folder).is_dir()]
