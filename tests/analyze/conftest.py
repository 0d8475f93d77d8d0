"""Test doubles for the analysis pipeline: a detector that reads SmartClass-Synth ground truth (so tests know
the boxes), optionally with label noise, and a detector that finds nobody."""

from __future__ import annotations

import numpy as np
import pytest

from smartclass.analyze.detector import Detections
from smartclass.labels import BEHAVIOURS, COARSE_CLASSES, COARSE_OF


class TruthDetector:
    """Returns the ground-truth boxes of the students visible in frame ``calls · stride`` with their paper-000
    class; ``flip`` of the labels are replaced by a random other class at a lower score."""

    name, version, head_fraction = "truth-double", "test", 0.3
    class_names = COARSE_CLASSES

    def __init__(self, truth, stride: int, flip: float = 0.0, seed: int = 0, drop: float = 0.0) -> None:
        self.truth, self.stride, self.flip, self.drop = truth, stride, flip, drop
        self.rng = np.random.default_rng(seed)
        self.seen = 0

    def __call__(self, frames):
        out = []
        for _ in frames:
            i = self.seen * self.stride
            self.seen += 1
            boxes, scores, classes = [], [], []
            for b, beh, vis in zip(self.truth.boxes, self.truth.behaviour, self.truth.visible):
                if i >= len(b) or not vis[i] or self.rng.uniform() < self.drop:
                    continue
                c = COARSE_OF[BEHAVIOURS[beh[i]]]
                s = 0.9
                if self.rng.uniform() < self.flip:
                    c = int((c + self.rng.integers(1, len(COARSE_CLASSES))) % len(COARSE_CLASSES))
                    s = 0.6
                boxes.append(b[i])
                scores.append(s)
                classes.append(c)
            out.append(Detections(np.array(boxes).reshape(-1, 4), np.array(scores), np.array(classes, int)))
        return out


class NobodyDetector:
    name, version, head_fraction = "nobody-double", "test", 0.3
    class_names = COARSE_CLASSES

    def __call__(self, frames):
        return [Detections.empty() for _ in frames]


@pytest.fixture(scope="session")
def synth_small():
    """A short synthetic lesson (4 students, 6 s at 10 fps), rendered once per test session."""
    from smartclass.analyze.sources import synth_source

    return synth_source("synth:classroom,students=4,seconds=6,fps=10,seed=3")


@pytest.fixture(scope="session")
def doubles():
    """The test-double detectors (``doubles.TruthDetector``, ``doubles.NobodyDetector``)."""
    import types

    return types.SimpleNamespace(TruthDetector=TruthDetector, NobodyDetector=NobodyDetector)
