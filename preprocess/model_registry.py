"""The known real-model weights: where they come from, how big they are, how to check them.

Each entry says where its checksum came from (`checksum_source`). A checksum is only enforced
when one was published by a credible source; everywhere else it says "unverified" instead of
inventing one, and `vtonkit models verify` falls back to the sha256 recorded at download time.
Sizes are exact byte counts only where known (they are checked); otherwise approximate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

UNVERIFIED = "unverified: no checksum published by the distributor; the sha256 is recorded at download time"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable weights file.

    Attributes:
        name: registry key (`vtonkit models download NAME`).
        backends: backend names (see `vtonkit.preprocess.stages`) that load this file.
        filename: file name in the cache.
        urls: official download URL(s), tried in order.
        size: exact size in bytes when known (a mismatch is an error), else None.
        approx_mb: rough size for the listing.
        checksum: "sha256:<hex>", "sha512:<hex>" or "md5:<hex>", or None.
        checksum_source: where the checksum comes from, or why there is none.
        licence: licence of the weights (and of the data they were trained on, where it binds).
        commercial: "yes", "no" or "check terms" (a one-word summary of `licence`, not legal advice).
        notes: expected quality and speed.
    """

    name: str
    backends: tuple[str, ...]
    filename: str
    urls: tuple[str, ...]
    size: int | None = None
    approx_mb: float = 0.0
    checksum: str | None = None
    checksum_source: str = UNVERIFIED
    licence: str = ""
    commercial: str = "check terms"
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def checksum_algorithm(self) -> str | None:
        return self.checksum.split(":", 1)[0] if self.checksum else None

    @property
    def checksum_hex(self) -> str | None:
        return self.checksum.split(":", 1)[1].lower() if self.checksum else None


_LFS_MIRROR = ("Git LFS pointer in a third-party mirror (TRI3D-LC/tri3d-comfyui-nodes, ckpt/); "
               "not checked against the official file here")
_HASH_PREFIX = ("unverified: only the first 8 hex digits of the sha256 are published, in the file name ({}, "
                "torch.hub convention); the full sha256 is recorded at download time")
