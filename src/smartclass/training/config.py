"""Config section of the recogniser's training; no torch import, so ``smartclass config show`` stays fast. The
architecture, ``RecognizerConfig``, lives beside the model in ``models/recognizer_config.py``."""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import one_of, ranged
from smartclass.labels import VOCABULARIES


@dataclass
class TrainConfig:
    """Training settings (paper defaults; ``configs/mmfg.yaml`` holds the CPU-sized overrides)."""

    lr: float = ranged(1e-4, gt=0)
    lr_milestones: tuple[int, ...] = ranged((), ge=0)  # lr ×0.1 after each of these epochs (increasing; 0 = from the start)
    weight_decay: float = ranged(1e-5, ge=0)
    batch_size: int = ranged(32, ge=2)  # BatchNorm needs two samples
    epochs: int = ranged(300, ge=1)
    patience: int = ranged(15, ge=1)  # early stop after this many epochs without a better validation macro-F1
    train_samples: int = ranged(15000, ge=2)
    val_samples: int = ranged(1000, ge=1)
    crop: int = ranged(64, ge=16)
    vocabulary: str = one_of("fine", tuple(VOCABULARIES))
    focal_gamma: float = ranged(2.0, ge=0)
    task_temperature: float = ranged(0.1, gt=0)
    teacher_forcing: float = ranged(0.5, ge=0, le=1)  # probability of feeding ground-truth keypoints to the GCN in a training step
    flip: bool = False  # mirror half of the training samples left↔right (images, keypoints, left/right joints)
    keypoint_warmup_steps: int = ranged(0, ge=0)  # steps of keypoint-only training (random frames) before the end-to-end epochs
    enhancement_mu: float = ranged(0.5, ge=0, le=1)
    adaptive_task_weights: bool = True  # False: fixed equal task weights (Table 6, "without adaptive loss weights")
    modality_dropout: float = ranged(0.0, ge=0, le=1)  # per training clip, depth and thermal each dropped with this probability
    box_jitter: float = ranged(0.0, ge=0, le=0.5)  # re-frame each student crop as if its box were off: shift up to this fraction of the crop side per axis, scale within ×(1 ± it)
    time_budget_min: float = ranged(0.0, ge=0)  # stop after this many minutes of training (0 = no limit)
    init_from: str = ""  # a recogniser checkpoint whose weights start the run (fine-tuning; same architecture)
    distill_from: str = ""  # a recogniser checkpoint run frozen on every modality the clip has: the teacher of self-distillation
    distill_weight: float = ranged(1.0, gt=0)  # weight of the T²·KL(teacher ‖ student) term (with distill_from)
    distill_temperature: float = ranged(2.0, gt=0)  # softmax temperature T of both distributions in that term
    workers: int = ranged(2, ge=1)  # rendering processes
    cache_dir: str = ".cache/smartclass"  # rendered training data, keyed by its settings
