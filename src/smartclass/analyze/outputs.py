"""What an analysis writes under ``--out``, as the run goes and atomically.

* ``timeline.csv`` / ``timeline.json`` — per student id, intervals ``start``–``end`` (seconds) with
  ``behaviour`` and ``confidence`` (the mean probability of that behaviour over the interval), from the
  smoothed labels (:func:`build_timelines`), and ``detail``: where paper 002's recogniser ran
  (:mod:`~smartclass.analyze.recognise`), its most probable fine-grained class over the interval (e.g.
  ``chin_resting`` inside ``attend_lecture``), else empty. A student unseen for more than ``max_gap`` seconds
  has a gap.
* ``summary.json`` — students seen, processing rate, behaviour shares, the engagement curve, the input,
  the modalities used, the models and their versions, stage timings, warnings.
* ``annotated.mp4`` — H.264 (libx264, yuv420p, browsers play it) through PyAV, written to a hidden partial
  file and renamed when closed; boxes, ids and the live (hysteresis) label; ``--blur-faces`` blurs the head
  part of every box on every frame.
* ``report.html`` — :mod:`smartclass.analyze.report`.

:class:`FolderSink` writes all of them: every ``flush_seconds`` the timelines, summary and report are rewritten
(each with :func:`smartclass.io.atomic_path`), so a Ctrl-C or a crash leaves the last complete set; the video is
closed (finalised) on every exit path of :func:`analyze_to_folder`.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import time
from pathlib import Path

import numpy as np

from smartclass.analyze.engagement import binned, engagement_curve
from smartclass.analyze.pipeline import Analyzer, Sink
from smartclass.analyze.smoothing import runs, smooth_labels
from smartclass.analyze.sources import Frame, Source
from smartclass.io import atomic_path, write_json_atomic, write_text_atomic


# ---------------------------------------------------------------- timelines

def smoothed(analyzer: Analyzer) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Student id → ``(times (T,), probs (T, C), labels (T,))`` for the students seen often enough."""
    st = analyzer.settings
    out = {}
    for sid, rec in sorted(analyzer.records.items()):
        if len(rec.times) < st.min_decisions:
            continue
        times, probs = rec.arrays()
        out[sid] = (times, probs, smooth_labels(times, probs, st.smoothing, st.mean_duration, st.min_seconds, st.hold))
    return out


def _detail(rec_probs: list, idx: np.ndarray, names: tuple[str, ...] | None) -> str | None:
    """The recogniser's most probable class over the decisions ``idx`` (mean of its probabilities), or None."""
    ps = [rec_probs[i] for i in idx if rec_probs[i] is not None]
    return names[int(np.mean(ps, 0).argmax())] if ps and names else None


def build_timelines(analyzer: Analyzer, labelled: dict | None = None) -> dict[int, list[dict]]:
    """Student id → intervals ``{"start", "end", "behaviour", "confidence", "detail"}`` (seconds, 3 decimals)."""
    names = analyzer.detector.class_names
    rec = getattr(analyzer, "recogniser", None)
    fine = tuple(rec.class_names) if rec is not None else None
    period = 1.0 / max(analyzer.decisions_per_second, 1e-9)
    max_gap = max(3 * period, 1.0)
    labelled = smoothed(analyzer) if labelled is None else labelled
    out: dict[int, list[dict]] = {}
    for sid, (times, probs, labels) in labelled.items():
        pieces = np.split(np.arange(len(times)), np.flatnonzero(np.diff(times) > max_gap) + 1)
        items = []
        for piece in pieces:
            for lab, a, b in runs(labels[piece]):
                idx = piece[a:b]
                end = times[idx[-1]] + period if idx[-1] == piece[-1] else times[idx[-1] + 1]
                items.append({"start": round(float(times[idx[0]]), 3), "end": round(float(end), 3),
                              "behaviour": names[lab], "confidence": round(float(probs[idx, lab].mean()), 4),
                              "detail": _detail(analyzer.records[sid].rec_probs, idx, fine)})
        out[sid] = items
    return out


