"""Per-student samples: one student's track over a clip, cropped around the student in every camera.

The sample is the trimodal recogniser's input unit, read the same way from rendered SmartClass-Synth clips
(:class:`smartclass.synth.dataset.SynthStudentClips`), on-disk data sets
(:class:`smartclass.data.students.DiskStudentClips`) and at inference (:mod:`smartclass.inference.students`)::

    rgb          (T, 3, S, S) float32 in 0..1   what the camera recorded (degraded by the condition)
    rgb_clean    (T, 3, S, S) float32 in 0..1   the well-lit reference (zeros when the recording has none)
    depth        (T, 1, S, S) float32 metres    depth camera crop, 0 = hole (zeros when absent)
    thermal      (T, 1, S, S) float32 °C        thermal camera crop (zeros when absent)
    keypoints    (T, 17, 3)   float32           u, v in the RGB crop scaled to 0..1, visibility 0/1/2
    keypoints_3d (T, 17, 3)   float32 metres
    label        int                            class at the centre frame, in the chosen vocabulary
    labels       (T,) int64                     per-frame classes (−1 where the vocabulary has none)
    condition    int                            index into CONDITIONS
    has_depth, has_thermal  bool
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from smartclass.clip import CONDITIONS, Clip, StudentTrack
from smartclass.labels import BEHAVIOURS, COARSE_OF, FINE_OF, class_names


def square_affine(boxes: np.ndarray, size: int, margin: float = 0.12) -> np.ndarray:
    """The 2×3 affine that maps a square around the union of ``boxes`` ``(T, 4)`` (x1, y1, x2, y2, plus
    ``margin`` of its side on each edge, at least 4 px) onto a ``size`` × ``size`` crop."""
    x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
    x2, y2 = boxes[:, 2].max(), boxes[:, 3].max()
    side = max(x2 - x1, y2 - y1, 4.0) * (1 + 2 * margin)
    cx, cy, s = (x1 + x2) / 2, (y1 + y2) / 2, size / side
    return np.array([[s, 0, size / 2 - s * cx + (s - 1) / 2], [0, s, size / 2 - s * cy + (s - 1) / 2]], np.float64)


def warp_frames(frames, A: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    """Every frame of ``frames`` (a sequence of ``(H, W[, C])`` images) warped by ``A`` into a ``size`` crop
    (zeros outside the image); nearest-neighbour for integer maps such as depth, area/linear otherwise."""
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if A[0, 0] < 1 else cv2.INTER_LINEAR
    return np.stack([cv2.warpAffine(f, A, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                     for f in frames])


def depth_metres(raw: np.ndarray) -> np.ndarray:
    """A depth map in mm (``uint16``, 0 = hole) as float32 metres."""
    return raw.astype(np.float32) / 1000.0


def thermal_celsius(raw: np.ndarray) -> np.ndarray:
    """A thermal map in °C as float32 with no-reading pixels (NaN) set to 0."""
    return np.nan_to_num(raw.astype(np.float32), nan=0.0)


def label_of(behaviour: int, vocabulary: str) -> int:
    """Class index of behaviour ``behaviour`` in ``vocabulary`` (−1 where it has none)."""
    name = BEHAVIOURS[behaviour]
    return {"fine": FINE_OF, "coarse": COARSE_OF}[vocabulary][name] if vocabulary != "all" else behaviour


def student_sample(clip: Clip, track: StudentTrack, crop: int = 96, vocabulary: str = "fine") -> dict:
    """The per-student sample of ``track`` in ``clip`` (see the module docstring)."""
    class_names(vocabulary)  # validates the name
    T = clip.num_frames
    out: dict = {}
    A = square_affine(track.boxes["rgb"], crop)
    out["rgb"] = torch.from_numpy(warp_frames(clip.rgb, A, crop, False)).permute(0, 3, 1, 2).float() / 255
    out["rgb_clean"] = (torch.from_numpy(warp_frames(clip.rgb_clean, A, crop, False)).permute(0, 3, 1, 2).float() / 255
                        if clip.rgb_clean is not None else torch.zeros_like(out["rgb"]))
    kp = track.keypoints["rgb"].copy()
    kp[..., :2] = (kp[..., :2] @ A[:, :2].T + A[:, 2]) / crop
    out["keypoints"] = torch.from_numpy(kp).float()
    out["keypoints_3d"] = torch.from_numpy(track.keypoints_3d).float()
    for name, raw in (("depth", clip.depth), ("thermal", clip.thermal)):
        boxes = track.boxes.get(name)
        if raw is None or boxes is None:
            out[name] = torch.zeros(T, 1, crop, crop)
            out[f"has_{name}"] = False
            continue
        arr = depth_metres(raw) if name == "depth" else thermal_celsius(raw)
        out[name] = torch.from_numpy(warp_frames(arr, square_affine(boxes, crop), crop, nearest=name == "depth")).unsqueeze(1)
        out[f"has_{name}"] = True
    labels = np.array([label_of(b, vocabulary) for b in track.behaviour])
    out["labels"] = torch.from_numpy(labels).long()
    out["label"] = int(labels[T // 2])
    out["condition"] = CONDITIONS.index(clip.condition)
    out["subject"] = track.subject_id
    return out
