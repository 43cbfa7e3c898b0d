"""Exports opened the way the upstream loaders open them at start, and exports that must not lose data.

The readers below follow the published code (docs/formats.md): IDM-VTON's Dress Code reader opens
`<category>/dc_caption.txt` and its VITON-HD reader `<split>/vitonhd_<split>_tagged.json` always;
CatVTON's Dress Code reader asserts all three category folders with their pair files, and the
official Dress Code loader opens each category's pair file by default.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner
from vtonkit.datasets.export.common import default_pairs
from vtonkit.datasets.export.dresscode import export_dresscode
from vtonkit.datasets.export.mask_inpaint import export_mask_inpaint
from vtonkit.datasets.export.stableviton import export_stableviton
from vtonkit.datasets.importers.vitonhd import import_vitonhd
from vtonkit.datasets.pairing import write_pair_list
from vtonkit.datasets.pairs import default_pairs as source_default_pairs
from vtonkit.datasets.pairs import read_pairs

from vtonkit.core.errors import InputError

from tests.conftest import shared_path
from vtonkit.cli import app

CATEGORY_FOLDERS = ("upper_body", "lower_body", "dresses")


@pytest.fixture(scope="module")
def vitonhd_dataset(tmp_path_factory) -> Path:
    """The eight shared VITON-HD samples imported (upper body, train and test)."""
    out = tmp_path_factory.mktemp("loaders") / "vh"
    report = import_vitonhd(shared_path("data", "vitonhd"), out, progress=False)
    assert report.failures == [] and len(report.converted) == 8
    return out


def _idm_dresscode_captions(root: Path, category: str) -> dict[str, str]:
    """IDM-VTON inference_dc.py: `dc_caption.txt` opened unconditionally, `<name> <words...>` per line."""
    captions = {}
    with open(root / category / "dc_caption.txt") as file:
        for line in file:
            parts = line.strip().split(" ")
            captions[parts[0]] = " ".join(parts[1:])
    return captions


def _idm_vitonhd_captions(root: Path, phase: str) -> dict[str, str]:
    """IDM-VTON inference.py: `<phase>/vitonhd_<phase>_tagged.json` opened unconditionally and iterated."""
    with open(root / phase / f"vitonhd_{phase}_tagged.json") as file:
        data = json.load(file)
    captions = {}
    for elements in data.values():
        for element in elements:
            captions[element["file_name"]] = " ".join(tag["tag_category"] for tag in element["tag_info"])
    return captions


def _catvton_dresscode_pairs(root: Path, eval_pair: bool) -> list[str]:
    """CatVTON inference.py DressCodeTestDataset.load_data: all three folders and pair files asserted."""
    lines = []
    for sub_folder in CATEGORY_FOLDERS:
        assert (root / sub_folder).exists(), f"Folder {sub_folder} does not exist."
        pair_txt = root / sub_folder / ("test_pairs_paired.txt" if eval_pair else "test_pairs_unpaired.txt")
        assert pair_txt.exists(), f"File {pair_txt} does not exist."
        lines += [f"{sub_folder}/{line.strip().split(' ')[0]}" for line in pair_txt.read_text().splitlines()]
    return lines


def _official_dresscode_pairs(root: Path, phase: str, order: str) -> list[str]:
    """aimagelab/dress-code data/dataset.py: every category of the default list opens its pair file."""
    names = []
    for category in ("dresses", "upper_body", "lower_body"):
        name = f"{phase}_pairs.txt" if phase == "train" else f"{phase}_pairs_{order}.txt"
        names += [line.strip().split()[0] for line in (root / category / name).read_text().splitlines()]
    return names


def test_every_dresscode_category_folder_has_the_caption_file_idm_vton_opens(vitonhd_dataset: Path,
                                                                              tmp_path: Path) -> None:
    """IDM-VTON's Dress Code reader crashed on every export: it opens `<category>/dc_caption.txt`
    always, and vtonkit wrote none. Now each category folder has one (empty: vtonkit keeps no garment
    descriptions, and the reader captions an unnamed garment with its category)."""
    out = tmp_path / "dc"
    assert export_dresscode(vitonhd_dataset, out, progress=False).failures == []
    for category in CATEGORY_FOLDERS:
        assert _idm_dresscode_captions(out, category) == {}


def test_a_mask_inpaint_export_has_the_tag_file_idm_vton_opens(vitonhd_dataset: Path, tmp_path: Path) -> None:
    """IDM-VTON's VITON-HD reader crashed on every mask-inpaint export: it opens
    `<split>/vitonhd_<split>_tagged.json` always. Now an empty mapping is written for each split."""
    out = tmp_path / "mi"
    assert export_mask_inpaint(vitonhd_dataset, out, progress=False).failures == []
    for split in ("train", "test"):
        assert _idm_vitonhd_captions(out, split) == {}
    only_test = tmp_path / "mi-test"
    export_mask_inpaint(vitonhd_dataset, only_test, splits=["test"], progress=False)
    assert (only_test / "test" / "vitonhd_test_tagged.json").is_file()
    assert not (only_test / "train").exists()


def test_a_single_category_dresscode_export_loads_in_catvton_and_the_official_loader(vitonhd_dataset: Path,
                                                                                     tmp_path: Path) -> None:
    """An upper-body dataset exported to Dress Code wrote upper_body/ only: CatVTON asserts all three
    category folders with their pair files, and the official loader opens each category's pair file.
    The other two now hold empty pair files (said in a note), and a later export of one of those
    categories into the same root is not refused for them."""
    out = tmp_path / "dc"
    report = export_dresscode(vitonhd_dataset, out, progress=False)
    assert any("lower_body, dresses: no sample of that category" in note for note in report.notes), report.notes
    test_persons = [f"upper_body/{n}-00_0.jpg" for n in ("00006", "00008", "00013", "00017", "00034")]
    assert _catvton_dresscode_pairs(out, eval_pair=False) == test_persons
    assert _catvton_dresscode_pairs(out, eval_pair=True)
    assert len(_official_dresscode_pairs(out, "train", "paired")) == 3
    assert _official_dresscode_pairs(out, "test", "unpaired")
    for category in ("lower_body", "dresses"):
        assert sorted(p.name for p in (out / category).iterdir()) == [
            "dc_caption.txt", "test_pairs_paired.txt", "test_pairs_unpaired.txt", "train_pairs.txt"]
    # the empty lower_body/ is not "an earlier export" to a lower-body export into the same root
    lower = tmp_path / "lower"
    shutil.copytree(vitonhd_dataset, lower)
    manifest = lower / ".vtonkit" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"category": "upper"', '"category": "lower"'))
    assert export_dresscode(lower, out, progress=False).failures == []
    assert read_pairs(out / "lower_body" / "train_pairs.txt") and read_pairs(out / "upper_body" / "train_pairs.txt")
    assert read_pairs(out / "dresses" / "test_pairs_unpaired.txt") == []


def _digests(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("target, inner", [("stableviton", "test"), ("dresscode", "upper_body"),
                                           ("mask-inpaint", "train")])
@pytest.mark.parametrize("replace", [True, False])
def test_an_out_that_holds_the_source_is_refused_before_anything_is_removed(vitonhd_dataset: Path, tmp_path: Path,
                                                                            target: str, inner: str,
                                                                            replace: bool) -> None:
    """`export nest/test --to stableviton --out nest --replace` emptied nest/test, the source itself:
    only an --out inside the source was refused. An --out around it is now refused too, exit 2,
    with the source and the folder untouched."""
    nest = tmp_path / "nest"
    source = nest / inner
    shutil.copytree(vitonhd_dataset, source)
    before = _digests(nest)
    args = ["export", str(source), "--to", target, "--out", str(nest), "--no-progress"]
    result = CliRunner().invoke(app, args + (["--replace"] if replace else []), env={"COLUMNS": "400"})
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "holds the source" in said, said
    assert _digests(nest) == before


def test_an_import_into_a_folder_holding_its_source_is_refused(tmp_path: Path) -> None:
    """The import's side of the same check: its source would become a stray folder of the dataset."""
    nest = tmp_path / "nest"
    shutil.copytree(shared_path("data", "vitonhd"), nest / "vitonhd", symlinks=True)
    result = CliRunner().invoke(app, ["import", "vitonhd", str(nest / "vitonhd"), "--out", str(nest),
                                      "--no-progress"], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and "holds the source" in " ".join(result.output.split()), result.output
    assert sorted(p.name for p in nest.iterdir()) == ["vitonhd"]


def _with_shop_garment(vitonhd_dataset: Path, root: Path) -> Path:
    """The test split plus `shop_x`, a garment no person wears and the manifest does not know, named
    in 2 of the 5 pairs of the test list."""
    shutil.copytree(vitonhd_dataset, root)
    shutil.rmtree(root / "train")
    (root / "train_pairs.txt").unlink()
    test = root / "test"
    shutil.copy(test / "cloth" / "00008_00.jpg", test / "cloth" / "shop_x.jpg")
    shutil.copy(test / "cloth-mask" / "00008_00.jpg", test / "cloth-mask" / "shop_x.jpg")
    (root / "test_pairs.txt").write_text("00006_00.jpg shop_x.jpg\n00008_00.jpg 00013_00.jpg\n"
                                         "00013_00.jpg shop_x.jpg\n00017_00.jpg 00034_00.jpg\n"
                                         "00034_00.jpg 00006_00.jpg\n")
    return root


@pytest.mark.parametrize("export", [export_stableviton, export_mask_inpaint, export_dresscode])
def test_a_garment_of_unknown_category_is_not_dropped_with_its_pairs(vitonhd_dataset: Path, tmp_path: Path,
                                                                     export) -> None:
    """A shop garment the manifest records no category for was left out silently with the pairs
    naming it ("5 samples written, 0 failed", 3 of 5 pairs). As for persons, --category now gives it
    its category, and without one the export stops naming the garment, before writing anything."""
    dataset = _with_shop_garment(vitonhd_dataset, tmp_path / "gs")
    with pytest.raises(InputError, match=r"shop_x\.jpg: garment category unknown.*pass --category"):
        export(dataset, tmp_path / "refused", progress=False)
    assert not (tmp_path / "refused").exists()
    report = export(dataset, tmp_path / "out", category="upper", progress=False)
    assert report.failures == [] and ("test", "shop_x") in report.converted
    if export is export_dresscode:
        pairs = read_pairs(tmp_path / "out" / "upper_body" / "test_pairs_unpaired.txt")
        assert [c for _, c in pairs].count("shop-x_1.jpg") == 2 and len(pairs) == 5
    else:
        pairs = read_pairs(tmp_path / "out" / "test_pairs.txt")
        assert pairs == read_pairs(dataset / "test_pairs.txt")


def _with_placeholder(vitonhd_dataset: Path, root: Path) -> Path:
    """The test split with 00006_00's garment gone: `vtonkit pairs` gives it a placeholder copy of
    another garment; then the pair list is deleted, so the exports make their default one."""
    shutil.copytree(vitonhd_dataset, root)
    shutil.rmtree(root / "train")
    (root / "train_pairs.txt").unlink()
    for folder in ("cloth", "cloth-mask"):
        (root / "test" / folder / "00006_00.jpg").unlink()
    assert write_pair_list(root, "test", "unpaired", seed=0).placeholders.keys() == {"00006_00"}
    (root / "test_pairs.txt").unlink()
    return root


def test_default_pair_lists_never_offer_a_placeholder_and_keep_its_person(vitonhd_dataset: Path,
                                                                          tmp_path: Path) -> None:
    """Without a test pair list, Dress Code's default unpaired list offered the placeholder copy as a
    garment (`00034-00_0.jpg 00006-00_1.jpg`: a person in its own garment's twin) and StableVITON's
    left out the person with the placeholder. Every exporter now uses one default: each person,
    that one included, with the next real garment other than its own."""
    dataset = _with_placeholder(vitonhd_dataset, tmp_path / "ph")
    persons = ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]
    export_dresscode(dataset, tmp_path / "dc", progress=False)
    export_stableviton(dataset, tmp_path / "sv", progress=False)
    export_mask_inpaint(dataset, tmp_path / "mi", progress=False)
    dc = [(p.removesuffix("_0.jpg").replace("-", "_"), c.removesuffix("_1.jpg").replace("-", "_"))
          for p, c in read_pairs(tmp_path / "dc" / "upper_body" / "test_pairs_unpaired.txt")]
    for listed in (tmp_path / "sv" / "test_pairs.txt", tmp_path / "mi" / "test_pairs_unpaired.txt"):
        assert [(Path(p).stem, Path(c).stem) for p, c in read_pairs(listed)] == dc
    assert [p for p, _ in dc] == persons
    assert all(c != "00006_00" and c != p for p, c in dc), dc
    # the paired lists still leave the placeholder person out: it does not wear the copy
    assert "00006-00_0.jpg" not in (tmp_path / "dc" / "upper_body" / "test_pairs_paired.txt").read_text()
    assert "00006_00.jpg" not in (tmp_path / "mi" / "test_pairs_paired.txt").read_text()


