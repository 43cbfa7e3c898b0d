"""Label sets and merges, checked on genuine Dress Code and VITON-HD parse maps."""
from __future__ import annotations

import numpy as np
import pytest

from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import (
    ATR_LABELS,
    CIHP_LABELS,
    CIHP_TO_13,
    LABELS_7,
    LABELS_13,
    LIP_LABELS,
    T13_TO_7,
    Cihp,
    merge_13_to_7,
    merge_to_13,
    one_hot,
    to_cihp,
)


def test_names_line_up():
    assert len(CIHP_LABELS) == 20 and CIHP_LABELS[Cihp.NECK] == "neck"
    assert LIP_LABELS[10] == "jumpsuits" and ATR_LABELS[4] == "upper_clothes"
    # Every same-named LIP class keeps its id in CIHP; LIP jumpsuits becomes a dress, not a neck.
    lip = to_cihp(np.arange(20), "lip")
    for i, name in enumerate(LIP_LABELS):
        if name in CIHP_LABELS:
            assert lip[i] == CIHP_LABELS.index(name)
    assert lip[10] == Cihp.DRESS
    atr = to_cihp(np.arange(18), "atr")
    for i, name in enumerate(ATR_LABELS):
        if name in CIHP_LABELS:
            assert atr[i] == CIHP_LABELS.index(name), name


def test_unknown_set_and_out_of_range():
    with pytest.raises(KeyError, match="known: cihp"):
        to_cihp(np.zeros((2, 2), int), "coco")
    with pytest.raises(ValueError, match="outside 0..17"):
        to_cihp(np.full((2, 2), 18), "atr")


@pytest.mark.parametrize("folder, garment", [("upper_body", Cihp.UPPER_CLOTHES), ("lower_body", None), ("dresses", Cihp.DRESS)])
def test_dresscode_maps_convert(dresscode, folder, garment):
    for path in sorted((dresscode / folder / "label_maps").glob("*_4.png")):
        labels = to_cihp(read_parse(path, check_ids=False), "dresscode")
        present = set(np.unique(labels).tolist())
        assert Cihp.FACE in present and Cihp.NECK not in present  # no neck in Dress Code
        if garment is not None:
            assert garment in present
        else:
            assert present & {Cihp.PANTS, Cihp.SKIRT}
        # The person's left arm is on the image right in these frontal photos.
        cols = np.arange(labels.shape[1])[None, :].repeat(labels.shape[0], 0)
        if (labels == Cihp.LEFT_ARM).any() and (labels == Cihp.RIGHT_ARM).any():
            assert cols[labels == Cihp.LEFT_ARM].mean() > cols[labels == Cihp.RIGHT_ARM].mean()


def test_merges_follow_hrviton_tables(vitonhd):
    assert [LABELS_13[c] for c in CIHP_TO_13[[Cihp.HAIR, Cihp.HAT, Cihp.NECK, Cihp.SKIRT, Cihp.PANTS]]] == [
        "hair", "hair", "background", "bottom", "bottom"]
    assert [LABELS_7[c] for c in T13_TO_7] == [
        "background", "hair", "paste", "upper", "paste", "left_arm", "right_arm", "paste", "paste", "paste",
        "paste", "paste", "noise"]
    parse = read_parse(vitonhd / "test" / "image-parse-v3" / "00006_00.png")
    m13 = merge_to_13(parse)
    np.testing.assert_array_equal(m13 == 3, np.isin(parse, [5, 6, 7]))
    oh = one_hot(m13, 13)
    assert oh.shape == (13, *parse.shape) and np.all(oh.sum(0) == 1)
    np.testing.assert_array_equal(merge_13_to_7(m13) == 2, m13 == 3)
