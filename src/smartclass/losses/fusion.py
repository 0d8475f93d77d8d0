"""Fusion loss of paper 002 eqs. 14–15: ``L_fus = λ_mi·L_mi + λ_align·L_align``.

Eq. 14, :func:`mutual_information_loss`: ``L_mi = −Σ_k MI(F, S_k)`` over the present sources ``S_k`` (RGB,
depth, thermal), the fusion-metric reading of ``−MI(F_RGB, F_D, F_T)``. MI is estimated differentiably from
Parzen (Gaussian-kernel) soft histograms: each map is reduced to one channel (channel mean), resized to a
common grid, min–max scaled per sample (MI does not change under monotone rescaling) onto the span of the
bin centres ``[0.5/B, 1 − 0.5/B]`` and binned into ``B = bins`` bins with a kernel of ``sigma`` bin widths,
each pixel contributing unit mass. MI is in nats. Kernel smoothing makes the estimate lower than the
hard-histogram value: ``MI(X, X)`` reaches the 32-bin entropy ``H(X)`` only as ``sigma → 0`` (it is about 0.7·H
at the default 0.5). That is fine for a training signal, whose gradients need the overlap; report fusion quality with :func:`smartclass.metrics.fusion.mutual_information` (256-bin histograms).

Eq. 15, :func:`alignment_loss`: ``avg‖F_D − F_RGB‖² + avg‖F_T − F_RGB‖²`` between the RGB reference
features and the deformably aligned depth / thermal features; a missing modality's term is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError

DISTANCES = ("mse", "l1", "cosine")


def _to_unit_map(x: torch.Tensor, size: tuple[int, int], name: str) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(N, h·w)``: channel mean, area/bilinear resize to ``size``, per-sample min–max."""
    if x.dim() != 4:
        raise InputError(f"{name} must be (N, C, H, W), got {tuple(x.shape)}")
    m = x.mean(1, keepdim=True)
    if m.shape[-2:] != size:
        m = F.adaptive_avg_pool2d(m, size) if m.shape[-2] >= size[0] and m.shape[-1] >= size[1] else \
            F.interpolate(m, size=size, mode="bilinear", align_corners=False)
    m = m.flatten(1)
    lo, hi = m.amin(1, keepdim=True), m.amax(1, keepdim=True)
    return (m - lo) / (hi - lo).clamp(min=1e-8)


def soft_histogram(x: torch.Tensor, bins: int = 32, sigma: float = 0.5) -> torch.Tensor:
    """Parzen soft assignment of values ``x`` ``(N, P)`` in ``[0, 1]`` to ``bins`` bins centred at
    ``(b + 0.5)/bins``: Gaussian kernel of ``sigma`` bin widths, normalised per value. Returns ``(N, P, bins)``."""
    centres = (torch.arange(bins, device=x.device, dtype=x.dtype) + 0.5) / bins
    s = sigma / bins
    logits = -((x[..., None] - centres) ** 2) / (2 * s * s)
    return torch.softmax(logits, dim=-1)  # = exp(logits) / Σ exp(logits), without underflow


def mutual_information(x: torch.Tensor, y: torch.Tensor, bins: int = 32, sigma: float = 0.5) -> torch.Tensor:
    """Differentiable MI (nats) per sample between two ``(N, C, H, W)`` maps (channels averaged; ``y`` is
    resized to the spatial size of ``x``). Returns ``(N,)``."""
    if x.dim() != 4 or y.dim() != 4 or x.shape[0] != y.shape[0]:
        raise InputError(f"x and y must be (N, C, H, W) with the same N, got {tuple(x.shape)} and {tuple(y.shape)}")
    size = (x.shape[-2], x.shape[-1])
    # [0, 1] onto [first, last bin centre]: an image of `bins` evenly spaced levels lands on the centres
    kx = soft_histogram((_to_unit_map(x, size, "x") * (bins - 1) + 0.5) / bins, bins, sigma)
    ky = soft_histogram((_to_unit_map(y, size, "y") * (bins - 1) + 0.5) / bins, bins, sigma)
    pxy = torch.einsum("npa,npb->nab", kx, ky) / kx.shape[1]
    px, py = pxy.sum(2, keepdim=True), pxy.sum(1, keepdim=True)
    eps = 1e-10
    return (pxy * (torch.log(pxy + eps) - torch.log(px + eps) - torch.log(py + eps))).sum((1, 2))


