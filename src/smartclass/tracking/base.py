"""The tracker protocol and box geometry (numpy; boxes are ``(N, 4)`` x1, y1, x2, y2 pixels)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Tracker(Protocol):
    """Associates detections of consecutive detection steps.

    ``update(boxes (N, 4), scores (N,), class_ids (N,), t seconds)`` returns ``(N,)`` int track ids, aligned
    with the input rows; ``-1`` marks a detection that belongs to no confirmed track (yet).
    """

    name: str

    def update(self, boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, t: float) -> np.ndarray: ...


def box_overlap(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas ``(N, M)`` of ``a (N, 4)`` and ``b (M, 4)``, and their areas ``(N,)``, ``(M,)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)  # noqa: E731
    return inter, area(a), area(b)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``a (N, 4)`` and ``b (M, 4)`` → ``(N, M)``."""
    inter, area_a, area_b = box_overlap(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, highest score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    iou = box_iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(order), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou[i] > iou_threshold
    return np.array(keep, dtype=int)
