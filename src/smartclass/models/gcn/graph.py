"""Graph helpers as plain functions (MS-G3D / CTR-GCN style)."""

from __future__ import annotations

import numpy as np

from smartclass.layouts import Layout


def normalize_digraph(a: np.ndarray) -> np.ndarray:
    """Column-normalise an adjacency: ``A · D⁻¹`` (each node averages its neighbours)."""
    d = a.sum(0)
    return a / np.where(d > 0, d, 1)[None]


def spatial_partition(layout: Layout) -> np.ndarray:
    """ST-GCN's spatial configuration partitioning: ``(3, V, V)`` = identity, inward (towards the centre),
    outward, each normalised."""
    v = layout.num_node
    eye = np.eye(v, dtype=np.float32)
    inward = np.zeros((v, v), np.float32)
    for i, j in layout.inward:
        inward[j, i] = 1.0  # message from child i to parent j
    outward = inward.T.copy()
    return np.stack([eye, normalize_digraph(inward), normalize_digraph(outward)]).astype(np.float32)
