"""A temporal model over one tracked student: paper 000's attention LSTM (§2.2, eqs. 1–9) on the per-step
features of the track, giving the behaviour at the track's latest step.

Per detection step ``j`` of a track (time ``t_j``, box ``(x1, y1, x2, y2)`` with width ``w_j``, height ``h_j``
and centre ``(cx_j, cy_j)`` in a ``W × H`` frame, detector score ``s_j``, class posterior ``p_j (C,)``),
:func:`track_features` gives the ``C + 9`` features

    p_j,  s_j,  o_j = s_j / max_c p_j[c],  log(h_j / w_j),  h_j / H,  cy_j / H,
    (cx_j − cx_{j−1}) / w_j,  (cy_j − cy_{j−1}) / h_j,  log(h_j / h_{j−1}),  min(t_j − t_{j−1}, 2 s)

(the motion terms are 0 at a track's first step). :func:`window_tensor` stacks the last ``window`` steps of
each track, left-padded with zeros, plus a 0/1 channel that marks the real steps: ``(N, window, C + 10)``.

:class:`TrackTemporal`: a per-step linear embedding with ReLU (and dropout while training), then
:class:`~smartclass.models.detector.temporal.AttentionLSTM` (eqs. 1–6 the LSTM, eq. 8 the attention of the
current state over the window, eq. 7 the context, eq. 9 the softmax over the ``C`` behaviours):
``(N, window, C + 10)`` → ``(N, C)`` class probabilities. Registered as ``"track_temporal"``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from smartclass.errors import InputError
from smartclass.models.detector.temporal import AttentionLSTM
from smartclass.models.registry import register_model

TAG = "track_temporal"
EXTRA_FEATURES = 9  # per-step features besides the C class probabilities (module doc)


def track_features(times: np.ndarray, boxes: np.ndarray, scores: np.ndarray, probs: np.ndarray,
                   frame_size: tuple[int, int]) -> np.ndarray:
    """``times (T,)``, ``boxes (T, 4)``, ``scores (T,)``, ``probs (T, C)``, ``frame_size (W, H)`` →
    ``(T, C + 9)`` float32 (module doc)."""
    times = np.asarray(times, np.float64).reshape(-1)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(scores, np.float64).reshape(-1)
    probs = np.asarray(probs, np.float64).reshape(len(times), -1)
    if not len(times) == len(boxes) == len(scores):
        raise InputError(f"track_features: {len(times)} times, {len(boxes)} boxes, {len(scores)} scores")
    W, H = float(frame_size[0]), float(frame_size[1])
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 1.0)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    prev = lambda a: np.r_[a[:1], a[:-1]]  # noqa: E731 - the previous step's value (itself at the first)
    obj = scores / np.maximum(probs.max(1), 1e-6) if probs.shape[1] else scores
    extra = np.stack([scores, np.clip(obj, 0, 1), np.log(h / w), h / H, cy / H, (cx - prev(cx)) / w,
                      (cy - prev(cy)) / h, np.log(h / prev(h)), np.minimum(times - prev(times), 2.0)], 1)
    return np.concatenate([probs, extra], 1).astype(np.float32)


def window_tensor(features: list[np.ndarray], window: int) -> torch.Tensor:
    """The last ``window`` rows of each ``(T_i, F)`` feature array, left-padded with zeros, with a last
    channel of 1 on real rows: ``(N, window, F + 1)``."""
    if not features:
        raise InputError("window_tensor: no tracks")
    F = features[0].shape[1]
    out = np.zeros((len(features), window, F + 1), np.float32)
    for i, f in enumerate(features):
        f = f[-window:]
        if len(f):
            out[i, window - len(f):, :F] = f
            out[i, window - len(f):, F] = 1.0
    return torch.from_numpy(out)


class TrackTemporal(nn.Module):
    """``(N, window, num_classes + 10)`` → behaviour probabilities ``(N, num_classes)`` (module doc)."""

    def __init__(self, num_classes: int, window: int = 16, hidden: int = 64, class_names: list[str] | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_classes < 2 or window < 1 or hidden < 1:
            raise InputError(f"TrackTemporal: num_classes ≥ 2, window ≥ 1, hidden ≥ 1 expected, "
                             f"got {num_classes}, {window}, {hidden}")
        self.num_classes, self.window, self.hidden = num_classes, window, hidden
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.in_features = num_classes + EXTRA_FEATURES + 1
        self.dropout = float(dropout)
        self.embed = nn.Sequential(nn.Linear(self.in_features, hidden), nn.ReLU(), nn.Dropout(self.dropout))
        self.temporal = AttentionLSTM(hidden, hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.in_features:
            raise InputError(f"TrackTemporal input must be (N, T, {self.in_features}), got {tuple(x.shape)}")
        return self.temporal(self.embed(x))

    def config(self) -> dict:
        return {"num_classes": self.num_classes, "window": self.window, "hidden": self.hidden,
                "class_names": list(self.class_names), "dropout": self.dropout}


register_model(TAG, lambda cfg: TrackTemporal(**cfg))
