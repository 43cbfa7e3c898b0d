"""`vtonkit train`: training data, the run folder, resume after kill -9, torchrun/gloo, lower body
end to end, and the official first step through the command line.

Tiny networks (`--width/--disc-width/--vgg-width`, documented as test-only options) keep the CPU
runs short; the held-out check runs the official widths with filled weights.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import shared_path

TINY = ["--width", "8", "--disc-width", "8", "--vgg-width", "16", "--threads", "1"]
TINY_GEN = ["--width", "4", "--disc-width", "4", "--vgg-width", "16", "--threads", "1"]
CONDITION_KEYS = ["l1_cloth", "vgg", "tv", "ce", "g_gan", "g_total", "d_real", "d_fake", "d_total"]
GENERATOR_KEYS = ["g_gan", "g_feat", "g_vgg", "g_total", "d_real", "d_fake", "d_total"]


def _vtonkit(*args: object, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    # A wide terminal: rich would otherwise wrap a long path inside its error box, between box borders.
    env = {**(env if env is not None else os.environ), "COLUMNS": "1000"}
    return subprocess.run([sys.executable, "-m", "vtonkit", *map(str, args)], capture_output=True, text=True,
                          check=False, timeout=timeout, env=env)


def _said(done: subprocess.CompletedProcess) -> str:
    """Everything the command printed, with rich's line wrapping undone."""
    return " ".join((done.stdout + done.stderr).split()).replace("/ ", "/")


def _pair_list(path: Path, names: list[str]) -> Path:
    path.write_text("".join(f"{n}.jpg {n}.jpg\n" for n in names))
    return path


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------------------------------------
# data


def test_training_samples_equal_the_official_loader(tmp_path: Path) -> None:
    """Both stages' uint8 tensors equal the fixtures' (made by the official CPDataset), bit for bit."""
    from vtonkit.vton_infer.train.data import CONDITION_SIZE, GENERATOR_SIZE, TrainingDataset

    vitonhd = shared_path("data", "vitonhd")
    pairs = _pair_list(tmp_path / "pairs.txt", ["00000_00", "00001_00"])
    for size, name, agnostic in ((CONDITION_SIZE, "inputs_256x192.pt", False), (GENERATOR_SIZE, "inputs_512x384.pt", True)):
        reference = torch.load(shared_path("reference", "hrviton-train", name), weights_only=True)
        dataset = TrainingDataset(vitonhd, "train", pairs, "upper", size, with_agnostic=agnostic)
        batch = torch.utils.data.default_collate([dataset[0], dataset[1]])
        for key, expected in reference.items():
            if key != "ids":
                assert torch.equal(batch[key], expected), (name, key)


def test_a_bad_sample_is_named_and_replaced(tmp_path: Path) -> None:
    """A listed person without files is logged with the missing file and replaced by the next one."""
    from vtonkit.vton_infer.train.data import TrainingDataset

    pairs = _pair_list(tmp_path / "pairs.txt", ["99999_00", "00006_00"])
    dataset = TrainingDataset(shared_path("data", "vitonhd"), "test", pairs)
    sample = dataset[0]
    assert int(sample["index"]) == 1 and sample["image"].shape == (3, 256, 192)
    assert list(dataset.bad) == ["99999_00"] and "99999_00" in dataset.bad["99999_00"]


def test_placeholder_own_garments_are_not_trained_on(tmp_path: Path, caplog) -> None:
    """A person whose cloth/<person>.jpg is a placeholder (a copy of another garment that `vtonkit
    pairs` made) was trained on as if it wore that garment; it is now left out and named, and a list
    of placeholders only is refused."""
    from vtonkit.core.errors import InputError
    from vtonkit.datasets.manifest import PLACEHOLDERS, Manifest
    from vtonkit.vton_infer.train.data import TrainingDataset

    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "test").symlink_to(shared_path("data", "vitonhd", "test"), target_is_directory=True)
    manifest = Manifest.load(dataset)
    manifest.entries("test", PLACEHOLDERS)["00006_00"] = {"copied_from": "00008_00"}
    manifest.save()
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00", "00008_00"])
    with caplog.at_level("WARNING"):
        training = TrainingDataset(dataset, "test", pairs)
    assert training.names == ["00008_00"] and training.placeholders_left_out == ["00006_00"]
    assert "1 listed person(s) left out, e.g. 00006_00" in caplog.text
    with pytest.raises(InputError, match="placeholder copy of another garment"):
        TrainingDataset(dataset, "test", _pair_list(tmp_path / "only.txt", ["00006_00"]))


def test_an_unpaired_list_says_its_garments_are_not_trained_on(tmp_path: Path, caplog) -> None:
    """Training on an unpaired list (another person's garment in column 2) ignored that column without
    a word: paired training reads each person's own garment."""
    from vtonkit.vton_infer.train.data import TrainingDataset

    vitonhd = shared_path("data", "vitonhd")
    unpaired = tmp_path / "unpaired.txt"
    unpaired.write_text("00006_00.jpg 00008_00.jpg\n00008_00.jpg 00008_00.jpg\n00013_00.jpg 00006_00.jpg\n")
    with caplog.at_level("WARNING"):
        TrainingDataset(vitonhd, "test", unpaired)
    assert caplog.text.count("pairs list another person's garment") == 1
    assert (f"{unpaired}: 2 of 3 pairs list another person's garment; training uses each person's own garment "
            "(cloth/<person>.jpg)") in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        TrainingDataset(vitonhd, "test", _pair_list(tmp_path / "paired.txt", ["00006_00"]))
    assert "another person's garment" not in caplog.text


def test_a_missing_dataset_or_split_folder_is_named_not_the_pair_list(tmp_path: Path) -> None:
    """`train ds_nothere` said "ds_nothere/train_pairs.txt: pair list not found", and a dataset with
    only test/ gave "file not found" per sample, then "no readable training sample"."""
    from vtonkit.vton_infer.train.data import TrainingDataset

    from vtonkit.core.errors import VtonkitError

    with pytest.raises(VtonkitError, match=f"^{re.escape(str(tmp_path / 'nothere'))}: no such dataset folder$"):
        TrainingDataset(tmp_path / "nothere", "train")
    dataset = tmp_path / "ds"
    dataset.mkdir()
    (dataset / "test").symlink_to(shared_path("data", "vitonhd", "test"), target_is_directory=True)
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00"])
    for given in (None, pairs):
        with pytest.raises(VtonkitError, match=re.escape(f"{dataset / 'train'}: no such split folder (the dataset "
                                                         "has test)")):
            TrainingDataset(dataset, "train", given)
    done = _vtonkit("train", tmp_path / "nothere", "--stage", "condition", "--out", tmp_path / "run", *TINY)
    said = _said(done)
    assert done.returncode == 2 and "nothere: no such dataset folder" in said and "pair list" not in said, said


def test_category_tables_put_the_removed_garment_in_channel_3() -> None:
    """For each category, the garment labels its parse-agnostic removes from a real person map to
    channel 3, the kept ones never do, and the limbs the agnostic greys map to the generated 5/6."""
    from vtonkit.datasets.io.keypoints import read_keypoints
    from vtonkit.datasets.io.parse import read_parse
    from vtonkit.datasets.labels import Cihp, cihp_to_13_table
    from vtonkit.preprocess.agnostic import compute_agnostic

    root = shared_path("data", "vitonhd", "test")
    parse = read_parse(root / "image-parse-v3/00006_00.png")
    pose = read_keypoints(root / "openpose_json/00006_00_keypoints.json")
    image = np.zeros((*parse.shape, 3), np.uint8)
    garments = [Cihp.UPPER_CLOTHES, Cihp.DRESS, Cihp.COAT, Cihp.PANTS, Cihp.SKIRT]
    for category in ("upper", "lower", "dresses"):
        table = cihp_to_13_table(category)
        agnostic = compute_agnostic(image, parse, pose, category)
        removed = set(np.unique(parse[(agnostic.parse_agnostic == 0) & (parse != 0)]).tolist())
        for label in garments:
            if label in removed:
                assert table[label] == 3, (category, label.name)
            elif label in np.unique(parse):
                assert table[label] != 3, (category, label.name)
    lower, dresses = cihp_to_13_table("lower"), cihp_to_13_table("dresses")
    assert (lower[Cihp.LEFT_LEG], lower[Cihp.RIGHT_LEG], lower[Cihp.LEFT_ARM]) == (5, 6, 7)
    assert (dresses[Cihp.LEFT_LEG], dresses[Cihp.RIGHT_ARM]) == (5, 6)
    with pytest.raises(ValueError, match="category"):
        cihp_to_13_table("shoes")


