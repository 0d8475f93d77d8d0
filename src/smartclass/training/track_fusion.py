"""Fitting the late fusion of track and recogniser probabilities (:mod:`smartclass.models.track_fusion`) by the
training engine.

Data: decisions of the analyze pipeline on held-out classrooms, each ``(p_track (C,), p_rec (F,), label)`` —
the track's behaviour probabilities at a decision, the recogniser's latest probabilities for that student,
and the ground-truth class (index into the track's classes) of the student the track is matched to there.
Loss: negative log-likelihood of the fused softmax, plus ``l2`` times the squared distance of the exponents
``(a, w)`` from their start ``(1, 0)`` (trust the track unless the data say otherwise); Adam, mini-batches; the
engine keeps the epoch with the lowest validation NLL.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.models.track_fusion import TAG, TrackFusion
from smartclass.training.engine import Task

Decisions = tuple[np.ndarray, np.ndarray, np.ndarray]  # p_track (M, C), p_rec (M, F), labels (M,)


def _tensors(data: Decisions, C: int, F_: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pt, pr, y = (np.asarray(a) for a in data)
    if pt.ndim != 2 or pt.shape[1] != C or pr.shape != (len(pt), F_) or y.shape != (len(pt),):
        raise InputError(f"track fusion data: expected p_track (M, {C}), p_rec (M, {F_}), labels (M,), got "
                         f"{pt.shape}, {pr.shape}, {y.shape}")
    if not len(y):
        raise InputError("track fusion data: no decisions")
    if y.min() < 0 or y.max() >= C:
        raise InputError(f"track fusion data: labels must be class indices 0..{C - 1}")
    return (torch.as_tensor(pt, dtype=torch.float32), torch.as_tensor(pr, dtype=torch.float32),
            torch.as_tensor(y, dtype=torch.long))


class TrackFusionTask(Task):
    """The fitting task (module doc)."""

    model_tag = TAG

    def __init__(self, train: Decisions, val: Decisions, class_names: list[str], recogniser_classes: list[str],
                 lr: float = 0.05, l2: float = 1e-3, batch_size: int = 512) -> None:
        self.class_names, self.recogniser_classes = list(class_names), list(recogniser_classes)
        self.lr, self.l2, self.batch_size = lr, l2, batch_size
        C, F_ = len(self.class_names), len(self.recogniser_classes)
        self.train = _tensors(train, C, F_)
        self.val = _tensors(val, C, F_)

    def model_config(self, model: torch.nn.Module | None = None) -> dict:
        return {"class_names": self.class_names, "recogniser_classes": self.recogniser_classes}

    def build_model(self) -> torch.nn.Module:
        return TrackFusion(**self.model_config())

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=self.lr)

    def steps_per_epoch(self) -> int:
        return -(-len(self.train[2]) // self.batch_size)

    def train_batches(self, epoch: int):
        for idx in torch.randperm(len(self.train[2])).split(self.batch_size):
            yield tuple(t[idx] for t in self.train)

    def loss(self, model: torch.nn.Module, batch) -> torch.Tensor:
        pt, pr, y = batch
        reg = (model.a - 1).pow(2) + model.w.pow(2)
        return F.cross_entropy(model.logits(pt, pr), y) + self.l2 * reg

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict[str, float]:
        pt, pr, y = self.val
        logits = model.logits(pt, pr)
        track_only = pt.argmax(1)
        rec_only = model.recogniser_view(pt, pr).argmax(1)
        return {"val_nll": float(F.cross_entropy(logits, y)), "val_acc": float((logits.argmax(1) == y).float().mean()),
                "val_acc_track_only": float((track_only == y).float().mean()),
                "val_acc_recogniser_only": float((rec_only == y).float().mean()),
                "a": float(model.a), "w": float(model.w)}
