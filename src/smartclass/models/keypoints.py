"""Keypoints from fused feature maps and their encoding (paper 002 §3.4, eq. 6).

Coordinates are normalised with the pixel-centre convention: a point at pixel index ``x`` of a ``W``-wide map
has ``u = (x + 0.5) / W``, so ``[0, 1]`` spans the image exactly at every resolution and ``2u − 1`` is the
``grid_sample`` coordinate with ``align_corners=False``. Keypoints are ``(N, K, 3)`` = ``(u, v, visibility)``
in the order of :data:`smartclass.layouts.UPPER_BODY_17`.

Pipeline: :class:`KeypointHead` predicts heatmaps ``(N, K, 2h, 2w)`` from the fused map ``(N, C, h, w)``
(trained with MSE against :func:`heatmap_targets`); :func:`soft_argmax` turns them into sub-pixel coordinates
and confidences; :func:`sample_keypoint_features` reads RoIAlign-style features at those points; and
:class:`KeypointEncoder` applies eq. 6 to give per-keypoint node features for MST-GCN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError
from smartclass.layouts import UPPER_BODY_17

HEAD_KEYPOINTS: tuple[int, ...] = tuple(
    UPPER_BODY_17.index(j) for j in ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_top")
)
"""Indices 0–5: the head region that the thermal refinement acts on."""


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class KeypointHead(nn.Module):
    """Lightweight high-resolution heatmap head: 3×3 conv → ×2 bilinear upsampling → 3×3 conv → 1×1 conv.

    ``forward(fused, thermal=None)``: ``fused`` ``(N, C_in, h, w)`` → heatmaps ``(N, K, 2h, 2w)`` on the
    target scale of :func:`heatmap_targets` (peak 1 at the keypoint, 0 elsewhere).

    ``thermal_head_refinement=True`` adds a small branch on thermal features ``(N, C_thermal, h, w)`` (e.g. the
    aligned thermal features of DCA-Net) whose output is added to the heatmaps of the head keypoints
    (:data:`HEAD_KEYPOINTS`): the face is the warmest region, so thermal sharpens nose, eyes, ears and head
    top. Its last conv starts at zero, so the refinement starts as a no-op; without a thermal input
    (missing modality) it is skipped.
    """

    def __init__(self, cin: int, num_keypoints: int = 17, mid: int = 32, thermal_head_refinement: bool = False,
                 thermal_channels: int | None = None, head_keypoints: tuple[int, ...] = HEAD_KEYPOINTS) -> None:
        super().__init__()
        if any(not 0 <= i < num_keypoints for i in head_keypoints):
            raise InputError(f"head_keypoints must index the {num_keypoints} keypoints, got {head_keypoints}")
        self.cin, self.num_keypoints = cin, num_keypoints
        self.body = nn.Sequential(
            _conv_bn_relu(cin, mid),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            _conv_bn_relu(mid, mid),
            nn.Conv2d(mid, num_keypoints, 1),
        )
        self.head_keypoints = list(head_keypoints)
        self.thermal: nn.Sequential | None = None
        if thermal_head_refinement:
            tc = thermal_channels if thermal_channels is not None else cin
            last = nn.Conv2d(mid, len(self.head_keypoints), 1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.thermal = nn.Sequential(
                _conv_bn_relu(tc, mid), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), last
            )

    def forward(self, fused: torch.Tensor, thermal: torch.Tensor | None = None) -> torch.Tensor:
        if fused.dim() != 4 or fused.shape[1] != self.cin:
            raise InputError(f"fused must be (N, {self.cin}, h, w), got {tuple(fused.shape)}")
        heat = self.body(fused)
        if self.thermal is not None and thermal is not None:
            if thermal.dim() != 4 or thermal.shape[0] != fused.shape[0] or thermal.shape[2:] != fused.shape[2:]:
                raise InputError(f"thermal must be (N, C_thermal, h, w) with N, h, w of fused {tuple(fused.shape)}, "
                                 f"got {tuple(thermal.shape)}")
            refine = torch.zeros_like(heat)
            refine[:, self.head_keypoints] = self.thermal(thermal)
            heat = heat + refine
        return heat


def _check_heatmaps(heatmaps: torch.Tensor) -> None:
    if heatmaps.dim() != 4:
        raise InputError(f"heatmaps must be (N, K, h, w), got {tuple(heatmaps.shape)}")


def soft_argmax(heatmaps: torch.Tensor, beta: float = 50.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable sub-pixel argmax.

    ``heatmaps`` ``(N, K, h, w)`` on the target scale (peak ≈ 1). Returns ``(coords (N, K, 2), confidence
    (N, K))``: coords are the expectation of the pixel-centre coordinates ``((x + 0.5)/w, (y + 0.5)/h)``
    under ``softmax(beta · heatmap)`` over all positions, in ``[0, 1]``; confidence is the heatmap maximum
    (the usual score of MSE-trained heatmaps). ``beta`` sharpens the softmax so that the background of a
    heatmap with values in ``[0, 1]`` does not pull the estimate towards the centre.
    """
    _check_heatmaps(heatmaps)
    n, k, h, w = heatmaps.shape
    p = torch.softmax(beta * heatmaps.reshape(n, k, h * w), dim=-1).view(n, k, h, w)
    xs = (torch.arange(w, device=heatmaps.device, dtype=heatmaps.dtype) + 0.5) / w
    ys = (torch.arange(h, device=heatmaps.device, dtype=heatmaps.dtype) + 0.5) / h
    u = (p.sum(2) * xs).sum(-1)
    v = (p.sum(3) * ys).sum(-1)
    return torch.stack((u, v), dim=-1), heatmaps.amax(dim=(2, 3))


