"""The trimodal fine-grained recogniser of paper 002: enhancement → DCA-Net → keypoints → MST-GCN.

Input: a batch of per-student clips (``smartclass.crops.student_sample`` items, stacked)::

    rgb      (B, T, 3, S, S) in 0..1     depth (B, T, 1, S, S) metres, 0 = hole     thermal (B, T, 1, S, S) °C

Per frame, the RGB crop is enhanced by the differentiable multi-scale weighted guided-filter Retinex
(§3.2), the three modalities are fused by DCA-Net (§3.3), a keypoint head predicts the 17 upper-body
keypoints (§3.4) whose fused features are sampled and encoded (eq. 6), and MST-GCN classifies the sequence
of encoded keypoints ``(B, C, T, 17)`` with the keypoint positions feeding its dynamic graph (eq. 7).
Beyond the paper, an optional context stream (``context_stream``) runs a dilated temporal convolution over
each frame's pooled fused features and joins the GCN features before the classifier, so evidence that is not
at a keypoint (a page turning, a cup on the desk) still counts; ablate it with ``model.context_stream=false``.
The enhancement's adaptive-weight coefficients λ1, λ2 (eq. 2) are learnable, so the enhancement loss trains
them end to end.
Ground-truth or externally supplied keypoints can replace the predicted ones (``keypoints=`` in
``forward``). Missing depth or thermal (``None``, or ``has_depth``/``has_thermal`` false) gets no weight in
the gated fusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from smartclass.enhance.differentiable import crop_enhancement
from smartclass.enhance.retinex import msr
from smartclass.errors import InputError
from smartclass.layouts import UPPER_BODY_17
from smartclass.models.fusion.dcanet import DCANet
from smartclass.models.gcn.mstgcn import MSTGCN
from smartclass.models.gcn.stgcn import STGCN
from smartclass.models.keypoints import KeypointEncoder, KeypointHead, sample_keypoint_features, soft_argmax
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.models.registry import register_model

MODEL_NAME = "mmfg"
"""Checkpoint tag of this model (multimodal fine-grained recogniser)."""

DEPTH_SCALE = 4.0  # metres → network units
THERMAL_CENTRE, THERMAL_SCALE = 30.0, 10.0  # °C → network units


@dataclass
class RecognizerOutput:
    logits: torch.Tensor  # (B, num_classes)
    heatmaps: torch.Tensor  # (B·T, 17, h, w)
    keypoints: torch.Tensor  # (B, T, 17, 2) used by the GCN, crop-normalised 0..1
    confidence: torch.Tensor  # (B, T, 17)
    enhanced: torch.Tensor | None  # (B·T, 3, S, S)
    fusion: object  # DCANetOutput
    sources: tuple  # network inputs (rgb, depth, thermal) per frame, for the fusion loss


class TrimodalRecognizer(nn.Module):
    """Paper 002's recogniser; see the module docstring for the input contract."""

    def __init__(self, cfg: RecognizerConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or RecognizerConfig()
        unknown = set(cfg.modalities) - {"rgb", "depth", "thermal"}
        if "rgb" not in cfg.modalities or unknown:
            raise InputError(f"modalities must include 'rgb' and only rgb/depth/thermal, got {list(cfg.modalities)}")
        chans = {"rgb": 3, "depth": 1, "thermal": 1}
        self.dcanet = DCANet({m: chans[m] for m in cfg.modalities}, width=cfg.width, deformable=cfg.deformable,
                             fusion=cfg.fusion)
        self.keypoint_head = KeypointHead(cfg.width, UPPER_BODY_17.num_node,
                                          thermal_head_refinement=cfg.thermal_refinement and "thermal" in cfg.modalities,
                                          thermal_channels=cfg.width)
        self.encoder = KeypointEncoder(cfg.width, cfg.keypoint_channels)
        # GCN input per keypoint: eq. 6 encoding + position + velocity
        if cfg.gcn == "stgcn":
            self.gcn = STGCN(UPPER_BODY_17, cfg.keypoint_channels + 4, cfg.num_classes, cfg.gcn_channels,
                             dropout=cfg.dropout)
        else:
            self.gcn = MSTGCN(UPPER_BODY_17, cfg.keypoint_channels + 4, cfg.num_classes, cfg.gcn_channels,
                              dilations=cfg.gcn_dilations, dropout=cfg.dropout)
        self.context = None
        head_in = self.gcn.out_channels
        if cfg.context_stream:
            self.context = nn.Sequential(
                nn.Conv1d(cfg.width, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(inplace=True),
                nn.Conv1d(64, 64, 3, padding=2, dilation=2), nn.BatchNorm1d(64), nn.ReLU(inplace=True),
            )
            head_in += 128
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(head_in, cfg.num_classes))
        # eq. 2 weights of the enhancement, learnt through the enhancement loss
        self.enh_lambda = nn.Parameter(torch.zeros(2))  # sigmoid → 0.5, 0.5 (the numpy path's defaults)

    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        """The learnable multi-scale weighted guided-filter Retinex (§3.2) of frames ``(N, 3, S, S)``, gated by
        measured illumination with ``cfg.enhance_gate`` (:func:`~smartclass.enhance.differentiable.crop_enhancement`);
        ``cfg.enhance_multiscale=False`` fixes λ1 = λ2 = 0. ``cfg.enhance_method="msr"`` replaces it by the
        classic multi-scale Retinex (:func:`~smartclass.enhance.retinex.msr`, Jobson et al. 1997, σ = 15, 80, 250)
        of each frame: no parameters, no gradient, the conventional enhancement of paper 002's baselines."""
        if self.cfg.enhance_method == "msr":
            frames = x.detach().permute(0, 2, 3, 1).cpu().numpy()
            return torch.stack([torch.from_numpy(msr(f)) for f in frames]).permute(0, 3, 1, 2).to(x)
        lam = torch.sigmoid(self.enh_lambda) if self.cfg.enhance_multiscale else self.enh_lambda.new_zeros(2)
        return crop_enhancement(x, lam[0], lam[1], gate=self.cfg.enhance_gate)

    def _frames(self, x: torch.Tensor, depth: torch.Tensor | None, thermal: torch.Tensor | None,
                present: torch.Tensor | None = None):
        """Per-frame stages on ``(N, 3, S, S)`` / ``(N, 1, S, S)`` frames: enhancement, DCA-Net, heatmaps."""
        enhanced = self.enhance(x) if self.cfg.enhance else None
        rgb_in = enhanced if enhanced is not None else x
        mods = self.cfg.modalities
        d_in = depth / DEPTH_SCALE if depth is not None and "depth" in mods else None
        t_in = (thermal - THERMAL_CENTRE) / THERMAL_SCALE if thermal is not None and "thermal" in mods else None
        fusion = self.dcanet(rgb_in, d_in, t_in, present=present)
        heat = self.keypoint_head(fusion.fused, fusion.thermal)
        return enhanced, fusion, heat, (rgb_in, d_in, t_in)

    def frame_heatmaps(self, rgb: torch.Tensor, depth: torch.Tensor | None = None,
                       thermal: torch.Tensor | None = None) -> torch.Tensor:
        """Keypoint heatmaps ``(N, 17, h, w)`` of single frames ``rgb`` ``(N, 3, S, S)``, depth and thermal
        ``(N, 1, S, S)`` (or ``None``): the per-frame half of :meth:`forward`, for keypoint-only training."""
        return self._frames(rgb, depth, thermal)[2]

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor | None = None, thermal: torch.Tensor | None = None,
                keypoints: torch.Tensor | None = None, present: torch.Tensor | None = None) -> RecognizerOutput:
        """``present``: optional ``(B, 2)`` boolean mask (depth, thermal) per clip, False where a sample lacks
        that modality (modality dropout, :func:`~smartclass.models.fusion.dcanet.modality_dropout_mask`)."""
        if rgb.dim() != 5 or rgb.shape[2] != 3:
            raise InputError(f"rgb must be (B, T, 3, S, S), got {tuple(rgb.shape)}")
        b, t, _, h, w = rgb.shape
        for name, x in (("depth", depth), ("thermal", thermal)):
            if x is not None and (x.dim() != 5 or x.shape[:2] != (b, t) or x.shape[2] != 1 or x.shape[3:] != (h, w)):
                raise InputError(f"{name} must be (B, T, 1, S, S) = ({b}, {t}, 1, {h}, {w}), got {tuple(x.shape)}")
        d = depth.flatten(0, 1) if depth is not None else None
        th = thermal.flatten(0, 1) if thermal is not None else None
        if present is not None and present.shape != (b, 2):
            raise InputError(f"present must be (B, 2) = ({b}, 2) (depth, thermal), got {tuple(present.shape)}")
        per_frame = present.repeat_interleave(t, 0) if present is not None else None
        enhanced, fusion, heat, sources = self._frames(rgb.flatten(0, 1), d, th, per_frame)
        pred, conf = soft_argmax(heat)
        if keypoints is not None:
            if keypoints.shape[:3] != (b, t, UPPER_BODY_17.num_node):
                raise InputError(f"keypoints must be (B, T, 17, 2|3) = ({b}, {t}, 17, ·), got {tuple(keypoints.shape)}")
            kp = keypoints[..., :2].flatten(0, 1)
            conf_used = (keypoints[..., 2] > 0).float().flatten(0, 1) if keypoints.shape[-1] > 2 else torch.ones_like(conf)
        else:
            kp, conf_used = pred, conf
        feats = sample_keypoint_features(fusion.fused, kp)  # (B·T, C, 17)
        enc = self.encoder(feats, kp, conf_used).view(b, t, -1, UPPER_BODY_17.num_node)  # (B, T, C, V)
        pos = kp.view(b, t, UPPER_BODY_17.num_node, 2)
        vel = torch.cat([torch.zeros_like(pos[:, :1]), pos[:, 1:] - pos[:, :-1]], 1)
        geo = torch.cat([pos - 0.5, vel * 10.0], -1).permute(0, 1, 3, 2)  # (B, T, 4, V)
        gcn_in = torch.cat([enc, geo], 2).permute(0, 2, 1, 3).contiguous()  # (B, C+4, T, V)
        feats = self.gcn.features(gcn_in, pos).mean((2, 3))
        if self.context is not None:
            c = self.context(fusion.fused.mean((2, 3)).view(b, t, -1).transpose(1, 2))  # (B, 64, T)
            feats = torch.cat([feats, c.mean(-1), c.amax(-1)], 1)
        logits = self.classifier(feats)
        return RecognizerOutput(logits, heat, pos, conf_used.view(b, t, -1), enhanced, fusion, sources)


def build_recognizer(model_config: dict) -> TrimodalRecognizer:
    """The recogniser of a checkpoint's ``model_config`` (the fields of :class:`RecognizerConfig`)."""
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in model_config.items()}
    return TrimodalRecognizer(RecognizerConfig(**cfg))


register_model(MODEL_NAME, build_recognizer)
