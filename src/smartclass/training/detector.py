"""Training of the student detector (paper 000 §2.5) on the shared engine: data, batches, region loss, mAP.

:class:`DetectorTask` defines only what is the detector's (:mod:`smartclass.training.engine` runs the loop,
checkpoints, resume and best): the training images (YOLO, COCO or SmartClass-Synth frames, cached in memory
at input scale), the batches of an epoch (LVIS repeat-factor sampling, mosaic / scale-crop / flip / HSV
augmentation, ``(N, 3, H, W)`` in ``[0, 1]`` plus per-image pixel boxes), the YOLOv2 region loss, and the
validation ``map50`` / ``map50_95`` that pick ``best.pt``. Anchors come from IoU k-means on the training
boxes at input scale and are stored in the checkpoint's ``model_config``.

:func:`train_detector` is what ``smartclass train --config configs/detector_<name>.yaml`` runs;
:func:`ship_checkpoint` turns a run's ``best.pt`` into the small fp16 file shipped under ``checkpoints/detector/``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from smartclass.data.detection import DetectionDataset, DetectionSample, clip_frames, load_coco, load_yolo
from smartclass.data.detection_augment import AugmentSettings, augment_sample, letterbox, repeat_factor_epoch, \
    repeat_factors
from smartclass.errors import ConfigError
from smartclass.labels import COARSE_CLASSES
from smartclass.metrics.detection import detection_report
from smartclass.training.detector_config import DetectorTrainConfig
from smartclass.training.detector_predict import to_tensor
from smartclass.training.engine import Engine, EngineSettings, Task

Log = Callable[[str], None]


# ---------------------------------------------------------------------------------------------- data


def synth_frames(synth_cfg, split: str, clips: int, frames_per_clip: int, seconds: float,
                 progress: Callable[[int, int], None] | None = None) -> DetectionDataset:
    """SmartClass-Synth detection frames: ``clips`` samples of ``seconds`` each from the subject-disjoint
    ``split`` (3:1:1), coarse vocabulary (paper 000's 8 classes), ``frames_per_clip`` frames spread evenly
    over each sample (rendered at ``fps = frames_per_clip / seconds``)."""
    import dataclasses

    from smartclass.synth.generator import render_clip

    cfg = dataclasses.replace(synth_cfg, split=split, vocabulary="coarse", frames=frames_per_clip,
                              fps=frames_per_clip / seconds)
    out = DetectionDataset(COARSE_CLASSES, [], f"synth:{split}")
    for i in range(clips):
        out.samples += clip_frames([render_clip(cfg, i)]).samples
        if progress:
            progress(i + 1, clips)
    return out


def load_datasets(cfg: DetectorTrainConfig, synth_cfg=None, progress=None) -> tuple[DetectionDataset, DetectionDataset]:
    """Training and validation sets named by the ``detector:`` section."""
    if cfg.format == "yolo":
        if not cfg.data or not cfg.val_data:
            raise ConfigError("detector.data and detector.val_data must name YOLO split folders (format: yolo)")
        train, val = load_yolo(cfg.data), load_yolo(cfg.val_data)
        if train.class_names != val.class_names:
            raise ConfigError(f"detector.data classes {train.class_names} differ from val_data's {val.class_names}")
    elif cfg.format == "coco":
        if not cfg.data:
            raise ConfigError("detector.data must name a COCO folder (images/ + annotations.json)")
        train, val = load_coco(cfg.data, "train"), load_coco(cfg.data, "heldout")
    elif cfg.format == "synth":
        if synth_cfg is None:
            raise ConfigError("detector.format 'synth' needs the synth: section")
        train = synth_frames(synth_cfg, "train", cfg.synth_train_clips, cfg.synth_frames_per_clip,
                             cfg.synth_seconds, progress)
        val = synth_frames(synth_cfg, "val", cfg.synth_val_clips, cfg.synth_frames_per_clip, cfg.synth_seconds,
                           progress)
    else:
        raise ConfigError(f"detector.format must be 'yolo', 'coco' or 'synth', got '{cfg.format}'")
    if cfg.class_names and tuple(cfg.class_names) != train.class_names:
        raise ConfigError(f"detector.class_names {list(cfg.class_names)} differ from the data's {list(train.class_names)}")
    return train, val


def fit_in_memory(ds: DetectionDataset, size: tuple[int, int]) -> DetectionDataset:
    """Every image decoded once and shrunk to fit ``size = (W, H)`` (never enlarged), boxes scaled alike."""
    W, H = size
    out = []
    for i, s in enumerate(ds.samples):
        img, boxes, labels = ds.item(i)
        f = min(1.0, W / img.shape[1], H / img.shape[0])
        if f < 1.0:
            import cv2

            img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                             interpolation=cv2.INTER_AREA)
            boxes = boxes * np.float32(f)
        out.append(DetectionSample(np.ascontiguousarray(img), img.shape[1], img.shape[0], boxes, labels, s.image_id))
    return DetectionDataset(ds.class_names, out, ds.source, dict(ds.meta))


def box_sizes(ds: DetectionDataset, size: tuple[int, int]) -> np.ndarray:
    """``(M, 2)`` box ``(w, h)`` of every training box at the letterbox scale of ``size`` (anchor k-means input)."""
    W, H = size
    out = [(s.boxes[:, 2:] - s.boxes[:, :2]) * min(W / s.width, H / s.height) for s in ds.samples if len(s.boxes)]
    return np.concatenate(out) if out else np.zeros((0, 2))


# ---------------------------------------------------------------------------------------------- task


def set_objectness_prior(head: torch.nn.Module, prior: float) -> None:
    """Every level's objectness bias set to ``σ⁻¹(prior)`` (the initial ``σ(to)`` of every anchor)."""
    bias = math.log(prior / (1 - prior))
    with torch.no_grad():
        for level in head.levels:
            level.conv.bias.view(level.num_anchors, -1)[:, 4].fill_(bias)


class DetectorTask(Task):
    """The detector's batches, loss and metrics (the loop is :class:`~smartclass.training.engine.Engine`'s)."""

    model_tag = "detector"

    def __init__(self, cfg: DetectorTrainConfig, train, val, seed: int = 0, device: str = "cpu",
                 log: Log = print) -> None:
        self.cfg, self.seed, self.device, self.log = cfg, seed, device, log
        self.size = (cfg.input_width, cfg.input_height)
        self.class_names = train.class_names
        self.loss_fn = None
        self.setup(train, val)

    def setup(self, train: DetectionDataset, val: DetectionDataset) -> None:
        """The real-frame detector's data: images cached at input scale, k-means anchors per level, sampling,
        augmentation and the steps of an epoch (:class:`~smartclass.training.detector_clip.ClipDetectorTask`
        overrides it for clips)."""
        from smartclass.models.detector.anchors import anchors_for_levels, mean_best_iou

        cfg, seed, log = self.cfg, self.seed, self.log
        if cfg.input_width % 32 or cfg.input_height % 32:
            raise ConfigError(f"detector.input_width/height must be multiples of 32, got {self.size}")
        if cfg.scale_min > cfg.scale_max:
            raise ConfigError(f"detector.scale_min {cfg.scale_min} > scale_max {cfg.scale_max}")
        self.train, self.val = fit_in_memory(train, self.size), fit_in_memory(val, self.size)
        self.strides = [int(s) for s in cfg.strides] if cfg.neck else [32]
        sizes = box_sizes(train, self.size)
        self.anchors = anchors_for_levels(sizes, self.strides, cfg.anchors_per_level, seed=seed)
        flat = [a for level in self.anchors for a in level]
        log(f"anchors (k-means on {len(sizes)} training boxes, mean best IoU {mean_best_iou(sizes, flat):.3f}): "
            f"{self.anchors}")
        self.factors = repeat_factors([s.labels for s in self.train.samples], len(self.class_names),
                                      cfg.repeat_threshold)
        self.aug = AugmentSettings(cfg.flip, (cfg.scale_min, cfg.scale_max), cfg.hsv_h, cfg.hsv_s, cfg.hsv_v,
                                   cfg.mosaic)
        if cfg.train_crop % 32:
            raise ConfigError(f"detector.train_crop must be a multiple of 32 (or 0), got {cfg.train_crop}")
        self.crop = (cfg.train_crop, cfg.train_crop) if cfg.train_crop else self.size
        self.steps = cfg.steps_per_epoch or max(1, math.ceil(self.factors.sum() / cfg.batch_size))

    # model ---------------------------------------------------------------------------------------------
    def model_settings(self) -> dict:
        c = self.cfg
        return {"num_classes": len(self.class_names), "strides": self.strides, "anchors": self.anchors,
                "neck": c.neck, "neck_channels": c.neck_channels, "cfam": c.cfam,
                "fusion_channels": c.fusion_channels, "pretrained": c.pretrained, "temporal": False}

    def build_model(self) -> torch.nn.Module:
        from smartclass.losses.region import RegionLoss
        from smartclass.models.detector.realframe import RealFrameConfig, RealFrameDetector

        model = RealFrameDetector(RealFrameConfig(**self.model_settings()))
        set_objectness_prior(model.head, self.cfg.obj_prior)
        frozen = self.cfg.freeze_layers if self.cfg.pretrained else 0  # never freeze random filters
        for p in model.stem[0][:frozen].parameters():  # stem[0] = features[0:7]
            p.requires_grad_(False)
        for p in model.stem[1][:max(0, frozen - 7)].parameters():
            p.requires_grad_(False)
        self.loss_fn = RegionLoss.for_head(model.head, class_weights=self.class_weights()).to(self.device)
        return model

    def class_weights(self) -> list[float] | None:
        """``(mean count / count_c)^p`` over the training boxes, normalised to mean 1 (``None`` when ``p = 0``)."""
        p = self.cfg.class_weight_power
        if p == 0:
            return None
        counts = np.maximum(self.train.class_counts(), 1).astype(np.float64)
        w = (counts.mean() / counts) ** p
        return (w / w.mean()).tolist()

    def model_config(self, model: torch.nn.Module) -> dict:
        from smartclass.models.detector import detector_config

        return detector_config(model)  # pretrained false: the weights travel in the checkpoint

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        """AdamW: no decay on norms and biases; a pretrained backbone (``model.stem``, the real-frame
        detector's) at ``backbone_lr_scale`` (the clip detectors have none: every weight at ``lr``)."""
        stem = getattr(model, "stem", None)
        backbone = {id(p) for p in stem.parameters()} if stem is not None else set()
        groups: dict[tuple[bool, bool], list] = {}
        for p in model.parameters():
            if p.requires_grad:
                groups.setdefault((id(p) in backbone, p.dim() > 1), []).append(p)
        c = self.cfg
        return torch.optim.AdamW([{"params": ps, "lr": c.lr * (c.backbone_lr_scale if bb else 1.0),
                                   "weight_decay": c.weight_decay if decay else 0.0}
                                  for (bb, decay), ps in sorted(groups.items())], lr=c.lr)

    def scheduler(self, optimizer: torch.optim.Optimizer):
        """Per-step linear warm-up over ``warmup_steps``, then cosine decay to ``min_lr_ratio``."""
        c, total = self.cfg, self.cfg.epochs * self.steps

        def factor(step: int) -> float:
            if step < c.warmup_steps:
                return (step + 1) / c.warmup_steps
            t = min(1.0, (step - c.warmup_steps) / max(1, total - c.warmup_steps))
            return c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    # batches -------------------------------------------------------------------------------------------
    def steps_per_epoch(self) -> int:
        return self.steps

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """``steps × batch_size`` training indices of ``epoch`` (repeat-factor resampled, cycled to length)."""
        rng = np.random.default_rng([self.seed, 17, epoch])
        need = self.steps * self.cfg.batch_size
        idx = repeat_factor_epoch(self.factors, rng)
        while len(idx) < need:
            idx = np.concatenate([idx, repeat_factor_epoch(self.factors, rng)])
        return idx[:need]

    def make_batch(self, indices, rng: np.random.Generator) -> tuple[torch.Tensor, list[dict]]:
        images, targets = [], []
        for i in indices:
            img, boxes, labels = augment_sample(self.train.item, int(i), len(self.train), self.crop, self.aug, rng,
                                                fit=self.size)
            images.append(img)
            targets.append({"boxes": torch.from_numpy(boxes).to(self.device),
                            "labels": torch.from_numpy(labels).to(self.device)})
        return to_tensor(images, self.device), targets

    def train_batches(self, epoch: int):
        idx = self.epoch_indices(epoch)
        rng = np.random.default_rng([self.seed, 29, epoch])
        bs = self.cfg.batch_size
        for s in range(self.steps):
            yield self.make_batch(idx[s * bs:(s + 1) * bs], rng)

    def loss(self, model: torch.nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        images, targets = batch
        loss, parts = self.loss_fn(model(images), targets)
        return loss, {k: v for k, v in parts.items() if k != "num_gt"}

    # validation ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def predictions(self, model: torch.nn.Module, ds: DetectionDataset, batch_size: int = 4):
        """Predictions (input-letterbox pixels of the cached images) and ground truths for every image of ``ds``."""
        preds, gts = [], []
        c = self.cfg
        for start in range(0, len(ds), batch_size):
            items = [ds.item(i) for i in range(start, min(start + batch_size, len(ds)))]
            boxed = [letterbox(img, boxes, self.size) for img, boxes, _ in items]
            x = to_tensor([b[0] for b in boxed], self.device)
            dets = model.predict(x, conf=c.val_conf, iou=c.nms_iou, max_det=c.max_det)
            preds += [{k: v.cpu().numpy() for k, v in d.items()} for d in dets]
            gts += [{"boxes": b[1], "labels": it[2]} for b, it in zip(boxed, items)]
        return preds, gts

    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict[str, float]:
        preds, gts = self.predictions(model, self.val)
        rep = detection_report(preds, gts, self.class_names)
        out = {"map50": rep["map50"] or 0.0, "map50_95": rep["map50_95"] or 0.0}
        out.update({f"ap50_{k}": (v["ap50"] or 0.0) for k, v in rep["per_class"].items() if v["num_gt"]})
        return out


# ---------------------------------------------------------------------------------------------- run


def train_detector(cfg, out: Path, resume: bool = False, log: Log = print,
                   progress: Callable[[int, int], None] | None = None) -> tuple[torch.nn.Module, dict]:
    """Train the detector described by ``cfg`` (the whole :class:`~smartclass.config.Config`; its
    ``detector:`` section) into ``out`` (``last.pt``, ``best.pt``; the caller writes config and history)."""
    import dataclasses

    from smartclass.config import to_dict

    dc: DetectorTrainConfig = cfg.detector
    torch.set_num_threads(cfg.threads)
    if dc.arch:  # a clip detector of paper 000's synthetic reproduction
        from smartclass.training.detector_clip import ClipDetectorTask, load_clip_datasets

        train, val = load_clip_datasets(cfg, log, progress)
        kind, task_type = "clips", ClipDetectorTask
    else:
        train, val = load_datasets(dc, cfg.synth, progress)
        kind, task_type = "images", DetectorTask
    log(f"{len(train)} training {kind} ({train.class_counts().tolist()} boxes per class), {len(val)} validation "
        f"{kind} ({val.class_counts().tolist()})")
    cfg = dataclasses.replace(cfg, detector=dataclasses.replace(dc, class_names=tuple(train.class_names)))
    task = task_type(cfg.detector, train, val, seed=cfg.seed, device=cfg.device, log=log)
    settings = EngineSettings(epochs=dc.epochs, patience=dc.patience, monitor="map50", mode="max",
                              time_budget_min=dc.time_budget_min, seed=cfg.seed, grad_clip=dc.grad_clip,
                              device=cfg.device)
    engine = Engine(settings, out, to_dict(cfg), log=log, progress=progress)
    return engine.fit(task, resume=resume)


def ship_checkpoint(src: str | Path, dst: str | Path, box_kind: str = "student", half: bool = True) -> Path:
    """A run's ``best.pt`` → a small shipped checkpoint: no resume state, float weights in fp16 (``load_model``
    loads them into the fp32 network), plus top-level ``class_names``, ``input_size`` ``[W, H]`` and
    ``box_kind`` (``"head"`` or ``"student"``: what a box covers) for applications."""
    from smartclass.checkpoint import read_checkpoint, save_checkpoint

    ck = read_checkpoint(src, "detector")
    keep = {k: v for k, v in ck.items() if k not in ("optimizer", "scheduler", "rng", "task")}
    det = (ck.get("config") or {}).get("detector") or {}
    keep.update(class_names=list(det.get("class_names") or []), box_kind=box_kind,
                input_size=[int(det.get("input_width", 640)), int(det.get("input_height", 416))])
    if half:
        keep["state_dict"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["state_dict"].items()}
    return save_checkpoint(dst, keep)