def mutual_information_loss(fused: torch.Tensor, sources: Sequence[torch.Tensor | None], bins: int = 32,
                            sigma: float = 0.5, weights: Sequence[torch.Tensor | None] | None = None) -> torch.Tensor:
    """Eq. 14: ``−Σ_k MI(fused, S_k)`` averaged over the batch; None sources (missing modalities) are skipped.

    ``fused`` ``(N, C, h, w)`` (fused features or a fused image); each source ``(N, C_k, H, W)`` is brought to
    ``(h, w)``. Minimising it maximises the information the fused map keeps from every source. ``weights``
    (parallel to ``sources``; each ``(N,)`` or None for 1): per-sample weights, 0 where a sample lacks that
    source (modality dropout), so the fused map is not asked to carry what it was not given.
    """
    weights = list(weights) if weights is not None else [None] * len(sources)
    if len(weights) != len(sources):
        raise InputError(f"weights must be parallel to sources ({len(sources)}), got {len(weights)}")
    terms = [mutual_information(fused, s, bins, sigma) * (w.to(fused.dtype) if w is not None else 1)
             for s, w in zip(sources, weights) if s is not None]
    if not terms:
        raise InputError("sources must contain at least one tensor (all were None)")
    return -torch.stack(terms).sum(0).mean()


def _distance(a: torch.Tensor, b: torch.Tensor, distance: str, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean distance over samples (each sample's mean over its elements), weighted per sample by ``weight``
    ``(N,)`` (0 leaves a sample out; all 0 gives 0)."""
    if distance == "mse":
        d = (a - b).square().flatten(1).mean(1)
    elif distance == "l1":
        d = (a - b).abs().flatten(1).mean(1)
    else:
        d = (1 - F.cosine_similarity(a, b, dim=1)).flatten(1).mean(1)
    if weight is None:
        return d.mean()
    w = weight.to(d.dtype)
    return (d * w).sum() / w.sum().clamp_min(1)


def alignment_loss(f_rgb: torch.Tensor, f_depth: torch.Tensor | None = None, f_thermal: torch.Tensor | None = None,
                   distance: str = "mse", detach_reference: bool = True,
                   present: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 15: ``avg d(F_D, F_RGB) + avg d(F_T, F_RGB)`` over the present modalities (0 when none is).

    All maps ``(N, C, H, W)``. ``distance``: ``'mse'`` (eq. 15's squared L2, averaged over elements), ``'l1'``
    or ``'cosine'`` (``1 − cos`` over channels, averaged over positions; scale-free). With
    ``detach_reference`` (default) the RGB features are the fixed target, as RGB is the reference of the
    alignment: only the depth / thermal branches move, and the loss cannot be lowered by dragging the RGB
    features towards the weaker modalities. ``present`` ``(N, 2)`` (depth, thermal): samples without a
    modality (modality dropout) are left out of its term.
    """
    if distance not in DISTANCES:
        raise InputError(f"distance must be one of {DISTANCES}, got '{distance}'")
    if f_rgb.dim() != 4:
        raise InputError(f"f_rgb must be (N, C, H, W), got {tuple(f_rgb.shape)}")
    ref = f_rgb.detach() if detach_reference else f_rgb
    total = f_rgb.new_zeros(())
    for i, (name, f) in enumerate((("f_depth", f_depth), ("f_thermal", f_thermal))):
        if f is None:
            continue
        if f.shape != f_rgb.shape:
            raise InputError(f"{name} must have the shape of f_rgb {tuple(f_rgb.shape)}, got {tuple(f.shape)}")
        total = total + _distance(f, ref, distance, present[:, i] if present is not None else None)
    return total


class FusionLoss(nn.Module):
    """``L_fus = λ_mi·L_mi + λ_align·L_align`` (eqs. 14–15).

    ``forward(fused, sources, f_rgb, f_depth=None, f_thermal=None, present=None)``: ``fused`` ``(N, C, h, w)``;
    ``sources`` the input images ``(rgb, depth, thermal)`` with None for a missing one; then the RGB and
    aligned depth / thermal features (``DCANetOutput.rgb/.depth/.thermal``); ``present`` ``(N, 2)`` (depth,
    thermal; ``DCANetOutput.present``) leaves samples without a modality out of its terms. Returns a scalar.
    """

    def __init__(self, lambda_mi: float = 1.0, lambda_align: float = 1.0, bins: int = 32, sigma: float = 0.5,
                 distance: str = "mse") -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise InputError(f"distance must be one of {DISTANCES}, got '{distance}'")
        self.lambda_mi, self.lambda_align = lambda_mi, lambda_align
        self.bins, self.sigma, self.distance = bins, sigma, distance

    def forward(self, fused: torch.Tensor, sources: Sequence[torch.Tensor | None], f_rgb: torch.Tensor,
                f_depth: torch.Tensor | None = None, f_thermal: torch.Tensor | None = None,
                present: torch.Tensor | None = None) -> torch.Tensor:
        weights = None
        if present is not None:
            if len(sources) != 3:
                raise InputError(f"with present, sources must be (rgb, depth, thermal), got {len(sources)} sources")
            weights = [None, present[:, 0], present[:, 1]]
        mi = mutual_information_loss(fused, sources, self.bins, self.sigma, weights)
        align = alignment_loss(f_rgb, f_depth, f_thermal, self.distance, present=present)
        return self.lambda_mi * mi + self.lambda_align * align
