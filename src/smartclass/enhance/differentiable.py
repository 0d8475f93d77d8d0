"""Differentiable (PyTorch) twins of the guided filters and of paper 002's multi-scale weighted guided
Retinex (§3.2, eqs. 1–2), for end-to-end training where the enhancement loss reaches the filter inputs.

They follow :mod:`smartclass.enhance.guided` and :mod:`smartclass.enhance.retinex` op for op — box means with
reflected borders (OpenCV ``BORDER_REFLECT``, numpy ``'symmetric'``), Sobel gradients with replicated
borders, block-mean downsampling and bilinear (half-pixel) upsampling in the fast guided filter — so that the
numpy and torch paths agree to float rounding. Tensors are ``(N, C, H, W)`` on any device; nothing here
chooses a device. Square roots and powers get a small floor so that their gradients stay finite.

:func:`illumination_gate` decides how much of the enhancement a frame gets from its measured illumination;
it is shared by the classic pipeline (numpy frames) and the model's differentiable path (tensors).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from smartclass.enhance.config import FRAME_GATE  # whole frames' gate thresholds, defined with the settings
from smartclass.enhance.retinex import _EPS_FLOOR, _TINY, DEFAULT_GAMMA, DENOISE_K, EXPOSURE_STEP, MAX_EXPOSURE
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


def estimate_noise_t(rgb: torch.Tensor) -> torch.Tensor:
    """Twin of :func:`smartclass.enhance.retinex.estimate_noise`: Immerkær's σ of the grey level per image,
    ``(N, 3, H, W)`` → ``(N, 1, 1, 1)`` (no gradient: it sets the filter strength, like a parameter)."""
    with torch.no_grad():
        w = torch.tensor([0.299, 0.587, 0.114], dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
        grey = (rgb * w).sum(1, keepdim=True)
        h, wd = grey.shape[-2:]
        if h < 3 or wd < 3:
            return torch.zeros_like(grey[..., :1, :1])
        k = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], dtype=rgb.dtype,
                         device=rgb.device).view(1, 1, 3, 3)
        r = F.conv2d(grey, k).abs().sum(dim=(-2, -1), keepdim=True)
        return r * (math.sqrt(math.pi / 2) / (6.0 * (wd - 2) * (h - 2)))


def _down_t(x: torch.Tensor, s: int) -> torch.Tensor:
    if s == 1:
        return x
    h, w = x.shape[-2:]
    ph, pw = (-h) % s, (-w) % s
    return F.avg_pool2d(F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x, s)


def _up_t(x: torch.Tensor, s: int, size: tuple[int, int]) -> torch.Tensor:
    if s == 1:
        return x
    lo_h, lo_w = x.shape[-2:]
    return F.interpolate(x, size=(lo_h * s, lo_w * s), mode="bilinear", align_corners=False)[..., : size[0], : size[1]]


def exposure_gain_t(x: torch.Tensor, base_gain: torch.Tensor, target_mean: float | None,
                    step: int = EXPOSURE_STEP) -> torch.Tensor:
    """Twin of :func:`smartclass.enhance.retinex.exposure_gain`, per image: ``(N, 3, h, w)`` and
    ``(N, 1, h, w)`` → ``(N, 1, 1, 1)`` (no gradient)."""
    if target_mean is None:
        return torch.ones_like(base_gain[..., :1, :1])
    with torch.no_grad():
        o = step // 2
        y = x[..., o::step, o::step] * base_gain[..., o::step, o::step]
        dims = (-3, -2, -1)
        t = x[..., o::step, o::step].mean(dim=dims, keepdim=True).clamp_min(float(target_mean))
        m = y.mean(dim=dims, keepdim=True)
        k = torch.where(m > _TINY, t / m.clamp_min(_TINY), torch.full_like(m, MAX_EXPOSURE))
        for _ in range(3):
            m = (y * k).clamp(0, 1).mean(dim=dims, keepdim=True)
            todo = (m < t * (1 - 1e-3)) & (k < MAX_EXPOSURE)
            if not todo.any():
                break
            k = torch.where(todo, k * t / m.clamp_min(_TINY), k)
        return k.clamp(1.0, MAX_EXPOSURE)


def multiscale_weighted_guided_retinex_t(rgb: torch.Tensor, *, large_radius: int | None = None,
                                         small_radius: int = 4, eps_large: float = 1e-2, eps_small: float = 1e-3,
                                         lambda1: float = 0.5, lambda2: float = 0.5, scale: int = 4,
                                         target_mean: float | None = 0.5, gamma: float = DEFAULT_GAMMA,
                                         reflect_eps: float = 0.01, denoise_radius: int = 2,
                                         denoise_eps: float | None = None, denoise_k: float = DENOISE_K,
                                         work_scale: int = 2) -> torch.Tensor:
    """Paper 002's enhancement (eqs. 1–2), differentiable: ``(N, 3, H, W)`` float in [0, 1] →
    ``(N, 3, H, W)`` in [0, 1]. Parameters and steps as in
    :func:`smartclass.enhance.retinex.multiscale_weighted_guided_retinex`; the exposure ``k``, the noise level
    and ε are chosen per image (and carry no gradient)."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InputError(f"rgb must be (N, 3, H, W), got shape {tuple(rgb.shape)}")
    if not rgb.is_floating_point():
        raise InputError(f"rgb must be a float tensor in [0, 1], got dtype {rgb.dtype}")
    if small_radius < 1 or (large_radius is not None and large_radius < 1):
        raise InputError(f"small_radius and large_radius must be >= 1, got {small_radius} and {large_radius}")
    if work_scale < 1 or not gamma > 0 or denoise_radius < 0:
        raise InputError(f"work_scale must be >= 1, gamma > 0 and denoise_radius >= 0, got {work_scale}, "
                         f"{gamma} and {denoise_radius}")
    h, w = rgb.shape[-2:]
    s = work_scale
    x = rgb.clamp(0, 1)
    x_lo = _down_t(x, s)
    v = x_lo.amax(dim=1, keepdim=True)
    if large_radius is None:
        large_radius = max(1, min(h, w) // 8)
    # steps 2-4 on the work grid: global and local illumination fused by eq. 2
    large = fast_weighted_guided_filter_t(v, v, max(1, round(large_radius / s)), _relative_eps_t(v, eps_large),
                                          max(1, round(scale / s)))
    r = max(1, round(small_radius / s))
    mean_i = box_filter_t(v, r)
    var_i = box_filter_t(v * v, r) - mean_i * mean_i
    a = var_i / (var_i + _relative_eps_t(v, eps_small) / edge_aware_weight_t(v, _dynamic_range(v)))
    small = box_filter_t(a, r) * v + box_filter_t(mean_i - a * mean_i, r)
    texture = torch.sqrt(var_i.clamp_min(0) + 1e-12)
    omega = (lambda1 * _minmax_t(_sobel_magnitude_t(v)) + lambda2 * _minmax_t(texture)).clamp(0, 1)
    L = (large + omega * (small - large)).clamp(_TINY, 1)
    # step 5: R = I/(L + ε) re-lit by k·L^γ
    gain = (L.pow(gamma) + reflect_eps) / (L + reflect_eps)
    gain = gain * exposure_gain_t(x_lo, gain, target_mean)
    if denoise_radius == 0:
        return (x * _up_t(gain, s, (h, w))).clamp(0, 1)
    # step 6: guided filter of y = g·I by itself, per channel, ε_d = eps·g²; coefficients on the work grid
    if denoise_eps is None:
        eps = (denoise_k * estimate_noise_t(x) / s) ** 2
    else:
        eps = torch.full_like(gain[..., :1, :1], float(denoise_eps) / (s * s))
    eps = eps.clamp_min(_EPS_FLOOR)
    rd = max(1, round(denoise_radius / s))
    y = x_lo * gain
    mean = box_filter_t(y, rd)
    var = (box_filter_t(y * y, rd) - mean * mean).clamp_min(0)
    a = var / (var + eps * gain * gain)
    b = mean * (1 - a)
    out = _up_t(box_filter_t(a, rd) * gain, s, (h, w)) * x + _up_t(box_filter_t(b, rd), s, (h, w))
    return out.clamp(0, 1)


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights
CROP_GATE = (0.20, 0.30)
"""``(dark, bright)`` for the recogniser's per-student crops, which are darker than whole frames (hair, clothes,
no bright walls): low-light crops have a mean luma of at most 0.28 (train) / 0.24 (test), 95 % of normal ones at
least 0.32 (test: all ≥ 0.35; the darkest train crop, 0.27, gets a little enhancement). Brightness alone
cannot always tell the two apart: in a larger sample a few gained-up low-light crops reached 0.45 and are then
left as they are."""
CROP_TARGET_MEAN = 0.4
"""Exposure target of :func:`crop_enhancement`: the clean per-student crops' mean level (0.31–0.50 luma on the
train split) lies below the whole frame's mid-grey; chosen on the *val* split (64 px crops, generator version 2),
where re-lighting low-light crops to 0.35 / 0.4 / 0.45 / 0.5 gave 20.6 / 22.2 / 21.0 / 18.3 dB (``benchmarks/enhance.py`` reports the test split)."""


def luma_statistic(rgb: torch.Tensor, percentile: float | None = None) -> torch.Tensor:
    """Measured illumination of frames ``(N, 3, H, W)`` in [0, 1] → ``(N, 1, 1, 1)``: the mean BT.601 luma, or,
    with ``percentile`` q in (0, 100), the mean of the mean and the q-th percentile (a bright-region level,
    less fooled by dark clothes). Differentiable (the percentile through ``torch.quantile``'s selection)."""
    y = (rgb * rgb.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1).flatten(1)  # (N, H·W)
    s = y.mean(1)
    if percentile is not None:
        s = 0.5 * (s + torch.quantile(y, percentile / 100.0, dim=1))
    return s.view(-1, 1, 1, 1)


def smoothstep_gate(s, dark: float, bright: float):
    """The gate of a measured illumination ``s`` (a float or a tensor): ``u = clip((bright − s)/(bright − dark),
    0, 1)``, ``g = u²(3 − 2u)``: 1 at or below ``dark``, 0 at or above ``bright``."""
    u = (bright - s) / (bright - dark)
    u = u.clamp(0, 1) if isinstance(u, torch.Tensor) else min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def illumination_gate(rgb, dark: float = FRAME_GATE[0], bright: float = FRAME_GATE[1],
                      percentile: float | None = None):
    """How much enhancement a frame should get, from its measured illumination ``s``
    (:func:`luma_statistic`): ``g = smoothstep(u)``, ``u = clip((bright − s)/(bright − dark), 0, 1)``,
    ``smoothstep(u) = u²(3 − 2u)``. ``g = 1`` at or below ``dark``, ``g = 0`` at or above ``bright`` (a well-lit
    frame is passed through unchanged, exactly), smooth (C¹) and differentiable in between.

    The gated enhancement is ``I + g·(E(I) − I)`` (:func:`gated_enhancement`). ``rgb``: a tensor
    ``(N, 3, H, W)`` in [0, 1] → ``(N, 1, 1, 1)`` gates (the model's path), or one numpy ``(H, W, 3)`` frame,
    uint8 or float in [0, 1] → a float (the classic pipeline's path)."""
    if not 0 <= dark < bright <= 1:
        raise InputError(f"illumination gate thresholds must satisfy 0 <= dark < bright <= 1, got {dark} and {bright}")
    if percentile is not None and not 0 < percentile < 100:
        raise InputError(f"percentile must be in (0, 100), got {percentile}")
    if isinstance(rgb, np.ndarray):
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        x = x.float() / 255.0 if rgb.dtype == np.uint8 else x.float()
        return float(illumination_gate(x, dark, bright, percentile))
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InputError(f"rgb must be (N, 3, H, W), got shape {tuple(rgb.shape)}")
    return smoothstep_gate(luma_statistic(rgb, percentile), dark, bright)


def gated_enhancement(rgb: torch.Tensor, enhanced: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``I + g·(E(I) − I)``: ``rgb`` and ``enhanced`` ``(N, 3, H, W)``, ``gate`` ``(N, 1, 1, 1)`` from
    :func:`illumination_gate`; exactly ``rgb`` where ``g = 0``."""
    return rgb + gate * (enhanced - rgb)


def crop_enhancement(crops: torch.Tensor, lambda1: torch.Tensor | float = 0.5, lambda2: torch.Tensor | float = 0.5,
                     gamma: torch.Tensor | float = DEFAULT_GAMMA, gate: bool = True) -> torch.Tensor:
    """The recogniser's enhancement of per-student crops ``(N, 3, S, S)`` in [0, 1] → ``(N, 3, S, S)``:
    :func:`multiscale_weighted_guided_retinex_t` with the large radius ``S/8``; with ``gate`` (the calibrated
    path) re-lit to :data:`CROP_TARGET_MEAN` and gated by :func:`illumination_gate` with :data:`CROP_GATE`,
    so a well-lit crop is returned unchanged. ``gate=False`` is the uncalibrated path the first shipped
    checkpoint was trained with (exposure target 0.5, always on). λ1, λ2 (eq. 2) and γ may be tensors."""
    target = CROP_TARGET_MEAN if gate else 0.5
    out = multiscale_weighted_guided_retinex_t(crops, large_radius=max(1, min(crops.shape[-2:]) // 8),
                                               lambda1=lambda1, lambda2=lambda2, gamma=gamma, target_mean=target)
    return gated_enhancement(crops, out, illumination_gate(crops, *CROP_GATE)) if gate else out
