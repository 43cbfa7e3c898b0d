"""`vtonkit train`: what a run is told about its data and its init files (resumed on other data,
too few usable samples, repeated pair-list lines, an init file of another width)."""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import shared_path


def _pair_list(path: Path, names: list[str]) -> Path:
    path.write_text("".join(f"{n}.jpg {n}.jpg\n" for n in names))
    return path


def _options(dataset: Path, run: Path, pairs: Path, **changes: object):
    """Tiny networks on the test split: a step takes about a second in-process."""
    from vtonkit.vton_infer.train.runner import TrainOptions

    settings = {"split": "test", "pairs": pairs, "batch_size": 1, "steps": 1, "width": 8, "disc_width": 8,
                "vgg_width": 16, **changes}
    return TrainOptions(dataset, run, **settings)


def _copy_of_the_test_split(root: Path) -> Path:
    shutil.copytree(shared_path("data", "vitonhd", "test"), root / "test")
    return root


def test_resuming_on_another_dataset_folder_or_changed_files_is_said(tmp_path: Path, caplog) -> None:
    """--resume on a copy of the dataset with one photo mirrored went on without a word, and run.json
    switched its dataset: only the persons' names were compared. Another folder is said naming both,
    and so are files replaced under the same names; the same data again says nothing."""
    from vtonkit.vton_infer.train.runner import train

    first, second = _copy_of_the_test_split(tmp_path / "a"), tmp_path / "b"
    pairs = _pair_list(tmp_path / "one.txt", ["00006_00"])
    run = tmp_path / "run"
    train(_options(first, run, pairs, steps=1))
    shutil.copytree(first, second)
    photo = second / "test" / "image" / "00006_00.jpg"
    Image.fromarray(np.asarray(Image.open(photo))[:, ::-1]).save(photo)

    with caplog.at_level(logging.WARNING):
        train(_options(second, run, pairs, steps=2, resume=True))
    said = " ".join(caplog.text.split())
    assert f"was trained on {first.resolve()}/test" in said and f"resuming on {second.resolve()}/test" in said
    assert "another dataset folder" in said and "do not read the batches" in said

    caplog.clear()
    stat = photo.stat()
    Image.fromarray(np.asarray(Image.open(photo))[:, ::-1]).save(photo)  # back as it was
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with caplog.at_level(logging.WARNING):
        train(_options(second, run, pairs, steps=3, resume=True))
    said = " ".join(caplog.text.split())
    assert "the same persons, but their files differ (sizes or modification times)" in said and "another dataset folder" not in said

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        train(_options(second, run, pairs, steps=4, resume=True))
    assert "was trained on" not in caplog.text


def test_fewer_usable_samples_than_a_batch_is_refused_naming_one(tmp_path: Path) -> None:
    """With 2 of 3 parse maps junk, a run of batch 2 exited 0, each batch the one good person twice:
    only the listed count was checked against the batch. Refused once the bad ones are found; the
    error names a bad sample as "name (file: reason)", not a Python tuple."""
    from vtonkit.vton_infer.train.data import TrainingDataset
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import VtonkitError

    dataset = _copy_of_the_test_split(tmp_path / "ds")
    persons = ["00006_00", "00008_00", "00013_00"]
    pairs = _pair_list(tmp_path / "three.txt", persons)
    for person in persons[1:]:
        (dataset / "test" / "image-parse-v3" / f"{person}.png").write_bytes(b"junk")
    with pytest.raises(VtonkitError, match=r"1 of 3 listed training samples left \(2 bad, e\.g\. 000(08|13)_00 "
                                           r"\(\S+image-parse-v3/000(08|13)_00\.png: not an image.*\)\), fewer than "
                                           r"one batch of 2") as caught:
        train(_options(dataset, tmp_path / "run", pairs, batch_size=2, steps=2))
    assert "('" not in str(caught.value)

    (dataset / "test" / "image-parse-v3" / "00006_00.png").write_bytes(b"junk")
    with pytest.raises(VtonkitError, match=r"no readable training sample \(3 bad, e\.g\. 000\d\d_00 \(\S+\.png: "):
        TrainingDataset(dataset, "test", pairs)[0]


