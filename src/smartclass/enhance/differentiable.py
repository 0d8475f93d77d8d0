"""Differentiable (PyTorch) twins of the guided filters and of paper 002's multi-scale weighted guided
Retinex (§3.2, eqs. 1–2), for end-to-end training where the enhancement loss reaches the filter inputs.

They follow :mod:`smartclass.enhance.guided` and :mod:`smartclass.enhance.retinex` op for op — box means with
reflected borders (OpenCV ``BORDER_REFLECT``, numpy ``'symmetric'``), Sobel gradients with replicated
borders, block-mean downsampling and bilinear (half-pixel) upsampling in the fast guided filter — so that the
numpy and torch paths agree to float rounding. Tensors are ``(N, C, H, W)`` on any device; nothing here
chooses a device. Square roots and powers get a small floor so that their gradients stay finite.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from smartclass.enhance.retinex import _TINY, GAMMA_MIN
from smartclass.errors import InputError


def _symmetric_pad(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Pad ``r`` samples on both sides of ``dim`` like OpenCV's ``BORDER_REFLECT`` (…cba|abc…|cba…),
    repeating the reflection for pads longer than the image."""
    n = x.shape[dim]
    if r < n:
        return torch.cat([x.narrow(dim, 0, r).flip(dim), x, x.narrow(dim, n - r, r).flip(dim)], dim)
    i = torch.arange(-r, n + r, device=x.device) % (2 * n)
    return x.index_select(dim, torch.where(i >= n, 2 * n - 1 - i, i))


def _box_1d(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    # running sums: O(1) per pixel whatever r; centring each line on its mean keeps float32 sums exact enough
    k = 2 * r + 1
    m = x.mean(dim, keepdim=True)
    c = _symmetric_pad(x - m, r, dim).cumsum(dim)
    c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim)
    n = x.shape[dim]
    return (c.narrow(dim, k, n) - c.narrow(dim, 0, n)) / k + m


def box_filter_t(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the ``(2r+1)²`` window with reflected borders, like :func:`~smartclass.enhance.guided.box_mean`.
    ``(N, C, H, W)`` → ``(N, C, H, W)``; separable running sums, O(1) per pixel."""
    if r < 1:
        raise InputError(f"r must be >= 1, got {r}")
    return _box_1d(_box_1d(x, r, -1), r, -2)


def _check_pair(guide: torch.Tensor, src: torch.Tensor, r: int) -> None:
    if guide.ndim != 4 or guide.shape != src.shape:
        raise InputError(f"guide and src must be (N, C, H, W) of equal shapes, got {tuple(guide.shape)} "
                         f"and {tuple(src.shape)}")
    if r < 1:
        raise InputError(f"r must be >= 1, got {r}")


def _dynamic_range(g: torch.Tensor) -> torch.Tensor:
    return (g.amax(dim=(-2, -1), keepdim=True) - g.amin(dim=(-2, -1), keepdim=True)).clamp_min(1e-6)


def edge_aware_weight_t(guide: torch.Tensor, dynamic_range: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Li et al.'s Γ_G from 3×3 variances, ε = (0.001·L)², per image and channel (mean over H, W)."""
    mu = box_filter_t(guide, 1)
    var = (box_filter_t(guide * guide, 1) - mu * mu).clamp_min(0)
    ve = var + (0.001 * dynamic_range) ** 2
    return ve * (1.0 / ve).mean(dim=(-2, -1), keepdim=True)


def _wgf_coefficients_t(g: torch.Tensor, p: torch.Tensor, r: int, eps: torch.Tensor | float,
                        gamma: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    if gamma is None:
        gamma = edge_aware_weight_t(g, _dynamic_range(g))
    mean_i, mean_p = box_filter_t(g, r), box_filter_t(p, r)
    var_i = box_filter_t(g * g, r) - mean_i * mean_i
    cov_ip = box_filter_t(g * p, r) - mean_i * mean_p
    a = cov_ip / (var_i + eps / gamma)
    b = mean_p - a * mean_i
    return box_filter_t(a, r), box_filter_t(b, r)


def weighted_guided_filter_t(guide: torch.Tensor, src: torch.Tensor, r: int, eps: torch.Tensor | float,
                             gamma: torch.Tensor | None = None) -> torch.Tensor:
    """Li's weighted guided filter per channel: ``(N, C, H, W)`` guide and src → ``(N, C, H, W)``.
    ``gamma`` defaults to :func:`edge_aware_weight_t` of the guide; ``eps`` may be a tensor broadcastable to
    ``(N, C, 1, 1)``."""
    _check_pair(guide, src, r)
    mean_a, mean_b = _wgf_coefficients_t(guide, src, r, eps, gamma)
    return mean_a * guide + mean_b


def guided_filter_t(guide: torch.Tensor, src: torch.Tensor, r: int, eps: torch.Tensor | float) -> torch.Tensor:
    """He's guided filter per channel (Γ ≡ 1)."""
    return weighted_guided_filter_t(guide, src, r, eps, gamma=torch.ones_like(guide))


def fast_weighted_guided_filter_t(guide: torch.Tensor, src: torch.Tensor, r: int, eps: torch.Tensor | float,
                                  scale: int) -> torch.Tensor:
    """Twin of :func:`smartclass.enhance.retinex.fast_weighted_guided_filter`: coefficients on block means
    of a bottom/right edge-padded image, bilinearly upsampled (half-pixel centres)."""
    _check_pair(guide, src, r)
    if scale < 1:
        raise InputError(f"scale must be >= 1, got {scale}")
    if scale == 1:
        return weighted_guided_filter_t(guide, src, r, eps)
    h, w = guide.shape[-2:]
    ph, pw = (-h) % scale, (-w) % scale

    def down(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x, scale)

    g_lo = down(guide)
    p_lo = g_lo if src is guide else down(src)
    mean_a, mean_b = _wgf_coefficients_t(g_lo, p_lo, max(1, round(r / scale)), eps, None)
    ab = F.interpolate(torch.cat([mean_a, mean_b], 1), size=(h + ph, w + pw), mode="bilinear",
                       align_corners=False)[..., :h, :w]
    c = guide.shape[1]
    return ab[:, :c] * guide + ab[:, c:]


def _sobel_magnitude_t(g: torch.Tensor) -> torch.Tensor:
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=g.dtype, device=g.device)
    k = torch.stack([kx, kx.T])[:, None]  # (2, 1, 3, 3): d/dx, d/dy
    d = F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), k)
    return torch.sqrt((d * d).sum(1, keepdim=True) + 1e-12)


