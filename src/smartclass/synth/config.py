"""Settings of SmartClass-Synth (a section of :class:`smartclass.config.Config`)."""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import one_of, ranged
from smartclass.labels import VOCABULARIES


@dataclass
class SynthConfig:
    """SmartClass-Synth generation settings (see docs/synthetic-data.md)."""

    clips: int = ranged(4, ge=1)
    frames: int = ranged(32, ge=1)
    students: int = ranged(6, ge=1, le=16)
    width: int = ranged(640, ge=64)
    height: int = ranged(360, ge=48)
    fps: float = ranged(10.0, gt=0)
    conditions: tuple[str, ...] = one_of(("normal", "low_light", "occlusion", "movement"),
                                         ("normal", "low_light", "occlusion", "movement"))
    split: str = one_of("train", ("train", "val", "test"))
    num_subjects: int = ranged(20, ge=5)  # the subject pool, split 3:1:1 into train/val/test (paper 002 had 20 participants)
    pool_seed: int = ranged(0, ge=0)  # which pool of subjects; keep it fixed across splits so they stay disjoint
    vocabulary: str = one_of("fine", tuple(VOCABULARIES))  # balance the behaviours of 'fine' (paper 002), 'coarse' (paper 000) or 'all'
    seed: int = ranged(0, ge=0)
