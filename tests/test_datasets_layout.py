"""Layout names and pair lists."""
from __future__ import annotations

from pathlib import Path

import pytest
from vtonkit.datasets.layout import DatasetLayout, SplitDir, stem_of
from vtonkit.datasets.pairs import read_pairs, write_pairs

from vtonkit.core.errors import FormatError, InputError


def test_file_names_follow_hrviton(vitonhd):
    split = SplitDir(vitonhd / "test")
    stems = split.person_stems()
    assert stems == ["00006_00", "00008_00", "00013_00", "00017_00", "00034_00"]
    for stem in stems:
        for path in [*split.person_files(stem).values(), *split.cloth_files(stem).values()]:
            assert path.is_file(), path
    assert split.openpose_img("a").name == "a_rendered.png" and split.agnostic_mask("a").name == "a_mask.png"
    assert stem_of("00891_00.jpg") == "00891_00"
    assert DatasetLayout("/d").pairs_file("test").name == "test_pairs.txt"
    with pytest.raises(ValueError):
        DatasetLayout("/d").split("val")


def test_pairs_round_trip_and_errors(tmp_path):
    pairs = [("00006_00.jpg", "00008_00.jpg"), ("00008_00.jpg", "00006_00.jpg")]
    write_pairs(tmp_path / "test_pairs.txt", pairs)
    assert (tmp_path / "test_pairs.txt").read_text() == "00006_00.jpg 00008_00.jpg\n00008_00.jpg 00006_00.jpg\n"
    assert read_pairs(tmp_path / "test_pairs.txt") == pairs
    (tmp_path / "bad.txt").write_text("a.jpg b.jpg\n\nc.jpg d.jpg\n")
    with pytest.raises(FormatError, match="line 2: blank line"):
        read_pairs(tmp_path / "bad.txt")
    with pytest.raises(ValueError):
        write_pairs(tmp_path / "x.txt", [("a b.jpg", "c.jpg")])
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfa.jpg b.jpg\n")
    with pytest.raises(FormatError, match="bom.txt: starts with a UTF-8 byte-order mark"):
        read_pairs(tmp_path / "bom.txt")
    (tmp_path / "outside.txt").write_text("a.jpg b.jpg\na.jpg ..\\..\\b.jpg\n")
    with pytest.raises(FormatError, match=r"line 2: '\.\.\\\\\.\.\\\\b\.jpg' holds a folder"):
        read_pairs(tmp_path / "outside.txt")
    (tmp_path / "latin1.txt").write_bytes("a.jpg caf\xe9.jpg\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not UTF-8 text"):
        read_pairs(tmp_path / "latin1.txt")


def test_a_pair_list_that_is_a_folder_or_a_link_loop_says_so(tmp_path: Path) -> None:
    """Not 'pair list not found' for a path that is there: what is wrong with it, by name."""
    folder = tmp_path / "test_pairs.txt"
    folder.mkdir()
    loop = tmp_path / "loop_pairs.txt"
    loop.symlink_to(loop.name)
    for path, reason in ((folder, "a folder"), (loop, "symbolic link loop"), (tmp_path / "none.txt", "not found")):
        with pytest.raises(InputError, match=reason) as caught:
            read_pairs(path)
        assert caught.value.path == path
