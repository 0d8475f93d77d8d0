"""The Lie-group skeleton representation of paper 000 §2.3 (Vemulapalli et al., CVPR 2014).

A skeleton is a point in SO(3) × … × SO(3): for every ordered pair of bones (m, n), the rotation that takes
bone m onto bone n, expressed in bone m's local frame. Each rotation is mapped to the Lie algebra so(3) with
the log map, giving a 3-vector; concatenating them gives a vector that is invariant to the skeleton's global
rotation and translation (a body-fixed reference direction completes each bone's frame, see
:func:`bone_frames`), so a sequence becomes a curve in a vector space that ordinary temporal models take.
"""

from __future__ import annotations

import numpy as np

from smartclass.layouts import Layout

_EPS = 1e-8


def hat(w: np.ndarray) -> np.ndarray:
    """``(..., 3)`` → ``(..., 3, 3)`` skew-symmetric matrices ``[w]×``."""
    w = np.asarray(w, dtype=np.float64)
    z = np.zeros(w.shape[:-1])
    return np.stack([np.stack([z, -w[..., 2], w[..., 1]], -1),
                     np.stack([w[..., 2], z, -w[..., 0]], -1),
                     np.stack([-w[..., 1], w[..., 0], z], -1)], -2)


def so3_exp(w: np.ndarray) -> np.ndarray:
    """Exponential map so(3) → SO(3) (Rodrigues): axis-angle vector ``(..., 3)`` → rotation ``(..., 3, 3)``."""
    w = np.asarray(w, dtype=np.float64)
    theta = np.linalg.norm(w, axis=-1)[..., None, None]
    K = hat(w)
    small = theta < 1e-6
    t = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta**2 / 6, np.sin(t) / t)
    b = np.where(small, 0.5 - theta**2 / 24, (1 - np.cos(t)) / t**2)
    return np.eye(3) + a * K + b * (K @ K)


def so3_log(R: np.ndarray) -> np.ndarray:
    """Log map SO(3) → so(3): rotation ``(..., 3, 3)`` → axis-angle vector ``(..., 3)`` with angle in [0, π]."""
    R = np.asarray(R, dtype=np.float64)
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)
    theta = np.arccos(cos)
    v = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    sin = np.sin(theta)
    regular = sin > 1e-6
    w = np.where(regular[..., None], v * (theta / (2 * np.where(regular, sin, 1.0)))[..., None], 0.5 * v)
    # near θ = π the antisymmetric part vanishes: take the axis from the symmetric part (R + I)/2 = a·aᵀ
    near_pi = (~regular) & (theta > np.pi / 2)
    if np.any(near_pi):
        S = (R[near_pi] + np.eye(3)) / 2
        col = np.argmax(np.diagonal(S, axis1=-2, axis2=-1), axis=-1)
        axis = S[np.arange(len(S)), :, col]
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True) + _EPS
        w[near_pi] = axis * theta[near_pi][..., None]
    return w


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Axis-angle vector ``ω·θ`` of the minimal rotation taking unit vectors ``a`` onto ``b`` (``(..., 3)``):
    ``ω`` = normalised ``a × b``, ``θ = arccos(a · b)``."""
    a = a / (np.linalg.norm(a, axis=-1, keepdims=True) + _EPS)
    b = b / (np.linalg.norm(b, axis=-1, keepdims=True) + _EPS)
    cross = np.cross(a, b)
    s = np.linalg.norm(cross, axis=-1, keepdims=True)
    theta = np.arccos(np.clip((a * b).sum(-1, keepdims=True), -1, 1))
    return np.where(s > 1e-9, cross / np.maximum(s, 1e-12), 0.0) * theta


def bones(layout: Layout) -> np.ndarray:
    """``(B, 2)`` (child, parent) joint pairs of the layout's bones."""
    return np.asarray(layout.inward, dtype=np.int64)


def bone_frames(joints: np.ndarray, layout: Layout, reference: tuple[int, int] | None = None) -> np.ndarray:
    """Local frame of every bone: ``(..., V, 3)`` joints → ``(..., B, 3, 3)`` rotations whose first column is
    the bone direction and whose second comes from the body's left–right ``reference`` direction (Gram–Schmidt).
    A global rotation Q of the skeleton maps every frame F to Q·F, so relative rotations Fmᵀ·Fn are invariant."""
    b = bones(layout)
    e = joints[..., b[:, 0], :] - joints[..., b[:, 1], :]
    x = e / (np.linalg.norm(e, axis=-1, keepdims=True) + _EPS)
    i, j = reference if reference is not None else left_right_pair(layout)
    r = (joints[..., i, :] - joints[..., j, :])[..., None, :]
    y = r - (r * x).sum(-1, keepdims=True) * x
    # a bone parallel to the reference (rare) falls back to the world up axis so y stays defined
    bad = np.linalg.norm(y, axis=-1, keepdims=True) < 1e-6
    up = np.broadcast_to(np.array([0.0, 1.0, 0.0]), y.shape)
    y = np.where(bad, up - (up * x).sum(-1, keepdims=True) * x, y)
    y = y / (np.linalg.norm(y, axis=-1, keepdims=True) + _EPS)
    z = np.cross(x, y)
    return np.stack([x, y, z], -1)


