"""Skeleton layouts as data (``num_node``, ``inward`` edges, ``center``), as in MMAction2 / PYSKL.

``UPPER_BODY_17`` is smartclass's layout of paper 002's "17 upper-body keypoints" (COCO-17 has legs, so it
cannot be reused). Other layouts (Kinect v1 20 joints, NTU 25 joints) live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    """A skeleton graph. ``inward`` edges point from a joint towards ``center`` (child → parent)."""

    name: str
    joints: tuple[str, ...]
    inward: tuple[tuple[int, int], ...]
    center: int

    @property
    def num_node(self) -> int:
        return len(self.joints)

    @property
    def outward(self) -> tuple[tuple[int, int], ...]:
        return tuple((j, i) for i, j in self.inward)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def adjacency(self, self_loops: bool = True) -> np.ndarray:
        """Symmetric ``(V, V)`` 0/1 adjacency."""
        a = np.zeros((self.num_node, self.num_node), dtype=np.float32)
        for i, j in self.inward:
            a[i, j] = a[j, i] = 1.0
        if self_loops:
            a += np.eye(self.num_node, dtype=np.float32)
        return a

    def parents(self) -> np.ndarray:
        """``(V,)`` parent index of each joint (the centre is its own parent): used for bone vectors."""
        p = np.arange(self.num_node)
        for child, parent in self.inward:
            p[child] = parent
        return p


UPPER_BODY_17 = Layout(
    name="upper_body_17",
    joints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "head_top", "neck", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hand", "right_hand", "chest", "pelvis",
    ),
    inward=(
        (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (0, 6),
        (7, 6), (8, 6), (9, 7), (10, 8), (11, 9), (12, 10), (13, 11), (14, 12),
        (15, 6), (16, 15),
    ),
    center=6,
)
"""Seated-student layout: face (5 points), head top, neck, arms to the hand tips, chest and pelvis."""

LAYOUTS: dict[str, Layout] = {UPPER_BODY_17.name: UPPER_BODY_17}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout '{name}'; expected one of {sorted(LAYOUTS)}") from None