def test_a_data_error_in_a_worker_process_reads_as_with_no_worker(tmp_path: Path) -> None:
    """With --workers 1 the same refusal reached the user wrapped in torch's "Caught VtonkitError in
    DataLoader worker process 0 ... Original Traceback", the traceback printed under the message."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import VtonkitError

    dataset = _copy_of_the_test_split(tmp_path / "ds")
    persons = ["00006_00", "00008_00", "00013_00"]
    pairs = _pair_list(tmp_path / "three.txt", persons)
    for person in persons[1:]:
        (dataset / "test" / "image-parse-v3" / f"{person}.png").write_bytes(b"junk")
    with pytest.raises(VtonkitError) as caught:
        train(_options(dataset, tmp_path / "run", pairs, batch_size=2, steps=2, workers=1))
    message = str(caught.value)
    assert message.startswith(f"{dataset / 'test'}: 1 of 3 listed training samples left"), message
    assert "Traceback" not in message and "DataLoader worker" not in message and "\n" not in message


def test_repeated_pair_list_lines_are_said(tmp_path: Path, caplog) -> None:
    """A pair list naming a person on two lines trained it once without a word (run.json said 2
    samples for 3 lines); `infer` says how many lines repeated one, and so does training now."""
    from vtonkit.vton_infer.train.data import TrainingDataset

    pairs = _pair_list(tmp_path / "dup.txt", ["00006_00", "00006_00", "00008_00"])
    with caplog.at_level(logging.WARNING):
        dataset = TrainingDataset(shared_path("data", "vitonhd"), "test", pairs)
    assert dataset.names == ["00006_00", "00008_00"]
    assert f"{pairs}: 1 repeated pair-list lines (a person listed again) trained once" in caplog.text


def test_an_init_file_of_another_width_names_both_widths(tmp_path: Path) -> None:
    """An --init-tocg file trained at width 8 on a --width 16 run asked "was it trained at the --width
    given (none: the official width)?" although --width 16 was given: the hint was static text. It
    now names the width the run builds and the one the file's shapes show, and what to pass."""
    from vtonkit.vton_infer.checkpoints import InitHint, load_state
    from vtonkit.vton_infer.networks import SPADEGenerator
    from vtonkit.vton_infer.train.discriminators import ConditionDiscriminator
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import FormatError

    dataset, pairs, run = shared_path("data", "vitonhd"), _pair_list(tmp_path / "one.txt", ["00006_00"]), tmp_path / "run"
    train(_options(dataset, run, pairs))  # width 8, disc width 8
    with pytest.raises(FormatError, match=r"\(mtviton\.pth for --init-tocg\)\? Its shapes say it was trained at "
                                          r"width 8, and this run builds --width 16: pass --width 8 to start from it"):
        train(_options(dataset, tmp_path / "wider", pairs, init_tocg=run / "mtviton.pth", width=16))
    with pytest.raises(FormatError, match=r"trained at width 8, and this run builds the official width 96 \(no "
                                          r"--width given\): pass --width 8"):
        train(_options(dataset, tmp_path / "official", pairs, init_tocg=run / "mtviton.pth", width=None))
    with pytest.raises(FormatError, match=r"for --init-disc\)\? Its shapes say it was trained at width 8, and this "
                                          r"run builds --disc-width 16: pass --disc-width 8"):
        train(_options(dataset, tmp_path / "disc", pairs, init_disc=run / "resume.pt", disc_width=16))

    with pytest.raises(FormatError, match=r"\(gen\.pth for --init-gen\)\? Its shapes say it was trained at width 4, "
                                          r"and this run builds --width 8: pass --width 4"):
        load_state(SPADEGenerator(ngf=8), SPADEGenerator(ngf=4).state_dict(), "gen.pth",
                   hint=InitHint("gen.pth for --init-gen", "--width", 8, 64))
    with pytest.raises(FormatError, match=r"trained at width 64, and this run builds --disc-width 8: leave out "
                                          r"--disc-width to start from it"):
        load_state(ConditionDiscriminator(ndf=8), ConditionDiscriminator(ndf=64).state_dict(), "disc.pth",
                   hint=InitHint("a discriminator for --init-disc", "--disc-width", 8, 64))


