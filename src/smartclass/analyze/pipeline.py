"""The analysis pipeline: decode → low-light enhancement where dark → detect on a stride, batched → track →
per-student behaviour window → smoothing → engagement → outputs, written as the run goes.

Stages (each its own module):

* :mod:`~smartclass.analyze.sources` — frames and time stamps (and paired depth / thermal);
* :mod:`~smartclass.analyze.lowlight` — enhancement only of frames whose mean luma is below a threshold;
* :mod:`~smartclass.analyze.detector` — any :class:`~smartclass.analyze.detector.Detector`, every
  ``detect_every``-th frame, ``batch`` frames per call;
* :mod:`smartclass.tracking` — ByteTrack (default) or the IoU baseline, then the re-entry linker and the
  suppression of duplicate ids on one student (:mod:`smartclass.tracking.duplicates`);
* :mod:`~smartclass.analyze.behaviour` — confidence-weighted sliding-window class probabilities per student,
  or :mod:`~smartclass.analyze.temporal` — the track temporal model (attention LSTM) over each student's
  track (``behaviour='temporal'``);
* :mod:`~smartclass.analyze.smoothing` — sticky-HMM Viterbi + minimum durations (timelines), hysteresis
  (what the video and console show while running);
* :mod:`~smartclass.analyze.engagement` — the share of students engaged at each decision time;
* :mod:`~smartclass.analyze.outputs` and :mod:`~smartclass.analyze.report` — files under ``--out``.

A behaviour decision is made for every tracked student at every detection step, i.e. ``fps / detect_every``
times a second (≥ 2 is required; the default stride K = ⌊fps/3⌋ gives 3 to 6: 3 at 30 fps, 3.1 at 25 fps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from smartclass.analyze.behaviour import StudentRecord
from smartclass.analyze.detector import Detections, Detector
from smartclass.analyze.engagement import DEFAULT_ENGAGEMENT
from smartclass.analyze.lowlight import ANALYZE_GATE, DarkFrameEnhancer
from smartclass.analyze.smoothing import Hysteresis
from smartclass.analyze.sources import Frame, Source
from smartclass.errors import ConfigError
from smartclass.tracking import make_tracker
from smartclass.tracking.duplicates import suppress_duplicates
from smartclass.tracking.reentry import ReentryLinker


#: tracking settings per shipped detector (checkpoint stem): the detector score cut before tracking, ByteTrack's
#: activation and high/low split, how long a lost track is kept, the re-entry linker. ``synth8``: chosen on the
#: SmartClass-Synth *val* split by ``benchmarks/analyze_tune.py`` (results/analyze_tune_synth8.json), over
#: classrooms of 8 and of 16 students (chosen on 8-student rooms alone, the split 0.5 started too few tracks in
#: crowded rooms: 4 of 16 students in a 10 s lesson); its duplicate suppression (0.8) chosen afterwards on the same
#: val clips: (IDF1 + MOTA)/2 0.708 → 0.783, ids per room 14.0 → 12.3, window timeline accuracy unchanged (0.280)
#: and more id switches (151 → 188); 0.7 scored 0.793 but lost timeline accuracy (0.269).
#: ``students7``: no real video with ground-truth tracks exists, and synth8's values do not carry over (its
#: scores on the lecture-hall video are low, 99th percentile 0.27: with synth8's cut 0.2 and split 0.5 it tracks
#: nobody there), so it keeps the hand-set values with which it finds 9 of the 14 students counted by eye, and no
#: duplicate suppression (untested on real rows of students, where a back-row student's box can sit inside a
#: front-row one's).
TRACKING_BY_DETECTOR: dict[str, dict] = {
    "synth8": {"score_threshold": 0.2, "track_activation": 0.08, "track_high": 0.15, "lost_seconds": 1.5,
               "reentry_colour": 0.3, "duplicate_overlap": 0.8},
    "students7": {"score_threshold": 0.02, "track_activation": 0.08, "track_high": 0.15, "lost_seconds": 3.0},
}


def tracking_for(detector: str) -> tuple[float | None, dict]:
    """``(score_threshold, AnalyzeSettings overrides)`` of a detector (``'synth8'`` or ``'detector:synth8'``);
    ``(None, {})`` for one without tuned settings."""
    row = dict(TRACKING_BY_DETECTOR.get(detector.split(":")[-1], {}))
    return row.pop("score_threshold", None), row


@dataclass
class AnalyzeSettings:
    """Settings of one analysis (the CLI's options)."""

    detect_every: int = 0  # 0: auto, at least 3 detections (behaviour decisions) per second
    batch: int = 4  # frames per detector call (1 for live sources)
    tracker: str = "bytetrack"
    lost_seconds: float = 3.0  # a track hidden longer ends (the re-entry linker may give its id back)
    # detector score that starts a track, and ByteTrack's split between its first (high-score) and second
    # (low-score) association stage; the shipped detectors' own values are in TRACKING_BY_DETECTOR
    track_activation: float = 0.08
    track_high: float = 0.15
    reentry: bool = True
    reentry_iou: float = 0.3  # the re-entry linker's place test: IoU with the student's last box, or …
    reentry_shift: float = 0.5  # … centre within this many box widths of it
    reentry_colour: float = 0.45  # and hue–saturation histograms within this Bhattacharyya distance
    duplicate_overlap: float = 1.0  # an id whose box lies this much inside a stronger id's box is held back (1: off)
    behaviour: str = "window"  # 'window' (the detector's classes voted over the window) or 'temporal' (the model)
    smoothing: str = "viterbi"
    window: float = 1.0  # behaviour window, seconds
    mean_duration: float = 4.0  # the HMM's expected behaviour duration, seconds
    min_seconds: float = 1.0  # shortest interval in a timeline
    hold: float = 1.0  # hysteresis of the live label
    enhance: bool = True
    dark_gate: tuple[float, float] = ANALYZE_GATE  # mean luma: fully enhanced below the first, untouched above the second
    min_decisions: int = 3  # a student id needs this many decisions to count as seen
    max_seconds: float | None = None
    video: bool = True
    report: bool = True
    blur_faces: bool = False
    flush_seconds: float = 10.0  # wall-clock seconds between flushes of the outputs
    thumb_seconds: float = 1.0  # a thumbnail for the report every so many seconds of input
    engagement: dict = field(default_factory=lambda: dict(DEFAULT_ENGAGEMENT))

    def stride(self, fps: float) -> int:
        if self.detect_every < 0:
            raise ConfigError(f"--detect-every: expected ≥ 1 (or 0 for automatic), got {self.detect_every}")
        return self.detect_every or max(1, int(fps // 3.0))


@dataclass
class Step:
    """One detection step: frame ``index`` at ``t``; per detection the student id (-1 unconfirmed), box,
    detector class and score."""

    index: int
    t: float
    sids: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    dark: bool


class StageClock:
    """Accumulated wall time per stage (seconds) and call counts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def add(self, stage: str, seconds: float, n: int = 1) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.calls[stage] = self.calls.get(stage, 0) + n

    def table(self, frames: int) -> dict:
        return {k: {"seconds": round(v, 4), "calls": self.calls[k], "ms_per_frame": round(1000 * v / max(frames, 1), 3)}
                for k, v in self.seconds.items()}


class Analyzer:
    """Runs the pipeline on a :class:`Source` with a :class:`Detector`; the state after (or during) a run:
    ``records`` (student id → :class:`StudentRecord`), ``steps`` (:class:`Step` list), ``clock``."""

    def __init__(self, detector: Detector, settings: AnalyzeSettings | None = None, temporal=None,
                 recogniser=None, fusion=None) -> None:
        """``temporal``: a :class:`~smartclass.analyze.temporal.TrackBehaviourModel`, required (and only used)
        with ``settings.behaviour == 'temporal'``. ``recogniser``: a
        :class:`~smartclass.analyze.recognise.TrackRecogniser` run on the tracked students, and ``fusion``: the
        :class:`~smartclass.analyze.recognise.Fusion` that merges its probabilities into the track's (without
        one the recogniser's probabilities are only recorded, ``StudentRecord.rec_probs``)."""
        self.detector = detector
        self.settings = settings or AnalyzeSettings()
        if self.settings.behaviour not in ("window", "temporal"):
            raise ConfigError(f"--behaviour: expected 'window' or 'temporal', got '{self.settings.behaviour}'")
        if self.settings.behaviour == "temporal":
            if temporal is None:
                raise ConfigError("--behaviour temporal: no track temporal model given")
            temporal.check(detector.class_names)
        self.temporal = temporal if self.settings.behaviour == "temporal" else None
        if fusion is not None:
            if recogniser is None:
                raise ConfigError("--fusion: given without a recogniser")
            fusion.check(detector.class_names, recogniser.class_names)
        self.recogniser, self.fusion = recogniser, fusion
        self.records: dict[int, StudentRecord] = {}
        self.steps: list[Step] = []
        self.clock = StageClock()
        self.frames_done = 0
        self.last_t = 0.0
        self.dark_frames = 0
        self.enhanced_frames = 0
        self._live_labels: dict[int, Hysteresis] = {}
        self.shown: dict[int, tuple[np.ndarray, int]] = {}  # student → (box, shown label) at the last step

    # ---------------------------------------------------------------- stages
    def _track(self, frame: np.ndarray, det: Detections, t: float) -> np.ndarray:
        if det is None or len(det) == 0:
            det = Detections.empty()
        t0 = time.perf_counter()
        if getattr(self.tracker, "name", "") == "botsort":
            ids = self.tracker.update(det.boxes, det.scores, det.class_ids, t, frame=frame)
        else:
            ids = self.tracker.update(det.boxes, det.scores, det.class_ids, t)
        if self.linker is not None:
            ids = self.linker.link(ids, det.boxes, frame, t)
        if self.settings.duplicate_overlap < 1.0 and len(ids) > 1:
            score = dict(zip(ids.tolist(), det.scores.tolist()))
            ids = suppress_duplicates(ids, det.boxes,
                                      lambda sid: score[sid] + (sum(self.records[sid].scores) if sid in self.records else 0.0),
                                      self.settings.duplicate_overlap)
        self.clock.add("track", time.perf_counter() - t0)
        return ids

    def _behaviour(self, t: float, sids: np.ndarray, det: Detections, frame_size: tuple[int, int]) -> None:
        t0 = time.perf_counter()
        C = len(self.detector.class_names)
        self.shown = {}
        present: list[tuple[int, np.ndarray, np.ndarray]] = []
        for j, (sid, box, c, s) in enumerate(zip(sids, det.boxes, det.class_ids, det.scores)):
            sid = int(sid)
            if sid < 0 or sid in self.shown:
                continue
            rec = self.records.get(sid)
            if rec is None:
                rec = self.records[sid] = StudentRecord(sid, C, window=self.settings.window)
                self._live_labels[sid] = Hysteresis(self.settings.hold)
            p = rec.add(t, box, int(c), float(s), None if det.probs is None else det.probs[j])
            present.append((sid, box, p))
            self.shown[sid] = (box, -1)
        if self.temporal is not None and present:
            model_p = self.temporal([self.records[sid] for sid, _, _ in present], frame_size)
            for (sid, _, _), p in zip(present, model_p):
                self.records[sid].probs[-1] = p
            present = [(sid, box, p) for (sid, box, _), p in zip(present, model_p)]
        if self.recogniser is not None and present:
            self.clock.add("behaviour", time.perf_counter() - t0, 0)
            present = self._recognise(t, present)
            t0 = time.perf_counter()
        for sid, box, p in present:
            self.shown[sid] = (box, self._live_labels[sid].update(t, p))
        self.clock.add("behaviour", time.perf_counter() - t0)

    def _recognise(self, t: float, present: list) -> list:
        t0 = time.perf_counter()
        recs = [self.records[sid] for sid, _, _ in present]
        rec_p = self.recogniser.update(t, recs)
        for r, q in zip(recs, rec_p):
            r.rec_probs[-1] = q
        have = [j for j, q in enumerate(rec_p) if q is not None]
        if self.fusion is not None and have:
            fused = self.fusion(np.stack([present[j][2] for j in have]), np.stack([rec_p[j] for j in have]))
            present = list(present)
            for j, p in zip(have, fused):
                sid, box, _ = present[j]
                recs[j].probs[-1] = p
                present[j] = (sid, box, p)
        self.clock.add("recognise", time.perf_counter() - t0)
        return present

    # ---------------------------------------------------------------- the run
    def run(self, source: Source, sink: "Sink | None" = None,
            progress: Callable[["Analyzer", Frame], None] | None = None) -> None:
        """Process every frame of ``source`` (up to ``max_seconds``). ``sink`` receives each frame with what
        is shown on it and is flushed every ``flush_seconds``; Ctrl-C (KeyboardInterrupt) propagates after the
        sink has been flushed by the caller (see :func:`smartclass.analyze.outputs.analyze_to_folder`)."""
        st = self.settings
        fps = source.fps
        k = st.stride(fps)
        self.stride = k
        self.decisions_per_second = fps / k
        batch = 1 if source.live else max(1, st.batch)
        self.tracker = make_tracker(st.tracker, fps=fps / k, lost_seconds=st.lost_seconds,
                                    activation=st.track_activation, high=st.track_high)
        self.linker = (ReentryLinker(min_iou=st.reentry_iou, max_shift=st.reentry_shift, max_colour=st.reentry_colour)
                       if st.reentry else None)
        self.enhancer = DarkFrameEnhancer(*st.dark_gate, enabled=st.enhance)
        pending: list[tuple[Frame, np.ndarray | None]] = []  # frames waiting for their batch's detections
        last_flush = time.monotonic()
        it = source.frames()

        def process(buf: list[tuple[Frame, np.ndarray | None]]) -> None:
            to_detect = [img for f, img in buf if img is not None]
            t0 = time.perf_counter()
            dets = self.detector(to_detect) if to_detect else []
            self.clock.add("detect", time.perf_counter() - t0, len(to_detect))
            j = 0
            for f, img in buf:
                if self.recogniser is not None:
                    self.recogniser.observe(f)
                if img is not None:
                    det = dets[j]
                    j += 1
                    sids = self._track(img, det, f.t)
                    self._behaviour(f.t, sids, det, (img.shape[1], img.shape[0]))
                    self.steps.append(Step(f.index, f.t, sids, det.boxes, det.class_ids, det.scores, img is not f.rgb))
                if sink is not None:
                    t0 = time.perf_counter()
                    sink.frame(self, f)
                    self.clock.add("outputs", time.perf_counter() - t0)
                self.frames_done += 1
                self.last_t = f.t
                if progress is not None:
                    progress(self, f)

        while True:
            t0 = time.perf_counter()
            f = next(it, None)
            self.clock.add("decode", time.perf_counter() - t0)
            if f is not None and st.max_seconds is not None and f.t >= st.max_seconds:
                f = None
            if f is None:
                break
            img = None
            if f.index % k == 0:
                t0 = time.perf_counter()
                img, dark = self.enhancer(f.rgb)
                self.clock.add("enhance", time.perf_counter() - t0)
                self.dark_frames += dark
                self.enhanced_frames += img is not f.rgb
            pending.append((f, img))
            if sum(x[1] is not None for x in pending) >= batch:
                process(pending)
                pending = []
                if sink is not None and time.monotonic() - last_flush >= st.flush_seconds:
                    t0 = time.perf_counter()
                    sink.flush(self, final=False)
                    self.clock.add("outputs", time.perf_counter() - t0)
                    last_flush = time.monotonic()
        if pending:
            process(pending)


class Sink:
    """Receives frames as they are processed and writes outputs (see :mod:`smartclass.analyze.outputs`)."""

    def frame(self, analyzer: Analyzer, frame: Frame) -> None: ...  # pragma: no cover - protocol

    def flush(self, analyzer: Analyzer, final: bool) -> None: ...  # pragma: no cover - protocol


def output_dir(path: str | Path) -> Path:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out '{p}': exists and is not a folder")
    p.mkdir(parents=True, exist_ok=True)
    return p
