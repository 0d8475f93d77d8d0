"""Training of the track temporal model (:mod:`smartclass.models.track_temporal`) by the training engine.

Data: labelled tracks, each ``(features (T, F), labels (T,))`` — the per-step features of
:func:`~smartclass.models.track_temporal.track_features` along one ground-truth student's track and that
student's behaviour at each step (index into the detector's classes; ``-1`` = no such class, not trained on).
Every step with a label is one sample: the window of the last ``window`` steps up to it
(:func:`~smartclass.models.track_temporal.window_tensor`), so the model learns from short histories (a new
track) as well as full ones. The detector is more confident on the training subjects it was trained on than on
unseen ones, so each batch's class posteriors are flattened by a random temperature ``T ~ U(1, max_temperature)``
(``p ∝ p^{1/T}``, :func:`soften_posteriors`). Loss: negative log-likelihood of eq. 9's softmax; AdamW; the engine keeps the
epoch with the best validation accuracy (``val_acc``, the share of validation steps whose most probable class
is right).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.models.track_temporal import TAG, TrackTemporal, window_tensor
from smartclass.training.engine import Task

Track = tuple[np.ndarray, np.ndarray]  # features (T, F), labels (T,)


def track_windows(tracks: list[Track], window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All labelled steps of ``tracks`` as windows ``(M, window, F + 1)`` and labels ``(M,)``."""
    feats, labels = [], []
    for f, y in tracks:
        for i in np.flatnonzero(np.asarray(y) >= 0):
            feats.append(f[max(0, i - window + 1): i + 1])
            labels.append(int(y[i]))
    if not feats:
        raise InputError("track temporal training: no labelled step in the tracks")
    return window_tensor(feats, window), torch.tensor(labels)


def soften_posteriors(x: torch.Tensor, num_classes: int, max_temperature: float) -> torch.Tensor:
    """Windows ``(N, T, F)`` with the class posteriors (the first ``num_classes`` channels) of each window
    raised to ``1/T``, ``T ~ U(1, max_temperature)`` per window, and renormalised; padded steps stay zero."""
    if max_temperature <= 1.0:
        return x
    temp = 1.0 + (max_temperature - 1.0) * torch.rand(x.shape[0], 1, 1, device=x.device)
    p = x[..., :num_classes].clamp_min(1e-6) ** (1.0 / temp)
    p = p / p.sum(-1, keepdim=True) * x[..., -1:]  # the last channel marks real steps
    return torch.cat([p, x[..., num_classes:]], -1)


class TrackTemporalTask(Task):
    """The training task (module doc)."""

    model_tag = TAG

    def __init__(self, train: list[Track], val: list[Track], class_names: list[str], window: int = 16,
                 hidden: int = 64, lr: float = 3e-3, weight_decay: float = 1e-4, batch_size: int = 256,
                 dropout: float = 0.0, max_temperature: float = 1.0, device: str = "cpu") -> None:
        self.class_names, self.window, self.hidden = list(class_names), window, hidden
        self.dropout, self.max_temperature = dropout, max_temperature
        self.lr, self.weight_decay, self.batch_size, self.device = lr, weight_decay, batch_size, device
        self.x, self.y = (t.to(device) for t in track_windows(train, window))
        self.vx, self.vy = (t.to(device) for t in track_windows(val, window)) if val else (None, None)

    def model_config(self, model: torch.nn.Module | None = None) -> dict:
        return {"num_classes": len(self.class_names), "window": self.window, "hidden": self.hidden,
                "class_names": self.class_names, "dropout": self.dropout}

    def build_model(self) -> torch.nn.Module:
        return TrackTemporal(**self.model_config())

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def steps_per_epoch(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def train_batches(self, epoch: int):
        for idx in torch.randperm(len(self.y)).split(self.batch_size):
            idx = idx.to(self.device)
            yield soften_posteriors(self.x[idx], len(self.class_names), self.max_temperature), self.y[idx]

    def loss(self, model: torch.nn.Module, batch) -> torch.Tensor:
        x, y = batch
        return F.nll_loss(torch.log(model(x).clamp_min(1e-8)), y)

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict[str, float]:
        if self.vx is None:
            return {}
        was = model.training
        model.eval()
        p = torch.cat([model(x) for x in self.vx.split(1024)])
        model.train(was)
        return {"val_acc": float((p.argmax(1) == self.vy).float().mean()),
                "val_nll": float(F.nll_loss(torch.log(p.clamp_min(1e-8)), self.vy))}
