"""Human-parsing label sets, their conversion to CIHP-20, and HR-VITON's 13/7-channel merges.

HR-VITON reads parse maps as raw CIHP-20 ids. Parsers trained on other sets use the same numbers
for different things (LIP 10 is "Jumpsuits" where CIHP 10 is the neck; ATR 4 is upper clothes
where CIHP 4 is sunglasses), so every parser output goes through `to_cihp` with its set's name.

Lossy cases of the conversions (documented in the README too):
* LIP and ATR/Dress Code have no neck (CIHP 10). The neck must be derived from the skin between
  face and clothes (the SCHP backend does it with the pose); the table alone cannot.
* LIP 10 "Jumpsuits" becomes CIHP 6 (dress): one garment covering torso and legs.
* ATR/Dress Code have no glove, coat or socks; "belt" becomes pants (9) (it sits on the bottom
  garment and HR-VITON merges 9 and 12 into one "bottom" channel), "bag" becomes background.
* ATR/Dress Code merge face and head skin ("head", 11) into CIHP face (13).
* Pascal-Person-Part has only head/torso/upper-arms/lower-arms/upper-legs/lower-legs with no
  left/right and no clothing: arms become left-arm and legs left-leg until split by the pose
  (`split_left_right` in the backends), the torso becomes upper clothes.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np


class Cihp(IntEnum):
    """CIHP-20 ids as HR-VITON / VITON-HD `image-parse-v3` stores them. Left = the person's left."""

    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    GLOVE = 3
    SUNGLASSES = 4
    UPPER_CLOTHES = 5
    DRESS = 6
    COAT = 7
    SOCKS = 8
    PANTS = 9
    NECK = 10
    SCARF = 11
    SKIRT = 12
    FACE = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    LEFT_LEG = 16
    RIGHT_LEG = 17
    LEFT_SHOE = 18
    RIGHT_SHOE = 19


CIHP_LABELS: tuple[str, ...] = (
    "background", "hat", "hair", "glove", "sunglasses", "upper_clothes", "dress", "coat", "socks",
    "pants", "neck", "scarf", "skirt", "face", "left_arm", "right_arm", "left_leg", "right_leg",
    "left_shoe", "right_shoe",
)
NUM_CIHP = 20

LIP_LABELS: tuple[str, ...] = (
    "background", "hat", "hair", "glove", "sunglasses", "upper_clothes", "dress", "coat", "socks",
    "pants", "jumpsuits", "scarf", "skirt", "face", "left_arm", "right_arm", "left_leg", "right_leg",
    "left_shoe", "right_shoe",
)
ATR_LABELS: tuple[str, ...] = (
    "background", "hat", "hair", "sunglasses", "upper_clothes", "skirt", "pants", "dress", "belt",
    "left_shoe", "right_shoe", "face", "left_leg", "right_leg", "left_arm", "right_arm", "bag", "scarf",
)
# Dress Code label_maps use the ATR order (its "head" is ATR's "face").
DRESSCODE_LABELS: tuple[str, ...] = (
    "background", "hat", "hair", "sunglasses", "upper_clothes", "skirt", "pants", "dress", "belt",
    "left_shoe", "right_shoe", "head", "left_leg", "right_leg", "left_arm", "right_arm", "bag", "scarf",
)
PASCAL_LABELS: tuple[str, ...] = (
    "background", "head", "torso", "upper_arms", "lower_arms", "upper_legs", "lower_legs",
)

C = Cihp
LIP_TO_CIHP = np.array([*range(10), C.DRESS, *range(11, 20)], dtype=np.uint8)
ATR_TO_CIHP = np.array(
    [C.BACKGROUND, C.HAT, C.HAIR, C.SUNGLASSES, C.UPPER_CLOTHES, C.SKIRT, C.PANTS, C.DRESS, C.PANTS,
     C.LEFT_SHOE, C.RIGHT_SHOE, C.FACE, C.LEFT_LEG, C.RIGHT_LEG, C.LEFT_ARM, C.RIGHT_ARM,
     C.BACKGROUND, C.SCARF],
    dtype=np.uint8,
)
DRESSCODE_TO_CIHP = ATR_TO_CIHP
# CIHP-20 -> Dress Code-18 (export). Lossy: Dress Code has no glove, coat, socks or neck: coat
# becomes upper clothes, the neck joins "head" (Dress Code's head holds the neck skin), glove and
# socks become background (no left/right to put them on).
CIHP_TO_DRESSCODE = np.array(
    [0, 1, 2, 0, 3, 4, 7, 4, 0, 6, 11, 17, 5, 11, 14, 15, 12, 13, 9, 10], dtype=np.uint8
)
# CIHP ids that do not survive CIHP -> Dress Code -> CIHP unchanged.
CIHP_NOT_IN_DRESSCODE = tuple(int(i) for i in np.flatnonzero(DRESSCODE_TO_CIHP[CIHP_TO_DRESSCODE] != np.arange(20)))
PASCAL_TO_CIHP = np.array(
    [C.BACKGROUND, C.FACE, C.UPPER_CLOTHES, C.LEFT_ARM, C.LEFT_ARM, C.LEFT_LEG, C.LEFT_LEG], dtype=np.uint8
)
CIHP_TO_CIHP = np.arange(NUM_CIHP, dtype=np.uint8)

LABEL_SETS: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
    "cihp": (CIHP_LABELS, CIHP_TO_CIHP),
    "lip": (LIP_LABELS, LIP_TO_CIHP),
    "atr": (ATR_LABELS, ATR_TO_CIHP),
    "dresscode": (DRESSCODE_LABELS, DRESSCODE_TO_CIHP),
    "pascal": (PASCAL_LABELS, PASCAL_TO_CIHP),
}


