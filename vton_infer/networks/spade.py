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
the try-on pipeline), gamma and beta at a pixel depend only on the labels in its 5x5 window, and
a layout has few distinct windows (a few thousand at 1024x768: uniform ones, straight and bent
edges). So each block finds its layout's distinct windows once (`seg_layout`), each norm computes
gamma and beta once per window with the same weights (`SPADENorm.pattern_modulation`) and looks
them up per pixel; results equal the dense computation up to float32 summation order. The sparse
path also does the element-wise steps in place and shares one instance norm between norm_s and
norm_0 when neither adds noise. `SPADEGenerator(sparse_modulation=False)` performs the official
operations (dense modulation, out of place) and reproduces the official outputs bit for bit.
"""
from __future__ import annotations

import functools
import logging
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

logger = logging.getLogger(__name__)

# Below this many pixels per image the dense modulation is as fast as the sparse bookkeeping.
SPARSE_MIN_PIXELS = 64 * 48


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
    """A one-hot layout map at one resolution, as distinct 5x5 label windows (the sparse modulation).

    pattern_index: (N, h*w) int64, each pixel's window as an index into `patterns`;
    patterns: (U, 25) int64, the distinct windows row by row, label K standing for "outside the
    image" (zero padding); patterns 0..K-1 are the uniform windows of each class. U is a few
    thousand at 1024x768 (most windows are uniform or a straight edge), against 786,432 pixels.
    tap_rows: (U * 9, 10) int64, for each pattern and each of the 3x3 positions around its centre,
    the rows of the (bias | tap x label) table whose sum is conv_shared's output there (see
    `SPADENorm.pattern_modulation`); inside: (U, 9) bool, whether that position is in the image.
    """

    pattern_index: torch.Tensor
    patterns: torch.Tensor
    tap_rows: torch.Tensor
    inside: torch.Tensor
    num_classes: int


def _window_offsets(row_length: int, size: int, device: torch.device) -> torch.Tensor:
    """Flat offsets of a size x size window (row-major) in a map with rows of `row_length`."""
    steps = torch.arange(size, device=device)
    return (steps[:, None] * row_length + steps[None, :]).reshape(-1)


def _dense_ids(digits: torch.Tensor, base: int) -> torch.Tensor:
    """(m, d) digits in [0, base) -> (m,) int64 ids, equal iff the rows are equal: the digits are
    read as base-`base` numbers, renumbered densely (torch.unique) whenever the next ones could
    overflow int64."""
    m, d = digits.shape
    key = torch.zeros(m, dtype=torch.int64, device=digits.device)
    bound, j = 1, 0
    while j < d:
        if bound * base >= 2**62:
            key = torch.unique(key, return_inverse=True)[1]
            bound = max(m, 1)
        group = 0
        while j + group < d and bound * base ** (group + 1) < 2**62:
            group += 1
        powers = base ** torch.arange(group - 1, -1, -1, device=digits.device)
        key = key * base**group + (digits[:, j : j + group] * powers).sum(1)
        bound *= base**group
        j += group
    return key


def one_hot_labels(seg: torch.Tensor) -> torch.Tensor | None:
    """(N, K, h, w) map -> its (N, h, w) int64 labels, or None when it is not exactly one-hot."""
    labels = seg.argmax(1)
    if not torch.equal(F.one_hot(labels, seg.shape[1]).permute(0, 3, 1, 2).to(seg.dtype), seg):
        return None
    return labels


def seg_layout(seg: torch.Tensor) -> SegLayout | None:
    """SegLayout of an (N, K, h, w) map, or None when it is not exactly one-hot (use the dense path)."""
    labels = one_hot_labels(seg)
    return None if labels is None else label_layout(labels, seg.shape[1])


def single_threaded(fn):
    """Run `fn` with one torch thread: for bookkeeping made of many small operations, where each
    parallel region would wait for every thread; on a loaded 2-core machine that wait dominated
    (`label_layout` at 5 resolutions: 6.3 s with 2 threads, 0.8 s with 1, interleaved)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        threads = torch.get_num_threads()
        if threads == 1:
            return fn(*args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapper


@single_threaded
def label_layout(labels: torch.Tensor, k: int) -> SegLayout:
    """SegLayout of (N, h, w) int64 labels in [0, k) (integer bookkeeping: the same for any thread count)."""
    n, h, w = labels.shape
    device = labels.device
    # uniform windows (away from label boundaries and the 2-pixel frame) are pattern = their label
    lab = labels[:, None].to(torch.float32)
    uniform = F.max_pool2d(lab, 5, 1, 2) == -F.max_pool2d(-lab, 5, 1, 2)
    uniform[..., :2, :] = False
    uniform[..., -2:, :] = False
    uniform[..., :, :2] = False
    uniform[..., :, -2:] = False
    boundary = torch.nonzero(~uniform.reshape(-1)).squeeze(1)
    # the other pixels' windows, numbered by distinct content
    padded = F.pad(labels, (2, 2, 2, 2), value=k).reshape(-1)
    batch_i = torch.div(boundary, h * w, rounding_mode="floor")
    rest = boundary - batch_i * (h * w)
    y = torch.div(rest, w, rounding_mode="floor")
    corner = batch_i * ((h + 4) * (w + 4)) + y * (w + 4) + (rest - y * w)
    windows = padded[corner[:, None] + _window_offsets(w + 4, 5, device)[None, :]]  # (m, 25)
    _, inverse = torch.unique(_dense_ids(windows, k + 1), return_inverse=True)
    first = torch.zeros(int(inverse.max()) + 1 if inverse.numel() else 0, dtype=torch.int64, device=device)
    first.scatter_(0, inverse, torch.arange(inverse.numel(), device=device))  # any pixel of each window
    patterns = torch.cat([torch.arange(k, device=device)[:, None].expand(k, 25), windows[first]])
    pattern_index = labels.reshape(-1).clone()
    pattern_index[boundary] = inverse + k
    # per pattern and 3x3 position q around the centre (12): table rows bias, then tap t's label at q + t
    inner = _window_offsets(5, 3, device) + 6
    taps = _window_offsets(5, 3, device) - 6
    tap_labels = patterns[:, inner[:, None] + taps[None, :]]  # (U, 9 positions, 9 taps)
    bias_row = 9 * (k + 1)
    tap_rows = torch.cat([torch.full_like(tap_labels[..., :1], bias_row),
                          tap_labels + torch.arange(9, device=device) * (k + 1)], 2).reshape(-1, 10)
    inside = patterns[:, inner] != k
    return SegLayout(pattern_index.view(n, h * w), patterns, tap_rows, inside, k)


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


def _lookup(table: torch.Tensor, pattern_index: torch.Tensor, out: torch.Tensor) -> None:
    """out[i, :, p] = table[:, pattern_index[i, p]] for (C, U) table into an (N, C, h, w) NCHW or
    channels-last tensor, written in place (one gather pass, no temporary)."""
    n, c = out.shape[:2]
    for i in range(n):
        if out[i].is_contiguous():
            torch.index_select(table, 1, pattern_index[i], out=out[i].view(c, -1))
        else:  # channels-last: (h, w, C) rows
            torch.index_select(table.t(), 0, pattern_index[i], out=out[i].permute(1, 2, 0).view(-1, c))


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

    def add_noise(self, x: torch.Tensor, noise_rng: NoiseRng = None) -> torch.Tensor:
        """x + noise (x itself when the noise is off: the draw still happens, for the RNG stream)."""
        b, c, h, w = x.shape
        noise = draw_noise(b, w, h, noise_rng)
        if self.training or bool(torch.any(self.noise_scale != 0)):
            noise = noise.to(x.device, x.dtype)
            x = x + (noise * self.noise_scale).transpose(1, 3)
        return x

    def forward(
        self, x: torch.Tensor, seg: torch.Tensor, layout: SegLayout | None = None, noise_rng: NoiseRng = None
    ) -> torch.Tensor:
        """x (N, C, h, w), seg (N, K, h, w) -> (N, C, h, w); `layout` enables the sparse modulation."""
        normalized = F.instance_norm(self.add_noise(x, noise_rng), eps=1e-5)
        if layout is None:
            actv = self.conv_shared(seg)
            gamma, beta = self.conv_gamma(actv), self.conv_beta(actv)
            return normalized * (1 + gamma) + beta
        return self.modulate(normalized, layout, in_place=True)

    def modulate(self, normalized: torch.Tensor, layout: SegLayout, in_place: bool) -> torch.Tensor:
        """normalized * (1 + gamma) + beta with gamma, beta looked up per window pattern (inference).

        in_place: overwrite `normalized` (else it is left as is, e.g. shared with another norm)."""
        n, c, h, w = normalized.shape
        table = self.pattern_modulation(layout).to(normalized.dtype)  # (2C, U): 1 + gamma | beta
        out = normalized if in_place else torch.empty_like(normalized)
        factor = torch.empty_like(normalized)
        _lookup(table[:c], layout.pattern_index, factor)
        torch.mul(normalized, factor, out=out)
        _lookup(table[c:], layout.pattern_index, factor)
        return out.add_(factor)

    def pattern_modulation(self, layout: SegLayout) -> torch.Tensor:
        """(2C, U) 1 + gamma | beta at the centre of each distinct 5x5 window of the layout.

        gamma|beta at p = conv_gamma|beta over the 3x3 `actv` around p, and actv(q) = ReLU(bias +
        sum over the 3x3 taps t of W_shared[:, label(q + t), t]) because the layout is one-hot;
        positions outside the image contribute zero to both convolutions (their zero padding).
        So a pixel's gamma and beta depend only on its 5x5 window: computed once per distinct window.
        """
        k, u = layout.num_classes, layout.patterns.shape[0]
        shared = self.conv_shared[0]
        hidden = shared.out_channels
        # rows: (tap, label) -> W_shared[:, label, ty, tx], label k = outside the image (zeros); then the bias
        taps = shared.weight.permute(2, 3, 1, 0).reshape(9, k, hidden)
        rows = torch.cat([taps, taps.new_zeros(9, 1, hidden)], 1).reshape(9 * (k + 1), hidden)
        rows = torch.cat([rows, shared.bias[None]])
        actv = F.embedding_bag(layout.tap_rows, rows, mode="sum").view(u, 9, hidden)  # (bias + t0) + t1 ...
        actv.relu_()
        actv *= layout.inside.to(actv.dtype)[:, :, None]  # conv_gamma's zero padding
        # (2C, hidden, 3, 3) -> (2C, 9 * hidden) in (ky, kx, channel) order, matching actv
        weight = torch.cat([self.conv_gamma.weight, self.conv_beta.weight], 0)
        weight = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
        bias = torch.cat([self.conv_gamma.bias, self.conv_beta.bias], 0)
        table = torch.addmm(bias[:, None], weight, actv.view(u, 9 * hidden).t())
        table[: self.conv_gamma.out_channels] += 1
        return table


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

    def forward(
        self, x: torch.Tensor, seg: torch.Tensor, sparse: bool = False, noise_rng: NoiseRng = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (N, in, h, w), seg (N, K, H, W) at any size (nearest-resized here) -> (N, out, h, w).

        labels: seg's (N, H, W) labels when it is known to be one-hot (saves the check per block)."""
        if sparse and x.shape[2] * x.shape[3] >= SPARSE_MIN_PIXELS:
            if labels is None:
                labels = one_hot_labels(seg)
            if labels is not None:
                # nearest resizing picks the same pixels for the labels as for the one-hot map
                small = F.interpolate(labels[:, None].to(seg.dtype), size=x.shape[2:], mode="nearest")
                return self._forward_sparse(x, label_layout(small[:, 0].long(), seg.shape[1]), noise_rng)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        if self.learned_shortcut:
            x_s = self.conv_s(self.norm_s(x, seg, noise_rng=noise_rng))
        else:
            x_s = x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg, noise_rng=noise_rng), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg, noise_rng=noise_rng), 0.2))
        return x_s + dx

    def _forward_sparse(self, x: torch.Tensor, layout: SegLayout, noise_rng: NoiseRng) -> torch.Tensor:
        """The same block at inference with the pattern modulation, element-wise steps in place, and
        one instance norm for norm_s and norm_0 when neither adds noise (same input, same result)."""
        if self.learned_shortcut:
            x_s = self.norm_s.add_noise(x, noise_rng)  # RNG order: norm_s, norm_0, norm_1
            x_0 = self.norm_0.add_noise(x, noise_rng)
            normalized_s = F.instance_norm(x_s, eps=1e-5)
            shared = x_s is x_0
            normalized_0 = normalized_s if shared else F.instance_norm(x_0, eps=1e-5)
            x_s = self.conv_s(self.norm_s.modulate(normalized_s, layout, in_place=not shared))
        else:
            normalized_0 = F.instance_norm(self.norm_0.add_noise(x, noise_rng), eps=1e-5)
            x_s = x
        dx = self.conv_0(F.leaky_relu_(self.norm_0.modulate(normalized_0, layout, in_place=True), 0.2))
        normalized_1 = F.instance_norm(self.norm_1.add_noise(dx, noise_rng), eps=1e-5)
        dx = self.conv_1(F.leaky_relu_(self.norm_1.modulate(normalized_1, layout, in_place=True), 0.2))
        return dx.add_(x_s)


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

    def forward(
        self, x: torch.Tensor, seg: torch.Tensor, noise_rng: NoiseRng = None, sparse_modulation: bool | None = None
    ) -> torch.Tensor:
        """x (N, 9, H, W), seg (N, 7, H, W) -> (N, 3, H, W); see `draw_noise` for `noise_rng`.

        sparse_modulation: overrides the module's setting for this call (False = official operations)."""
        # one memory format for the whole network: a permuted one-hot (NHWC strides) next to an NCHW x
        # would make convolutions produce channels-last tensors and mix layouts element-wise (2x slower)
        channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        x, seg = x.contiguous(memory_format=memory_format), seg.contiguous(memory_format=memory_format)
        height, width = x.shape[2:]
        sh, sw = height // 2**self.NUM_UP_LAYERS, width // 2**self.NUM_UP_LAYERS
        if sh == 0 or sw == 0:
            raise ValueError(f"SPADEGenerator needs inputs of at least 128x128 pixels, got {height}x{width}")
        features = [
            getattr(self, f"conv_{i}")(F.interpolate(x, size=(sh * 2**i, sw * 2**i), mode="nearest"))
            for i in range(8)
        ]
        # the sparse modulation is an inference path: training computes gamma/beta densely
        sparse = self.sparse_modulation if sparse_modulation is None else sparse_modulation
        sparse = sparse and not self.training and not torch.is_grad_enabled()
        labels = one_hot_labels(seg) if sparse else None  # checked once, resized per block
        out = self.head_0(features[0], seg, sparse, noise_rng, labels)
        blocks = (self.G_middle_0, self.G_middle_1, self.up_0, self.up_1, self.up_2, self.up_3, self.up_4)
        for i, block in enumerate(blocks, start=1):
            out = F.interpolate(out, scale_factor=2, mode="nearest")
            out = block(torch.cat((out, features[i]), 1), seg, sparse, noise_rng, labels)
        return torch.tanh(self.conv_img(F.leaky_relu(out, 0.2)))
