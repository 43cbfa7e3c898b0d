"""Pair lists, train/test assignment and the own-garment rule (vtonkit.datasets.pairing, `vtonkit pairs`)."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner
from vtonkit.datasets import layout
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.masks import read_mask
from vtonkit.datasets.manifest import CLOTHS, PERSONS, PLACEHOLDERS, Manifest, manifest_path
from vtonkit.datasets.pairing import find_file_leakage, find_leakage, make_pairs, split_of, split_pool, write_pair_list
from vtonkit.datasets.pairs import read_pairs

from vtonkit.cli import app
from vtonkit.core.errors import VtonkitError


def copy_vitonhd(source: Path, target: Path) -> Path:
    """A throw-away copy of the genuine VITON-HD samples (both splits) under `target`."""
    for split in layout.SPLITS:
        for folder in layout.ALL_FOLDERS:
            shutil.copytree(source / split / folder, target / split / folder)
    return target


def test_split_pool_is_deterministic_disjoint_and_stable_when_items_are_added():
    ids = [f"item{i}" for i in range(400)]
    train, test = split_pool(ids, 0.2, seed=3)
    assert not set(train) & set(test) and set(train) | set(test) == set(ids)
    assert 40 <= len(test) <= 120  # hash split: ~20 %
    assert split_pool(reversed(ids), 0.2, seed=3) == (train, test)
    train2, test2 = split_pool(ids + [f"new{i}" for i in range(50)], 0.2, seed=3)
    assert set(test) <= set(test2) and set(train) <= set(train2)  # existing items never move
    assert split_pool(ids, 0.2, seed=4) != (train, test)
    assert all(split_of(i, 0.0) == "train" for i in ids) and all(split_of(i, 1.0) == "test" for i in ids)


def test_unpaired_pairs_never_pair_a_person_with_itself_and_spread_garments_evenly():
    persons = [f"p{i:02d}" for i in range(12)] + ["g1"]
    garments = ["g1", "g2", "g3", "g4"]
    pairs = make_pairs(persons, garments, "unpaired", own_garments=set(), seed=7)
    assert [p for p, _ in pairs] == sorted(persons)
    assert all(p != g for p, g in pairs)
    uses = Counter(g for _, g in pairs)
    assert max(uses.values()) - min(uses.values()) <= 1
    assert make_pairs(persons, garments, "unpaired", own_garments=set(), seed=7) == pairs
    assert make_pairs(persons, garments, "unpaired", own_garments=set(), seed=8) != pairs
    assert make_pairs(["a", "b"], ["a", "x"], "paired", own_garments={"a"}) == [("a", "a")]
    assert len(make_pairs(["a", "b"], ["x", "y", "z"], "all", own_garments=set())) == 6


def test_vitonhd_paired_and_unpaired_lists(vitonhd, tmp_path):
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    stems = layout.DatasetLayout(dataset).split("test").person_stems()
    paired = write_pair_list(dataset, "test", "paired")
    assert read_pairs(paired.path) == [(f"{s}.jpg", f"{s}.jpg") for s in stems]
    unpaired = write_pair_list(dataset, "test", "unpaired", seed=1)
    pairs = read_pairs(unpaired.path)
    assert len(pairs) == len(stems) and all(p != c for p, c in pairs)
    assert not unpaired.placeholders  # VITON-HD persons have their own garment


def test_a_split_that_was_never_made_is_named_as_such(vitonhd, tmp_path):
    """`pairs --split train` on a dataset with test/ only said "train: no complete person sample"
    (prep --split auto can put every sample of a small shop in one split)."""
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    shutil.rmtree(dataset / "train")
    with pytest.raises(VtonkitError, match=r"train: no such split folder \(the dataset has test\); choose one with --split"):
        write_pair_list(dataset, "train", "paired")


def _crawled_like(vitonhd: Path, root: Path) -> Path:
    """A test split whose persons have no own garment: garments renamed to shop-like stems."""
    source = vitonhd / "test"
    split = layout.DatasetLayout(root).split("test")
    for folder in layout.PERSON_FOLDERS:
        shutil.copytree(source / folder, split.root / folder)
    (split.root / layout.CLOTH).mkdir(parents=True)
    (split.root / layout.CLOTH_MASK).mkdir(parents=True)
    manifest = Manifest.load(root)
    for index, stem in enumerate(sorted(p.stem for p in (source / "cloth").glob("*.jpg"))[:3]):
        shutil.copy(source / "cloth" / f"{stem}.jpg", split.cloth(f"shop_{index}"))
        shutil.copy(source / "cloth-mask" / f"{stem}.jpg", split.cloth_mask(f"shop_{index}"))
        manifest.entries("test", CLOTHS)[f"shop_{index}"] = {"sha256": f"sha{index}", "category": "upper"}
    manifest.save()
    return root


def test_test_persons_without_own_garment_get_recorded_placeholders(vitonhd, tmp_path):
    dataset = _crawled_like(vitonhd, tmp_path / "ds")
    split = layout.DatasetLayout(dataset).split("test")
    persons = split.person_stems()
    with pytest.raises(VtonkitError, match="no paired pair"):
        write_pair_list(dataset, "test", "paired")
    result = write_pair_list(dataset, "test", "unpaired", seed=0)
    pairs = read_pairs(result.path)
    assert [p for p, _ in pairs] == [f"{s}.jpg" for s in persons]
    assert all(c.startswith("shop_") for _, c in pairs)
    assert set(result.placeholders) == set(persons)
    for person, cloth in pairs:
        person_stem, cloth_stem = person[:-4], cloth[:-4]
        # What the official test loader opens for column 1 exists and is the assigned garment's copy.
        assert split.cloth(person_stem).read_bytes() == split.cloth(cloth_stem).read_bytes()
        assert np.array_equal(read_mask(split.cloth_mask(person_stem)), read_mask(split.cloth_mask(cloth_stem)))
        assert read_rgb(split.cloth(person_stem)).shape == (1024, 768, 3)
    placeholders = Manifest.load(dataset).entries("test", PLACEHOLDERS)
    assert {p: r["copied_from"] for p, r in placeholders.items()} == result.placeholders
    # Placeholders are never offered as garments, and are reused as they are.
    again = write_pair_list(dataset, "test", "all")
    assert {c for _, c in read_pairs(again.path)} == {f"shop_{i}.jpg" for i in range(3)}
    assert again.placeholders == {p: result.placeholders[p] for p in persons}


def test_train_lists_never_get_placeholders(vitonhd, tmp_path):
    dataset = _crawled_like(vitonhd, tmp_path / "ds")
    src = layout.DatasetLayout(dataset).split("test").root
    shutil.move(src, src.parent / "train")
    manifest = Manifest.load(dataset)
    manifest.splits["train"] = manifest.splits.pop("test")
    manifest.save()
    with pytest.raises(VtonkitError, match="no unpaired pair") as refused:
        write_pair_list(dataset, "train", "unpaired")
    assert not list((dataset / "train" / "cloth").glob("0*.jpg"))
    # it recommended the option just used ("use --mode unpaired on the test split")
    said = str(refused.value)
    assert "use --mode unpaired" not in said, said
    assert "training needs each person's own garment under the same stem, cloth/<person>.jpg" in said, said
    assert "vtonkit prep --split auto" in said and "placeholder garments only on the test split" in said, said


def test_leakage_between_splits_is_refused(vitonhd, tmp_path):
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    manifest = Manifest.load(dataset)
    manifest.entries("train", PERSONS)["00000_00"] = {"sha256": "same"}
    manifest.entries("test", PERSONS)["00006_00"] = {"sha256": "same"}
    manifest.entries("train", CLOTHS)["00001_00"] = {"sha256": "c1", "store": "s", "product_id": "42"}
    manifest.entries("test", CLOTHS)["00008_00"] = {"sha256": "d1", "store": "s", "product_id": "42"}
    manifest.save()
    problems = find_leakage(Manifest.load(dataset), layout.DatasetLayout(dataset))
    assert any("train/00000_00 and test/00006_00" in p for p in problems) and any("s/42" in p for p in problems)
    with pytest.raises(VtonkitError, match="leakage"):
        write_pair_list(dataset, "test", "unpaired")
    assert write_pair_list(dataset, "test", "unpaired", allow_leakage=True).pairs


def test_leakage_on_disk_is_refused_without_a_manifest(vitonhd, tmp_path):
    # An imported or hand-made layout has no manifest; `validate` finds the leak in its files, and so
    # must `pairs`, before it writes a list that evaluates on training data.
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    assert not manifest_path(dataset).exists()
    assert write_pair_list(dataset, "test", "unpaired").pairs  # the genuine splits are disjoint
    data = layout.DatasetLayout(dataset)
    train, test = data.split("train"), data.split("test")
    person, garment = train.person_stems()[0], train.cloth_stems()[0]
    # A train person copied into test under a new name, and a train garment under its own name.
    for name, target in ((train.image(person), test.image("renamed_copy")),
                         (train.cloth(garment), test.cloth(garment))):
        shutil.copyfile(name, target)
    problems = find_file_leakage(data, Manifest.load(dataset))
    assert f"test/image/renamed_copy.jpg has the same bytes as train/image/{person}.jpg" in problems
    assert f"cloth/{garment}.jpg is in both train and test" in problems
    with pytest.raises(VtonkitError, match="leakage.*renamed_copy"):
        write_pair_list(dataset, "test", "unpaired")
    result = CliRunner().invoke(app, ["pairs", str(dataset), "--split", "test"])
    assert result.exit_code != 0 and "leakage" in result.output
    assert write_pair_list(dataset, "test", "unpaired", allow_leakage=True).pairs


def test_pairs_command_writes_the_official_format(vitonhd, tmp_path):
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    result = CliRunner().invoke(app, ["pairs", str(dataset), "--split", "test", "--mode", "unpaired", "--seed", "2"])
    assert result.exit_code == 0, result.output
    lines = (dataset / "test_pairs.txt").read_text().splitlines()
    assert lines and all(len(line.split()) == 2 and line.endswith(".jpg") for line in lines)
    bad = CliRunner().invoke(app, ["pairs", str(dataset), "--mode", "sideways"])
    assert bad.exit_code != 0


def test_a_photo_name_with_a_space_is_skipped_by_name_and_the_list_written(vitonhd, tmp_path):
    """`my photo.jpg` cannot stand in a whitespace-split pair list: skipped with a message, not exit 1."""
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    test = dataset / "test"
    for path in list(test.rglob("00006_00*")):
        path.rename(path.with_name(path.name.replace("00006_00", "my photo")))
    result = CliRunner().invoke(app, ["pairs", str(dataset), "--split", "test"])
    assert result.exit_code == 0, result.output
    assert "skipped test/image/my photo.jpg" in result.output
    pairs = read_pairs(dataset / "test_pairs.txt")
    names = {name for pair in pairs for name in pair}
    assert "my photo.jpg" not in names and len(pairs) == len(layout.SplitDir(test).person_stems()) - 1


def test_a_broken_own_garment_is_skipped_by_name_and_never_overwritten(vitonhd, tmp_path):
    """A folder, a dangling link or half an own garment where a test placeholder would go: that person
    is left out by name, the half garment keeps its bytes, the others are listed (no traceback)."""
    dataset = copy_vitonhd(vitonhd, tmp_path / "ds")
    test = layout.SplitDir(dataset / "test")
    test.cloth_mask("00006_00").unlink()
    test.cloth_mask("00006_00").mkdir()
    own_cloth = test.cloth("00008_00").read_bytes()
    test.cloth_mask("00008_00").unlink()
    test.cloth("00013_00").unlink()
    test.cloth("00013_00").symlink_to("nowhere.jpg")
    result = CliRunner().invoke(app, ["pairs", str(dataset), "--split", "test", "--mode", "unpaired"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "skipped test/cloth-mask/00006_00.jpg: not a regular file (a folder)" in said
    assert "skipped test/cloth/00008_00.jpg: the person's own garment has no cloth-mask/00008_00.jpg" in said
    assert "skipped test/cloth/00013_00.jpg: dangling symbolic link" in said
    assert test.cloth("00008_00").read_bytes() == own_cloth and not test.cloth_mask("00008_00").exists()
    names = {name for pair in read_pairs(dataset / "test_pairs.txt") for name in pair}
    assert names and not names & {"00006_00.jpg", "00008_00.jpg", "00013_00.jpg"}


def test_an_id_with_a_lone_surrogate_has_one_stable_split():
    """A product id read from a JSON escape ("\\udc80") raised UnicodeEncodeError and stopped pairing."""
    odd = "tee-\udc80"
    assert split_of(odd, 0.5) == split_of(odd, 0.5) in ("train", "test")
    assert split_of("tee-1", 0.5, seed=3) == split_of("tee-1", 0.5, seed=3)
    assert {split_of(f"x{n}\udc80", 0.5) for n in range(40)} == {"train", "test"}


def test_a_persons_real_garment_is_never_overwritten_by_another_shot_of_its_product(tmp_path: Path) -> None:
    """Two garment shots of one product, one of them under the person's own stem: the person has its
    own garment already; the own-garment link copied the other shot over it (both halves present and
    not a recorded placeholder passed the blocker)."""
    from vtonkit.datasets.layout import SplitDir
    from vtonkit.datasets.pairing import link_own_garments

    split = SplitDir(tmp_path / "test")
    for stem, byte in (("z_model", b"A"), ("a_shot", b"B")):
        for path in (split.cloth(stem), split.cloth_mask(stem)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(byte * 64)
    product = {"store": "shop.example", "product_id": "123"}
    placeholders: dict = {}
    copies = link_own_garments(split, ["z_model"], {"z_model": product}, {"z_model": product, "a_shot": product},
                               {"z_model", "a_shot"}, placeholders)
    assert copies == {} and placeholders == {}
    assert split.cloth("z_model").read_bytes() == b"A" * 64 and split.cloth_mask("z_model").read_bytes() == b"A" * 64