def test_clear_errors(tmp_path: Path) -> None:
    """Missing VGG file, empty pair list and a category contradicting the manifest: exit 2, named."""
    vitonhd = shared_path("data", "vitonhd")
    pairs = _pair_list(tmp_path / "pairs.txt", ["00000_00", "00001_00"])
    done = _vtonkit("train", vitonhd, "--pairs", pairs, "--stage", "condition", "--out", tmp_path / "r1",
                    "--vgg-weights", tmp_path / "vgg19-missing.pth")
    assert done.returncode == 2 and "vgg19-missing.pth" in _said(done)
    from vtonkit.datasets.manifest import resolve_category
    from vtonkit.vton_infer.train.runner import TrainOptions, train

    from vtonkit.core.errors import InputError, VtonkitError

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(InputError, match="empty pair list") as caught:
        train(TrainOptions(vitonhd, tmp_path / "r2", pairs=empty, width=8, disc_width=8, vgg_width=16))
    assert caught.value.path == empty

    dataset = tmp_path / "ds"
    (dataset / ".vtonkit").mkdir(parents=True)
    (dataset / ".vtonkit/manifest.json").write_text(json.dumps(
        {"version": 1, "splits": {"train": {"persons": {"a": {"category": "lower"}}, "cloths": {}}}}))
    assert resolve_category(dataset, "train", None) == "lower"
    with pytest.raises(VtonkitError, match="holds lower garments"):
        resolve_category(dataset, "train", "upper")


# ---------------------------------------------------------------------------------------------
# the official first step, through the command line


def _fill_module():
    path = shared_path("reference", "hrviton", "fill_weights.py")
    spec = importlib.util.spec_from_file_location("fill_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_first_step_equals_the_official_losses(tmp_path: Path) -> None:
    """`vtonkit train` with filled init files logs the official train_condition.py first step
    (../shared/reference/hrviton-train/tocg_step_default.pt) within rel 1e-5."""
    from vtonkit.vton_infer.networks import ConditionGenerator
    from vtonkit.vton_infer.train.condition_stage import ConditionStageConfig
    from vtonkit.vton_infer.train.vgg import VGG19

    reference = torch.load(shared_path("reference", "hrviton-train", "tocg_step_default.pt"), weights_only=True)
    fill = _fill_module().fill_state_dict
    inits = {}
    for name, model in (("tocg", ConditionGenerator()), ("disc", ConditionStageConfig().discriminator()),
                        ("vgg", VGG19())):
        inits[name] = tmp_path / f"{name}.pth"
        torch.save(fill(model.state_dict()), inits[name])
    pairs = _pair_list(tmp_path / "pairs.txt", ["00000_00", "00001_00"])
    run = tmp_path / "run"
    done = _vtonkit("train", shared_path("data", "vitonhd"), "--pairs", pairs, "--stage", "condition",
                    "--out", run, "--batch-size", 2, "--steps", 1, "--no-shuffle", "--seed", 0,
                    "--init-tocg", inits["tocg"], "--init-disc", inits["disc"], "--vgg-weights", inits["vgg"],
                    "--threads", 2)
    assert done.returncode == 0, done.stdout + done.stderr
    (logged,) = _log(run)
    names = {"g_gan": "G_GAN", "g_total": "G_total", "d_real": "D_real", "d_fake": "D_fake", "d_total": "D_total"}
    for key in CONDITION_KEYS:
        expected = float(reference["losses"][names.get(key, key)])
        assert logged[key] == pytest.approx(expected, rel=1e-5), key
    assert logged["step"] == 1 and logged["lr"] == 2e-4
    # the published-format checkpoint loads in the inference loader
    from vtonkit.vton_infer.checkpoints import load_condition_generator

    assert load_condition_generator(run / "mtviton.pth").conv1[0].weight.shape[1] == 96


# ---------------------------------------------------------------------------------------------
# resume after kill -9, torchrun


def test_resume_after_kill_continues_with_every_step_logged_once(tmp_path: Path) -> None:
    """SIGKILL mid-run, then --resume: steps 1..N each logged once, the step count continues from
    the last checkpoint, and the resumed steps equal an uninterrupted run's."""
    vitonhd = shared_path("data", "vitonhd")
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00", "00008_00", "00013_00"])
    common = ["train", vitonhd, "--split", "test", "--pairs", pairs, "--stage", "condition", "--batch-size", 1,
              "--checkpoint-every", 2, "--sample-every", 100, "--seed", 3, *TINY]
    run = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "vtonkit", *map(str, [*common, "--steps", 50, "--out", run])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (run / "resume.pt").is_file() and len(_log(run)) >= 3:
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = len(_log(run))
    assert killed_at >= 3
    steps = max(6, killed_at + 3)  # the kill may land a few steps late on a loaded machine
    done = _vtonkit(*common, "--steps", steps, "--out", run, "--resume")
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = _log(run)
    assert [r["step"] for r in resumed] == list(range(1, steps + 1))
    assert torch.load(run / "resume.pt", weights_only=False)["step"] == steps
    reference = tmp_path / "straight"
    done = _vtonkit(*common, "--steps", steps, "--out", reference)
    assert done.returncode == 0, done.stdout + done.stderr
    for a, b in zip(resumed, _log(reference)):
        for key in CONDITION_KEYS:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), (a["step"], key)


