"""Where the frames of an analysis come from: video files, folders of frames, cameras, streams and the
built-in synthetic classroom.

:func:`open_source` turns the user's SOURCE string into a :class:`Source`:

* a video file (``.mp4``, ``.avi``, ``.mkv``, ``.mov``, ``.webm``): decoded with PyAV (``av``);
* a folder of frames (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, sorted by name) at ``fps`` frames per second;
* a webcam index (``0``) or an ``rtsp://`` / ``http(s)://`` URL: OpenCV's ``VideoCapture`` read on a thread;
  a live source has no length, its time stamps are wall-clock seconds since the first frame (a dropped
  frame is a gap, not a shift), and a stream that delivers nothing for ``timeout`` seconds ends;
* ``synth:classroom[,seed=…,students=…,conditions=…,seconds=…,fps=…,clip=…,split=…,width=…,height=…]``:
  a SmartClass-Synth clip (:func:`smartclass.synth.generator.render_clip`) with its ground truth.

Every source yields :class:`Frame` s: ``rgb (H, W, 3) uint8``, time ``t`` seconds, and optional ``depth``
``(h, w) uint16`` mm / ``thermal (h, w) float32`` °C of paired streams, matched to the RGB frame by time
(:class:`PairedStream`; paired streams may run at another rate). Unreadable input raises
:class:`~smartclass.errors.DataError` naming it; a bad SOURCE string an :class:`~smartclass.errors.InputError`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from smartclass.errors import DataError, InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class Frame:
    """One decoded frame: ``index`` in the source, time ``t`` in seconds, RGB and paired modalities."""

    index: int
    t: float
    rgb: np.ndarray
    depth: np.ndarray | None = None
    thermal: np.ndarray | None = None


@dataclass
class SynthTruth:
    """Ground truth of a synthetic source: per student ``k``, ``boxes[k] (T, 4)`` RGB boxes (x1, y1, x2, y2
    px, amodal, clipped), ``behaviour[k] (T,)`` index into :data:`smartclass.labels.BEHAVIOURS`,
    ``visible[k] (T,)`` whether any keypoint is seen; ``subjects[k]`` the subject id."""

    boxes: list[np.ndarray]
    behaviour: list[np.ndarray]
    visible: list[np.ndarray]
    subjects: list[int]
    condition: str


@dataclass
class Source:
    """A stream of :class:`Frame` s plus what describes it (``describe()`` goes into summary.json)."""

    kind: str  # 'video' | 'frames' | 'camera' | 'stream' | 'synth'
    name: str
    fps: float
    width: int
    height: int
    length: int | None  # frames; None for a live source
    _frames: Callable[[], Iterator[Frame]]
    truth: SynthTruth | None = None
    modalities: list[str] = field(default_factory=lambda: ["rgb"])
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    cameras: dict | None = None  # calibration of the rgb / depth / thermal cameras (geometry.Camera), if known

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")

    def frames(self) -> Iterator[Frame]:
        return self._frames()

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "fps": self.fps, "width": self.width, "height": self.height,
                "frames": self.length, "seconds": None if self.length is None else self.length / self.fps,
                "live": self.live, "modalities": list(self.modalities), "warnings": list(self.warnings), **self.extra}


# ---------------------------------------------------------------- video files (PyAV)

def _av_error_types() -> tuple[type[BaseException], ...]:
    import av

    return (av.error.FFmpegError, av.error.InvalidDataError) if hasattr(av, "error") else (OSError,)


def _probe_video(path: Path) -> tuple[float, int, int, int | None]:
    """``(fps, width, height, frames or None)`` of a video file; DataError when it cannot be opened."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise DataError(f"video '{path}': no video stream in the file")
            s = c.streams.video[0]
            fps = float(s.average_rate or s.guessed_rate or 0) or 25.0
            n = int(s.frames) if s.frames else None
            if n is None and s.duration is not None and s.time_base is not None:
                n = int(round(float(s.duration * s.time_base) * fps))
            return fps, int(s.codec_context.width), int(s.codec_context.height), n
    except DataError:
        raise
    except _av_error_types() + (OSError, ValueError) as e:
        raise DataError(f"video '{path}': cannot be read ({str(e).strip() or e.__class__.__name__})") from None


