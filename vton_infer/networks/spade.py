"""HR-VITON SPADE image generator, checkpoint-compatible with `gen.pth` (hrviton-format.md 7b).

Keys and shapes equal the official `SPADEGenerator` built with `norm_G='spectralaliasinstance'`,
`ngf=64`, 7 semantic channels, `num_upsampling_layers='most'`. The convolutions of the residual
blocks carry the legacy `torch.nn.utils.spectral_norm` parameters (`weight_orig`, `weight_u`,
`weight_v`). In eval mode the normalised weight `weight_orig / (u . (W v))` is computed once and
cached (no power iteration, as the official eval mode). In train mode (vtonkit.vton_infer.train)
every forward runs one power iteration on u, v first, like torch's spectral norm, the SPADE noise
is always added (so `noise_scale` gets a gradient even at 0) and the modulation is dense.

Speed: the SPADE modulation (`conv_shared` -> `conv_gamma`/`conv_beta`, two 3x3 convolutions) costs
about 4/5 of the generator's arithmetic at 1024x768. When the layout map is one-hot (always, in
the try-on pipeline), gamma and beta depend only on the labels in a 5x5 window, so they are a
per-class constant wherever that window holds one label; only pixels near label boundaries (and
the 2-pixel frame affected by zero padding) are computed, the rest is looked up. The constants are
computed by the same layers on uniform 5x5 patches, so results equal the dense computation up to
float32 summation order. `SPADEGenerator(sparse_modulation=False)` gives the plain dense path.
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

# Below this many pixels per image the dense modulation is as fast as the sparse bookkeeping.
SPARSE_MIN_PIXELS = 64 * 48
# Boundary pixels are processed in chunks to bound the gathered-patch memory (chunk x 9 x 128 floats).
SPARSE_CHUNK = 16384


class SpectralNormConv2d(nn.Module):
    """Conv2d whose weight is `weight_orig / sigma`, sigma = u . (W_mat v) (legacy spectral-norm keys).

    State dict: `bias` (if any), `weight_orig`, `weight_u` (out,), `weight_v` (in*k*k,), exactly the
    entries `torch.nn.utils.spectral_norm` leaves on a module, plus its `_metadata` version tag.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, padding: int, bias: bool = True, stride: int = 1
    ) -> None:
        super().__init__()
        self.padding = padding
        self.stride = stride
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.register_parameter("bias", None)
        self.weight_orig = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)
        # random unit vectors as torch's spectral_norm starts from (a checkpoint overwrites them)
        self.register_buffer("weight_u", F.normalize(torch.randn(out_channels), dim=0, eps=1e-12))
        self.register_buffer("weight_v", F.normalize(torch.randn(in_channels * kernel_size * kernel_size), dim=0, eps=1e-12))
        self._folded: torch.Tensor | None = None
        self._folded_key: tuple | None = None
        self._register_state_dict_hook(_spectral_norm_metadata_hook)
        self._register_load_state_dict_pre_hook(lambda *args, **kwargs: self.invalidate())

    def invalidate(self) -> None:
        """Drop the cached weight (done on load_state_dict; call it after editing weights in place)."""
        self._folded = None

    def _cache_key(self) -> tuple:
        # storage identity + dtype/device: changes with .to(), .half(), parameter replacement;
        # the version counter changes with in-place updates (optimizer steps, power iterations)
        tensors = (self.weight_orig, self.weight_u, self.weight_v)
        return tuple((t.data_ptr(), t.dtype, t.device, t._version) for t in tensors)

    def folded_weight(self) -> torch.Tensor:
        """The effective (normalised) weight, cached until the weights are reloaded or moved."""
        key = self._cache_key()
        if self._folded is None or self._folded_key != key:
            with torch.no_grad():
                weight_mat = self.weight_orig.reshape(self.weight_orig.shape[0], -1)
                sigma = torch.dot(self.weight_u, torch.mv(weight_mat, self.weight_v))
                self._folded = self.weight_orig / sigma
            self._folded_key = key
        return self._folded

    def normalised_weight(self, power_iteration: bool) -> torch.Tensor:
        """`weight_orig / sigma` with gradient, as torch.nn.utils.spectral_norm computes it.

        power_iteration: first update u, v in place by one step (v = normalize(W^T u),
        u = normalize(W v), eps 1e-12), in float32 and without gradient (train mode)."""
        weight_mat = self.weight_orig.reshape(self.weight_orig.shape[0], -1)
        u, v = self.weight_u, self.weight_v
        if power_iteration:
            with torch.no_grad(), torch.autocast(self.weight_orig.device.type, enabled=False):
                F.normalize(torch.mv(weight_mat.t(), u), dim=0, eps=1e-12, out=v)
                F.normalize(torch.mv(weight_mat, v), dim=0, eps=1e-12, out=u)
            # torch uses clones, so a later in-place update cannot touch this graph
            u, v = u.clone(memory_format=torch.contiguous_format), v.clone(memory_format=torch.contiguous_format)
        with torch.autocast(self.weight_orig.device.type, enabled=False):
            sigma = torch.dot(u, torch.mv(weight_mat, v))
            return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or (torch.is_grad_enabled() and self.weight_orig.requires_grad):
            self._folded = None
            weight = self.normalised_weight(power_iteration=self.training)
        else:
            weight = self.folded_weight()
        return F.conv2d(x, weight, self.bias, stride=self.stride, padding=self.padding)