def left_right_pairs(layout: Layout) -> list[tuple[int, int]]:
    """(left, right) index pairs of the hips and of the shoulders, those the layout has, hips first."""
    names = layout.joints
    pairs = [(names.index(a), names.index(b)) for a, b in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"))
             if a in names and b in names]
    if not pairs:
        raise ValueError(f"layout '{layout.name}' has no left/right hips or shoulders for a reference direction")
    return pairs


def left_right_pair(layout: Layout) -> tuple[int, int]:
    """Indices (left, right) of the hips, or else the shoulders: the body's left–right direction."""
    return left_right_pairs(layout)[0]


def relative_rotations(joints: np.ndarray, layout: Layout, reference: tuple[int, int] | None = None) -> np.ndarray:
    """Lie-algebra features of one skeleton or a sequence: ``(..., V, 3)`` joints → ``(..., B·(B−1), 3)``.

    For every ordered pair (m, n), m ≠ n: bone n's direction expressed in bone m's frame, and the log map of
    the rotation taking bone m (the frame's x-axis) onto it. Both directions (m, n) and (n, m) are kept.
    """
    F = bone_frames(np.asarray(joints, dtype=np.float64), layout, reference)
    b = F.shape[-3]
    m, n = np.nonzero(~np.eye(b, dtype=bool))
    dirs = F[..., :, :, 0]  # (..., B, 3) bone directions
    local = np.einsum("...kji,...kj->...ki", F[..., m, :, :], dirs[..., n, :])  # Fmᵀ · e_n
    x_axis = np.broadcast_to(np.array([1.0, 0.0, 0.0]), local.shape)
    return rotation_between(x_axis, local)


def joint_rotations(joints: np.ndarray, layout: Layout, reference: tuple[int, int] | None = None) -> np.ndarray:
    """Per-joint Lie-algebra stream for graph networks: ``(..., V, 3)`` joints → ``(..., V, 3)``, for each
    joint the log map of the rotation taking its parent's bone onto its own bone, in the parent bone's frame
    (the ordered pairs (parent bone, child bone) of :func:`relative_rotations`). Bones that start at the
    centre are expressed in a body frame instead; the centre itself is zero. Invariant to global rotation and
    translation."""
    joints = np.asarray(joints, dtype=np.float64)
    F = bone_frames(joints, layout, reference)  # (..., B, 3, 3)
    b = bones(layout)
    bone_of = {int(c): k for k, (c, _) in enumerate(b)}  # joint → index of the bone ending at it
    out = np.zeros(joints.shape, dtype=np.float64)
    own, par = [], []
    for c, p in b:
        if int(p) in bone_of:
            own.append(bone_of[int(c)])
            par.append(bone_of[int(p)])
    own_a, par_a = np.asarray(own), np.asarray(par)
    local = np.einsum("...kji,...kj->...ki", F[..., par_a, :, :], F[..., own_a, :, :][..., 0])  # F_parentᵀ · e_child
    x_axis = np.broadcast_to(np.array([1.0, 0.0, 0.0]), local.shape)
    out[..., b[own_a, 0], :] = rotation_between(x_axis, local)
    # bones hanging off the centre have no parent bone: express them in a body frame instead, built from the
    # left–right reference and the centre → mean-joint direction (Gram–Schmidt), so invariance is kept
    first = np.asarray([k for k, (_, p) in enumerate(b) if int(p) not in bone_of])
    i, j = reference if reference is not None else left_right_pair(layout)
    bx = joints[..., i, :] - joints[..., j, :]
    bx = bx / (np.linalg.norm(bx, axis=-1, keepdims=True) + _EPS)
    up = joints.mean(-2) - joints[..., layout.center, :]
    by = up - (up * bx).sum(-1, keepdims=True) * bx
    by = by / (np.linalg.norm(by, axis=-1, keepdims=True) + _EPS)
    body = np.stack([bx, by, np.cross(bx, by)], -1)  # (..., 3, 3), columns are the axes
    local = np.einsum("...ji,...kj->...ki", body, F[..., first, :, :][..., 0])
    out[..., b[first, 0], :] = rotation_between(np.broadcast_to(np.array([1.0, 0.0, 0.0]), local.shape), local)
    return out.astype(np.float32)


def so3_features(sequence: np.ndarray, layout: Layout) -> np.ndarray:
    """``(T, V, 3)`` joint sequence → ``(T, B·(B−1)·3)`` flattened Lie-algebra curve."""
    f = relative_rotations(sequence, layout)
    return f.reshape(f.shape[0], -1).astype(np.float32)
