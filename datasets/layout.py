"""The HR-VITON / VITON-HD dataset layout: folder names, file naming, splits, pair lists.

```
<dataset>/train_pairs.txt  test_pairs.txt
<dataset>/<split>/image/<stem>.jpg               cloth/<stem>.jpg   cloth-mask/<stem>.jpg
                  image-parse-v3/<stem>.png      image-parse-agnostic-v3.2/<stem>.png
                  agnostic-v3.2/<stem>.jpg       agnostic-mask/<stem>_mask.png
                  image-densepose/<stem>.jpg     openpose_img/<stem>_rendered.png
                  openpose_json/<stem>_keypoints.json
```
Folder names are hard-coded in HR-VITON's loaders (underscores for openpose_*, hyphens elsewhere).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HEIGHT = 1024
WIDTH = 768
SPLITS = ("train", "test")

IMAGE = "image"
CLOTH = "cloth"
CLOTH_MASK = "cloth-mask"
PARSE = "image-parse-v3"
PARSE_AGNOSTIC = "image-parse-agnostic-v3.2"
AGNOSTIC = "agnostic-v3.2"
AGNOSTIC_MASK = "agnostic-mask"
DENSEPOSE = "image-densepose"
OPENPOSE_IMG = "openpose_img"
OPENPOSE_JSON = "openpose_json"

PERSON_FOLDERS = (IMAGE, PARSE, PARSE_AGNOSTIC, AGNOSTIC, AGNOSTIC_MASK, DENSEPOSE, OPENPOSE_IMG, OPENPOSE_JSON)
CLOTH_FOLDERS = (CLOTH, CLOTH_MASK)
ALL_FOLDERS = PERSON_FOLDERS + CLOTH_FOLDERS


JPG = ".jpg"


def stem_of(file_name: str) -> str:
    """Pair-list name -> stem: `00891_00.jpg` -> `00891_00`, `a.b.jpg` -> `a.b`.

    HR-VITON's loaders derive every file with `name.replace('.jpg', ...)`: only the `.jpg` goes,
    other dots stay (`pair_of` refuses a `.jpg` anywhere but at the end).
    """
    name = Path(file_name).name
    return name[: -len(JPG)] if name.endswith(JPG) else name


@dataclass(frozen=True)
class SplitDir:
    """One split folder (`<dataset>/train` or `<dataset>/test`) and the file of every artifact."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def image(self, stem: str) -> Path:
        return self.root / IMAGE / f"{stem}.jpg"

    def cloth(self, stem: str) -> Path:
        return self.root / CLOTH / f"{stem}.jpg"

    def cloth_mask(self, stem: str) -> Path:
        # Looked up with the cloth's own file name, extension included.
        return self.root / CLOTH_MASK / f"{stem}.jpg"

    def parse(self, stem: str) -> Path:
        return self.root / PARSE / f"{stem}.png"

    def parse_agnostic(self, stem: str) -> Path:
        return self.root / PARSE_AGNOSTIC / f"{stem}.png"

    def agnostic(self, stem: str) -> Path:
        return self.root / AGNOSTIC / f"{stem}.jpg"

    def agnostic_mask(self, stem: str) -> Path:
        return self.root / AGNOSTIC_MASK / f"{stem}_mask.png"

    def densepose(self, stem: str) -> Path:
        return self.root / DENSEPOSE / f"{stem}.jpg"

    def openpose_img(self, stem: str) -> Path:
        return self.root / OPENPOSE_IMG / f"{stem}_rendered.png"

    def openpose_json(self, stem: str) -> Path:
        return self.root / OPENPOSE_JSON / f"{stem}_keypoints.json"

    def person_files(self, stem: str) -> dict[str, Path]:
        """Every per-person artifact, keyed by folder name."""
        return {
            IMAGE: self.image(stem), PARSE: self.parse(stem), PARSE_AGNOSTIC: self.parse_agnostic(stem),
            AGNOSTIC: self.agnostic(stem), AGNOSTIC_MASK: self.agnostic_mask(stem),
            DENSEPOSE: self.densepose(stem), OPENPOSE_IMG: self.openpose_img(stem),
            OPENPOSE_JSON: self.openpose_json(stem),
        }

    def cloth_files(self, stem: str) -> dict[str, Path]:
        return {CLOTH: self.cloth(stem), CLOTH_MASK: self.cloth_mask(stem)}

    def _names(self, folder: str, suffix: str = "") -> list[str]:
        """Names of the entries of `folder` ending in `suffix`, hidden ones left out."""
        directory = self.root / folder
        if not directory.is_dir():
            return []
        return [p.name for p in directory.iterdir() if p.name.endswith(suffix) and not p.name.startswith(".")]

    def _stems(self, folder: str, suffix: str) -> list[str]:
        # A name that is not UTF-8 is left out: no pair list (UTF-8 text) can name it, and no report,
        # table or JSON file can hold it; `non_utf8_names` lists it for `validate`.
        return sorted(name[: -len(suffix)] for name in self._names(folder, suffix) if is_utf8_name(name))

    def not_jpg_names(self) -> list[str]:
        """`image/` and `cloth/` files that are no `<stem>.jpg` (`a.JPG`, `a.jpeg`, `a.png`) and so no sample,
        as `image/a.JPG` (escaped when not UTF-8)."""
        return sorted(f"{folder}/{display_name(name)}" for folder in (IMAGE, CLOTH) for name in self._names(folder)
                      if not name.endswith(JPG) and not (self.root / folder / name).is_dir())

    def non_utf8_names(self) -> list[str]:
        """`image/` and `cloth/` files whose names are not UTF-8, as `image/bad\\xff.jpg` (escaped)."""
        return sorted(f"{folder}/{display_name(name)}" for folder in (IMAGE, CLOTH)
                      for name in self._names(folder, JPG) if not is_utf8_name(name))

    def person_stems(self) -> list[str]:
        """Stems of the person photos in `image/` (sorted)."""
        return self._stems(IMAGE, JPG)

    def cloth_stems(self) -> list[str]:
        """Stems of the garments in `cloth/` (sorted)."""
        return self._stems(CLOTH, JPG)

    def make_folders(self) -> None:
        for folder in ALL_FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)


def is_utf8_name(name: str) -> bool:
    """False for a file name whose bytes are not UTF-8 (Python holds them as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(name: str | os.PathLike[str]) -> str:
    """`name` (a file name, a path, or text holding one) with the bytes that are not UTF-8 escaped
    (`bad\\xff.jpg`): printable and storable in UTF-8 files. Any other text comes back unchanged, so
    records of UTF-8 names stay as they were; readable rather than reversible (a record, not a handle)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class DatasetLayout:
    """A dataset root with `train/`, `test/` and their pair lists."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def split(self, name: str) -> SplitDir:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return SplitDir(self.root / name)

    def pairs_file(self, split: str) -> Path:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return self.root / f"{split}_pairs.txt"
