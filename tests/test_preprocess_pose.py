"""mediapipe -> BODY_25 on real photos: close to the genuine OpenPose keypoints, sides right, people counted."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from vtonkit.datasets.io.keypoints import present_mask, read_keypoints
from vtonkit.preprocess.backends.mediapipe_pose import MIN_VISIBILITY, landmarks_to_body25
from vtonkit.preprocess.evaluation import LOWER_JOINTS, UPPER_JOINTS, pck
from vtonkit.preprocess.stages import POSE_ESTIMATORS

from vtonkit.core.errors import InputError, NoPersonError


@pytest.fixture(scope="module")
def pose():
    return POSE_ESTIMATORS.build("mediapipe")


def _rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_registry_builds_the_embedded_default(pose):
    assert POSE_ESTIMATORS.default == "mediapipe"
    assert pose.name == "mediapipe" and pose.version


def test_vitonhd_test_keypoints_match_genuine_openpose(pose, vitonhd):
    """PCK@0.05H over the agnostic joints on the 5 genuine OpenPose files (measured 39/45 = 0.87)."""
    correct = counted = 0
    for image in sorted((vitonhd / "test" / "image").glob("*.jpg")):
        result = pose.estimate(_rgb(image))
        genuine = read_keypoints(vitonhd / "test" / "openpose_json" / f"{image.stem}_keypoints.json")
        c, n = pck(result.keypoints, genuine, UPPER_JOINTS, 1024)
        correct, counted = correct + c, counted + n
        # The torso joints the agnostic is drawn from are always within 0.05 H.
        torso = [1, 2, 5, 9, 12]
        assert pck(result.keypoints, genuine, tuple(torso), 1024) == (5, 5), image.name
        assert result.keypoints.shape == (25, 3) and result.keypoints.dtype == np.float64
    assert correct / counted >= 0.85


def test_dresscode_full_body_keypoints_and_sides(pose, dresscode):
    """Dress Code lower-body samples: knees and ankles too; right joints on the image's left."""
    for image in sorted((dresscode / "lower_body" / "images").glob("*_0.jpg")):
        result = pose.estimate(_rgb(image))
        genuine = read_keypoints(dresscode / "lower_body" / "keypoints" / f"{image.stem[:-2]}_2.json")
        correct, counted = pck(result.keypoints, genuine, LOWER_JOINTS, 1024)
        assert correct >= counted - 1, image.name
        kp = result.keypoints
        # Not mirrored: each right joint is nearer the genuine right joint than the genuine left one.
        for right, left in ((2, 5), (9, 12), (10, 13), (11, 14)):
            assert kp[right, 0] < kp[left, 0], image.name
            assert abs(kp[right, 0] - genuine[right, 0]) < abs(kp[right, 0] - genuine[left, 0])
        # Derived feet: both small toes and heels present for a full-body shot.
        assert present_mask(kp)[[19, 20, 21, 22, 23, 24]].all()


def test_conversion_rules_on_synthetic_landmarks():
    """Neck/mid-hip derivation, low visibility and off-image points become 0,0,0."""
    landmarks = np.zeros((33, 3))
    landmarks[:, 2] = 0.9
    landmarks[:, :2] = [300, 400]
    landmarks[11, :2], landmarks[12, :2] = [400, 300], [300, 300]  # left / right shoulder
    landmarks[23, :2], landmarks[24, :2] = [380, 600], [320, 600]  # left / right hip
    landmarks[13, 2] = MIN_VISIBILITY / 2  # left elbow barely visible
    landmarks[27, :2] = [350, 2000]  # left ankle far below the image
    landmarks[28, :2] = [340, 1030]  # right ankle just below the border, visible
    body = landmarks_to_body25(landmarks, 1024, 768)
    assert np.allclose(body[1], [350, 300, 0.9])  # neck = mid-shoulders
    assert body[8, 0] == pytest.approx(350) and body[8, 1] < 600  # mid-hip, calibrated upwards
    assert body[9, 0] < 320 and body[12, 0] > 380  # hips moved outwards
    assert (body[6] == 0).all()  # invisible elbow
    assert (body[14] == 0).all()  # ankle out of frame
    assert body[11, 1] == 1023  # clamped onto the border


