"""Guided filters in O(N) with box filters: He et al.'s guided filter and Li et al.'s weighted guided
image filter (IEEE TIP 2015), the building blocks of paper 002's multi-scale weighted guided filtering (§3.2).

Arrays are float32 ``(H, W)``; ``radius`` is the box radius r (window (2r+1)²); ``eps`` is in squared guide units.
"""

from __future__ import annotations

import cv2
import numpy as np

from smartclass.errors import InputError


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² window, borders reflected (normalised box filter)."""
    k = 2 * radius + 1
    return cv2.boxFilter(x, cv2.CV_32F, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT)


def _check(guide: np.ndarray, src: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(guide, dtype=np.float32)
    p = np.asarray(src, dtype=np.float32)
    if g.ndim != 2 or p.ndim != 2:
        raise InputError(f"guided filters take single-channel (H, W) images, got guide {g.shape} and src {p.shape}")
    if g.shape != p.shape:
        raise InputError(f"guide has shape {g.shape} but src has shape {p.shape}; expected equal shapes")
    if radius < 1:
        raise InputError(f"radius must be >= 1, got {radius}")
    return g, p


def edge_aware_weight(guide: np.ndarray, dynamic_range: float = 1.0) -> np.ndarray:
    """Li et al.'s Γ_G(p) = (1/N)·Σ_q (σ²_{G,1}(p) + ε) / (σ²_{G,1}(q) + ε), 3×3 variances,
    ε = (0.001·L)². Large on edges (Γ > 1), small in flat regions; its mean over the image is 1-ish."""
    g = np.asarray(guide, dtype=np.float32)
    mu = box_mean(g, 1)
    var = np.maximum(box_mean(g * g, 1) - mu * mu, 0)
    eps = (0.001 * dynamic_range) ** 2
    return ((var + eps) * np.mean(1.0 / (var + eps))).astype(np.float32)


def weighted_guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                           gamma: np.ndarray | None = None) -> np.ndarray:
    """q = mean(a)·I + mean(b) with a = cov(I, p) / (var(I) + ε/Γ), b = mean(p) − a·mean(I).

    ``gamma`` is the edge-aware weight Γ (default :func:`edge_aware_weight`); ``gamma`` ≡ 1 gives He's
    guided filter exactly."""
    g, p = _check(guide, src, radius)
    if gamma is None:
        gamma = edge_aware_weight(g, float(max(g.max() - g.min(), 1e-6)))
    mean_i, mean_p = box_mean(g, radius), box_mean(p, radius)
    var_i = box_mean(g * g, radius) - mean_i * mean_i
    cov_ip = box_mean(g * p, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps / np.asarray(gamma, dtype=np.float32))
    b = mean_p - a * mean_i
    return box_mean(a, radius) * g + box_mean(b, radius)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter: a = cov(I, p)/(var(I) + ε), b = mean(p) − a·mean(I), q = mean(a)·I + mean(b)."""
    g, _ = _check(guide, src, radius)
    return weighted_guided_filter(guide, src, radius, eps, gamma=np.ones_like(g))
