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
    """A trained smartclass detector checkpoint as a :class:`Detector`.

    ``score_threshold`` drops weak boxes before tracking (ByteTrack's second stage still uses boxes down to
    this score); ``threads`` sets torch's intra-op threads (the CPU budget is 2 cores)."""

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

        from smartclass.inference import load_model

        if self.threads:
            torch.set_num_threads(int(self.threads))
        self.model, self.info = load_model(self.checkpoint, device=self.device)
        if not hasattr(self.model, "predict"):
            raise InputError(f"checkpoint '{self.checkpoint}' holds a '{self.info.get('model')}' model, not a "
                             "detector (no predict(images)); pass a detector checkpoint with --checkpoint")
        cfg = self.info.get("model_config") or {}
        names = (getattr(self.model, "class_names", None) or cfg.get("class_names") or self.info.get("class_names")
                 or [f"class{i}" for i in range(int(cfg.get("num_classes", 1)))])
        self.class_names = tuple(str(n) for n in names)
        self.name = f"{self.info.get('model', 'detector')}:{Path(self.checkpoint).stem}"
        meta = self.info.get("metrics") or {}
        self.version = str(self.info.get("version") or self.info.get("smartclass_version") or
                           f"epoch {self.info.get('epoch', '?')}")
        self.metrics = meta
        head = cfg.get("box_kind") or self.info.get("box_kind")
        self.head_fraction = 1.0 if head == "head" or set(self.class_names) <= {"down", "lookaround", "phone", "up"} else 0.3

    def __call__(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        import torch

        if not len(frames):
            return []
        with torch.inference_mode():
            preds = self.model.predict(list(frames))
        out = []
        for p in preds:
            get = lambda k: p[k].detach().cpu().numpy() if hasattr(p[k], "detach") else np.asarray(p[k])
            det = Detections(get("boxes"), get("scores"), get("labels"))
            det = det.select(det.scores >= self.score_threshold)
            out.append(merge_classes(det, self.merge_iou))
        return out
