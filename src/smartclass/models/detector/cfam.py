"""Feature fusion of paper 000 §2.4 (eqs. 10–16): CFAM in parallel with the dual-attention module, summed.

Step 1 stacks the modality features into one map ``D`` ``(N, C, H, W)`` (the callers do this, see
:mod:`.detector` and :mod:`.realframe`). Then:

- :class:`CFAM` (YOWO's channel fusion and attention module): 1×1 conv → BN → ReLU → 3×3 conv (→ BN → ReLU)
  gives ``G`` (step 2); :class:`GramChannelAttention` reshapes ``G`` to ``F`` ``(N, C, H·W)`` (step 3),
  computes the Gram matrix ``ρ = F·Fᵀ`` (eqs. 10–11), the channel-attention map ``O = softmax(ρ)`` (eqs.
  12–14; implemented as DANet/YOWO do, ``softmax(max(ρ) − ρ)`` row-wise, which is numerically safe),
  ``F′ = O·F`` (eq. 15) reshaped to ``F″`` and ``ξ = γ·F″ + F`` with ``γ`` learnt from 0 (eq. 16); two more
  convolutions (3×3 → BN → ReLU, then 1×1) give the fused map ``ε`` (step 5).
- :class:`DualAttention` (the paper's CFDAM, after DANet): a shared 1×1 conv → BN → ReLU, then in parallel
  :class:`PositionAttention` (query/key 1×1 to C/8, value 1×1 to C, softmax over positions, ``γ`` from 0)
  and :class:`GramChannelAttention`, each followed by 3×3 conv → BN → ReLU, summed, then a 1×1 conv.
- :class:`CFAMDualFusion`: ``CFAM(D) + DualAttention(D)`` ("the two fused maps are superimposed").

All blocks keep ``(H, W)``; with every ``γ = 0`` the attention blocks are the identity.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    """``k×k`` conv (same padding, no bias) → BN → ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class GramChannelAttention(nn.Module):
    """Eqs. 10–16: ``(N, C, H, W)`` → ``(N, C, H, W)``, ``ξ = γ·reshape(softmax(max ρ − ρ)·F) + F``, ``ρ = F·Fᵀ``."""

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The channel-attention map ``O`` ``(N, C, C)``; rows sum to 1."""
        f = x.flatten(2)  # F: (N, C, H·W)
        energy = torch.bmm(f, f.transpose(1, 2))  # ρ = F·Fᵀ (eqs. 10–11)
        return torch.softmax(energy.amax(-1, keepdim=True) - energy, -1)  # eqs. 12–14

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.bmm(self.attention(x), x.flatten(2)).view_as(x)  # F′ = O·F (eq. 15), reshaped to F″
        return self.gamma * out + x  # eq. 16


class PositionAttention(nn.Module):
    """DANet's position attention: ``(N, C, H, W)`` → same; ``S = softmax_j(q_iᵀ k_j)`` over the ``H·W``
    positions, ``out_i = Σ_j S_ij v_j``, ``γ·out + x`` with ``γ`` from 0. ``C`` must be at least 8."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, H·W, H·W)``, rows sum to 1."""
        q = self.query(x).flatten(2).transpose(1, 2)  # (N, HW, C/8)
        k = self.key(x).flatten(2)  # (N, C/8, HW)
        return torch.softmax(torch.bmm(q, k), -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.value(x).flatten(2)  # (N, C, HW)
        out = torch.bmm(v, self.attention(x).transpose(1, 2)).view_as(x)
        return self.gamma * out + x


class CFAM(nn.Module):
    """CFAM (steps 2–5): ``(N, Cin, H, W)`` → ``(N, Cout, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 256) -> None:
        super().__init__()
        self.reduce = nn.Sequential(conv_bn_relu(in_channels, inter_channels, 1), conv_bn_relu(inter_channels, inter_channels, 3))
        self.attention = GramChannelAttention()
        self.out = nn.Sequential(conv_bn_relu(inter_channels, inter_channels, 3), nn.Conv2d(inter_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.attention(self.reduce(x)))


class DualAttention(nn.Module):
    """CFDAM (DANet head): position and channel attention in parallel on a shared reduction, summed;
    ``(N, Cin, H, W)`` → ``(N, Cout, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 256) -> None:
        super().__init__()
        self.reduce_p = conv_bn_relu(in_channels, inter_channels, 1)
        self.reduce_c = conv_bn_relu(in_channels, inter_channels, 1)
        self.position = PositionAttention(inter_channels)
        self.channel = GramChannelAttention()
        self.conv_p = conv_bn_relu(inter_channels, inter_channels, 3)
        self.conv_c = conv_bn_relu(inter_channels, inter_channels, 3)
        self.out = nn.Conv2d(inter_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.conv_p(self.position(self.reduce_p(x)))
        c = self.conv_c(self.channel(self.reduce_c(x)))
        return self.out(p + c)


class CFAMDualFusion(nn.Module):
    """§2.4's fusion: ``CFAM(D) + DualAttention(D)``, ``(N, Cin, H, W)`` → ``(N, Cout, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, inter_channels: int = 256) -> None:
        super().__init__()
        self.cfam = CFAM(in_channels, out_channels, inter_channels)
        self.dual = DualAttention(in_channels, out_channels, inter_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cfam(x) + self.dual(x)
