"""Fusion metrics: mutual information (MI), Qabf (Xydeas–Petrovic edge-information retention) and EPI; the
normalised fusion MI (0..1, :func:`fusion_nmi`) beside the MI in bits.

Conventions (see docs/metrics.md):

* ``mode="standard"`` (default): images as 8-bit grey levels, MI in bits from 256×256 joint histograms,
  Qabf exactly as Xydeas & Petrovic (its maximum, A = B = F, is 0.9748).
* ``mode="vifb"``: the VIFB benchmark's MATLAB behaviour, which published fusion tables use — MI on
  min-max normalised images in nats; Qabf with the port's ``G = gF`` where ``gA == gF`` (maximum ≈ 0.9753).
* Colour fused images (VIFB convention): channel k of the fused image is scored against channel k of each
  colour source (a grey source is used as is for every k) and the results are averaged.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import cv2
import numpy as np

from smartclass.errors import InputError
from smartclass.metrics.image import as_array, normalised_mutual_information

Mode = Literal["standard", "vifb"]

# MATLAB rgb2gray weights (ITU-R BT.601 as MATLAB rounds them)
_RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def _grey(x: np.ndarray) -> np.ndarray:
    """Float64 grey image; colour converted like MATLAB's ``rgb2gray`` (rounded for 8-bit input)."""
    if x.ndim == 3:
        g = x.astype(np.float64) @ _RGB2GRAY
        return np.round(g) if x.dtype == np.uint8 else g
    return x.astype(np.float64)


def _check_mode(mode: str) -> None:
    if mode not in ("standard", "vifb"):
        raise InputError(f"mode must be 'standard' or 'vifb', got {mode!r}")


def per_channel(metric: Callable[[np.ndarray, np.ndarray, np.ndarray], float], a: Any, b: Any, fused: Any) -> float:
    """Apply a two-source fusion ``metric(a, b, f)`` with the VIFB colour convention (see module doc)."""
    a, b, f = as_array(a, "source A"), as_array(b, "source B"), as_array(fused, "fused")
    for name, x in (("source A", a), ("source B", b)):
        if x.shape[:2] != f.shape[:2]:
            raise InputError(f"{name} is {x.shape[1]}×{x.shape[0]} but fused is {f.shape[1]}×{f.shape[0]}; expected equal sizes")
    if f.ndim == 2 or (f.ndim == 3 and f.shape[2] == 1):
        return float(metric(_grey(a), _grey(b), _grey(f.reshape(f.shape[:2]))))
    scores = []
    for k in range(f.shape[2]):
        ak = a[..., k] if a.ndim == 3 else a
        bk = b[..., k] if b.ndim == 3 else b
        scores.append(metric(ak.astype(np.float64), bk.astype(np.float64), f[..., k].astype(np.float64)))
    return float(np.mean(scores))


# ----------------------------------------------------------------------------------------------- MI
def _levels(x: np.ndarray, normalise: bool) -> np.ndarray:
    if normalise:  # VIFB: min-max to [0, 1], then MATLAB int16(x·255) rounds half away from zero
        lo, hi = x.min(), x.max()
        x = (x - lo) / (hi - lo) if hi != lo else np.zeros_like(x)
        return np.floor(x * 255 + 0.5).astype(np.int64)
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.int64)


def _entropy(p: np.ndarray, log: Callable) -> float:
    p = p[p > 0]
    return float(-(p * log(p)).sum())


def mutual_information_pair(x: Any, y: Any, mode: Mode = "standard") -> float:
    """MI(X, Y) = H(X) + H(Y) − H(X, Y) from a 256×256 joint histogram (bits; nats in ``vifb`` mode)."""
    _check_mode(mode)
    x, y = _grey(as_array(x, "x")), _grey(as_array(y, "y"))
    if x.shape != y.shape:
        raise InputError(f"mutual information needs equal shapes, got {x.shape} and {y.shape}")
    vifb = mode == "vifb"
    lx, ly = _levels(x, vifb).ravel(), _levels(y, vifb).ravel()
    joint = np.bincount(lx * 256 + ly, minlength=256 * 256).astype(np.float64).reshape(256, 256) / lx.size
    log = np.log if vifb else np.log2
    return _entropy(joint.sum(1), log) + _entropy(joint.sum(0), log) - _entropy(joint.ravel(), log)


