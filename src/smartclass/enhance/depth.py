"""Depth restoration (paper 002 §3.2): bilateral denoising, morphological closing of small holes and region
filling of large holes, plus OpenCV inpainting baselines.

Depth images are ``uint16`` millimetres ``(H, W)``; 0 is a hole (no measurement). Every function returns
``uint16`` millimetres of the same shape. An all-zero depth image has nothing to restore from: every
function raises :class:`~smartclass.errors.InputError` for it rather than inventing a depth.
"""

from __future__ import annotations

import cv2
import numpy as np

from smartclass.errors import InputError

_MAX_MM = 65535


def _check_depth(depth_mm: np.ndarray, name: str = "depth_mm") -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(depth_mm)
    if d.ndim != 2:
        raise InputError(f"{name} must be a single-channel (H, W) depth image, got shape {d.shape}")
    if d.dtype != np.uint16:
        raise InputError(f"{name} must be uint16 millimetres (0 = hole), got dtype {d.dtype}")
    valid = d > 0
    if not valid.any():
        raise InputError(f"{name} has no valid (non-zero) pixels; expected at least one depth measurement")
    return d, valid


def bilateral_valid(depth_mm: np.ndarray, diameter: int = 5, sigma_space: float = 2.0,
                    sigma_depth_mm: float = 30.0) -> np.ndarray:
    """Bilateral filter over valid pixels only: ``Σ_q w_s·w_r·m_q·D_q / Σ_q w_s·w_r·m_q`` with ``m`` the valid
    mask, so holes neither pull valid depths towards 0 nor get filled here. Implemented with
    ``cv2.bilateralFilter`` on ``float32`` after moving the holes to 12·``sigma_depth_mm`` below the smallest
    valid depth, where their range weight (at most ``exp(−72)``) vanishes in float32. Returns ``float32`` mm,
    0 at holes."""
    d, valid = _check_depth(depth_mm)
    if diameter < 1 or not (sigma_space > 0 and sigma_depth_mm > 0):
        raise InputError(f"diameter must be >= 1 and the sigmas > 0, got diameter={diameter}, "
                         f"sigma_space={sigma_space}, sigma_depth_mm={sigma_depth_mm}")
    d = d.astype(np.float32)
    lo = float(d[valid].min())
    d[~valid] = lo - 12 * sigma_depth_mm
    out = cv2.bilateralFilter(d, diameter, sigma_depth_mm, sigma_space)
    out[~valid] = 0
    return out


def close_small_holes(depth_mm: np.ndarray, kernel: int = 5, jump_mm: float = 150.0) -> np.ndarray:
    """Morphological closing (dilate = local max, then erode = local min) with a ``kernel`` × ``kernel``
    ellipse, written to hole pixels only: a hole is filled when it fits inside the kernel, larger holes
    stay 0 (their interior survives the erosion), valid pixels are unchanged.

    Holes on a depth edge — valid depths within the closing's reach (a ``2·kernel − 1`` window) spanning
    more than ``jump_mm`` — are left as well: closing would fill them with the nearer surface, while such
    holes (occlusion shadows) belong to the background that :func:`fill_large_holes` chooses."""
    d, valid = _check_depth(depth_mm)
    if kernel < 2:
        raise InputError(f"kernel must be >= 2 pixels, got {kernel}")
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    closed = cv2.morphologyEx(d, cv2.MORPH_CLOSE, ellipse, borderType=cv2.BORDER_REPLICATE)
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * kernel - 1, 2 * kernel - 1))
    far = cv2.dilate(d, reach, borderType=cv2.BORDER_REPLICATE)
    near = cv2.erode(np.where(valid, d, np.uint16(_MAX_MM)), reach, borderType=cv2.BORDER_REPLICATE)
    edge = far.astype(np.int32) - near > jump_mm
    return np.where(valid | edge, d, closed)