def _spectral_norm_metadata_hook(module, state_dict, prefix, local_metadata):
    # what the legacy spectral_norm state-dict hook records, so saved files look the same
    local_metadata.setdefault("spectral_norm", {})["weight.version"] = 1
    return state_dict


class SegLayout(NamedTuple):
    """A one-hot layout map at one resolution, prepared for the sparse modulation.

    labels: (N, h, w) int64; boundary_index: (n_b,) flat indices into N*h*w of the pixels whose
    5x5 window is not uniform or that lie within 2 pixels of the image border.
    """

    labels: torch.Tensor
    boundary_index: torch.Tensor


def seg_layout(seg: torch.Tensor) -> SegLayout | None:
    """SegLayout of an (N, K, h, w) map, or None when it is not exactly one-hot (use the dense path)."""
    labels = seg.argmax(1)
    if not torch.equal(F.one_hot(labels, seg.shape[1]).permute(0, 3, 1, 2).to(seg.dtype), seg):
        return None
    lab = labels[:, None].to(torch.float32)
    uniform = F.max_pool2d(lab, 5, 1, 2) == -F.max_pool2d(-lab, 5, 1, 2)
    uniform[..., :2, :] = False
    uniform[..., -2:, :] = False
    uniform[..., :, :2] = False
    uniform[..., :, -2:] = False
    boundary_index = torch.nonzero(~uniform.reshape(-1)).squeeze(1)
    return SegLayout(labels, boundary_index)


class NoiseShare(NamedTuple):
    """This process's rows of a batch split over data-parallel processes.

    Every process draws the noise of the whole global batch from the global generator (seeded
    alike, so the streams stay equal) and keeps rows `start .. start + batch`: the processes
    together use exactly the noise one process would draw for the global batch."""

    global_batch: int
    start: int


NoiseRng = list[torch.Generator] | NoiseShare | None


def draw_noise(batch: int, width: int, height: int, noise_rng: NoiseRng) -> torch.Tensor:
    """(N, w, h, 1) standard normal noise on the CPU.

    `noise_rng=None`: one draw from the global generator (the official stream: the whole batch at
    once). A `NoiseShare`: this process's rows of the global batch's draw (data-parallel
    training). A list of per-sample generators: one draw each, so a sample's noise does not depend
    on the batch it is in (with batch size 1 and a freshly seeded generator this equals the
    official stream after `torch.manual_seed(seed)`).
    """
    if noise_rng is None:
        return torch.randn(batch, width, height, 1)
    if isinstance(noise_rng, NoiseShare):
        if noise_rng.start + batch > noise_rng.global_batch:
            raise ValueError(f"rows {noise_rng.start}..{noise_rng.start + batch} are outside the global batch "
                             f"of {noise_rng.global_batch}")
        return torch.randn(noise_rng.global_batch, width, height, 1)[noise_rng.start: noise_rng.start + batch]
    if len(noise_rng) != batch:
        raise ValueError(f"need one noise generator per sample: {len(noise_rng)} for a batch of {batch}")
    return torch.cat([torch.randn(1, width, height, 1, generator=g) for g in noise_rng])


