"""OpenPose keypoints: BODY_25 is the only order HR-VITON understands.

Everything is converted to BODY_25 `(25, 3) float64` [x, y, confidence] in pixels of the image it
belongs to, with missing joints = (0, 0, 0) as OpenPose writes them. The official code takes
indices 9 and 12 as hips: in COCO-18 those are the knees, so a COCO-18 file read as BODY_25 puts
the torso on the knees without any error. `read_keypoints` detects the layout and converts.
Coordinates stay float64 like the official loader's `np.array(json)`, so drawing the agnostic
masks from them rasterises exactly as the official code does.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from vtonkit.datasets.io.files import atomic_write_json

from vtonkit.core.errors import FormatError, InputError

BODY25_NAMES: tuple[str, ...] = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "mid_hip",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
    "l_big_toe", "l_small_toe", "l_heel", "r_big_toe", "r_small_toe", "r_heel",
)
COCO18_NAMES: tuple[str, ...] = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
    "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
# BODY_25 index of each COCO-18 joint (same names); BODY_25 8 (mid-hip) and 19..24 (feet) are new.
COCO18_TO_BODY25 = np.array([BODY25_NAMES.index(name) for name in COCO18_NAMES])
MID_HIP, R_HIP, L_HIP = 8, 9, 12

# Pixel coordinates beyond this are no photo's (a 1024x768 person is ~1e3 px) but still draw
# safely: agnostic shapes span a few times the coordinates, within 32-bit drawing integers.
MAX_COORDINATE = 1e6

# Dress Code keypoints were computed on 512x384 (H x W) images.
DRESSCODE_SIZE = (512, 384)

KeypointFormat = Literal["auto", "body25", "coco18", "dresscode"]


class KeypointFormatError(FormatError):
    """The keypoint file's layout is unknown, ambiguous, or not the one required."""


def empty_body25() -> np.ndarray:
    return np.zeros((25, 3), dtype=np.float64)


def coco18_to_body25(coco: np.ndarray) -> np.ndarray:
    """COCO-18 `(18, 3)` (missing = 0,0,0) -> BODY_25 `(25, 3)`; mid-hip = mean of both hips when present."""
    coco = np.asarray(coco, dtype=np.float64)
    if coco.shape != (18, 3):
        raise ValueError(f"COCO-18 keypoints must be (18, 3), got {coco.shape}")
    body = empty_body25()
    body[COCO18_TO_BODY25] = coco
    if is_present(body[R_HIP]) and is_present(body[L_HIP]):
        body[MID_HIP, :2] = (body[R_HIP, :2] + body[L_HIP, :2]) / 2
        body[MID_HIP, 2] = min(body[R_HIP, 2], body[L_HIP, 2])
    return body


def is_present(point: np.ndarray) -> bool:
    """A joint is missing iff x == 0 and y == 0 (the official code's test)."""
    return not (float(point[0]) == 0.0 and float(point[1]) == 0.0)


def present_mask(body25: np.ndarray) -> np.ndarray:
    """`(25,)` bool: which joints are present."""
    return ~((body25[:, 0] == 0) & (body25[:, 1] == 0))


def _numbers(values: Any, path: Path, key: str) -> np.ndarray:
    """`values` as float64, accepted only when the official `np.array(values)` is numeric.

    `np.asarray(..., dtype=float)` would quietly parse "123.4"; the official loader's arithmetic on
    the resulting string array fails, so strings, nulls and all-boolean lists are refused here.
    """
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise KeypointFormatError(path, f"{key} is not a list of numbers") from exc
    if raw.dtype.kind not in "iuf":
        raise KeypointFormatError(path, f"{key} is not a list of numbers (holds {_kind_name(raw)})")
    try:
        return raw.astype(np.float64)
    except OverflowError as exc:  # a JSON integer beyond float64
        raise KeypointFormatError(path, f"{key} holds a number too large for float64") from exc


def _kind_name(raw: np.ndarray) -> str:
    return {"U": "strings", "S": "strings", "b": "only booleans"}.get(raw.dtype.kind, "null, nested or mixed values")


def _flat_to_points(values: Any, path: Path, key: str) -> np.ndarray:
    flat = _numbers(values, path, key).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise KeypointFormatError(path, f"{key} contains NaN or infinite values")
    if flat.size == 75:
        return flat.reshape(25, 3)
    if flat.size == 54:
        return flat.reshape(18, 3)
    raise KeypointFormatError(
        path, f"{key} has {flat.size} values: expected 75 (BODY_25) or 54 (COCO-18); other OpenPose "
        "models (MPI-15, BODY_135) are not supported"
    )


