"""Config section of the recogniser's training; no torch import, so ``smartclass config show`` stays fast. The
architecture, ``RecognizerConfig``, lives beside the model in ``models/recognizer_config.py``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """Training settings (paper defaults; ``configs/mmfg.yaml`` holds the CPU-sized overrides)."""

    lr: float = 1e-4
    lr_milestones: tuple[int, ...] = ()  # lr ×0.1 after each of these epochs (increasing; 0 = from the start)
    weight_decay: float = 1e-5
    batch_size: int = 32
    epochs: int = 300
    patience: int = 15  # early stop after this many epochs without a better validation macro-F1
    train_samples: int = 15000
    val_samples: int = 1000
    frames: int = 16
    fps: float = 5.0
    crop: int = 64
    vocabulary: str = "fine"
    focal_gamma: float = 2.0
    task_temperature: float = 0.1
    teacher_forcing: float = 0.5  # probability of feeding ground-truth keypoints to the GCN in a training step
    flip: bool = False  # mirror half of the training samples left↔right (images, keypoints, left/right joints)
    keypoint_warmup_steps: int = 0  # steps of keypoint-only training (random frames) before the end-to-end epochs
    enhancement_mu: float = 0.5
    time_budget_min: float = 0.0  # stop after this many minutes of training (0 = no limit)
    workers: int = 2  # rendering processes
    cache_dir: str = ".cache/smartclass"  # rendered training data, keyed by its settings
