"""Parallel cross-modal attention of paper 002 eq. 4 (depth–RGB and thermal–RGB branches).

For one branch ``k ∈ {D, T}`` with RGB features ``F_RGB`` and aligned source features ``F_k``, both
``(N, C, H, W)``:

1. ``Q = W_q F_RGB`` and ``K = W_k F_k`` (1×1 convs to ``d = C / reduction`` channels), ``V = W_v F_k``
   (1×1 conv, ``C`` channels). With ``kv_stride = s > 1`` the source is average-pooled by ``s`` first, so
   keys and values live on an ``(H/s, W/s)`` grid and the cost drops by ``s²``.
2. Eq. 4: ``A_k = softmax(Q^T K / √d)`` over the source positions: ``A_k[n, i, j]`` is the weight RGB
   position ``i`` gives source position ``j``; each row sums to 1. ``d`` is the projected channel count.
3. ``M_k = V A_k^T`` gathers, for every RGB position, the source features it attends to (``(N, C, H, W)``).
   This attention output is L2-normalised over channels at each position and scaled by ``√C`` (unit RMS):
   ``M̂_k = √C · M_k / ‖M_k‖₂``.
4. The RGB features are modulated multiplicatively: ``F_k-mod = F_RGB ⊙ (1 + γ_k · M̂_k)`` with a learnable
   scalar ``γ_k`` initialised to 0 (as DANet's γ), so at initialisation ``F_k-mod = F_RGB`` and the fusion
   starts from the RGB stream.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError


class CrossModalAttention(nn.Module):
    """One cross-attention branch (eq. 4): queries from RGB, keys/values from depth or thermal.

    ``forward(f_rgb, f_src)``: both ``(N, C, H, W)``; returns the source-modulated RGB features
    ``(N, C, H, W)`` (see the module docstring for the exact formula).
    """

    def __init__(self, channels: int, reduction: int = 8, kv_stride: int = 1) -> None:
        super().__init__()
        if kv_stride < 1:
            raise InputError(f"kv_stride must be ≥ 1, got {kv_stride}")
        self.channels, self.kv_stride = channels, kv_stride
        self.d = max(channels // reduction, 1)
        self.query = nn.Conv2d(channels, self.d, 1)
        self.key = nn.Conv2d(channels, self.d, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def _check(self, f_rgb: torch.Tensor, f_src: torch.Tensor) -> None:
        if f_rgb.dim() != 4 or f_rgb.shape[1] != self.channels:
            raise InputError(f"f_rgb must be (N, {self.channels}, H, W), got {tuple(f_rgb.shape)}")
        if f_src.shape != f_rgb.shape:
            raise InputError(f"f_src must have the shape of f_rgb {tuple(f_rgb.shape)}, got {tuple(f_src.shape)}")

    def _pool(self, f_src: torch.Tensor) -> torch.Tensor:
        if self.kv_stride == 1:
            return f_src
        return F.avg_pool2d(f_src, self.kv_stride, ceil_mode=True)

    def attention(self, f_rgb: torch.Tensor, f_src: torch.Tensor) -> torch.Tensor:
        """Eq. 4 attention map ``A_k`` of shape ``(N, H·W, H_kv·W_kv)``; rows sum to 1."""
        self._check(f_rgb, f_src)
        n = f_rgb.shape[0]
        q = self.query(f_rgb).view(n, self.d, -1)  # (N, d, HW)
        k = self.key(self._pool(f_src)).view(n, self.d, -1)  # (N, d, HkWk)
        return torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(self.d), dim=-1)

    def forward(self, f_rgb: torch.Tensor, f_src: torch.Tensor) -> torch.Tensor:
        a = self.attention(f_rgb, f_src)
        n, c, h, w = f_rgb.shape
        v = self.value(self._pool(f_src)).view(n, c, -1)  # (N, C, HkWk)
        m = torch.bmm(v, a.transpose(1, 2)).view(n, c, h, w)
        m = F.normalize(m, dim=1) * math.sqrt(c)
        return f_rgb * (1 + self.gamma * m)


class ParallelCrossAttention(nn.Module):
    """Depth–RGB and thermal–RGB :class:`CrossModalAttention` branches in parallel (paper 002 §3.3).

    ``forward(f_rgb, f_depth=None, f_thermal=None)``: ``(N, C, H, W)`` maps; returns
    ``(F_D-mod, F_T-mod)``, each ``(N, C, H, W)``, or None where that modality is missing.
    """

    def __init__(self, channels: int, reduction: int = 8, kv_stride: int = 1) -> None:
        super().__init__()
        self.depth = CrossModalAttention(channels, reduction, kv_stride)
        self.thermal = CrossModalAttention(channels, reduction, kv_stride)

    def forward(
        self, f_rgb: torch.Tensor, f_depth: torch.Tensor | None = None, f_thermal: torch.Tensor | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        d_mod = self.depth(f_rgb, f_depth) if f_depth is not None else None
        t_mod = self.thermal(f_rgb, f_thermal) if f_thermal is not None else None
        return d_mod, t_mod
