"""The IoU tracker: the simple baseline (Bochinski et al. 2017, greedy, no motion model)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from smartclass.tracking.base import box_iou


class IoUTracker:
    """Matches each detection to the track whose last box overlaps it most (Hungarian on IoU, threshold
    ``min_iou``); unmatched detections with score ≥ ``min_score`` start new tracks; a track unseen for more
    than ``max_age_s`` seconds ends. No motion prediction, no low-score recovery: the baseline ByteTrack is
    compared against."""

    name = "iou"

    def __init__(self, min_iou: float = 0.3, min_score: float = 0.3, max_age_s: float = 1.0) -> None:
        self.min_iou, self.min_score, self.max_age_s = min_iou, min_score, max_age_s
        self._boxes = np.zeros((0, 4))
        self._ids = np.zeros(0, int)
        self._last = np.zeros(0)
        self._next = 1

    def update(self, boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, t: float) -> np.ndarray:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        alive = t - self._last <= self.max_age_s
        self._boxes, self._ids, self._last = self._boxes[alive], self._ids[alive], self._last[alive]
        out = np.full(len(boxes), -1, int)
        if len(boxes) and len(self._boxes):
            iou = box_iou(self._boxes, boxes)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.min_iou:
                    out[c] = self._ids[r]
                    self._boxes[r] = boxes[c]
                    self._last[r] = t
        new = np.where((out < 0) & (scores >= self.min_score))[0]
        for c in new:
            out[c] = self._next
            self._next += 1
        if len(new):
            self._boxes = np.concatenate([self._boxes, boxes[new]])
            self._ids = np.concatenate([self._ids, out[new]])
            self._last = np.concatenate([self._last, np.full(len(new), t)])
        return out
