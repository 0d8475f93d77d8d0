"""Recorded detections of a synthetic clip, replayed to the pipeline: for settings searches, benchmarks and the
training data of the track temporal model, where the same clip is analysed many times.

:func:`record_clip` renders a ``synth:classroom`` clip once, runs the detector on every ``stride``-th frame
(after the same dark-frame enhancement :class:`~smartclass.analyze.pipeline.Analyzer` applies) and keeps the
detections (with each box's class posterior), the ground truth and, optionally, the detected frames
themselves (the re-entry linker reads colours from them). :meth:`ClipRecord.save` / :meth:`ClipRecord.load`
store it as one ``.npz``. :meth:`ClipRecord.source` and :meth:`ClipRecord.detector` replay it: a
:class:`~smartclass.analyze.sources.Source` whose detection frames are the recorded ones (the frames between
are never read without a sink) and a :class:`~smartclass.analyze.detector.Detector` that returns the recorded
detections in order.

Shapes: ``frames (S, H, W, 3)`` uint8 for the ``S`` detection steps (or none), detections concatenated over
steps (``boxes (D, 4)``, ``scores (D,)``, ``class_ids (D,)``, ``probs (D, C)``) with ``offsets (S + 1,)``;
truth ``boxes (K, T, 4)``, ``behaviour (K, T)``, ``visible (K, T)`` for ``K`` students and ``T`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from smartclass.analyze.detector import Detections
from smartclass.analyze.sources import Frame, Source, SynthTruth
from smartclass.errors import InputError


@dataclass
class ClipRecord:
    """One recorded clip (see the module doc)."""

    spec: str
    fps: float
    width: int
    height: int
    num_frames: int
    stride: int
    detections: list[Detections]
    truth: SynthTruth
    class_names: tuple[str, ...]
    frames: np.ndarray | None = None

    @property
    def indices(self) -> np.ndarray:
        """Frame index of each detection step."""
        return np.arange(0, self.num_frames, self.stride)[: len(self.detections)]

    def source(self) -> Source:
        """The clip as a source: recorded frames at the detection steps, a shared blank frame elsewhere."""
        if self.frames is None:
            raise InputError(f"recorded clip '{self.spec}' was saved without frames; record it with frames=True")
        blank = np.zeros((self.height, self.width, 3), np.uint8)
        frames, fps, k = self.frames, self.fps, self.stride

        def gen() -> Iterator[Frame]:
            for i in range(self.num_frames):
                yield Frame(i, i / fps, frames[i // k] if i % k == 0 else blank)

        return Source("synth", self.spec, fps, self.width, self.height, self.num_frames, gen, truth=self.truth,
                      extra={"condition": self.truth.condition, "replayed": True})

    def detector(self, name: str = "replay", version: str = "") -> "ReplayDetector":
        return ReplayDetector(self.detections, self.class_names, name, version)

    def save(self, path: str | Path) -> Path:
        from smartclass.io import atomic_path

        d = self.detections
        cat = lambda key, shape: (np.concatenate([getattr(x, key) for x in d]) if d else np.zeros(shape))  # noqa: E731
        C = len(self.class_names)
        probs = [x.probs if x.probs is not None else np.eye(C, dtype=np.float32)[x.class_ids] for x in d]
        arrays = dict(
            meta=np.array([self.spec, self.truth.condition, *self.class_names]),
            numbers=np.array([self.fps, self.width, self.height, self.num_frames, self.stride], np.float64),
            offsets=np.cumsum([0] + [len(x) for x in d]),
            boxes=cat("boxes", (0, 4)), scores=cat("scores", (0,)), class_ids=cat("class_ids", (0,)),
            probs=np.concatenate(probs) if d else np.zeros((0, C)),
            truth_boxes=np.stack(self.truth.boxes), truth_behaviour=np.stack(self.truth.behaviour),
            truth_visible=np.stack(self.truth.visible), subjects=np.asarray(self.truth.subjects),
        )
        if self.frames is not None:
            arrays["frames"] = self.frames
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return path

    @staticmethod
    def load(path: str | Path) -> "ClipRecord":
        try:
            z = np.load(path, allow_pickle=False)
            meta, num = [str(x) for x in z["meta"]], z["numbers"]
            off = z["offsets"]
            dets = [Detections(z["boxes"][a:b], z["scores"][a:b], z["class_ids"][a:b], z["probs"][a:b])
                    for a, b in zip(off[:-1], off[1:])]
            truth = SynthTruth(list(z["truth_boxes"]), list(z["truth_behaviour"]), list(z["truth_visible"].astype(bool)),
                               [int(s) for s in z["subjects"]], meta[1])
            frames = z["frames"] if "frames" in z.files else None
        except (OSError, KeyError, ValueError) as e:
            raise InputError(f"recorded clip '{path}': not a readable record ({e})") from None
        return ClipRecord(meta[0], float(num[0]), int(num[1]), int(num[2]), int(num[3]), int(num[4]), dets, truth,
                          tuple(meta[2:]), frames)


class ReplayDetector:
    """A :class:`~smartclass.analyze.detector.Detector` that returns recorded detections in call order;
    :meth:`rewind` starts again from the first."""

    head_fraction = 0.3

    def __init__(self, detections: Sequence[Detections], class_names: Sequence[str], name: str = "replay",
                 version: str = "") -> None:
        self.detections, self.class_names = list(detections), tuple(class_names)
        self.name, self.version = name, version
        self.pos = 0

    def rewind(self) -> None:
        self.pos = 0

    def __call__(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        n = len(frames)
        if self.pos + n > len(self.detections):
            raise InputError(f"replayed detector: asked for step {self.pos + n}, only {len(self.detections)} recorded")
        out = self.detections[self.pos:self.pos + n]
        self.pos += n
        return out


def record_clip(spec: str | Source, detector, stride: int | None = None, frames: bool = True, batch: int = 4,
                dark_gate: tuple[float, float] | None = None) -> ClipRecord:
    """Render ``spec`` (a ``synth:classroom`` source, or one already opened) and detect on every ``stride``-th
    frame (default: the pipeline's, ⌊fps/3⌋), enhancing dark frames first as the pipeline does."""
    from smartclass.analyze.lowlight import ANALYZE_GATE, DarkFrameEnhancer
    from smartclass.analyze.sources import synth_source

    src = synth_source(spec) if isinstance(spec, str) else spec
    if src.truth is None:
        raise InputError(f"record_clip: '{src.name}' carries no ground truth (a synth: source does)")
    k = stride or max(1, int(src.fps // 3.0))
    enhancer = DarkFrameEnhancer(*(dark_gate or ANALYZE_GATE))
    kept, dets, todo = [], [], []
    for f in src.frames():
        if f.index % k:
            continue
        kept.append(f.rgb)
        todo.append(enhancer(f.rgb)[0])
        if len(todo) >= batch:
            dets += detector(todo)
            todo = []
    if todo:
        dets += detector(todo)
    return ClipRecord(src.name, src.fps, src.width, src.height, src.length, k, dets, src.truth,
                      tuple(detector.class_names), np.stack(kept) if frames else None)


def labelled_tracks(record: ClipRecord, min_iou: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ground-truth tracks of a recorded clip as training data of the track temporal model: at each
    detection step every visible student is matched to a detection (Hungarian on IoU, IoU ≥ ``min_iou``);
    per student, the matched detections' features (:func:`smartclass.models.track_temporal.track_features`) and
    the student's behaviour at those steps as an index into the detector's classes (``-1``: not one of them).
    Students matched at fewer than two steps are left out."""
    from scipy.optimize import linear_sum_assignment

    from smartclass.analyze.evaluate import truth_names
    from smartclass.models.track_temporal import track_features
    from smartclass.tracking.base import box_iou

    truth, names = record.truth, record.class_names
    K = len(truth.boxes)
    hits: list[list[tuple[float, np.ndarray, float, np.ndarray]]] = [[] for _ in range(K)]
    labels: list[list[int]] = [[] for _ in range(K)]
    gt_names = [truth_names(truth.behaviour[k], names) for k in range(K)]
    for step, (i, det) in enumerate(zip(record.indices, record.detections)):
        ks = [k for k in range(K) if truth.visible[k][i]]
        if not ks or not len(det):
            continue
        iou = box_iou(np.stack([truth.boxes[k][i] for k in ks]), det.boxes)
        rows, cols = linear_sum_assignment(-iou)
        C = len(names)
        for r, c in zip(rows, cols):
            if iou[r, c] < min_iou:
                continue
            k = ks[r]
            p = det.probs[c] if det.probs is not None else np.eye(C, dtype=np.float32)[det.class_ids[c]]
            hits[k].append((i / record.fps, det.boxes[c], float(det.scores[c]), p))
            name = gt_names[k][i]
            labels[k].append(names.index(name) if name in names else -1)
    out = []
    for k in range(K):
        if len(hits[k]) < 2:
            continue
        t, b, s, p = (np.asarray(x) for x in zip(*hits[k]))
        out.append((track_features(t, b, s, p, (record.width, record.height)), np.asarray(labels[k], int)))
    return out


def labelled_decisions(analyzer, truth: SynthTruth, min_iou: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitting data of the track–recogniser fusion from a finished analysis with a recogniser (and no
    fusion): at every detection step each tracked box is matched to a visible ground-truth student (Hungarian on
    IoU, IoU ≥ ``min_iou``); every matched decision where the recogniser has run gives ``(p_track (C,), p_rec
    (F,), label)``, the label an index into the detector's classes (decisions whose truth has no such class are
    left out). Returns ``p_track (M, C)``, ``p_rec (M, F)``, ``labels (M,)``."""
    from scipy.optimize import linear_sum_assignment

    from smartclass.analyze.evaluate import truth_names
    from smartclass.tracking.base import box_iou

    names = tuple(analyzer.detector.class_names)
    K = len(truth.boxes)
    gt_names = [truth_names(truth.behaviour[k], names) for k in range(K)]
    pos = {sid: {t: i for i, t in enumerate(r.times)} for sid, r in analyzer.records.items()}
    pt, pr, ys = [], [], []
    for s in analyzer.steps:
        keep = np.flatnonzero(s.sids >= 0)
        ks = [k for k in range(K) if truth.visible[k][s.index]]
        if not len(keep) or not ks:
            continue
        iou = box_iou(np.stack([truth.boxes[k][s.index] for k in ks]), np.asarray(s.boxes)[keep])
        for r, c in zip(*linear_sum_assignment(-iou)):
            name = gt_names[ks[r]][s.index]
            if iou[r, c] < min_iou or name not in names:
                continue
            rec = analyzer.records[int(s.sids[keep[c]])]
            i = pos[rec.sid].get(s.t)
            if i is None or rec.rec_probs[i] is None:
                continue
            pt.append(rec.probs[i])
            pr.append(rec.rec_probs[i])
            ys.append(names.index(name))
    C = len(names)
    F = len(analyzer.recogniser.class_names) if getattr(analyzer, "recogniser", None) is not None else 0
    if not ys:
        return np.zeros((0, C)), np.zeros((0, F)), np.zeros(0, int)
    return np.stack(pt), np.stack(pr), np.asarray(ys, int)
