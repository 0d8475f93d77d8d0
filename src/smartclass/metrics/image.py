"""Image-quality metrics: PSNR, SSIM (Wang et al. 2004, Gaussian window), entropy (EN) and the normalised
mutual information (NMI, 0..1) of a test image against its reference.

All functions take numpy arrays (or torch tensors, converted) of shape ``(H, W)`` or ``(H, W, C)``;
colour images are scored per channel and averaged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from smartclass.errors import InputError


def as_array(x: Any, name: str = "image") -> np.ndarray:
    """numpy view of an array or torch tensor; rejects empty, non-numeric and non-finite input by name."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.size == 0:
        raise InputError(f"{name} is empty")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise InputError(f"{name} must be numeric, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.inexact) and not np.isfinite(a).all():
        raise InputError(f"{name} holds NaN or inf at {int((~np.isfinite(a)).sum())} of {a.size} values; "
                         "expected finite intensities")
    return a


def load_image(path: str | Path, what: str = "image") -> np.ndarray:
    """An 8-bit image file as stored (grey stays grey; colour as RGB, alpha dropped). Refused with an error
    naming ``what`` and the file: missing, a folder, not decodable, truncated (PNG without IEND, JPEG without
    its end marker), or not 8-bit (16-bit or float images: PSNR/SSIM here assume levels 0–255)."""
    from smartclass.errors import DataError
    from smartclass.io import image_file_problem

    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} image '{path}' does not exist")
    if not path.is_file():
        raise DataError(f"{what} image '{path}' is a folder; expected an image file")
    problem = image_file_problem(path)
    if problem:
        raise DataError(f"{what} image '{path}' is a {problem}")
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise DataError(f"{what} image '{path}' could not be decoded (not an image, or corrupt)")
    if img.dtype != np.uint8:
        bad = "" if np.issubdtype(img.dtype, np.integer) or np.isfinite(img).all() else ", some of them NaN or inf"
        raise DataError(f"{what} image '{path}' holds {img.dtype} values{bad}; expected an 8-bit image (levels "
                        "0–255; convert 16-bit or float images first)")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return img[..., ::-1].copy() if img.ndim == 3 else img


def _same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise InputError(f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; expected equal shapes")


def psnr(reference: Any, test: Any, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB: ``10·log10(MAX² / MSE)`` over all pixels and channels.

    ``MSE = 1`` with ``MAX = 255`` gives 48.1308 dB; identical images give ``inf``.
    """
    r = as_array(reference, "reference").astype(np.float64)
    t = as_array(test, "test").astype(np.float64)
    _same_shape(r, t, ("reference", "test"))
    mse = float(np.mean((r - t) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def _gaussian_filter(x: np.ndarray, sigma: float, size: int) -> np.ndarray:
    # 'valid' filtering like scikit-image's use of scipy.ndimage with mode='reflect' then crop:
    # we filter with reflect padding and crop (size-1)/2 from each border afterwards.
    return cv2.GaussianBlur(x, (size, size), sigma, borderType=cv2.BORDER_REFLECT)


def ssim(
    reference: Any,
    test: Any,
    data_range: float = 255.0,
    sigma: float = 1.5,
    size: int = 11,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean structural similarity (Wang et al. 2004) with an ``size``×``size`` Gaussian window (σ = 1.5).

    Matches ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range)``: statistics by Gaussian filtering with
    reflected borders, the mean taken over the image cropped by ``(size − 1) / 2`` at each border.
    Colour images: mean over channels.
    """
    r = as_array(reference, "reference").astype(np.float64)
    t = as_array(test, "test").astype(np.float64)
    _same_shape(r, t, ("reference", "test"))
    if r.ndim == 3:
        return float(np.mean([ssim(r[..., c], t[..., c], data_range, sigma, size, k1, k2) for c in range(r.shape[2])]))
    if r.ndim != 2:
        raise InputError(f"ssim expects (H, W) or (H, W, C) images, got shape {r.shape}")
    # skimage truncates the Gaussian at 3.5σ → an 11×11 window for σ = 1.5
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_r, mu_t = _gaussian_filter(r, sigma, size), _gaussian_filter(t, sigma, size)
    rr = _gaussian_filter(r * r, sigma, size) - mu_r**2
    tt = _gaussian_filter(t * t, sigma, size) - mu_t**2
    rt = _gaussian_filter(r * t, sigma, size) - mu_r * mu_t
    s = ((2 * mu_r * mu_t + c1) * (2 * rt + c2)) / ((mu_r**2 + mu_t**2 + c1) * (rr + tt + c2))
    pad = (size - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean()) if min(s.shape) > 2 * pad else float(s.mean())


def to_uint8_grey(x: Any, name: str = "image") -> np.ndarray:
    """8-bit grey levels: uint8 kept, colour converted with ITU-R 601 weights, floats in [0, 1] scaled."""
    a = as_array(x, name)
    if a.ndim == 3:
        if a.shape[2] == 1:
            a = a[..., 0]
        elif a.shape[2] == 3:
            a = a.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        else:
            raise InputError(f"{name} has {a.shape[2]} channels; expected 1 or 3")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        if a.max(initial=0) <= 1.0:
            a = a * 255.0
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return a


def entropy(image: Any) -> float:
    """EN: Shannon entropy in bits of the 256-bin grey histogram, ``−Σ p·log2 p``.

    256 equally frequent levels give 8.0; a constant image gives 0.
    """
    g = to_uint8_grey(image)
    p = np.bincount(g.ravel(), minlength=256).astype(np.float64)
    p = p[p > 0] / g.size
    return float(-(p * np.log2(p)).sum())


def normalised_mutual_information(reference: Any, test: Any, bins: int = 256) -> float:
    """NMI in [0, 1]: ``2·I(R; T) / (H(R) + H(T))`` (the symmetric uncertainty, Witten & Frank), from a
    ``bins × bins`` joint histogram of the 8-bit grey levels (:func:`to_uint8_grey`; levels are grouped
    ``256 / bins`` to a bin). The log base cancels. 1 for identical images, and for any one-to-one
    re-mapping of the grey levels; ≈ 0 for independent images (the plug-in estimate is biased up by about
    ``(bins − 1)² / (2·N)`` nats of MI for N pixels). Two constant images give 1 (each predicts the other);
    exactly one constant image gives 0. This is the unit of paper 002's "mutual information" column (0.85)."""
    if not 2 <= bins <= 256 or 256 % bins:
        raise InputError(f"bins must divide 256 and be at least 2, got {bins}")
    r, t = to_uint8_grey(reference, "reference"), to_uint8_grey(test, "test")
    _same_shape(r, t, ("reference", "test"))
    step = 256 // bins
    joint = np.bincount((r.ravel() // step).astype(np.int64) * bins + t.ravel() // step,
                        minlength=bins * bins).astype(np.float64).reshape(bins, bins) / r.size

    def h(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    hr, ht = h(joint.sum(1)), h(joint.sum(0))
    if hr + ht == 0:
        return 1.0
    return float(np.clip(2 * (hr + ht - h(joint.ravel())) / (hr + ht), 0.0, 1.0))
