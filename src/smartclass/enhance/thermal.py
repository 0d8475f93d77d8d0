"""Thermal enhancement (paper 002 §3.2): CLAHE widens the temperature contrast (faces, hands) and a
pseudo-colour map turns it into discriminative colour, while the °C values are kept for attention features.

Thermal images are ``float32`` degrees Celsius ``(H, W)``. Pseudo-colour images are **RGB** (OpenCV's
``applyColorMap`` returns BGR; it is converted here).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from smartclass.errors import InputError


@dataclass(frozen=True)
class ThermalEnhanced:
    """Result of :func:`enhance_thermal`."""

    temperature: np.ndarray  #: ``(H, W)`` float32 °C: the input, bit for bit (non-finite pixels filled if asked)
    equalised: np.ndarray  #: ``(H, W)`` uint8: ``t_range`` mapped to 0–255, then CLAHE
    pseudo_colour: np.ndarray  #: ``(H, W, 3)`` uint8 RGB: ``equalised`` through the colour map
    t_range: tuple[float, float]  #: the °C interval mapped to 0–255 (given, or found from percentiles)
    filled: np.ndarray  #: ``(H, W)`` bool: pixels that were NaN/inf and were filled (all False otherwise)


@functools.lru_cache(maxsize=32)
def colormap_rgb(colormap: int) -> np.ndarray:
    """OpenCV colour map ``colormap`` as an RGB lookup table ``(256, 1, 3)`` uint8 for
    ``cv2.applyColorMap(levels, table)`` (RGB out directly; treat as read-only)."""
    levels = np.arange(256, dtype=np.uint8)[:, None]
    table = cv2.cvtColor(cv2.applyColorMap(levels, colormap), cv2.COLOR_BGR2RGB).reshape(256, 1, 3)
    table.setflags(write=False)
    return table


def fill_nonfinite(temp_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN/inf pixels by the median of their finite 3×3 neighbours, growing inwards ring by ring
    until none is left. Returns ``(filled copy, mask of the filled pixels)``; needs one finite pixel."""
    t = np.array(temp_c, dtype=np.float32)
    bad = ~np.isfinite(t)
    if bad.all():
        raise InputError("temp_c has no finite temperature; expected at least one finite value to fill from")
    t[bad] = np.nan
    todo = bad.copy()
    while todo.any():
        ys, xs = np.nonzero(todo)
        windows = np.lib.stride_tricks.sliding_window_view(np.pad(t, 1, constant_values=np.nan), (3, 3))[ys, xs]
        windows = windows.reshape(len(ys), 9)
        ok = np.isfinite(windows).any(axis=1)
        t[ys[ok], xs[ok]] = np.nanmedian(windows[ok], axis=1)  # all at once: one ring per pass
        todo[ys[ok], xs[ok]] = False
    return t, bad


def enhance_thermal(temp_c: np.ndarray, clip_limit: float = 2.0, tiles: int = 8,
                    t_range: tuple[float, float] | None = (15.0, 45.0), colormap: int = cv2.COLORMAP_INFERNO,
                    nan_policy: str = "raise", auto_percentiles: tuple[float, float] = (1.0, 99.0),
                    *, name: str = "temp_c") -> ThermalEnhanced:
    """Equalise and pseudo-colour a thermal image ``(H, W)`` in °C.

    ``t_range`` (°C) is mapped linearly onto 0–255 (values outside are clipped; 0.12 °C per level for the
    default 30 °C span); ``None`` uses the ``auto_percentiles`` of the image instead. CLAHE then runs with
    the explicit ``clip_limit`` on a ``tiles`` × ``tiles`` grid, and ``colormap`` (an OpenCV colour map id)
    gives the RGB pseudo-colour. ``nan_policy``: ``'raise'`` (default) rejects NaN/inf temperatures with
    their count; ``'fill'`` replaces them by the local median (:func:`fill_nonfinite`) and records them in
    ``filled``. ``name`` is the argument name that error messages use (callers pass their own)."""
    t = np.asarray(temp_c)
    if t.ndim != 2:
        raise InputError(f"{name} must be a single-channel (H, W) image in °C, got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.floating):
        raise InputError(f"{name} must be float °C (float32), got dtype {t.dtype}")
    if nan_policy not in ("raise", "fill"):
        raise InputError(f"nan_policy must be 'raise' or 'fill', got {nan_policy!r}")
    if not clip_limit > 0 or tiles < 1:
        raise InputError(f"clip_limit must be > 0 and tiles >= 1, got clip_limit={clip_limit}, tiles={tiles}")
    n_bad = int(np.count_nonzero(~np.isfinite(t)))
    if n_bad and nan_policy == "raise":
        raise InputError(f"{name} has {n_bad} NaN/inf temperature(s) of {t.size}; expected finite °C "
                         "(or pass nan_policy='fill' to fill them with the local median)")
    if n_bad:
        if n_bad == t.size:
            raise InputError(f"{name} has no finite temperature; expected at least one finite value to fill from")
        temperature, filled = fill_nonfinite(t)
    else:
        temperature, filled = np.array(t, dtype=np.float32), np.zeros(t.shape, bool)
    if t_range is None:
        lo, hi = (float(p) for p in np.percentile(temperature, auto_percentiles))
        hi = max(hi, lo + 1.0)  # a (nearly) uniform image: 1 °C span, not a division by zero
    else:
        lo, hi = float(t_range[0]), float(t_range[1])
        if not hi > lo:
            raise InputError(f"t_range must be (low, high) °C with high > low, got {t_range}")
    scaled = np.clip((temperature - lo) * (255.0 / (hi - lo)), 0, 255)
    u8 = np.rint(scaled).astype(np.uint8)
    equalised = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(tiles, tiles)).apply(u8)
    pseudo = cv2.applyColorMap(equalised, colormap_rgb(colormap))
    return ThermalEnhanced(temperature, equalised, pseudo, (lo, hi), filled)