def mutual_information(a: Any, b: Any, fused: Any, mode: Mode = "standard") -> float:
    """Fusion MI = MI(A, F) + MI(B, F) (Qu et al. 2002); colour per the VIFB convention."""
    return per_channel(lambda x, y, f: mutual_information_pair(x, f, mode) + mutual_information_pair(y, f, mode),
                       a, b, fused)


def fusion_nmi(a: Any, b: Any, fused: Any) -> float:
    """Normalised fusion MI in [0, 1]: ``(NMI(A, F) + NMI(B, F)) / 2`` with
    :func:`~smartclass.metrics.image.normalised_mutual_information` (1 when F equals both sources); colour per
    the VIFB convention. The bits of :func:`mutual_information` grow with the images' entropies; this does not."""
    def score(x: np.ndarray, y: np.ndarray, f: np.ndarray) -> float:
        lx, ly, lf = (_levels(v, False).astype(np.uint8) for v in (x, y, f))
        return 0.5 * (normalised_mutual_information(lx, lf) + normalised_mutual_information(ly, lf))

    return per_channel(score, a, b, fused)


# --------------------------------------------------------------------------------------------- Qabf
_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
_SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64)


def _sobel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient strength and orientation: true 2-D convolution, zero padding, ``α = atan(Sy/Sx)``."""
    # filter2D correlates; flipping both kernels negates both responses, which leaves g and Sy/Sx unchanged
    sx = cv2.filter2D(x, cv2.CV_64F, _SOBEL_X[::-1, ::-1].copy(), borderType=cv2.BORDER_CONSTANT)
    sy = cv2.filter2D(x, cv2.CV_64F, _SOBEL_Y[::-1, ::-1].copy(), borderType=cv2.BORDER_CONSTANT)
    g = np.sqrt(sx**2 + sy**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(sx == 0, np.pi / 2, np.arctan(sy / np.where(sx == 0, 1.0, sx)))
    return g, alpha


def _edge_preservation(gs: np.ndarray, als: np.ndarray, gf: np.ndarray, alf: np.ndarray, vifb: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(gs > gf, gf / np.where(gs == 0, 1, gs), gs / np.where(gf == 0, 1, gf))
        G = np.where(gs == gf, gf if vifb else 1.0, G)
    A = 1 - np.abs(als - alf) / (np.pi / 2)
    qg = 0.9994 / (1 + np.exp(-15 * (G - 0.5)))
    qa = 0.9879 / (1 + np.exp(-22 * (A - 0.8)))
    return qg * qa


def _qabf_grey(a: np.ndarray, b: np.ndarray, f: np.ndarray, vifb: bool) -> float:
    ga, aa = _sobel(a)
    gb, ab = _sobel(b)
    gf, af = _sobel(f)
    qaf = _edge_preservation(ga, aa, gf, af, vifb)
    qbf = _edge_preservation(gb, ab, gf, af, vifb)
    den = float((ga + gb).sum())
    if den == 0:
        return float("nan")  # neither source has an edge: the metric is undefined
    return float((qaf * ga + qbf * gb).sum() / den)


def qabf(a: Any, b: Any, fused: Any, mode: Mode = "standard") -> float:
    """Qabf (Xydeas & Petrovic 2000): edge strength and orientation of A and B retained in F, weighted by
    source edge strength (L = 1). Sobel as true convolution with zero padding, ``α = atan(Sy/Sx)`` (π/2
    where Sx = 0); relative strength ``G = min(gA, gF)/max(gA, gF)``; Γg = 0.9994, κg = −15, σg = 0.5,
    Γα = 0.9879, κα = −22, σα = 0.8. ``mode="vifb"`` sets ``G = gF`` where ``gA == gF`` as the MATLAB port
    does (reproduces VIFB's published values). NaN when neither source has any edge."""
    _check_mode(mode)
    return per_channel(lambda x, y, f: _qabf_grey(x, y, f, mode == "vifb"), a, b, fused)


# ---------------------------------------------------------------------------------------------- EPI
def epi(reference: Any, test: Any) -> float:
    """Edge preservation index (Sattar et al. 1997): correlation coefficient of the Laplacian-filtered
    reference and test images (1 = edges perfectly preserved). Colour: mean over channels."""
    r, t = as_array(reference, "reference"), as_array(test, "test")
    if r.shape != t.shape:
        raise InputError(f"reference has shape {r.shape} but test has shape {t.shape}; expected equal shapes")
    if r.ndim == 3:
        return float(np.mean([epi(r[..., c], t[..., c]) for c in range(r.shape[2])]))
    lr = cv2.Laplacian(r.astype(np.float64), cv2.CV_64F, borderType=cv2.BORDER_REFLECT)
    lt = cv2.Laplacian(t.astype(np.float64), cv2.CV_64F, borderType=cv2.BORDER_REFLECT)
    lr -= lr.mean()
    lt -= lt.mean()
    den = np.sqrt((lr**2).sum() * (lt**2).sum())
    return float((lr * lt).sum() / den) if den > 0 else float("nan")


def fusion_epi(a: Any, b: Any, fused: Any) -> float:
    """EPI of the fused image against each source, averaged (colour per the VIFB convention)."""
    return per_channel(lambda x, y, f: 0.5 * (epi(x, f) + epi(y, f)), a, b, fused)


# ------------------------------------------------------------------------- VIFB's SSIM / PSNR / EN
def _ssim_valid(x: np.ndarray, f: np.ndarray) -> float:
    from scipy.signal import correlate2d

    ax = np.arange(11) - 5
    w = np.exp(-(ax[:, None] ** 2 + ax[None] ** 2) / (2 * 1.5**2))
    w /= w.sum()
    filt = lambda z: correlate2d(z, w, mode="valid")  # noqa: E731
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ux, uf = filt(x), filt(f)
    sxx, sff, sxf = filt(x * x) - ux**2, filt(f * f) - uf**2, filt(x * f) - ux * uf
    return float((((2 * ux * uf + c1) * (2 * sxf + c2)) / ((ux**2 + uf**2 + c1) * (sxx + sff + c2))).mean())


def vifb_ssim(a: Any, b: Any, fused: Any) -> float:
    """VIFB's fusion SSIM: SSIM(A, F) + SSIM(B, F), 11×11 Gaussian σ = 1.5, 'valid' window positions."""
    return per_channel(lambda x, y, f: _ssim_valid(x, f) + _ssim_valid(y, f), a, b, fused)


def vifb_psnr(a: Any, b: Any, fused: Any) -> float:
    """VIFB's fusion PSNR. Note its non-standard "MSE" ``sqrt(Σ(x−f)²)/(M·N)`` averaged over the two
    sources, then ``20·log10(255/sqrt(MSE))``; kept only to reproduce published tables."""

    def one(x: np.ndarray, y: np.ndarray, f: np.ndarray) -> float:
        m = lambda s: np.sqrt(((s - f) ** 2).sum()) / f.size  # noqa: E731
        mse = (m(x) + m(y)) / 2
        return float(20 * np.log10(255 / np.sqrt(mse))) if mse > 0 else float("inf")

    return per_channel(one, a, b, fused)


def vifb_entropy(a: Any, b: Any, fused: Any) -> float:
    """VIFB's EN of the fused image (floor to 256 levels, bits), averaged over fused channels."""

    def one(_x: np.ndarray, _y: np.ndarray, f: np.ndarray) -> float:
        p = np.bincount(np.clip(np.floor(f), 0, 255).astype(np.int64).ravel(), minlength=256) / f.size
        return _entropy(p, np.log2)

    return per_channel(one, a, b, fused)