def test_no_person_raises(pose, photos):
    with pytest.raises(NoPersonError):
        pose.estimate(np.full((1024, 768, 3), 235, np.uint8))
    garment = next(iter(sorted((photos / "garments").glob("*.jpg"))))
    with pytest.raises(NoPersonError):
        pose.estimate(_rgb(garment))


def test_two_people_side_by_side_are_counted(pose, photos):
    left = _rgb(photos / "persons" / "049713_0.jpg")
    right = _rgb(photos / "persons" / "model_2.png")
    result = pose.estimate(np.concatenate([left, right], axis=1))
    assert result.num_persons >= 2
    one = pose.estimate(left)
    assert one.num_persons == 1
    assert one.person_mask is not None and one.person_mask.shape == left.shape[:2]
    assert 0.1 < one.person_mask.mean() < 0.6


def test_small_person_is_found_through_the_face(pose, photos):
    """A person ~15 % of the image height: the body detector alone misses it, the face fallback finds it."""
    person = Image.open(photos / "persons" / "model_1.png").convert("RGB")
    canvas = np.full((1600, 1200, 3), np.asarray(person)[5, 5], np.uint8)
    small = np.asarray(person.resize((person.width // 4, person.height // 4)))
    canvas[700:700 + small.shape[0], 500:500 + small.shape[1]] = small
    result = pose.estimate(canvas)
    neck = result.keypoints[1]
    assert 500 < neck[0] < 500 + small.shape[1] and 700 < neck[1] < 700 + small.shape[0]


def test_a_person_too_small_for_the_face_detector_is_found_in_tiles(pose, dresscode):
    """A person 500 px tall in a 2400x1800 frame (the photo is shrunk to 1024 px for the detectors:
    a face about 25 px tall): neither detector found anyone and prep refused the photo, though the
    docs promise a person of 400 px or more is processed."""
    person = Image.open(dresscode / "dresses" / "images" / "020716_0.jpg").convert("RGB").resize((375, 500))
    frame = np.full((1800, 2400, 3), 255, np.uint8)
    frame[800:1300, 1500:1875] = np.asarray(person)
    shrunk = np.asarray(Image.fromarray(frame).resize((1024, 768)))  # as prep's detection pass sees it
    result = pose.estimate(shrunk)
    neck, hips = result.keypoints[1], result.keypoints[[9, 12]]
    x0, y0, x1, y1 = 1500 * 1024 / 2400, 800 * 768 / 1800, 1875 * 1024 / 2400, 1300 * 768 / 1800
    assert x0 < neck[0] < x1 and y0 < neck[1] < y1, neck
    assert ((hips[:, 0] > x0) & (hips[:, 0] < x1) & (hips[:, 1] > neck[1])).all(), hips
    assert result.num_persons == 1
    with pytest.raises(NoPersonError):  # an empty frame still holds nobody
        pose.estimate(np.full((768, 1024, 3), 255, np.uint8))


def test_pose_model_choice_follows_the_installed_heavy_model(tmp_path, vitonhd):
    from vtonkit.datasets.io.images import read_rgb
    from vtonkit.preprocess.backends.mediapipe_pose import (
        MediapipePose,
        heavy_model_installed,
        heavy_model_path,
    )

    with pytest.raises(ValueError, match="model must be one of"):
        MediapipePose(model="ultra")
    auto = MediapipePose(count_people=False, flip_average=False)  # model="auto" is the default
    assert auto.model == ("heavy" if heavy_model_installed() else "full") and auto.version.endswith(auto.model)
    if not heavy_model_installed():
        with pytest.raises(ValueError, match="make setup"):
            MediapipePose(model="heavy")
        pytest.skip(f"heavy pose model not installed at {heavy_model_path()} (`make setup` installs it)")
    # Installed by `make`: the legacy solution loads it offline and finds the genuine joints.
    image = read_rgb(vitonhd / "test" / "image" / "00034_00.jpg")
    genuine = read_keypoints(vitonhd / "test" / "openpose_json" / "00034_00_keypoints.json", image_size=image.shape[:2])
    correct, counted = pck(auto.estimate(image).keypoints, genuine, UPPER_JOINTS, image.shape[0])
    assert correct == counted


class _CountingGraph:
    """A real mediapipe graph that counts its runs (which models a pass pays for)."""

    def __init__(self, graph) -> None:
        self.graph, self.runs = graph, 0

    def process(self, image):
        self.runs += 1
        return self.graph.process(image)


@pytest.fixture()
def counted_heavy_pose():
    from vtonkit.preprocess.backends.mediapipe_pose import MediapipePose, heavy_model_installed, heavy_model_path

    if not heavy_model_installed():
        pytest.skip(f"heavy pose model not installed at {heavy_model_path()} (`make setup` installs it)")
    pose = MediapipePose(count_people=False)
    pose._pose, pose._silhouette = _CountingGraph(pose._pose), _CountingGraph(pose._silhouette)
    return pose


def test_silhouette_only_runs_the_silhouette_model_alone_for_the_same_mask(counted_heavy_pose, photos):
    pose = counted_heavy_pose
    image = _rgb(photos / "persons" / "model_2.png")
    quick = pose.estimate(image, silhouette_only=True)
    assert (pose._pose.runs, pose._silhouette.runs) == (0, 1)
    whole = pose.estimate(image)
    assert (pose._pose.runs, pose._silhouette.runs) == (2, 2)  # heavy direct + mirrored, then the silhouette
    assert quick.person_mask.any() and np.array_equal(quick.person_mask, whole.person_mask)


def test_prep_refocus_pass_asks_the_pose_backend_for_the_silhouette_only(counted_heavy_pose, photos):
    """prep records pose through `RecordingPose`: it must forward `silhouette_only`, or the refocus
    pass pays for the heavy model and the mirrored pass too (0.15 CPU s a photo)."""
    from vtonkit.preprocess.person import normalise_person
    from vtonkit.preprocess.pose_replay import RecordingPose, replay_normalise

    pose = counted_heavy_pose
    recorder = RecordingPose(pose)
    normalized, result = normalise_person(photos / "persons" / "model_2.png", recorder)
    assert (pose._pose.runs, pose._silhouette.runs) == (2, 2)  # refocus: full only; real pass: heavy x2 + full
    assert normalized.image.shape == (1024, 768, 3)
    # The recorded calls replay into the same normalised photo and pose.
    again, replayed = replay_normalise(photos / "persons" / "model_2.png", recorder.to_arrays())
    assert np.array_equal(again.image, normalized.image) and np.array_equal(replayed.keypoints, result.keypoints)


def test_a_damaged_heavy_model_is_named_when_the_backend_is_built(tmp_path, monkeypatch):
    """A heavy model of the published size that is zeroed (a partial copy) made mediapipe fail on every
    photo with a traceback, then again while closing, so prep-person printed no summary. The backend
    now names the file and the way out when it is built, before any photo. (A model this user cannot
    read takes the same path with "cannot be read (Permission denied)"; root, who runs this suite
    here, reads every file.)"""
    import vtonkit.preprocess.backends.mediapipe_pose as backend

    model = tmp_path / backend.HEAVY_MODEL_FILE
    with open(model, "wb") as handle:
        handle.truncate(backend.HEAVY_MODEL_SIZE)  # all zeros, of the published size
    monkeypatch.setattr(backend, "heavy_model_path", lambda: model)
    with pytest.raises(InputError, match=re.escape("is damaged (no TFLite header)")) as raised:
        backend.MediapipePose()
    assert raised.value.path == model and 'model = "full"' in str(raised.value)