def _minmax_t(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin(dim=(-2, -1), keepdim=True)
    return (x - lo) / (x.amax(dim=(-2, -1), keepdim=True) - lo).clamp_min(1e-6)


def _relative_eps_t(v: torch.Tensor, eps: float) -> torch.Tensor:
    rng = (v.amax(dim=(-2, -1), keepdim=True) - v.amin(dim=(-2, -1), keepdim=True)).clamp_min(1 / 255)
    return eps * rng * rng


def multiscale_weighted_guided_retinex_t(rgb: torch.Tensor, *, large_radius: int | None = None,
                                         small_radius: int = 4, eps_large: float = 1e-2, eps_small: float = 1e-3,
                                         lambda1: float = 0.5, lambda2: float = 0.5, scale: int = 4,
                                         target_mean: float = 0.5, gamma: float | None = None,
                                         reflect_eps: float = 0.01, denoise_radius: int = 2,
                                         denoise_eps: float = 2.5e-4) -> torch.Tensor:
    """Paper 002's enhancement (eqs. 1–2), differentiable: ``(N, 3, H, W)`` float in [0, 1] →
    ``(N, 3, H, W)`` in [0, 1]. Parameters and steps as in
    :func:`smartclass.enhance.retinex.multiscale_weighted_guided_retinex`; γ and ε are chosen per image."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InputError(f"rgb must be (N, 3, H, W), got shape {tuple(rgb.shape)}")
    if not rgb.is_floating_point():
        raise InputError(f"rgb must be a float tensor in [0, 1], got dtype {rgb.dtype}")
    if small_radius < 1 or (large_radius is not None and large_radius < 1):
        raise InputError(f"small_radius and large_radius must be >= 1, got {small_radius} and {large_radius}")
    h, w = rgb.shape[-2:]
    x = rgb.clamp(0, 1)
    v = x.amax(dim=1, keepdim=True)
    if large_radius is None:
        large_radius = max(1, min(h, w) // 8)
    # steps 2-4: global and local illumination fused by eq. 2
    large = fast_weighted_guided_filter_t(v, v, large_radius, _relative_eps_t(v, eps_large), scale)
    r = small_radius
    mean_i = box_filter_t(v, r)
    var_i = box_filter_t(v * v, r) - mean_i * mean_i
    a = var_i / (var_i + _relative_eps_t(v, eps_small) / edge_aware_weight_t(v, _dynamic_range(v)))
    small = box_filter_t(a, r) * v + box_filter_t(mean_i - a * mean_i, r)
    texture = torch.sqrt(var_i.clamp_min(0) + 1e-12)
    omega = (lambda1 * _minmax_t(_sobel_magnitude_t(v)) + lambda2 * _minmax_t(texture)).clamp(0, 1)
    L = (large + omega * (small - large)).clamp(_TINY, 1)
    # step 5: R = I/(L + ε) re-lit by L^γ
    if gamma is None:
        m = L.mean(dim=(-2, -1), keepdim=True).clamp(_TINY, 1 - _TINY)
        g = (math.log(target_mean) / torch.log(m)).clamp(GAMMA_MIN, 1.0)
    else:
        g = torch.full_like(L[..., :1, :1], float(gamma))
    gain = (L.pow(g) + reflect_eps) / (L + reflect_eps)
    out = x * gain
    # step 6: edge-preserving denoising, per channel, ε_d = denoise_eps·g² per pixel
    if denoise_radius > 0:
        out = guided_filter_t(out, out, denoise_radius, denoise_eps * gain * gain)
    return out.clamp(0, 1)