def to_cihp(labels: np.ndarray, label_set: str) -> np.ndarray:
    """Convert a label map of `label_set` ("cihp", "lip", "atr", "dresscode", "pascal") to CIHP-20.

    Args:
        labels: `(H, W)` integer label map with ids of `label_set`.
    Returns:
        `(H, W)` uint8 CIHP-20 ids.
    Raises:
        KeyError: unknown label set. ValueError: ids outside the set.
    """
    try:
        names, table = LABEL_SETS[label_set]
    except KeyError:
        raise KeyError(f"unknown label set {label_set!r}; known: {', '.join(LABEL_SETS)}") from None
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f"{label_set} label map has ids outside 0..{len(names) - 1}: max {labels.max()}")
    return table[labels]


# HR-VITON's `labels` dict (cp_dataset.py): CIHP-20 -> 13 channels.
LABELS_13: tuple[str, ...] = (
    "background", "hair", "face", "upper", "bottom", "left_arm", "right_arm", "left_leg", "right_leg",
    "left_shoe", "right_shoe", "socks", "noise",
)
CIHP_TO_13 = np.array([0, 1, 1, 12, 2, 3, 3, 3, 11, 4, 0, 12, 4, 2, 5, 6, 7, 8, 9, 10], dtype=np.uint8)
# test_generator.py: 13 -> 7 channels for the SPADE generator.
LABELS_7: tuple[str, ...] = ("background", "paste", "upper", "hair", "left_arm", "right_arm", "noise")
T13_TO_7 = np.array([0, 3, 1, 2, 1, 4, 5, 1, 1, 1, 1, 1, 6], dtype=np.uint8)


# Per garment category: channel 3 ("upper" in the official names) is always THE garment being tried
# on, i.e. every garment label the category's parse-agnostic removes (preprocess/agnostic.py);
# channels 5/6 are the limbs the garment touches (generated by the SPADE generator: 7-class 4/5),
# 7/8 the other limbs (pasted from the agnostic image: 7-class 1), 4 the garment that stays.
# The same tables serve training and inference, so T13_TO_7 and the pipeline are unchanged.
# upper = the official table. lower: pants, skirt, dress -> 3; upper clothes, coat -> 4; legs -> 5/6,
# arms -> 7/8. dresses: upper clothes, dress, coat, pants, skirt -> 3 (the dresses agnostic removes
# all of them; parsers split a dress into upper clothes + skirt); each side's arm and leg -> 5/6,
# both being grey in the dresses agnostic. Reasons: docs/training.md.
CATEGORY_TO_13: dict[str, np.ndarray] = {
    "upper": CIHP_TO_13,
    "lower": np.array([0, 1, 1, 12, 2, 4, 3, 4, 11, 3, 0, 12, 3, 2, 7, 8, 5, 6, 9, 10], dtype=np.uint8),
    "dresses": np.array([0, 1, 1, 12, 2, 3, 3, 3, 11, 3, 0, 12, 3, 2, 5, 6, 5, 6, 9, 10], dtype=np.uint8),
}
GARMENT_CHANNEL = 3


def cihp_to_13_table(category: str = "upper") -> np.ndarray:
    """The CIHP-20 -> 13-channel table of a garment category (`CATEGORY_TO_13`)."""
    try:
        return CATEGORY_TO_13[category]
    except KeyError:
        raise ValueError(f"category must be one of {', '.join(CATEGORY_TO_13)}, got {category!r}") from None


def merge_to_13(labels20: np.ndarray, category: str = "upper") -> np.ndarray:
    """CIHP-20 label map `(H, W)` -> HR-VITON 13-class label map `(H, W)` uint8 (per-category table)."""
    return cihp_to_13_table(category)[np.asarray(labels20)]


def merge_13_to_7(labels13: np.ndarray) -> np.ndarray:
    """13-class label map -> the SPADE generator's 7-class map, `(H, W)` uint8."""
    return T13_TO_7[np.asarray(labels13)]


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """`(H, W)` ids -> `(num_classes, H, W)` float32 one-hot (the loaders' scatter_)."""
    labels = np.asarray(labels)
    return (np.arange(num_classes)[:, None, None] == labels[None]).astype(np.float32)


# HR-VITON `visualize_segmap` colours for ids 0..19, then a grey ramp as in the distributed files.
_VIS_COLOURS = (
    (0, 0, 0), (128, 0, 0), (254, 0, 0), (0, 85, 0), (169, 0, 51), (254, 85, 0), (0, 0, 85),
    (0, 119, 220), (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 254),
    (51, 169, 220), (0, 254, 254), (85, 254, 169), (169, 254, 85), (254, 254, 0), (254, 169, 0),
)
CIHP_COLOURS = np.array(_VIS_COLOURS, dtype=np.uint8)
CIHP_PALETTE: list[int] = [c for rgb in _VIS_COLOURS for c in rgb] + [
    c for i in range(NUM_CIHP, 256) for c in (i, i, i)
]


def _voc_colour(index: int) -> tuple[int, int, int]:
    """PASCAL VOC colour map entry (bit-interleaved), the palette of Dress Code's label maps."""
    rgb = [0, 0, 0]
    for shift in range(7, -1, -1):
        for channel in range(3):
            rgb[channel] |= ((index >> channel) & 1) << shift
        index >>= 3
    return (rgb[0], rgb[1], rgb[2])


# Dress Code `label_maps/*_4.png` palette: VOC colours for ids 0..17, then a grey ramp (read from the files).
DRESSCODE_PALETTE: list[int] = [c for i in range(len(DRESSCODE_LABELS)) for c in _voc_colour(i)] + [
    c for i in range(len(DRESSCODE_LABELS), 256) for c in (i, i, i)
]