def video_source(path: str | Path) -> Source:
    """A video file decoded with PyAV. A file that stops decoding part-way (truncated, corrupt) ends the
    stream at the last good frame with a warning in ``source.warnings``; one with no decodable frame is a
    DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"video '{path}': no such file")
    fps, w, h, n = _probe_video(path)
    src: Source

    def frames() -> Iterator[Frame]:
        import av

        i = 0
        try:
            with av.open(str(path)) as c:
                stream = c.streams.video[0]
                stream.thread_type = "AUTO"
                for f in c.decode(stream):
                    t = float(f.time) if f.time is not None else i / fps
                    yield Frame(i, t, f.to_ndarray(format="rgb24"))
                    i += 1
        except _av_error_types() + (OSError, ValueError) as e:
            if i == 0:
                raise DataError(f"video '{path}': no frame could be decoded ({str(e).strip() or e.__class__.__name__})") from None
            src.warnings.append(f"video '{path}': decoding stopped at frame {i} ({str(e).strip()[:120]}); "
                                "the file is truncated or corrupt, the frames before were analysed")
            return
        if i == 0:
            raise DataError(f"video '{path}': no frame could be decoded (empty or truncated file)")
        if n is not None and i < 0.9 * n:
            src.warnings.append(f"video '{path}': {i} frames decoded of {n} announced; the file is truncated")

    src = Source("video", str(path), fps, w, h, n, frames)
    return src


# ---------------------------------------------------------------- folders of frames

def _read_image(path: Path, flags: int | None = None) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED if flags is None else flags)
    if img is None:
        raise DataError(f"frame '{path}': cannot be read as an image")
    return img


def _image_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


def folder_source(folder: str | Path, fps: float = 25.0) -> Source:
    """Frames from the images of ``folder`` in name order, ``fps`` frames per second."""
    import cv2

    folder = Path(folder)
    files = _image_files(folder, IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"frame folder '{folder}': no {'/'.join(IMAGE_SUFFIXES)} images in it")
    first = _read_image(files[0], cv2.IMREAD_COLOR)
    h, w = first.shape[:2]

    def frames() -> Iterator[Frame]:
        for i, p in enumerate(files):
            img = _read_image(p, cv2.IMREAD_COLOR)
            if img.shape[:2] != (h, w):
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            yield Frame(i, i / fps, cv2.cvtColor(img, cv2.COLOR_BGR2RGB))

    return Source("frames", str(folder), float(fps), w, h, len(files), frames)


# ---------------------------------------------------------------- live sources (camera, stream)

class _Capture:
    """What a live source reads from: ``read() -> (ok, bgr frame)``, ``release()`` (cv2.VideoCapture's API)."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...  # pragma: no cover - protocol

    def release(self) -> None: ...  # pragma: no cover - protocol


def live_source(open_capture: Callable[[], object], name: str, kind: str = "stream", fps_hint: float = 25.0,
                timeout: float = 10.0, max_failures: int = 50) -> Source:
    """A live source read on a background thread.

    Frames are time-stamped with the wall clock at arrival (seconds since the first frame), so a dropped
    frame leaves a gap that the tracker sees as time, not a shifted sequence. A failed read (``ok`` False)
    counts as a dropped frame; ``max_failures`` failures in a row end the stream. A stream that delivers no
    frame for ``timeout`` seconds (stalled) ends with a warning; one that never delivers a frame is a
    DataError. The reader keeps only the newest frames (a queue of 4): if analysis falls behind, older frames
    are dropped and counted, so the analysis stays live.
    """
    cap = open_capture()
    src: Source

    def frames() -> Iterator[Frame]:
        q: queue.Queue = queue.Queue(maxsize=4)
        stop = threading.Event()
        stats = {"dropped": 0, "failed": 0}

        def reader() -> None:
            fails = 0
            while not stop.is_set():
                try:
                    ok, img = cap.read()
                except Exception:  # a backend error is a failed read
                    ok, img = False, None
                if not ok or img is None:
                    fails += 1
                    stats["failed"] += 1
                    if fails >= max_failures:
                        q.put(None)
                        return
                    time.sleep(0.005)
                    continue
                fails = 0
                item = (time.monotonic(), img)
                while True:
                    try:
                        q.put_nowait(item)
                        break
                    except queue.Full:
                        try:
                            q.get_nowait()
                            stats["dropped"] += 1
                        except queue.Empty:
                            pass

        th = threading.Thread(target=reader, daemon=True, name=f"smartclass-source-{name}")
        th.start()
        import cv2

        t0 = None
        i = 0
        try:
            while True:
                try:
                    item = q.get(timeout=timeout)
                except queue.Empty:
                    if i == 0:
                        raise DataError(f"{kind} '{name}': no frame within {timeout:g} s (not reachable or not sending)") from None
                    src.warnings.append(f"{kind} '{name}': stalled, no frame for {timeout:g} s after frame {i}; analysis ended there")
                    return
                if item is None:
                    if i == 0:
                        raise DataError(f"{kind} '{name}': cannot read a frame (device busy, bad URL or unsupported format)")
                    src.warnings.append(f"{kind} '{name}': the stream ended after frame {i} ({max_failures} failed reads in a row)")
                    return
                arrival, img = item
                t0 = arrival if t0 is None else t0
                if img.ndim == 2:
                    img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
                yield Frame(i, arrival - t0, cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
                i += 1
        finally:
            stop.set()
            src.extra["dropped_frames"] = stats["dropped"]
            src.extra["failed_reads"] = stats["failed"]
            try:
                cap.release()
            except Exception:
                pass

    src = Source(kind, name, fps_hint, 0, 0, None, frames)
    return src


def _opencv_capture(target: int | str, name: str, kind: str):
    import cv2

    def open_capture():
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            raise DataError(f"{kind} '{name}': cannot be opened (no such camera, unreachable URL or unsupported format)")
        return cap

    return open_capture


def camera_or_stream_source(spec: str, timeout: float = 10.0) -> Source:
    kind = "camera" if spec.isdigit() else "stream"
    target: int | str = int(spec) if spec.isdigit() else spec
    src = live_source(_opencv_capture(target, spec, kind), spec, kind, timeout=timeout)
    return src


# ---------------------------------------------------------------- the synthetic classroom

SYNTH_KEYS = {"seed": int, "students": int, "conditions": str, "seconds": float, "fps": float, "clip": int,
              "split": str, "width": int, "height": int}


def parse_synth_spec(spec: str) -> dict:
    """``synth:classroom,key=value,…`` → settings; conditions are joined by ``+`` (``normal+low_light``)."""
    head, _, rest = spec.partition(",")
    if head != "synth:classroom":
        raise InputError(f"SOURCE '{spec}': a synthetic source reads 'synth:classroom[,key=value,…]' "
                         f"(keys: {', '.join(SYNTH_KEYS)})")
    out: dict = {"seed": 0, "students": 8, "conditions": "normal", "seconds": 30.0, "fps": 10.0, "clip": 0,
                 "split": "test", "width": 640, "height": 360}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in SYNTH_KEYS:
            raise InputError(f"SOURCE '{spec}': '{part}' is not key=value with a key of {', '.join(SYNTH_KEYS)}")
        try:
            out[key] = SYNTH_KEYS[key](value.strip())
        except ValueError:
            raise InputError(f"SOURCE '{spec}': {key}={value!r} is not a {SYNTH_KEYS[key].__name__}") from None
    if out["seconds"] <= 0 or out["fps"] <= 0:
        raise InputError(f"SOURCE '{spec}': seconds and fps must be > 0")
    out["conditions"] = tuple(c for c in out["conditions"].split("+") if c)
    return out


def synth_source(spec: str) -> Source:
    """A SmartClass-Synth classroom clip (rendered once, in memory) with its ground truth; depth and thermal
    are carried along (the synthetic rig has all three cameras)."""
    from smartclass.errors import ConfigError
    from smartclass.synth.config import SynthConfig
    from smartclass.synth.generator import render_clip

    p = parse_synth_spec(spec)
    frames_n = max(1, int(round(p["seconds"] * p["fps"])))
    try:
        cfg = SynthConfig(clips=1, frames=frames_n, students=p["students"], width=p["width"], height=p["height"],
                          fps=p["fps"], conditions=p["conditions"], split=p["split"], seed=p["seed"])
        clip = render_clip(cfg, p["clip"])
    except ConfigError as e:
        raise InputError(f"SOURCE '{spec}': {e}") from None
    truth = SynthTruth(
        boxes=[s.boxes["rgb"].astype(np.float32) for s in clip.students],
        behaviour=[s.behaviour.astype(int) for s in clip.students],
        visible=[(s.keypoints["rgb"][:, :, 2] >= 2).any(1) for s in clip.students],
        subjects=[int(s.subject_id) for s in clip.students],
        condition=clip.condition,
    )
    fps = float(clip.fps)

    def frames() -> Iterator[Frame]:
        for i in range(clip.num_frames):
            yield Frame(i, i / fps, clip.rgb[i],
                        None if clip.depth is None else clip.depth[i],
                        None if clip.thermal is None else clip.thermal[i])

    h, w = clip.rgb.shape[1:3]
    return Source("synth", spec, fps, w, h, clip.num_frames, frames, truth=truth,
                  modalities=["rgb"] + [m for m in ("depth", "thermal") if getattr(clip, m) is not None],
                  extra={"condition": clip.condition, "students": p["students"], "seed": p["seed"],
                         "split": p["split"], "clip": p["clip"]}, cameras=dict(clip.cameras))


# ---------------------------------------------------------------- paired depth / thermal streams

class PairedStream:
    """A depth or thermal stream matched to RGB time stamps: ``at(t)`` is the frame nearest in time to
    ``t`` (within ``max_skew`` seconds, else ``None``). The paired stream may run at another rate than the
    RGB (e.g. thermal at 9 fps beside RGB at 25 fps): each RGB frame gets the nearest paired frame, a
    slower stream's frames are reused, a faster one's skipped.

    ``path``: a folder of images (16-bit PNG depth in mm; thermal as ``.npy`` °C or 8/16-bit images) at
    ``fps``, or a video file (its grey level)."""

    def __init__(self, path: str | Path, modality: str, fps: float | None = None, max_skew: float | None = None) -> None:
        self.path, self.modality = Path(path), modality
        if self.path.is_dir():
            self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + (".npy",))
            if not self._files:
                raise DataError(f"{modality} folder '{self.path}': no images or .npy files in it")
            self.fps = float(fps or 25.0)
            self._iter = (self._load(i, p) for i, p in enumerate(self._files))
        elif self.path.is_file() and self.path.suffix.lower() in VIDEO_SUFFIXES:
            vid = video_source(self.path)
            self.fps = float(fps or vid.fps)
            self._iter = ((f.t, f.rgb.mean(-1).astype(np.float32)) for f in vid.frames())
        else:
            raise DataError(f"{modality} '{self.path}': expected a folder of frames or a video file")
        self.max_skew = max_skew if max_skew is not None else 1.0 / self.fps
        self._prev: tuple[float, np.ndarray] | None = None
        self._next: tuple[float, np.ndarray] | None = None
        self._done = False
        self.used = 0

    def _load(self, i: int, p: Path) -> tuple[float, np.ndarray]:
        if p.suffix.lower() == ".npy":
            try:
                arr = np.load(p)
            except (OSError, ValueError) as e:
                raise DataError(f"{self.modality} frame '{p}': cannot be read ({e})") from None
        else:
            arr = _read_image(p)
            if arr.ndim == 3:
                arr = arr.mean(-1)
        return i / self.fps, arr

    def _advance(self) -> None:
        self._prev = self._next
        try:
            self._next = next(self._iter)
        except StopIteration:
            self._next, self._done = None, True

    def at(self, t: float) -> np.ndarray | None:
        if self._next is None and not self._done:
            self._advance()
        while self._next is not None and self._next[0] <= t:
            self._advance()
        cands = [c for c in (self._prev, self._next) if c is not None]
        if not cands:
            return None
        best = min(cands, key=lambda c: abs(c[0] - t))
        if abs(best[0] - t) > self.max_skew:
            return None
        self.used += 1
        return best[1]


def load_calibration(path: str | Path) -> dict:
    """A calibration file (JSON): ``{"rgb": camera, "depth": camera, "thermal": camera}`` with cameras as
    :meth:`smartclass.geometry.Camera.to_dict` writes them. Returns the cameras that are present."""
    from smartclass.geometry import Camera

    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"calibration '{path}': cannot be read as JSON ({e})") from None
    out = {}
    for name in ("rgb", "depth", "thermal"):
        if name in raw:
            try:
                out[name] = Camera.from_dict(raw[name])
            except (KeyError, TypeError, ValueError) as e:
                raise DataError(f"calibration '{path}': camera '{name}' is malformed ({e})") from None
    return out