class SPADENorm(nn.Module):
    """Instance norm of (x + noise), modulated by gamma, beta predicted from the layout map.

    noise = randn(N, w, h, 1) * noise_scale, transposed to (N, C, h, w): drawn from the global CPU
    generator on every call, even when `noise_scale` is zero, so the random stream stays the official
    one (the draw order of a block is norm_s, norm_0, norm_1).
    """

    def __init__(self, norm_channels: int, label_channels: int = 7, hidden: int = 128) -> None:
        super().__init__()
        self.noise_scale = nn.Parameter(torch.zeros(norm_channels))
        self.conv_shared = nn.Sequential(nn.Conv2d(label_channels, hidden, 3, padding=1), nn.ReLU())
        self.conv_gamma = nn.Conv2d(hidden, norm_channels, 3, padding=1)
        self.conv_beta = nn.Conv2d(hidden, norm_channels, 3, padding=1)

    def forward(
        self, x: torch.Tensor, seg: torch.Tensor, layout: SegLayout | None = None, noise_rng: NoiseRng = None
    ) -> torch.Tensor:
        """x (N, C, h, w), seg (N, K, h, w) -> (N, C, h, w); `layout` enables the sparse modulation."""
        b, c, h, w = x.shape
        noise = draw_noise(b, w, h, noise_rng)
        if self.training or bool(torch.any(self.noise_scale != 0)):
            noise = noise.to(x.device, x.dtype)
            x = x + (noise * self.noise_scale).transpose(1, 3)
        normalized = F.instance_norm(x, eps=1e-5)
        if layout is None:
            actv = self.conv_shared(seg)
            gamma, beta = self.conv_gamma(actv), self.conv_beta(actv)
        else:
            gamma_beta = self._sparse_modulation(seg, layout)  # (N, 2C, h, w)
            gamma, beta = gamma_beta[:, :c], gamma_beta[:, c:]
        if torch.is_grad_enabled():
            return normalized * (1 + gamma) + beta
        # the same operations in place (same rounding), without the temporaries
        return normalized.mul_(gamma.add_(1)).add_(beta)

    def _class_constants(self, num_classes: int, like: torch.Tensor) -> torch.Tensor:
        """(2C, K) gamma|beta at the centre of a uniform 5x5 patch of each class (same layers)."""
        patches = torch.eye(num_classes, dtype=like.dtype, device=like.device)[:, :, None, None]
        actv = self.conv_shared(patches.expand(-1, -1, 5, 5).contiguous())
        gamma = self.conv_gamma(actv)[:, :, 2, 2]
        beta = self.conv_beta(actv)[:, :, 2, 2]
        return torch.cat([gamma, beta], 1).t()

    def _sparse_modulation(self, seg: torch.Tensor, layout: SegLayout) -> torch.Tensor:
        """gamma|beta (N, 2C, h, w): class constants, recomputed at the boundary pixels.

        At a boundary pixel p, gamma|beta = conv_gamma|beta over the 3x3 `actv` around p, and
        actv(q) = ReLU(bias + sum over the 3x3 taps t of W_shared[:, label(q + t), t]) because the
        layout is one-hot; positions outside the image contribute zero to both convolutions
        (their zero padding). So only the labels of p's 5x5 window are gathered.
        """
        n, k, h, w = seg.shape
        table = self._class_constants(k, seg)
        # one-hot input: a 1x1 convolution with the table is an exact per-pixel lookup, in NCHW
        gamma_beta = F.conv2d(seg, table[:, :, None, None])
        index = layout.boundary_index
        if index.numel() == 0:
            return gamma_beta
        shared = self.conv_shared[0]
        hidden = shared.out_channels
        # tap lookup rows: (tap, label) -> W_shared[:, label, ty, tx]; label k = outside the image (zeros)
        taps = shared.weight.permute(2, 3, 1, 0).reshape(9, k, hidden)
        taps = torch.cat([taps, taps.new_zeros(9, 1, hidden)], 1).reshape(9 * (k + 1), hidden)
        weight = torch.cat([self.conv_gamma.weight, self.conv_beta.weight], 0)
        bias = torch.cat([self.conv_gamma.bias, self.conv_beta.bias], 0)
        # (2C, hidden, 3, 3) -> (2C, 9 * hidden) in (ky, kx, channel) order, matching the windows below
        weight = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
        padded_w = w + 4
        labels = F.pad(layout.labels, (2, 2, 2, 2), value=k).reshape(-1)  # outside = k
        step = torch.tensor([-1, 0, 1], device=index.device)
        offsets = (step[:, None] * padded_w + step[None, :]).reshape(-1)  # 3x3 offsets, (ky, kx) order
        tap_rows = torch.arange(9, device=index.device) * (k + 1)
        batch_i = torch.div(index, h * w, rounding_mode="floor")
        rest = index - batch_i * (h * w)
        y = torch.div(rest, w, rounding_mode="floor")
        centre = batch_i * ((h + 4) * padded_w) + (y + 2) * padded_w + (rest - y * w + 2)
        # actv is needed on the 3x3 neighbourhoods of the boundary pixels: compute each position once
        windows = centre[:, None] + offsets[None, :]  # (m, 9) padded positions
        needed = torch.zeros(labels.numel(), dtype=torch.bool, device=index.device)
        needed[windows.reshape(-1)] = True
        positions = needed.nonzero().squeeze(1)
        position_id = torch.empty(labels.numel(), dtype=torch.int64, device=index.device)
        position_id[positions] = torch.arange(positions.numel(), device=index.device)
        window_ids = position_id[windows]
        actv = shared.bias.expand(positions.numel(), hidden).clone()
        for tap in range(9):
            actv += taps[labels[positions + offsets[tap]] + tap_rows[tap]]
        actv.relu_()
        actv *= (labels[positions] != k).to(actv.dtype)[:, None]  # conv_gamma's zero padding
        out = gamma_beta.view(n, weight.shape[0], h * w)
        for start in range(0, index.numel(), SPARSE_CHUNK):
            chunk = slice(start, start + SPARSE_CHUNK)
            gathered = actv[window_ids[chunk]].view(-1, 9 * hidden)
            out[batch_i[chunk], :, rest[chunk]] = torch.addmm(bias, gathered, weight.t())
        return gamma_beta


