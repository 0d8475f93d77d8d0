"""Low-light RGB enhancement: paper 002's Retinex with multi-scale weighted guided filtering (§3.2, eqs. 1–2)
and the classic baselines it is compared with (gamma, CLAHE, MSR / MSRCR of Jobson et al. 1997, and the
single-scale guided-filter Retinex used as the ablation "without multi-scale weights").

Images are RGB ``(H, W, 3)``: ``uint8`` in [0, 255], or float in [0, 1]. Every function returns the kind it
was given (``uint8`` in, ``uint8`` out; float in, ``float32`` in [0, 1] out). Work is done in ``float32``.

The paper's method, step by step (all maps ``(H, W)`` ``float32``):

0. Work grid: steps 1–6 except the last multiply-add run on ``work_scale``-times smaller block means of
   the image (default 2): illumination, gain and denoising coefficients are smooth, so they are computed
   there and bilinearly upsampled — He & Sun's fast guided filter (2015) applied to the whole module.
   Radii are given in full-resolution pixels and divided by ``work_scale``.
1. Value channel ``V = max(R, G, B)``: the brightness that the illumination ``L`` must explain (eq. 1).
2. Global illumination ``L_large``: Li's weighted guided filter of ``V`` guided by itself with a large radius
   (default ``min(H, W) / 8``), run on a ``scale``-times smaller image whose coefficients are upsampled
   (He & Sun's fast guided filter, 2015) — see :func:`fast_weighted_guided_filter`.
3. Local illumination ``L_small``: the same filter with a small radius (default 4).
4. Adaptive weight (eq. 2) ``ω = clip(λ1·|∇G| + λ2·T, 0, 1)``, ``|∇G|`` the Sobel gradient magnitude of
   ``V`` and ``T`` its local standard deviation in the small window, each min-max normalised to [0, 1];
   ``L = ω·L_small + (1 − ω)·L_large`` follows edges and texture where they are strong.
5. Reflectance ``R = I / (L + ε)`` (eq. 1 with a regulariser ε) re-lit by ``L' = k·L^γ``: γ (default 0.8,
   LIME's value) compresses the illumination range, the exposure ``k`` >= 1 brings the output mean to
   ``target_mean`` (default 0.5, mid-grey; never below the input's mean). The output is ``R·(L' + ε) ≈
   I·g`` with one gain ``g`` per pixel for all three channels, so colour ratios are kept (step 6 filters the
   channels separately and moves them only where it smooths noise).
6. Edge-preserving denoising: He's guided filter of each enhanced channel guided by itself, with
   ``ε_d = (denoise_k·σ)²·g²`` per pixel, σ the input noise level estimated with Immerkær's method
   (:func:`estimate_noise`) or given as ``denoise_eps = σ²``: the noise that the gain amplified is
   smoothed in flat regions while edges well above it are kept.

Defaults ``denoise_k = 6``, ``denoise_radius = 2`` and ``work_scale = 2`` were chosen on the SmartClass-Synth
*val* split (low-light PSNR against the clean frames); the test split is only reported
(``benchmarks/enhance.py``).

The differentiable twin for end-to-end training is
:func:`smartclass.enhance.differentiable.multiscale_weighted_guided_retinex_t`; it follows these steps op for op.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from smartclass.enhance._workspace import scratch
from smartclass.enhance.config import DEFAULT_GAMMA, DENOISE_K  # the settings' defaults, defined with them
from smartclass.enhance.guided import box_mean, edge_aware_weight, weighted_guided_filter
from smartclass.errors import InputError

#: below this the value channel counts as black (keeps logs, powers and ratios finite)
_TINY = 1e-4
#: the exposure gain ``k`` never exceeds this (a black frame has nothing to expose)
MAX_EXPOSURE = 100.0
#: the exposure is solved on every EXPOSURE_STEP-th pixel of each axis
EXPOSURE_STEP = 4
#: floor of the denoising ε (keeps a/(var + ε) finite on noise-free flat images)
_EPS_FLOOR = 1e-10
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def check_rgb(rgb: np.ndarray, name: str = "rgb") -> np.ndarray:
    """Validate an RGB image (``(H, W, 3)``, at least 2×2, uint8, or finite float in [0, 1]) without
    converting it; returns it as an array. Raises :class:`InputError` naming ``name``."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"{name} must be an RGB image of shape (H, W, 3), got shape {a.shape}")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise InputError(f"{name} must be at least 2×2 pixels, got {a.shape[:2]}")
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{name} has {int(np.sum(~np.isfinite(a)))} NaN/inf values; "
                             "expected finite floats in [0, 1]")
        if a.min() < -1e-3 or a.max() > 1 + 1e-3:
            raise InputError(f"{name} is float with values in [{a.min():.3g}, {a.max():.3g}]; expected [0, 1] "
                             "(pass uint8 for [0, 255] images)")
        return a
    raise InputError(f"{name} must be uint8 in [0, 255] or float in [0, 1], got dtype {a.dtype}")


