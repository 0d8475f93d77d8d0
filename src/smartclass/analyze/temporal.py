"""The learned per-track behaviour stage: the track temporal model (paper 000's attention LSTM over a tracked
student's per-step features, :mod:`smartclass.models.track_temporal`) in place of the window vote of
:mod:`smartclass.analyze.behaviour`.

At every detection step, the students present are batched: for each, the features of the last ``window``
decisions of their :class:`~smartclass.analyze.behaviour.StudentRecord` (box, score and the detector's class
posterior per step) → the model → behaviour probabilities ``(C,)``, which the smoothing stage then decodes as
it does the window probabilities. The model must have been trained on the detector's classes (same names, same
order); the shipped one is ``track_temporal/synth8`` for the ``synth8`` detector.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from smartclass.analyze.behaviour import StudentRecord
from smartclass.errors import ConfigError


class TrackBehaviourModel:
    """``model(records, frame_size) -> (N, C)`` behaviour probabilities at each record's latest step."""

    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu") -> None:
        from smartclass.inference import load_model

        self.model, info = load_model(checkpoint, device=device, expected="track_temporal")
        self.device = device
        self.checkpoint = str(checkpoint)
        self.window = int(self.model.window)
        self.class_names = tuple(self.model.class_names)
        self.metrics = {k: v for k, v in (info.get("metrics") or {}).items() if isinstance(v, (int, float))}
        self.epoch = info.get("epoch")

    def check(self, class_names: Sequence[str]) -> None:
        """Refuse a detector whose classes are not the model's."""
        if tuple(class_names) != self.class_names:
            raise ConfigError(f"--temporal-model '{self.checkpoint}': trained on the classes {list(self.class_names)}, "
                              f"the detector has {list(class_names)}; use --behaviour window with this detector")

    def __call__(self, records: Sequence[StudentRecord], frame_size: tuple[int, int]) -> np.ndarray:
        import torch

        from smartclass.models.track_temporal import track_features, window_tensor

        if not records:
            return np.zeros((0, len(self.class_names)))
        W = self.window
        feats = []
        for r in records:
            sl = slice(-(W + 1), None)  # one step more, so the first kept step has its motion terms
            f = track_features(r.times[sl], np.stack(r.boxes[sl]), r.scores[sl], np.stack(r.det_probs[sl]), frame_size)
            feats.append(f[-W:])
        with torch.no_grad():
            return self.model(window_tensor(feats, W).to(self.device)).cpu().numpy().astype(np.float64)


def default_temporal_model(detector: str):
    """The shipped track temporal model for a detector (``'synth8'`` or ``'detector:synth8'``), or ``None``."""
    from smartclass.errors import InputError
    from smartclass.inference import shipped_checkpoint

    try:
        return shipped_checkpoint(f"track_temporal/{detector.split(':')[-1]}")
    except InputError:
        return None


def choose_behaviour(detector, behaviour: str = "auto", temporal_model: str | os.PathLike | None = None,
                     device: str = "cpu") -> tuple[str, "TrackBehaviourModel | None"]:
    """``(mode, model)`` for ``--behaviour``: ``'window'`` → no model; ``'temporal'`` → ``temporal_model`` or
    the one shipped for the detector (none is an error); ``'auto'`` → the temporal model where one for the
    detector's classes is given or shipped, else the window vote."""
    if behaviour not in ("auto", "window", "temporal"):
        raise ConfigError(f"--behaviour: expected 'auto', 'window' or 'temporal', got '{behaviour}'")
    if behaviour == "window":
        return "window", None
    path = temporal_model or default_temporal_model(detector.name)
    if path is None:
        if behaviour == "temporal":
            raise ConfigError(f"--behaviour temporal: no track temporal model is shipped for the detector "
                              f"'{detector.name}'; pass --temporal-model")
        return "window", None
    model = TrackBehaviourModel(path, device=device)
    if behaviour == "auto" and model.class_names != tuple(detector.class_names):
        return "window", None
    return "temporal", model
