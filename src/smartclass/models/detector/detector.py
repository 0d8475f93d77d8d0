"""Paper 000's spatio-temporal detector, paper-faithful configuration (the synthetic 8-class reproduction):
RGB spatial features (§2.1), RGB temporal features (§2.2, eqs. 1–9), SO(3) skeleton features (§2.3), fused by
CFAM ∥ dual attention (§2.4, eqs. 10–16) and decoded by the 5-anchor head (§2.5).

Input: a clip ``(N, T, 3, H, W)`` RGB in ``[0, 1]`` of exactly ``input_size = (H, W)`` (default 40×60, the
paper's "60×40" frames, landscape), ``T >= frames`` (7); the boxes are those of the **last** frame (the key
frame). Optional ``skeletons`` (see :mod:`.so3_branch`).

How the pooled vectors become the head's spatial map (the paper only says the three features are "stacked
according to the last two dimensions to form a feature map D" and that a final 1×1 convolution gives
``5·(Num+5)·H·W`` channels). Our reading, documented in ``docs/detector.md``:

- the head grid is the finest STPP level, ``ps × ps`` cells (4×4 with the paper's ``ps = 4, 2, 1``; a finer
  pyramid such as ``(8, 4, 2, 1)`` gives an 8×8 grid), so each cell's pixels are ``(W/ps, H/ps)``;
- spatial ``X``: the STPP of the key 7-frame window laid out as maps, each level upsampled (nearest) to the
  grid and stacked on channels (the STPP vector, arranged in 2-D), plus its C6 feature vector broadcast;
- temporal ``X′``: the 3D CNN runs on every ``frames``-long window ending ``window_stride`` frames apart up to
  the key frame; the windows' C6 vectors are the sequence ``U`` of the attention LSTM, whose eq. 9 output is
  broadcast over the grid (one window: no history, ``s_τ = 0``);
- skeleton ``A′``: each person's SO(3) embedding in the cell of the person's centre (zero without skeletons);
- ``D`` = all of these stacked on channels → ``CFAMDualFusion`` (``cfam=False``: plain convs) → head.

:class:`ClipDetector` is the shared interface (``forward`` → raw level outputs for ``RegionLoss``,
``predict`` → per-image detections) of this detector and the two baselines of :mod:`.baselines`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import ConfigError, InputError
from smartclass.models.detector.cfam import CFAMDualFusion, conv_bn_relu
from smartclass.models.detector.head import DetectionHead, eval_forward
from smartclass.models.detector.so3_branch import SO3Branch
from smartclass.models.detector.spatial import Ji3DCNN
from smartclass.models.detector.temporal import AttentionLSTM

ARCHS = ("paper", "ms_cnn", "3dcca")
# generic priors in cells (× the cell size in pixels) until k-means anchors are given
_DEFAULT_PRIOR = ((0.5, 0.7), (0.8, 1.0), (1.0, 1.4), (1.4, 1.2), (1.8, 2.0))


@dataclass
class ClipDetectorConfig:
    """Constructor settings of the clip detectors, plain types.

    ``arch``: ``paper`` (this module), ``ms_cnn`` (reference [3]) or ``3dcca`` (reference [21]).
    ``input_size``: ``[H, W]`` of the clips. ``pyramid``: STPP spatial levels (``pt = 1``), finest first; its
    first level is the head grid for every arch. ``anchors``: ``[[w, h], …]`` input pixels (``None``: five
    generic priors scaled by the cell size). ``skeleton_layout``: a :mod:`smartclass.layouts` name to enable the
    SO(3) branch (``None``: no skeleton branch). ``cfam``: CFAM + dual attention fusion (``False``: plain convs).
    ``width``: channel width of the baselines' convolutions.
    """

    arch: str = "paper"
    num_classes: int = 8
    input_size: list[int] = field(default_factory=lambda: [40, 60])
    frames: int = 7
    window_stride: int = 2
    pyramid: list[int] = field(default_factory=lambda: [4, 2, 1])
    anchors: list[list[float]] | None = None
    features: int = 128
    temporal_hidden: int = 128
    skeleton_layout: str | None = None
    skeleton_features: int = 64
    cfam: bool = True
    fused_channels: int = 128
    width: int = 32

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.pyramid[0]), int(self.pyramid[0])

    @property
    def stride(self) -> tuple[float, float]:
        """Pixels per cell ``(sx, sy)``."""
        h, w = self.input_size
        return w / self.grid[1], h / self.grid[0]

    def cell_anchors(self) -> list[list[float]]:
        sx, sy = self.stride
        return self.anchors if self.anchors is not None else [[a * sx, b * sy] for a, b in _DEFAULT_PRIOR]

    def validate(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"detector arch must be one of {', '.join(ARCHS)}, got '{self.arch}'")
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            raise ConfigError(f"detector input_size must be [H, W], got {self.input_size}")
        if self.frames < 6 and self.arch == "paper":
            raise ConfigError(f"detector frames must be >= 6 for the 3D CNN, got {self.frames}")
        if not self.pyramid or sorted(self.pyramid, reverse=True) != list(self.pyramid) or min(self.pyramid) < 1:
            raise ConfigError(f"detector pyramid must be decreasing positive levels (finest first), got {self.pyramid}")
        if self.num_classes < 1 or self.window_stride < 1:
            raise ConfigError("detector num_classes and window_stride must be >= 1")


class ClipDetector(nn.Module, ABC):
    """Shared interface: ``forward(clip, skeletons=None)`` → ``[raw (N, A·(C+5), G, G)]``; :meth:`predict`."""

    def __init__(self, config: ClipDetectorConfig, fused_channels: int) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.head = DetectionHead([fused_channels], config.num_classes, [config.cell_anchors()], [config.stride])

    def model_config(self) -> dict:
        return asdict(self.config)

    def check_clip(self, clip: torch.Tensor, min_frames: int = 1) -> torch.Tensor:
        if clip.dim() == 4:
            clip = clip[:, None]
        h, w = self.config.input_size
        if clip.dim() != 5 or clip.shape[2] != 3 or tuple(clip.shape[-2:]) != (h, w) or clip.shape[1] < min_frames:
            raise InputError(f"{self.config.arch} detector input must be a clip (N, T >= {min_frames}, 3, {h}, {w}) "
                             f"RGB in [0, 1] (input_size = [{h}, {w}]), got shape {tuple(clip.shape)}")
        return clip

    @abstractmethod
    def fused(self, clip: torch.Tensor, skeletons: dict | None) -> torch.Tensor:
        """The fused map ``(N, fused_channels, G, G)`` the head decodes."""

    def forward(self, clip: torch.Tensor, skeletons: dict | None = None) -> list[torch.Tensor]:
        return self.head([self.fused(clip, skeletons)])

    @torch.no_grad()
    def predict(self, clip: torch.Tensor, skeletons: dict | None = None, conf: float = 0.25, iou: float = 0.45,
                max_det: int = 300) -> list[dict[str, torch.Tensor]]:
        """Detections of each clip's key frame: ``{"boxes" (K, 4) xyxy pixels, "scores", "labels"}``."""
        raws = eval_forward(self, clip, skeletons)
        return self.head.postprocess(raws, tuple(self.config.input_size), conf=conf, iou=iou, max_det=max_det)


