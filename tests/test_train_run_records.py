"""`vtonkit train`: what a run's files record and what it says of them (the recipe behind an
--init-disc resume file, a damaged resume file, the pair list run.json records)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import shared_path

DOCS = Path(__file__).parents[1] / "docs" / "training.md"


def _pair_list(path: Path, names: list[str]) -> Path:
    path.write_text("".join(f"{n}.jpg {n}.jpg\n" for n in names))
    return path


def _options(dataset: Path, run: Path, pairs: Path | None, **changes: object):
    """Tiny networks on the test split: a step takes about a second in-process."""
    from vtonkit.vton_infer.train.runner import TrainOptions

    settings = {"split": "test", "pairs": pairs, "batch_size": 1, "steps": 1, "width": 8, "disc_width": 8,
                "vgg_width": 16, **changes}
    return TrainOptions(dataset, run, **settings)


def test_init_disc_from_a_run_of_another_recipe_names_the_recipe(tmp_path: Path) -> None:
    """--init-disc RUN/resume.pt of a --recipe readme run, on a run without --recipe, asked whether the
    file was "trained at the width this run builds": the readme discriminator's dropout layers shift its
    keys, and the width was right. The recipe the resume file records is named, with the fix; the docs'
    fine-tune-again example passes the recipe of the run it starts from."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import InputError

    dataset, pairs = shared_path("data", "vitonhd"), _pair_list(tmp_path / "one.txt", ["00006_00"])
    first = tmp_path / "readme"
    train(_options(dataset, first, pairs, recipe="readme"))
    with pytest.raises(InputError, match=r"resume\.pt: its discriminator does not fit this run's: was trained with "
                                         r"--recipe readme, this run builds --recipe default: pass --recipe readme "
                                         r"to start from it") as caught:
        train(_options(dataset, tmp_path / "default", pairs, init_disc=first / "resume.pt"))
    assert "width" not in str(caught.value)
    assert train(_options(dataset, tmp_path / "again", pairs, recipe="readme",
                          init_disc=first / "resume.pt")).steps_done == 1

    commands = [" ".join(line.split()) for line in DOCS.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
                if line.startswith("vtonkit train ")]
    (stage1,) = [c for c in commands if "--stage condition" in c and c.endswith("--out runs/lower-tocg")]
    (again,) = [c for c in commands if "--init-disc runs/lower-tocg/resume.pt" in c]
    recipe = re.search(r"--recipe (\S+)", stage1).group(1)
    assert f"--recipe {recipe}" in again, again


@pytest.mark.parametrize("damage", ["cut", "junk"])
def test_a_damaged_resume_file_says_a_way_out_that_works(tmp_path: Path, damage: str) -> None:
    """A resume.pt cut short said torch's whole paragraph ("PytorchStreamReader ... This is an internal
    miniz error. If you are seeing this error ...") and "start the run again without --resume", which
    refuses the folder ("already holds a run with a checkpoint ... pass --resume"): a circle, while
    the step checkpoints beside it were intact. The reason is short, and the way out it names (a new
    --out, from the last step checkpoint) trains."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import FormatError, VtonkitError

    dataset, pairs = shared_path("data", "vitonhd"), _pair_list(tmp_path / "one.txt", ["00006_00"])
    run = tmp_path / "run"
    train(_options(dataset, run, pairs, steps=2, checkpoint_every=1))
    resume = run / "resume.pt"
    whole = resume.read_bytes()
    resume.write_bytes(whole[:len(whole) // 2] if damage == "cut" else b"\x80\x05junk that is no pickle")
    with pytest.raises(FormatError) as caught:
        train(_options(dataset, run, pairs, steps=3, resume=True))
    said = str(caught.value)
    assert said.startswith(f"{resume}: cannot read the resume file ("), said
    for raw in ("miniz", "PytorchStreamReader", "If you are seeing", "543911541", "\n"):
        assert raw not in said, said
    last = run / "checkpoints" / "mtviton_step0000002.pth"
    assert f"start a new run without --resume in another --out, from its last trained weights: --init-tocg {last}" \
        in said, said
    with pytest.raises(VtonkitError, match="already holds a run with a checkpoint"):  # the folder stays refused
        train(_options(dataset, run, pairs, steps=3))
    assert train(_options(dataset, tmp_path / "new", pairs, init_tocg=last)).steps_done == 1


def test_run_json_records_the_pair_list_training_read_by_content(tmp_path: Path, monkeypatch) -> None:
    """`--pairs my_pairs.txt` (a name inside the dataset root, which training reads) was recorded as
    <cwd>/my_pairs.txt, a file that does not exist, and the pair list's sha256 that docs/training.md
    promises was never recorded (the default pair list: `pairs` null, no hash). Both name the file read."""
    import hashlib
    import json
    import shutil

    from vtonkit.vton_infer.train.runner import train

    dataset = tmp_path / "ds"
    shutil.copytree(shared_path("data", "vitonhd", "test"), dataset / "test")
    named = _pair_list(dataset / "my_pairs.txt", ["00006_00"])
    default = _pair_list(dataset / "test_pairs.txt", ["00008_00"])
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for run, given, read in ((tmp_path / "named", Path("my_pairs.txt"), named), (tmp_path / "default", None, default)):
        train(_options(dataset, run, given))
        record = json.loads((run / "run.json").read_text(encoding="utf-8"))
        assert record["pairs"] == str(read.resolve()), record["pairs"]
        assert record["files"]["pairs"] == f"sha256:{hashlib.sha256(read.read_bytes()).hexdigest()[:16]}"
