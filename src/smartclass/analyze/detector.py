"""The detector stage: a small protocol every student detector meets, and the adapter for trained checkpoints.

A :class:`Detector` is callable on a batch of RGB ``(H, W, 3) uint8`` frames and returns one
:class:`Detections` per frame: ``boxes (N, 4)`` x1, y1, x2, y2 pixels of the frame, ``scores (N,)`` in
[0, 1], ``class_ids (N,)`` indices into ``class_names``. ``head_fraction`` says which top share of a box is
the head (1.0 for a head detector, about 0.3 for whole-student boxes; used by ``--blur-faces``).

:class:`CheckpointDetector` wraps a smartclass detector checkpoint (``smartclass.inference.load_model``),
whose model has ``predict(images) -> [{"boxes", "scores", "labels"}]`` (see docs/detector.md). Detections of
one student under several classes are merged by class-agnostic NMS (:func:`merge_classes`): the tracker
needs one box per student, the behaviour stage the winning class and its score.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from smartclass.errors import InputError
from smartclass.tracking.base import nms


@dataclass
class Detections:
    """Detections in one frame (see the module doc for shapes)."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.class_ids = np.asarray(self.class_ids, np.int64).reshape(-1)
        if not len(self.boxes) == len(self.scores) == len(self.class_ids):
            raise InputError(f"Detections: boxes, scores and class_ids differ in length "
                             f"({len(self.boxes)}, {len(self.scores)}, {len(self.class_ids)})")

    def __len__(self) -> int:
        return len(self.boxes)

    @staticmethod
    def empty() -> "Detections":
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))

    def select(self, keep: np.ndarray) -> "Detections":
        return Detections(self.boxes[keep], self.scores[keep], self.class_ids[keep])


class Detector(Protocol):
    """Finds students in a batch of frames (see the module doc)."""

    name: str
    version: str
    class_names: tuple[str, ...]
    head_fraction: float

    def __call__(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...


def merge_classes(det: Detections, iou: float = 0.6) -> Detections:
    """One box per student: class-agnostic NMS at ``iou`` (the highest-scoring class of overlapping boxes wins)."""
    if len(det) <= 1:
        return det
    return det.select(nms(det.boxes, det.scores, iou))


@dataclass
class CheckpointDetector:
    """A trained smartclass detector checkpoint (tag ``"detector"``) as a :class:`Detector`, through
    :class:`smartclass.training.detector_predict.FrameDetector` (letterbox to the checkpoint's input size →
    ``predict`` → boxes in frame pixels), the path ``smartclass detect`` uses too.

    ``score_threshold`` is the detector's confidence cut (low, so ByteTrack's second stage has the weak boxes of
    half-hidden students); ``threads`` sets torch's intra-op threads (the CPU budget is 2 cores)."""

    checkpoint: str | os.PathLike
    device: str = "cpu"
    score_threshold: float = 0.1
    merge_iou: float = 0.6
    threads: int | None = None
    name: str = field(init=False)
    version: str = field(init=False)
    class_names: tuple[str, ...] = field(init=False)
    head_fraction: float = field(init=False)

    def __post_init__(self) -> None:
        import torch

        from smartclass.checkpoint import read_checkpoint
        from smartclass.training.detector_predict import FrameDetector

        if self.threads:
            torch.set_num_threads(int(self.threads))
        self.frame_detector = FrameDetector.from_checkpoint(self.checkpoint, device=self.device, conf=self.score_threshold)
        self.class_names = tuple(str(n) for n in self.frame_detector.class_names)
        info = {k: v for k, v in read_checkpoint(Path(self.checkpoint), "detector").items() if k != "state_dict"}
        self.name = f"detector:{Path(self.checkpoint).stem}"
        self.version = str(info.get("version") or info.get("smartclass_version") or f"epoch {info.get('epoch', '?')}")
        metrics = info.get("metrics") or {}
        self.metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))} if isinstance(metrics, dict) else {}
        self.input_size = list(self.frame_detector.input_size)
        # a head detector (classroom-cctv's head states) boxes heads; the others box whole students
        self.head_fraction = 1.0 if set(self.class_names) <= {"down", "lookaround", "phone", "up"} else 0.3

    def __call__(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        out = []
        for p in self.frame_detector.detect(list(frames)):
            det = Detections(p["boxes"], p["scores"], p["labels"])
            out.append(merge_classes(det, self.merge_iou))
        return out