def _compare_trainer_states(one: dict, two: dict, networks: tuple[str, str], lr: float) -> dict[str, float]:
    """Gradients (Adam's exp_avg after the first step = (1 - beta1) * gradient), weights and
    buffers of two trainer states (resume.pt); returns the largest deviations.

    What float32 summation order alone does (measured: 1 vs 2 threads in ONE process): gradient
    entries move by up to ~4e-5 of the network's largest entry, which is a large part of a tensor
    whose gradient is small or cancels (the flow biases, and the biases of convolutions right
    before instance norm, whose gradient is rounding noise of ~1e-8). Adam's first step is
    lr * g / (|g| + eps) ~ lr * sign(g), so where g is noise, the step (+-lr) is arbitrary in one
    process too. Hence: the whole network's gradient within 1e-3 (relative L2), each tensor within
    5% of its largest entry plus 1e-4 of the network's; the weights within 1e-6 wherever the
    gradient stands clear of that tolerance, within 2 lr elsewhere; the BatchNorm statistics within
    1e-5; spectral-norm vectors (last power iteration on the updated weight) within
    |dW|_F / sigma + 1e-5 of that weight's difference (1e-5 where it is equal; more where a
    noise-level gradient flipped some of its entries)."""
    worst = {"network gradient (relative L2)": 0.0, "tensor gradient (of its max)": 0.0,
             "weight where the gradient is clear": 0.0, "weight anywhere": 0.0, "BatchNorm stats": 0.0}
    for network, optimizer in zip(networks, ("optimizer_g", "optimizer_d")):
        weights_one, weights_two = one[network], two[network]
        trained = [k for k in weights_one if not k.endswith(("running_mean", "running_var", "num_batches_tracked",
                                                               "weight_u", "weight_v"))]
        state_one, state_two = one[optimizer]["state"], two[optimizer]["state"]
        assert sorted(state_one) == sorted(state_two), network  # the same parameters got gradients
        g_one = [state_one[i]["exp_avg"] for i in sorted(state_one)]
        g_two = [state_two[i]["exp_avg"] for i in sorted(state_one)]
        network_max = max(g.abs().max().item() for g in g_one)
        delta = torch.cat([(a - b).flatten() for a, b in zip(g_one, g_two)]).norm()
        relative = (delta / torch.cat([a.flatten() for a in g_one]).norm()).item()
        worst["network gradient (relative L2)"] = max(worst["network gradient (relative L2)"], relative)
        assert relative <= 1e-3, (network, relative)
        for index, key in enumerate(trained):
            dw = (weights_one[key] - weights_two[key]).abs()
            worst["weight anywhere"] = max(worst["weight anywhere"], dw.max().item())
            assert dw.max().item() <= 2 * lr * 1.001, (network, key)
            if index not in state_one:  # no gradient in either run (the tocg's conv2.*): untouched
                assert dw.max().item() == 0, (network, key)
                continue
            a, b = state_one[index]["exp_avg"], state_two[index]["exp_avg"]
            tolerance = 0.05 * a.abs().max().item() + 1e-4 * network_max
            deviation = (a - b).abs().max().item()
            assert deviation <= tolerance, (network, key, deviation, tolerance)
            if a.abs().max().item() >= 1e-3 * network_max:  # (reported for tensors with a real gradient)
                worst["tensor gradient (of its max)"] = max(worst["tensor gradient (of its max)"],
                                                            deviation / a.abs().max().item())
            clear = a.abs() > tolerance
            if clear.any():
                worst["weight where the gradient is clear"] = max(worst["weight where the gradient is clear"],
                                                                  dw[clear].max().item())
                assert dw[clear].max().item() <= 1e-6, (network, key)
        for key in weights_one:
            deviation = (weights_one[key].float() - weights_two[key].float()).abs().max().item()
            if key.endswith(("running_mean", "running_var")):
                worst["BatchNorm stats"] = max(worst["BatchNorm stats"], deviation)
                assert deviation <= 1e-5 * max(1.0, weights_one[key].abs().max().item()), (network, key)
            elif key.endswith(("weight_u", "weight_v")):
                # the last power iteration ran on the updated weight W: one iteration moves u and v by
                # about (I - vv^T) dW^T u / sigma, so at most |dW|_F / sigma (sigma = u^T W v), plus
                # rounding; a noise-level gradient that flipped some entries of W moves them that far
                prefix = key[: -len("weight_u")]
                w_one, w_two = weights_one[prefix + "weight_orig"].float(), weights_two[prefix + "weight_orig"].float()
                u, v = weights_one[prefix + "weight_u"].float(), weights_one[prefix + "weight_v"].float()
                sigma = torch.dot(u, w_one.reshape(w_one.shape[0], -1) @ v).item()
                allowed = (w_one - w_two).norm().item() / sigma + 1e-5
                same_weight = (w_one - w_two).abs().max().item() <= 1e-6
                label = f"spectral-norm u/v ({'equal' if same_weight else 'noise-flipped'} weight)"
                worst[label] = max(worst.get(label, 0.0), deviation)
                assert deviation <= allowed, (network, key, label, deviation, allowed)
    return worst


@pytest.mark.parametrize("stage", ["condition", "generator"])
def test_two_gloo_processes_equal_one_process(stage: str, tmp_path: Path) -> None:
    """torchrun --nproc-per-node 2 (gloo, DistributedDataParallel) computes the step of one process
    on the global batch: the first step's losses, gradients and updated weights and buffers of both
    networks, and after --resume (both runs) the second step's losses. Stage 1: 2 samples per
    process (BatchNorm synchronised); stage 2: 1 sample per process (SPADE noise drawn for the
    global batch, each process using its rows)."""
    vitonhd = shared_path("data", "vitonhd")
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00", "00008_00", "00013_00", "00017_00"])
    common = ["train", vitonhd, "--split", "test", "--pairs", pairs, "--stage", stage, "--no-shuffle"]
    if stage == "condition":
        common += ["--batch-size", 4, *TINY]
        keys, networks, lr = CONDITION_KEYS, ("tocg", "discriminator"), 2e-4
    else:
        from vtonkit.vton_infer.networks import ConditionGenerator

        torch.manual_seed(0)
        torch.save(ConditionGenerator(ngf=8).state_dict(), tmp_path / "tocg.pth")
        common += ["--batch-size", 2, "--tocg-checkpoint", tmp_path / "tocg.pth", *TINY_GEN]
        keys, networks, lr = GENERATOR_KEYS, ("generator", "discriminator"), 4e-4  # D's rate, the larger
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def run_both(*extra: object) -> None:
        single = _vtonkit(*common, *extra, "--out", tmp_path / "one")
        assert single.returncode == 0, single.stdout + single.stderr
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                    "-m", "vtonkit", *map(str, [*common, *extra, "--out", tmp_path / "two"])]
        double = subprocess.run(torchrun, capture_output=True, text=True, check=False, timeout=900, env=env)
        assert double.returncode == 0, double.stdout + double.stderr

    run_both("--steps", 1)
    one, two = _log(tmp_path / "one"), _log(tmp_path / "two")
    for key in keys:
        assert two[0][key] == pytest.approx(one[0][key], rel=1e-5, abs=1e-6), key
    states = [torch.load(tmp_path / run / "resume.pt", weights_only=False) for run in ("one", "two")]
    assert [s["world_size"] for s in states] == [1, 2]
    worst = _compare_trainer_states(states[0]["trainer"], states[1]["trainer"], networks, lr)
    print(f"\n{stage}: largest deviations 2 processes vs 1: {worst}")
    assert json.loads((tmp_path / "two" / "run.json").read_text())["world_size"] == 2

    # the second step (after resuming both runs) starts from the averaged update of the first; it
    # inherits the +-lr steps of the noise-level gradient entries, hence the wider tolerance (abs
    # for g_gan, a hinge term near 0)
    run_both("--steps", 2, "--resume")
    one, two = _log(tmp_path / "one"), _log(tmp_path / "two")
    assert [r["step"] for r in two] == [1, 2]
    for key in keys:
        assert two[1][key] == pytest.approx(one[1][key], rel=1e-3, abs=1e-4), key


# ---------------------------------------------------------------------------------------------
# lower body end to end


