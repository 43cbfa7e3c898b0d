"""Embedded pose backend: mediapipe 0.10 pose landmarks (heavy model when installed, else the
bundled "full" model) -> OpenPose BODY_25.

Only the full model (`model_complexity=1`) ships inside the mediapipe wheel. The heavy one (2,
27.7 MB) is in the npm package `@mediapipe/pose` 0.5.1675469404; `make` installs it (sha256
checked) next to the full model, in `mediapipe/modules/pose_landmark/`, which is where the legacy
`mp.solutions.pose.Pose` looks before it would download: it then runs offline. `model="auto"`
(default) uses heavy when that file is there with the right size, else full; "heavy" without the
file is refused (mediapipe would try to download it). With heavy joints the person silhouette
still comes from the full model (one more inference): the geometric parser was tuned on it.
Chosen on the eval-prep tuning set (parse mIoU 0.744 full, 0.756 heavy, 0.758 heavy joints +
full silhouette; PCK 0.951 -> 0.967); the test set then gave PCK 0.965 -> 0.974 and parse
0.791 full, 0.759 heavy alone, 0.789 with the full silhouette (docs/preprocessing.md).
`hand_evidence=True` also runs the bundled hand landmarker and lowers the confidence of a wrist
that a detected hand contradicts (`vtonkit.preprocess.pose_evidence`).

Conversion of the 33 mediapipe landmarks to BODY_25 (`x, y` in pixels, confidence = visibility):
* direct: nose, eyes (outer-less centre landmarks 2/5), ears, shoulders, elbows, wrists, hips,
  knees, ankles, heels, and foot index -> big toe.
* derived: neck = mid-shoulders, mid-hip = mid-hips (confidence = the smaller of the pair);
  small toe = foot index moved towards the heel by `SMALL_TOE_BACK` of the foot length and
  sideways (away from the body centre) by `SMALL_TOE_SIDE` of it: mediapipe has no small toe,
  and OpenPose puts it a little behind and outside the big toe.
* calibration: a fixed linear correction fitted on the genuine OpenPose BODY_25 of the VITON-HD
  test samples and the Dress Code keypoints (17 people, see `docs/preprocessing.md`): hips move
  outward by `HIP_OUT` of the hip width and up by `HIP_UP` of the torso length, elbows up by
  `ELBOW_UP` of the upper-arm length. The residual biases after that are below the scatter.
* mirror averaging (default on): the landmarks are averaged with those of the mirrored photo
  (sides swapped back). One extra inference; PCK on the genuine samples 0.949 -> 0.960.
* missing: a landmark with visibility < `MIN_VISIBILITY` or outside the image is written as
  0, 0, 0 as OpenPose does, except that a joint with visibility >= `BORDER_VISIBILITY` at most
  `BORDER_MARGIN` of the image size outside is clamped onto the border (OpenPose reports the
  knees of a thigh-length shot on the bottom edge). 0.05 keeps the occluded-but-plausible arms that OpenPose also reports
  (VITON-HD arms behind the back; HR-VITON's agnostic needs every arm joint) and drops
  mediapipe's extrapolated legs in half-body shots.

Small people: the body detector sees a 224 px view of the whole photo, so a person under ~20 %
of the image height is often missed; the full-range face detector then locates them and the pose
runs again on a crop around the face (`FACE_CROP_WIDTH` x `FACE_CROP_HEIGHT` face heights).

People count: mediapipe pose follows one person. Extra people are counted with the bundled
full-range face detector and the selfie segmentation: a person-sized connected component
(>= `OTHER_PERSON_AREA` of the main silhouette) outside the main person's silhouette, or a second
face at least half the size of the largest, counts as another person. Smaller blobs produce only
a warning. The caller decides what to do with `num_persons > 1` (vtonkit refuses the photo).
"""
from __future__ import annotations

import logging

import numpy as np
from vtonkit.datasets.io.keypoints import empty_body25
from vtonkit.preprocess.exposure import brightened
from vtonkit.preprocess.person_mask import main_person

