"""What ``smartclass detect`` does: read an image, a folder of images or a video, detect, and write annotated
frames plus the boxes as JSON, CSV and YOLO txt.

Outputs in ``OUT``:

- ``<stem>.jpg`` per image (boxes drawn), or ``<video stem>.mp4`` (H.264 via PyAV when installed, else
  OpenCV ``mp4v``);
- ``detections.json``: ``{"checkpoint", "classes", "frames": [{"source", "frame", "width", "height",
  "detections": [{"box": [x1, y1, x2, y2], "score", "class", "label"}]}]}`` (pixels of the source frame);
- ``detections.csv``: one row per box (``source, frame, x1, y1, x2, y2, score, class, label``);
- ``labels/<stem>.txt`` (``<video stem>_<frame>.txt`` for videos): YOLO ``class cx cy w h score``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

import numpy as np

from smartclass.data.detection import IMAGE_SUFFIXES, list_images, read_image, yolo_label_text
from smartclass.errors import DataError, InputError
from smartclass.io import atomic_path, strict_json, write_text_atomic
from smartclass.training.detector_predict import FrameDetector

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212))


def draw_detections(frame: np.ndarray, det: dict, names) -> np.ndarray:
    """A copy of ``frame`` (RGB uint8) with each box and ``label score`` drawn in its class colour."""
    import cv2

    out = np.ascontiguousarray(frame.copy())
    thick = max(1, round(max(frame.shape[:2]) / 640))
    for b, s, c in zip(det["boxes"], det["scores"], det["labels"]):
        colour = PALETTE[int(c) % len(PALETTE)]
        x1, y1, x2, y2 = (int(round(v)) for v in b)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        cv2.putText(out, f"{names[int(c)]} {float(s):.2f}", (x1, max(y1 - 3, 8)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35 * thick, colour, 1, cv2.LINE_AA)
    return out


def video_frames(path: Path) -> tuple[Iterator[np.ndarray], float, int]:
    """RGB frames of a video (PyAV when installed, else OpenCV), its fps and frame count (0 if unknown)."""
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        try:
            container = av.open(str(path))
        except Exception as e:  # PyAV raises its own error types per codec/container problem
            raise DataError(f"video '{path}' could not be opened: {e}") from None
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)

        def gen() -> Iterator[np.ndarray]:
            try:
                for frame in container.decode(stream):
                    yield frame.to_ndarray(format="rgb24")
            finally:
                container.close()

        return gen(), fps, int(stream.frames or 0)
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DataError(f"video '{path}' could not be opened")
    fps, count = cap.get(cv2.CAP_PROP_FPS) or 25.0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def gen_cv() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, f = cap.read()
                if not ok:
                    return
                yield f[:, :, ::-1]
        finally:
            cap.release()

    return gen_cv(), float(fps), count


class VideoWriter:
    """H.264 MP4 through PyAV (plays in browsers), or OpenCV's ``mp4v`` when PyAV is not installed."""

    def __init__(self, path: Path, fps: float, width: int, height: int) -> None:
        self.path, self.size = path, (width - width % 2, height - height % 2)
        try:
            import av
        except ImportError:
            av = None
        if av is not None:
            from fractions import Fraction

            self.container = av.open(str(path), "w")
            self.stream = self.container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            self.stream.width, self.stream.height = self.size
            self.stream.pix_fmt = "yuv420p"
            self.cv = None
        else:
            import cv2

            self.cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, self.size)

    def write(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame[:self.size[1], :self.size[0]])
        if self.cv is not None:
            self.cv.write(frame[:, :, ::-1])
            return
        import av

        for packet in self.stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self.container.mux(packet)

    def close(self) -> None:
        if self.cv is not None:
            self.cv.release()
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def _record(source: str, frame: int, img: np.ndarray, det: dict, names) -> dict:
    return {"source": source, "frame": frame, "width": int(img.shape[1]), "height": int(img.shape[0]),
            "detections": [{"box": [round(float(v), 2) for v in b], "score": round(float(s), 4), "class": int(c),
                            "label": names[int(c)]}
                           for b, s, c in zip(det["boxes"], det["scores"], det["labels"])]}


def run_detect(source: Path, checkpoint: Path, out: Path, conf: float = 0.25, every: int = 1, max_frames: int = 0,
               console=None, device: str = "cpu") -> dict:
    """Detect on ``source`` (image, folder or video) and write the outputs listed in the module docstring."""
    import cv2
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    detector = FrameDetector.from_checkpoint(checkpoint, device=device, conf=conf)
    names = detector.class_names
    out.mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(exist_ok=True)
    records: list[dict] = []
    source = Path(source)
    is_video = source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES
    if source.is_dir():
        images = list_images(source)
        if not images:
            raise InputError(f"SOURCE folder '{source}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
    elif is_video:
        images = []
    elif source.suffix.lower() in IMAGE_SUFFIXES:
        images = [source]
    else:
        raise InputError(f"SOURCE '{source}' is neither an image ({', '.join(IMAGE_SUFFIXES)}), a video "
                         f"({', '.join(VIDEO_SUFFIXES)}) nor a folder")
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True, disable=console is None) as bar:
        if is_video:
            frames, fps, count = video_frames(source)
            total = min(count, max_frames) if max_frames and count else (max_frames or count or None)
            task = bar.add_task(f"detecting {source.name}", total=total)
            writer = None
            last: dict | None = None
            try:
                for i, frame in enumerate(frames):
                    if max_frames and i >= max_frames:
                        break
                    if i % every == 0 or last is None:
                        last = detector.detect([frame])[0]
                        rec = _record(source.name, i, frame, last, names)
                        records.append(rec)
                        write_text_atomic(out / "labels" / f"{source.stem}_{i:06d}.txt",
                                          yolo_label_text(last["boxes"], last["labels"], frame.shape[1],
                                                          frame.shape[0], last["scores"]))
                    if writer is None:
                        writer = VideoWriter(out / f"{source.stem}.mp4", fps, frame.shape[1], frame.shape[0])
                    writer.write(draw_detections(frame, last, names))
                    bar.update(task, advance=1)
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise DataError(f"video '{source}' has no frames")
        else:
            task = bar.add_task("detecting", total=len(images))
            for path in images:
                img = read_image(path)
                det = detector.detect([img])[0]
                records.append(_record(path.name, 0, img, det, names))
                with atomic_path(out / f"{path.stem}.jpg") as tmp:  # the temporary name keeps the .jpg suffix
                    cv2.imwrite(str(tmp), draw_detections(img, det, names)[:, :, ::-1])
                write_text_atomic(out / "labels" / f"{path.stem}.txt",
                                  yolo_label_text(det["boxes"], det["labels"], img.shape[1], img.shape[0],
                                                  det["scores"]))
                bar.update(task, advance=1)
    with atomic_path(out / "detections.csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "frame", "x1", "y1", "x2", "y2", "score", "class", "label"])
        for r in records:
            for d in r["detections"]:
                w.writerow([r["source"], r["frame"], *d["box"], d["score"], d["class"], d["label"]])
    doc = {"checkpoint": str(checkpoint), "classes": list(names), "conf": conf, "frames": records}
    write_text_atomic(out / "detections.json", json.dumps(strict_json(doc), indent=1, allow_nan=False) + "\n")
    return {"frames": len(records), "detections": sum(len(r["detections"]) for r in records)}