def with_paired(src: Source, depth: str | Path | None = None, thermal: str | Path | None = None,
                calibration: str | Path | None = None, paired_fps: float | None = None) -> Source:
    """``src`` with depth and/or thermal streams matched by time (replacing any the source carries)."""
    if depth is None and thermal is None:
        if calibration is not None:
            src.cameras = load_calibration(calibration)
            src.extra["calibration"] = {"path": str(calibration), "cameras": sorted(src.cameras)}
        return src
    streams = {m: PairedStream(p, m, paired_fps) for m, p in (("depth", depth), ("thermal", thermal)) if p is not None}
    inner = src._frames

    def frames() -> Iterator[Frame]:
        for f in inner():
            for m, s in streams.items():
                setattr(f, m, s.at(f.t))
            yield f
        for m, s in streams.items():
            src.extra[f"{m}_frames_matched"] = s.used

    src._frames = frames
    src.modalities = ["rgb"] + sorted(streams)
    src.extra["paired"] = {m: {"path": str(s.path), "fps": s.fps} for m, s in streams.items()}
    if calibration is not None:
        src.cameras = load_calibration(calibration)
        src.extra["calibration"] = {"path": str(calibration), "cameras": sorted(src.cameras)}
    else:
        src.cameras = None
        src.warnings.append("paired depth/thermal without --calibration: the cameras are taken as registered "
                            "(same view; boxes scaled by the image sizes)")
    return src