def heatmap_targets(keypoints: torch.Tensor, size: int | tuple[int, int], sigma: float = 2.0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian heatmap targets.

    ``keypoints`` ``(N, K, 3)``: normalised ``(u, v)`` and visibility. ``size``: ``h`` (square) or ``(h, w)``.
    ``sigma`` in heatmap pixels. Returns ``(targets (N, K, h, w), weights (N, K))``: each target is
    ``exp(−d² / 2σ²)`` around the keypoint (peak 1 at an exact pixel centre); weights are 1 for keypoints that
    are visible (visibility > 0) and inside ``[0, 1]²``, else 0, and the targets of weight-0 keypoints are 0.
    """
    if keypoints.dim() != 3 or keypoints.shape[-1] != 3:
        raise InputError(f"keypoints must be (N, K, 3) = (u, v, visibility), got {tuple(keypoints.shape)}")
    h, w = (size, size) if isinstance(size, int) else size
    uv = keypoints[..., :2]
    weights = ((keypoints[..., 2] > 0) & (uv >= 0).all(-1) & (uv <= 1).all(-1)).to(keypoints.dtype)
    x = uv[..., 0] * w - 0.5  # pixel-index coordinates
    y = uv[..., 1] * h - 0.5
    gx = torch.arange(w, device=keypoints.device, dtype=keypoints.dtype)
    gy = torch.arange(h, device=keypoints.device, dtype=keypoints.dtype)
    ex = torch.exp(-((gx - x[..., None]) ** 2) / (2 * sigma**2))  # (N, K, w)
    ey = torch.exp(-((gy - y[..., None]) ** 2) / (2 * sigma**2))  # (N, K, h)
    targets = ey[..., :, None] * ex[..., None, :] * weights[..., None, None]
    return targets, weights


def sample_keypoint_features(feature_map: torch.Tensor, keypoints: torch.Tensor, roi_size: float = 1.0,
                             sampling_ratio: int = 2) -> torch.Tensor:
    """RoIAlign-style feature sampling at keypoints (the ``RoIAlign(F_fusion; p_i)`` of eq. 6).

    ``feature_map`` ``(N, C, H, W)``; ``keypoints`` ``(N, K, 2)`` normalised ``(u, v)`` (extra trailing
    columns such as visibility are ignored). Each keypoint's box of ``roi_size × roi_size`` feature pixels is
    one RoIAlign bin: the mean of ``sampling_ratio²`` bilinear samples at the centres of a regular grid over
    the box. ``sampling_ratio=1`` is plain bilinear interpolation at the keypoint, which returns the stored
    value at a pixel centre. Positions outside the map read the border (``padding_mode='border'``): keypoints
    of partly visible students often land just outside the crop. Returns ``(N, C, K)``.
    """
    if feature_map.dim() != 4:
        raise InputError(f"feature_map must be (N, C, H, W), got {tuple(feature_map.shape)}")
    if keypoints.dim() != 3 or keypoints.shape[-1] < 2 or keypoints.shape[0] != feature_map.shape[0]:
        raise InputError(f"keypoints must be (N, K, 2) with N = {feature_map.shape[0]}, got {tuple(keypoints.shape)}")
    if sampling_ratio < 1:
        raise InputError(f"sampling_ratio must be ≥ 1, got {sampling_ratio}")
    n, _, h, w = feature_map.shape
    s = sampling_ratio
    steps = ((torch.arange(s, device=feature_map.device, dtype=feature_map.dtype) + 0.5) / s - 0.5) * roi_size
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    grid_offset = torch.stack((2 * dx.reshape(-1) / w, 2 * dy.reshape(-1) / h), dim=-1)  # (s², 2)
    grid = (2 * keypoints[..., :2].to(feature_map.dtype) - 1)[:, :, None, :] + grid_offset  # (N, K, s², 2)
    sampled = F.grid_sample(feature_map, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return sampled.mean(-1)


class KeypointEncoder(nn.Module):
    """Eq. 6: ``f_i = [RoIAlign(F_fusion; p_i), u_i, v_i, c_i] · W_enc + b_enc`` for every keypoint.

    The sampled features are extended with the keypoint's coordinates and confidence so that the node
    feature carries position and reliability. ``forward(features (N, C_in, K), keypoints (N, K, 2),
    confidence (N, K))`` → ``(N, C_out, K)``; per frame, stack over time into ``(N, C_out, T, K)`` for MST-GCN.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.cin = cin
        self.proj = nn.Conv1d(cin + 3, cout, 1)

    def forward(self, features: torch.Tensor, keypoints: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        if features.dim() != 3 or features.shape[1] != self.cin:
            raise InputError(f"features must be (N, {self.cin}, K), got {tuple(features.shape)}")
        n, _, k = features.shape
        if keypoints.dim() != 3 or keypoints.shape[:2] != (n, k) or keypoints.shape[-1] < 2:
            raise InputError(f"keypoints must be (N, K, 2) = {(n, k, 2)}, got {tuple(keypoints.shape)}")
        if confidence.shape != (n, k):
            raise InputError(f"confidence must be (N, K) = {(n, k)}, got {tuple(confidence.shape)}")
        extra = torch.cat((keypoints[..., :2], confidence[..., None]), dim=-1).transpose(1, 2).to(features.dtype)
        return self.proj(torch.cat((features, extra), dim=1))
