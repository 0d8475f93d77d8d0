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
    num_subjects: int = 20
    seed: int = 0
