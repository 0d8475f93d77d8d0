"""Architecture config of the trimodal recogniser (no torch import: ``smartclass config show`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import ranged


@dataclass
class RecognizerConfig:
    """Architecture of :class:`smartclass.models.recognizer.TrimodalRecognizer` (saved in every checkpoint as
    its ``model_config``)."""

    num_classes: int = ranged(10, ge=2)
    width: int = ranged(32, ge=1)  # DCA-Net feature channels
    keypoint_channels: int = ranged(32, ge=1)  # eq. 6 encoding per keypoint
    gcn_channels: tuple[int, ...] = ranged((48, 48, 96), ge=1)
    modalities: tuple[str, ...] = ("rgb", "depth", "thermal")
    enhance: bool = True  # the differentiable Retinex in front of DCA-Net
    thermal_refinement: bool = True
    context_stream: bool = True  # our extension: a temporal conv over each frame's pooled fused features
    dropout: float = ranged(0.1, ge=0, lt=1)
