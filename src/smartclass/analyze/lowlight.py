"""Low-light enhancement where, and only where, the frame is dark.

The illumination of a frame is measured by its mean BT.601 luma and turned into a gate ``g`` in [0, 1] by
:func:`gate` (the smoothstep of :func:`smartclass.enhance.differentiable.illumination_gate`) with the thresholds :data:`ANALYZE_GATE` (0.25,
0.33). The enhancement module's own :data:`~smartclass.enhance.differentiable.FRAME_GATE` (0.40, 0.46) sits in
the gap between SmartClass-Synth's low-light (≤ 0.31) and normal (≥ 0.51) frames, but real, normally lit
classrooms are dimmer than the synthetic ones: the lecture-hall video of ``../shared/data/video`` has a mean
luma of 0.41 and would be enhanced. The analysis gate lies below that and still covers the synthetic low-light
frames (0.16–0.32 on the test split, one mild clip at 0.45 passes untouched). A frame with ``g = 0``
is passed through untouched (the same array: a well-lit lesson loses nothing, and it costs one mean); a dark
frame becomes ``I + g·(E(I) − I)`` with ``E`` paper 002's Retinex with multi-scale weighted guided filtering
(§3.2, eqs. 1–2, :func:`smartclass.enhance.retinex.multiscale_weighted_guided_retinex`). Only frames that go
to the detector are measured and enhanced.
"""

from __future__ import annotations

import numpy as np

from smartclass.enhance.differentiable import LUMA, smoothstep_gate

ANALYZE_GATE = (0.25, 0.33)
"""``(dark, bright)`` mean-luma thresholds of the analysis: fully enhanced at or below 0.25, untouched at or above 0.33."""


def mean_luma(rgb: np.ndarray, step: int = 4) -> float:
    """Mean BT.601 luma in [0, 1] of an RGB ``(H, W, 3) uint8`` frame, on every ``step``-th pixel."""
    sub = rgb[::step, ::step].reshape(-1, 3).astype(np.float32)
    return float((sub @ np.asarray(LUMA, np.float32)).mean() / 255.0) if sub.size else 0.0


def gate(luma: float, dark: float, bright: float) -> float:
    """The enhancement module's gate (:func:`~smartclass.enhance.differentiable.smoothstep_gate`) on a mean luma
    measured here in numpy on a subsampled frame (the torch round trip of the enhancement module's frame path
    costs more than the rest of this stage on a loaded CPU)."""
    return smoothstep_gate(luma, dark, bright)


class DarkFrameEnhancer:
    """``enhancer(rgb) -> (frame for the detector, dark?)`` (see the module doc)."""

    def __init__(self, dark: float = ANALYZE_GATE[0], bright: float = ANALYZE_GATE[1], enabled: bool = True) -> None:
        self.dark, self.bright, self.enabled = dark, bright, enabled

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        g = gate(mean_luma(rgb), self.dark, self.bright)
        if g <= 0.0 or not self.enabled:
            return rgb, g > 0.0
        from smartclass.enhance.retinex import multiscale_weighted_guided_retinex

        enhanced = multiscale_weighted_guided_retinex(rgb)
        if g >= 1.0:
            return enhanced, True
        mix = rgb.astype(np.float32) + g * (enhanced.astype(np.float32) - rgb.astype(np.float32))
        return np.clip(mix + 0.5, 0, 255).astype(np.uint8), True
