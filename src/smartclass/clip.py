"""A clip with its ground truth: what the generator renders and what the on-disk loader reads back.

Images are ``(T, H, W[, 3])``; each camera has its own size. Optional modalities (clean references, depth,
thermal) are ``None`` when a recording does not have them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smartclass.geometry import Camera
from smartclass.labels import BEHAVIOURS, COARSE_OF, FINE_OF

CONDITIONS: tuple[str, ...] = ("normal", "low_light", "occlusion", "movement")
"""Recording conditions, labelled per clip like paper 002's quality labels."""
CAMERAS: tuple[str, ...] = ("rgb", "depth", "thermal")


@dataclass
class StudentTrack:
    """Ground truth of one student over a clip (``T`` frames)."""

    track_id: int
    subject_id: int
    behaviour: np.ndarray  # (T,) index into labels.BEHAVIOURS
    boxes: dict[str, np.ndarray]  # camera → (T, 4) x1, y1, x2, y2 (pixels, amodal, clipped to the image)
    keypoints: dict[str, np.ndarray]  # camera → (T, 17, 3) u, v, visibility (0 outside, 1 occluded, 2 visible)
    keypoints_3d: np.ndarray  # (T, 17, 3) world metres
    face_temp: float

    @property
    def fine(self) -> np.ndarray:
        return np.array([FINE_OF[BEHAVIOURS[b]] for b in self.behaviour])

    @property
    def coarse(self) -> np.ndarray:
        return np.array([COARSE_OF[BEHAVIOURS[b]] for b in self.behaviour])


@dataclass
class Clip:
    """One clip of synchronised frames with per-student ground truth."""

    index: int
    split: str
    condition: str
    fps: float
    rgb: np.ndarray  # uint8
    rgb_clean: np.ndarray | None  # uint8, well lit, noise-free, same viewpoint
    depth: np.ndarray | None  # uint16 mm, 0 = hole
    depth_clean: np.ndarray | None  # uint16 mm, hole-free and noise-free
    thermal: np.ndarray | None  # float32 °C (NaN = no reading)
    cameras: dict[str, Camera]
    shake: np.ndarray | None  # (T, 3, 3) per-frame rotation of every camera about its centre, or None
    students: list[StudentTrack]
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.rgb)

    def camera(self, name: str, frame: int) -> Camera:
        """Calibration of camera ``name`` at ``frame`` (shake included)."""
        cam = self.cameras[name]
        if self.shake is None:
            return cam
        Rs = self.shake[frame]
        return Camera(cam.K, Rs @ cam.R, Rs @ cam.t, cam.width, cam.height)
