"""Recognition loss of paper 002 eq. 16: class-weighted cross-entropy, with the focal factor.

``L = −w_y · (1 − p_y)^γ · log p_y`` per sample (Lin et al. 2017 focal loss with per-class weights ``w``); with
``γ = 0`` it is eq. 16's weighted cross-entropy. ``reduction='mean'`` divides by the sum of the weights of
the samples' classes, ``Σ_i w_{y_i}``, exactly as ``F.cross_entropy(weight=w)`` does, so that ``γ = 0``
reproduces it for every reduction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError

REDUCTIONS = ("mean", "sum", "none")


def class_weights_from_counts(counts: Sequence[float] | np.ndarray | torch.Tensor) -> torch.Tensor:
    """Inverse-frequency class weights ``w_c ∝ 1 / n_c``, normalised to mean 1 over the classes that occur.

    ``counts`` ``(C,)`` non-negative. A class with zero count gets weight 0 (it cannot occur in the loss of
    the data the counts came from; an infinite weight would break the normalisation). Returns ``(C,)``
    float32. Minority classes (e.g. hand-raising) get the larger weights.
    """
    c = torch.as_tensor(np.asarray(counts, dtype=np.float64) if not torch.is_tensor(counts) else counts,
                        dtype=torch.float64)
    if c.dim() != 1 or c.numel() == 0:
        raise InputError(f"counts must be a non-empty (C,) vector, got shape {tuple(c.shape)}")
    if torch.any(c < 0) or not torch.all(torch.isfinite(c)):
        raise InputError("counts must be finite and non-negative")
    present = c > 0
    if not present.any():
        raise InputError("counts are all zero: no class occurs")
    w = torch.where(present, 1.0 / c.clamp(min=1e-12), torch.zeros_like(c))
    w = w / w[present].mean()
    return w.float()


class FocalLoss(nn.Module):
    """Weighted focal loss (eq. 16 with ``gamma = 0``).

    ``forward(logits (N, C), target (N,) int64)`` → scalar (``'mean'``, ``'sum'``) or ``(N,)`` (``'none'``).
    ``weight`` ``(C,)`` class weights (e.g. :func:`class_weights_from_counts`), registered as a buffer.
    """

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__()
        if gamma < 0:
            raise InputError(f"gamma must be ≥ 0, got {gamma}")
        if reduction not in REDUCTIONS:
            raise InputError(f"reduction must be one of {REDUCTIONS}, got '{reduction}'")
        self.gamma, self.reduction = gamma, reduction
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2:
            raise InputError(f"logits must be (N, C), got {tuple(logits.shape)}")
        n, c = logits.shape
        if target.shape != (n,):
            raise InputError(f"target must be (N,) = ({n},) class indices, got {tuple(target.shape)}")
        if self.weight is not None and self.weight.shape != (c,):
            raise InputError(f"weight must be (C,) = ({c},), got {tuple(self.weight.shape)}")
        logp = F.log_softmax(logits, dim=1).gather(1, target[:, None].long())[:, 0]
        loss = -logp
        if self.gamma > 0:
            loss = loss * (1 - logp.exp()).clamp(min=0).pow(self.gamma)
        w = self.weight[target].to(loss.dtype) if self.weight is not None else torch.ones_like(loss)
        loss = loss * w
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        return loss.sum() / w.sum()
