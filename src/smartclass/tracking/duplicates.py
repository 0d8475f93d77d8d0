"""One student, one id: tracks that duplicate an older track on the same student are held back.

A detector sometimes boxes one student twice (the whole student and the upper body, or two overlapping
boxes that non-maximum suppression at IoU 0.5 keeps), and a tracker that starts tracks on weak detections
turns the second box into a second id that runs beside the first for the whole lesson. At every step,
:func:`suppress_duplicates` compares the boxes of the ids present: where one box lies mostly inside another
(intersection over the smaller box's area ≥ ``min_overlap``), the id with the weaker history — the lower sum of
its detector scores so far, which favours the older track and, between tracks born together, the more
confident one — is dropped from that step (``−1``, as an unconfirmed track is). The stronger id keeps the
student; the duplicate never gathers enough decisions to count as a student. Two real students overlap this much only when one hides the other,
and then the hidden one has no reliable box anyway.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from smartclass.tracking.base import box_overlap


def intersection_over_smaller(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection area over the smaller of the two boxes' areas, ``a (N, 4)``, ``b (M, 4)`` → ``(N, M)``."""
    inter, area_a, area_b = box_overlap(a, b)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return np.where(smaller > 0, inter / np.maximum(smaller, 1e-12), 0.0)


def suppress_duplicates(ids: np.ndarray, boxes: np.ndarray, strength: Callable[[int], float],
                        min_overlap: float = 0.8) -> np.ndarray:
    """``ids (N,)`` with every id whose box overlaps a stronger id's box by ``min_overlap`` or more (intersection
    over the smaller box) set to −1;
    ``strength(id)``: its history's weight (module doc; ties: the lower id). ``min_overlap`` ≥ 1 keeps every id."""
    ids = np.asarray(ids).copy()
    live = np.flatnonzero(ids >= 0)
    if len(live) < 2 or min_overlap >= 1.0:
        return ids
    order = sorted(live, key=lambda j: (-strength(int(ids[j])), int(ids[j])))  # strongest first
    ov = intersection_over_smaller(boxes[order], boxes[order])
    kept: list[int] = []
    for i, j in enumerate(order):
        if any(ov[i, k] >= min_overlap for k in kept):
            ids[j] = -1
        else:
            kept.append(i)
    return ids
