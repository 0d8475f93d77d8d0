"""Smoothing of a student's behaviour sequence: no flicker, real changes kept.

The behaviour stage gives, at each decision time ``t_j`` of a track, class probabilities ``p_j (C,)``
(:mod:`smartclass.analyze.behaviour`). Three smoothers turn them into labels:

* :func:`viterbi` — a sticky hidden Markov model decoded exactly: hidden state = the behaviour, emission
  ``log p_j[c]`` (the window probabilities taken as scaled likelihoods), transition: stay with probability
  ``exp(−Δt/τ)`` (τ = ``mean_duration`` seconds, so a longer gap between decisions makes a change more
  likely), otherwise move to any other behaviour uniformly. A one-decision blip costs two switches and is
  dropped unless its evidence outweighs them; a sustained change is kept, placed where the evidence turns.
  This is the offline default (timelines are re-decoded whenever outputs are flushed).
* :class:`Hysteresis` — online: the shown label changes only when another behaviour has led for ``hold``
  seconds and beats the current one by ``margin``; used for the live console and the annotated video.
* :func:`min_duration` — runs shorter than ``min_seconds`` are merged into the neighbour with more
  evidence (applied after either smoother, so no interval in a timeline is shorter than that).

Shapes: ``times (T,)`` seconds ascending, ``probs (T, C)`` rows summing to 1, labels ``(T,)`` int.
"""

from __future__ import annotations

import numpy as np


def viterbi(times: np.ndarray, probs: np.ndarray, mean_duration: float = 4.0, floor: float = 1e-3) -> np.ndarray:
    """Most likely label sequence of the sticky HMM above (exact dynamic programme, O(T·C²))."""
    probs = np.asarray(probs, np.float64)
    T, C = probs.shape if probs.ndim == 2 else (0, 0)
    if T == 0:
        return np.zeros(0, int)
    if C == 1:
        return np.zeros(T, int)
    emit = np.log(np.clip(probs, floor, None))
    dt = np.diff(np.asarray(times, np.float64), prepend=times[0])
    score = emit[0].copy()
    back = np.zeros((T, C), int)
    for j in range(1, T):
        stay = np.exp(-max(dt[j], 1e-6) / mean_duration)
        log_stay, log_move = np.log(max(stay, 1e-12)), np.log(max((1 - stay) / (C - 1), 1e-12))
        best_other = np.argsort(score)[::-1]
        top, second = best_other[0], best_other[1]
        # best predecessor of state c among the others: the overall best unless it is c itself
        other_idx = np.where(np.arange(C) == top, second, top)
        move = score[other_idx] + log_move
        keep = score + log_stay
        back[j] = np.where(keep >= move, np.arange(C), other_idx)
        score = np.maximum(keep, move) + emit[j]
    out = np.zeros(T, int)
    out[-1] = int(np.argmax(score))
    for j in range(T - 1, 0, -1):
        out[j - 1] = back[j, out[j]]
    return out


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """``(label, first, last + 1)`` of each run of equal labels."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return []
    cut = np.flatnonzero(np.diff(labels)) + 1
    starts = np.r_[0, cut]
    ends = np.r_[cut, len(labels)]
    return [(int(labels[a]), int(a), int(b)) for a, b in zip(starts, ends)]


def min_duration(times: np.ndarray, labels: np.ndarray, probs: np.ndarray | None, min_seconds: float) -> np.ndarray:
    """Merge runs shorter than ``min_seconds`` into a neighbour, shortest run first; the neighbour whose
    behaviour has more probability mass over the short run wins (the longer neighbour without ``probs``).
    A sequence that is one short run stays as it is."""
    labels = np.asarray(labels).copy()
    times = np.asarray(times, np.float64)
    if len(labels) < 2 or min_seconds <= 0:
        return labels
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    while True:
        rs = runs(labels)
        if len(rs) < 2:
            return labels
        dur = [times[b - 1] - times[a] + step for _, a, b in rs]
        k = int(np.argmin(dur))
        if dur[k] >= min_seconds:
            return labels
        lab, a, b = rs[k]
        cands = [rs[i] for i in (k - 1, k + 1) if 0 <= i < len(rs)]
        if probs is not None:
            mass = [float(np.asarray(probs)[a:b, c[0]].sum()) for c in cands]
            pick = cands[int(np.argmax(mass))]
        else:
            pick = max(cands, key=lambda c: c[2] - c[1])
        labels[a:b] = pick[0]


class Hysteresis:
    """Online smoother (see the module doc): ``update(t, p) -> label`` shown at time ``t``."""

    def __init__(self, hold: float = 1.0, margin: float = 0.1) -> None:
        self.hold, self.margin = hold, margin
        self.label: int | None = None
        self._cand: int | None = None
        self._since = 0.0

    def update(self, t: float, p: np.ndarray) -> int:
        p = np.asarray(p, np.float64)
        best = int(np.argmax(p))
        if self.label is None:
            self.label = best
            return best
        if best == self.label or p[best] < p[self.label] + self.margin:
            self._cand = None
            return self.label
        if self._cand != best:
            self._cand, self._since = best, t
        if t - self._since >= self.hold:
            self.label, self._cand = best, None
        return self.label


def smooth_labels(times: np.ndarray, probs: np.ndarray, method: str = "viterbi", mean_duration: float = 4.0,
                  min_seconds: float = 1.0, hold: float = 1.0, margin: float = 0.1) -> np.ndarray:
    """Labels of one track by ``method``: ``'viterbi'`` (default), ``'hysteresis'`` or ``'none'`` (per-decision
    argmax); the first two are followed by :func:`min_duration`."""
    probs = np.asarray(probs, np.float64)
    if len(probs) == 0:
        return np.zeros(0, int)
    if method == "none":
        return probs.argmax(1)
    if method == "viterbi":
        lab = viterbi(times, probs, mean_duration)
    elif method == "hysteresis":
        h = Hysteresis(hold, margin)
        lab = np.array([h.update(t, p) for t, p in zip(times, probs)])
    else:
        from smartclass.errors import ConfigError

        raise ConfigError(f"--smoothing: expected 'viterbi', 'hysteresis' or 'none', got '{method}'")
    return min_duration(times, lab, probs, min_seconds)
