"""The optional backends that cannot run here (carvekit needs torchvision, detectron2 is not
installable): their import guards, and the pure post-processing they share, on real data."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vtonkit.datasets.io.densepose import render_densepose


def _genuine_parts(dresscode, stem="000000"):
    return np.array(Image.open(dresscode / "upper_body" / "dense" / f"{stem}_5.png"))


def test_paste_part_labels_restores_genuine_densepose_from_its_box(dresscode):
    from vtonkit.preprocess.backends.detectron2_densepose import paste_part_labels

    genuine = _genuine_parts(dresscode)
    ys, xs = np.nonzero(genuine)
    x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    box_labels = genuine[y: y + h, x: x + w]  # what DensePose's extractor gives: labels at box size
    pasted = paste_part_labels(box_labels, (x + 0.7, y + 0.2, w + 0.9, h + 0.5), genuine.shape)  # float box truncates
    assert np.array_equal(pasted, genuine)
    assert np.array_equal(render_densepose(pasted), render_densepose(genuine))


def test_paste_part_labels_resizes_and_clips(dresscode):
    from vtonkit.preprocess.backends.detectron2_densepose import paste_part_labels

    genuine = _genuine_parts(dresscode, "000002")
    ys, xs = np.nonzero(genuine)
    x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    half = genuine[y: y + h: 2, x: x + w: 2]  # a coarser map is resized to the box (nearest)
    pasted = paste_part_labels(half, (x, y, w, h), genuine.shape)
    person = genuine > 0
    assert (pasted[person] == genuine[person]).mean() > 0.9
    shifted = paste_part_labels(genuine[y: y + h, x: x + w], (x - 100, y + 50, w, h), genuine.shape)
    assert shifted.shape == genuine.shape and shifted[: y + 50].max() == 0  # nothing above the moved box
    with pytest.raises(ValueError, match="0..24"):
        paste_part_labels(np.full((4, 4), 30), (0, 0, 4, 4), (10, 10))


def test_best_instance_respects_min_score():
    from vtonkit.preprocess.backends.detectron2_densepose import best_instance

    assert best_instance(np.array([0.5, 0.95, 0.9]), 0.8) == 1
    assert best_instance(np.array([0.5, 0.6]), 0.8) is None
    assert best_instance(np.array([]), 0.8) is None


def test_detectron2_backend_explains_how_to_install():
    # detectron2 is not installable in this environment: the guard must say what to do.
    try:
        import detectron2  # noqa: F401
        pytest.skip("detectron2 is installed here: the guard is not exercised")
    except ImportError:
        pass
    from vtonkit.preprocess.stages import DENSEPOSERS, BackendSetupError

    with pytest.raises(BackendSetupError, match="densepose backend 'detectron2': cannot be built: ImportError: .*detectron2.git"):
        DENSEPOSERS.build("detectron2", config_path="x.yaml")


def test_carvekit_backend_explains_torchvision():
    try:
        import carvekit.ml.wrap.tracer_b7  # noqa: F401
        pytest.skip("carvekit imports here: the guard is not exercised")
    except Exception:
        pass
    from vtonkit.preprocess.stages import CLOTH_MASKERS, BackendSetupError

    with pytest.raises(BackendSetupError, match="cloth-mask backend 'carvekit': cannot be built: ImportError: .*torchvision"):
        CLOTH_MASKERS.build("carvekit")


def _encoder_decoder():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Conv2d(8, 1, 1))


def test_carvekit_non_strict_loading_refuses_a_checkpoint_whose_keys_do_not_match(tmp_path):
    # carvekit itself cannot import here (torchvision); the loader is plain torch, exercised on a small network.
    import torch
    from vtonkit.core.errors import InputError
    from vtonkit.preprocess.backends.carvekit_masker import load_local_state

    source = _encoder_decoder()
    state = dict(source.state_dict())
    # TRACER's real checkpoint carries an unused edge head: extra keys are tolerated.
    with_edge_head = tmp_path / "tracer_b7.pth"
    torch.save({**state, "edge_head.weight": torch.ones(4)}, with_edge_head)
    target = _encoder_decoder()
    with torch.no_grad():
        for parameter in target.parameters():
            parameter.zero_()
    load_local_state(target, with_edge_head, strict=False)
    assert torch.equal(target[0].weight, source[0].weight)
    # A checkpoint saved from DataParallel ("module." prefix): no key matches, strict=False used to accept it.
    wrapped = tmp_path / "wrapped.pth"
    torch.save({f"module.{k}": v for k, v in state.items()}, wrapped)
    with pytest.raises(InputError, match="wrapped.pth.*keys are missing"):
        load_local_state(_encoder_decoder(), wrapped, strict=False)
    # Another network's file whose few keys happen to overlap (the first conv) but lack the rest.
    other = tmp_path / "other.pth"
    torch.save({"0.weight": state["0.weight"], "0.bias": state["0.bias"],
                **{f"backbone.{i}.weight": torch.zeros(2) for i in range(20)}}, other)
    with pytest.raises(InputError, match="other.pth"):
        load_local_state(_encoder_decoder(), other, strict=False)
    # A download cut short is named, and its pickle is never run with code allowed (weights_only).
    cut = tmp_path / "cut.pth"
    cut.write_bytes(with_edge_head.read_bytes()[:300])
    with pytest.raises(InputError, match="cut.pth: damaged or cut-short checkpoint"):
        load_local_state(_encoder_decoder(), cut, strict=False)
    pickled_module = tmp_path / "module.pth"
    torch.save(_encoder_decoder(), pickled_module)
    with pytest.raises(InputError, match="module.pth: holds Python objects"):
        load_local_state(_encoder_decoder(), pickled_module, strict=False)