def fusion_block(in_channels: int, out_channels: int, cfam: bool) -> nn.Module:
    """§2.4's ``CFAMDualFusion``, or the ablation's plain 1×1 → 3×3 conv block."""
    if cfam:
        return CFAMDualFusion(in_channels, out_channels, out_channels)
    return nn.Sequential(conv_bn_relu(in_channels, out_channels, 1), conv_bn_relu(out_channels, out_channels, 3))


class PaperDetector(ClipDetector):
    """The paper-faithful detector (3D CNN + STPP, attention LSTM, SO(3), CFAM ∥ dual attention, 5-anchor head)."""

    def __init__(self, config: ClipDetectorConfig | None = None) -> None:
        config = config or ClipDetectorConfig()
        super().__init__(config, config.fused_channels)
        self.spatial = Ji3DCNN(features=config.features, pyramid=config.pyramid)
        self.temporal = AttentionLSTM(config.features, config.temporal_hidden, config.temporal_hidden)
        self.skeleton = SO3Branch(config.skeleton_layout, config.skeleton_features) if config.skeleton_layout else None
        d = (self.spatial.channels * len(config.pyramid) + config.features + config.temporal_hidden
             + (config.skeleton_features if self.skeleton is not None else 0))
        self.fusion = fusion_block(d, config.fused_channels, config.cfam)

    def windows(self, clip: torch.Tensor) -> torch.Tensor:
        """``(N, T, 3, H, W)`` → ``(N, K, frames, 3, H, W)``, windows ending ``window_stride`` apart, the last at
        the key frame, oldest first."""
        f, t = self.config.frames, clip.shape[1]
        starts = torch.arange(t - f, -1, -self.config.window_stride, device=clip.device).flip(0)
        idx = starts[:, None] + torch.arange(f, device=clip.device)[None]
        return clip[:, idx]

    def fused(self, clip: torch.Tensor, skeletons: dict | None) -> torch.Tensor:
        clip = self.check_clip(clip, self.config.frames)
        win = self.windows(clip)
        n, k = win.shape[:2]
        g = self.config.grid
        maps = self.spatial.maps(win.flatten(0, 1))  # every window's STPP levels, finest first
        u = self.spatial.c6(self.spatial.vector(maps)).view(n, k, -1)  # U: (N, K, features)
        grid_maps = [F.interpolate(m.view(n, k, *m.shape[1:])[:, -1], size=g, mode="nearest") for m in maps]
        x_vec, x_t = u[:, -1], self.temporal(u)  # X (C6 of the key window), X′ (eq. 9)
        parts = [*grid_maps, x_vec[:, :, None, None].expand(-1, -1, *g), x_t[:, :, None, None].expand(-1, -1, *g)]
        if self.skeleton is not None:
            parts.append(self.skeleton(skeletons, n, g, self.config.stride))
        return self.fusion(torch.cat(parts, 1))  # D → ε
