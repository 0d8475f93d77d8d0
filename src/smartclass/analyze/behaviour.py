"""Per-student behaviour over a sliding window of the track.

At every detection step a tracked student has a detector class ``c_j`` with score ``s_j``. The behaviour
probabilities at decision time ``t`` are the confidence-weighted vote of the detections in the window
``(t − W, t]`` (``W`` = ``window`` seconds, default 1 s)::

    p_t[c] = (Σ_j s_j·w_j·[c_j = c] + α) / (Σ_j s_j·w_j + α·C),   w_j = exp(−(t − t_j)/W)

with a small Laplace term α (0.05) so no probability is exactly zero (the HMM of
:mod:`smartclass.analyze.smoothing` takes logs). :class:`StudentRecord` keeps a student's whole history
(times, boxes, classes, scores, the detector's class posteriors, and the behaviour probabilities — the window's,
or the track temporal model's when :mod:`smartclass.analyze.temporal` replaces them, fused with paper 002's
recogniser's where :mod:`smartclass.analyze.recognise` runs); the timeline is built from it at every flush.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StudentRecord:
    """Everything seen of one student (id ``sid``): per decision time, box, detector class and score, the
    detector's class posterior ``det_probs`` (one-hot of the class without one), and the behaviour
    probabilities ``probs`` over ``C`` classes."""

    sid: int
    num_classes: int
    window: float = 1.0
    alpha: float = 0.05
    times: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    det_probs: list[np.ndarray] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    rec_probs: list[np.ndarray | None] = field(default_factory=list)  # the recogniser's, where it runs

    def add(self, t: float, box: np.ndarray, class_id: int, score: float,
            class_probs: np.ndarray | None = None) -> np.ndarray:
        """Record a detection at ``t``; returns the window probabilities ``(C,)`` at ``t``."""
        self.times.append(float(t))
        self.boxes.append(np.asarray(box, np.float32))
        self.classes.append(int(class_id))
        self.scores.append(float(score))
        self.det_probs.append(np.eye(self.num_classes, dtype=np.float32)[int(class_id)] if class_probs is None
                              else np.asarray(class_probs, np.float32))
        vote = np.full(self.num_classes, self.alpha)
        for tj, cj, sj in zip(reversed(self.times), reversed(self.classes), reversed(self.scores)):
            if t - tj >= self.window:
                break
            vote[cj] += sj * np.exp(-(t - tj) / self.window)
        p = vote / vote.sum()
        self.probs.append(p)
        self.rec_probs.append(None)
        return p

    @property
    def last_seen(self) -> float:
        return self.times[-1] if self.times else float("-inf")

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``times (T,)``, ``probs (T, C)``."""
        if not self.times:
            return np.zeros(0), np.zeros((0, self.num_classes))
        return np.asarray(self.times), np.stack(self.probs)
