"""``smartclass analyze`` against SmartClass-Synth ground truth: timeline accuracy and tracking quality, with
two simpler pipelines in the same run.

Test set: the *test* split (subjects disjoint from training), ``--clips`` clips per condition for all four
conditions (normal, low_light, occlusion, movement), ``--students`` students, ``--seconds`` at 10 fps. The
detector (default: the shipped ``synth8``, paper 000's 8 classes) runs once per clip on every
``detect_every``-th frame; its detections are cached and replayed to each pipeline, so the pipelines differ
only in what they do with the same detections:

* ``full`` — ByteTrack + re-entry linker + sliding-window behaviour + sticky-HMM Viterbi + minimum durations;
* ``per-frame`` — the same tracks, each decision the detector's own label at that frame (no window, no
  smoothing);
* ``iou-tracker`` — the IoU tracker (no motion model, no low-score stage, no re-entry) instead of ByteTrack,
  with the full behaviour stage.

Metrics (:mod:`smartclass.analyze.evaluate`): frame-level timeline accuracy per student (mean over students),
MOTA, IDF1, id switches (``motmetrics``), per condition and overall.

    python benchmarks/analyze_synth.py [--checkpoint CKPT] [--clips 2] [--students 8] [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

CONDITIONS = ("normal", "low_light", "occlusion", "movement")
PIPELINES = {
    "full": {},
    "per-frame": {"smoothing": "none", "window": 1e-3},
    "iou-tracker": {"tracker": "iou", "reentry": False},
}


class CachedDetector:
    """Runs ``inner`` once per frame index and replays its detections afterwards (same order of calls)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.version = inner.name, inner.version
        self.class_names, self.head_fraction = inner.class_names, inner.head_fraction
        self.cache: list = []
        self.pos = 0
        self.seconds = 0.0

    def rewind(self) -> None:
        self.pos = 0

    def __call__(self, frames):
        n = len(frames)
        if self.pos + n > len(self.cache):
            t0 = time.perf_counter()
            self.cache += self.inner(frames)
            self.seconds += time.perf_counter() - t0
        out = self.cache[self.pos:self.pos + n]
        self.pos += n
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="detector checkpoint (default: shipped synth8)")
    p.add_argument("--clips", type=int, default=2, help="clips per condition")
    p.add_argument("--students", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--score-threshold", type=float, default=0.02, help="detector score cut before tracking")
    p.add_argument("--split", default="test", help="test (report) or val (choose settings)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="AnalyzeSettings override for every pipeline, e.g. track_activation=0.3")
    p.add_argument("--name", default="analyze_synth")
    args = p.parse_args(argv)

    import torch

    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.evaluate import evaluate
    from smartclass.analyze.outputs import build_timelines
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
    from smartclass.analyze.sources import synth_source
    from smartclass.bench import print_table, write_results
    from smartclass.commands.analyze import default_checkpoint

    torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        default = getattr(AnalyzeSettings(), key)
        overrides[key] = type(default)(value)
    ckpt = args.checkpoint or default_checkpoint("synth")
    det = CheckpointDetector(ckpt, threads=args.threads, score_threshold=args.score_threshold)
    runs = []
    for ci, cond in enumerate(CONDITIONS):
        for j in range(args.clips):
            spec = (f"synth:classroom,split={args.split},students={args.students},seconds={args.seconds},fps={args.fps},"
                    f"conditions={cond},seed={args.seed + j}")
            t0 = time.perf_counter()
            src = synth_source(spec)
            render_s = time.perf_counter() - t0
            cached = CachedDetector(det)
            for name, kw in PIPELINES.items():
                cached.rewind()
                a = Analyzer(cached, AnalyzeSettings(**{**overrides, **kw}))
                a.run(src)
                ev = evaluate(a, src.truth, build_timelines(a), src.fps)
                runs.append({"condition": cond, "clip": spec, "pipeline": name, "students": args.students,
                             "timeline_accuracy": ev["timeline_accuracy"], **ev["tracking"],
                             "students_seen": len(build_timelines(a))})
                print(f"{cond:9s} clip {j} {name:11s} acc {ev['timeline_accuracy']} idf1 {ev['tracking']['idf1']} "
                      f"mota {ev['tracking']['mota']} switches {ev['tracking']['id_switches']}", flush=True)
            runs[-1]["render_s"] = round(render_s, 2)
            runs[-1]["detect_s"] = round(cached.seconds, 2)

    def mean(rows, key):
        vals = [r[key] for r in rows if r[key] is not None]
        return round(float(np.mean(vals)), 4) if vals else None

    summary, table = {}, []
    for name in PIPELINES:
        for cond in CONDITIONS + ("all",):
            rows = [r for r in runs if r["pipeline"] == name and (cond == "all" or r["condition"] == cond)]
            agg = {"timeline_accuracy": mean(rows, "timeline_accuracy"), "idf1": mean(rows, "idf1"),
                   "mota": mean(rows, "mota"), "id_switches": int(sum(r["id_switches"] for r in rows)),
                   "precision": mean(rows, "precision"), "recall": mean(rows, "recall"), "clips": len(rows)}
            summary.setdefault(name, {})[cond] = agg
            table.append({"pipeline": name, "condition": cond, **agg})
    print_table(table, ["pipeline", "condition", "timeline_accuracy", "idf1", "mota", "id_switches", "recall", "precision"],
                title=f"analyze on SmartClass-Synth {args.split} split (subject-disjoint)")
    write_results(args.name, {"checkpoint": str(ckpt), "detector": det.name, "classes": list(det.class_names),
                              "settings": vars(args) | {"checkpoint": str(ckpt)}, "pipelines": {k: v or "default"
                              for k, v in PIPELINES.items()}, "summary": summary, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
