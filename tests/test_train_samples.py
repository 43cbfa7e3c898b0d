"""`vtonkit train`'s sample grid (RUN/samples/step<N>.png): a real one-step run of each stage, tiny
networks, VITON-HD test persons. Each row must show the stage's inputs, then each target beside the
prediction compared with it, captioned (the grid used to show the predictions alone)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import shared_path

CONDITION_CAPTIONS = [
    "garment", "garment mask", "parse agnostic", "densepose",
    "target: worn garment", "output: warped garment",
    "target: garment mask", "output: warped mask",
    "target: parse", "output: parse",
]
GENERATOR_CAPTIONS = [
    "agnostic", "densepose", "garment", "warped garment (stage 1)", "parse (stage 1)",
    "target: person", "output: try-on",
]


def _one_step_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, persons: list[str], **settings: object):
    """Train one step; return the grid and what `save_samples` was given ({caption: tensor})."""
    from vtonkit.vton_infer.train import runner

    given = []
    save_samples = runner.save_samples

    def recording(run: Path, step: int, visuals, rows: int = 2):
        given.append(visuals)
        return save_samples(run, step, visuals, rows)

    monkeypatch.setattr(runner, "save_samples", recording)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"{name}.jpg {name}.jpg\n" for name in persons))
    runner.train(runner.TrainOptions(shared_path("data", "vitonhd"), tmp_path / "run", split="test", pairs=pairs,
                                     batch_size=len(persons), steps=1, shuffle=False, vgg_width=16, **settings))
    assert len(given) == 1
    visuals = {f.metadata.get("caption", f.name): getattr(given[0], f.name) for f in dataclasses.fields(given[0])}
    grid = np.asarray(Image.open(tmp_path / "run" / "samples" / "step0000001.png").convert("RGB"))
    return grid, visuals


def _tiles(grid: np.ndarray, rows: int, count: int) -> list[list[np.ndarray]]:
    """The image part of every tile, row by row (grids.labelled_row: a title bar, then tiles of
    TILE_WIDTH with their caption above)."""
    from vtonkit.vton_infer.grids import CAPTION_HEIGHT, TILE_WIDTH

    row_height = grid.shape[0] // rows
    return [[grid[r * row_height + 2 * CAPTION_HEIGHT:(r + 1) * row_height, i * TILE_WIDTH:(i + 1) * TILE_WIDTH]
             for i in range(count)] for r in range(rows)]


def _check_grid(grid: np.ndarray, visuals: dict[str, torch.Tensor], captions: list[str], rows: int,
                pairs: list[tuple[str, str]]) -> None:
    from vtonkit.vton_infer.grids import TILE_WIDTH

    assert list(visuals) == captions
    assert grid.shape[1] == len(captions) * TILE_WIDTH
    tiles = _tiles(grid, rows, len(captions))
    for row in tiles:
        for caption, tile in zip(captions, row):
            assert tile.std() > 1, f"{caption}: a blank tile"  # every tile holds a picture
        for target, prediction in pairs:  # side by side, and not the same picture
            at = captions.index(target)
            assert captions[at + 1] == prediction
            assert not np.array_equal(row[at], row[at + 1]), (target, prediction)


def test_condition_grid_shows_inputs_and_each_target_beside_its_prediction(tmp_path: Path, monkeypatch) -> None:
    grid, visuals = _one_step_grid(tmp_path, monkeypatch, ["00006_00", "00008_00"], width=8, disc_width=8)
    _check_grid(grid, visuals, CONDITION_CAPTIONS, rows=2,
                pairs=[("target: worn garment", "output: warped garment"),
                       ("target: garment mask", "output: warped mask"), ("target: parse", "output: parse")])
    # the targets are the batch's ground truth: the garment mask is the parse's garment channel
    assert torch.equal(visuals["target: garment mask"][:, 0], visuals["target: parse"][:, 3])
    assert visuals["target: parse"].shape == visuals["output: parse"].shape == (2, 13, 256, 192)


def test_generator_grid_shows_inputs_and_the_person_beside_the_try_on(tmp_path: Path, monkeypatch) -> None:
    from vtonkit.vton_infer.networks import ConditionGenerator

    torch.manual_seed(0)
    torch.save(ConditionGenerator(ngf=8).state_dict(), tmp_path / "tocg.pth")
    grid, visuals = _one_step_grid(tmp_path, monkeypatch, ["00006_00"], stage="generator", width=4, disc_width=4,
                                   tocg_checkpoint=tmp_path / "tocg.pth")
    _check_grid(grid, visuals, GENERATOR_CAPTIONS, rows=1, pairs=[("target: person", "output: try-on")])
    assert visuals["target: person"].shape == visuals["output: try-on"].shape == (1, 3, 512, 384)
    assert not torch.equal(visuals["garment"], visuals["warped garment (stage 1)"])
