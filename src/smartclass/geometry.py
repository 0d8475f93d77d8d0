"""Pinhole cameras shared by the generator, alignment and depth back-projection.

Conventions (used everywhere in smartclass):

* World frame, metres (right-handed): origin on the floor at the front-centre of the room, ``x`` to the
  students' right (image left in the front camera, which looks along ``+z``), ``y`` up, ``z`` from the board
  into the room.
* Camera frame (OpenCV): ``x`` right, ``y`` down, ``z`` forward; ``X_cam = R @ X_world + t``.
* Pixel ``(u, v)``: ``u`` column, ``v`` row, pixel centres at integer coordinates.
* Depth images: ``uint16`` millimetres of camera-frame ``z``; 0 means "no measurement" (a hole).
* Thermal images: ``float32`` degrees Celsius.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """Intrinsics ``K`` (3×3), extrinsics ``R`` (3×3), ``t`` (3,), image ``width`` × ``height``."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    @staticmethod
    def look_at(
        position: np.ndarray,
        target: np.ndarray,
        fx: float,
        width: int,
        height: int,
        fy: float | None = None,
        up: np.ndarray = np.array([0.0, 1.0, 0.0]),
    ) -> "Camera":
        """A camera at ``position`` looking at ``target`` with the principal point at the image centre."""
        position = np.asarray(position, dtype=np.float64)
        z = np.asarray(target, dtype=np.float64) - position
        z /= np.linalg.norm(z)
        # OpenCV frame: y (image down) = z × x must point against ``up``, so x = z × up
        x = np.cross(z, np.asarray(up, dtype=np.float64))
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        R = np.stack([x, y, z])
        t = -R @ position
        K = np.array([[fx, 0, (width - 1) / 2], [0, fy or fx, (height - 1) / 2], [0, 0, 1]], dtype=np.float64)
        return Camera(K, R, t, width, height)

    @property
    def center(self) -> np.ndarray:
        """Camera position in world coordinates."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points → camera-frame points."""
        return points @ self.R.T + self.t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., 3)`` world points → ``(..., 2)`` pixel coordinates and ``(...,)`` depth ``z`` in metres."""
        pc = self.to_camera(np.asarray(points, dtype=np.float64))
        z = pc[..., 2]
        safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
        uv = (pc[..., :2] / safe[..., None]) @ self.K[:2, :2].T + self.K[:2, 2]
        return uv, z

    def backproject(self, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Pixels ``(..., 2)`` with camera depth ``z`` (metres) → ``(..., 3)`` world points."""
        uv = np.asarray(uv, dtype=np.float64)
        xy = (uv - self.K[:2, 2]) / np.diag(self.K)[:2]
        pc = np.concatenate([xy * np.asarray(z)[..., None], np.asarray(z, dtype=np.float64)[..., None]], axis=-1)
        return (pc - self.t) @ self.R

    def scaled(self, width: int, height: int) -> "Camera":
        """The same camera with its image resized to ``width`` × ``height``."""
        sx, sy = width / self.width, height / self.height
        S = np.diag([sx, sy, 1.0])
        K = S @ self.K
        # keep pixel centres at integer coordinates
        K[0, 2] = (self.K[0, 2] + 0.5) * sx - 0.5
        K[1, 2] = (self.K[1, 2] + 0.5) * sy - 0.5
        return Camera(K, self.R, self.t, width, height)

    def to_dict(self) -> dict:
        return {"K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
                "width": self.width, "height": self.height}

    @staticmethod
    def from_dict(d: dict) -> "Camera":
        return Camera(np.asarray(d["K"], float), np.asarray(d["R"], float), np.asarray(d["t"], float),
                      int(d["width"]), int(d["height"]))