def timeline_csv(timelines: dict[int, list[dict]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "start_s", "end_s", "behaviour", "confidence", "detail"])
    for sid, items in timelines.items():
        for it in items:
            w.writerow([sid, f"{it['start']:.3f}", f"{it['end']:.3f}", it["behaviour"], f"{it['confidence']:.4f}",
                        it.get("detail") or ""])
    return buf.getvalue()


def behaviour_share(timelines: dict[int, list[dict]]) -> dict[str, float]:
    """Share of student-time per behaviour (sums to 1 over behaviours; empty without students)."""
    tot: dict[str, float] = {}
    for items in timelines.values():
        for it in items:
            tot[it["behaviour"]] = tot.get(it["behaviour"], 0.0) + it["end"] - it["start"]
    s = sum(tot.values())
    return {k: round(v / s, 4) for k, v in sorted(tot.items(), key=lambda kv: -kv[1])} if s > 0 else {}


def engagement(analyzer: Analyzer, labelled: dict) -> list[dict]:
    """The engagement curve at every detection step, from the smoothed labels of the students present."""
    names = analyzer.detector.class_names
    lookup = {sid: dict(zip(np.round(times, 6), labels)) for sid, (times, _, labels) in labelled.items()}
    times, present = [], []
    for s in analyzer.steps:
        key = round(s.t, 6)
        labs = [names[lookup[int(sid)][key]] for sid in s.sids if int(sid) in lookup and key in lookup[int(sid)]]
        times.append(s.t)
        present.append(labs)
    return engagement_curve(np.asarray(times), present, analyzer.settings.engagement)


# ---------------------------------------------------------------- annotated video

def _colour(sid: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(sid * 7919 + 13)
    c = rng.integers(60, 256, 3)
    return int(c[0]), int(c[1]), int(c[2])


def head_box(box: np.ndarray, head_fraction: float) -> tuple[int, int, int, int]:
    """The head part of a student box: the top ``head_fraction`` of its height, the middle 70 % of its width
    (the whole box for a head detector, ``head_fraction`` 1)."""
    x1, y1, x2, y2 = [float(v) for v in box]
    if head_fraction >= 1.0:
        return int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2))
    w, h = x2 - x1, y2 - y1
    return int(x1 + 0.15 * w), int(y1), int(np.ceil(x2 - 0.15 * w)), int(np.ceil(y1 + head_fraction * h))