class SPADEResBlock(nn.Module):
    """Two SPADE-modulated 3x3 convolutions with a (learned if in != out) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, label_channels: int = 7) -> None:
        super().__init__()
        self.learned_shortcut = in_channels != out_channels
        middle = min(in_channels, out_channels)
        self.conv_0 = SpectralNormConv2d(in_channels, middle, 3, padding=1)
        self.conv_1 = SpectralNormConv2d(middle, out_channels, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(in_channels, out_channels, 1, padding=0, bias=False)
        self.norm_0 = SPADENorm(in_channels, label_channels)
        self.norm_1 = SPADENorm(middle, label_channels)
        if self.learned_shortcut:
            self.norm_s = SPADENorm(in_channels, label_channels)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, sparse: bool = False, noise_rng: NoiseRng = None) -> torch.Tensor:
        """x (N, in, h, w), seg (N, K, H, W) at any size (nearest-resized here) -> (N, out, h, w)."""
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        layout = seg_layout(seg) if sparse and x.shape[2] * x.shape[3] >= SPARSE_MIN_PIXELS else None
        if self.learned_shortcut:
            x_s = self.conv_s(self.norm_s(x, seg, layout, noise_rng))
        else:
            x_s = x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg, layout, noise_rng), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg, layout, noise_rng), 0.2))
        return x_s + dx


class SPADEGenerator(nn.Module):
    """Image generator: (N, 9, H, W) agnostic|densepose|warped garment + (N, 7, H, W) layout -> RGB.

    H, W must be multiples of 128 (the 'most' variant starts at H/128 x W/128); the published
    model was trained at 1024x768. Output (N, 3, H, W) in [-1, 1].
    """

    NUM_UP_LAYERS = 7

    def __init__(self, input_nc: int = 9, ngf: int = 64, label_channels: int = 7, sparse_modulation: bool = True) -> None:
        super().__init__()
        self.sparse_modulation = sparse_modulation
        nf = ngf
        self.conv_0 = nn.Conv2d(input_nc, nf * 16, 3, padding=1)
        for i in range(1, 8):
            self.add_module(f"conv_{i}", nn.Conv2d(input_nc, 16, 3, padding=1))
        self.head_0 = SPADEResBlock(nf * 16, nf * 16, label_channels)
        self.G_middle_0 = SPADEResBlock(nf * 16 + 16, nf * 16, label_channels)
        self.G_middle_1 = SPADEResBlock(nf * 16 + 16, nf * 16, label_channels)
        self.up_0 = SPADEResBlock(nf * 16 + 16, nf * 8, label_channels)
        self.up_1 = SPADEResBlock(nf * 8 + 16, nf * 4, label_channels)
        self.up_2 = SPADEResBlock(nf * 4 + 16, nf * 2, label_channels)
        self.up_3 = SPADEResBlock(nf * 2 + 16, nf, label_channels)
        self.up_4 = SPADEResBlock(nf + 16, nf // 2, label_channels)
        self.conv_img = nn.Conv2d(nf // 2, 3, 3, padding=1)

    def fold_spectral_norm(self) -> None:
        """Compute every normalised convolution weight now (they are cached until reloaded/moved)."""
        for module in self.modules():
            if isinstance(module, SpectralNormConv2d):
                module.folded_weight()

    def forward(self, x: torch.Tensor, seg: torch.Tensor, noise_rng: NoiseRng = None) -> torch.Tensor:
        """x (N, 9, H, W), seg (N, 7, H, W) -> (N, 3, H, W); see `draw_noise` for `noise_rng`."""
        # NCHW-contiguous inputs: a permuted one-hot (NHWC strides) would make every convolution of
        # the network produce channels-last tensors and mix layouts in the element-wise steps (2x slower)
        x, seg = x.contiguous(), seg.contiguous()
        height, width = x.shape[2:]
        sh, sw = height // 2**self.NUM_UP_LAYERS, width // 2**self.NUM_UP_LAYERS
        if sh == 0 or sw == 0:
            raise ValueError(f"SPADEGenerator needs inputs of at least 128x128 pixels, got {height}x{width}")
        features = [
            getattr(self, f"conv_{i}")(F.interpolate(x, size=(sh * 2**i, sw * 2**i), mode="nearest"))
            for i in range(8)
        ]
        # the sparse modulation is an inference path: training computes gamma/beta densely
        sparse = self.sparse_modulation and not self.training and not torch.is_grad_enabled()
        out = self.head_0(features[0], seg, sparse, noise_rng)
        blocks = (self.G_middle_0, self.G_middle_1, self.up_0, self.up_1, self.up_2, self.up_3, self.up_4)
        for i, block in enumerate(blocks, start=1):
            out = F.interpolate(out, scale_factor=2, mode="nearest")
            out = block(torch.cat((out, features[i]), 1), seg, sparse, noise_rng)
        return torch.tanh(self.conv_img(F.leaky_relu(out, 0.2)))
