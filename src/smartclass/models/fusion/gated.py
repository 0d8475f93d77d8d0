"""Gated adaptive fusion of paper 002 eq. 5: ``F_fusion = α·F_RGB + β·F_D-mod + γ·F_T-mod``.

The gates are per sample: a linear layer maps the globally average-pooled features of the three inputs
(``3C`` values, zeros for a missing modality) plus three presence flags to three logits ``g``; each gate is
``sigmoid(g_k)``, a missing modality's gate is set to exactly 0, and the gates are divided by their sum, so
``α + β + γ = 1`` with each weight in ``[0, 1]``. Per-sample gates let the mix follow the scene (a dark
frame can lean on thermal) where global scalars could not. The layer starts at zero, i.e. equal weights.
RGB is always present, so the sum is never zero; with RGB alone ``α = 1`` and the output is ``F_RGB``.
``present`` ``(N, 2)`` (depth, thermal) marks, per sample, sources that are missing although their maps are
given (modality dropout in a mixed batch): those samples get exactly zero weight for them, the others not.
"""

from __future__ import annotations

import torch
from torch import nn

from smartclass.errors import InputError


class GatedFusion(nn.Module):
    """Eq. 5 with per-sample sigmoid gates normalised to sum to 1.

    ``forward(f_rgb, f_depth=None, f_thermal=None)``: ``(N, C, H, W)`` maps (None for a missing modality);
    returns ``(fused (N, C, H, W), weights (N, 3))`` with weights ordered ``(α_RGB, β_depth, γ_thermal)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.gate = nn.Linear(3 * channels + 3, 3)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def forward(
        self, f_rgb: torch.Tensor, f_depth: torch.Tensor | None = None, f_thermal: torch.Tensor | None = None,
        present: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if f_rgb.dim() != 4 or f_rgb.shape[1] != self.channels:
            raise InputError(f"f_rgb must be (N, {self.channels}, H, W), got {tuple(f_rgb.shape)}")
        for name, f in (("f_depth", f_depth), ("f_thermal", f_thermal)):
            if f is not None and f.shape != f_rgb.shape:
                raise InputError(f"{name} must have the shape of f_rgb {tuple(f_rgb.shape)}, got {tuple(f.shape)}")
        n = f_rgb.shape[0]
        feats = (f_rgb, f_depth, f_thermal)
        pooled = [f.mean((2, 3)) if f is not None else f_rgb.new_zeros(n, self.channels) for f in feats]
        flags = f_rgb.new_tensor([f is not None for f in feats]).expand(n, 3)
        if present is not None:
            if present.shape != (n, 2):
                raise InputError(f"present must be (N, 2) = ({n}, 2) (depth, thermal), got {tuple(present.shape)}")
            flags = flags * torch.cat([torch.ones_like(present[:, :1]), present], 1).to(f_rgb.dtype)
            pooled = [p * flags[:, i:i + 1] for i, p in enumerate(pooled)]
        s = torch.sigmoid(self.gate(torch.cat(pooled + [flags], dim=1))) * flags
        weights = s / s.sum(1, keepdim=True)
        fused = weights[:, 0, None, None, None] * f_rgb
        for i, f in enumerate(feats[1:], start=1):
            if f is not None:
                fused = fused + weights[:, i, None, None, None] * f
        return fused, weights
