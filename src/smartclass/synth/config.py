"""Settings of SmartClass-Synth (a section of :class:`smartclass.config.Config`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SynthConfig:
    """SmartClass-Synth generation settings (see docs/synthetic-data.md)."""

    clips: int = 4
    frames: int = 32
    students: int = 6
    width: int = 640
    height: int = 360
    fps: float = 10.0
    conditions: tuple[str, ...] = ("normal", "low_light", "occlusion", "movement")
    split: str = "train"
    num_subjects: int = 20  # the subject pool, split 3:1:1 into train/val/test (paper 002 had 20 participants)
    pool_seed: int = 0  # which pool of subjects; keep it fixed across splits so they stay disjoint
    vocabulary: str = "fine"  # balance the behaviours of 'fine' (paper 002), 'coarse' (paper 000) or 'all'
    seed: int = 0
