"""Paper 000's spatio-temporal detector, one module per block: ``spatial`` (§2.1: hard-wired layer, Ji et al.'s
3D CNN, STPP), ``temporal`` (§2.2, eqs. 1–9), ``so3_branch`` (§2.3), ``cfam`` (§2.4, eqs. 10–16), ``head`` and
``anchors`` (§2.5), composed by ``detector`` (the paper-faithful clip detector), ``baselines`` (references [3]
and [21]) and ``realframe`` (the full-resolution configuration on a pretrained MobileNetV2).

Checkpoints tagged ``"detector"`` rebuild through :func:`build_detector` from ``model.model_config()``: a dict
with ``arch`` is a clip detector (:class:`ClipDetectorConfig`), one without is a :class:`RealFrameConfig`."""

from __future__ import annotations

from smartclass.errors import ConfigError
from smartclass.models.detector.anchors import anchors_for_levels, kmeans_anchors, mean_best_iou
from smartclass.models.detector.baselines import C3DChannelAttention, MultiScaleCNN
from smartclass.models.detector.cfam import CFAM, CFAMDualFusion, DualAttention, GramChannelAttention, PositionAttention
from smartclass.models.detector.detector import ARCHS, ClipDetector, ClipDetectorConfig, PaperDetector
from smartclass.models.detector.head import DetectionHead, YoloHead
from smartclass.models.detector.realframe import RealFrameConfig, RealFrameDetector, default_anchors
from smartclass.models.detector.so3_branch import SO3Branch, so3_vectors
from smartclass.models.detector.spatial import HardWired, Ji3DCNN, SpatioTemporalPyramidPool
from smartclass.models.detector.temporal import AttentionLSTM
from smartclass.models.registry import register_model

MODEL_TAG = "detector"
_CLIP_ARCHS = {"paper": PaperDetector, "ms_cnn": MultiScaleCNN, "3dcca": C3DChannelAttention}


def clip_detector(config: ClipDetectorConfig) -> ClipDetector:
    """The clip detector ``config.arch`` names: ``paper``, ``ms_cnn`` or ``3dcca``."""
    config.validate()
    return _CLIP_ARCHS[config.arch](config)


def detector_config(model: RealFrameDetector | ClipDetector) -> dict:
    """The ``model_config`` of a checkpoint (plain types; ImageNet weights are not reloaded on rebuild)."""
    cfg = model.model_config()
    if "pretrained" in cfg:
        cfg["pretrained"] = False
    return cfg


def build_detector(model_config: dict) -> RealFrameDetector | ClipDetector:
    """Rebuild a detector from :func:`detector_config`'s dict (the registry's builder for ``"detector"``)."""
    cfg = dict(model_config)
    # checkpoints written by the first version carry {"kind": "realframe", ...}
    if cfg.pop("kind", "realframe") != "realframe":
        raise ConfigError(f"unknown detector kind '{model_config['kind']}'; expected 'realframe'")
    try:
        if "arch" in cfg:
            return clip_detector(ClipDetectorConfig(**cfg))
        cfg["pretrained"] = False  # the checkpoint's state dict follows
        return RealFrameDetector(RealFrameConfig(**cfg))
    except TypeError as e:
        raise ConfigError(f"detector model_config does not fit the model: {e}") from None


register_model(MODEL_TAG, build_detector)

__all__ = [
    "ARCHS", "AttentionLSTM", "C3DChannelAttention", "CFAM", "CFAMDualFusion", "ClipDetector", "ClipDetectorConfig",
    "DetectionHead", "DualAttention", "GramChannelAttention", "HardWired", "Ji3DCNN", "MODEL_TAG", "MultiScaleCNN",
    "PaperDetector", "PositionAttention", "RealFrameConfig", "RealFrameDetector", "SO3Branch",
    "SpatioTemporalPyramidPool", "YoloHead", "anchors_for_levels", "build_detector", "clip_detector",
    "default_anchors", "detector_config", "kmeans_anchors", "mean_best_iou", "so3_vectors",
]
