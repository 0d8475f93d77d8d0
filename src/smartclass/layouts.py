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

    def mirror(self) -> np.ndarray:
        """``(V,)`` index of each joint's mirror image (``left_*`` ↔ ``right_*``; others map to themselves),
        for horizontal-flip augmentation: ``flipped[..., v, :] = x[..., mirror[v], :]`` after negating x."""
        swap = {"left_": "right_", "right_": "left_"}
        out = np.arange(self.num_node)
        for v, name in enumerate(self.joints):
            for a, b in swap.items():
                if name.startswith(a):
                    out[v] = self.index(b + name[len(a):])
        return out

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

KINECT_V1_20 = Layout(
    name="kinect_v1_20",
    joints=(
        "hip_center", "spine", "shoulder_center", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
    ),
    inward=(
        (1, 0), (2, 1), (3, 2), (4, 2), (5, 4), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 10),
        (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18),
    ),
    center=0,
)
"""Kinect SDK v1 joint order, as in UTKinect-Action3D files."""

MSR_ACTION3D_20 = Layout(
    name="msr_action3d_20",
    joints=(
        "right_shoulder", "left_shoulder", "neck", "spine", "right_hip", "left_hip", "hip_center",
        "right_elbow", "left_elbow", "right_wrist", "left_wrist", "right_hand", "left_hand",
        "right_knee", "left_knee", "right_ankle", "left_ankle", "right_foot", "left_foot", "head",
    ),
    inward=(
        (0, 2), (1, 2), (2, 3), (3, 6), (4, 6), (5, 6), (7, 0), (8, 1), (9, 7), (10, 8), (11, 9), (12, 10),
        (13, 4), (14, 5), (15, 13), (16, 14), (17, 15), (18, 16), (19, 2),
    ),
    center=6,
)
"""MSR Action3D's own joint order (differs from the Kinect SDK order): shoulders, neck, spine, hips first."""

NTU_25 = Layout(
    name="ntu_25",
    joints=(
        "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee", "left_ankle",
        "left_foot", "right_hip", "right_knee", "right_ankle", "right_foot", "spine_shoulder",
        "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
    ),
    inward=(
        (0, 1), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9), (11, 10),
        (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 7), (22, 7),
        (23, 11), (24, 11), (1, 20),
    ),
    center=20,
)
"""NTU RGB+D 25-joint Kinect v2 layout (0-based; spine_shoulder is the centre, as in ST-GCN)."""

LAYOUTS: dict[str, Layout] = {l.name: l for l in (UPPER_BODY_17, KINECT_V1_20, MSR_ACTION3D_20, NTU_25)}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout '{name}'; expected one of {sorted(LAYOUTS)}") from None