def parse_keypoints(
    data: Any, path: str | Path = "<keypoints>", fmt: KeypointFormat = "auto",
    image_size: tuple[int, int] = (1024, 768),
) -> np.ndarray:
    """Decode a loaded keypoint JSON object into BODY_25 `(25, 3)` float64 pixels.

    Args:
        data: the JSON object (OpenPose `{"people": [...]}` or Dress Code `{"keypoints": [...]}`).
        path: for error messages.
        fmt: "auto" detects; a named format must match or `KeypointFormatError` is raised.
        image_size: (H, W) of the image the keypoints belong to; Dress Code coordinates
            (512x384) are rescaled to it.
    """
    path = Path(path)
    if not isinstance(data, dict):
        raise KeypointFormatError(path, "expected a JSON object with 'people' (OpenPose) or 'keypoints' (Dress Code)")
    if "people" in data and "keypoints" in data:
        raise KeypointFormatError(path, "ambiguous: has both 'people' (OpenPose) and 'keypoints' (Dress Code)")
    if "keypoints" in data:
        detected, points = "dresscode", _dresscode_points(data["keypoints"], path)
    elif "people" in data:
        people = data["people"]
        if not isinstance(people, list):
            kind = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(people), "a number")
            raise KeypointFormatError(path, f"'people' is {kind}, not a list of persons")
        if not people:
            raise KeypointFormatError(path, "no person: 'people' is empty")
        person = people[0]
        if not isinstance(person, dict):
            raise KeypointFormatError(path, "people[0] is not a JSON object")
        keys = [k for k in ("pose_keypoints_2d", "pose_keypoints") if k in person]
        if not keys:
            raise KeypointFormatError(path, "people[0] has no 'pose_keypoints_2d' (nor legacy 'pose_keypoints')")
        if len(keys) == 2 and person[keys[0]] != person[keys[1]] and person[keys[1]]:
            raise KeypointFormatError(path, "ambiguous: both 'pose_keypoints_2d' and 'pose_keypoints' with different values")
        points = _flat_to_points(person[keys[0]], path, keys[0])
        detected = "body25" if points.shape[0] == 25 else "coco18"
    else:
        raise KeypointFormatError(path, "neither 'people' (OpenPose) nor 'keypoints' (Dress Code) found")

    if fmt != "auto" and fmt != detected:
        raise KeypointFormatError(path, f"expected {fmt} keypoints, found {detected}")
    if detected == "body25":
        body = points.astype(np.float64)
    elif detected == "coco18":
        body = coco18_to_body25(points)
    else:
        scale_y, scale_x = image_size[0] / DRESSCODE_SIZE[0], image_size[1] / DRESSCODE_SIZE[1]
        if not math.isclose(scale_x, scale_y, rel_tol=1e-6):
            raise KeypointFormatError(path, f"cannot rescale 512x384 Dress Code keypoints to a non-3:4 image {image_size}")
        coco = points.copy()
        coco[:, :2] *= scale_x
        body = coco18_to_body25(coco)
    # OpenPose writes undetected joints as exact zeros: keep that invariant after conversions.
    body[~present_mask(body)] = 0.0
    _check_coordinates(body, path)
    return body


def _check_coordinates(body25: np.ndarray, path: Path) -> None:
    """Refuse coordinates no photo has: PIL and OpenCV draw with 32-bit integers and fail on them."""
    far = np.abs(body25[:, :2]).max(axis=1) > MAX_COORDINATE
    if far.any():
        joint = int(np.argmax(far))
        x, y = body25[joint, :2]
        raise KeypointFormatError(
            path, f"joint {joint} ({BODY25_NAMES[joint]}) at ({x:g}, {y:g}) is far outside any image "
            f"(|coordinate| > {MAX_COORDINATE:g} px)"
        )