def blur_regions(img: np.ndarray, regions: list[tuple[int, int, int, int]]) -> np.ndarray:
    """``img`` with each region ``(x1, y1, x2, y2)`` strongly blurred (in place; returns ``img``)."""
    import cv2

    H, W = img.shape[:2]
    for x1, y1, x2, y2 in regions:
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(W, x2), min(H, y2)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = img[y1:y2, x1:x2]
        k = max(3, (max(x2 - x1, y2 - y1) // 2) | 1)
        small = cv2.resize(roi, (max(1, (x2 - x1) // 6), max(1, (y2 - y1) // 6)), interpolation=cv2.INTER_AREA)
        img[y1:y2, x1:x2] = cv2.GaussianBlur(cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR), (k, k), 0)
    return img


def draw(frame: np.ndarray, shown: dict[int, tuple[np.ndarray, int]], names: tuple[str, ...], blur_faces: bool,
         head_fraction: float) -> np.ndarray:
    """A copy of ``frame`` with heads blurred (if asked), boxes, ids and labels drawn."""
    import cv2

    img = np.ascontiguousarray(frame).copy()
    if blur_faces:
        blur_regions(img, [head_box(b, head_fraction) for b, _ in shown.values()])
    scale = max(0.35, img.shape[0] / 900)
    for sid, (box, lab) in shown.items():
        x1, y1, x2, y2 = [int(round(v)) for v in box]
        col = _colour(sid)
        cv2.rectangle(img, (x1, y1), (x2, y2), col, 2)
        text = f"{sid} {names[lab]}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(th + 3, y1)
        cv2.rectangle(img, (x1, ty - th - 3), (x1 + tw + 2, ty), col, -1)
        cv2.putText(img, text, (x1 + 1, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return img


class VideoWriter:
    """H.264 MP4 through PyAV (libx264, yuv420p, ``faststart``), written to a hidden partial file beside
    ``path`` and renamed onto it by :meth:`close`; even frame sizes (the encoder needs them)."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int, crf: int = 26) -> None:
        import av
        from fractions import Fraction

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")
        self.w, self.h = width - width % 2, height - height % 2
        self.c = av.open(str(self.tmp), "w", options={"movflags": "faststart"})
        self.s = self.c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        self.s.width, self.s.height, self.s.pix_fmt = self.w, self.h, "yuv420p"
        self.s.options = {"preset": "ultrafast", "crf": str(crf), "tune": "zerolatency"}
        self.s.thread_count = 1
        self.frames = 0
        self.closed = False

    def write(self, rgb: np.ndarray) -> None:
        import av

        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self.h, : self.w]), format="rgb24")
        for p in self.s.encode(f):
            self.c.mux(p)
        self.frames += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            for p in self.s.encode():
                self.c.mux(p)
        finally:
            self.c.close()
        if self.frames:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- the folder sink

class FolderSink(Sink):
    """Writes every output under ``out`` (see the module doc)."""

    def __init__(self, out: str | Path, source: Source, models: dict, started: float | None = None) -> None:
        from smartclass.analyze.pipeline import output_dir

        self.out = output_dir(out)
        self.source = source
        self.models = models
        self.video: VideoWriter | None = None
        self.thumbs: list[tuple[float, str]] = []  # (t, base64 JPEG) for the report
        self._next_thumb = 0.0
        self.started = time.monotonic() if started is None else started
        self.interrupted = False
        self.summary: dict = {}
        self._truth_eval = None

    def frame(self, analyzer: Analyzer, frame: Frame) -> None:
        import cv2

        st = analyzer.settings
        need_thumb = st.report and frame.t >= self._next_thumb
        if not (st.video or need_thumb):
            return
        img = draw(frame.rgb, analyzer.shown, analyzer.detector.class_names, st.blur_faces, analyzer.detector.head_fraction)
        if st.video:
            if self.video is None:
                h, w = img.shape[:2]
                self.video = VideoWriter(self.out / "annotated.mp4", self.source.fps, w, h)
            self.video.write(img)
        if need_thumb:
            self._next_thumb = frame.t + st.thumb_seconds
            h, w = img.shape[:2]
            small = cv2.resize(img, (240, max(2, int(round(240 * h / w)))), interpolation=cv2.INTER_AREA)
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])
            if ok:
                self.thumbs.append((frame.t, base64.b64encode(jpg.tobytes()).decode("ascii")))

    def flush(self, analyzer: Analyzer, final: bool) -> dict:
        from smartclass.analyze.report import write_report

        labelled = smoothed(analyzer)
        timelines = build_timelines(analyzer, labelled)
        curve = engagement(analyzer, labelled)
        with atomic_path(self.out / "timeline.csv") as tmp:
            tmp.write_text(timeline_csv(timelines))
        write_json_atomic(self.out / "timeline.json", {
            "students": [{"id": sid, "intervals": items} for sid, items in timelines.items()],
            "classes": list(analyzer.detector.class_names), "smoothing": analyzer.settings.smoothing,
            "complete": final and not self.interrupted})
        self.summary = summary(analyzer, self.source, self.models, timelines, curve, self.started,
                               final=final, interrupted=self.interrupted)
        if self.video is not None and final:
            self.video.close()
            self.summary["outputs"]["annotated.mp4"] = {"frames": self.video.frames, "codec": "h264"}
        write_json_atomic(self.out / "summary.json", self.summary)
        if analyzer.settings.report:
            write_report(self.out / "report.html", self.summary, timelines, self.thumbs)
        return self.summary


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for pkg in ("smartclass", "torch", "trackers", "supervision", "av", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def summary(analyzer: Analyzer, source: Source, models: dict, timelines: dict, curve: list[dict], started: float,
            final: bool, interrupted: bool) -> dict:
    st = analyzer.settings
    wall = max(time.monotonic() - started, 1e-9)
    det = analyzer.detector
    models = {**models, "detector": {**models.get("detector", {}), "name": det.name, "version": det.version,
                                     "classes": list(det.class_names)}}
    for key in ("runtime_used", "input_size"):
        if hasattr(det, key):
            models["detector"][key] = getattr(det, key)
    seen = [sid for sid in timelines]
    eng = [p["engaged"] for p in curve if p["engaged"] is not None]
    modalities_read = list(source.modalities)
    rec = getattr(analyzer, "recogniser", None)
    if rec is not None:
        models["recogniser"] = {**models.get("recogniser", {}), **rec.describe()}
    analysed = ["rgb"] + [m for m in ("depth", "thermal") if rec is not None and any(m in k for k in rec.modalities_used)]
    return {
        "complete": final and not interrupted,
        "interrupted": interrupted,
        "students_seen": len(seen),
        "student_ids": seen,
        "track_ids_total": len(analyzer.records),
        "reentries_linked": analyzer.linker.relinked if getattr(analyzer, "linker", None) is not None else 0,
        "frames_processed": analyzer.frames_done,
        "seconds_processed": round(analyzer.last_t + 1.0 / source.fps if analyzer.frames_done else 0.0, 3),
        "processing_fps": round(analyzer.frames_done / wall, 2),
        "wall_seconds": round(wall, 3),
        "detect_every": analyzer.stride,
        "decisions_per_second": round(analyzer.decisions_per_second, 3),
        "dark_frames_detected": analyzer.dark_frames,
        "frames_enhanced": analyzer.enhanced_frames,
        "behaviour_share": behaviour_share(timelines),
        "engagement": {
            "mean": round(float(np.mean(eng)), 4) if eng else None,
            "mean_reason": None if eng else "no student with a behaviour of known engagement was seen",
            "per_second": binned(curve, 1.0),
            "curve": curve,
            "mapping": {k: v for k, v in st.engagement.items() if k in analyzer.detector.class_names},
        },
        "input": source.describe(),
        "modalities_used": {"read": modalities_read, "analysed": analysed,
                            "note": None if modalities_read == analysed else
                            "depth/thermal are read and matched to RGB frames by time; the detector and the track "
                            "stage use RGB; only paper 002's recogniser (--recogniser) reads depth and thermal "
                            "(docs/analyze.md)"},
        "models": models,
        "settings": {"tracker": st.tracker, "track_activation": st.track_activation, "track_high": st.track_high,
                     "lost_seconds": st.lost_seconds, "reentry": st.reentry, "behaviour": st.behaviour,
                     "smoothing": st.smoothing, "window_s": st.window,
                     "min_interval_s": st.min_seconds, "enhance": st.enhance, "dark_gate": list(st.dark_gate),
                     "blur_faces": st.blur_faces, "max_seconds": st.max_seconds, "batch": st.batch,
                     "recogniser": rec is not None, "fusion": getattr(analyzer, "fusion", None) is not None},
        "stages": analyzer.clock.table(analyzer.frames_done),
        "warnings": list(source.warnings),
        "versions": _versions(),
        "outputs": {"timeline.csv": {}, "timeline.json": {}, "summary.json": {},
                    **({"report.html": {}} if st.report else {})},
    }


def analyze_to_folder(analyzer: Analyzer, source: Source, out: str | Path, models: dict, progress=None) -> dict:
    """Run ``analyzer`` on ``source`` writing everything under ``out``; returns the summary. On Ctrl-C the
    outputs are finalised (``"interrupted": true``) and the KeyboardInterrupt re-raised; on an error the
    partial video is closed too."""
    sink = FolderSink(out, source, models)
    try:
        analyzer.run(source, sink, progress)
    except KeyboardInterrupt:
        sink.interrupted = True
        sink.flush(analyzer, final=True)
        raise
    except BaseException:
        if sink.video is not None:
            try:
                sink.video.close()
            except Exception:
                pass
        raise
    return sink.flush(analyzer, final=True)