def to_float_rgb(rgb: np.ndarray, name: str = "rgb", *, _scratch: str | None = None) -> tuple[np.ndarray, bool]:
    """Validate an RGB image and return it as ``float32`` in [0, 1] with ``True`` when it was ``uint8``."""
    a = check_rgb(rgb, name)
    if a.dtype == np.uint8:
        x = np.empty(a.shape, np.float32) if _scratch is None else scratch(_scratch, a.shape)
        np.multiply(a, np.float32(1 / 255), out=x)
        return x, True
    return np.clip(a, 0, 1).astype(np.float32), False


def _from_float(x: np.ndarray, as_uint8: bool) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return cv2.convertScaleAbs(x, alpha=255) if as_uint8 else x.astype(np.float32)


def value_channel(rgb01: np.ndarray) -> np.ndarray:
    """``V = max(R, G, B)`` of a float RGB image ``(H, W, 3)`` → ``(H, W)`` ``float32``."""
    x = np.asarray(rgb01, dtype=np.float32)
    return cv2.max(cv2.max(x[..., 0], x[..., 1]), x[..., 2])


def _wgf_coefficients(g: np.ndarray, p: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Box means of Li's coefficients a, b (the filter output is ``mean(a)·g + mean(b)``)."""
    gamma = edge_aware_weight(g, float(max(g.max() - g.min(), 1e-6)))
    mean_i, mean_p = box_mean(g, radius), box_mean(p, radius)
    var_i = box_mean(g * g, radius) - mean_i * mean_i
    cov_ip = box_mean(g * p, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps / gamma)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)


def _box(x: np.ndarray, radius: int, dst: np.ndarray | None = None) -> np.ndarray:
    """:func:`~smartclass.enhance.guided.box_mean` written into ``dst`` when given."""
    k = 2 * radius + 1
    return cv2.boxFilter(x, cv2.CV_32F, (k, k), dst=dst, normalize=True, borderType=cv2.BORDER_REFLECT)


