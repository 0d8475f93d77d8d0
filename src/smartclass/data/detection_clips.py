"""Clip detection items of SmartClass clips for paper 000's clip detectors (the synthetic 8-class reproduction).

One item is ``length`` consecutive frames of a rendered (or on-disk) :class:`~smartclass.clip.Clip`, resized
to the model's input size ``(W, H)`` (60×40 in the paper; anisotropic, no letterbox, as the paper resizes its
320×240 frames), with the **key (last) frame**'s per-student boxes scaled to input pixels, their coarse labels
(paper 000's 8 classes, :data:`smartclass.labels.COARSE_CLASSES`) and, for the SO(3) branch, each student's
3-D joints over the item's frames in the RGB camera's frame (metres).

Key frames of a clip of ``T`` frames: its last frame and every ``key_stride``-th frame before it, as long as
``length`` frames end there. A student is kept when its key-frame RGB box is at least ``min_side`` pixels on
both sides in the clip's own resolution (as :func:`~smartclass.data.detection.clip_frames`).

:class:`ClipItems` holds everything in a few arrays (``frames (M, L, H, W, 3) uint8``, flat per-student rows
with ``offsets``), so a rendered set is cached with :meth:`ClipItems.to_arrays` / :meth:`ClipItems.from_arrays`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from smartclass.errors import DataError
from smartclass.labels import COARSE_CLASSES


@dataclass
class ClipItems:
    """``M`` clip items: frames ``(M, L, H, W, 3)`` uint8 RGB at input size; per-student rows of all items
    concatenated — ``boxes (S, 4)`` key-frame xyxy input pixels, ``labels (S,)``, ``joints (S, L, V, 3)``
    camera-frame metres (``V = 0`` without skeletons) — item ``i``'s rows being ``offsets[i]:offsets[i+1]``."""

    frames: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    joints: np.ndarray
    offsets: np.ndarray  # (M + 1,) int64
    class_names: tuple[str, ...] = COARSE_CLASSES
    ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def size(self) -> tuple[int, int]:
        """Input ``(W, H)``."""
        return int(self.frames.shape[3]), int(self.frames.shape[2])

    def rows(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def item(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(frames (L, H, W, 3) uint8, boxes (P, 4), labels (P,), joints (P, L, V, 3))`` of item ``i``."""
        r = self.rows(i)
        return self.frames[i], self.boxes[r].copy(), self.labels[r].copy(), self.joints[r]

    def item_labels(self) -> list[np.ndarray]:
        return [self.labels[self.rows(i)] for i in range(len(self))]

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.class_names)).astype(np.int64)

    def subset(self, indices: Sequence[int]) -> "ClipItems":
        idx = [int(i) for i in indices]
        rows = [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx]
        flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        counts = np.array([len(r) for r in rows], np.int64)
        return ClipItems(self.frames[idx], self.boxes[flat], self.labels[flat], self.joints[flat],
                         np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), self.class_names,
                         [self.ids[i] for i in idx] if self.ids else [])

    def to_arrays(self) -> dict:
        """Plain arrays (``numpy.savez``-able); :meth:`from_arrays` inverts it."""
        return {"frames": self.frames, "boxes": self.boxes, "labels": self.labels, "joints": self.joints,
                "offsets": self.offsets, "class_names": np.array(self.class_names), "ids": np.array(self.ids)}

    @staticmethod
    def from_arrays(a) -> "ClipItems":
        return ClipItems(a["frames"], a["boxes"], a["labels"], a["joints"], a["offsets"],
                         tuple(str(c) for c in a["class_names"]), [str(i) for i in a["ids"]])

    @staticmethod
    def concatenate(parts: Sequence["ClipItems"]) -> "ClipItems":
        if not parts:
            raise DataError("no clip items to concatenate")
        counts = np.concatenate([np.diff(p.offsets) for p in parts])
        return ClipItems(np.concatenate([p.frames for p in parts]), np.concatenate([p.boxes for p in parts]),
                         np.concatenate([p.labels for p in parts]), np.concatenate([p.joints for p in parts]),
                         np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), parts[0].class_names,
                         [i for p in parts for i in p.ids])


def key_frames(num_frames: int, length: int, key_stride: int = 1) -> list[int]:
    """Key frames (ascending) of a ``num_frames`` clip: its last and every ``key_stride``-th before it with
    ``length`` frames ending there."""
    if length < 1 or key_stride < 1:
        raise DataError(f"clip length and key stride must be >= 1, got {length} and {key_stride}")
    if num_frames < length:
        raise DataError(f"a clip of {num_frames} frames is shorter than the {length} frames of one item")
    return list(range(num_frames - 1, length - 2, -key_stride))[::-1]


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(T, h, w, 3)`` uint8 → ``(T, H, W, 3)`` with ``size = (W, H)`` (area interpolation)."""
    import cv2

    W, H = size
    if frames.shape[1:3] == (H, W):
        return np.ascontiguousarray(frames)
    return np.stack([cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA) for f in frames])


def clip_items(clips: Iterable, length: int = 7, size: tuple[int, int] = (60, 40), key_stride: int = 1,
               skeletons: bool = True, min_side: float = 2.0) -> ClipItems:
    """Clip detection items of SmartClass clips (module docstring); ``size = (W, H)`` input pixels."""
    W, H = size
    parts = []
    for clip in clips:
        T = clip.num_frames
        keys = key_frames(T, length, key_stride)
        h0, w0 = clip.rgb.shape[1:3]
        scale = np.array([W / w0, H / h0, W / w0, H / h0], np.float32)
        frames = resize_frames(clip.rgb, size)
        boxes_all = np.array([s.boxes["rgb"] for s in clip.students], np.float32).reshape(-1, T, 4)
        labels_all = np.array([s.coarse for s in clip.students], np.int64).reshape(-1, T)
        if skeletons and clip.students:
            world = np.stack([s.keypoints_3d for s in clip.students])  # (S, T, V, 3)
            cam = np.stack([clip.camera("rgb", t).to_camera(world[:, t].reshape(-1, 3)).reshape(world.shape[0], -1, 3)
                            for t in range(T)], 1).astype(np.float32)
        else:
            cam = np.zeros((len(clip.students), T, 0, 3), np.float32)
        fr, bx, lb, jt, counts, ids = [], [], [], [], [], []
        for k in keys:
            b = boxes_all[:, k]
            keep = ((b[:, 2:] - b[:, :2]) >= min_side).all(1)
            fr.append(frames[k - length + 1:k + 1])
            bx.append(b[keep] * scale)
            lb.append(labels_all[keep, k])
            jt.append(cam[keep, k - length + 1:k + 1])
            counts.append(int(keep.sum()))
            ids.append(f"{clip.split}-{clip.index}-{k}")
        parts.append(ClipItems(np.stack(fr), np.concatenate(bx).reshape(-1, 4), np.concatenate(lb),
                               np.concatenate(jt), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                               COARSE_CLASSES, ids))
    return ClipItems.concatenate(parts)


def skeleton_batch(boxes: Sequence[np.ndarray], joints: Sequence[np.ndarray]) -> dict | None:
    """Per-item students → the SO(3) branch's batch: ``{"joints" (N, P, L, V, 3), "centres" (N, P, 2)
    key-frame box centres (input pixels), "valid" (N, P)}``, ``P`` the most students of an item (padding
    invalid); ``None`` when no item has joints."""
    n, p = len(boxes), max((len(b) for b in boxes), default=0)
    if p == 0 or all(j.shape[2] == 0 for j in joints if len(j)):
        return None
    shape = next(j.shape[1:] for j in joints if len(j))
    out_j = np.zeros((n, p, *shape), np.float32)
    out_c = np.zeros((n, p, 2), np.float32)
    valid = np.zeros((n, p), bool)
    for i, (b, j) in enumerate(zip(boxes, joints)):
        m = len(b)
        out_j[i, :m], out_c[i, :m], valid[i, :m] = j, (b[:, :2] + b[:, 2:]) / 2, True
    return {"joints": out_j, "centres": out_c, "valid": valid}