@pytest.fixture(scope="module")
def lower_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test split made by `vtonkit prep --category lower` from two bundled person photos and the
    demo store's drawn shorts and trousers, each garment named after a person so that it is that
    person's own (training leaves out placeholder garments): the run checks the plumbing of a
    lower-body dataset (labels, agnostic, both stages, inference), not what the model learns."""
    from vtonkit.crawlers.demo_store.catalogue import drawn_png

    root = tmp_path_factory.mktemp("train-lower")
    persons, cloths = root / "persons", root / "cloths"
    persons.mkdir()
    cloths.mkdir()
    demo_persons = Path(__file__).resolve().parents[1] / "crawlers/demo_store/static/persons"
    for name in ("t5", "t6"):
        shutil.copy(demo_persons / f"{name}.jpg", persons / f"{name}.jpg")
    for person, name in (("t5", "shorts-khaki"), ("t6", "jeans-indigo")):
        (cloths / f"{person}.png").write_bytes(drawn_png(name))
    dataset = root / "ds"
    for args in (["prep", "--persons", persons, "--cloths", cloths, "--category", "lower", "--out", dataset,
                  "--split", "test", "--workers", "1"],
                 ["pairs", dataset, "--split", "test", "--mode", "unpaired", "--category", "lower"]):
        done = _vtonkit(*args)
        assert done.returncode == 0, done.stdout + done.stderr
    return dataset


def test_lower_body_trains_both_stages_and_infers(lower_dataset: Path, tmp_path: Path) -> None:
    tocg_run, gen_run, out = tmp_path / "tocg", tmp_path / "gen", tmp_path / "out"
    common = [lower_dataset, "--split", "test", "--pairs", "test_pairs.txt", "--batch-size", 1, "--steps", 1]
    done = _vtonkit("train", *common, "--stage", "condition", "--out", tocg_run, *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tocg_run / "run.json").read_text())["category"] == "lower"  # from the manifest
    done = _vtonkit("train", *common, "--stage", "generator", "--category", "lower", "--out", gen_run,
                    "--tocg-checkpoint", tocg_run / "mtviton.pth", *TINY_GEN)
    assert done.returncode == 0, done.stdout + done.stderr
    (logged,) = _log(gen_run)
    assert sorted(logged) == sorted(["step", "lr", *GENERATOR_KEYS]) and all(np.isfinite(list(logged.values())))
    assert logged["lr"] == 1e-4  # the rate step 1 ran at (the scheduler's next one, 5e-5, was logged)
    assert (gen_run / "losses.png").is_file() and list((gen_run / "samples").glob("*.png"))
    one_pair = tmp_path / "one_pair.txt"  # one 1024x768 try-on is enough to prove the chain (and half the time)
    one_pair.write_text((lower_dataset / "test_pairs.txt").read_text().splitlines()[0] + "\n")
    done = _vtonkit("infer", lower_dataset, "--split", "test", "--pairs", one_pair, "--category", "lower",
                    "--tocg-checkpoint", tocg_run / "mtviton.pth", "--gen-checkpoint", gen_run / "gen.pth", "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "trained behind" not in _said(done) and "cannot tell" not in _said(done)  # its own tocg, run.json beside
    _generator_behind_another_tocg_is_named(lower_dataset, tmp_path, gen_run / "gen.pth")
    from PIL import Image

    written = sorted(out.glob("*.png"))
    assert len(written) == 1
    assert Image.open(written[0]).size == (768, 1024)
    # the lower-body checkpoints on an upper-body dataset: refused, their run.json names the category
    upper_pairs = _pair_list(tmp_path / "upper.txt", ["00006_00"])
    done = _vtonkit("infer", shared_path("data", "vitonhd"), "--split", "test", "--pairs", upper_pairs,
                    "--tocg-checkpoint", tocg_run / "mtviton.pth", "--gen-checkpoint", gen_run / "gen.pth",
                    "--out", tmp_path / "upper-out")
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "was trained for lower garments" in said, said
    assert not (tmp_path / "upper-out").exists()


def _generator_behind_another_tocg_is_named(dataset: Path, tmp_path: Path, gen: Path) -> None:
    """The generator with another condition generator (a copy out of its run folder) ran without a
    word: infer and sheet name both files, and that the copy's category cannot be told."""
    other = tmp_path / "other"
    done = _vtonkit("train", dataset, "--split", "test", "--pairs", "test_pairs.txt", "--batch-size", 1,
                    "--steps", 1, "--stage", "condition", "--seed", 1, "--out", other, *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    copied = tmp_path / "copied-mtviton.pth"
    shutil.copy(other / "mtviton.pth", copied)
    missing = _pair_list(tmp_path / "missing.txt", ["nobody"])  # fails fast, after the checks
    for command in (["infer", dataset, "--pairs", missing, "--out", tmp_path / "o-other"],
                    ["sheet", dataset, "--garment", "nothing", "--out", tmp_path / "s-other"]):
        done = _vtonkit(*command, "--split", "test", "--tocg-checkpoint", copied, "--gen-checkpoint", gen)
        said = _said(done)
        assert f"warning: {gen} was trained behind another condition generator (sha256:" in said, said
        assert f"not {copied} (sha256:" in said and f"recorded in {gen.parent / 'run.json'}, given as" in said, said
        assert f"cannot tell which garment category {copied} was trained for (no run.json beside it)" in said, said


def test_resume_of_weights_without_a_resume_file_names_a_way_out(tmp_path: Path) -> None:
    """A disk that filled while a checkpoint was written left mtviton.pth but no resume.pt: --resume
    said "run without --resume", which was then refused because the folder held trained weights."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import InputError

    run = tmp_path / "run"
    run.mkdir()
    (run / "mtviton.pth").write_bytes(b"weights of a run whose resume file was never written")
    with pytest.raises(InputError, match="cannot be continued: choose another --out, or move them away"):
        train(_tiny_options(tmp_path, run, resume=True))


def test_a_full_disk_at_a_checkpoint_is_a_named_error_and_the_run_resumes(tmp_path: Path, monkeypatch) -> None:
    """A full disk while the weights were written ended in a torch traceback and left weights
    without a resume file, which neither --resume nor a fresh start accepted. The resume file is
    written first now, and the error names the run and the cause."""
    import errno

    import vtonkit.vton_infer.train.run_files as run_files
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import InputError

    run = tmp_path / "run"
    real_save = run_files.save_published

    def full_disk(run_dir: Path, stage: str, state: dict, step: int) -> Path:
        if step == 2:
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from OSError(
                errno.ENOSPC, "No space left on device")
        return real_save(run_dir, stage, state, step)

    monkeypatch.setattr(run_files, "save_published", full_disk)
    with pytest.raises(InputError, match="cannot write the step 2 checkpoint \\(No space left on device\\); "
                                         "free the space, then the same command with --resume continues"):
        train(_tiny_options(tmp_path, run, steps=2, checkpoint_every=1, sample_every=5))
    monkeypatch.setattr(run_files, "save_published", real_save)
    summary = train(_tiny_options(tmp_path, run, steps=3, checkpoint_every=1, sample_every=5, resume=True))
    assert summary.resumed_from == 2 and (run / "mtviton.pth").is_file()


def test_init_disc_takes_the_discriminator_of_an_earlier_runs_resume_file(tmp_path: Path) -> None:
    """No run writes its discriminator on its own, so fine-tuning always restarted it: --init-disc
    refused a resume.pt, and given mtviton.pth its hint spoke of --init-tocg and --init-gen."""
    from vtonkit.vton_infer.train.distributed import World
    from vtonkit.vton_infer.train.run_files import load_resume
    from vtonkit.vton_infer.train.runner import build_stage, train

    from vtonkit.core.errors import FormatError, InputError

    first = tmp_path / "first"
    train(_tiny_options(tmp_path, first, steps=1, checkpoint_every=1, sample_every=5))
    options = _tiny_options(tmp_path, tmp_path / "second", init_disc=first / "resume.pt")
    stage = build_stage(options, "upper", "cpu", World())
    trained = load_resume(first)["trainer"]["discriminator"]
    loaded = stage.trainer.state_dict()["discriminator"]
    assert loaded.keys() == trained.keys() and all(torch.equal(loaded[k], trained[k]) for k in trained)
    with pytest.raises(FormatError, match="a run's resume.pt of the same stage, or a state dict of its discriminator"):
        build_stage(_tiny_options(tmp_path, tmp_path / "third", init_disc=first / "mtviton.pth"), "upper", "cpu",
                    World())
    with pytest.raises(InputError, match="the resume file of a condition run"):
        build_stage(_tiny_options(tmp_path, tmp_path / "fourth", stage="generator", width=4, disc_width=4,
                                  tocg_checkpoint=first / "mtviton.pth", init_disc=first / "resume.pt"),
                    "upper", "cpu", World())


def test_the_trained_category_is_read_beside_a_runs_weights_only(tmp_path: Path) -> None:
    """RUN/mtviton.pth and RUN/checkpoints/gen_step<N>.pth take their category from RUN/run.json; a
    copy elsewhere, another file in the run folder, or an unreadable run.json says nothing."""
    from vtonkit.vton_infer.train.run_files import category_mismatch, trained_category

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"category": "dresses"}))
    for name in ("mtviton.pth", "checkpoints/gen_step500.pth", "vgg19.pth", "checkpoints/other.pth"):
        (run / name).write_bytes(b"weights")
    assert trained_category(run / "mtviton.pth") == ("dresses", run / "run.json")
    assert trained_category(run / "checkpoints" / "gen_step500.pth") == ("dresses", run / "run.json")
    assert trained_category(run / "vgg19.pth") is None and trained_category(run / "checkpoints" / "other.pth") is None
    assert category_mismatch([None, run / "mtviton.pth"], "dresses") is None
    assert "trained for dresses garments" in category_mismatch([run / "checkpoints" / "gen_step500.pth"], "lower")
    (run / "run.json").write_text("{not json")
    assert trained_category(run / "mtviton.pth") is None


def test_the_condition_generator_a_generator_trained_behind_is_read_from_its_resume_file(tmp_path: Path) -> None:
    """RUN/resume.pt records stage 2's frozen network by content: the same bytes elsewhere pass,
    another network is named with both files; a copy of gen.pth outside its run says nothing."""
    from vtonkit.vton_infer.train.run_files import (category_unknown, save_resume, tocg_mismatch, trained_behind,
                                                    write_options)
    from vtonkit.vton_infer.train.runner import fixed_settings

    tocg, other, moved = tmp_path / "mtviton.pth", tmp_path / "other.pth", tmp_path / "moved.pth"
    for path, content in ((tocg, b"network A"), (other, b"network B"), (moved, b"network A")):
        path.write_bytes(content)
    run = tmp_path / "run"
    run.mkdir()
    options = _tiny_options(tmp_path, run, stage="generator", tocg_checkpoint=tocg)
    write_options(run, {"category": "lower", "tocg_checkpoint": str(tocg)})
    save_resume(run, {"step": 1, "settings": fixed_settings(options), "trainer": {"w": torch.zeros(3)}})
    (run / "gen.pth").write_bytes(b"weights")
    recorded = trained_behind(run / "gen.pth")
    assert recorded is not None and recorded[0].startswith("sha256:") and str(tocg) in recorded[1]
    assert tocg_mismatch(moved, run / "gen.pth") is None and tocg_mismatch(other, None) is None
    mismatch = tocg_mismatch(other, run / "gen.pth")
    assert mismatch is not None and str(other) in mismatch and str(run / "resume.pt") in mismatch
    write_options(run, {"category": "lower", "files": {"tocg_checkpoint": recorded[0]}})  # run.json records it
    assert trained_behind(run / "gen.pth") == (recorded[0], str(run / "run.json"))
    copy = tmp_path / "gen.pth"
    copy.write_bytes(b"weights")
    assert trained_behind(copy) is None and tocg_mismatch(other, copy) is None
    assert category_unknown([copy, run / "gen.pth", None], "upper") == []
    (note,) = category_unknown([copy, run / "gen.pth", None], "dresses")
    assert note.startswith(f"cannot tell which garment category {copy} was trained for (no run.json beside it)")


# ---------------------------------------------------------------------------------------------
# overfit (long: run with VTONKIT_LONG_TESTS=1)


# per stage: batch size, --lr, steps, the number of first/last steps averaged, the tiny widths.
# Stage 2 runs at 512x384 (20-60 s per tiny step on the shared 2-core machine), hence fewer steps
# (180: 88 minutes there); docs/training.md ("Overfit") gives the measured ratios, minutes and load.
OVERFIT_RUNS = {
    "condition": (4, 1e-3, 300, 5, TINY),
    "generator": (2, 5e-4, 180, 10, TINY_GEN),
}


@pytest.mark.skipif(not os.environ.get("VTONKIT_LONG_TESTS"), reason="long CPU run; set VTONKIT_LONG_TESTS=1")
@pytest.mark.timeout(4 * 3600)
@pytest.mark.parametrize("stage", ["condition", "generator"])
def test_overfit_halves_every_reconstruction_loss(stage: str, tmp_path: Path) -> None:
    """4 samples, a few hundred steps: every non-adversarial loss falls to at most half (mean of the
    last steps over the mean of the first ones); the adversarial ones need not fall."""
    from vtonkit.vton_infer.train.runner import RECONSTRUCTION_KEYS

    batch_size, lr, steps, window, widths = OVERFIT_RUNS[stage]
    vitonhd = shared_path("data", "vitonhd")
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00", "00008_00", "00013_00", "00017_00"])
    args = ["train", vitonhd, "--split", "test", "--pairs", pairs, "--stage", stage, "--out", tmp_path / "run",
            "--batch-size", batch_size, "--steps", steps, "--lr", lr, "--checkpoint-every", 50, *widths]
    if stage == "generator":
        from vtonkit.vton_infer.networks import ConditionGenerator

        torch.manual_seed(0)  # the frozen stage-1 net in front: a seeded random tiny one
        torch.save(ConditionGenerator(ngf=8).state_dict(), tmp_path / "tocg.pth")
        args += ["--tocg-checkpoint", tmp_path / "tocg.pth"]
    done = _vtonkit(*args, timeout=None)
    assert done.returncode == 0, done.stdout + done.stderr
    log = _log(tmp_path / "run")
    assert len(log) == steps
    for key in RECONSTRUCTION_KEYS[stage]:
        first = np.mean([r[key] for r in log[:window]])
        last = np.mean([r[key] for r in log[-window:]])
        assert last <= first / 2, (key, first, last)


# ---------------------------------------------------------------------------------------------
# the run folder and the options: refusals with the file or option named, no tracebacks


def _tiny_options(tmp_path: Path, run: Path, **changes: object):
    """One person of the test split, tiny networks: a step takes about a second in-process."""
    from vtonkit.vton_infer.train.runner import TrainOptions

    pairs = _pair_list(tmp_path / "one.txt", ["00006_00"])
    settings = {"split": "test", "pairs": pairs, "batch_size": 1, "steps": 1, "width": 8, "disc_width": 8,
                "vgg_width": 16, **changes}
    return TrainOptions(shared_path("data", "vitonhd"), run, **settings)


def _tiny_cli(tmp_path: Path, *args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    pairs = _pair_list(tmp_path / "one.txt", ["00006_00"])
    return _vtonkit("train", shared_path("data", "vitonhd"), "--split", "test", "--pairs", pairs, "--stage",
                    "condition", "--batch-size", 1, "--steps", 1, *TINY, *args, env=env)


def test_a_run_that_stopped_before_its_first_checkpoint_starts_afresh(tmp_path: Path) -> None:
    """A crash after step 2 of a run checkpointing at step 3 leaves run.json, two log lines and
    samples but no checkpoint: nothing to resume, so the same command starts afresh (not "pass
    --resume"), --resume says to run without it, and the new run keeps nothing of the old one.
    A folder holding a checkpoint is still refused without --resume, whatever the settings."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import InputError, VtonkitError

    run = tmp_path / "run"

    def crash(step: int, total: int, losses: dict[str, float]) -> None:
        if step == 2:
            raise RuntimeError("the machine went down")

    with pytest.raises(RuntimeError, match="went down"):
        train(_tiny_options(tmp_path, run, steps=3, checkpoint_every=3, sample_every=1), crash)
    assert [r["step"] for r in _log(run)] == [1, 2] and not (run / "resume.pt").exists()
    with pytest.raises(InputError, match="without --resume") as caught:
        train(_tiny_options(tmp_path, run, resume=True))
    assert caught.value.path == run / "resume.pt"

    summary = train(_tiny_options(tmp_path, run))
    assert summary.steps_done == 1 and [r["step"] for r in _log(run)] == [1]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step0000001.png"]  # not the old step 2

    with pytest.raises(VtonkitError, match="pass --resume") as refused:
        train(_tiny_options(tmp_path, run, seed=5))
    assert "resume.pt" in str(refused.value)
    assert [r["step"] for r in _log(run)] == [1]  # untouched


def test_weights_without_a_resume_file_are_not_overwritten(tmp_path: Path) -> None:
    """A kill between the first checkpoint's weights and its resume file: the weights are kept."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import VtonkitError

    run = tmp_path / "run"
    run.mkdir()
    (run / "mtviton.pth").write_bytes(b"trained weights")
    with pytest.raises(VtonkitError, match="mtviton.pth"):
        train(_tiny_options(tmp_path, run))
    assert (run / "mtviton.pth").read_bytes() == b"trained weights"
    # another stage's network is not this run's checkpoint (a stage-1 file kept next to a stage-2 run)
    other = tmp_path / "other"
    other.mkdir()
    (other / "gen.pth").write_bytes(b"a stage-2 network")
    train(_tiny_options(tmp_path, other))
    assert (other / "gen.pth").read_bytes() == b"a stage-2 network" and (other / "mtviton.pth").is_file()


@pytest.mark.parametrize("option", ["--checkpoint-every", "--sample-every"])
def test_a_zero_period_is_refused_when_parsing(option: str, tmp_path: Path) -> None:
    done = _tiny_cli(tmp_path, option, 0, "--out", tmp_path / "run")
    said = " ".join(_said(done).replace("│", " ").split())  # the text of rich's error box
    assert done.returncode == 2 and f"Invalid value for '{option}'" in said and "equal to 1" in said, said
    assert "Traceback" not in said and not (tmp_path / "run").exists()


def test_an_unknown_split_names_the_valid_ones(tmp_path: Path) -> None:
    done = _tiny_cli(tmp_path, "--split", "val", "--out", tmp_path / "run")
    said = _said(done)
    assert done.returncode == 2 and "--split" in said and "train, test" in said, said
    assert "Traceback" not in said


def test_an_out_that_cannot_be_a_run_folder_is_named(tmp_path: Path) -> None:
    """An existing file, a path below a file, and (not as root) a read-only folder."""
    existing = tmp_path / "existing"
    existing.write_text("x")
    cases = [(existing, "is not a folder"), (existing / "run", "cannot write into")]
    if os.geteuid() != 0:  # root writes into any folder
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        cases.append((read_only, "cannot write into"))
    for out, reason in cases:
        done = _tiny_cli(tmp_path, "--out", out)
        said = _said(done)
        assert done.returncode == 2 and "--out" in said and str(out) in said and reason in said, said
        assert "Traceback" not in said


def test_cuda_on_a_machine_without_it_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU visible, even on a machine with one
    done = _tiny_cli(tmp_path, "--device", "cuda", "--out", tmp_path / "run", env=env)
    said = _said(done)
    assert done.returncode == 2 and "CUDA is not available on this machine" in said and "--device cpu" in said, said
    assert "Traceback" not in said


def test_stale_checkpoint_temp_files_are_removed_on_start(tmp_path: Path) -> None:
    """A kill -9 inside an atomic write leaves its temporary sibling; the next start (resume or
    fresh) removes those of the run's own files, and nothing else."""
    from vtonkit.vton_infer.train.runner import train

    run = tmp_path / "run"
    train(_tiny_options(tmp_path, run))
    stale = [run / ".mtviton.pth.p7_pii82.tmp", run / ".resume.pt.abcd1234.tmp", run / ".losses.jsonl.x_y_z_w_.tmp",
             run / "checkpoints/.mtviton_step0000001.pth.qwertyui.tmp", run / "samples/.step0000001.png.asdfghjk.tmp"]
    kept = [run / ".mtviton.pth.mine.tmp", run / "notes.tmp", run / ".other.pth.abcd1234.tmp",
            run / "checkpoints/.mtviton.pth.abcd1234.tmp"]
    for path in stale + kept:
        path.write_bytes(b"partial")
    train(_tiny_options(tmp_path, run, steps=2, resume=True))
    assert [p.name for p in stale if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / ".resume.pt.abcd1234.tmp").write_bytes(b"partial")
    train(_tiny_options(tmp_path, fresh))
    assert not (fresh / ".resume.pt.abcd1234.tmp").exists()


@pytest.mark.parametrize("option", ["init_tocg", "tocg_checkpoint"])
def test_a_text_file_as_checkpoint_is_named(option: str, tmp_path: Path) -> None:
    """A download that saved a URL or a web page instead of the weights."""
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import FormatError

    text = tmp_path / "mtviton.pth"
    text.write_text("https://drive.google.com/file/d/1XJTCdRBOPVgVTmqzhVGFAgMm2NLkw5uQ/view\n")
    stage = "generator" if option == "tocg_checkpoint" else "condition"
    with pytest.raises(FormatError, match="not a PyTorch checkpoint") as caught:
        train(_tiny_options(tmp_path, tmp_path / "run", stage=stage, **{option: text}))
    assert caught.value.path == text


@pytest.mark.parametrize("content", [b"\x80\x05junk that is no pickle", b"PK\x03\x04cut"])
def test_a_damaged_resume_file_is_named_with_what_to_do(tmp_path: Path, content: bytes) -> None:
    """A resume.pt that was overwritten or cut short (a copy between machines): named, not a traceback."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    (run / "resume.pt").write_bytes(content)
    done = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2)
    said = _said(done)
    assert done.returncode == 2 and "resume.pt: cannot read the resume file" in said, said
    assert "without --resume" in said and "Traceback" not in said, said


class _RunsCode:
    """A pickled object whose loading runs a shell command (what a hostile resume.pt can hold)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_resume_file_holding_code_is_refused_and_not_run(tmp_path: Path) -> None:
    """resume.pt was loaded with weights_only=False: a run folder copied from someone else ran their
    code on --resume. It is read as weights-only material now; the file is named, the code never runs,
    and a sound resume file still resumes."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    sound = (run / "resume.pt").read_bytes()
    marker = tmp_path / "code-ran"
    payload = torch.load(run / "resume.pt", weights_only=False)  # our own file, written just above
    torch.save({**payload, "note": _RunsCode(marker)}, run / "resume.pt")
    done = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2)
    said = _said(done)
    assert not marker.exists()
    assert done.returncode == 2 and "resume.pt: the resume file holds posix.system" in said, said
    assert "it was not loaded, since loading it could run code" in said and "weights_only" not in said, said
    (run / "resume.pt").write_bytes(sound)
    done = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2)
    assert done.returncode == 0, _said(done)
    assert [record["step"] for record in map(json.loads, (run / "losses.jsonl").read_text().splitlines())] == [1, 2]


def test_an_official_stage_name_is_a_usage_error_with_the_vtonkit_name_and_no_progress_bar(tmp_path: Path) -> None:
    done = _vtonkit("train", tmp_path, "--stage", "tocg", "--out", tmp_path / "run", "--vgg-width", 4)
    said = _said(done)
    assert done.returncode == 2, said
    assert "--stage must be one of condition, generator, not 'tocg' (the official train_condition.py: condition)" \
        in said, said
    assert "train tocg" not in said and "0/1000" not in said, said  # refused before the run's progress bar
    assert list((tmp_path / "run").rglob("*")) == []  # nothing written


def test_resuming_a_finished_run_says_there_is_nothing_to_train(tmp_path: Path) -> None:
    """It printed "1 steps (from 1) ...; last checkpoint: None"."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    weights = (run / "mtviton.pth").read_bytes()
    again = _tiny_cli(tmp_path, "--out", run, "--resume")
    said = _said(again)
    assert again.returncode == 0, said
    assert f"nothing to train: {run} is at step 1 and --steps is 1; raise --steps to train on" in said, said
    assert "None" not in said and (run / "mtviton.pth").read_bytes() == weights


def test_a_resumed_run_counts_the_steps_it_trained_and_a_refusal_shows_no_empty_bar(tmp_path: Path) -> None:
    """A resume from step 1 to 3 said "3 steps (from 1)" for 2 steps; a run refused as it started
    printed an empty "train condition 0/1" bar above its error, and left an empty --out folder."""
    run = tmp_path / "run"
    refused = _tiny_cli(tmp_path, "--out", run, "--resume")
    assert refused.returncode == 2 and "no resume file" in _said(refused)
    assert "train condition" not in _said(refused) and "0/1" not in _said(refused)
    assert not run.exists()  # nor an empty --out folder left behind
    (tmp_path / "bad.pth").write_bytes(b"not a network")
    assert _tiny_cli(tmp_path, "--out", run, "--init-tocg", tmp_path / "bad.pth").returncode == 2
    assert not run.exists()
    assert _tiny_cli(tmp_path, "--out", run).returncode == 0
    again = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 3)
    assert again.returncode == 0 and "2 steps (1 -> 3) in" in _said(again), _said(again)


def _non_finite_files(run: Path) -> list[str]:
    """The run's weight files (published, per-step, resume) holding a NaN or an infinity."""
    bad = []
    for path in [*run.glob("*.pth"), *run.glob("checkpoints/*.pth")]:
        state = torch.load(path, weights_only=True)
        if any(v.is_floating_point() and not torch.isfinite(v).all() for v in state.values()):
            bad.append(path.name)
    if (run / "resume.pt").is_file():
        trainer = torch.load(run / "resume.pt", weights_only=False)["trainer"]
        for network in ("tocg", "discriminator"):
            if any(v.is_floating_point() and not torch.isfinite(v).all() for v in trainer[network].values()):
                bad.append(f"resume.pt {network}")
    return bad


def test_a_diverging_run_stops_at_the_first_non_finite_loss(tmp_path: Path) -> None:
    """A learning rate of 1e6 makes the tiny network's loss NaN at step 2. It crashed with a segfault
    (rc 139, in grid_sample's backward through a NaN grid) after saving the step's checkpoint."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--lr", "1e6", "--steps", 6, "--checkpoint-every", 1, "--out", run)
    said = _said(done)
    assert done.returncode == 2, said
    assert re.search(r"loss is not finite at step \d+ \(.*g_total nan", said), said
    assert "Traceback" not in said
    stopped_at = int(re.search(r"at step (\d+)", said).group(1))
    assert [r["step"] for r in _log(run)] == list(range(1, stopped_at))  # the failed step is not logged
    assert not list(run.glob(f"checkpoints/*_step{stopped_at:07d}.pth"))
    assert _non_finite_files(run) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_learning_rate_that_is_not_a_finite_positive_number_is_refused(value: str, tmp_path: Path) -> None:
    done = _tiny_cli(tmp_path, "--lr", value, "--out", tmp_path / "run")
    said = _said(done)
    assert done.returncode == 2 and f"--lr must be a finite number above 0, not {float(value)}" in said, said
    assert "Traceback" not in said and not (tmp_path / "run").exists()


def test_weights_stepped_to_infinity_are_not_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finite loss whose update leaves an infinite weight: the checkpoint is refused, naming the weight."""
    from vtonkit.vton_infer.train.condition_stage import ConditionTrainer
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import VtonkitError

    original_step = ConditionTrainer.step

    def step_to_infinity(self, batch):
        losses = original_step(self, batch)
        with torch.no_grad():
            self.tocg.conv1[0].weight[0, 0, 0, 0] = float("inf")
        return losses

    monkeypatch.setattr(ConditionTrainer, "step", step_to_infinity)
    run = tmp_path / "run"
    with pytest.raises(VtonkitError, match=r"weights are not finite after step 1 \(tocg\.conv1\.0\.weight\)"):
        train(_tiny_options(tmp_path, run))
    assert not list(run.rglob("*.pth")) and not (run / "resume.pt").exists()


def test_resuming_with_other_networks_or_data_order_names_the_options(tmp_path: Path) -> None:
    """Another --recipe or --width was a traceback from load_state_dict; another --seed was accepted."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    for args, expected in ((["--recipe", "readme", "--width", 16], "--recipe default, --width 8, not --recipe readme, "
                                                                   "--width 16"),
                           (["--seed", 5], "--seed 0, not --seed 5")):
        again = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2, *args)
        said = _said(again)
        assert again.returncode == 2 and f"resume.pt: was trained with {expected};" in said, said
        assert "Traceback" not in said and [r["step"] for r in _log(run)] == [1]


def test_resuming_an_older_file_with_another_width_is_a_clear_error(tmp_path: Path) -> None:
    """Resume files written before the settings were recorded cannot be checked by name: another
    --width was a raw load_state_dict traceback."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    payload = torch.load(run / "resume.pt", weights_only=False)
    del payload["settings"]
    torch.save(payload, run / "resume.pt")
    again = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2, "--width", 16)
    said = _said(again)
    assert again.returncode == 2 and "resume.pt: its networks do not fit the given options" in said, said
    assert "Traceback" not in said and [r["step"] for r in _log(run)] == [1]