def _self_guided(g: np.ndarray, radius: int, eps: float | np.ndarray,
                 gamma: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter of ``g`` guided by itself, per channel: ``a = var/(var + ε/Γ)``,
    ``b = mean·(1 − a)``, ``q = mean(a)·g + mean(b)`` — four box means instead of six; equal to
    ``weighted_guided_filter(g, g, radius, eps, gamma)`` (Γ ≡ 1 when ``gamma`` is None).

    g: ``(H, W)`` or ``(H, W, C)``; ``eps`` a scalar or an array shaped like ``g``. Returns ``(q, var)``,
    ``var`` the local variance of ``g`` (reused as texture by eq. 2). Arithmetic is in place: fresh
    full-size temporaries cost page faults that dominate the run time at video rates."""
    mean = _box(g, radius)
    var = _box(np.multiply(g, g), radius)
    tmp = np.multiply(mean, mean)
    var -= tmp
    if gamma is None:
        tmp[...] = eps
    else:
        np.divide(eps, gamma, out=tmp)
    tmp += var
    np.divide(var, tmp, out=tmp)  # a
    q = _box(tmp, radius)
    np.subtract(np.float32(1), tmp, out=tmp)
    mean *= tmp  # b
    q *= g
    q += _box(mean, radius, dst=tmp)
    return q, var


def fast_weighted_guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                                scale: int) -> np.ndarray:
    """Li's weighted guided filter computed on a ``scale``-times smaller grid (He & Sun 2015, "Fast guided
    filter"): the coefficients ``mean(a)``, ``mean(b)`` are found on block means of ``guide`` / ``src``
    (radius ``max(1, round(radius / scale))``) and bilinearly upsampled, then ``q = A·guide + B`` at full
    resolution. The image is padded at the bottom/right by edge replication to a multiple of ``scale`` so
    that blocks and the upsampling grid line up exactly. ``scale=1`` is :func:`weighted_guided_filter`.

    guide, src: ``(H, W)``; returns ``(H, W)`` ``float32``.
    """
    g = np.asarray(guide, dtype=np.float32)
    p = np.asarray(src, dtype=np.float32)
    if g.ndim != 2 or g.shape != p.shape:
        raise InputError(f"guide and src must be (H, W) of equal shapes, got {g.shape} and {p.shape}")
    if scale < 1 or radius < 1:
        raise InputError(f"scale and radius must be >= 1, got scale={scale}, radius={radius}")
    if scale == 1:
        return weighted_guided_filter(g, p, radius, eps)
    h, w = g.shape
    ph, pw = (-h) % scale, (-w) % scale
    lo_size = ((w + pw) // scale, (h + ph) // scale)

    def down(x: np.ndarray) -> np.ndarray:
        x = cv2.copyMakeBorder(x, 0, ph, 0, pw, cv2.BORDER_REPLICATE) if ph or pw else x
        return cv2.resize(x, lo_size, interpolation=cv2.INTER_AREA)

    g_lo = down(g)
    p_lo = g_lo if src is guide else down(p)
    mean_a, mean_b = _wgf_coefficients(g_lo, p_lo, max(1, round(radius / scale)), eps)
    up = (w + pw, h + ph)
    A = cv2.resize(mean_a, up, interpolation=cv2.INTER_LINEAR)[:h, :w]
    B = cv2.resize(mean_b, up, interpolation=cv2.INTER_LINEAR)[:h, :w]
    return A * g + B


def _minmax_(x: np.ndarray) -> np.ndarray:
    """Min-max normalisation to [0, 1], in place."""
    lo, hi, _, _ = cv2.minMaxLoc(x)
    x -= np.float32(lo)
    x *= np.float32(1 / max(hi - lo, 1e-6))
    return x


def _sobel_magnitude(g: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    return cv2.magnitude(gx, gy)


def _omega_(grad: np.ndarray, var: np.ndarray, lambda1: float, lambda2: float) -> np.ndarray:
    """Eq. 2 from the gradient magnitude and the local variance (both overwritten)."""
    np.maximum(var, 0, out=var)
    texture = np.sqrt(var, out=var)
    grad = _minmax_(grad)
    grad *= np.float32(lambda1)
    texture = _minmax_(texture)
    texture *= np.float32(lambda2)
    grad += texture
    return np.clip(grad, 0, 1, out=grad)


def adaptive_weight(guide: np.ndarray, radius: int, lambda1: float = 0.5, lambda2: float = 0.5) -> np.ndarray:
    """Eq. 2: ``ω = clip(λ1·|∇G| + λ2·T, 0, 1)`` with ``|∇G|`` the 3×3 Sobel gradient magnitude (borders
    replicated) and ``T`` the local standard deviation in the ``(2·radius+1)²`` window (texture complexity),
    each min-max normalised over the image. ``(H, W)`` → ``(H, W)``."""
    g = np.asarray(guide, dtype=np.float32)
    mu = box_mean(g, radius)
    return _omega_(_sobel_magnitude(g), box_mean(g * g, radius) - mu * mu, lambda1, lambda2)


@dataclass(frozen=True)
class Illumination:
    """The illumination estimates of :func:`estimate_illumination`, all ``(H, W)`` ``float32``."""

    large: np.ndarray  #: global estimate (large radius, fast weighted guided filter)
    small: np.ndarray  #: local estimate (small radius, weighted guided filter)
    omega: np.ndarray  #: eq. 2 weight of the small-scale estimate
    fused: np.ndarray  #: ω·small + (1 − ω)·large


def _relative_eps(v: np.ndarray, eps: float) -> float:
    # ε in units of V's squared dynamic range, so that a dark frame is filtered like a bright one
    lo, hi, _, _ = cv2.minMaxLoc(v)
    return float(eps) * max(hi - lo, 1 / 255) ** 2


def estimate_illumination(value: np.ndarray, *, large_radius: int | None = None, small_radius: int = 4,
                          eps_large: float = 1e-2, eps_small: float = 1e-3, lambda1: float = 0.5,
                          lambda2: float = 0.5, scale: int = 4) -> Illumination:
    """Multi-scale illumination ``L`` of a value channel ``(H, W)`` in [0, 1] (steps 2–4 of the module doc).

    ``eps_*`` are relative to the squared dynamic range of ``value``; ``large_radius`` defaults to
    ``max(1, min(H, W) // 8)`` full-resolution pixels; ``scale`` is the downsampling of the large-scale
    filter. The texture ``T`` of eq. 2 is the standard deviation in the small-scale window."""
    v = np.asarray(value, dtype=np.float32)
    if v.ndim != 2:
        raise InputError(f"value must be a single-channel (H, W) image, got shape {v.shape}")
    if small_radius < 1 or (large_radius is not None and large_radius < 1):
        raise InputError(f"small_radius and large_radius must be >= 1, got {small_radius} and {large_radius}")
    if large_radius is None:
        large_radius = max(1, min(v.shape) // 8)
    large = fast_weighted_guided_filter(v, v, large_radius, _relative_eps(v, eps_large), scale)
    gamma = edge_aware_weight(v, float(max(v.max() - v.min(), 1e-6)))
    small, var = _self_guided(v, small_radius, _relative_eps(v, eps_small), gamma)
    omega = _omega_(_sobel_magnitude(v), var, lambda1, lambda2)
    fused = small - large
    fused *= omega
    fused += large  # ω·small + (1 − ω)·large
    return Illumination(large, small, omega, fused)


def estimate_noise(rgb01: np.ndarray, *, _scratch: bool = False) -> float:
    """Immerkær's fast noise estimate (CVIU 1996) of an RGB image's grey level, in [0, 1] units:
    ``σ = √(π/2) / (6·(W−2)(H−2)) · Σ |N ∗ Y|`` with ``N = [[1, −2, 1], [−2, 4, −2], [1, −2, 1]]``
    (the difference of two Laplacians, blind to linear ramps) and ``Y = 0.299·R + 0.587·G + 0.114·B``. Edges
    and fine texture bias it upwards a little; on a noise-free flat image it is 0.

    rgb01: ``(H, W, 3)`` float in [0, 1] (at least 3×3)."""
    x = np.asarray(rgb01, dtype=np.float32)
    h, w = x.shape[:2]
    if h < 3 or w < 3:
        return 0.0
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY, dst=scratch("noise.grey", (h, w)) if _scratch else None)
    r = cv2.filter2D(grey, cv2.CV_32F, _IMMERKAER, dst=scratch("noise.lap", (h, w)) if _scratch else None,
                     borderType=cv2.BORDER_REPLICATE)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * cv2.norm(r, cv2.NORM_L1) / (6.0 * (w - 2) * (h - 2)))


def _down(x: np.ndarray, s: int) -> np.ndarray:
    """Block means over ``s`` × ``s`` after padding bottom/right by edge replication to a multiple of ``s``
    (exact area averaging, the twin of ``avg_pool2d``)."""
    if s == 1:
        return x
    h, w = x.shape[:2]
    ph, pw = (-h) % s, (-w) % s
    if ph or pw:
        x = cv2.copyMakeBorder(x, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    return cv2.resize(x, ((w + pw) // s, (h + ph) // s), interpolation=cv2.INTER_AREA)


def _up(x: np.ndarray, s: int, shape: tuple[int, int], name: str | None = None) -> np.ndarray:
    """Bilinear (half-pixel centres) upsampling by ``s`` of a :func:`_down` grid, cropped to ``shape``
    (into the scratch array ``name`` when given)."""
    if s == 1:
        return x
    h, w = shape
    lo_h, lo_w = x.shape[:2]
    size = (lo_h * s, lo_w * s) + x.shape[2:]
    out = cv2.resize(x, (lo_w * s, lo_h * s), dst=None if name is None else scratch(name, size),
                     interpolation=cv2.INTER_LINEAR)
    return out if out.shape[:2] == (h, w) else out[:h, :w]


def exposure_gain(rgb01: np.ndarray, base_gain: np.ndarray, target_mean: float | None,
                  step: int = EXPOSURE_STEP) -> float:
    """The exposure ``k`` >= 1 that brings the mean of ``clip(k·base_gain·I, 0, 1)`` over all pixels and
    channels to ``max(target_mean, mean I)`` (an image is never darkened), at most :data:`MAX_EXPOSURE`.

    Solved on every ``step``-th pixel of each axis (offset ``step // 2``): one ratio step, then up to three
    fixed-point steps ``k ← k·t/mean`` for the pixels that clip. ``target_mean=None`` gives 1.
    rgb01: ``(h, w, 3)``; base_gain: ``(h, w)``."""
    if target_mean is None:
        return 1.0
    o = step // 2
    xs = np.asarray(rgb01, dtype=np.float32)[o::step, o::step]
    gs = np.asarray(base_gain, dtype=np.float32)[o::step, o::step, None]
    y = xs * gs
    t = max(float(target_mean), float(xs.mean()))
    m = float(y.mean())
    if m <= _TINY:
        return MAX_EXPOSURE if t > 0 else 1.0
    k = t / m
    for _ in range(3):
        m = float(np.clip(y * np.float32(k), 0, 1).mean())
        if m >= t * (1 - 1e-3) or k >= MAX_EXPOSURE:
            break
        k *= t / max(m, _TINY)
    return float(min(max(k, 1.0), MAX_EXPOSURE))


def _relight(x: np.ndarray, x_lo: np.ndarray, illumination: np.ndarray, s: int, *, target_mean: float | None,
             gamma: float, reflect_eps: float, denoise_radius: int, denoise_eps: float | None,
             denoise_k: float, for_uint8: bool = False) -> np.ndarray:
    """Steps 5–6 with the gain and the denoising coefficients on the ``s``-times smaller grid of ``x_lo``
    (``_down(x, s)``) and ``illumination``; returns ``(H, W, 3)`` float32 in [0, 1] (``for_uint8``: >= 0,
    not clipped above, for a saturating uint8 conversion) — a scratch array (see
    :mod:`smartclass.enhance._workspace`): copy it before returning it to a caller."""
    if not gamma > 0:
        raise InputError(f"gamma must be > 0, got {gamma}")
    if denoise_radius < 0:
        raise InputError(f"denoise_radius must be >= 0, got {denoise_radius}")
    h, w = x.shape[:2]
    e = np.float32(reflect_eps)
    L = np.clip(np.asarray(illumination, dtype=np.float32), _TINY, 1)  # a new array: modified in place below
    gain = cv2.pow(L, float(gamma))
    gain += e
    L += e
    gain /= L  # (L^γ + ε) / (L + ε)
    gain *= np.float32(exposure_gain(x_lo, gain, target_mean))
    out = scratch("relight.out", x.shape)
    if denoise_radius == 0:
        return np.clip(cv2.multiply(x, cv2.merge([_up(gain, s, (h, w), "relight.gain")] * 3), dst=out), 0, 1,
                       out=out)
    if denoise_eps is None:
        eps = (float(denoise_k) * estimate_noise(x, _scratch=True) / s) ** 2  # noise of a block mean: σ/s
    else:
        eps = float(denoise_eps) / (s * s)
    eps = max(eps, _EPS_FLOOR)
    # He's guided filter of y = g·I guided by itself, per channel, ε_d = eps·g² (the noise the gain amplified);
    # coefficients on the small grid, applied at full resolution (He & Sun's fast guided filter)
    r = max(1, round(denoise_radius / s))
    lo = x_lo.shape
    g3 = cv2.merge([gain, gain, gain], dst=scratch("relight.g3", lo))
    y = cv2.multiply(x_lo, g3, dst=scratch("relight.y", lo))
    mean = _box(y, r, dst=scratch("relight.mean", lo))
    var = _box(cv2.multiply(y, y, dst=y), r, dst=scratch("relight.var", lo))
    tmp = cv2.multiply(mean, mean, dst=y)
    var -= tmp
    np.maximum(var, 0, out=var)
    np.multiply(g3, g3, out=tmp)
    tmp *= np.float32(eps)
    tmp += var
    np.divide(var, tmp, out=tmp)  # a
    np.subtract(np.float32(1), tmp, out=var)
    mean *= var  # b = mean·(1 − a)
    a_mean = _box(tmp, r, dst=var)
    a_mean *= g3  # the full-resolution guide is g·I: fold g into the coefficient
    b_mean = _box(mean, r, dst=tmp)
    cv2.multiply(x, _up(a_mean, s, (h, w), "relight.a"), dst=out)
    out += _up(b_mean, s, (h, w), "relight.b")
    # A, B >= 0 (a in [0, 1], g > 0, block means of y >= 0): out >= 0, only the top can need clipping, and
    # uint8 conversion saturates it anyway
    return out if for_uint8 else np.minimum(out, 1, out=out)


def relight(rgb01: np.ndarray, illumination: np.ndarray, *, target_mean: float | None = 0.5,
            gamma: float = DEFAULT_GAMMA, reflect_eps: float = 0.01, denoise_radius: int = 2,
            denoise_eps: float | None = None, denoise_k: float = DENOISE_K) -> np.ndarray:
    """Steps 5–6 at full resolution: ``R = I/(L + ε)`` (eq. 1) re-lit by ``L' = k·L^γ``, then guided-filter
    denoising.

    rgb01: ``(H, W, 3)`` float in [0, 1]; illumination: ``(H, W)`` (clipped to [1e-4, 1]). ``gamma`` < 1
    compresses the illumination range (dark regions gain more, default 0.8 as in LIME); the exposure ``k``
    (:func:`exposure_gain`) brings the output mean to ``target_mean`` (never below the input's mean, never
    k < 1; ``None``: k = 1).

    Step 6 filters each channel of the re-lit image with He's guided filter guided by itself (radius
    ``denoise_radius``, 0 skips it) with a per-pixel ``ε_d = denoise_eps·g²``: ``denoise_eps`` is the squared
    input-noise level (in [0, 1] units) below which variations count as noise, scaled by the squared gain
    that amplified it. ``denoise_eps=None`` estimates it from the image: ``(denoise_k·σ)²`` with σ
    :func:`estimate_noise`. Returns ``(H, W, 3)`` ``float32`` in [0, 1]."""
    x = np.asarray(rgb01, dtype=np.float32)
    return _relight(x, x, illumination, 1, target_mean=target_mean, gamma=gamma, reflect_eps=reflect_eps,
                    denoise_radius=denoise_radius, denoise_eps=denoise_eps, denoise_k=denoise_k).copy()


def _work_grid(rgb: np.ndarray, work_scale: int) -> tuple[np.ndarray, bool, np.ndarray]:
    if work_scale < 1:
        raise InputError(f"work_scale must be >= 1, got {work_scale}")
    x, was_uint8 = to_float_rgb(rgb, _scratch="retinex.x")
    return x, was_uint8, _down(x, work_scale)


def _output(out: np.ndarray, as_uint8: bool) -> np.ndarray:
    """A fresh output from :func:`_relight`'s scratch result (in [0, 1]; >= 0 only for uint8, which saturates)."""
    return cv2.convertScaleAbs(out, alpha=255) if as_uint8 else out.copy()


def multiscale_weighted_guided_retinex(rgb: np.ndarray, *, large_radius: int | None = None, small_radius: int = 4,
                                       eps_large: float = 1e-2, eps_small: float = 1e-3, lambda1: float = 0.5,
                                       lambda2: float = 0.5, scale: int = 4, target_mean: float | None = 0.5,
                                       gamma: float = DEFAULT_GAMMA, reflect_eps: float = 0.01,
                                       denoise_radius: int = 2, denoise_eps: float | None = None,
                                       denoise_k: float = DENOISE_K, work_scale: int = 2) -> np.ndarray:
    """Paper 002's low-light enhancement (§3.2, eqs. 1–2); the steps and parameters are in the module doc
    and in :func:`estimate_illumination` / :func:`relight`.

    Radii and ``scale`` are in full-resolution pixels. ``work_scale`` s: the illumination, the gain and the
    denoising coefficients are computed on s×s block means and applied at full resolution (1: all at full
    resolution, slower, within about 0.1 dB). ``lambda1 = lambda2 = 0`` gives ω ≡ 0, i.e. only the
    large-scale (global) illumination estimate. rgb: ``(H, W, 3)`` uint8 or float in [0, 1] → the same kind."""
    x, was_uint8, x_lo = _work_grid(rgb, work_scale)
    if small_radius < 1 or (large_radius is not None and large_radius < 1):
        raise InputError(f"small_radius and large_radius must be >= 1, got {small_radius} and {large_radius}")
    s = work_scale
    if large_radius is None:
        large_radius = max(1, min(x.shape[:2]) // 8)
    ill = estimate_illumination(value_channel(x_lo), large_radius=max(1, round(large_radius / s)),
                                small_radius=max(1, round(small_radius / s)), eps_large=eps_large,
                                eps_small=eps_small, lambda1=lambda1, lambda2=lambda2,
                                scale=max(1, round(scale / s)))
    out = _relight(x, x_lo, ill.fused, s, target_mean=target_mean, gamma=gamma, reflect_eps=reflect_eps,
                   denoise_radius=denoise_radius, denoise_eps=denoise_eps, denoise_k=denoise_k, for_uint8=was_uint8)
    return _output(out, was_uint8)


def guided_retinex_single_scale(rgb: np.ndarray, radius: int = 15, eps: float = 1e-2, *,
                                target_mean: float | None = 0.5, gamma: float = DEFAULT_GAMMA,
                                reflect_eps: float = 0.01, denoise_radius: int = 2, denoise_eps: float | None = None,
                                denoise_k: float = DENOISE_K, work_scale: int = 2) -> np.ndarray:
    """Ablation: one He guided filter (``radius`` in full-resolution pixels, ``eps`` relative to V's squared
    dynamic range) estimates ``L``; re-lighting, denoising and ``work_scale`` as in
    :func:`multiscale_weighted_guided_retinex`."""
    x, was_uint8, x_lo = _work_grid(rgb, work_scale)
    v = value_channel(x_lo)
    L, _ = _self_guided(v, max(1, round(radius / work_scale)), _relative_eps(v, eps))  # He's GF of V by itself
    out = _relight(x, x_lo, L, work_scale, target_mean=target_mean, gamma=gamma, reflect_eps=reflect_eps,
                   denoise_radius=denoise_radius, denoise_eps=denoise_eps, denoise_k=denoise_k, for_uint8=was_uint8)
    return _output(out, was_uint8)


# --- classic baselines -------------------------------------------------------------------------------------


def gamma_correction(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """``I^γ`` per channel (γ < 1 brightens). uint8 goes through a 256-entry lookup table."""
    if not gamma > 0:
        raise InputError(f"gamma must be > 0, got {gamma}")
    a = np.asarray(rgb)
    if a.dtype == np.uint8:
        to_float_rgb(a)  # shape check
        lut = np.clip(np.power(np.arange(256) / 255.0, gamma) * 255 + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(a, lut)
    x, _ = to_float_rgb(a)
    return np.power(x, np.float32(gamma))


def clahe_rgb(rgb: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE on the L channel of CIELAB (colour kept), ``clip_limit`` set explicitly (OpenCV's default is 40)
    on a ``tiles`` × ``tiles`` grid."""
    if not clip_limit > 0 or tiles < 1:
        raise InputError(f"clip_limit must be > 0 and tiles >= 1, got clip_limit={clip_limit}, tiles={tiles}")
    x, was_uint8 = to_float_rgb(rgb)
    u8 = np.asarray(rgb) if was_uint8 else (x * 255 + 0.5).astype(np.uint8)
    lab = cv2.cvtColor(u8, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(tiles, tiles)).apply(
        np.ascontiguousarray(lab[..., 0]))
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return out if was_uint8 else out.astype(np.float32) / 255


def _gaussian_surround(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``(H, W, 3)``. Sigmas above 10 px are applied on an image downsampled by
    ``s = int(sigma / 10)`` (area averaging) with σ/s, then upsampled bilinearly: the surround is smooth, and
    a 6σ-wide kernel at σ = 250 would otherwise cost ~1500 taps per pixel."""
    s = max(1, int(sigma / 10))
    if s == 1:
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(1, round(w / s)), max(1, round(h / s))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / s, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _msr_log(x255: np.ndarray, sigmas: tuple[float, ...]) -> np.ndarray:
    log_i = np.log10(x255 + 1)
    return sum(log_i - np.log10(_gaussian_surround(x255, s) + 1) for s in sigmas) / len(sigmas)


def _colour_balance(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Per-channel "simplest colour balance": clip at the ``low``/``high`` quantiles and stretch to [0, 1]."""
    out = np.empty_like(x, dtype=np.float32)
    for c in range(x.shape[2]):
        lo, hi = np.quantile(x[..., c], [low, high])
        out[..., c] = (np.clip(x[..., c], lo, hi) - lo) / max(hi - lo, 1e-6)
    return out


def msr(rgb: np.ndarray, sigmas: tuple[float, ...] = (15, 80, 250), low_clip: float = 0.01,
        high_clip: float = 0.99) -> np.ndarray:
    """Multi-scale Retinex (Jobson et al. 1997): ``Σ_k w_k·(log I − log(G_σk * I))`` with equal weights,
    per channel on I in [0, 255] (+1 inside the logs), then stretched per channel between the ``low_clip`` /
    ``high_clip`` quantiles. Large σ are blurred on a downsampled image (see :func:`_gaussian_surround`)."""
    x, was_uint8 = to_float_rgb(rgb)
    return _from_float(_colour_balance(_msr_log(x * 255, tuple(sigmas)), low_clip, high_clip), was_uint8)


def msrcr(rgb: np.ndarray, sigmas: tuple[float, ...] = (15, 80, 250), alpha: float = 125.0, beta: float = 46.0,
          gain: float = 5.0, offset: float = 25.0, low_clip: float = 0.01, high_clip: float = 0.99) -> np.ndarray:
    """MSR with colour restoration (Jobson et al. 1997): ``G·(C_i·MSR_i + b)``, colour restoration
    ``C_i = β·(log(α·I_i) − log Σ_j I_j)`` (log10, I in [0, 255] + 1), gain ``G`` and offset ``b`` as in the
    widely used reference implementation, then the per-channel quantile stretch of :func:`msr`."""
    x, was_uint8 = to_float_rgb(rgb)
    x255 = x * 255 + 1
    restoration = beta * (np.log10(alpha * x255) - np.log10(x255.sum(axis=2, keepdims=True)))
    out = gain * (restoration * _msr_log(x * 255, tuple(sigmas)) + offset)
    return _from_float(_colour_balance(out, low_clip, high_clip), was_uint8)
