"""Tiny detection fixtures shared by the detector tests: a YOLO split of coloured squares and a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

TINY = ["detector.input_width=64", "detector.input_height=64", "detector.pretrained=false",
        "detector.neck_channels=16", "detector.fusion_channels=16", "detector.anchors_per_level=2",
        "detector.batch_size=2", "detector.epochs=1", "detector.steps_per_epoch=2", "detector.warmup_steps=1",
        "detector.mosaic=0.5", "threads=1"]


def write_yolo_split(root: Path, n: int = 6, seed: int = 0) -> Path:
    """``root/train`` + ``root/valid`` (``data.yaml`` in ``root``): 96×64 images with 1–3 red (class 0) or
    blue (class 1) squares of 10–20 px."""
    rng = np.random.default_rng(seed)
    (root / "data.yaml").write_text("names: ['red', 'blue']\n")
    for split in ("train", "valid"):
        (root / split / "images").mkdir(parents=True, exist_ok=True)
        (root / split / "labels").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = np.full((64, 96, 3), 200, np.uint8)
            lines = []
            for _ in range(int(rng.integers(1, 4))):
                c = int(rng.integers(0, 2))
                s = int(rng.integers(10, 21))
                x, y = int(rng.integers(0, 96 - s)), int(rng.integers(0, 64 - s))
                img[y:y + s, x:x + s] = (0, 0, 220) if c == 0 else (220, 0, 0)  # BGR: red, blue
                lines.append(f"{c} {(x + s / 2) / 96:.6f} {(y + s / 2) / 64:.6f} {s / 96:.6f} {s / 64:.6f}")
            cv2.imwrite(str(root / split / "images" / f"{i}.png"), img)
            (root / split / "labels" / f"{i}.txt").write_text("\n".join(lines) + "\n")
    return root


def tiny_overrides(root: Path) -> list[str]:
    return [f"detector.data={root / 'train'}", f"detector.val_data={root / 'valid'}", *TINY]