def test_resuming_with_another_learning_rate_uses_it_and_says_so(tmp_path: Path) -> None:
    """The saved optimizer state silently brought the old rate back (the log showed it)."""
    run = tmp_path / "run"
    done = _tiny_cli(tmp_path, "--out", run)
    assert done.returncode == 0, _said(done)
    again = _tiny_cli(tmp_path, "--out", run, "--resume", "--steps", 2, "--lr", "1e-5")
    said = _said(again)
    assert again.returncode == 0, said
    assert "resume.pt: was trained with --lr 0.0002; resuming with 1e-05" in said, said
    assert [(r["step"], r["lr"]) for r in _log(run)] == [(1, 2e-4), (2, 1e-5)]
    trainer = torch.load(run / "resume.pt", weights_only=False)["trainer"]
    assert [g["lr"] for g in trainer["optimizer_d"]["param_groups"]] == [1e-5]  # stage 1: the same rate for D


def test_an_option_of_the_other_stage_is_refused_not_ignored(tmp_path: Path) -> None:
    """`--stage condition --tocg-checkpoint mtviton.pth` (infer's name for the file) or `--init-gen`
    trained from scratch while run.json recorded the file as if it were used; a width of 0 trained
    the full official width, a negative one ended in a torch traceback."""
    weights = tmp_path / "mtviton.pth"
    weights.write_bytes(b"not read: refused before")
    cases = [(["--tocg-checkpoint", weights], "--tocg-checkpoint is the frozen condition generator"),
             (["--init-gen", weights], "--init-gen is the generator's start"),
             (["--width", "0"], "--width must be at least 1, not 0"),
             (["--vgg-width", "-2"], "--vgg-width must be at least 1, not -2")]
    for number, (args, message) in enumerate(cases):
        run = tmp_path / f"run{number}"
        done = _tiny_cli(tmp_path, "--out", run, *args)
        assert done.returncode == 2 and message in _said(done), _said(done)
        assert not run.exists()
    pairs = _pair_list(tmp_path / "one.txt", ["00006_00"])
    done = _vtonkit("train", shared_path("data", "vitonhd"), "--split", "test", "--pairs", pairs, "--stage", "generator",
                    "--tocg-checkpoint", weights, "--init-tocg", weights, "--out", tmp_path / "gen", *TINY_GEN)
    assert done.returncode == 2 and "--init-tocg starts a condition-generator run" in _said(done), _said(done)


