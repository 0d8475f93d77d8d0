"""RGB spatial features of paper 000 §2.1: the hard-wired layer and the 3D CNN of Ji et al. (TPAMI 2013) whose
last pooling is spatio-temporal pyramid pooling (STPP).

- :class:`HardWired` (layer H1): from ``T`` RGB frames ``(N, T, 3, H, W)`` in ``[0, 1]``, five channels: grey
  (T maps), gradient x and y (T each; Sobel), optical flow x and y (T − 1 each). For the paper's 7 frames of
  60×40 that is 7 + 7 + 7 + 6 + 6 = 33 maps. Optical flow is a single-scale Lucas–Kanade solve in plain torch
  inside the model (5×5 Gaussian window, Tikhonov-regularised 2×2 system per pixel, in pixels per frame), so
  the data path only delivers frames and the layer runs on any device.
- :class:`Ji3DCNN`: C2 = 3D convs 7×7×3 (H×W×T) applied to each channel separately, 2 kernels per channel
  (23·2 maps for 7 frames); S3 = 2×2 max pooling; C4 = 3D convs 7×6×3, 3 kernels per map (13·6 maps); then, in
  place of S5's 3×3 pooling, :class:`SpatioTemporalPyramidPool` (``pt = 1``; ``ps = 4, 2, 1``; max) gives a
  fixed-length vector whatever the input size; C6, whose 7×4 kernel spanned S5's whole 7×4 output, is a linear
  layer on that vector → 128 features. Convolutions are followed by BN and ReLU (Ji et al. used tanh).
  The grey/gradient channels (T frames) and the flow channels (T − 1) have different temporal lengths, so they
  run as two grouped convolution streams; grouping keeps "each channel separately".

Shapes for 7 frames of H×W = 60×40: C2 (6 @ 5×54×34, 4 @ 4×54×34), S3 (…×27×17), C4 (18 @ 3×21×12,
12 @ 2×21×12), STPP (18 + 12)·(16 + 4 + 1) = 630, C6 128.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


class SpatioTemporalPyramidPool(nn.Module):
    """STPP: ``(N, C, T, H, W)`` → ``(N, C · Σ_levels pt·ps²)``: for every level ``P(pt, ps)``, max pooling over
    ``pt × ps × ps`` cubes of size about ``⌊T/pt⌋ × ⌊H/ps⌋ × ⌊W/ps⌋`` (adaptive pooling, so any input size
    gives the same length). :meth:`levels_as_maps` keeps each level as its ``(N, C, ps, ps)`` map."""

    def __init__(self, spatial_levels: Sequence[int] = (4, 2, 1), temporal_levels: int = 1) -> None:
        super().__init__()
        self.spatial_levels, self.temporal_levels = tuple(int(p) for p in spatial_levels), int(temporal_levels)

    def output_length(self, channels: int) -> int:
        return channels * self.temporal_levels * sum(p * p for p in self.spatial_levels)

    def levels_as_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """One pooled tensor ``(N, C·pt, ps, ps)`` per spatial level."""
        if x.dim() != 5:
            raise InputError(f"STPP input must be (N, C, T, H, W), got shape {tuple(x.shape)}")
        return [F.adaptive_max_pool3d(x, (self.temporal_levels, p, p)).flatten(1, 2) for p in self.spatial_levels]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.flatten(1) for m in self.levels_as_maps(x)], 1)


class HardWired(nn.Module):
    """Layer H1: ``(N, T, 3, H, W)`` RGB in ``[0, 1]`` → ``(appearance (N, 3, T, H, W) = grey, ∂x, ∂y;
    motion (N, 2, T−1, H, W) = flow x, flow y)``; ``3T + 2(T − 1)`` maps (33 for T = 7). No parameters."""

    def __init__(self, flow_window: int = 5, flow_sigma: float = 1.0, flow_reg: float = 1e-4) -> None:
        super().__init__()
        self.register_buffer("sobel", torch.stack([_SOBEL_X, _SOBEL_X.t()])[:, None], persistent=False)
        r = torch.arange(flow_window, dtype=torch.float32) - (flow_window - 1) / 2
        g = torch.exp(-r ** 2 / (2 * flow_sigma ** 2))
        self.register_buffer("window", (g[:, None] * g[None, :] / g.sum() ** 2)[None, None], persistent=False)
        self.flow_reg = float(flow_reg)

    def gradients(self, grey: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H, W)`` → ``(B, 2, H, W)`` Sobel ``(∂x, ∂y)`` with replicated borders."""
        return F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), self.sobel.to(grey.dtype))

    def flow(self, grey: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        """Lucas–Kanade between consecutive frames: grey ``(N, T, H, W)``, grads ``(N, T, 2, H, W)`` →
        ``(N, T−1, 2, H, W)`` flow in pixels per frame (solving ``Σ w ∇I ∇Iᵀ · v = −Σ w ∇I I_t``)."""
        gx = (grads[:, 1:, 0] + grads[:, :-1, 0]) / 2
        gy = (grads[:, 1:, 1] + grads[:, :-1, 1]) / 2
        it = grey[:, 1:] - grey[:, :-1]
        n, t, h, w = it.shape
        terms = torch.stack([gx * gx, gx * gy, gy * gy, gx * it, gy * it], 2).view(n * t * 5, 1, h, w)
        k = self.window.shape[-1] // 2
        s = F.conv2d(F.pad(terms, (k, k, k, k), mode="replicate"), self.window.to(terms.dtype)).view(n, t, 5, h, w)
        a, b, c, d, e = s.unbind(2)
        a, c = a + self.flow_reg, c + self.flow_reg
        det = a * c - b * b
        u = -(c * d - b * e) / det
        v = -(a * e - b * d) / det
        return torch.stack([u, v], 2)

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if clip.dim() != 5 or clip.shape[2] != 3 or clip.shape[1] < 2:
            raise InputError(f"hard-wired layer input must be a clip (N, T >= 2, 3, H, W), got shape {tuple(clip.shape)}")
        n, t, _, h, w = clip.shape
        grey = (clip * torch.tensor([0.299, 0.587, 0.114], dtype=clip.dtype, device=clip.device).view(1, 1, 3, 1, 1)).sum(2)
        grads = self.gradients(grey.reshape(n * t, 1, h, w)).view(n, t, 2, h, w)
        flow = self.flow(grey, grads)
        appearance = torch.cat([grey[:, None], grads.transpose(1, 2)], 1)  # (N, 3, T, H, W)
        return appearance, flow.transpose(1, 2)  # (N, 2, T−1, H, W)


def _conv3d_bn_relu(channels: int, per_channel: int, kernel: tuple[int, int, int]) -> nn.Sequential:
    """A 3D conv applied to each input channel separately (``groups = channels``), ``per_channel`` kernels each."""
    out = channels * per_channel
    return nn.Sequential(nn.Conv3d(channels, out, kernel, groups=channels, bias=False), nn.BatchNorm3d(out),
                         nn.ReLU(inplace=True))


class Ji3DCNN(nn.Module):
    """H1 → C2 → S3 → C4 → STPP → C6: clip ``(N, T, 3, H, W)`` → :meth:`forward` ``(N, features)``; also
    :meth:`maps`, the C4 maps of both streams and the STPP levels for a detector's spatial grid.

    ``c2_kernels`` / ``c4_kernels``: kernels per channel (2 and 3 in Ji et al.). Needs ``T >= 6``, ``H >= 20``,
    ``W >= 18`` (the valid 3D convolutions)."""

    def __init__(self, c2_kernels: int = 2, c4_kernels: int = 3, features: int = 128,
                 pyramid: Sequence[int] = (4, 2, 1)) -> None:
        super().__init__()
        self.hardwired = HardWired()
        self.c2_app = _conv3d_bn_relu(3, c2_kernels, (3, 7, 7))
        self.c2_mot = _conv3d_bn_relu(2, c2_kernels, (3, 7, 7))
        self.s3 = nn.MaxPool3d((1, 2, 2))
        self.c4_app = _conv3d_bn_relu(3 * c2_kernels, c4_kernels, (3, 7, 6))
        self.c4_mot = _conv3d_bn_relu(2 * c2_kernels, c4_kernels, (3, 7, 6))
        self.channels = 5 * c2_kernels * c4_kernels  # C4 maps per time step over both streams (30)
        self.stpp = SpatioTemporalPyramidPool(pyramid, 1)
        self.c6 = nn.Sequential(nn.Linear(self.stpp.output_length(self.channels), features), nn.ReLU(inplace=True))
        self.features = int(features)

    def c4(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """C4 maps ``(N, 3·c2·c4, T−4, H′, W′)`` and ``(N, 2·c2·c4, T−5, H′, W′)``."""
        n, t, _, h, w = clip.shape
        if t < 6 or h < 20 or w < 18:
            raise InputError(f"the 3D CNN needs clips of at least 6 frames of 20×18 (H×W), got T={t}, {h}×{w}")
        app, mot = self.hardwired(clip)
        return self.c4_app(self.s3(self.c2_app(app))), self.c4_mot(self.s3(self.c2_mot(mot)))

    def maps(self, clip: torch.Tensor) -> list[torch.Tensor]:
        """The STPP levels as maps ``(N, channels, ps, ps)``, both streams stacked on channels, finest first."""
        app, mot = self.c4(clip)
        return [torch.cat([a, m], 1) for a, m in zip(self.stpp.levels_as_maps(app), self.stpp.levels_as_maps(mot))]

    @staticmethod
    def vector(maps: list[torch.Tensor]) -> torch.Tensor:
        """The fixed-length STPP vector ``X`` ``(N, channels·Σ ps²)`` (630 by default) of :meth:`maps`."""
        return torch.cat([m.flatten(1) for m in maps], 1)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """``(N, T, 3, H, W)`` → C6 features ``(N, features)``."""
        return self.c6(self.vector(self.maps(clip)))
