"""Paper 000's spatio-temporal detector, one module per block: ``anchors`` (IoU k-means), ``cfam`` (§2.4,
eqs. 10–16), ``temporal`` (§2.2, eqs. 1–9), ``head`` (§2.5), ``realframe`` (the full-resolution configuration
on a pretrained MobileNetV2). Checkpoints tagged ``"detector"`` rebuild through :func:`build_detector`."""

from __future__ import annotations

from smartclass.errors import ConfigError
from smartclass.models.detector.anchors import anchors_for_levels, kmeans_anchors, mean_best_iou
from smartclass.models.detector.cfam import CFAM, CFAMDualFusion, DualAttention, GramChannelAttention, PositionAttention
from smartclass.models.detector.head import DetectionHead, YoloHead
from smartclass.models.detector.realframe import RealFrameConfig, RealFrameDetector, default_anchors
from smartclass.models.detector.temporal import AttentionLSTM
from smartclass.models.registry import register_model

MODEL_TAG = "detector"


def detector_config(model: RealFrameDetector) -> dict:
    """The ``model_config`` of a checkpoint: ``{"kind": ..., **constructor settings}`` (plain types)."""
    return {"kind": "realframe", **model.model_config()}


def build_detector(model_config: dict) -> RealFrameDetector:
    """Rebuild a detector from :func:`detector_config`'s dict. ImageNet weights are not loaded (the
    checkpoint's state dict follows), so rebuilding needs no weights package."""
    cfg = dict(model_config)
    kind = cfg.pop("kind", "realframe")
    if kind != "realframe":
        raise ConfigError(f"unknown detector kind '{kind}'; expected 'realframe'")
    cfg["pretrained"] = False
    return RealFrameDetector(RealFrameConfig(**cfg))


register_model(MODEL_TAG, build_detector)

__all__ = [
    "AttentionLSTM", "CFAM", "CFAMDualFusion", "DetectionHead", "DualAttention", "GramChannelAttention",
    "MODEL_TAG", "PositionAttention", "RealFrameConfig", "RealFrameDetector", "YoloHead", "anchors_for_levels",
    "build_detector", "default_anchors", "detector_config", "kmeans_anchors", "mean_best_iou",
]
