"""Detection metrics: pairwise IoU, precision/recall, AP@0.5 (VOC all-point) and COCO mAP@[.5:.95].

Boxes are ``(x1, y1, x2, y2)`` in pixels. Predictions and ground truths are given per image as dicts:
``{"boxes": (N, 4), "scores": (N,), "labels": (N,)}`` and ``{"boxes": (M, 4), "labels": (M,)}``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from smartclass.errors import InputError
from smartclass.metrics.image import as_array


def _boxes(x: Any, name: str) -> np.ndarray:
    b = as_array(x, name) if np.size(x) else np.zeros((0, 4))
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4) if b.size else np.zeros((0, 4))
    if np.any(b[:, 2] < b[:, 0]) or np.any(b[:, 3] < b[:, 1]):
        raise InputError(f"{name} must be (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1")
    return b


def box_iou(a: Any, b: Any) -> np.ndarray:
    """``(N, 4)`` × ``(M, 4)`` → ``(N, M)`` intersection over union (0 where the union is empty)."""
    a, b = _boxes(a, "boxes a"), _boxes(b, "boxes b")
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _match_class(preds: Sequence[dict], gts: Sequence[dict], cls: int, thr: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Greedy matching by descending score (VOC): returns (scores, is_true_positive, num_gt)."""
    scores, tps, n_gt = [], [], 0
    for p, g in zip(preds, gts):
        gb = _boxes(g["boxes"], "ground-truth boxes")[np.asarray(g["labels"]).reshape(-1) == cls]
        n_gt += len(gb)
        pmask = np.asarray(p["labels"]).reshape(-1) == cls
        pb = _boxes(p["boxes"], "predicted boxes")[pmask]
        ps = np.asarray(p["scores"], dtype=np.float64).reshape(-1)[pmask]
        order = np.argsort(-ps, kind="stable")
        pb, ps = pb[order], ps[order]
        iou = box_iou(pb, gb) if len(gb) else np.zeros((len(pb), 0))
        taken = np.zeros(len(gb), dtype=bool)
        for i in range(len(pb)):
            tp = False
            if iou.shape[1]:
                cand = np.where(taken, -1.0, iou[i])
                j = int(np.argmax(cand))
                if cand[j] >= thr:
                    taken[j] = tp = True
            tps.append(tp)
        scores.extend(ps.tolist())
    return np.asarray(scores), np.asarray(tps, dtype=bool), n_gt


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC all-point interpolated AP: area under the monotone precision envelope."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    idx = np.where(r[1:] != r[:-1])[0]
    return float(((r[idx + 1] - r[idx]) * p[idx + 1]).sum())


def precision_recall(preds: Sequence[dict], gts: Sequence[dict], cls: int, iou_threshold: float = 0.5):
    """Cumulative precision and recall over predictions of class ``cls`` sorted by score."""
    scores, tp, n_gt = _match_class(preds, gts, cls, iou_threshold)
    order = np.argsort(-scores, kind="stable")
    tp = tp[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
    recall = ctp / max(n_gt, 1)
    precision = ctp / np.maximum(ctp + cfp, 1)
    return precision, recall, n_gt


def mean_average_precision(preds: Sequence[dict], gts: Sequence[dict], num_classes: int,
                           iou_thresholds: Sequence[float] = (0.5,)) -> dict:
    """Mean over classes (with ground truth) and IoU thresholds of VOC all-point AP.

    ``iou_thresholds=(0.5,)`` gives AP@0.5; ``np.arange(0.5, 0.96, 0.05)`` gives COCO-style mAP@[.5:.95]
    (computed with all-point interpolation rather than COCO's 101-point sampling)."""
    if len(preds) != len(gts):
        raise InputError(f"{len(preds)} prediction entries but {len(gts)} ground-truth entries; expected one per image")
    per_class: dict[int, float] = {}
    for c in range(num_classes):
        aps = []
        for thr in iou_thresholds:
            precision, recall, n_gt = precision_recall(preds, gts, c, thr)
            if n_gt == 0:
                break
            aps.append(average_precision(recall, precision) if len(recall) else 0.0)
        if aps:
            per_class[c] = float(np.mean(aps))
    return {"map": float(np.mean(list(per_class.values()))) if per_class else float("nan"), "per_class": per_class}


def coco_map(preds: Sequence[dict], gts: Sequence[dict], num_classes: int) -> float:
    """mAP averaged over IoU 0.50:0.05:0.95."""
    return mean_average_precision(preds, gts, num_classes, tuple(np.round(np.arange(0.5, 0.96, 0.05), 2)))["map"]