def test_a_vgg_width_run_counts_its_random_vgg_loss_as_the_docs_say(tmp_path: Path) -> None:
    """docs/training.md said a --vgg-width run "does not use a perceptual loss at all", but its `vgg`
    (stage 2: `g_vgg`) goes through the narrow random VGG and is counted in g_total, as the code
    means it (`builders.narrow_vgg19`: a stand-in, not the official perceptual loss)."""
    from vtonkit.vton_infer.train.condition_stage import ConditionStageConfig
    from vtonkit.vton_infer.train.runner import train

    pairs, run = _pair_list(tmp_path / "one.txt", ["00006_00"]), tmp_path / "run"
    train(_options(shared_path("data", "vitonhd"), run, pairs))
    record = json.loads((run / "losses.jsonl").read_text().splitlines()[0])
    cfg = ConditionStageConfig()
    counted = (cfg.l1_lambda * record["l1_cloth"] + record["vgg"] + cfg.tv_lambda * record["tv"]
               + cfg.ce_lambda * record["ce"] + cfg.gan_lambda * record["g_gan"])
    assert record["vgg"] > 0 and record["g_total"] == pytest.approx(counted, rel=1e-4)
    docs = " ".join((Path(__file__).parents[1] / "docs" / "training.md").read_text(encoding="utf-8").split())
    assert "does not use a perceptual loss at all" not in docs
    assert "computes the VGG loss (`vgg`, `g_vgg`) through that narrow random network and counts it in `g_total`" in docs


@pytest.mark.parametrize(("trained", "category", "words"), [("upper", "lower", "an upper-body garment where the "
                                                             "lower-body one goes"),
                                                            ("dresses", "upper", "a dress where the upper-body one goes")])
def test_a_checkpoint_of_another_category_is_named_in_plain_words(tmp_path: Path, trained: str, category: str,
                                                                 words: str) -> None:
    """The refusal said "it would draw a upper garment" (and "a dresses garment")."""
    from vtonkit.vton_infer.train.run_files import category_mismatch

    (tmp_path / "run.json").write_text(json.dumps({"category": trained}))
    (tmp_path / "mtviton.pth").write_bytes(b"weights")
    said = category_mismatch([tmp_path / "mtviton.pth"], category)
    assert f"was trained for {trained} garments" in said and f"it would draw {words};" in said


def test_a_dataset_without_a_recorded_category_is_said_to_train_upper(tmp_path: Path) -> None:
    """A lower-body dataset built or copied by hand (no .vtonkit manifest) trained an upper-body model
    without a word; a manifest's category, or --category, needs no note."""
    from typer.testing import CliRunner

    from vtonkit.cli import app
    from vtonkit.datasets.importers.dresscode import import_dresscode

    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00"])
    tiny = ["--split", "test", "--pairs", str(pairs), "--batch-size", "1", "--steps", "1", "--width", "8",
            "--disc-width", "8", "--vgg-width", "16", "--stage", "condition"]
    unrecorded = _copy_of_the_test_split(tmp_path / "copied")
    said = CliRunner().invoke(app, ["train", str(unrecorded), *tiny, "--out", str(tmp_path / "a")])
    text = " ".join(said.output.split())
    assert said.exit_code == 0, text
    assert "no garment category is recorded for" in text and "training for upper-body garments" in text
    said = CliRunner().invoke(app, ["train", str(unrecorded), *tiny, "--category", "upper", "--out", str(tmp_path / "b")])
    assert said.exit_code == 0 and "no garment category is recorded" not in said.output
    lower = tmp_path / "lower"
    assert import_dresscode(shared_path("data", "dresscode", "lower_body"), lower, category="lower",
                            progress=False).converted
    name = sorted(p.stem for p in (lower / "train" / "cloth").glob("*.jpg"))[0]
    said = CliRunner().invoke(app, ["train", str(lower), "--split", "train", "--batch-size", "1", "--steps", "1",
                                    "--width", "8", "--disc-width", "8", "--vgg-width", "16", "--stage", "condition",
                                    "--pairs", str(_pair_list(tmp_path / "lower.txt", [name])),
                                    "--out", str(tmp_path / "c")])
    assert said.exit_code == 0, said.output
    assert "no garment category is recorded" not in said.output


