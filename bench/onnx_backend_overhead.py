"""Time vtonkit's own pre/post-processing around the ONNX backends (not the networks).

The real weights are not available here, so each backend runs on a generated constant-output
model with the real export's signature (tests/fake_onnx.py): the time measured is what vtonkit
adds around the network (crop/normalise, resize/warp back, label conversion, pose fixes, SimCC
decoding). Add the network's own time (docs/real-models.md) for the total. Usage:
    python bench/onnx_backend_overhead.py [--shared ../shared] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fake_onnx import constant_model  # noqa: E402

from vtonkit.datasets.io.images import read_rgb  # noqa: E402
from vtonkit.datasets.io.keypoints import read_keypoints  # noqa: E402


def timed(function, repeat: int) -> float:
    function()  # warm-up (session start, allocations)
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = args.shared / "data" / "vitonhd" / "test"
    image = read_rgb(root / "image" / "00006_00.jpg")
    cloth = read_rgb(root / "cloth" / "00006_00.jpg")
    keypoints = read_keypoints(root / "openpose_json" / "00006_00_keypoints.json")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from vtonkit.preprocess.backends.dwpose_onnx import DwPose
        from vtonkit.preprocess.backends.schp_onnx import SchpAtrParser, SchpLipParser
        from vtonkit.preprocess.backends.u2net_onnx import U2NetClothMasker

        lip = constant_model(tmp / "lip.onnx", "input.1", (1, 3, 473, 473), [
            ("parsing", rng.normal(size=(1, 20, 119, 119))), ("fusion", rng.normal(size=(1, 20, 119, 119))),
            ("edge", rng.normal(size=(1, 2, 119, 119)))])
        atr = constant_model(tmp / "atr.onnx", "input.1", (1, 3, 512, 512), [
            ("parsing", rng.normal(size=(1, 18, 128, 128))), ("fusion", rng.normal(size=(1, 18, 128, 128))),
            ("edge", rng.normal(size=(1, 2, 128, 128)))])
        raw = np.zeros((1, 8400, 85), np.float32)
        raw[0, 8399, :6] = [0.5, 0.5, np.log(10), np.log(15), 0.9, 0.9]
        det = constant_model(tmp / "det.onnx", "images", (1, 3, 640, 640), [("output", raw)])
        pose = constant_model(tmp / "pose.onnx", "input", (1, 3, 384, 288), [
            ("simcc_x", rng.random((1, 133, 576))), ("simcc_y", rng.random((1, 133, 768)))])
        cloth_seg = constant_model(tmp / "cloth.onnx", "input", (1, 3, 768, 768), [("output", rng.normal(size=(1, 4, 768, 768)))])
        rows = [
            ("schp-lip parse 1024x768", timed(lambda p=SchpLipParser(model_path=lip): p.parse(image, keypoints), args.repeat)),
            ("schp-atr parse 1024x768", timed(lambda p=SchpAtrParser(model_path=atr): p.parse(image, keypoints), args.repeat)),
            ("dwpose estimate 1024x768", timed(lambda p=DwPose(det_model_path=det, pose_model_path=pose): p.estimate(image), args.repeat)),
            ("u2net-cloth-seg mask 1024x768", timed(lambda m=U2NetClothMasker(model_path=cloth_seg): m.mask(cloth), args.repeat)),
        ]
    for name, seconds in rows:
        print(f"{name:32s} {seconds * 1000:8.1f} ms  (vtonkit overhead, constant network)")


if __name__ == "__main__":
    main()
