"""Training of paper 000's clip detectors (``detector.arch`` ``paper``, ``ms_cnn``, ``3dcca``) on
SmartClass-Synth clips: the synthetic 8-class reproduction, on the same engine and region loss as the
real-frame detector (:class:`~smartclass.training.detector.DetectorTask`, whose optimiser, schedule,
sampling and validation this task shares).

Data (:func:`synth_clip_items`): ``clips`` 6-second samples (``synth_seconds``) of a subject-disjoint split
(3:1:1), coarse vocabulary, ``synth_frames_per_clip`` frames spread evenly over each, 320×240 as the
``synth:`` section says; every key frame (the last, then every ``clip_key_stride``-th before it) gives one
item of ``clip_length`` frames resized to ``input_width × input_height`` (60×40) with the key frame's boxes,
labels and the students' 3-D joints (:mod:`smartclass.data.detection_clips`). Rendered once per setting and
cached under ``train.cache_dir`` (keyed by every setting and the generator version), so the three
architectures train on the very same items.

Augmentation: horizontal flip (frames, boxes, and joints mirrored with left/right swapped) and one brightness
gain per clip (``1 ± hsv_v``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from smartclass.data.detection_clips import ClipItems, clip_items, skeleton_batch
from smartclass.data.detection_augment import repeat_factors
from smartclass.errors import ConfigError
from smartclass.io import atomic_path
from smartclass.training.detector import DetectorTask, Log, set_objectness_prior
from smartclass.training.detector_config import DetectorTrainConfig

SKELETON_LAYOUT = "upper_body_17"  # the layout of SmartClass-Synth's joints


def _render_items(args: tuple) -> ClipItems:
    from smartclass.synth.generator import render_clip

    cfg, index, length, size, key_stride = args
    return clip_items([render_clip(cfg, index)], length, size, key_stride, skeletons=True)


def synth_clip_items(synth_cfg, dc: DetectorTrainConfig, split: str, clips: int, cache_dir: str | Path = "",
                     log: Log = print, progress: Callable[[int, int], None] | None = None,
                     workers: int = 1) -> ClipItems:
    """Clip items of ``clips`` samples of ``split`` (module docstring), rendered in ``workers`` processes and
    cached under ``cache_dir`` ("" = none)."""
    from smartclass.config import to_dict
    from smartclass.runs import worker_pool
    from smartclass.synth.generator import GENERATOR_VERSION

    fps = dc.synth_frames_per_clip / dc.synth_seconds
    cfg = dataclasses.replace(synth_cfg, split=split, vocabulary="coarse", frames=dc.synth_frames_per_clip, fps=fps)
    size = (dc.input_width, dc.input_height)
    key = json.dumps({"synth": to_dict(cfg), "clips": clips, "length": dc.clip_length, "size": size,
                      "key_stride": dc.clip_key_stride, "generator": GENERATOR_VERSION}, sort_keys=True)
    path = Path(cache_dir) / f"clipdet-{split}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz" if cache_dir else None
    if path is not None and path.is_file():
        log(f"using cached {split} clips {path}")
        with np.load(path, allow_pickle=False) as a:
            return ClipItems.from_arrays(a)
    jobs = [(cfg, i, dc.clip_length, size, dc.clip_key_stride) for i in range(clips)]
    parts = []
    with worker_pool(workers) if workers > 1 else nullcontext() as pool:  # workers stop with this process
        for part in (pool.map if pool is not None else map)(_render_items, jobs):
            parts.append(part)
            if progress:
                progress(len(parts), clips)
    items = ClipItems.concatenate(parts)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **items.to_arrays())
    return items


def load_clip_datasets(cfg, log: Log = print, progress=None) -> tuple[ClipItems, ClipItems]:
    """Training and validation clip items of the whole config ``cfg`` (its ``detector:`` and ``synth:``)."""
    dc = cfg.detector
    if dc.format != "synth":
        raise ConfigError(f"detector.arch '{dc.arch}' (a clip detector) needs detector.format 'synth', got '{dc.format}'")
    if dc.clip_length > dc.synth_frames_per_clip:
        raise ConfigError(f"detector.clip_length {dc.clip_length} exceeds detector.synth_frames_per_clip "
                          f"{dc.synth_frames_per_clip} (the frames rendered per sample)")
    cache, workers = cfg.train.cache_dir, cfg.train.workers
    return (synth_clip_items(cfg.synth, dc, "train", dc.synth_train_clips, cache, log, progress, workers),
            synth_clip_items(cfg.synth, dc, "val", dc.synth_val_clips, cache, log, progress, workers))


def clip_tensor(frames: list[np.ndarray] | np.ndarray, device: str | torch.device = "cpu") -> torch.Tensor:
    """``[(L, H, W, 3) uint8]`` → ``(N, L, 3, H, W)`` float in ``[0, 1]``."""
    x = torch.from_numpy(np.ascontiguousarray(np.stack(frames))).to(device)
    return x.permute(0, 1, 4, 2, 3).float().div_(255).contiguous()


def flip_item(frames: np.ndarray, boxes: np.ndarray, joints: np.ndarray, mirror: np.ndarray | None):
    """Horizontal flip of one item: frames, key-frame boxes (input pixels) and camera-frame joints (x negated,
    left/right joints swapped by ``mirror``)."""
    W = frames.shape[2]
    frames = frames[:, :, ::-1]
    boxes = np.stack([W - boxes[:, 2], boxes[:, 1], W - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
    if joints.shape[2] and mirror is not None:
        joints = joints[:, :, mirror] * np.array([-1.0, 1.0, 1.0], np.float32)
    return frames, boxes, joints


class ClipDetectorTask(DetectorTask):
    """The clip detectors' data, model and batches; loss, optimiser, schedule, sampling and ``map50``
    validation are :class:`DetectorTask`'s."""

    def setup(self, train: ClipItems, val: ClipItems) -> None:
        from smartclass.layouts import get_layout
        from smartclass.models.detector import ClipDetectorConfig
        from smartclass.models.detector.anchors import kmeans_anchors, mean_best_iou

        c = self.cfg
        frames = ClipDetectorConfig.frames
        if c.clip_length < frames:
            raise ConfigError(f"detector.clip_length must be at least the model's {frames} frames, got {c.clip_length}")
        if train.size != self.size or val.size != self.size:
            raise ConfigError(f"clip items of size {train.size} / {val.size} do not match detector.input_width × "
                              f"input_height {self.size}")
        self.train, self.val = train, val
        self.use_skeletons = c.arch == "paper" and c.skeletons
        self.mirror = get_layout(SKELETON_LAYOUT).mirror() if self.use_skeletons else None
        sizes = train.boxes[:, 2:] - train.boxes[:, :2]
        self.anchors = kmeans_anchors(sizes, c.anchors_per_level, seed=self.seed).tolist()
        self.log(f"anchors (k-means on {len(sizes)} training boxes, mean best IoU "
                 f"{mean_best_iou(sizes, self.anchors):.3f}): {[[round(v, 2) for v in a] for a in self.anchors]}")
        self.factors = repeat_factors(train.item_labels(), len(self.class_names), c.repeat_threshold)
        self.steps = c.steps_per_epoch or max(1, math.ceil(self.factors.sum() / c.batch_size))

    def clip_config(self):
        from smartclass.models.detector import ClipDetectorConfig

        c = self.cfg
        return ClipDetectorConfig(arch=c.arch, num_classes=len(self.class_names), input_size=[self.size[1], self.size[0]],
                                  pyramid=[int(p) for p in c.clip_pyramid], anchors=self.anchors,
                                  skeleton_layout=SKELETON_LAYOUT if self.use_skeletons else None, cfam=c.cfam,
                                  fused_channels=c.fusion_channels)

    def build_model(self) -> torch.nn.Module:
        from smartclass.losses.region import RegionLoss
        from smartclass.models.detector import clip_detector

        model = clip_detector(self.clip_config())
        set_objectness_prior(model.head, self.cfg.obj_prior)
        self.loss_fn = RegionLoss.for_head(model.head, class_weights=self.class_weights()).to(self.device)
        return model

    def skeletons(self, boxes: list[np.ndarray], joints: list[np.ndarray]) -> dict | None:
        return skeleton_batch(boxes, joints) if self.use_skeletons else None

    def make_batch(self, indices, rng: np.random.Generator):
        c = self.cfg
        frames, boxes, labels, joints = [], [], [], []
        for i in indices:
            f, b, lab, j = self.train.item(int(i))
            f = f[-c.clip_length:]
            if rng.uniform() < c.flip:
                f, b, j = flip_item(f, b, j, self.mirror)
            if c.hsv_v:
                f = np.clip(f.astype(np.float32) * rng.uniform(1 - c.hsv_v, 1 + c.hsv_v), 0, 255).astype(np.uint8)
            frames.append(f)
            boxes.append(b)
            labels.append(lab)
            joints.append(j)
        targets = [{"boxes": torch.from_numpy(np.ascontiguousarray(b, np.float32)).reshape(-1, 4).to(self.device),
                    "labels": torch.from_numpy(lab).to(self.device)} for b, lab in zip(boxes, labels)]
        return clip_tensor(frames, self.device), self.skeletons(boxes, joints), targets

    def loss(self, model: torch.nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        clips, skeletons, targets = batch
        loss, parts = self.loss_fn(model(clips, skeletons), targets)
        return loss, {k: v for k, v in parts.items() if k != "num_gt"}

    @torch.no_grad()
    def predictions(self, model: torch.nn.Module, items: ClipItems, batch_size: int = 32, conf: float | None = None):
        """Key-frame predictions and ground truths (input pixels) of every item of ``items``."""
        c = self.cfg
        return clip_predictions(model, items, self.use_skeletons, c.val_conf if conf is None else conf, c.nms_iou,
                                c.max_det, batch_size, self.device)


def clip_predictions(model: torch.nn.Module, items: ClipItems, skeletons: bool, conf: float = 0.001,
                     iou: float = 0.5, max_det: int = 100, batch_size: int = 32, device: str = "cpu",
                     transform: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[list[dict], list[dict]]:
    """``model.predict`` on every item's clip (``transform`` maps each ``(L, H, W, 3)`` uint8 clip first, e.g.
    an illumination change): ``(predictions, ground truths)`` in input pixels, as
    :func:`smartclass.metrics.detection.detection_report` takes them."""
    preds, gts = [], []
    for start in range(0, len(items), batch_size):
        idx = range(start, min(start + batch_size, len(items)))
        got = [items.item(i) for i in idx]
        frames = [g[0] if transform is None else transform(g[0]) for g in got]
        sk = skeleton_batch([g[1] for g in got], [g[3] for g in got]) if skeletons else None
        dets = model.predict(clip_tensor(frames, device), sk, conf=conf, iou=iou, max_det=max_det)
        preds += [{k: v.cpu().numpy() for k, v in d.items()} for d in dets]
        gts += [{"boxes": g[1], "labels": g[2]} for g in got]
    return preds, gts