def test_a_run_folder_inside_the_dataset_is_refused(tmp_path: Path) -> None:
    """`--out dataset/train/image` wrote mtviton.pth and losses.png among the person photos (validate
    then warned of each); infer and sheet refused such a folder already."""
    dataset = tmp_path / "ds"
    shutil.copytree(shared_path("data", "vitonhd"), dataset)
    before = sorted(p.name for p in (dataset / "test" / "image").iterdir())
    pairs = _pair_list(tmp_path / "one.txt", ["00006_00"])
    done = _vtonkit("train", dataset, "--split", "test", "--pairs", pairs, "--stage", "condition", "--batch-size", 1,
                    "--steps", 1, *TINY, "--out", dataset / "test" / "image")
    assert done.returncode == 2 and "inside the dataset" in _said(done), _said(done)
    assert sorted(p.name for p in (dataset / "test" / "image").iterdir()) == before


def test_resuming_stage_2_behind_another_condition_generator_is_refused(tmp_path: Path) -> None:
    """A stage-2 run resumed with another --tocg-checkpoint (an upper-body one under a lower-body
    run) trained on silently and overwrote run.json: the frozen network decides all it learns from.
    It is recorded by content, so a moved file is still the same network."""
    from vtonkit.core.errors import VtonkitError
    from vtonkit.vton_infer.train.runner import _check_same_settings, fixed_settings

    first, other = tmp_path / "a" / "mtviton.pth", tmp_path / "b" / "mtviton.pth"
    for path, content in ((first, b"network A"), (other, b"network B")):
        path.parent.mkdir()
        path.write_bytes(content)
    started = _tiny_options(tmp_path, tmp_path / "run", stage="generator", tocg_checkpoint=first)
    payload = {"stage": "generator", "category": "upper", "batch_size": 1, "settings": fixed_settings(started)}
    moved = tmp_path / "moved.pth"
    moved.write_bytes(b"network A")
    _check_same_settings(tmp_path / "resume.pt", payload, dataclasses.replace(started, tocg_checkpoint=moved), "upper")
    with pytest.raises(VtonkitError, match="was trained with --tocg-checkpoint sha256:") as refused:
        _check_same_settings(tmp_path / "resume.pt", payload, dataclasses.replace(started, tocg_checkpoint=other),
                             "upper")
    assert "resume with the same options" in str(refused.value)


