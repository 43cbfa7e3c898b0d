"""Real pre/post-processing of the ONNX backends, on tiny generated models with the real signatures.

The real weights cannot be downloaded here, so each test builds a constant-output ONNX model with
the distributed export's input/output names and shapes (see `fake_onnx.py`), whose outputs encode
GENUINE annotations (VITON-HD parse / OpenPose keypoints / cloth masks, Dress Code label maps)
pushed through the network-input geometry as computed independently in the test (SCHP's and
RTMPose's three-point `cv2.getAffineTransform` construction). The backend must decode them back to
the genuine annotation in image pixels.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from fake_onnx import constant_model, fake_schp, reference_schp_affine, schp_box_cs
from vtonkit.datasets.io.images import read_rgb
from vtonkit.datasets.io.keypoints import read_keypoints
from vtonkit.datasets.io.parse import read_parse
from vtonkit.datasets.labels import Cihp, to_cihp

VITON_STEMS = ("00006_00", "00013_00", "00034_00")
MIRROR = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 14, 17, 16, 19, 18], dtype=np.uint8)
ATR_MIRROR = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 9, 11, 13, 12, 15, 14, 16, 17], dtype=np.uint8)


# ------------------------------------------------------------------------------------------ SCHP


def _viton(vitonhd, stem):
    root = vitonhd / "test"
    return (read_rgb(root / "image" / f"{stem}.jpg"), read_parse(root / "image-parse-v3" / f"{stem}.png"),
            read_keypoints(root / "openpose_json" / f"{stem}_keypoints.json"))


def test_schp_input_matches_schp_reference_preprocessing(vitonhd):
    from vtonkit.preprocess.backends.schp_onnx import schp_center_scale, schp_input

    image, _, _ = _viton(vitonhd, "00006_00")
    for input_hw in ((473, 473), (512, 512)):
        center, scale_w = schp_center_scale((0, 0, image.shape[1] - 1, image.shape[0] - 1), input_hw)
        ref_center, ref_scale = schp_box_cs(image.shape[1], image.shape[0], input_hw)
        assert np.allclose(center, ref_center) and np.isclose(scale_w, ref_scale)
        bgr = cv2.warpAffine(image[..., ::-1].copy(), reference_schp_affine(ref_center, ref_scale, input_hw),
                             input_hw[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        expected = ((bgr / 255.0 - [0.406, 0.456, 0.485]) / [0.225, 0.224, 0.229]).transpose(2, 0, 1)[None]
        got = schp_input(image, center, scale_w, input_hw)
        assert got.shape == (1, 3, *input_hw) and got.dtype == np.float32
        # float32 matrices in the reference: a handful of edge pixels may round differently
        assert np.mean(np.abs(got - expected) < 0.05) > 0.999


@pytest.mark.parametrize("stem", VITON_STEMS)
def test_schp_lip_recovers_genuine_parse_through_crop_and_inverse_warp(tmp_path, vitonhd, stem):
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser

    image, genuine, keypoints = _viton(vitonhd, stem)
    lip = genuine.copy()
    lip[genuine == Cihp.NECK] = 0  # LIP has no neck: a LIP model leaves neck skin background
    model = fake_schp(tmp_path, lip, 20, (473, 473))
    parser = SchpLipParser(model_path=model)
    assert parser.input_hw == (473, 473) and parser.input_name == "input.1"
    parsed = parser.parse(image, keypoints)
    assert parsed.shape == genuine.shape and parsed.dtype == np.uint8
    agreement = (parsed == genuine).mean()
    assert agreement >= 0.97, agreement
    neck_true, neck_found = genuine == Cihp.NECK, parsed == Cihp.NECK
    assert (neck_true & neck_found).sum() / (neck_true | neck_found).sum() > 0.6  # derived neck


@pytest.mark.parametrize(("neck_as", "stem"), [(Cihp.UPPER_CLOTHES, "00008_00"), (Cihp.UPPER_CLOTHES, "00017_00"),
                                             (Cihp.FACE, "00013_00"), (Cihp.FACE, "00034_00"), (Cihp.HAIR, "00008_00")])
def test_schp_lip_neck_found_when_the_model_labels_it_other_than_background(tmp_path, vitonhd, neck_as, stem):
    # LIP has no neck class; a LIP model may put neck skin under the collar's upper-clothes, the
    # face or long hair instead of background. Today's derivation looked in background only.
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser

    image, genuine, keypoints = _viton(vitonhd, stem)
    lip = genuine.copy()
    lip[genuine == Cihp.NECK] = {Cihp.UPPER_CLOTHES: 5, Cihp.FACE: 13, Cihp.HAIR: 2}[neck_as]  # LIP ids
    parsed = SchpLipParser(model_path=fake_schp(tmp_path, lip, 20, (473, 473))).parse(image, keypoints)
    neck_true, neck_found = genuine == Cihp.NECK, parsed == Cihp.NECK
    iou = (neck_true & neck_found).sum() / (neck_true | neck_found).sum()
    assert iou > (0.5 if neck_as != Cihp.HAIR else 0.4), iou


def test_schp_lip_at_input_resolution_single_output(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser

    image, genuine, keypoints = _viton(vitonhd, "00013_00")
    model = fake_schp(tmp_path, genuine, 20, (473, 473), low_res=False, three_outputs=False)
    parsed = SchpLipParser(model_path=model, neck=False).parse(image, keypoints)
    # LIP 10 (jumpsuits) becomes CIHP dress: the genuine neck shows up as dress here, nothing else moves
    assert ((parsed == genuine) | ((genuine == Cihp.NECK) & (parsed == Cihp.DRESS))).mean() >= 0.99


def test_schp_person_crop_uses_the_pose_box(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser, person_box

    image, genuine, keypoints = _viton(vitonhd, "00013_00")
    box = person_box(genuine.shape, keypoints, "person")
    assert box != (0.0, 0.0, 767.0, 1023.0) and box[2] < 767  # a real crop, narrower than the image
    lip = genuine.copy()
    lip[genuine == Cihp.NECK] = 0
    model = fake_schp(tmp_path, lip, 20, (473, 473), box=box)
    parsed = SchpLipParser(model_path=model, crop="person").parse(image, keypoints)
    inside = np.zeros(genuine.shape, bool)
    x, y, w, h = (int(v) for v in box)
    inside[y: y + h, x: x + w] = True
    assert (parsed[inside] == genuine[inside]).mean() >= 0.97


def test_schp_left_right_fixed_when_model_mirrors_labels(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser

    image, genuine, keypoints = _viton(vitonhd, "00034_00")
    lip = genuine.copy()
    lip[genuine == Cihp.NECK] = 0
    model = fake_schp(tmp_path, MIRROR[lip], 20, (473, 473))
    arms = np.isin(genuine, [Cihp.LEFT_ARM, Cihp.RIGHT_ARM])
    unfixed = SchpLipParser(model_path=model, fix_sides=False, neck=False).parse(image, keypoints)
    assert (unfixed[arms] == genuine[arms]).mean() < 0.1  # the fake really mirrors
    fixed = SchpLipParser(model_path=model).parse(image, keypoints)
    assert (fixed[arms] == genuine[arms]).mean() > 0.95
    assert (fixed == genuine).mean() >= 0.98


@pytest.mark.parametrize("stem", ["013563", "013565"])
def test_schp_atr_legs_shoes_and_mirror_on_dresscode(tmp_path, dresscode, stem):
    from vtonkit.preprocess.backends.schp_onnx import SchpAtrParser

    root = dresscode / "lower_body"
    image = read_rgb(root / "images" / f"{stem}_0.jpg")
    atr = read_parse(root / "label_maps" / f"{stem}_4.png", check_ids=False)  # ATR-ordered ids
    keypoints = read_keypoints(root / "keypoints" / f"{stem}_2.json", image_size=image.shape[:2])
    genuine = to_cihp(atr, "dresscode")
    model = fake_schp(tmp_path, ATR_MIRROR[atr], 18, (512, 512))
    parsed = SchpAtrParser(model_path=model, neck=False).parse(image, keypoints)
    assert (parsed == genuine).mean() >= 0.97
    for left, right in ((Cihp.LEFT_LEG, Cihp.RIGHT_LEG), (Cihp.LEFT_SHOE, Cihp.RIGHT_SHOE)):
        both = np.isin(genuine, [left, right])
        assert (parsed[both] == genuine[both]).mean() > 0.9


def test_schp_pascal_limbs_split_by_pose(tmp_path, dresscode):
    from vtonkit.preprocess.backends.schp_onnx import SchpPascalParser

    root = dresscode / "lower_body"
    image = read_rgb(root / "images" / "013565_0.jpg")
    genuine = to_cihp(read_parse(root / "label_maps" / "013565_4.png", check_ids=False), "dresscode")
    keypoints = read_keypoints(root / "keypoints" / "013565_2.json", image_size=image.shape[:2])
    pascal = np.zeros_like(genuine)  # Pascal: 1 head, 2 torso, 4 lower arms, 6 lower legs (no sides)
    pascal[np.isin(genuine, [Cihp.FACE, Cihp.HAIR, Cihp.HAT])] = 1
    pascal[np.isin(genuine, [Cihp.UPPER_CLOTHES])] = 2
    pascal[np.isin(genuine, [Cihp.LEFT_ARM, Cihp.RIGHT_ARM])] = 4
    pascal[np.isin(genuine, [Cihp.LEFT_LEG, Cihp.RIGHT_LEG, Cihp.PANTS])] = 6
    model = fake_schp(tmp_path, pascal, 7, (512, 512))
    parsed = SchpPascalParser(model_path=model).parse(image, keypoints)
    for left, right in ((Cihp.LEFT_ARM, Cihp.RIGHT_ARM), (Cihp.LEFT_LEG, Cihp.RIGHT_LEG)):
        limb = np.isin(genuine, [left, right])
        assert (parsed[limb] == genuine[limb]).mean() > 0.9


def test_schp_wrong_label_set_is_a_clear_error(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.schp_onnx import SchpAtrParser

    image, genuine, keypoints = _viton(vitonhd, "00006_00")
    model = fake_schp(tmp_path, genuine, 20, (512, 512))  # a 20-class model loaded as ATR (18)
    with pytest.raises(ValueError, match="18 class channels"):
        SchpAtrParser(model_path=model).parse(image, keypoints)


def test_missing_and_corrupt_model_files_name_the_file(tmp_path):
    from vtonkit.preprocess.backends.schp_onnx import SchpLipParser

    from vtonkit.core.errors import FormatError, InputError

    with pytest.raises(InputError, match="nothing.onnx"):
        SchpLipParser(model_path=tmp_path / "nothing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(FormatError, match="bad.onnx"):
        SchpLipParser(model_path=bad)


# ---------------------------------------------------------------------------------------- DWPose

# BODY_25 -> COCO-WholeBody index, used to build the fake pose model's targets from genuine BODY_25.
WHOLEBODY_FROM_BODY25 = {0: 0, 16: 1, 15: 2, 18: 3, 17: 4, 5: 5, 2: 6, 6: 7, 3: 8, 7: 9, 4: 10, 12: 11, 9: 12,
                         13: 13, 10: 14, 14: 15, 11: 16, 19: 17, 20: 18, 21: 19, 22: 20, 23: 21, 24: 22}


def reference_rtmpose_affine(center, scale, input_wh, inv=False):
    """RTMPose `get_warp_matrix` (rot 0) from its three point pairs."""
    w, h = input_wh
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0.0, scale[0] * -0.5])
    dst[0] = [w * 0.5, h * 0.5]
    dst[1] = dst[0] + np.array([0.0, w * -0.5])
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def encode_yolox(boxes_xyxy, scores, ratio, input_hw=(640, 640), num_classes=80):
    """Raw YOLOX output (1, 8400, 85) holding `boxes` (image pixels) at stride-32 anchors."""
    grids = [(input_hw[0] // s, input_hw[1] // s, s) for s in (8, 16, 32)]
    raw = np.zeros((sum(gh * gw for gh, gw, _ in grids), 5 + num_classes), np.float32)
    raw[:, 2:4] = 0.0
    offset = grids[0][0] * grids[0][1] + grids[1][0] * grids[1][1]
    gh, gw, stride = grids[2]
    for (x1, y1, x2, y2), score in zip(np.asarray(boxes_xyxy) * ratio, scores):
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        gx, gy = int(cx // stride), int(cy // stride)
        row = offset + gy * gw + gx
        raw[row, :4] = [cx / stride - gx, cy / stride - gy, np.log(w / stride), np.log(h / stride)]
        raw[row, 4], raw[row, 5] = score, score
    return raw[None]


def encode_simcc(points_input, visible, input_wh=(288, 384), count=133, sigma=2.0):
    """SimCC outputs (1, K, 2W), (1, K, 2H) peaking at the given input-space points."""
    xs, ys = np.arange(input_wh[0] * 2), np.arange(input_wh[1] * 2)
    simcc_x = np.zeros((1, count, xs.size), np.float32)
    simcc_y = np.zeros((1, count, ys.size), np.float32)
    for k in range(count):
        if visible[k]:
            simcc_x[0, k] = 0.9 * np.exp(-((xs - points_input[k, 0] * 2) ** 2) / (2 * sigma**2))
            simcc_y[0, k] = 0.9 * np.exp(-((ys - points_input[k, 1] * 2) ** 2) / (2 * sigma**2))
        else:
            simcc_x[0, k, 0] = simcc_y[0, k, 0] = 0.05  # below the keypoint threshold
    return simcc_x, simcc_y


@pytest.mark.parametrize("stem", ["00006_00", "00034_00"])
def test_dwpose_decodes_genuine_openpose_keypoints_to_body25(tmp_path, vitonhd, stem):
    from vtonkit.preprocess.backends.dwpose_onnx import DwPose

    root = vitonhd / "test"
    image = read_rgb(root / "image" / f"{stem}.jpg")
    genuine = read_keypoints(root / "openpose_json" / f"{stem}_keypoints.json")
    present = ~((genuine[:, 0] == 0) & (genuine[:, 1] == 0))
    height, width = image.shape[:2]
    # The person box a detector would give: the keypoints' extent plus margins, inside the image.
    xs, ys = genuine[present, 0], genuine[present, 1]
    person = np.array([max(0, xs.min() - 60), max(0, ys.min() - 120), min(width - 1, xs.max() + 60), height - 1])
    bystander = np.array([10.0, 700.0, 90.0, 1000.0])  # a second, small, off-centre person
    ratio = min(640 / height, 640 / width)
    detector = constant_model(tmp_path / "yolox_l.onnx", "images", (1, 3, 640, 640),
                              [("output", encode_yolox([person, bystander], [0.9, 0.8], ratio))])
    # The pose model sees the main person's crop: encode the genuine joints in that crop's pixels.
    center = (person[:2] + person[2:]) / 2
    w, h = (person[2:] - person[:2]) * 1.25
    scale = np.array([w, w / (288 / 384)]) if w > h * 288 / 384 else np.array([h * 288 / 384, h])
    matrix = reference_rtmpose_affine(center, scale, (288, 384))
    targets = np.zeros((133, 2))
    visible = np.zeros(133, bool)
    for b25, wb in WHOLEBODY_FROM_BODY25.items():
        if present[b25]:
            targets[wb] = genuine[b25, :2] @ matrix[:, :2].T + matrix[:, 2]
            visible[wb] = True
    simcc_x, simcc_y = encode_simcc(targets, visible)
    pose_model = constant_model(tmp_path / "dw-ll_ucoco_384.onnx", "input", (1, 3, 384, 288),
                                [("simcc_x", simcc_x), ("simcc_y", simcc_y)])

    result = DwPose(det_model_path=detector, pose_model_path=pose_model).estimate(image)
    assert result.num_persons == 2 and result.warnings
    body = result.keypoints
    assert body.shape == (25, 3)
    direct = [i for i in range(25) if i not in (1, 8)]
    for i in direct:
        if present[i]:
            assert np.hypot(*(body[i, :2] - genuine[i, :2])) <= 2.0, (i, body[i], genuine[i])
        else:
            assert (body[i] == 0).all()
    # Neck = mid-shoulders (OpenPose's own neck sits close to it): within a few pixels here.
    assert np.hypot(*(body[1, :2] - (genuine[2, :2] + genuine[5, :2]) / 2)) <= 2.0
    assert np.hypot(*(body[1, :2] - genuine[1, :2])) < 30


def test_dwpose_no_person_raises(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.dwpose_onnx import DwPose

    from vtonkit.core.errors import NoPersonError

    image = read_rgb(vitonhd / "test" / "image" / "00006_00.jpg")
    detector = constant_model(tmp_path / "det.onnx", "images", (1, 3, 640, 640),
                              [("output", encode_yolox([], [], 1.0))])
    simcc = encode_simcc(np.zeros((133, 2)), np.zeros(133, bool))
    pose_model = constant_model(tmp_path / "pose.onnx", "input", (1, 3, 384, 288),
                                [("simcc_x", simcc[0]), ("simcc_y", simcc[1])])
    with pytest.raises(NoPersonError, match="no person"):
        DwPose(det_model_path=detector, pose_model_path=pose_model).estimate(image)


def test_wholebody_feet_and_midpoints_to_body25():
    from vtonkit.preprocess.backends.coco_wholebody import coco_to_body25

    points = np.stack([np.arange(133) * 2.0, np.arange(133) * 3.0], -1) + 1
    scores = np.full(133, 0.9)
    scores[12] = 0.1  # right hip missing -> no mid-hip
    body = coco_to_body25(points, scores)
    assert np.allclose(body[19:25, :2], points[17:23])  # feet: L big toe, L small toe, L heel, R ...
    assert np.allclose(body[1, :2], (points[5] + points[6]) / 2)  # neck = mid-shoulders
    assert np.allclose(body[2, :2], points[6]) and np.allclose(body[5, :2], points[5])  # R/L swap order
    assert (body[8] == 0).all() and (body[9] == 0).all()
    coco17 = coco_to_body25(points[:17], scores[:17])
    assert (coco17[19:] == 0).all() and np.allclose(coco17[16, :2], points[1])


# ----------------------------------------------------------------------------------------- U2-Net


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def _genuine_cloth(vitonhd, stem="00006_00"):
    from vtonkit.datasets.io.masks import read_mask

    root = vitonhd / "test"
    return read_rgb(root / "cloth" / f"{stem}.jpg"), read_mask(root / "cloth-mask" / f"{stem}.jpg")


def test_u2net_cloth_seg_mask_back_at_image_size(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.u2net_onnx import U2NetClothMasker

    cloth, genuine = _genuine_cloth(vitonhd)
    # rembg squashes the image to 768x768 (no aspect kept): the model's view of the garment is too.
    squashed = cv2.resize(genuine.astype(np.uint8), (768, 768), interpolation=cv2.INTER_NEAREST).astype(bool)
    logits = np.full((1, 4, 768, 768), -4.0, np.float32)
    logits[0, 0][~squashed] = 4.0
    logits[0, 1][squashed] = 4.0  # class 1 = upper clothes
    model = constant_model(tmp_path / "u2net_cloth_seg.onnx", "input", (1, 3, 768, 768), [("output", logits)])
    mask = U2NetClothMasker(model_path=model).mask(cloth)
    assert mask.shape == genuine.shape and mask.dtype == bool
    assert _iou(mask, genuine) > 0.98
    assert U2NetClothMasker(model_path=model, category="upper").mask(cloth).sum() == mask.sum()
    assert U2NetClothMasker(model_path=model, category="lower").mask(cloth).sum() == 0


def test_u2net_saliency_side_outputs_and_rgba(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.u2net_onnx import U2NetClothMasker

    cloth, genuine = _genuine_cloth(vitonhd)
    small = cv2.resize(genuine.astype(np.float32), (320, 320), interpolation=cv2.INTER_AREA)
    # U2-Net returns 7 side outputs d0..d6 (sigmoid maps); rembg reads the first.
    outputs = [(f"d{i}", (small if i == 0 else 1 - small)[None, None] * 0.98 + 0.01) for i in range(7)]
    model = constant_model(tmp_path / "u2net.onnx", "input.1", (1, 3, 320, 320), outputs)
    masker = U2NetClothMasker(model="u2net", model_path=model)
    mask = masker.mask(cloth)
    assert _iou(mask, genuine) > 0.95
    rgba = np.dstack([cloth, np.full(genuine.shape, 255, np.uint8)])
    rgba[:, : genuine.shape[1] // 2, 3] = 0  # left half transparent: never part of the mask
    cut = masker.mask(rgba)
    assert not cut[:, : genuine.shape[1] // 2].any() and cut[:, genuine.shape[1] // 2:].sum() > 0


def test_u2net_input_normalisation_as_rembg_and_as_training():
    from vtonkit.preprocess.backends.u2net_onnx import U2NET_SETTINGS, u2net_input

    image = np.zeros((40, 30, 3), np.uint8)
    image[..., 0] = 200  # max pixel 200: rembg divides by the image maximum, not 255
    _, cloth_seg = U2NET_SETTINGS["u2net-cloth-seg"]
    tensor = u2net_input(image, 16, cloth_seg["rembg"])
    assert tensor.shape == (1, 3, 16, 16)
    assert np.allclose(tensor[0, 0], (1 - 0.485) / 0.229, atol=1e-4)
    assert np.allclose(tensor[0, 2], (0 - 0.406) / 0.225, atol=1e-4)
    # The cloth-segmentation training code: ToTensor (x/255) then Normalize(0.5, 0.5).
    tensor = u2net_input(image, 16, cloth_seg["training"])
    assert np.allclose(tensor[0, 0], (200 / 255 - 0.5) / 0.5, atol=1e-4)
    assert np.allclose(tensor[0, 2], -1.0, atol=1e-4)


def _red_channel_classifier(path):
    """u2net_cloth_seg signature; logits (0, red input, -20, -20): "upper" wherever the normalised red is > 0."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    consts = [numpy_helper.from_array(np.array(v, np.int64), n)
              for n, v in (("starts", [0]), ("ends", [1]), ("axes", [1]))]
    consts += [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
               numpy_helper.from_array(np.array(-20.0, np.float32), "low")]
    nodes = [helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["red"]),
             helper.make_node("Mul", ["red", "zero"], ["background"]),
             helper.make_node("Add", ["background", "low"], ["other"]),
             helper.make_node("Concat", ["background", "red", "other", "other"], ["output"], axis=1)]
    graph = helper.make_graph(nodes, "red", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 768, 768])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 768, 768])],
                              initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_u2net_cloth_seg_defaults_to_its_training_normalisation(tmp_path, vitonhd):
    from vtonkit.preprocess.backends.u2net_onnx import U2NetClothMasker

    cloth, _ = _genuine_cloth(vitonhd)
    cloth = (cloth * 0.45).astype(np.uint8)  # an under-exposed shot: rembg stretches it back to full range
    model = _red_channel_classifier(tmp_path / "u2net_cloth_seg.onnx")
    red = cv2.resize(cloth[..., 0].astype(np.float32), (768, 768), interpolation=cv2.INTER_CUBIC)
    red = cv2.resize(red, (cloth.shape[1], cloth.shape[0]), interpolation=cv2.INTER_LINEAR)
    # Training normalisation: red/255 - 0.5 > 0  <=>  red > 127.5.  rembg: red/max > 0.485.
    by_training = U2NetClothMasker(model_path=model).mask(cloth)
    assert (by_training != (red > 127.5)).mean() < 0.01
    by_rembg = U2NetClothMasker(model_path=model, normalisation="rembg").mask(cloth)
    assert (by_rembg != (red > 0.485 * cloth.max())).mean() < 0.01
    assert (by_rembg & ~by_training).mean() > 0.5  # the two really differ on this photo (the dim background)
    with pytest.raises(ValueError, match="normalisation"):
        U2NetClothMasker(model_path=model, normalisation="imagenet")