def _dresscode_points(entries: Any, path: Path) -> np.ndarray:
    """Dress Code `[[x, y, score, id], ...]` (18 rows, missing = -1) -> COCO-18 (18, 3), missing = 0."""
    rows = _numbers(entries, path, "'keypoints'")
    if not np.all(np.isfinite(rows)):
        raise KeypointFormatError(path, "'keypoints' contains NaN or infinite values")
    if rows.ndim != 2 or rows.shape[0] != 18 or rows.shape[1] < 3:
        raise KeypointFormatError(path, f"Dress Code 'keypoints' must be 18 rows of [x, y, score, id], got {rows.shape}")
    points = np.zeros((18, 3), dtype=np.float64)
    # The row is the joint, as the official loader reads it (`pose_data[i]`). The 4th column is not
    # read: the shipped files number it two ways once a joint is missing (dresses/020715 counts the
    # joints found, lower_body/013565 keeps the row), and every loader reads [:, :2] only.
    for joint, row in enumerate(rows):
        if row[0] < 0 or row[1] < 0:
            continue  # -1 marks a joint that was not found
        points[joint] = row[:3]
    return points


def read_keypoints(
    path: str | Path, fmt: KeypointFormat = "auto", image_size: tuple[int, int] = (1024, 768)
) -> np.ndarray:
    """Read an OpenPose (BODY_25 / COCO-18) or Dress Code keypoint file as BODY_25 `(25, 3)`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "keypoint file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError as exc:  # arrays nested thousands deep exhaust the parser's stack
        raise KeypointFormatError(path, "not valid keypoint JSON (nested too deeply)") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # ValueError: also an integer of > 4300 digits
        raise KeypointFormatError(path, f"not valid JSON ({exc})") from exc
    except OSError as exc:
        raise InputError(path, f"cannot read keypoint file ({exc.strerror or exc})") from exc
    return parse_keypoints(data, path, fmt, image_size)


def openpose_document(body25: np.ndarray) -> dict[str, Any]:
    """The OpenPose `--write_json` document for one person (BODY_25, 75 pose floats)."""
    body25 = np.asarray(body25, dtype=np.float64)
    if body25.shape != (25, 3):
        raise ValueError(f"BODY_25 keypoints must be (25, 3), got {body25.shape}")
    if not np.all(np.isfinite(body25)):
        raise ValueError("BODY_25 keypoints contain NaN or infinite values")
    flat = [float(v) for v in body25.reshape(-1)]  # unrounded: scores and coordinates survive a round trip
    return {
        "version": 1.3,
        "people": [{
            "person_id": [-1], "pose_keypoints_2d": flat, "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
            "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": [],
        }],
    }


def write_openpose_json(path: str | Path, body25: np.ndarray) -> None:
    """Write BODY_25 keypoints as an OpenPose JSON (`people[0].pose_keypoints_2d`), atomically."""
    atomic_write_json(path, openpose_document(body25))


def dresscode_document(body25: np.ndarray, image_size: tuple[int, int] = (1024, 768)) -> dict[str, Any]:
    """BODY_25 `(25, 3)` in pixels of an `image_size` (H, W) image -> Dress Code `{"keypoints": [...]}`.

    18 COCO-order rows `[x, y, score, id]` in 512x384 coordinates; a missing joint is
    `[-1, -1, 0, -1]` (Dress Code's readme) and `id` counts the joints found so far, as some shipped
    files do (dresses/020715). Others keep the row number after a missing joint (lower_body/013565),
    so a Dress Code -> vtonkit -> Dress Code trip may change this column; no loader reads it (the
    official one and IDM-VTON's use `[:, :2]`). BODY_25's mid-hip and feet have no COCO-18 row.
    """
    body25 = np.asarray(body25, dtype=np.float64)
    if body25.shape != (25, 3):
        raise ValueError(f"BODY_25 keypoints must be (25, 3), got {body25.shape}")
    scale_y, scale_x = DRESSCODE_SIZE[0] / image_size[0], DRESSCODE_SIZE[1] / image_size[1]
    if not math.isclose(scale_x, scale_y, rel_tol=1e-6):
        raise ValueError(f"cannot scale keypoints of a non-3:4 image {image_size} to Dress Code's 512x384")
    rows = []
    for body_index in COCO18_TO_BODY25:
        x, y, score = (float(v) for v in body25[body_index])
        if x == 0.0 and y == 0.0:
            rows.append([-1.0, -1.0, 0.0, -1.0])
        else:
            rows.append([x * scale_x, y * scale_y, score, float(sum(row[3] >= 0 for row in rows))])
    return {"keypoints": rows}


def write_dresscode_keypoints(path: str | Path, body25: np.ndarray, image_size: tuple[int, int] = (1024, 768)) -> None:
    """Write BODY_25 keypoints as a Dress Code `_2.json`, atomically."""
    atomic_write_json(path, dresscode_document(body25, image_size))
