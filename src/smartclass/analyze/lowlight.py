"""Low-light enhancement where, and only where, the frame is dark.

The illumination of a frame is its mean luma ``Y = (0.299 R + 0.587 G + 0.114 B) / 255`` measured on every
4th pixel of each axis (cheap, and a mean needs no more). A frame with ``Y < threshold`` (default 0.25) is
enhanced with paper 002's Retinex with multi-scale weighted guided filtering (§3.2, eqs. 1–2,
:func:`smartclass.enhance.retinex.multiscale_weighted_guided_retinex`) before the detector sees it; any other
frame is passed through untouched (the same array), so a well-lit lesson loses nothing. Only frames that go to
the detector are measured and enhanced.
"""

from __future__ import annotations

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114], np.float32) / 255.0


def mean_luma(rgb: np.ndarray, step: int = 4) -> float:
    """Mean luma in [0, 1] of an RGB ``(H, W, 3) uint8`` frame, on every ``step``-th pixel."""
    sub = rgb[::step, ::step].reshape(-1, 3).astype(np.float32)
    return float((sub @ _LUMA).mean()) if sub.size else 0.0


class DarkFrameEnhancer:
    """``enhancer(rgb) -> (frame for the detector, dark?)`` (see the module doc)."""

    def __init__(self, threshold: float = 0.25, enabled: bool = True) -> None:
        self.threshold, self.enabled = threshold, enabled

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        dark = mean_luma(rgb) < self.threshold
        if not (dark and self.enabled):
            return rgb, dark
        from smartclass.enhance.retinex import multiscale_weighted_guided_retinex

        return multiscale_weighted_guided_retinex(rgb), True