def test_the_default_pairs_rotate_like_the_importers_without_placeholders() -> None:
    """Without placeholders or garment-only samples the shared default is the importers' rotation;
    a person's own-product copy (`own`) is its garment and not offered to it in the unpaired list."""
    stems = ["a", "b", "c"]
    assert default_pairs("test", set(stems), set(), {}) == source_default_pairs("test", stems)
    assert default_pairs("train", set(stems), set(), {}) == source_default_pairs("train", stems)
    own = {"b": {"copied_from": "g", "own": True}}
    assert default_pairs("test", {"a", "b"}, {"g"}, own) == [("a.jpg", "g.jpg"), ("b.jpg", "a.jpg")]
    assert default_pairs("train", {"a", "b"}, {"g"}, own) == [("a.jpg", "a.jpg"), ("b.jpg", "b.jpg")]
    # one person and no other garment: its own, so StableVITON's paired test still has it
    assert default_pairs("test", {"a"}, set(), {}) == [("a.jpg", "a.jpg")]
    assert default_pairs("test", {"a"}, set(), {"a": {"copied_from": "z"}}) == []


def test_a_mask_inpaint_export_writes_the_paired_list_when_no_person_wears_its_own(vitonhd_dataset: Path,
                                                                                   tmp_path: Path) -> None:
    """Every test person with a placeholder garment (a shop's products only): the mask-inpaint export left
    test_pairs_paired.txt out, which its readers open (the Dress Code export wrote it empty)."""
    root = tmp_path / "shop"
    shutil.copytree(vitonhd_dataset, root)
    for folder in ("cloth", "cloth-mask"):
        shutil.copy(root / "test" / folder / "00006_00.jpg", root / "test" / folder / "shop-x.jpg")
        for person in ("00006_00", "00008_00", "00013_00", "00017_00", "00034_00"):
            (root / "test" / folder / f"{person}.jpg").unlink()
    assert len(write_pair_list(root, "test", "unpaired", seed=0).placeholders) == 5
    export_mask_inpaint(root, tmp_path / "mi", category="upper", progress=False)
    paired = tmp_path / "mi" / "test_pairs_paired.txt"
    assert paired.is_file() and paired.read_text() == ""
    assert read_pairs(tmp_path / "mi" / "test_pairs_unpaired.txt")
