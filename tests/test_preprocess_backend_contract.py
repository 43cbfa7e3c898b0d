"""A newly written backend that breaks its stage's interface is named at once.

A cloth masker returning a half-size mask failed deep in the pre-flight checks with "operands could
not be broadcast together with shapes (1024,768) (512,384)"; a parser returning labels past the
CIHP-20 set would have been written as a parse map the official loader one-hot encodes wrongly.
"""

from __future__ import annotations

import numpy as np
import pytest
from vtonkit.preprocess.cloth import process_cloth
from vtonkit.preprocess.person import human_parse
from vtonkit.preprocess.stages import BackendOutputError, PoseResult, checked_output

from tests.conftest import shared_path


class HalfSizeMasker:
    name = "half-size"
    version = "1"

    def mask(self, image: np.ndarray) -> np.ndarray:
        return np.ones((image.shape[0] // 2, image.shape[1] // 2), dtype=bool)


class WideLabelParser:
    name = "wide-labels"
    version = "1"

    def parse(self, image_rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        return np.full(image_rgb.shape[:2], 255, dtype=np.uint8)


def test_a_masker_of_the_wrong_size_is_named():
    with pytest.raises(BackendOutputError, match=r"cloth-mask backend 'half-size' \(.*HalfSizeMasker\) returned an "
                                                 r"array of shape \(512, 384\); .* returns \(1024, 768\)"):
        process_cloth(shared_path("demo", "garments", "ruby_polo.jpg"), HalfSizeMasker())


def test_a_parser_with_labels_past_cihp_20_is_named():
    image = np.zeros((64, 48, 3), dtype=np.uint8)
    pose = PoseResult(keypoints=np.zeros((25, 3)))
    with pytest.raises(BackendOutputError, match="parser backend 'wide-labels' .* returned uint8 values 255..255; "
                                                 "the parser interface returns integer labels 0..19"):
        human_parse(WideLabelParser(), image, pose)


def test_what_fits_the_interface_passes_unchanged():
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(checked_output("parser", WideLabelParser(), labels, (3, 4), integers=True, max_value=19), labels)
    with pytest.raises(BackendOutputError, match="float64 values"):
        checked_output("densepose", WideLabelParser(), labels / 2, (3, 4), integers=True, max_value=24)
