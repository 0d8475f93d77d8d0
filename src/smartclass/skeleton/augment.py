"""Standard skeleton augmentation: random rotation about the vertical axis, scaling, temporal crop."""

from __future__ import annotations

import numpy as np

from smartclass.skeleton.streams import resample


def random_augment(kp: np.ndarray, rng: np.random.Generator, max_angle: float = 0.3, scale: float = 0.1,
                   min_keep: float = 0.8) -> tuple[np.ndarray, float]:
    """Random rotation about the vertical axis (±``max_angle`` rad), anisotropic scaling and a random
    temporal crop keeping at least ``min_keep`` of the clip. Returns the clip (as many rows as ``kp``) and the
    fraction of it the crop kept: the time between two rows shrinks by that factor."""
    a = rng.uniform(-max_angle, max_angle)
    c, s = np.cos(a), np.sin(a)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
    out = kp @ R.T * rng.uniform(1 - scale, 1 + scale, size=3).astype(np.float32)
    keep = rng.uniform(min_keep, 1.0)
    start = rng.uniform(0, 1 - keep)
    return resample(out, kp.shape[1], start, start + keep), keep
