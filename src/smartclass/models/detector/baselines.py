"""The two baselines of paper 000's experiments, built from the same blocks and decoded by the same head
(:class:`~.detector.ClipDetector`), so one training code trains all three (``ClipDetectorConfig.arch``).

- :class:`MultiScaleCNN` (``ms_cnn``, the paper's reference [3], Chen): a per-frame multi-scale 2-D CNN
  of depthwise-separable convolutions (parallel 3×3, 5×5, 7×7 branches, the "depth separable convolution
  module"), the frames' low-order features connected on the time axis (stacked on channels) and a Gram-matrix
  channel attention over those time-channel features (the "spatio-temporal interaction module of matrix
  operation"), pooled to the head grid.
- :class:`C3DChannelAttention` (``3dcca``, reference [21], Zhao et al.): mean-normalised RGB frames, 3-D
  convolutions for the clip's spatio-temporal features, squeeze-and-excitation channel attention selecting the
  features that matter, pooled to the head grid.

Neither has the hard-wired layer, the attention LSTM, the SO(3) branch or the CFAM/dual-attention fusion;
``skeletons`` are accepted and ignored. Both take the last ``frames`` frames of the clip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.models.detector.cfam import GramChannelAttention, conv_bn_relu
from smartclass.models.detector.detector import ClipDetector, ClipDetectorConfig


class SeparableBranch(nn.Sequential):
    """Depthwise ``k×k`` → pointwise 1×1 → BN → ReLU."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__(nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class MultiScaleBlock(nn.Module):
    """``(B, Cin, H, W)`` → ``(B, Cout, H, W)``: 3×3 ∥ 5×5 ∥ 7×7 separable branches, concatenated, 1×1 conv."""

    def __init__(self, cin: int, cout: int, kernels: tuple[int, ...] = (3, 5, 7)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(SeparableBranch(cin, cout, k) for k in kernels)
        self.merge = conv_bn_relu(cout * len(kernels), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([b(x) for b in self.branches], 1))


class MultiScaleCNN(ClipDetector):
    """Reference [3]'s multi-scale CNN as a detector: clip ``(N, T, 3, H, W)`` → ``[raw (N, A·(C+5), G, G)]``."""

    def __init__(self, config: ClipDetectorConfig | None = None) -> None:
        config = config or ClipDetectorConfig(arch="ms_cnn")
        super().__init__(config, config.fused_channels)
        w = config.width
        # the stem halves the resolution first: the multi-scale blocks cost 4× less at 60×40 (their 7×7 depthwise
        # backward dominated a CPU training step, 4.5 s for 16 clips); the head grid is pooled from 10×15 anyway
        self.frame_net = nn.Sequential(conv_bn_relu(3, w, 3), nn.MaxPool2d(2), MultiScaleBlock(w, w), nn.MaxPool2d(2),
                                       MultiScaleBlock(w, w))
        self.interaction = GramChannelAttention()
        self.out = conv_bn_relu(w * config.frames, config.fused_channels, 1)

    def fused(self, clip: torch.Tensor, skeletons: dict | None) -> torch.Tensor:
        clip = self.check_clip(clip, self.config.frames)[:, -self.config.frames:]
        n, t = clip.shape[:2]
        f = self.frame_net(clip.flatten(0, 1))  # per-frame low-order features
        f = f.reshape(n, t * f.shape[1], *f.shape[-2:])  # connected on the time axis
        return self.out(F.adaptive_max_pool2d(self.interaction(f), self.config.grid))


class SqueezeExcitation(nn.Module):
    """Channel attention ``x · σ(W₂ ReLU(W₁ avgpool(x)))`` (Hu et al. 2018): ``(N, C, …)`` → same."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, max(channels // reduction, 1)), nn.ReLU(inplace=True),
                                nn.Linear(max(channels // reduction, 1), channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.flatten(2).mean(-1))
        return x * w.view(*w.shape, *([1] * (x.dim() - 2)))


class C3DChannelAttention(ClipDetector):
    """Reference [21]'s 3DCCA as a detector: clip ``(N, T, 3, H, W)`` → ``[raw (N, A·(C+5), G, G)]``."""

    def __init__(self, config: ClipDetectorConfig | None = None) -> None:
        config = config or ClipDetectorConfig(arch="3dcca")
        super().__init__(config, config.fused_channels)
        w = config.width

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout),
                                 nn.ReLU(inplace=True))

        self.c3d = nn.Sequential(block(3, w), nn.MaxPool3d((1, 2, 2)), block(w, 2 * w), nn.MaxPool3d((2, 2, 2), ceil_mode=True),
                                 block(2 * w, 2 * w))
        self.attention = SqueezeExcitation(2 * w)
        self.out = conv_bn_relu(2 * w, config.fused_channels, 1)

    def fused(self, clip: torch.Tensor, skeletons: dict | None) -> torch.Tensor:
        clip = self.check_clip(clip, self.config.frames)[:, -self.config.frames:]
        x = clip.transpose(1, 2)  # (N, 3, T, H, W)
        x = x - x.mean((2, 3, 4), keepdim=True)  # mean normalisation of the clip
        f = self.attention(self.c3d(x).amax(2))  # temporal max, then channel attention
        return self.out(F.adaptive_max_pool2d(f, self.config.grid))