def keep_modalities(src: Source, keep: tuple[str, ...]) -> Source:
    """``src`` with its depth / thermal frames not named in ``keep`` dropped (e.g. ``()``: RGB only) — the same
    classroom as a room without those cameras."""
    inner = src._frames

    def frames() -> Iterator[Frame]:
        for f in inner():
            for m in ("depth", "thermal"):
                if m not in keep:
                    setattr(f, m, None)
            yield f

    src._frames = frames
    src.modalities = ["rgb"] + [m for m in src.modalities if m in keep and m != "rgb"]
    return src


def open_source(spec: str, *, fps: float = 25.0, timeout: float = 10.0) -> Source:
    """The :class:`Source` a SOURCE string names (see the module doc)."""
    spec = str(spec).strip()
    if not spec:
        raise InputError("SOURCE: empty; expected a video file, a folder of frames, a camera index, a URL or synth:classroom")
    if spec.startswith("synth:"):
        return synth_source(spec)
    if spec.isdigit() or spec.split("://", 1)[0].lower() in ("rtsp", "rtmp", "http", "https", "udp", "tcp"):
        return camera_or_stream_source(spec, timeout=timeout)
    path = Path(spec)
    if path.is_dir():
        return folder_source(path, fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            import cv2

            img = cv2.cvtColor(_read_image(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            return Source("frames", str(path), float(fps), img.shape[1], img.shape[0], 1,
                          lambda: iter([Frame(0, 0.0, img)]))
        return video_source(path)
    raise InputError(f"SOURCE '{spec}': no such file or folder, and not a camera index, a URL or synth:classroom[,…]")
