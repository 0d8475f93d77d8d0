"""Scoring an analysis against synthetic ground truth (:class:`~smartclass.analyze.sources.SynthTruth`).

* Tracking (``motmetrics``, the py-motmetrics library of the MOTChallenge): at every detection step, ground
  truth = the boxes of the students with a visible keypoint, hypotheses = the tracked students' boxes and
  ids; distance ``1 − IoU``, matches need IoU ≥ 0.5. Reports MOTA, IDF1, id switches, precision, recall.
* Timeline accuracy: each ground-truth student is paired with the predicted id matched to it most often;
  on every frame where the student is visible, the timeline's behaviour at that time (the interval covering
  it; none = wrong) is compared with the ground-truth behaviour in the detector's vocabulary (paper 000's 8
  classes for a ``synth8`` detector). Per student accuracy = correct / visible frames; reported per student
  and as the mean over students.
"""

from __future__ import annotations

import numpy as np

from smartclass.analyze.pipeline import Analyzer
from smartclass.analyze.sources import SynthTruth
from smartclass.tracking.base import box_iou
from smartclass.labels import BEHAVIOURS, COARSE_CLASSES, COARSE_OF, FINE_CLASSES, FINE_OF


def truth_names(truth_behaviour: np.ndarray, class_names: tuple[str, ...]) -> list[str | None]:
    """Ground-truth behaviour indices (``BEHAVIOURS``) as names of the detector's vocabulary (None where it
    has no such class)."""
    names = tuple(class_names)
    out: list[str | None] = []
    for b in truth_behaviour:
        name = BEHAVIOURS[int(b)]
        if names == COARSE_CLASSES:
            out.append(COARSE_CLASSES[COARSE_OF[name]])
        elif names == FINE_CLASSES:
            out.append(FINE_CLASSES[FINE_OF[name]] if FINE_OF[name] >= 0 else None)
        else:
            out.append(name if name in names else None)
    return out


def mot_metrics(analyzer: Analyzer, truth: SynthTruth, min_iou: float = 0.5) -> tuple[dict, dict[int, int]]:
    """MOTA, IDF1, id switches…, and the ground-truth student → predicted id pairing (most frequent match)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    pairs: dict[int, dict[int, int]] = {}
    for s in analyzer.steps:
        i = s.index
        gt_ids = [k for k in range(len(truth.boxes)) if i < len(truth.boxes[k]) and truth.visible[k][i]]
        gt = np.array([truth.boxes[k][i] for k in gt_ids]).reshape(-1, 4)
        keep = s.sids >= 0
        hyp_ids = [int(x) for x in s.sids[keep]]
        hyp = np.asarray(s.boxes)[keep].reshape(-1, 4)
        iou = box_iou(gt, hyp)  # motmetrics' own iou_matrix uses np.asfarray, gone in NumPy 2
        dist = np.where(iou >= min_iou, 1.0 - iou, np.nan)
        acc.update(gt_ids, hyp_ids, dist)
    ev = acc.mot_events
    if len(ev):
        for g, h in ev.loc[ev["Type"].isin(["MATCH", "SWITCH"]), ["OId", "HId"]].itertuples(index=False):
            pairs.setdefault(int(g), {})
            pairs[int(g)][int(h)] = pairs[int(g)].get(int(h), 0) + 1
    mh = mm.metrics.create()
    res = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "precision", "recall", "num_objects",
                                   "num_false_positives", "num_misses", "mostly_tracked"], name="run")
    row = res.loc["run"]
    clean = lambda v: None if v is None or not np.isfinite(float(v)) else round(float(v), 4)
    metrics = {"mota": clean(row["mota"]), "idf1": clean(row["idf1"]), "id_switches": int(row["num_switches"]),
               "precision": clean(row["precision"]), "recall": clean(row["recall"]),
               "gt_boxes": int(row["num_objects"]), "false_positives": int(row["num_false_positives"]),
               "misses": int(row["num_misses"]), "mostly_tracked": int(row["mostly_tracked"])}
    best = {g: max(h, key=h.get) for g, h in pairs.items()}
    return metrics, best


def timeline_accuracy(timelines: dict[int, list[dict]], truth: SynthTruth, pairing: dict[int, int],
                      class_names: tuple[str, ...], fps: float) -> dict:
    """Frame-level accuracy of the timelines per ground-truth student (see the module doc)."""
    per = {}
    for k in range(len(truth.boxes)):
        names = truth_names(truth.behaviour[k], class_names)
        vis = np.flatnonzero(truth.visible[k])
        vis = [i for i in vis if names[i] is not None]
        if not vis:
            continue
        items = timelines.get(pairing.get(k, -10**9), [])
        starts = np.array([it["start"] for it in items])
        correct = 0
        for i in vis:
            t = i / fps
            j = np.searchsorted(starts, t + 1e-6) - 1 if len(items) else -1
            if j >= 0 and items[j]["start"] - 1e-6 <= t < items[j]["end"] + 1e-6 and items[j]["behaviour"] == names[i]:
                correct += 1
        per[k] = round(correct / len(vis), 4)
    return {"mean": round(float(np.mean(list(per.values()))), 4) if per else None, "per_student": per}


def evaluate(analyzer: Analyzer, truth: SynthTruth, timelines: dict[int, list[dict]], fps: float) -> dict:
    """Tracking metrics and timeline accuracy of one run."""
    mot, pairing = mot_metrics(analyzer, truth)
    acc = timeline_accuracy(timelines, truth, pairing, tuple(analyzer.detector.class_names), fps)
    return {"tracking": mot, "timeline_accuracy": acc["mean"], "timeline_accuracy_per_student": acc["per_student"],
            "pairing": {int(k): int(v) for k, v in pairing.items()}}
