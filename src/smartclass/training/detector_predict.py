"""Run a trained detector on frames: letterbox → network → decode + NMS (paper 000 §2.5) → boxes in frame pixels.

:class:`FrameDetector` wraps a ``"detector"`` checkpoint (``load_model``) with its class names and input size,
so the ``detect`` and ``detect-eval`` commands and ``analyze`` share one path from a decoded frame to boxes::

    det = FrameDetector.from_checkpoint("checkpoints/detector/cctv.pt")
    [{"boxes": (K, 4) x1 y1 x2 y2 frame pixels, "scores": (K,), "labels": (K,)}] = det.detect([frame_rgb_uint8])
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import torch

from smartclass.data.detection_augment import letterbox
from smartclass.errors import InputError


def to_tensor(images: Sequence[np.ndarray], device: str | torch.device = "cpu") -> torch.Tensor:
    """``[(H, W, 3) uint8 RGB]`` (same size) → ``(N, 3, H, W)`` float in ``[0, 1]``."""
    arr = np.stack([np.asarray(im) for im in images])
    return torch.from_numpy(arr).to(device).permute(0, 3, 1, 2).float().div_(255.0)


class FrameDetector:
    """A detector network with its class names and input size ``(W, H)``; ``detect`` works on any frame size."""

    def __init__(self, model: torch.nn.Module, class_names: Sequence[str], input_size: tuple[int, int],
                 conf: float = 0.25, iou: float = 0.5, max_det: int = 300, device: str = "cpu") -> None:
        if len(class_names) != model.head.num_classes:
            raise InputError(f"{len(class_names)} class names for a detector of {model.head.num_classes} classes")
        self.model, self.class_names = model.eval(), tuple(class_names)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.conf, self.iou, self.max_det, self.device = conf, iou, max_det, device

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", conf: float = 0.25, iou: float | None = None,
                        input_size: tuple[int, int] | None = None) -> "FrameDetector":
        """Load a ``"detector"`` checkpoint through :func:`smartclass.inference.load_model`; the class names and
        input size come from its ``config["detector"]`` section (``input_size`` overrides the latter)."""
        from smartclass.inference import load_model

        model, info = load_model(path, device=device, expected="detector")
        arch = (info.get("model_config") or {}).get("arch")
        if arch:
            raise InputError(f"checkpoint '{path}' is a clip detector (arch '{arch}', 7-frame clips of 60×40 with "
                             f"skeletons): frame detection needs a real-frame detector such as checkpoints/detector/"
                             f"synth8.pt; clip detectors are scored by benchmarks/detector_clip_synth.py")
        det = (info.get("config") or {}).get("detector") or {}
        names = info.get("class_names") or det.get("class_names") or [str(i) for i in range(model.head.num_classes)]
        size = input_size or tuple(info.get("input_size") or (det.get("input_width", 640), det.get("input_height", 416)))
        return cls(model.float(), names, size, conf, det.get("nms_iou", 0.5) if iou is None else iou,
                   int(det.get("max_det", 300)), device)

    def preprocess(self, frames: Sequence[np.ndarray]) -> tuple[torch.Tensor, list[float]]:
        """Letterbox each ``(H, W, 3)`` uint8 RGB frame into the input size: ``(N, 3, H_in, W_in)`` and scales."""
        out, scales = [], []
        for f in frames:
            f = np.asarray(f)
            if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
                raise InputError(f"frames must be (H, W, 3) uint8 RGB, got {f.shape} {f.dtype}")
            img, _, s = letterbox(f, np.zeros((0, 4)), self.input_size)
            out.append(img)
            scales.append(s)
        return to_tensor(out, self.device), scales

    @torch.no_grad()
    def detect(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[dict[str, np.ndarray]]:
        """Detections per frame in that frame's pixels (numpy ``boxes`` float32, ``scores``, ``labels`` int64)."""
        if not len(frames):
            return []
        x, scales = self.preprocess(frames)
        dets = self.model.predict(x, conf=self.conf if conf is None else conf, iou=self.iou, max_det=self.max_det)
        out = []
        for d, s, f in zip(dets, scales, frames):
            h, w = np.asarray(f).shape[:2]
            boxes = (d["boxes"].cpu().numpy() / s).astype(np.float32)
            boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
            out.append({"boxes": boxes, "scores": d["scores"].cpu().numpy().astype(np.float32),
                        "labels": d["labels"].cpu().numpy().astype(np.int64)})
        return out


def predict_dataset(detector: FrameDetector, dataset, batch_size: int = 4, conf: float | None = None,
                    progress: Callable[[int, int], None] | None = None) -> tuple[list[dict], list[dict], dict]:
    """Predictions and ground truths for every image of ``dataset`` (``item(i)`` → image, boxes, labels), and
    timing: ``{"images", "seconds_model_and_decode", "fps_end_to_end"}`` (preprocess + model + decode + NMS,
    image decoding excluded)."""
    preds, gts, busy = [], [], 0.0
    n = len(dataset)
    for start in range(0, n, batch_size):
        items = [dataset.item(i) for i in range(start, min(start + batch_size, n))]
        t0 = time.perf_counter()
        preds += detector.detect([it[0] for it in items], conf=conf)
        busy += time.perf_counter() - t0
        gts += [{"boxes": it[1], "labels": it[2]} for it in items]
        if progress:
            progress(min(start + batch_size, n), n)
    return preds, gts, {"images": n, "seconds": busy, "fps_end_to_end": n / busy if busy > 0 else None}