def _train_then_ctrl_c(tmp_path: Path, checkpoint_every: int) -> tuple[Path, subprocess.Popen, str]:
    """`vtonkit train` of 500 steps sent SIGINT after its second logged step (and, checkpointing every
    step, its first resume file): (run folder, process, what it printed)."""
    pairs = _pair_list(tmp_path / "pairs.txt", ["00006_00", "00008_00"])
    run, output = tmp_path / "run", tmp_path / "output.txt"
    # a file, not a pipe nobody reads while it trains; Ctrl-C's default action even where the test
    # runner's process ignores SIGINT (a child inherits an ignored signal)
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "vtonkit", *map(str, [
            "train", shared_path("data", "vitonhd"), "--split", "test", "--pairs", pairs, "--stage", "condition",
            "--batch-size", 1, "--checkpoint-every", checkpoint_every, "--sample-every", 500, "--steps", 500,
            *TINY, "--out", run])],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "300"},
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not ((run / "losses.jsonl").is_file() and len(_log(run)) >= 2 and (
                checkpoint_every > 1 or (run / "resume.pt").is_file())):
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    return run, process, " ".join(output.read_text().split())


def test_ctrl_c_says_how_to_continue(tmp_path: Path) -> None:
    """Ctrl-C during `train` exited 130 without a word: neither the checkpoint to continue from nor
    --resume was named."""
    run, process, said = _train_then_ctrl_c(tmp_path, checkpoint_every=1)
    assert process.returncode == 130, said
    assert f"interrupted: {run}: the same command with --resume continues from its last checkpoint" in said, said


