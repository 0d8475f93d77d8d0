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


COCO_THRESHOLDS: tuple[float, ...] = tuple(float(t) for t in np.round(np.arange(0.5, 0.96, 0.05), 2))


def confusion_matrix(preds: Sequence[dict], gts: Sequence[dict], num_classes: int, conf_threshold: float = 0.25,
                     iou_threshold: float = 0.5) -> np.ndarray:
    """``(C+1, C+1)`` detection confusion matrix: rows true class, columns predicted class, index ``C`` the
    background (row ``C``: false positives; column ``C``: missed objects).

    Per image, predictions with score ≥ ``conf_threshold`` are matched one-to-one to ground truths of any
    class, pairs taken by descending IoU while IoU ≥ ``iou_threshold`` (as Ultralytics' matrix)."""
    C = num_classes
    cm = np.zeros((C + 1, C + 1), dtype=np.int64)
    for p, g in zip(preds, gts):
        keep = np.asarray(p["scores"], dtype=np.float64).reshape(-1) >= conf_threshold
        pb = _boxes(p["boxes"], "predicted boxes")[keep]
        pl = np.asarray(p["labels"], dtype=np.int64).reshape(-1)[keep]
        gb = _boxes(g["boxes"], "ground-truth boxes")
        gl = np.asarray(g["labels"], dtype=np.int64).reshape(-1)
        iou = box_iou(gb, pb) if len(gb) and len(pb) else np.zeros((len(gb), len(pb)))
        gi, pi = np.nonzero(iou >= iou_threshold)
        order = np.argsort(-iou[gi, pi], kind="stable")
        g_used, p_used = np.zeros(len(gb), bool), np.zeros(len(pb), bool)
        for a, b in zip(gi[order], pi[order]):
            if not g_used[a] and not p_used[b]:
                g_used[a] = p_used[b] = True
                cm[gl[a], pl[b]] += 1
        np.add.at(cm, (gl[~g_used], C), 1)
        np.add.at(cm, (C, pl[~p_used]), 1)
    return cm


def detection_report(preds: Sequence[dict], gts: Sequence[dict], class_names: Sequence[str],
                     conf_threshold: float = 0.25) -> dict:
    """Everything ``detect-eval`` reports, as strict-JSON-ready values.

    - ``per_class[name]``: ``ap50`` (VOC all-point AP at IoU 0.5), ``ap50_95`` (mean over IoU
      0.50:0.05:0.95), ``precision`` and ``recall`` at IoU 0.5 counting predictions with score ≥
      ``conf_threshold``, ``num_gt``, ``num_pred``; a class without ground truth has ``null`` APs (with
      ``reason``) and is left out of the means.
    - ``map50``, ``map50_95``, ``precision``, ``recall``: means over classes with ground truth.
    - ``agnostic_ap50``: AP@0.5 with every class merged into one (are the objects found at all?).
    - ``confusion_matrix``: :func:`confusion_matrix` at the same thresholds, labels ``class_names + ['background']``.
    - ``pr_curves``: per class, ``(recall, precision)`` lists at IoU 0.5 over all predictions (for plotting).
    """
    if len(preds) != len(gts):
        raise InputError(f"{len(preds)} prediction entries but {len(gts)} ground-truth entries; expected one per image")
    C = len(class_names)
    per_class, curves = {}, {}
    for c, name in enumerate(class_names):
        aps = []
        entry: dict = {}
        for thr in COCO_THRESHOLDS:
            scores, tp, n_gt = _match_class(preds, gts, c, thr)
            order = np.argsort(-scores, kind="stable")
            tp_sorted = tp[order]
            ctp, cfp = np.cumsum(tp_sorted), np.cumsum(~tp_sorted)
            recall, precision = ctp / max(n_gt, 1), ctp / np.maximum(ctp + cfp, 1)
            aps.append(average_precision(recall, precision) if len(recall) else 0.0)
            if thr == 0.5:
                sel = scores >= conf_threshold
                n_sel, n_tp = int(sel.sum()), int(tp[sel].sum())
                entry = {"num_gt": int(n_gt), "num_pred": n_sel,
                         "precision": n_tp / n_sel if n_sel else 0.0, "recall": n_tp / n_gt if n_gt else None}
                curves[name] = (recall.tolist(), precision.tolist())
        if entry["num_gt"]:
            entry.update(ap50=float(aps[0]), ap50_95=float(np.mean(aps)))
        else:
            entry.update(ap50=None, ap50_95=None, reason="no ground-truth boxes of this class")
        per_class[name] = entry
    scored = [e for e in per_class.values() if e["num_gt"]]
    # class-agnostic AP@0.5: are the objects found at all, whatever class they are given?
    flat = [{**x, "labels": np.zeros(np.asarray(x["labels"]).size, np.int64)} for x in preds]
    flat_gt = [{**x, "labels": np.zeros(np.asarray(x["labels"]).size, np.int64)} for x in gts]
    fp, fr, n_all = precision_recall(flat, flat_gt, 0, 0.5)

    def mean(key: str) -> float | None:
        return float(np.mean([e[key] for e in scored])) if scored else None

    return {
        "map50": mean("ap50"), "map50_95": mean("ap50_95"), "precision": mean("precision"), "recall": mean("recall"),
        "agnostic_ap50": average_precision(fr, fp) if n_all and len(fr) else (0.0 if n_all else None),
        "conf_threshold": conf_threshold, "num_images": len(gts),
        "num_gt": int(sum(e["num_gt"] for e in per_class.values())), "per_class": per_class,
        "confusion_matrix": {"labels": [*class_names, "background"],
                             "matrix": confusion_matrix(preds, gts, C, conf_threshold).tolist()},
        "pr_curves": curves,
    }


def plot_pr_curves(curves: dict, path: str, title: str = "precision-recall at IoU 0.5") -> str:
    """Per-class precision-recall curves (``detection_report(...)['pr_curves']``) as a PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from smartclass.io import atomic_path

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for name, (recall, precision) in curves.items():
        if len(recall):
            r = np.concatenate([[0.0], recall])
            p = np.maximum.accumulate(np.concatenate([[1.0], precision])[::-1])[::-1]  # the envelope AP integrates
            ax.plot(r, p, label=f"{name} (AP50 {average_precision(np.asarray(recall), np.asarray(precision)):.3f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return str(path)
