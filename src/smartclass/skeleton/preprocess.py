"""The pre-processing of Vemulapalli et al.'s released Lie-group pipeline (CVPR 2014, paper 000 §2.3's source),
per frame and vectorised over frames, on ``(T, V, 3)`` joint sequences.

In order (:func:`reference_preprocess`):

1. swap the y and z axes (the camera's y is vertical; afterwards z is vertical and y is depth);
2. subtract the hip centre;
3. drop every frame in which a bone has zero length (so frames whose every joint is zero go);
4. rebuild the joints from the bones' directions with fixed bone lengths (bone-length normalisation:
   ``p_child = p_parent + l_b · e_b / ‖e_b‖``, from the hip centre outwards), where the lengths ``l_b`` are those
   of a reference skeleton, e.g. the mean bone lengths of the training set (:func:`reference_bone_lengths`);
5. rotate each frame about the vertical (z) axis so that the ground-plane (x, y) projection of the
   right-minus-left hip vector lies on +x (per-frame view normalisation).

The project's other skeleton code keeps the camera's convention (y vertical); :func:`swap_yz` turns the result
back (``to_camera_axes``), which makes the whole a proper rotation of every frame (two swaps cancel).
"""

from __future__ import annotations

import numpy as np

from smartclass.layouts import Layout
from smartclass.skeleton.so3 import left_right_pair

_EPS = 1e-9


def swap_yz(kp: np.ndarray) -> np.ndarray:
    """``(..., 3)`` coordinates with y and z exchanged (the reference's z-up axes; its own inverse)."""
    return np.asarray(kp)[..., [0, 2, 1]]


def hip_centre(layout: Layout) -> int:
    """Index of the hip centre: the joint named ``hip_center`` or ``spine_base``, else the layout's centre."""
    for name in ("hip_center", "spine_base"):
        if name in layout.joints:
            return layout.index(name)
    return layout.center


def bone_order(layout: Layout) -> np.ndarray:
    """``(B, 2)`` (child, parent) bones ordered from the root of the layout's tree outwards, so that every
    bone's parent joint is placed before it (the root is the joint that is no bone's child)."""
    bones = [tuple(map(int, b)) for b in layout.inward]
    placed = {j for j in range(layout.num_node)} - {c for c, _ in bones}
    out: list[tuple[int, int]] = []
    while bones:
        ready = [b for b in bones if b[1] in placed]
        if not ready:
            raise ValueError(f"layout '{layout.name}': bones {bones} do not hang from a root joint")
        out += ready
        placed |= {c for c, _ in ready}
        bones = [b for b in bones if b not in ready]
    return np.asarray(out, dtype=np.int64)


def bone_vectors(kp: np.ndarray, layout: Layout) -> np.ndarray:
    """``(..., V, 3)`` joints → ``(..., B, 3)`` bone vectors child − parent, bones in :func:`bone_order`."""
    b = bone_order(layout)
    return kp[..., b[:, 0], :] - kp[..., b[:, 1], :]


def valid_frames(kp: np.ndarray, layout: Layout, eps: float = 1e-6) -> np.ndarray:
    """``(T, V, 3)`` → ``(T,)`` bool: True where every bone is longer than ``eps`` (an all-zero frame is not)."""
    return (np.linalg.norm(bone_vectors(np.asarray(kp, dtype=np.float64), layout), axis=-1) > eps).all(-1)


def reference_bone_lengths(sequences: list[np.ndarray], layout: Layout) -> np.ndarray:
    """Mean length of every bone (``(B,)``, in :func:`bone_order`) over the valid frames of ``sequences``
    (each ``(T, V, 3)``): the fixed skeleton that :func:`rebuild_joints` gives every subject."""
    vecs = [bone_vectors(np.asarray(s, dtype=np.float64), layout)[valid_frames(s, layout)] for s in sequences]
    vecs = [v for v in vecs if len(v)]
    if not vecs:
        raise ValueError("reference_bone_lengths: no sequence has a frame in which every bone has a length")
    return np.linalg.norm(np.concatenate(vecs), axis=-1).mean(0)


def rebuild_joints(kp: np.ndarray, layout: Layout, lengths: np.ndarray) -> np.ndarray:
    """Bone-length normalisation: ``(T, V, 3)`` joints → the same bone directions with bone ``b`` of length
    ``lengths[b]`` (``(B,)``, :func:`bone_order`), built outwards from the root, which stays where it is.
    Frames must be valid (:func:`valid_frames`): a zero-length bone has no direction."""
    kp = np.asarray(kp, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.float64)
    b = bone_order(layout)
    if lengths.shape != (len(b),):
        raise ValueError(f"lengths: expected shape ({len(b)},) for layout '{layout.name}', got {lengths.shape}")
    e = kp[..., b[:, 0], :] - kp[..., b[:, 1], :]
    e = e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), _EPS)
    out = kp.copy()
    for k, (child, parent) in enumerate(b):  # root outwards: each parent is already rebuilt
        out[..., child, :] = out[..., parent, :] + lengths[k] * e[..., k, :]
    return out


def face_x(kp: np.ndarray, layout: Layout) -> np.ndarray:
    """Per-frame view normalisation of z-up joints ``(T, V, 3)``: each frame turned about z so that the
    (x, y) projection of its right-minus-left hip vector lies on +x (hips, else shoulders; a frame whose
    vector is vertical is left as it is)."""
    kp = np.asarray(kp, dtype=np.float64)
    left, right = left_right_pair(layout)
    d = kp[..., right, :] - kp[..., left, :]
    a = np.where(np.hypot(d[..., 0], d[..., 1]) > _EPS, np.arctan2(d[..., 1], d[..., 0]), 0.0)
    c, s = np.cos(a)[..., None], np.sin(a)[..., None]
    x, y = kp[..., 0], kp[..., 1]
    return np.stack([c * x + s * y, -s * x + c * y, kp[..., 2]], -1)  # rotation by −a about z


def reference_preprocess(kp: np.ndarray, layout: Layout, lengths: np.ndarray | None = None,
                         rotate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The reference pipeline's pre-processing of one camera-axes sequence ``(T, V, 3)`` (y vertical):
    swap y/z, hip centre to the origin, frames with a zero-length bone dropped, joints rebuilt with ``lengths``
    (``None``: each bone keeps its measured length), and with ``rotate`` each frame turned to face +x.
    Returns the z-up joints ``(T', V, 3)`` (float32) and the ``(T,)`` mask of the frames kept."""
    kp = swap_yz(np.asarray(kp, dtype=np.float64))
    if kp.ndim != 3 or kp.shape[1:] != (layout.num_node, 3):
        raise ValueError(f"expected (T, {layout.num_node}, 3) joints for layout '{layout.name}', got {kp.shape}")
    kp = kp - kp[:, hip_centre(layout) : hip_centre(layout) + 1]
    keep = valid_frames(kp, layout)
    kp = kp[keep]
    if lengths is not None:
        kp = rebuild_joints(kp, layout, lengths)
    if rotate:
        kp = face_x(kp, layout)
    return kp.astype(np.float32), keep