from vtonkit.core.errors import InputError, NoPersonError
from vtonkit.core.mediapipe_import import import_mediapipe

logger = logging.getLogger(__name__)

# BODY_25 index -> mediapipe landmark index (directly mapped joints).
BODY25_FROM_MEDIAPIPE: dict[int, int] = {
    0: 0,  # nose
    2: 12, 3: 14, 4: 16,  # right shoulder, elbow, wrist
    5: 11, 6: 13, 7: 15,  # left shoulder, elbow, wrist
    9: 24, 10: 26, 11: 28,  # right hip, knee, ankle
    12: 23, 13: 25, 14: 27,  # left hip, knee, ankle
    15: 5, 16: 2, 17: 8, 18: 7,  # right eye, left eye, right ear, left ear
    19: 31, 21: 29,  # left big toe (foot index), left heel
    22: 32, 24: 30,  # right big toe, right heel
}
MIN_VISIBILITY = 0.05
# Landmark order of a mirrored photo: left and right swap (eyes, ears, mouth, limbs, feet).
MIRROR_LANDMARKS = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, *[i + 1 if i % 2 else i - 1 for i in range(11, 33)]]
SMALL_TOE_BACK = 0.2
SMALL_TOE_SIDE = 0.3
HIP_OUT = 0.04
HIP_UP = 0.02
ELBOW_UP = 0.035
OTHER_PERSON_AREA = 0.25
SEGMENTATION_THRESHOLD = 0.5
FACE_CROP_WIDTH = 7.0  # crop around a face when the body detector found nobody, in face heights
FACE_CROP_HEIGHT = 10.0
# Tiles searched when neither the body nor the face detector found anyone: a detection counts when
# the mean visibility of its shoulders and hips (mediapipe landmarks 11, 12, 23, 24) reaches this.
TILE_JOINTS = [11, 12, 23, 24]
MIN_TILE_SURENESS = 0.5
BORDER_MARGIN = 0.05
BORDER_VISIBILITY = 0.5


HEAVY_MODEL_FILE = "pose_landmark_heavy.tflite"
HEAVY_MODEL_SIZE = 27_709_200
TFLITE_IDENTIFIER = b"TFL3"  # a TFLite flatbuffer's file identifier, bytes 4-8
MODELS = ("auto", "heavy", "full")


def heavy_model_path():
    """Where mediapipe's legacy pose solution looks for the heavy model (whether or not it is there)."""
    from pathlib import Path

    mediapipe = import_mediapipe()

    return Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / HEAVY_MODEL_FILE


def heavy_model_installed() -> bool:
    """The heavy model file is in place with its published size (`make` checked its sha256).

    One that this user cannot read, or that is no TFLite model (a zeroed or partial copy), is an
    `InputError` naming it: mediapipe would load it only at the first photo and fail on every photo.
    Only its 8-byte header is read (hashing it would cost each worker 0.1 s at start)."""
    path = heavy_model_path()
    if not (path.is_file() and path.stat().st_size == HEAVY_MODEL_SIZE):
        return False
    full_instead = 'or choose the full model in the config ([options.mediapipe] model = "full")'
    try:
        with open(path, "rb") as model:
            header = model.read(8)
    except OSError as exc:
        raise InputError(path, f"the heavy pose model cannot be read ({exc.strerror or exc}): make it readable "
                         f"(chmod a+r {path}), {full_instead}") from exc
    if header[4:8] != TFLITE_IDENTIFIER:
        raise InputError(path, f"the heavy pose model is damaged (no TFLite header): run `make setup` to install "
                         f"it again, {full_instead}")
    return True


