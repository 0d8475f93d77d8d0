"""Preview of a clip: recorded RGB with ground truth drawn, clean reference, depth and thermal, side by side.

Each preview frame is a 2×2 panel at the RGB size; ``write_preview`` writes an MP4 and a PNG contact sheet.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from smartclass.clip import Clip
from smartclass.io import atomic_path
from smartclass.labels import BEHAVIOURS, COARSE_CLASSES, COARSE_OF, FINE_OF
from smartclass.layouts import UPPER_BODY_17


def colourise_depth(depth_mm: np.ndarray, far_mm: float = 6000.0) -> np.ndarray:
    """uint16 mm → BGR (turbo); holes black."""
    v = np.clip(depth_mm.astype(np.float32) / far_mm * 255, 0, 255).astype(np.uint8)
    out = cv2.applyColorMap(255 - v, cv2.COLORMAP_TURBO)
    out[depth_mm == 0] = 0
    return out


def colourise_thermal(temp_c: np.ndarray, lo: float = 18.0, hi: float = 40.0) -> np.ndarray:
    """°C → BGR (inferno) over ``lo``..``hi``."""
    v = np.clip((np.nan_to_num(temp_c, nan=lo) - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(v, cv2.COLORMAP_INFERNO)


def _label(b: int) -> str:
    name = BEHAVIOURS[b]
    return name if FINE_OF[name] >= 0 else f"{name} ({COARSE_CLASSES[COARSE_OF[name]]})"


def draw_ground_truth(img_bgr: np.ndarray, clip: Clip, frame: int, camera: str = "rgb", scale: float = 1.0,
                      text: bool = True) -> np.ndarray:
    """Boxes, skeletons (solid = visible, hollow = occluded) and behaviour labels of every student."""
    out = img_bgr.copy()
    for s in clip.students:
        kp = s.keypoints[camera][frame].copy()
        kp[:, :2] *= scale
        x1, y1, x2, y2 = (s.boxes[camera][frame] * scale).round().astype(int)
        colour = tuple(int(c) for c in cv2.applyColorMap(np.uint8([[37 * s.track_id % 255]]), cv2.COLORMAP_HSV)[0, 0])
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 1)
        for i, j in UPPER_BODY_17.inward:
            if kp[i, 2] > 0 and kp[j, 2] > 0:
                cv2.line(out, tuple(kp[i, :2].round().astype(int)), tuple(kp[j, :2].round().astype(int)), colour, 1, cv2.LINE_AA)
        for u, v, vis in kp:
            if vis > 0:
                cv2.circle(out, (int(round(u)), int(round(v))), 2, colour, -1 if vis == 2 else 1)
        if text:
            cv2.putText(out, _label(s.behaviour[frame]), (x1, max(y1 - 3, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.3, colour, 1,
                        cv2.LINE_AA)
    return out


def preview_frame(clip: Clip, i: int) -> np.ndarray:
    """The 2×2 panel of frame ``i`` (BGR, twice the RGB size)."""
    h, w = clip.rgb.shape[1:3]
    tl = draw_ground_truth(clip.rgb[i][..., ::-1], clip, i)
    tr = clip.rgb_clean[i][..., ::-1].copy() if clip.rgb_clean is not None else np.zeros_like(tl)
    panels = [tl, tr]
    for name, raw, fn in (("depth", clip.depth, colourise_depth), ("thermal", clip.thermal, colourise_thermal)):
        if raw is None:
            panels.append(np.zeros_like(tl))
            continue
        img = fn(raw[i])
        sc = w / img.shape[1]
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_NEAREST)
        panels.append(draw_ground_truth(img, clip, i, camera=name, scale=sc, text=False))
    titles = [f"RGB ({clip.condition}) + ground truth", "clean reference", "depth (own camera)", "thermal (own camera)"]
    for p, t in zip(panels, titles):
        cv2.putText(p, t, (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([np.hstack(panels[:2]), np.hstack(panels[2:])])


def write_preview(clip: Clip, out_dir: str | os.PathLike, stem: str = "preview", sheet_frames: int = 4) -> dict[str, Path]:
    """Write ``<stem>.mp4`` (every frame) and ``<stem>.png`` (a contact sheet of ``sheet_frames`` frames)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = [preview_frame(clip, i) for i in range(clip.num_frames)]
    h, w = frames[0].shape[:2]
    mp4 = out_dir / f"{stem}.mp4"
    with atomic_path(mp4) as tmp:  # the temporary name keeps the .mp4 suffix OpenCV needs
        vw = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), clip.fps, (w, h))
        if not vw.isOpened():
            raise OSError(f"{mp4}: OpenCV cannot write MP4 (mp4v) on this machine")
        for f in frames:
            vw.write(f)
        vw.release()
    picks = np.linspace(0, clip.num_frames - 1, min(sheet_frames, clip.num_frames)).round().astype(int)
    small = [cv2.resize(frames[i], (w // 2, h // 2), interpolation=cv2.INTER_AREA) for i in picks]
    if len(small) % 2:
        small.append(np.zeros_like(small[0]))
    sheet = np.vstack([np.hstack(small[k:k + 2]) for k in range(0, len(small), 2)])  # two frames per row
    png = out_dir / f"{stem}.png"
    with atomic_path(png) as tmp:
        ok, buf = cv2.imencode(".png", sheet)
        tmp.write_bytes(buf.tobytes())
    return {"mp4": mp4, "png": png}
