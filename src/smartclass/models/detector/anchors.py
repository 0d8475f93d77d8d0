"""Anchor priors by IoU k-means on the training boxes (paper 000 §2.5; YOLOv2's dimension clusters).

The distance is ``d(box, centroid) = 1 − IoU(box, centroid)`` with the shape-only IoU of
:func:`smartclass.ops.boxes.wh_iou`, so large and small boxes count alike; centroids are the mean size of
their members. Deterministic for a seed (k-means++ seeding from a seeded ``torch.Generator``). Anchors are in
the units of the sizes given (the detector takes them in input pixels, see ``docs/detector.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from smartclass.errors import InputError
from smartclass.ops.boxes import wh_iou


def kmeans_anchors(sizes, k: int = 5, seed: int = 0, iters: int = 300) -> torch.Tensor:
    """``(N, 2)`` box sizes ``(w, h)`` → ``(k, 2)`` anchor sizes sorted by area (smallest first).

    Raises :class:`InputError` when there are fewer distinct positive sizes than ``k``."""
    wh = torch.as_tensor(np.asarray(sizes, dtype=np.float64) if not torch.is_tensor(sizes) else sizes,
                         dtype=torch.float64)
    if wh.dim() != 2 or wh.shape[1] != 2:
        raise InputError(f"sizes must be (N, 2) (w, h), got shape {tuple(wh.shape)}")
    wh = wh[(wh > 0).all(1)]
    if k < 1 or len(torch.unique(wh, dim=0)) < k:
        raise InputError(f"k-means needs at least k = {k} distinct positive box sizes, got {len(torch.unique(wh, dim=0))}")
    gen = torch.Generator().manual_seed(seed)
    # k-means++ seeding with the 1 − IoU distance
    centroids = wh[torch.randint(len(wh), (1,), generator=gen)]
    while len(centroids) < k:
        d = (1 - wh_iou(wh, centroids)).min(1).values ** 2
        if d.sum() <= 0:
            break
        centroids = torch.cat([centroids, wh[torch.multinomial(d / d.sum(), 1, generator=gen)]])
    assign = torch.full((len(wh),), -1, dtype=torch.long)
    for _ in range(iters):
        new = wh_iou(wh, centroids).argmax(1)
        if torch.equal(new, assign):
            break
        assign = new
        counts = torch.bincount(assign, minlength=k).to(wh.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assign, wh)
        # an empty cluster keeps its centroid
        centroids = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centroids)
    order = torch.argsort(centroids.prod(1), stable=True)
    return centroids[order].float()


def mean_best_iou(sizes, anchors) -> float:
    """Mean over boxes of the best shape IoU with any anchor (YOLOv2's "Avg IoU" of its dimension clusters)."""
    wh = torch.as_tensor(np.asarray(sizes, dtype=np.float64) if not torch.is_tensor(sizes) else sizes, dtype=torch.float64)
    a = torch.as_tensor(np.asarray(anchors, dtype=np.float64) if not torch.is_tensor(anchors) else anchors, dtype=torch.float64)
    return float(wh_iou(wh, a).max(1).values.mean())


def anchors_for_levels(sizes, strides, per_level: int = 5, seed: int = 0) -> list[list[list[float]]]:
    """IoU k-means with ``per_level · len(strides)`` clusters, sorted by area and split in consecutive groups:
    the smallest anchors go to the finest stride. Returns plain lists ``[[[w, h], …] per level]`` (input
    pixels when ``sizes`` are), ready for :class:`~smartclass.models.detector.realframe.RealFrameConfig`."""
    strides = list(strides)
    if sorted(strides) != strides:
        raise InputError(f"strides must be increasing, got {strides}")
    a = kmeans_anchors(sizes, per_level * len(strides), seed=seed)
    return [[[round(float(w), 3), round(float(h), 3)] for w, h in a[i * per_level:(i + 1) * per_level]]
            for i in range(len(strides))]
