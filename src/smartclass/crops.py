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


def _square_box(boxes: np.ndarray, margin: float = 0.12) -> tuple[float, float, float]:
    """Centre and side of a square covering the union of ``boxes`` ``(T, 4)`` plus a margin."""
    x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
    x2, y2 = boxes[:, 2].max(), boxes[:, 3].max()
    side = max(x2 - x1, y2 - y1, 4.0) * (1 + 2 * margin)
    return (x1 + x2) / 2, (y1 + y2) / 2, side


def _affine(cx: float, cy: float, side: float, size: int) -> np.ndarray:
    s = size / side
    return np.array([[s, 0, size / 2 - s * cx + (s - 1) / 2], [0, s, size / 2 - s * cy + (s - 1) / 2]], np.float64)


def _crop(frames: np.ndarray, A: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA if A[0, 0] < 1 else cv2.INTER_LINEAR
    return np.stack([cv2.warpAffine(f, A, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                     for f in frames])


def label_of(behaviour: int, vocabulary: str) -> int:
    """Class index of behaviour ``behaviour`` in ``vocabulary`` (−1 where it has none)."""
    name = BEHAVIOURS[behaviour]
    return {"fine": FINE_OF, "coarse": COARSE_OF}[vocabulary][name] if vocabulary != "all" else behaviour


def student_sample(clip: Clip, track: StudentTrack, crop: int = 96, vocabulary: str = "fine") -> dict:
    """The per-student sample of ``track`` in ``clip`` (see the module docstring)."""
    class_names(vocabulary)  # validates the name
    T = clip.num_frames
    out: dict = {}
    cx, cy, side = _square_box(track.boxes["rgb"])
    A = _affine(cx, cy, side, crop)
    out["rgb"] = torch.from_numpy(_crop(clip.rgb, A, crop, False)).permute(0, 3, 1, 2).float() / 255
    out["rgb_clean"] = (torch.from_numpy(_crop(clip.rgb_clean, A, crop, False)).permute(0, 3, 1, 2).float() / 255
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
        Am = _affine(*_square_box(boxes), crop)
        arr = raw.astype(np.float32) / 1000.0 if name == "depth" else np.nan_to_num(raw.astype(np.float32), nan=0.0)
        out[name] = torch.from_numpy(_crop(arr, Am, crop, nearest=name == "depth")).unsqueeze(1)
        out[f"has_{name}"] = True
    labels = np.array([label_of(b, vocabulary) for b in track.behaviour])
    out["labels"] = torch.from_numpy(labels).long()
    out["label"] = int(labels[T // 2])
    out["condition"] = CONDITIONS.index(clip.condition)
    out["subject"] = track.subject_id
    return out
