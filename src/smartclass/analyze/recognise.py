"""Paper 002's trimodal recogniser on tracked students, fused with the track's own behaviour estimate.

The recogniser (:class:`~smartclass.models.recognizer.TrimodalRecognizer`; by default the shipped
``mmfg/mmfg_jitter``, :data:`ANALYZE_RECOGNISER`, fine-tuned on crops around boxes with a detector's error) was
trained on per-student clips: ``T`` frames at its frame rate (16 at 5 fps), each camera cropped to a square
around the union of the student's boxes in that camera (:mod:`smartclass.crops`). :class:`TrackRecogniser`
rebuilds such clips from a running analysis:

* every input frame passes through :meth:`TrackRecogniser.observe`, which keeps the frames (RGB and any paired
  depth / thermal) at the recogniser's frame rate for the last ``T / fps`` seconds;
* at a detection step, each tracked student whose last recognition is ``every`` seconds old (default 1 s) gets
  a clip: the buffered frames nearest to ``t − (T−1)/fps, …, t``, cropped around the union of the student's
  tracked boxes over that span. Depth and thermal boxes are the RGB box carried into those cameras through the
  calibration (:func:`box_in_camera`: the box's corners back-projected at the distance a seated student of
  0.65 m visible height would have, then projected — with a few cm of baseline the parallax error of that guess
  is about a pixel); without a calibration the cameras are taken as registered (same view, boxes scaled by the
  image sizes). A clip in which some frame lacks depth (or thermal) is recognised without it: the recogniser
  was trained with modality dropout and works from RGB alone;
* the recogniser's fine-grained probabilities are held until the student's next recognition and fused at
  every decision with the track's probabilities by :class:`~smartclass.models.track_fusion.TrackFusion` (a
  log-linear model fitted on held-out classrooms), so the timeline keeps the detector's classes.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Sequence

import numpy as np

from smartclass.analyze.behaviour import StudentRecord
from smartclass.analyze.sources import Frame
from smartclass.errors import ConfigError, InputError

SEATED_HEIGHT_M = 0.65
"""Visible height of a seated student (head to desk), metres: the distance guess of :func:`box_in_camera`
(SmartClass-Synth's seated students: 0.54–0.74 m)."""

ANALYZE_RECOGNISER = "mmfg/mmfg_jitter"
"""The shipped recogniser analyze runs by default: ``mmfg/mmfg`` fine-tuned with box jitter
(``configs/mmfg_jitter.yaml``), so that it tolerates a detector's boxes (docs/paper002.md, "Box-jitter training")."""


def box_in_camera(box: np.ndarray, rgb_camera, camera, height_m: float = SEATED_HEIGHT_M) -> np.ndarray:
    """An RGB box ``(4,)`` as seen by ``camera``: its corners back-projected at ``z = f_y·height_m / h`` (h the
    box height in pixels; clipped to 0.5–20 m) and projected into ``camera``; the bounding box of the four."""
    from smartclass.enhance.align import transfer

    x1, y1, x2, y2 = (float(v) for v in box)
    z = float(np.clip(rgb_camera.K[1, 1] * height_m / max(y2 - y1, 1.0), 0.5, 20.0))
    u, v, _ = transfer(np.array([x1, x2, x1, x2]), np.array([y1, y1, y2, y2]), np.full(4, z), rgb_camera, camera)
    return np.array([u.min(), v.min(), u.max(), v.max()], np.float64)


class TrackRecogniser:
    """The recogniser of ``checkpoint`` on tracked students (module doc). ``cameras``: calibration
    (``{"rgb": Camera, "depth": …, "thermal": …}``) or ``None`` (registered cameras)."""

    def __init__(self, checkpoint: str | os.PathLike, every: float = 1.0, cameras: dict | None = None,
                 device: str = "cpu") -> None:
        from smartclass.inference import load_model
        from smartclass.labels import class_names

        if not every > 0:
            raise ConfigError(f"--recognise-every: expected seconds > 0, got {every}")
        self.model, info = load_model(checkpoint, device=device, expected="mmfg")
        cfg = info.get("config") or {}
        try:
            self.frames_n = int(cfg["synth"]["frames"])
            self.fps = float(cfg["synth"]["fps"])
            self.crop = int(cfg["train"]["crop"])
            self.class_names = tuple(class_names(cfg["train"]["vocabulary"]))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"recogniser '{checkpoint}': its config lacks the clip settings ({e})") from None
        self.checkpoint, self.every, self.device = str(checkpoint), float(every), device
        self.cameras = cameras
        self.span = (self.frames_n - 1) / self.fps  # seconds a clip covers
        self.buffer: deque[Frame] = deque()
        self.latest: dict[int, tuple[float, np.ndarray]] = {}  # student → (time, probabilities) of the last run
        self.runs = 0
        self.modalities_used: dict[str, int] = {}

    # ---------------------------------------------------------------- frames
    def observe(self, frame: Frame) -> None:
        """Keep ``frame`` if it is at least half the recogniser's frame period after the last kept one (so a clip
        frame is never more than a quarter period off); drop frames older than a clip."""
        if self.buffer and frame.t < self.buffer[-1].t + 0.5 / self.fps:
            return
        self.buffer.append(frame)
        while self.buffer and self.buffer[0].t < frame.t - self.span - 1.0 / self.fps:
            self.buffer.popleft()

    def _clip_frames(self, t: float) -> list[Frame]:
        want = t - self.span + np.arange(self.frames_n) / self.fps
        times = np.array([f.t for f in self.buffer])
        return [self.buffer[int(np.abs(times - w).argmin())] for w in want]

    # ---------------------------------------------------------------- boxes per camera
    def _camera_box(self, box: np.ndarray, modality: str, rgb_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
        if self.cameras and "rgb" in self.cameras and modality in self.cameras:
            rgb_cam, cam = self.cameras["rgb"], self.cameras[modality]
            if (rgb_cam.width, rgb_cam.height) != rgb_size:
                rgb_cam = rgb_cam.scaled(*rgb_size)
            if (cam.width, cam.height) != size:
                cam = cam.scaled(*size)
            return box_in_camera(box, rgb_cam, cam)
        sx, sy = size[0] / rgb_size[0], size[1] / rgb_size[1]
        return np.asarray(box, np.float64) * [sx, sy, sx, sy]

    def _sample(self, frames: list[Frame], boxes: np.ndarray) -> dict:
        from smartclass.crops import depth_metres, square_affine, thermal_celsius, warp_frames

        S = self.crop
        rgb = warp_frames([f.rgb for f in frames], square_affine(boxes, S), S, False)
        out = {"rgb": rgb.transpose(0, 3, 1, 2).astype(np.float32) / 255}
        rgb_size = (frames[0].rgb.shape[1], frames[0].rgb.shape[0])
        for name, to_float in (("depth", depth_metres), ("thermal", thermal_celsius)):
            maps = [getattr(f, name) for f in frames]
            if any(m is None for m in maps):
                continue
            size = (maps[0].shape[1], maps[0].shape[0])
            cam_boxes = np.stack([self._camera_box(b, name, rgb_size, size) for b in boxes])
            out[name] = warp_frames([to_float(m) for m in maps], square_affine(cam_boxes, S), S, name == "depth")[:, None]
        return out

    # ---------------------------------------------------------------- recognition
    def update(self, t: float, records: Sequence[StudentRecord]) -> list[np.ndarray | None]:
        """The recogniser's latest probabilities ``(F,)`` for each of ``records`` (students present at ``t``),
        running it first on those due; ``None`` for a student it has not run on yet."""
        import torch

        due = [r for r in records if t - self.latest.get(r.sid, (-np.inf,))[0] >= self.every - 1e-6]
        if due and self.buffer:
            frames = self._clip_frames(t)
            samples = []
            for r in due:
                times = np.asarray(r.times)
                keep = times >= t - self.span - 1e-6
                samples.append(self._sample(frames, np.stack([b for b, k in zip(r.boxes, keep) if k])))
            S, T = self.crop, self.frames_n
            B = len(samples)
            x = {"rgb": torch.from_numpy(np.stack([s["rgb"] for s in samples]))}
            present = torch.zeros(B, 2, dtype=torch.bool)
            for j, name in enumerate(("depth", "thermal")):
                if any(name in s for s in samples):
                    x[name] = torch.from_numpy(np.stack([s.get(name, np.zeros((T, 1, S, S), np.float32)) for s in samples]))
                    present[:, j] = torch.tensor([name in s for s in samples])
            for s in samples:
                key = "+".join(["rgb"] + [m for m in ("depth", "thermal") if m in s])
                self.modalities_used[key] = self.modalities_used.get(key, 0) + 1
            with torch.no_grad():
                out = self.model(x["rgb"].to(self.device), None if "depth" not in x else x["depth"].to(self.device),
                                 None if "thermal" not in x else x["thermal"].to(self.device),
                                 present=present.to(self.device) if len(x) > 1 else None)
            probs = out.logits.softmax(1).cpu().numpy().astype(np.float64)
            for r, p in zip(due, probs):
                self.latest[r.sid] = (t, p)
            self.runs += B
        return [self.latest[r.sid][1] if r.sid in self.latest else None for r in records]

    def describe(self) -> dict:
        return {"checkpoint": self.checkpoint, "classes": list(self.class_names), "frames": self.frames_n,
                "fps": self.fps, "crop": self.crop, "every_s": self.every, "student_clips": self.runs,
                "calibrated": bool(self.cameras), "inputs": dict(self.modalities_used)}


class Fusion:
    """A fitted :class:`~smartclass.models.track_fusion.TrackFusion` as numpy in → numpy out."""

    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu") -> None:
        from smartclass.inference import load_model

        self.model, info = load_model(checkpoint, device=device, expected="track_fusion")
        self.checkpoint, self.device = str(checkpoint), device
        self.class_names = tuple(self.model.class_names)
        self.recogniser_classes = tuple(self.model.recogniser_classes)

    def check(self, class_names: Sequence[str], recogniser_classes: Sequence[str]) -> None:
        if tuple(class_names) != self.class_names or tuple(recogniser_classes) != self.recogniser_classes:
            raise ConfigError(f"--fusion '{self.checkpoint}': fitted for the classes {list(self.class_names)} and "
                              f"the recogniser's {list(self.recogniser_classes)}, not {list(class_names)} and "
                              f"{list(recogniser_classes)}")

    def __call__(self, p_track: np.ndarray, p_rec: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.as_tensor(p_track, dtype=torch.float32).to(self.device),
                              torch.as_tensor(p_rec, dtype=torch.float32).to(self.device)).cpu().numpy().astype(np.float64)


def default_fusion(detector: str):
    """The shipped fusion for a detector (``'synth8'`` or ``'detector:synth8'``), or ``None``."""
    from smartclass.inference import shipped_checkpoint

    try:
        return shipped_checkpoint(f"track_fusion/{detector.split(':')[-1]}")
    except InputError:
        return None


def choose_recogniser(detector, mode: str, source, checkpoint: str | os.PathLike | None = None,
                      fusion: str | os.PathLike | None = None, every: float = 1.0,
                      device: str = "cpu") -> tuple["TrackRecogniser | None", "Fusion | None"]:
    """``(recogniser, fusion)`` for ``--recogniser``: ``'off'`` → none; ``'on'`` → the recogniser
    (``checkpoint`` or the shipped :data:`ANALYZE_RECOGNISER`) with ``fusion`` or the one shipped for the detector (none is an
    error); ``'auto'`` → on where the source has depth or thermal and a fusion for the detector exists, else off
    (RGB-only classrooms are the normal case: the recogniser adds least there and costs most)."""
    from smartclass.inference import shipped_checkpoint

    if mode not in ("auto", "on", "off"):
        raise ConfigError(f"--recogniser: expected 'auto', 'on' or 'off', got '{mode}'")
    if mode == "off":
        return None, None
    fusion_path = fusion or default_fusion(detector.name)
    if fusion_path is None:
        if mode == "on":
            raise ConfigError(f"--recogniser on: no fusion is shipped for the detector '{detector.name}'; pass --fusion "
                              "(fitted by benchmarks/analyze_train_fusion.py)")
        return None, None
    if mode == "auto" and not (set(source.modalities) & {"depth", "thermal"}):
        return None, None
    rec = TrackRecogniser(checkpoint or shipped_checkpoint(ANALYZE_RECOGNISER), every=every, cameras=source.cameras,
                          device=device)
    fus = Fusion(fusion_path, device=device)
    fus.check(detector.class_names, rec.class_names)
    return rec, fus