_SCHP_LICENCE = ("SCHP code MIT; weights trained on LIP / ATR / Pascal-Person-Part, whose terms are "
                 "research-only: treat the weights as non-commercial")

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec(
        name="schp-lip", backends=("schp-lip",), filename="parsing_lip.onnx",
        urls=("https://huggingface.co/spaces/yisol/IDM-VTON/resolve/main/ckpt/humanparsing/parsing_lip.onnx",
              "https://huggingface.co/levihsu/OOTDiffusion/resolve/main/checkpoints/humanparsing/parsing_lip.onnx"),
        size=266863411, approx_mb=254.5,
        checksum="sha256:8436e1dae96e2601c373d1ace29c8f0978b16357d9038c17a8ba756cca376dbc",
        checksum_source=_LFS_MIRROR, licence=_SCHP_LICENCE,
        commercial="no",
        notes="SCHP ResNet-101, LIP 20 classes, 473x473 input; ~1-3 s/image on CPU. Good on clothes "
              "and arms; no neck class (derived from skin around the pose's neck).",
    ),
    ModelSpec(
        name="schp-atr", backends=("schp-atr",), filename="parsing_atr.onnx",
        urls=("https://huggingface.co/spaces/yisol/IDM-VTON/resolve/main/ckpt/humanparsing/parsing_atr.onnx",
              "https://huggingface.co/levihsu/OOTDiffusion/resolve/main/checkpoints/humanparsing/parsing_atr.onnx"),
        size=266859305, approx_mb=254.5,
        checksum="sha256:04c7d1d070d0e0ae943d86b18cb5aaaea9e278d97462e9cfb270cbbe4cd977f4",
        checksum_source=_LFS_MIRROR, licence=_SCHP_LICENCE,
        commercial="no",
        notes="SCHP ResNet-101, ATR 18 classes, 512x512 input; ~1-3 s/image on CPU. Fashion-photo "
              "domain (closest to shop images); face includes the neck (split by the pose).",
    ),
    ModelSpec(
        name="schp-pascal", backends=("schp-pascal",), filename="parsing_pascal.onnx",
        urls=(), approx_mb=255,
        checksum_source="no ONNX export is distributed: export SCHP's "
                        "exp-schp-201908270938-pascal-person-part.pth yourself, then `vtonkit models use`",
        licence=_SCHP_LICENCE,
        commercial="no",
        notes="7 body-part classes without clothing or left/right (split by the pose): a fallback only.",
    ),
    ModelSpec(
        name="dwpose-det", backends=("dwpose",), filename="yolox_l.onnx",
        urls=("https://huggingface.co/yzd-v/DWPose/resolve/main/yolox_l.onnx",), approx_mb=217,
        licence="YOLOX Apache-2.0 (COCO-trained detector)",
        commercial="yes",
        notes="YOLOX-L person detector, 640x640 letterbox; ~0.5-1 s/image on CPU.",
    ),
    ModelSpec(
        name="dwpose-pose", backends=("dwpose",), filename="dw-ll_ucoco_384.onnx",
        urls=("https://huggingface.co/yzd-v/DWPose/resolve/main/dw-ll_ucoco_384.onnx",), approx_mb=134,
        licence="DWPose Apache-2.0 (trained on COCO-WholeBody / UBody)",
        commercial="yes",
        notes="DWPose-L whole-body (133 keypoints incl. feet), 288x384 SimCC; ~0.3-0.6 s/person on CPU. "
              "Close to OpenPose BODY_25 quality, with real foot points.",
    ),
    ModelSpec(
        name="u2net-cloth-seg", backends=("u2net",), filename="u2net_cloth_seg.onnx",
        urls=("https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2net_cloth_seg.onnx",),
        approx_mb=168, checksum="md5:2434d1f3cb744e0e49386c906e5a08bb",
        checksum_source="rembg source (sessions/u2net_cloth_seg.py, pooch md5)",
        licence="code MIT (levindabhi/cloth-segmentation, rembg); trained on iMaterialist-Fashion "
                "(Kaggle competition data: check its terms before commercial use)",
        commercial="check terms",
        notes="U2-Net with 4 classes (background, upper, lower, full body), 768x768; ~2-4 s/image on CPU.",
    ),
    ModelSpec(
        name="isnet-general-use", backends=("u2net",), filename="isnet-general-use.onnx",
        urls=("https://github.com/danielgatis/rembg/releases/download/v0.0.0/isnet-general-use.onnx",),
        approx_mb=170, checksum="md5:fc16ebd8b0c10d971d3513d564d01e29",
        checksum_source="rembg source (sessions/dis_general_use.py, pooch md5)",
        licence="DIS / ISNet Apache-2.0",
        commercial="yes",
        notes="Salient-object mask, 1024x1024; ~2-5 s/image on CPU. Best on product shots on plain backgrounds.",
    ),
    ModelSpec(
        name="u2net", backends=("u2net",), filename="u2net.onnx",
        urls=("https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2net.onnx",),
        approx_mb=168, checksum="md5:60024c5c889badc19c04ad937298a77b",
        checksum_source="rembg source (sessions/u2net.py, pooch md5)",
        licence="U-2-Net Apache-2.0",
        commercial="yes",
        notes="Salient-object mask, 320x320; ~0.5-1 s/image on CPU; soft edges.",
    ),
    ModelSpec(
        name="carvekit-tracer-b7", backends=("carvekit",), filename="tracer_b7.pth",
        urls=("https://huggingface.co/Carve/tracer_b7/resolve/d8a8fd9e7b3fa0d2f1506fe7242966b34381e9c5/tracer_b7.pth",),
        approx_mb=255,
        checksum="sha512:c439c5c12d4d43d5f9be9ec61e68b2e54658a541bccac2577ef5a54fb252b6e8415d41f7e"
                 "c2487033d0c02b4dd08367958e4e62091318111c519f93e2632be7b",
        checksum_source="carvekit 4.1.2 source (utils/download_models.py MODELS_CHECKSUMS)",
        licence="carvekit Apache-2.0",
        commercial="yes",
        notes="TRACER-B7 segmentation (640x640) used by carvekit; needs torchvision (not importable here).",
    ),
    ModelSpec(
        name="carvekit-fba", backends=("carvekit",), filename="fba_matting.pth",
        urls=("https://huggingface.co/Carve/fba/resolve/a5d3457df0fb9c88ea19ed700d409756ca2069d1/fba_matting.pth",),
        approx_mb=139,
        checksum="sha512:890906ec94c1bfd2ad08707a63e4ccb0955d7f5d25e32853950c24c78"
                 "4cbad2e59be277999defc3754905d0f15aa75702cdead3cfe669ff72f08811c52971613",
        checksum_source="carvekit 4.1.2 source (utils/download_models.py MODELS_CHECKSUMS)",
        licence="carvekit Apache-2.0; FBA Matting weights: see MarcoForte/FBA_Matting's licence",
        commercial="check terms",
        notes="FBA matting refinement of the TRACER mask edges; slow on CPU (several s/image).",
    ),
    ModelSpec(
        name="densepose-r50-fpn-s1x", backends=("detectron2",), filename="model_final_162be9.pkl",
        urls=("https://dl.fbaipublicfiles.com/densepose/densepose_rcnn_R_50_FPN_s1x/165712039/model_final_162be9.pkl",),
        size=255757821, approx_mb=244,
        checksum="sha256:b8a7382001b16e453bad95ca9dbc68ae8f2b839b304cf90eaf5c27fbdb4dae91",
        checksum_source=_LFS_MIRROR,
        licence="detectron2 / DensePose code Apache-2.0; model zoo weights CC BY-SA 3.0",
        commercial="yes (share-alike)",
        notes="The model HR-VITON's authors used (densepose_rcnn_R_50_FPN_s1x); needs detectron2 "
              "(GPU recommended, ~0.2 s/image on GPU, several s on CPU).",
    ),
    # Feature networks of `vtonkit evaluate` (FID/KID, LPIPS); see docs/evaluation.md.
    ModelSpec(
        name="fid-inception", backends=("evaluate: fid, kid",), filename="pt_inception-2015-12-05-6726825d.pth",
        urls=("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",),
        approx_mb=91, checksum_source=_HASH_PREFIX.format("6726825d"),
        licence="pytorch-fid Apache-2.0; weights ported from TensorFlow's inception-2015-12-05 (Apache-2.0), "
                "trained on ImageNet (research terms)",
        commercial="check terms",
        notes="The FID Inception v3 of pytorch-fid (TensorFlow graph); 2048-d pool features; ~0.3 s/image on CPU.",
    ),
    ModelSpec(
        name="torchvision-alexnet", backends=("evaluate: lpips alex",), filename="alexnet-owt-7be5be79.pth",
        urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
        approx_mb=233, checksum_source=_HASH_PREFIX.format("7be5be79"),
        licence="torchvision BSD-3-Clause; ImageNet-trained weights (ImageNet terms: non-commercial research)",
        commercial="check terms",
        notes="LPIPS alex backbone: only the features.* keys are used.",
    ),
    ModelSpec(
        name="torchvision-vgg16", backends=("evaluate: lpips vgg",), filename="vgg16-397923af.pth",
        urls=("https://download.pytorch.org/models/vgg16-397923af.pth",),
        approx_mb=528, checksum_source=_HASH_PREFIX.format("397923af"),
        licence="torchvision BSD-3-Clause; ImageNet-trained weights (ImageNet terms: non-commercial research)",
        commercial="check terms",
        notes="LPIPS vgg backbone: only the features.* keys are used; slow at 1024x768 on CPU (~10 s/pair).",
    ),
    ModelSpec(
        name="lpips-alex", backends=("evaluate: lpips alex",), filename="alex.pth",
        urls=("https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",),
        approx_mb=0.006, licence="LPIPS (richzhang/PerceptualSimilarity) BSD-2-Clause",
        commercial="yes",
        notes="LPIPS v0.1 linear layers for AlexNet (lin0..lin4); HR-VITON's evaluate.py uses these.",
    ),
    ModelSpec(
        name="lpips-vgg", backends=("evaluate: lpips vgg",), filename="vgg.pth",
        urls=("https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",),
        approx_mb=0.007, licence="LPIPS (richzhang/PerceptualSimilarity) BSD-2-Clause",
        commercial="yes",
        notes="LPIPS v0.1 linear layers for VGG16 (lin0..lin4).",
    ),
)}


def get_spec(name: str) -> ModelSpec:
    """The registry entry `name`; KeyError names the known models."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
