"""`vtonkit sheet`: sheets in one folder share their try-on files, so a sheet of other settings must
not replace another sheet's tiles."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from tests.test_vton_cli import PAIRS, make_dataset
from vtonkit.cli import app


def _said(result) -> str:
    return " ".join(result.output.replace("│", " ").split())


def _sheet(dataset: Path, out: Path, *args: str):
    return CliRunner().invoke(app, ["sheet", str(dataset), *args, "--out", str(out)], env={"COLUMNS": "400"})


def test_a_sheet_of_another_method_does_not_replace_another_sheets_tiles(vitonhd: Path, tmp_path: Path) -> None:
    """A warp sheet of garment 00008_00 in the folder of an HR-VITON sheet of person 00006_00 replaced
    that sheet's try-on 00006_00_00008_00.png with a warp-baseline image, without a word (only a sheet
    of the same name was checked). Refused before computing, naming the tile, its sheet and what differs."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.vton_infer.output_writer import save_png
    from vtonkit.vton_infer.sheets import SheetWeights, write_tryon_sheet

    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    out = tmp_path / "sheets"
    out.mkdir()
    tocg, gen = tmp_path / "mtviton.pth", tmp_path / "gen.pth"
    tocg.write_bytes(b"network A")
    gen.write_bytes(b"network B")
    # an HR-VITON sheet of person 00006_00 as `vtonkit sheet` writes it: the try-on PNG, then the sheet
    tile = out / "00006_00_00008_00.png"
    save_png(tile, np.asarray(Image.open(vitonhd / "test/image/00006_00.jpg")), "hrviton")
    write_tryon_sheet(SplitDir(dataset / "test"), [tile], out, "HR-VITON", baseline=False, person="00006_00",
                      weights=SheetWeights.of({"--tocg-checkpoint": tocg, "--gen-checkpoint": gen}))
    before = tile.read_bytes()

    warp = _sheet(dataset, out, "--garment", "00008_00", "--persons", "00006_00", "--method", "warp")
    said = _said(warp)
    assert warp.exit_code == 2, said
    assert f"{tile} is a try-on of the sheet {out / 'person_00006_00.html'}" in said
    assert "method HR-VITON (learned try-on), not warp baseline" in said and "not none" in said
    assert "another --out" in said
    assert tile.read_bytes() == before and not (out / "garment_00008_00.html").exists()


def test_sheets_of_the_same_settings_share_tiles_and_other_checkpoints_are_refused(vitonhd: Path,
                                                                                    tmp_path: Path) -> None:
    """Two warp sheets crossing at one try-on share it; an HR-VITON sheet crossing there is refused."""
    dataset = make_dataset(vitonhd, tmp_path / "ds", PAIRS)
    out = tmp_path / "sheets"
    first = _sheet(dataset, out, "--person", "00006_00", "--garments", "00008_00", "--method", "warp")
    assert first.exit_code == 0, first.output
    second = _sheet(dataset, out, "--garment", "00008_00", "--persons", "00006_00,00013_00", "--method", "warp")
    assert second.exit_code == 0, second.output
    tile = out / "00006_00_00008_00.png"
    before = tile.read_bytes()

    tocg, gen = tmp_path / "mtviton.pth", tmp_path / "gen.pth"
    tocg.write_bytes(b"network A")
    gen.write_bytes(b"network B")
    other = _sheet(dataset, out, "--person", "00013_00", "--garments", "00008_00", "--tocg-checkpoint", str(tocg),
                   "--gen-checkpoint", str(gen))
    said = _said(other)
    assert other.exit_code == 2, said
    assert f"{out / '00013_00_00008_00.png'} is a try-on of the sheet {out / 'garment_00008_00.html'}" in said
    assert "checkpoints none, not --tocg-checkpoint sha256:" in said
    assert tile.read_bytes() == before and not (out / "person_00013_00.html").exists()


def test_a_placeholder_copy_is_never_offered_as_a_garment(vitonhd: Path, tmp_path: Path) -> None:
    """`sheet --garment <placeholder>` made a sheet of a copy `vtonkit pairs` wrote under a person's
    name, and "no garment 'x' (N there: ...)" counted the copies among the garments."""
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(vitonhd / "test", root / "test")
    for folder in ("cloth", "cloth-mask"):
        (root / "test" / folder / "00006_00.jpg").unlink()  # 00006_00 gets a placeholder copy
    made = CliRunner().invoke(app, ["pairs", str(root), "--split", "test", "--mode", "unpaired"])
    assert made.exit_code == 0 and (root / "test" / "cloth" / "00006_00.jpg").is_file(), made.output
    refused = _sheet(root, tmp_path / "s", "--garment", "00006_00", "--method", "warp")
    assert refused.exit_code == 2 and "placeholder copy" in _said(refused), _said(refused)
    unknown = _sheet(root, tmp_path / "s", "--garment", "nope", "--method", "warp")
    assert unknown.exit_code == 2 and "(4 there:" in _said(unknown) and "00006_00" not in _said(unknown).split("there:")[1]


def test_a_long_caption_stays_over_its_own_picture() -> None:
    """Captions were cut at 30 characters: a Chinese product name ran twice a picture's width and
    printed over the next caption. Each now fits its picture, start and end kept around an ellipsis."""
    from vtonkit.vton_infer.grids import caption_font, fitted_caption
    from vtonkit.vton_infer.sheets import THUMB_SIZE, SheetTile, render_png

    width, height = THUMB_SIZE
    long_name = "00006_00_春季新款女装连衣裙红色长袖加厚保暖款式"
    white = np.full((height, width, 3), 255, np.uint8)
    tiles = [SheetTile.of(long_name, white), SheetTile.of("", white)]
    sheet = render_png("sheet", tiles, columns=2)
    band = sheet[-(height + 30):-height, width:]  # the second tile's caption row (30 px), its own caption empty
    assert (band >= 250).all(), "the first caption ran over the second tile"
    fitted = fitted_caption(long_name, width - 8)
    assert fitted.startswith("00006_00_") and fitted.endswith("款式") and "…" in fitted
    assert caption_font(text=fitted).getlength(fitted) <= width - 8
    assert fitted_caption("00006_00_00008_00", width - 8) == "00006_00_00008_00"  # a caption that fits stays whole
