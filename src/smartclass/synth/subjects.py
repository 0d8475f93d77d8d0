"""The subject pool of SmartClass-Synth: who the students are, and the subject-disjoint splits.

A subject is drawn once from its id (so subject 7 looks and moves the same in every clip and every split);
splits partition the subject ids 3:1:1 (train / val / test, paper 000's ratio), so no student of the test
split is ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartclass.errors import ConfigError

SPLITS: tuple[str, ...] = ("train", "val", "test")

# colour palettes (RGB, 0..1): wide enough that colour never identifies a class
_SKIN = np.array([[0.96, 0.80, 0.69], [0.90, 0.70, 0.56], [0.78, 0.57, 0.42], [0.62, 0.43, 0.30],
                  [0.45, 0.31, 0.22], [0.86, 0.67, 0.52]])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.20, 0.13, 0.08], [0.35, 0.22, 0.12], [0.55, 0.42, 0.25],
                  [0.12, 0.10, 0.10], [0.60, 0.58, 0.55]])
_CLOTH = np.array([[0.15, 0.20, 0.45], [0.70, 0.15, 0.15], [0.20, 0.45, 0.25], [0.85, 0.85, 0.82],
                   [0.10, 0.10, 0.12], [0.55, 0.55, 0.58], [0.80, 0.60, 0.20], [0.35, 0.20, 0.45],
                   [0.15, 0.50, 0.60], [0.90, 0.70, 0.70]])


@dataclass(frozen=True)
class Subject:
    """One student of the pool: body, appearance and motion style.

    Lengths are metres; colours RGB in 0..1; temperatures °C.
    """

    id: int
    scale: float  # overall body size
    shoulder_half: float  # half the shoulder width
    torso: float  # pelvis → neck
    upper_arm: float
    forearm: float
    head_radius: float
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_volume: float  # 0 = short hair, 1 = long
    shirt: tuple[float, float, float]
    short_sleeves: bool
    trousers: tuple[float, float, float]
    right_handed: bool
    amplitude: float  # motion amplitude multiplier
    speed: float  # motion speed multiplier
    fidget: float  # idle sway level
    face_temp: float  # facial skin temperature
    cloth_temp: float  # clothed-body surface temperature

    @property
    def dominant(self) -> str:
        return "right" if self.right_handed else "left"


def make_subject(subject_id: int, pool_seed: int = 0) -> Subject:
    """Subject ``subject_id`` of the pool ``pool_seed`` (deterministic)."""
    rng = np.random.default_rng([pool_seed, 7919, subject_id])
    scale = float(rng.uniform(0.88, 1.12))
    pick = lambda pal: tuple(float(c) for c in np.clip(pal[rng.integers(len(pal))] + rng.normal(0, 0.03, 3), 0, 1))
    return Subject(
        id=subject_id,
        scale=scale,
        shoulder_half=scale * float(rng.uniform(0.17, 0.21)),
        torso=scale * float(rng.uniform(0.50, 0.58)),
        upper_arm=scale * float(rng.uniform(0.27, 0.31)),
        forearm=scale * float(rng.uniform(0.24, 0.27)),
        head_radius=scale * float(rng.uniform(0.090, 0.105)),
        skin=pick(_SKIN),
        hair=pick(_HAIR),
        hair_volume=float(rng.uniform(0, 1)),
        shirt=pick(_CLOTH),
        short_sleeves=bool(rng.uniform() < 0.4),
        trousers=pick(_CLOTH),
        right_handed=bool(rng.uniform() < 0.85),
        amplitude=float(rng.uniform(0.75, 1.25)),
        speed=float(rng.uniform(0.8, 1.25)),
        fidget=float(rng.uniform(0.2, 1.0)),
        face_temp=float(rng.uniform(34.0, 36.5)),
        cloth_temp=float(rng.uniform(27.0, 31.0)),
    )


def split_subjects(num_subjects: int, split: str, pool_seed: int = 0) -> list[int]:
    """Subject ids of ``split``: a fixed shuffle of ``range(num_subjects)`` cut 3:1:1 (train:val:test)."""
    if split not in SPLITS:
        raise ConfigError(f"synth.split: unknown split '{split}'; expected one of {list(SPLITS)}")
    if num_subjects < 5:
        raise ConfigError(f"synth.num_subjects: need at least 5 subjects for a 3:1:1 split, got {num_subjects}")
    order = np.random.default_rng([pool_seed, 104729]).permutation(num_subjects)
    n_val = n_test = max(1, round(num_subjects / 5))
    n_train = num_subjects - n_val - n_test
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    return sorted(int(i) for i in parts[split])
