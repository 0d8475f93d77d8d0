"""Joint, bone and motion streams (PYSKL) and sequence normalisation, on ``(M, T, V, C)`` arrays."""

from __future__ import annotations

import numpy as np

from smartclass.layouts import Layout

STREAMS = ("joint", "bone", "motion")


def normalise_sequence(kp: np.ndarray, layout: Layout) -> np.ndarray:
    """Translate so the first frame's centre joint is the origin and scale by the mean bone length
    (removes subject position and body size)."""
    kp = kp - kp[:, :1, layout.center : layout.center + 1]
    child, parent = np.asarray(layout.inward).T
    length = np.linalg.norm(kp[:, :, child] - kp[:, :, parent], axis=-1).mean()
    return (kp / (length if length > 1e-8 else 1.0)).astype(np.float32)


def resample(kp: np.ndarray, frames: int, start: float = 0.0, stop: float = 1.0) -> np.ndarray:
    """Linearly resample ``(M, T, V, C)`` to ``frames`` frames over the fraction [start, stop] of the clip."""
    t = kp.shape[1]
    pos = np.linspace(start * (t - 1), stop * (t - 1), frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[None, :, None, None]
    return (kp[:, lo] * (1 - w) + kp[:, hi] * w).astype(np.float32)


def make_streams(kp: np.ndarray, layout: Layout, streams: tuple[str, ...] = STREAMS) -> np.ndarray:
    """``(M, T, V, C)`` → ``(M, C·len(streams), T, V)``: joints, bones (joint − parent), motion (t+1 − t)."""
    parts = []
    for s in streams:
        if s == "joint":
            parts.append(kp)
        elif s == "bone":
            parts.append(kp - kp[:, :, layout.parents()])
        elif s == "motion":
            parts.append(np.concatenate([np.diff(kp, axis=1), np.zeros_like(kp[:, :1])], axis=1))
        else:
            raise ValueError(f"unknown stream '{s}'; expected some of {STREAMS}")
    return np.concatenate(parts, axis=-1).transpose(0, 3, 1, 2).astype(np.float32)


def random_augment(kp: np.ndarray, rng: np.random.Generator, max_angle: float = 0.3, scale: float = 0.1,
                   min_keep: float = 0.8) -> np.ndarray:
    """Random rotation about the vertical axis (±``max_angle`` rad), anisotropic scaling and a random
    temporal crop keeping at least ``min_keep`` of the clip."""
    a = rng.uniform(-max_angle, max_angle)
    c, s = np.cos(a), np.sin(a)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
    out = kp @ R.T * rng.uniform(1 - scale, 1 + scale, size=3).astype(np.float32)
    keep = rng.uniform(min_keep, 1.0)
    start = rng.uniform(0, 1 - keep)
    return resample(out, kp.shape[1], start, start + keep)