def test_ctrl_c_before_the_first_checkpoint_keeps_the_steps_done(tmp_path: Path) -> None:
    """Ctrl-C at step 499 of --checkpoint-every 500 lost every step: "it stopped before its first
    checkpoint: the same command starts it afresh". The steps done are now written first."""
    import torch

    run, process, said = _train_then_ctrl_c(tmp_path, checkpoint_every=500)
    assert process.returncode == 130, said
    assert f"interrupted: {run}: the same command with --resume continues from its last checkpoint" in said, said
    step = torch.load(run / "resume.pt", map_location="cpu", weights_only=False)["step"]
    assert step >= 2 and (run / "mtviton.pth").is_file()
    assert [record["step"] for record in _log(run)][:step] == list(range(1, step + 1))


def test_the_checkpoint_ctrl_c_writes_is_exactly_its_step(tmp_path: Path) -> None:
    """Ctrl-C landed inside a step: the checkpoint labelled step N held the next step's optimizer update
    or BatchNorm statistics (num_batches_tracked N + 1), and a resumed run drifted from an uninterrupted
    one by 0.5-12 %. The step now finishes first; the checkpoint equals an uninterrupted run's at N."""
    import torch

    run, process, said = _train_then_ctrl_c(tmp_path, checkpoint_every=500)
    assert process.returncode == 130, said
    assert "SIGINT: stopping after the current step" in said, said
    step = torch.load(run / "resume.pt", map_location="cpu", weights_only=False)["step"]
    assert len(_log(run)) == step  # no step computed past the checkpoint
    pairs = tmp_path / "pairs.txt"
    reference = tmp_path / "reference"
    done = _vtonkit("train", shared_path("data", "vitonhd"), "--split", "test", "--pairs", pairs, "--stage",
                    "condition", "--batch-size", 1, "--checkpoint-every", step, "--sample-every", 500, "--steps", step,
                    *TINY, "--out", reference)
    assert done.returncode == 0, done.stdout + done.stderr
    interrupted = torch.load(run / "mtviton.pth", map_location="cpu")
    straight = torch.load(reference / "mtviton.pth", map_location="cpu")
    assert interrupted.keys() == straight.keys()
    tracked = [k for k in straight if k.endswith("num_batches_tracked")]
    assert tracked and all(int(interrupted[k]) == int(straight[k]) == step for k in tracked)
    for key, value in straight.items():
        assert torch.allclose(interrupted[key].float(), value.float(), rtol=1e-5, atol=1e-6), key


def test_a_resume_file_or_another_width_as_a_network_file_says_which_file_to_give(tmp_path: Path) -> None:
    """The run's resume.pt given as the network file was "holds Python objects ... save the weights
    with torch.save(model.state_dict(), path)"; an --init-tocg file of another width listed 212 shape
    mismatches and then named infer's options (--tocg-checkpoint, --gen-checkpoint)."""
    from vtonkit.vton_infer.checkpoints import load_condition_generator
    from vtonkit.vton_infer.train.runner import train

    from vtonkit.core.errors import FormatError

    run = tmp_path / "run"
    train(_tiny_options(tmp_path, run))  # width 8
    with pytest.raises(FormatError, match="is a training run's resume file, not a network's weights: give the run "
                                          "folder's mtviton.pth"):
        load_condition_generator(run / "resume.pt")
    with pytest.raises(FormatError, match=r"--init-tocg.*trained at width 8, and this run builds --width 16") as caught:
        train(_tiny_options(tmp_path, tmp_path / "wider", init_tocg=run / "mtviton.pth", width=16))
    assert "--tocg-checkpoint" not in str(caught.value)


def test_resuming_on_other_data_is_said_and_run_json_keeps_every_invocation(tmp_path: Path, caplog) -> None:
    """--resume on another pair list (or dataset) went on without a word, and run.json was rewritten to
    name the new data, though the first steps trained on the old; it recorded no versions, no file
    contents and no earlier invocation, and paths relative to where the command ran."""
    import logging

    from vtonkit.vton_infer.train.runner import train

    run = tmp_path / "run"
    train(_tiny_options(tmp_path, run, steps=1))
    first = json.loads((run / "run.json").read_text())
    assert first["history"] == [] and first["data"]["samples"] == 1 and first["data"]["names"].startswith("sha256:")
    assert Path(first["dataset"]).is_absolute() and first["files"]["pairs"].startswith("sha256:")
    assert {"vtonkit", "torch", "numpy", "python"} <= set(first["versions"]) and first["threads"] >= 1
    other = _pair_list(tmp_path / "two.txt", ["00006_00", "00008_00"])
    with caplog.at_level(logging.WARNING):
        train(_tiny_options(tmp_path, run, steps=2, resume=True, pairs=other, lr=1e-4))
    assert "was trained on" in caplog.text and "(1 persons" in caplog.text and "(2 persons" in caplog.text
    assert "do not read the batches an uninterrupted run would have read" in caplog.text
    second = json.loads((run / "run.json").read_text())
    assert second["started_at_step"] == 1 and second["lr"] == 1e-4 and second["data"]["samples"] == 2
    assert [record["data"]["samples"] for record in second["history"]] == [1]
    assert second["history"][0]["lr"] is None and second["history"][0]["started_at_step"] == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        train(_tiny_options(tmp_path, run, steps=3, resume=True, pairs=other, lr=1e-4))
    assert "was trained on" not in caplog.text  # the same data as the checkpoint's
    assert len(json.loads((run / "run.json").read_text())["history"]) == 2
