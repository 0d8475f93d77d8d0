"""PyTorch datasets of per-student clips: streamed from SmartClass-Synth, or read from the on-disk layout.

A per-student sample is one student's track over a clip, cropped around the student in every camera::

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

Sample ``i`` of :class:`SynthStudentClips` is rendered the same way every time (no disk needed); students of
one clip are consecutive samples and the last clip is cached, so iterate in order (or use ``materialise``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from smartclass.data.clip import CONDITIONS, Clip, StudentTrack
from smartclass.labels import BEHAVIOURS, COARSE_OF, FINE_OF, class_names
from smartclass.synth.config import SynthConfig


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


class SynthStudentClips(Dataset):
    """``length`` per-student samples streamed from SmartClass-Synth (deterministic per index).

    ``cfg.frames`` is overridden by ``frames``; classes are balanced by the generator for ``vocabulary``.
    """

    def __init__(self, cfg: SynthConfig, length: int, frames: int = 16, crop: int = 96, vocabulary: str = "fine"):
        import dataclasses

        class_names(vocabulary)
        self.cfg = dataclasses.replace(cfg, frames=frames, vocabulary=vocabulary)
        self.length, self.crop, self.vocabulary = length, crop, vocabulary
        self._cache: tuple[int, list[dict]] | None = None

    def __len__(self) -> int:
        return self.length

    def clip_samples(self, clip_index: int) -> list[dict]:
        from smartclass.synth.generator import render_clip

        if self._cache is None or self._cache[0] != clip_index:
            clip = render_clip(self.cfg, clip_index)
            self._cache = (clip_index, [student_sample(clip, s, self.crop, self.vocabulary) for s in clip.students])
        return self._cache[1]

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.length:
            raise IndexError(f"sample {i} out of range for {self.length} samples")
        k = self.cfg.students
        return self.clip_samples(i // k)[i % k]

    def materialise(self, workers: int = 1, progress: Callable[[int, int], None] | None = None) -> list[dict]:
        """Every sample, rendered once (in ``workers`` processes) and kept in memory; ``progress(done, total)``
        is called after each clip."""
        k = self.cfg.students
        n_clips = -(-self.length // k)
        per_clip = []

        def collect(clips: Iterable[list[dict]]) -> None:
            for clip in clips:
                per_clip.append(clip)
                if progress:
                    progress(len(per_clip), n_clips)

        if workers <= 1:
            collect(self.clip_samples(c) for c in range(n_clips))
        else:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(workers) as pool:
                jobs = [(self.cfg, c, self.crop, self.vocabulary) for c in range(n_clips)]
                collect([{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()} for s in clip]
                        for clip in pool.map(_render_samples, jobs))
        return [s for clip in per_clip for s in clip][: self.length]


def _render_samples(args: tuple[SynthConfig, int, int, str]) -> list[dict]:
    from smartclass.synth.generator import render_clip

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    cfg, index, crop, vocabulary = args
    clip = render_clip(cfg, index)
    # tensors as numpy arrays: torch would pass each through a shared-memory file descriptor, and thousands
    # of samples then exhaust the process's descriptors ("received 0 items of ancdata")
    return [{k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in student_sample(clip, s, crop, vocabulary).items()}
            for s in clip.students]


class DiskStudentClips(Dataset):
    """Per-student samples of the clips listed in ``root/splits/<split>.txt`` (the on-disk layout)."""

    def __init__(self, root: str | os.PathLike, split: str, crop: int = 96, vocabulary: str = "fine"):
        from smartclass.data.clipdir import read_clip, split_clips

        class_names(vocabulary)
        self.root, self.crop, self.vocabulary = Path(root), crop, vocabulary
        self.clips = split_clips(root, split)
        self._read = read_clip
        self.index: list[tuple[int, int]] = []
        import json

        for c, folder in enumerate(self.clips):
            ann = json.loads((folder / "annotations.json").read_text())
            self.index += [(c, k) for k in range(len(ann.get("students", [])))]
        self._cache: tuple[int, Clip] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        c, k = self.index[i]
        if self._cache is None or self._cache[0] != c:
            self._cache = (c, self._read(self.clips[c]))
        clip = self._cache[1]
        return student_sample(clip, clip.students[k], self.crop, self.vocabulary)