def test_samples_whose_files_are_missing_are_counted_before_the_first_step(tmp_path: Path) -> None:
    """A pair list of names the dataset does not hold (Dress Code's raw names): "1 of 3 listed training
    samples usable (2 bad)" when none was, the third simply not tried yet; with one missing and one
    corrupt sample of three, a step was trained on a batch of the one good sample twice."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import VtonkitError

    dataset = _copy_of_the_test_split(tmp_path / "ds")
    unknown = _pair_list(tmp_path / "raw.txt", ["013563_0", "013564_0", "013565_0"])
    with pytest.raises(VtonkitError, match=r"no readable training sample \(3 bad, e\.g\. 013563_0 \(\S+013563_0\.jpg: "
                                           r"no such file\)\)"):
        train(_options(dataset, tmp_path / "run", unknown, batch_size=2, steps=2))
    mixed = _pair_list(tmp_path / "mixed.txt", ["00006_00", "missing_00", "00013_00"])
    (dataset / "test" / "image-parse-v3" / "00013_00.png").write_bytes(b"junk")
    with pytest.raises(VtonkitError, match="1 of 3 listed training samples left"):
        train(_options(dataset, tmp_path / "run2", mixed, batch_size=2, steps=2))
    assert not (tmp_path / "run2" / "losses.jsonl").is_file() or not (tmp_path / "run2" / "losses.jsonl").read_text()


@pytest.mark.parametrize("stage", ["condition", "generator"])
def test_published_weights_carry_the_state_dicts_metadata(tmp_path: Path, stage: str) -> None:
    """gen.pth was written as a plain dict: the official test_generator.py reads `state_dict._metadata`
    to rename its keys ('ace' -> 'alias', '.Spade' removed) and failed with AttributeError. The file
    now is what `torch.save(model.state_dict())` writes, spectral-norm version tags included, and
    loads the way the official loader does it (renamed keys and metadata, strict) and in vtonkit."""
    from collections import OrderedDict

    import torch
    from vtonkit.vton_infer.networks.condition import ConditionGenerator
    from vtonkit.vton_infer.networks.spade import SPADEGenerator
    from vtonkit.vton_infer.train.run_files import save_published

    def build() -> torch.nn.Module:
        return SPADEGenerator(ngf=4) if stage == "generator" else ConditionGenerator(ngf=8)

    network = build()
    save_published(tmp_path, stage, network.state_dict(), 3)
    name = "gen" if stage == "generator" else "mtviton"
    for path in (tmp_path / f"{name}.pth", tmp_path / "checkpoints" / f"{name}_step0000003.pth"):
        saved = torch.load(path, map_location="cpu", weights_only=True)
        assert saved._metadata == network.state_dict()._metadata, path
        renamed = OrderedDict((k.replace("ace", "alias").replace(".Spade", ""), v) for k, v in saved.items())
        renamed._metadata = OrderedDict((k.replace("ace", "alias").replace(".Spade", ""), v)
                                        for k, v in saved._metadata.items())
        build().load_state_dict(renamed, strict=True)
    if stage == "generator":
        tags = [meta["spectral_norm"] for meta in saved._metadata.values() if "spectral_norm" in meta]
        assert tags and all(tag == {"weight.version": 1} for tag in tags)
