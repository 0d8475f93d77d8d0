"""Classification metrics: top-k accuracy, per-class and macro F1, fixed-size confusion matrix (+ plot).

The confusion matrix is always ``num_classes × num_classes`` (rows = true class, columns = predicted),
never shrunk to the labels that occur. Top-k says little when there are few classes (top-5 of 10 classes
is a weak test): reports should say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import math

import numpy as np

from smartclass.errors import InputError
from smartclass.io import atomic_path
from smartclass.metrics.image import as_array


def _labels(y: Any, name: str, num_classes: int | None = None) -> np.ndarray:
    a = as_array(y, name).reshape(-1)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.equal(np.mod(a, 1), 0)):
            raise InputError(f"{name} must hold integer class indices")
        a = a.astype(np.int64)
    if a.min() < 0 or (num_classes is not None and a.max() >= num_classes):
        raise InputError(f"{name} holds class indices outside [0, {num_classes}): min {a.min()}, max {a.max()}")
    return a


def top_k_accuracy(scores: Any, targets: Any, k: int = 1) -> float:
    """Fraction of samples whose target is among the ``k`` highest ``scores`` ``(N, C)``."""
    s = as_array(scores, "scores")
    if s.ndim != 2:
        raise InputError(f"scores must be (N, C), got shape {s.shape}")
    t = _labels(targets, "targets", s.shape[1])
    if len(t) != len(s):
        raise InputError(f"scores has {len(s)} rows but targets has {len(t)} entries")
    k = min(k, s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    return float(np.mean((top == t[:, None]).any(1)))


def confusion_matrix(predictions: Any, targets: Any, num_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts; row = true class, column = predicted class."""
    p = _labels(predictions, "predictions", num_classes)
    t = _labels(targets, "targets", num_classes)
    if len(p) != len(t):
        raise InputError(f"predictions has {len(p)} entries but targets has {len(t)}")
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_f1(predictions: Any, targets: Any, num_classes: int) -> np.ndarray:
    """``(C,)`` F1 of each class; a class with no true and no predicted sample gets NaN (undefined)."""
    cm = confusion_matrix(predictions, targets, num_classes).astype(np.float64)
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)  # = 2·TP + FP + FN
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / denom, np.nan)


def macro_f1(predictions: Any, targets: Any, num_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes that occur (in targets or predictions)."""
    return float(np.nanmean(per_class_f1(predictions, targets, num_classes)))


def classification_report(scores: Any, targets: Any, class_names: Sequence[str], ks: Sequence[int] = (1, 5)) -> dict:
    """Top-k, macro-F1, per-class F1 and the confusion matrix as a JSON-ready dict."""
    s = as_array(scores, "scores")
    n = len(class_names)
    pred = s.argmax(1)
    f1 = per_class_f1(pred, targets, n)
    return {
        **{f"top{k}": top_k_accuracy(s, targets, k) for k in ks},
        "macro_f1": macro_f1(pred, targets, n),
        "per_class_f1": {c: (None if np.isnan(v) else float(v)) for c, v in zip(class_names, f1)},
        "confusion_matrix": confusion_matrix(pred, targets, n).tolist(),
        "classes": list(class_names),
        "num_samples": int(len(pred)),
    }


def plot_confusion_matrix(cm: Any, class_names: Sequence[str], path: str | Path, normalise: bool = True,
                          title: str = "Confusion matrix") -> Path:
    """Save the confusion matrix as a PNG (row-normalised by default, counts annotated)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(cm, dtype=np.float64)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalise else cm
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * n, 0.8 + 0.55 * n))
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.5 else "black")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k/n`` (95 % for the default ``z``):
    ``(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)``. ``(0, 1)`` when ``n = 0``."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
