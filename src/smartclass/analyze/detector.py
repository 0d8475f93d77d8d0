"""The detector stage: a small protocol every student detector meets, and the adapter for trained checkpoints.

A :class:`Detector` is callable on a batch of RGB ``(H, W, 3) uint8`` frames and returns one
:class:`Detections` per frame: ``boxes (N, 4)`` x1, y1, x2, y2 pixels of the frame, ``scores (N,)`` in
[0, 1], ``class_ids (N,)`` indices into ``class_names``, and optionally ``probs (N, C)``, the detector's
class posterior of each box (what a temporal model over the track reads). ``head_fraction`` says which top share of a box is
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
    probs: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(-1)
        self.class_ids = np.asarray(self.class_ids, np.int64).reshape(-1)
        if not len(self.boxes) == len(self.scores) == len(self.class_ids):
            raise InputError(f"Detections: boxes, scores and class_ids differ in length "
                             f"({len(self.boxes)}, {len(self.scores)}, {len(self.class_ids)})")
        if self.probs is not None:
            p = np.asarray(self.probs, np.float32)
            self.probs = p.reshape(len(self.boxes), p.shape[-1] if p.ndim == 2 else -1)

    def __len__(self) -> int:
        return len(self.boxes)

    @staticmethod
    def empty() -> "Detections":
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))

    def select(self, keep: np.ndarray) -> "Detections":
        return Detections(self.boxes[keep], self.scores[keep], self.class_ids[keep],
                          None if self.probs is None else self.probs[keep])


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
    score_threshold: float = 0.02
    merge_iou: float = 0.6
    threads: int | None = None
    runtime: str = "auto"  # 'onnx' (ONNX Runtime), 'torch', or 'auto' (ONNX Runtime on CPU when installed)
    name: str = field(init=False)
    version: str = field(init=False)
    class_names: tuple[str, ...] = field(init=False)
    head_fraction: float = field(init=False)

    def __post_init__(self) -> None:
        import torch

        import smartclass.models.detector  # noqa: F401 - registers the "detector" checkpoint tag with load_model
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
        self.trained_input = tuple(self.frame_detector.input_size)
        self.input_size = list(self.trained_input)
        self._fitted: tuple[int, int] | None = None
        if self.runtime not in ("auto", "onnx", "torch"):
            raise InputError(f"--runtime: expected 'auto', 'onnx' or 'torch', got '{self.runtime}'")
        self._session = False  # built on the first call (ONNX Runtime), None: torch
        self.runtime_used = "torch"
        # what a box covers (the shipped checkpoint says: "head" for classroom-cctv's head states, "student")
        kind = info.get("box_kind") or ("head" if set(self.class_names) <= {"down", "lookaround", "phone", "up"} else "student")
        self.head_fraction = 1.0 if kind == "head" else 0.3

    def fit_input(self, width: int, height: int) -> tuple[int, int]:
        """Shrink the letterbox to the frame: keep the checkpoint's scale ``s = min(W_in/w, H_in/h)`` (the
        object sizes it was trained on) but pad only up to the next multiple of 32 of ``s·w × s·h`` instead of
        the full training canvas (a 640×360 frame runs at 640×384, not 640×416: 8 % less work, same boxes)."""
        W_in, H_in = self.trained_input
        s = min(W_in / width, H_in / height)
        size = (int(np.ceil(width * s / 32) * 32), int(np.ceil(height * s / 32) * 32))
        self.frame_detector.input_size = size
        self.input_size = list(size)
        return size

    def _onnx_session(self):
        """The network (up to the head's raw maps, before decoding) exported to ONNX in memory and opened with
        ONNX Runtime on ``threads`` threads; batch, height and width are dynamic. ``None`` if unavailable."""
        import io
        import warnings

        import torch

        try:
            import onnxruntime as ort
        except ImportError:
            if self.runtime == "onnx":
                raise InputError("--runtime onnx: the package 'onnxruntime' is not installed") from None
            return None
        model = self.frame_detector.model

        class Raw(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return tuple(self.m(x))

        raw = Raw(model).eval()
        W, H = self.frame_detector.input_size
        buf = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(raw, (torch.zeros(1, 3, H, W),), buf, input_names=["x"], opset_version=17,
                              dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}}, dynamo=False)
        model.eval()  # export restores the wrapper's mode onto the network: keep it in eval
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(self.threads or torch.get_num_threads())
        so.inter_op_num_threads = 1
        return ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])

    def _detect(self, frames: list[np.ndarray]) -> list[dict]:
        import torch

        fd = self.frame_detector
        x, scales = fd.preprocess(frames)
        with torch.no_grad():
            if self._session is None:
                raws = list(fd.model(x))
            else:
                raws = [torch.from_numpy(a) for a in self._session.run(None, {"x": x.numpy()})]
            dets = fd.model.head.postprocess(raws, tuple(x.shape[-2:]), conf=fd.conf, iou=fd.iou, max_det=fd.max_det,
                                             with_probs=True)
        out = []
        for d, s, f in zip(dets, scales, frames):
            h, w = f.shape[:2]
            boxes = np.clip(d["boxes"].cpu().numpy() / s, 0, [w, h, w, h]).astype(np.float32)
            out.append({k: d[k].cpu().numpy() for k in ("scores", "labels", "probs")} | {"boxes": boxes})
        return out

    def __call__(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        if not len(frames):
            return []
        h, w = np.asarray(frames[0]).shape[:2]
        if (w, h) != self._fitted:
            self._fitted = (w, h)
            self.fit_input(w, h)
        if self._session is False:
            use = self.runtime == "onnx" or (self.runtime == "auto" and str(self.device) == "cpu")
            self._session = self._onnx_session() if use else None
            self.runtime_used = "onnxruntime" if self._session is not None else "torch"
        out = []
        for p in self._detect([np.asarray(f) for f in frames]):
            det = Detections(p["boxes"], p["scores"], p["labels"], p["probs"])
            out.append(merge_classes(det, self.merge_iou))
        return out
