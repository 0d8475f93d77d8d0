"""Settings of the skeleton GCNs and their benchmark protocol (a section of :class:`smartclass.config.Config`,
``skeleton:``; ``smartclass skeleton-bench`` flags override its keys). No torch import: ``smartclass config show``
stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import one_of, ranged

# reference: Vemulapalli et al.'s per-frame pre-processing (skeleton.preprocess); reference-no-rotation: the same
# without its per-frame turn of the hips onto x (the clip is then aligned as a whole, as without pre-processing)
PREPROCESS = ("none", "reference", "reference-no-rotation")


@dataclass
class GCNSettings:
    frames: int = ranged(32, ge=2)
    epochs: int = ranged(80, ge=1)
    batch_size: int = ranged(16, ge=2)  # BatchNorm needs two clips
    lr: float = ranged(2e-3, gt=0)
    weight_decay: float = ranged(1e-3, ge=0)
    channels: tuple[int, ...] = ranged((32, 64, 64), ge=1)
    dropout: float = ranged(0.1, ge=0, lt=1)
    streams: tuple[str, ...] = ("joint", "bone", "motion")  # with ensemble one model per entry; "a+b": one on a and b
    max_angle: float = ranged(0.3, ge=0)
    min_keep: float = ranged(0.8, gt=0, le=1)
    align: bool = True
    recorded_time: bool = False  # resample on the samples' recorded frame numbers (meta["frames"]) where they have them
    class_weights: bool = False  # weight the loss by inverse class frequency (imbalanced training sets)
    ensemble: bool = False  # one model per stream, softmax scores summed (PYSKL's multi-stream late fusion)
    flip: bool = False  # mirror left↔right half of the training clips (fresh draw every epoch)
    flip_tta: bool = False  # test-time: average the probabilities of each clip and of its mirror image
    seed: int = ranged(0, ge=0)
    seeds: int = ranged(1, ge=1)  # networks per stream model, trained with seeds seed, seed + 1, …; probabilities summed
    dynamic: bool = True  # MST-GCN's dynamic graph (eq. 7); False is the paper's ablation
    attention: bool = True  # MST-GCN's spatio-temporal attention (eq. 9); False is the paper's ablation
    dilations: tuple[int, ...] = ranged((1, 2, 4), ge=1)  # MST-GCN's temporal branches (eq. 8); (1,) is the paper's ablation
    kernel: int = ranged(5, ge=1)  # MST-GCN's temporal kernel size in every branch (odd)
    preprocess: str = one_of("none", PREPROCESS)  # "reference": every model sees the reference pipeline's pre-processed clips
    svm_dtw: bool = False  # so3-svm: the reference's DTW to nominal curves + its FTP + C=1 SVMs (SO3DTWSVM)
