"""Cloth masks with carvekit (TRACER-B7 segmentation + optional FBA matting), from local weights.

carvekit is an optional extra (`pip install carvekit`). Two things stop it from running in the
default vtonkit environment, both handled here:
* carvekit imports torchvision, whose PyPI wheels only import on their matching CUDA torch; on
  the CPU torch vtonkit pins, `import torchvision` fails. The import is guarded and the error
  says what to install.
* carvekit downloads its checkpoints itself into `~/.cache/carvekit/checkpoints` with fixed
  SHA-512 checks and no setting for another folder. This backend never lets it download: the
  networks are built with `load_pretrained=False` and the weights are loaded with
  `load_state_dict` from the files vtonkit's model store gives (`carvekit-tracer-b7`,
  `carvekit-fba`; `vtonkit models download ...` checks carvekit's own SHA-512 sums).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vtonkit.core.errors import InputError
from vtonkit.preprocess.backends.onnx_session import model_file
from vtonkit.preprocess.backends.u2net_onnx import rgb_on_white

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the carvekit backend needs carvekit and a torchvision that imports with your torch: on a CUDA "
    "machine `pip install carvekit torchvision==<the version matching your torch>`; on a CPU-only "
    "machine install torch and torchvision from the PyTorch CPU index "
    "(`pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu`) before carvekit. "
    "The default vtonkit environment cannot import torchvision (PyPI has CUDA builds only): use "
    "`--cloth-mask u2net` or `cv` there"
)


def import_carvekit() -> dict[str, Any]:
    """carvekit's classes, or ImportError with the install hint (torchvision is the usual culprit)."""
    try:
        from carvekit.ml.wrap.fba_matting import FBAMatting
        from carvekit.ml.wrap.tracer_b7 import TracerUniversalB7
        from carvekit.pipelines.postprocessing import MattingMethod
        from carvekit.trimap.generator import TrimapGenerator
    except Exception as exc:  # torchvision fails with RuntimeError/AttributeError, not only ImportError
        raise ImportError(f"{INSTALL_HINT} (import failed: {type(exc).__name__}: {exc})") from exc
    return {"TracerUniversalB7": TracerUniversalB7, "FBAMatting": FBAMatting,
            "MattingMethod": MattingMethod, "TrimapGenerator": TrimapGenerator}


# With strict=False, at most this share of the network's parameters may be absent from the file:
# carvekit's TRACER checkpoint only adds keys (an unused edge head), it never lacks any.
MAX_MISSING_SHARE = 0.05


def load_local_state(network: Any, weights: Path, *, strict: bool) -> None:
    """Load a carvekit checkpoint from a local file into `network` (CPU map).

    `strict=False` tolerates extra keys in the file, but a file that leaves more than
    `MAX_MISSING_SHARE` of the network's keys unset, or whose keys mostly belong to something
    else, is refused: loading it would silently give random weights and garbage masks.

    Raises:
        InputError: the file is not a state dict, or its keys do not fit the network.
    """
    from vtonkit.datasets.io.state_dicts import read_state_dict

    state = read_state_dict(weights)
    try:
        result = network.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise InputError(weights, f"does not fit {type(network).__name__}: {str(exc).splitlines()[0]}") from exc
    if strict:
        return
    expected = len(network.state_dict())
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    matched = expected - len(missing)
    if len(missing) > MAX_MISSING_SHARE * expected or len(unexpected) > matched:
        raise InputError(
            weights, f"not a checkpoint of {type(network).__name__}: {len(missing)} of its {expected} keys are "
            f"missing from the file (e.g. {missing[:3]}) and {len(unexpected)} of the file's {len(state)} keys are "
            f"unknown to it (e.g. {unexpected[:3]}); a wrong or re-wrapped file would give garbage masks"
        )
    if missing or unexpected:
        logger.info("%s: %d missing and %d unused keys (tolerated)", weights, len(missing), len(unexpected))


class CarvekitClothMasker:
    """carvekit TRACER-B7 (+ FBA matting) garment mask from local weights.

    Options:
        tracer_path / fba_path: weight files (else `carvekit-tracer-b7` / `carvekit-fba` from the store).
        model_paths: the config file's `[models]` table (passed by `resolve_backends`).
        matting: refine edges with FBA matting (default True; slow on CPU).
        device: "cpu" or "cuda".
        threshold: alpha threshold 0..255 (default 128).
    """

    name = "carvekit"
    version = "1"

    def __init__(self, *, tracer_path: str | Path | None = None, fba_path: str | Path | None = None,
                 model_paths: dict[str, str] | None = None, matting: bool = True, device: str = "cpu",
                 threshold: int = 128, input_size: int = 640) -> None:
        carvekit = import_carvekit()
        tracer_file = model_file("carvekit-tracer-b7", tracer_path, model_paths)
        # model_path must be given even with load_pretrained=False: without it carvekit 4.1 calls its
        # own downloader in the constructor.
        self.segmenter = carvekit["TracerUniversalB7"](device=device, input_image_size=input_size, batch_size=1,
                                                       load_pretrained=False, model_path=tracer_file)
        # carvekit itself loads TRACER with strict=False (its checkpoint carries an unused edge head).
        load_local_state(self.segmenter, tracer_file, strict=False)
        self.segmenter.eval()
        self.matting = None
        if matting:
            fba_file = model_file("carvekit-fba", fba_path, model_paths)
            fba = carvekit["FBAMatting"](device=device, input_tensor_size=2048, batch_size=1, load_pretrained=False)
            load_local_state(fba, fba_file, strict=True)
            fba.eval()
            self.matting = carvekit["MattingMethod"](matting_module=fba, trimap_generator=carvekit["TrimapGenerator"](),
                                                     device=device)
        self.threshold = threshold

    def alpha(self, image: np.ndarray) -> np.ndarray:
        """`(H, W)` uint8 alpha of the garment (0..255)."""
        rgb, _ = rgb_on_white(image)
        pil = Image.fromarray(rgb)
        masks = self.segmenter([pil])
        if self.matting is None:
            return np.asarray(masks[0].convert("L").resize(pil.size))
        cut_out = self.matting(images=[pil], masks=masks)[0]
        return np.asarray(cut_out.convert("RGBA"))[..., 3]

    def mask(self, image: np.ndarray) -> np.ndarray:
        """`(H, W, 3)` RGB or `(H, W, 4)` RGBA uint8 -> `(H, W)` bool garment mask."""
        _, opaque = rgb_on_white(image)
        mask = self.alpha(image) >= self.threshold
        return mask & opaque if opaque is not None else mask