def _row_estimates(d: np.ndarray, inv_d: np.ndarray, valid: np.ndarray, ys: np.ndarray,
                   xs: np.ndarray, jump_mm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For hole pixels ``(ys, xs)``, an estimate from the nearest valid pixels left (``l``) and right
    (``r``) in their row.

    The two ends lie on one surface when extrapolating either end along its own slope (in inverse depth,
    from the next valid pixel beyond it) reaches the other end within ``jump_mm``; then the estimate is
    linear in inverse depth between them (exact on planes), otherwise it is the farther end. With one end
    only (the row runs out) it is that end. Returns per-hole ``(estimate, weight, jump)``, weight 1/gap
    (0 where the row has no valid pixel). ``inv_d`` is ``1/max(d, 1)`` (float32); arithmetic is float32 on
    flat indices (exact to far below a millimetre at sensor ranges)."""
    w = d.shape[1]
    cols = np.arange(w, dtype=np.int32)
    left_of = np.maximum.accumulate(np.where(valid, cols, np.int32(-1)), axis=1).ravel()
    right_of = np.minimum.accumulate(np.where(valid, cols, np.int32(w))[:, ::-1], axis=1)[:, ::-1].ravel()
    row0 = ys * w
    flat = row0 + xs
    left, right = left_of.take(flat), right_of.take(flat)
    has_l, has_r = left >= 0, right < w
    both = has_l & has_r
    li, ri = np.clip(left, 0, w - 1), np.clip(right, 0, w - 1)
    # the next valid pixel beyond each end gives that end's slope
    beyond_l = np.where(li >= 1, left_of.take(row0 + np.maximum(li - 1, 0)), -1)
    beyond_r = np.where(ri <= w - 2, right_of.take(row0 + np.minimum(ri + 1, w - 1)), w)
    inv_flat = inv_d.ravel()
    inv = lambda c: inv_flat.take(row0 + np.clip(c, 0, w - 1))  # noqa: E731
    inv_l, inv_r = inv(li), inv(ri)
    slope_l = np.where(beyond_l >= 0, (inv_l - inv(beyond_l)) / np.maximum(li - beyond_l, 1).astype(np.float32), 0)
    slope_r = np.where(beyond_r < w, (inv(beyond_r) - inv_r) / np.maximum(beyond_r - ri, 1).astype(np.float32), 0)
    gap = np.maximum(right - left, 1).astype(np.float32)
    d_flat = d.ravel()
    d_l, d_r = d_flat.take(row0 + li).astype(np.float32), d_flat.take(row0 + ri).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        from_l = 1 / (inv_l + slope_l * gap)  # left end extrapolated to the right end
        from_r = 1 / (inv_r - slope_r * gap)
        same = (from_l > 0) & (np.abs(from_l - d_r) <= jump_mm) | (from_r > 0) & (np.abs(from_r - d_l) <= jump_mm)
        t = (xs - left).astype(np.float32) / gap
        interp = 1 / ((1 - t) * inv_l + t * inv_r)
    jump = both & ~same
    est = np.where(both, np.where(jump, np.maximum(d_l, d_r), interp), np.where(has_l, d_l, d_r))
    est[~(has_l | has_r)] = 0
    # one-sided estimates count as if the missing end were as far again
    one_sided = 2 * np.where(has_l, xs - left, right - xs)
    with np.errstate(divide="ignore"):
        weight = np.where(both, 1 / gap, np.where(has_l | has_r, 1 / np.maximum(one_sided, 1).astype(np.float32), 0))
    return est, weight.astype(np.float32), jump


def fill_large_holes(depth_mm: np.ndarray, jump_mm: float = 150.0) -> np.ndarray:
    """Region filling of holes of any size; valid pixels are unchanged.

    Each hole pixel is estimated from the nearest valid pixels along its row and along its column:
    interpolated linearly in inverse depth (exact for planar surfaces) when the two ends belong to one
    surface (either end, extrapolated along its own slope, meets the other within ``jump_mm``), and the
    FARTHER end otherwise — Kinect-type holes at depth edges (occlusion shadows) belong to the background.
    The row and column estimates are averaged with weights 1/gap when they agree within ``jump_mm``;
    otherwise the farther one is taken. Pixels whose row and column hold no valid pixel take the farthest
    valid neighbour, grown ring by ring."""
    d, valid = _check_depth(depth_mm)
    if valid.all():
        return d.copy()
    ys, xs = np.nonzero(~valid)
    inv_d = 1 / np.maximum(d, 1).astype(np.float32)
    eh, wh, jh = _row_estimates(d, inv_d, valid, ys, xs, jump_mm)
    ev, wv, jv = _row_estimates(np.ascontiguousarray(d.T), np.ascontiguousarray(inv_d.T), np.ascontiguousarray(valid.T),
                                xs, ys, jump_mm)
    agree = (np.abs(eh - ev) <= jump_mm) & ~jh & ~jv
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (eh * wh + ev * wv) / (wh + wv)
    both = (wh > 0) & (wv > 0)
    est = np.where(both, np.where(agree, mean, np.maximum(eh, ev)), np.where(wh > 0, eh, np.where(wv > 0, ev, 0)))
    out = d.astype(np.float32)
    out[ys, xs] = est
    kernel = np.ones((3, 3), np.uint8)
    while not (out > 0).all():  # rows and columns without any measurement: grow the farthest neighbour
        out = np.where(out > 0, out, cv2.dilate(out, kernel, borderType=cv2.BORDER_REPLICATE))
    return np.clip(np.rint(out), 0, _MAX_MM).astype(np.uint16)


def enhance_depth(depth_mm: np.ndarray, *, smooth: bool = True, diameter: int = 5, sigma_space: float = 2.0,
                  sigma_depth_mm: float = 30.0, close_kernel: int = 5, fill_large: bool = True,
                  jump_mm: float = 150.0) -> np.ndarray:
    """Paper 002's three-stage depth restoration: ``(H, W)`` uint16 mm → ``(H, W)`` uint16 mm.

    1. ``smooth``: :func:`bilateral_valid` (``diameter``, ``sigma_space`` px, ``sigma_depth_mm``) denoises the
       valid pixels — this is the only stage that changes valid pixels; ``smooth=False`` keeps them exact.
    2. ``close_kernel`` > 1: :func:`close_small_holes` fills holes that fit in the kernel, except on depth
       edges (jumps > ``jump_mm``), which it leaves to stage 3. Max-then-min
       picks a neighbour's value, off by up to slope × kernel radius on tilted surfaces (about 2 mm mean
       on the test plane, against 0.3 mm for region filling alone); ``close_kernel=0`` leaves every hole
       to stage 3.
    3. ``fill_large``: :func:`fill_large_holes` fills the rest, preferring the background across depth jumps
       larger than ``jump_mm``; with ``fill_large=False`` large holes stay 0.

    Raises :class:`InputError` for a non-uint16 or non-2-D image and for an all-zero one."""
    d, _ = _check_depth(depth_mm)
    if diameter < 1 or close_kernel < 0:
        raise InputError(f"diameter must be >= 1 and close_kernel >= 0, got {diameter} and {close_kernel}")
    out = d
    if smooth:
        out = np.clip(np.rint(bilateral_valid(d, diameter, sigma_space, sigma_depth_mm)), 0,
                      _MAX_MM).astype(np.uint16)
    if close_kernel > 1:
        out = close_small_holes(out, close_kernel, jump_mm)
    if fill_large:
        out = fill_large_holes(out, jump_mm)
    return out if out is not d else d.copy()


def _inpaint(depth_mm: np.ndarray, radius: float, method: int) -> np.ndarray:
    d, valid = _check_depth(depth_mm)
    if not radius > 0:
        raise InputError(f"radius must be > 0, got {radius}")
    # OpenCV's inpaint takes 16-bit single-channel images directly: no rescaling, no precision loss
    return cv2.inpaint(d, (~valid).astype(np.uint8), float(radius), method)


def inpaint_telea(depth_mm: np.ndarray, radius: float = 5.0) -> np.ndarray:
    """Baseline: Telea's fast-marching inpainting of the holes (``cv2.INPAINT_TELEA``) on the uint16 mm
    image itself; valid pixels unchanged."""
    return _inpaint(depth_mm, radius, cv2.INPAINT_TELEA)


def inpaint_ns(depth_mm: np.ndarray, radius: float = 5.0) -> np.ndarray:
    """Baseline: Navier–Stokes inpainting of the holes (``cv2.INPAINT_NS``) on the uint16 mm image itself;
    valid pixels unchanged."""
    return _inpaint(depth_mm, radius, cv2.INPAINT_NS)