def test_yolox_end_to_end_export_and_nms():
    from vtonkit.preprocess.backends.dwpose_onnx import decode_yolox

    ratio = 0.625
    dets = np.array([[[100, 50, 300, 600, 0.9], [105, 55, 305, 590, 0.8], [400, 100, 500, 300, 0.95]]], np.float32)
    labels = np.array([[0, 0, 2]])  # the third box is not a person
    boxes, scores = decode_yolox([dets, labels], (640, 640), ratio)
    assert np.allclose(boxes, [[160, 80, 480, 960]]) and np.allclose(scores, [0.9])  # duplicate removed by NMS
    raw = encode_yolox([[100, 100, 400, 900], [110, 90, 410, 880]], [0.9, 0.85], ratio)
    boxes, _ = decode_yolox([raw], (640, 640), ratio)
    assert len(boxes) == 1 and np.allclose(boxes[0], [100, 100, 400, 900], atol=1e-3)


def test_yolox_scores_the_person_column_of_every_anchor():
    # Upstream (DWPose onnxdet) runs class-aware NMS and keeps class 0: a person anchor whose top
    # class is another one (a handbag held in front of the body) still counts as a person.
    from vtonkit.preprocess.backends.dwpose_onnx import decode_yolox

    ratio = 0.625
    raw = encode_yolox([[100, 100, 400, 900], [500, 120, 700, 880]], [0.9, 0.8], ratio)
    second = np.flatnonzero(raw[0, :, 5] == np.float32(0.8))[0]
    raw[0, second, 5 + 26] = 0.95  # COCO class 26 "handbag" beats "person" on the second box
    boxes, scores = decode_yolox([raw], (640, 640), ratio)
    assert len(boxes) == 2
    assert np.allclose(sorted(boxes[:, 0]), [100, 500], atol=1e-3)
    assert np.allclose(sorted(scores), [0.8 * 0.8, 0.9 * 0.9], atol=1e-6)  # obj x person column, not the best column