class MediapipePose:
    """BODY_25 pose of the main person from mediapipe's pose landmarker (heavy model when installed, else full).

    The graph is created once per instance (the first image pays ~0.3 s of set-up); instances
    are not thread-safe (mediapipe graphs are not), use one per worker.
    """

    name = "mediapipe"
    # 2: the silhouette keeps the pieces the skeleton's limbs pass through (the geometric parser's
    # `main_person`), not only those holding a joint (identical on the 43 shared photos).
    # 3: the heavy model when installed; the version carries "-heavy" or "-full".
    # 4: `silhouette_only` (prep's refocus pass) runs the full model alone, with no mirrored pass
    # (the same crop on 53 of the 54 shared photos; the 54th is a garment shot the heavy model
    # took for a person).
    # 5: an underexposed photo is brightened first (`vtonkit.preprocess.exposure`; no shared photo is).
    # 6: a person neither detector finds is looked for in tiles (a 500 px person in a 2400x1800
    # frame); only photos refused before change.
    version = "6"
    abilities = frozenset({"count_people", "silhouette_only", "close"})  # see stages.POSE_/BACKEND_ABILITIES

    def __init__(self, *, min_visibility: float = MIN_VISIBILITY, count_people: bool = True,
                 flip_average: bool = True, model: str = "auto", hand_evidence: bool = False) -> None:
        try:
            mp = import_mediapipe()
        except ImportError as exc:  # pragma: no cover - mediapipe is a core dependency
            raise ImportError("the 'mediapipe' pose backend needs `pip install mediapipe==0.10.21`") from exc
        if model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        if model == "heavy" and not heavy_model_installed():
            raise ValueError(f"the heavy pose model is not installed at {heavy_model_path()}: run `make setup` "
                             "(it fetches it from the npm package @mediapipe/pose) or use model='full'")
        self.model = "heavy" if model == "heavy" or (model == "auto" and heavy_model_installed()) else "full"
        self.version = f"{self.version}-{self.model}"  # cached results of one model never stand for the other's
        self.min_visibility = min_visibility
        self.count_people = count_people
        self.flip_average = flip_average
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=2 if self.model == "heavy" else 1, enable_segmentation=True,
            min_detection_confidence=0.5,
        )
        # With heavy joints the silhouette still comes from the full model: the geometric parser was
        # tuned on the full model's silhouette (on the tuning set: parse 0.744 full, 0.756 heavy,
        # 0.758 heavy joints + full silhouette). One more inference.
        self._silhouette = (mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                                   enable_segmentation=True, min_detection_confidence=0.5)
                            if self.model == "heavy" else None)
        # The bundled hand landmarker checks the wrists (one more inference, so off by default).
        self._hands = (mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2, model_complexity=1,
                                                min_detection_confidence=0.3) if hand_evidence else None)
        self._faces = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6)
        self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def close(self) -> None:
        """Stop the graphs (they load their models on threads of their own); the backend is unusable after."""
        for graph in (self._pose, self._silhouette, self._hands, self._faces, self._selfie):
            if graph is not None:
                try:
                    graph.close()
                except Exception:  # noqa: BLE001 - a graph that failed to start fails to stop too; the run's report matters more
                    logger.debug("closing a mediapipe graph failed", exc_info=True)

    def landmarks(self, image_rgb: np.ndarray, *, joints_model: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Raw mediapipe output: `(33, 3)` [x px, y px, visibility] and `(H, W)` float32 segmentation.

        `joints_model=False` runs the silhouette's (full) model alone when the heavy one is loaded:
        its segmentation is the one used anyway, and its joints are enough to pick the person.

        Raises:
            NoPersonError: nobody detected.
        """
        image_rgb = np.ascontiguousarray(image_rgb)
        graph = self._pose if joints_model or self._silhouette is None else self._silhouette
        result = graph.process(image_rgb)
        if result.pose_landmarks is None:
            raise NoPersonError(None, "no person detected (mediapipe pose found no body)")
        height, width = image_rgb.shape[:2]
        points = np.array([[lm.x * width, lm.y * height, lm.visibility] for lm in result.pose_landmarks.landmark],
                          dtype=np.float64)
        segmentation = result.segmentation_mask
        if segmentation is None:  # pragma: no cover - enable_segmentation=True always returns one
            segmentation = np.zeros((height, width), np.float32)
        return points, np.asarray(segmentation, dtype=np.float32)

    def estimate(self, image_rgb: np.ndarray, *, count_people: bool | None = None, silhouette_only: bool = False):
        """`(H, W, 3)` uint8 RGB -> `PoseResult` (BODY_25, people count, warnings, person mask).

        `count_people=False` skips the extra-people check (face detection + selfie segmentation),
        e.g. on a crop already checked (None: the constructor's setting). `silhouette_only=True`
        is for a caller that wants the silhouette alone (prep's refocus before the real pass): the
        silhouette's (full) model runs alone, without the heavy model and the mirrored pass, whose
        finer joints would be thrown away; the person mask is the same.
        """
        from vtonkit.preprocess.stages import PoseResult

        # Every model below sees the same photo, brightened when underexposed; judged on the whole
        # photo once (a crop around a face, judged alone, would be brightened again).
        image_rgb = brightened(image_rgb)
        height, width = image_rgb.shape[:2]
        joints_model = not silhouette_only
        try:
            landmarks, segmentation = self.landmarks(image_rgb, joints_model=joints_model)
        except NoPersonError:
            # The pose detector works on a 224 px view of the whole photo and misses small people:
            # look for a face and retry on a crop around where its body should be; a face too small
            # for the face detector too: look in overlapping tiles of the photo.
            try:
                landmarks, segmentation = self._landmarks_around_face(image_rgb, joints_model=joints_model)
            except NoPersonError as missed:
                landmarks, segmentation = self._landmarks_in_tiles(image_rgb, missed, joints_model=joints_model)
        if self.flip_average and not silhouette_only:
            landmarks = self._average_with_mirror(image_rgb, landmarks)
        if self._silhouette is not None and not silhouette_only:  # else the segmentation is the full model's already
            full = self._silhouette.process(np.ascontiguousarray(image_rgb))
            if full.pose_landmarks is not None and full.segmentation_mask is not None:
                segmentation = np.asarray(full.segmentation_mask, dtype=np.float32)
        keypoints = landmarks_to_body25(landmarks, height, width, min_visibility=self.min_visibility)
        person_mask = main_person(segmentation > SEGMENTATION_THRESHOLD, keypoints)
        warnings: list[str] = []
        if self._hands is not None and not silhouette_only:
            from vtonkit.preprocess.pose_evidence import doubtful_joints, lower_doubtful

            found = self._hands.process(np.ascontiguousarray(image_rgb)).multi_hand_landmarks or []
            wrists = np.array([[h.landmark[0].x * width, h.landmark[0].y * height] for h in found]).reshape(-1, 2)
            doubts = doubtful_joints(keypoints, person_mask, wrists)
            keypoints = lower_doubtful(keypoints, doubts)
            warnings += [d.note() for d in doubts]
        num_persons = 1
        if self.count_people if count_people is None else count_people:
            num_persons, notes = self.count_persons(image_rgb, person_mask)
            warnings.extend(notes)
        return PoseResult(keypoints=keypoints, num_persons=num_persons, warnings=warnings, person_mask=person_mask)

    def _average_with_mirror(self, image_rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Average with the landmarks of the mirrored photo (sides swapped back): steadier joints."""
        try:
            mirrored, _ = self.landmarks(image_rgb[:, ::-1])
        except NoPersonError:
            return landmarks
        mirrored = mirrored[MIRROR_LANDMARKS]
        mirrored[:, 0] = image_rgb.shape[1] - 1 - mirrored[:, 0]
        if np.median(np.linalg.norm(mirrored[:, :2] - landmarks[:, :2], axis=1)) > 0.1 * image_rgb.shape[0]:
            return landmarks  # the mirrored pass locked onto something else: keep the direct one
        return (landmarks + mirrored) / 2

    def _landmarks_in_tiles(self, image_rgb: np.ndarray, missed: NoPersonError, *, joints_model: bool = True
                            ) -> tuple[np.ndarray, np.ndarray]:
        """The person found in half-size square tiles of the photo (overlapping by half, so a person
        up to half the photo's shorter side tall lies whole in one), the surest of them; else `missed`."""
        height, width = image_rgb.shape[:2]
        side = min(height, width) // 2
        if side < 64:
            raise missed
        best: tuple[float, int, int, np.ndarray, np.ndarray] | None = None
        for y0 in sorted({*range(0, height - side + 1, side // 2), height - side}):
            for x0 in sorted({*range(0, width - side + 1, side // 2), width - side}):
                try:
                    points, tile_segmentation = self.landmarks(image_rgb[y0:y0 + side, x0:x0 + side],
                                                               joints_model=joints_model)
                except NoPersonError:
                    continue
                sureness = float(points[TILE_JOINTS, 2].mean())  # shoulders and hips seen
                # the whole person inside the tile: a silhouette running off it is part of a bigger
                # one the detectors missed for another reason (a tile of it is no small person)
                inside = tile_segmentation > SEGMENTATION_THRESHOLD
                ring = np.concatenate([inside[:2].ravel(), inside[-2:].ravel(), inside[:, :2].ravel(),
                                       inside[:, -2:].ravel()])
                if inside.any() and not ring.any() and sureness >= MIN_TILE_SURENESS and (
                        best is None or sureness > best[0]):
                    best = (sureness, x0, y0, points, tile_segmentation)
        if best is None:
            raise missed
        _, x0, y0, landmarks, tile_segmentation = best
        landmarks[:, 0] += x0
        landmarks[:, 1] += y0
        segmentation = np.zeros((height, width), np.float32)
        segmentation[y0:y0 + side, x0:x0 + side] = tile_segmentation
        return landmarks, segmentation

    def _landmarks_around_face(self, image_rgb: np.ndarray, *, joints_model: bool = True
                               ) -> tuple[np.ndarray, np.ndarray]:
        height, width = image_rgb.shape[:2]
        faces = self._faces.process(np.ascontiguousarray(image_rgb)).detections or []
        if not faces:
            raise NoPersonError(None, "no person detected (mediapipe found neither a body nor a face; it needs "
                                      "the head and shoulders in the photo: a shot of the legs alone does not work)")
        box = max(faces, key=lambda d: d.location_data.relative_bounding_box.height).location_data.relative_bounding_box
        face_h = box.height * height
        centre_x = (box.xmin + box.width / 2) * width
        # A standing adult is about 8 face heights tall; keep some room around.
        x0 = int(max(0, centre_x - FACE_CROP_WIDTH * face_h / 2))
        x1 = int(min(width, centre_x + FACE_CROP_WIDTH * face_h / 2))
        y0 = int(max(0, box.ymin * height - 1.5 * face_h))
        y1 = int(min(height, box.ymin * height + FACE_CROP_HEIGHT * face_h))
        if x1 - x0 < 16 or y1 - y0 < 16:
            raise NoPersonError(None, "no person detected (face too small)")
        landmarks, crop_segmentation = self.landmarks(image_rgb[y0:y1, x0:x1], joints_model=joints_model)
        landmarks[:, 0] += x0
        landmarks[:, 1] += y0
        segmentation = np.zeros((height, width), np.float32)
        segmentation[y0:y1, x0:x1] = crop_segmentation
        return landmarks, segmentation

    def count_persons(self, image_rgb: np.ndarray, person_mask: np.ndarray) -> tuple[int, list[str]]:
        """Count people: the main one plus person-sized blobs outside it or extra same-sized faces."""
        import cv2

        notes: list[str] = []
        main_area = max(int(person_mask.sum()), 1)
        selfie = self._selfie.process(np.ascontiguousarray(image_rgb)).segmentation_mask
        near_main = cv2.dilate(person_mask.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        others = (selfie > SEGMENTATION_THRESHOLD) & ~near_main
        count, labels = cv2.connectedComponents(others.astype(np.uint8), connectivity=8)  # no boxes needed
        areas = np.bincount(labels.ravel(), minlength=count)[1:]
        big_blobs = int((areas >= OTHER_PERSON_AREA * main_area).sum())
        small_blobs = int(((areas >= 0.05 * main_area) & (areas < OTHER_PERSON_AREA * main_area)).sum())
        faces = self._faces.process(np.ascontiguousarray(image_rgb)).detections or []
        sizes = sorted((d.location_data.relative_bounding_box.height for d in faces), reverse=True)
        big_faces = sum(1 for s in sizes if s >= 0.5 * sizes[0]) if sizes else 0
        num_persons = max(1 + big_blobs, big_faces)
        if small_blobs:
            notes.append(f"{small_blobs} smaller person-like region(s) besides the main person (ignored)")
        return num_persons, notes


def landmarks_to_body25(
    landmarks: np.ndarray, height: int, width: int, *, min_visibility: float = MIN_VISIBILITY
) -> np.ndarray:
    """Mediapipe `(33, 3)` [x px, y px, visibility] -> BODY_25 `(25, 3)` float64, missing = 0,0,0.

    Applies the calibration (hips, elbows) and derives neck, mid-hip and small toes; see the
    module docstring for the constants and how they were fitted.
    """
    lm = np.asarray(landmarks, dtype=np.float64).copy()
    _calibrate(lm)
    body = empty_body25()
    for body_index, mp_index in BODY25_FROM_MEDIAPIPE.items():
        body[body_index] = lm[mp_index]
    body[1] = _midpoint(lm[11], lm[12])  # neck
    body[8] = _midpoint(lm[23], lm[24])  # mid-hip
    body[20] = _small_toe(lm[31], lm[29], lm[23], lm[24])
    body[23] = _small_toe(lm[32], lm[30], lm[24], lm[23])
    # A confident joint just past the border (knees of a half-body shot) is clamped onto it, as
    # OpenPose reports such joints at the edge; anything farther out is missing.
    margin_x, margin_y = BORDER_MARGIN * width, BORDER_MARGIN * height
    near = ((body[:, 0] >= -margin_x) & (body[:, 0] <= width - 1 + margin_x)
            & (body[:, 1] >= -margin_y) & (body[:, 1] <= height - 1 + margin_y) & (body[:, 2] >= BORDER_VISIBILITY))
    inside = (body[:, 0] >= 0) & (body[:, 0] <= width - 1) & (body[:, 1] >= 0) & (body[:, 1] <= height - 1)
    clamp = near & ~inside
    body[clamp, 0] = np.clip(body[clamp, 0], 0, width - 1)
    body[clamp, 1] = np.clip(body[clamp, 1], 0, height - 1)
    missing = (body[:, 2] < min_visibility) | ~(inside | clamp)
    body[missing] = 0.0
    return body


def _calibrate(lm: np.ndarray) -> None:
    """Shift mediapipe's hips and elbows to where OpenPose puts them (in place)."""
    right_hip, left_hip = lm[24, :2].copy(), lm[23, :2].copy()
    mid_shoulder = (lm[11, :2] + lm[12, :2]) / 2
    torso = np.linalg.norm((right_hip + left_hip) / 2 - mid_shoulder)
    outward = left_hip - right_hip  # image-left to image-right for a frontal person
    lm[24, :2] -= HIP_OUT * outward
    lm[23, :2] += HIP_OUT * outward
    lm[23:25, 1] -= HIP_UP * torso
    for elbow, shoulder in ((13, 11), (14, 12)):
        lm[elbow, 1] -= ELBOW_UP * np.linalg.norm(lm[elbow, :2] - lm[shoulder, :2])


def _midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, min(a[2], b[2])])


def _small_toe(big_toe: np.ndarray, heel: np.ndarray, own_hip: np.ndarray, other_hip: np.ndarray) -> np.ndarray:
    """Small toe approximated from the big toe, the heel and which side the body centre is on."""
    foot = big_toe[:2] - heel[:2]
    length = np.linalg.norm(foot)
    if length < 1e-6:
        return big_toe.copy()
    side = np.array([-foot[1], foot[0]]) / length
    if np.dot(side, own_hip[:2] - other_hip[:2]) < 0:  # point away from the other leg
        side = -side
    xy = big_toe[:2] - SMALL_TOE_BACK * foot + SMALL_TOE_SIDE * length * side
    return np.array([xy[0], xy[1], min(big_toe[2], heel[2])])
