"""Choose analyze's tracking thresholds for a detector on the SmartClass-Synth *validation* split (never the
test split): a small grid search over recorded clips (``benchmarks/analyze_record.py --split val``).

Stage 1: the detector score cut × ByteTrack's track activation × its high/low split (``high ≥ activation``),
with the other settings at their defaults. Stage 2, at the best of stage 1: how long a lost track is kept ×
the re-entry linker (off, or its colour / place tolerances). Stage 3, at the best of stage 2: the duplicate
suppression (:mod:`smartclass.tracking.duplicates`, off or its overlap threshold). Objective: the mean of IDF1
and MOTA over the clips (identity kept and boxes right); the timeline accuracy of the window pipeline is
reported, and used only in stage 3 as a guard (a threshold that lowers it by more than 0.005 against no
suppression is not taken: a duplicate held back can be the right box of a student).
The chosen values go into ``TRACKING_BY_DETECTOR`` (:mod:`smartclass.analyze.pipeline`) by hand, with this
file's results as their record.

    python benchmarks/analyze_tune.py --detector synth8
    python benchmarks/analyze_tune.py --detector synth8 --stage3-only   # from TRACKING_BY_DETECTOR's row
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

SCORE_CUTS = (0.02, 0.05, 0.1, 0.2)
ACTIVATIONS = (0.08, 0.15, 0.25, 0.4)
HIGHS = (0.15, 0.3, 0.5, 0.7)
LOST = (3.0, 1.5, 5.0)  # the default first: on a tie the earlier trial is kept
REENTRY = ({}, {"reentry": False}, {"reentry_colour": 0.3}, {"reentry_colour": 0.6, "reentry_shift": 1.0})
DUPLICATES = (1.0, 0.9, 0.8, 0.7, 0.6)  # 1.0: off


def tracking_settings(detector: str, results: Path | None = None) -> tuple[float | None, dict]:
    """``(score cut, AnalyzeSettings overrides)``: the ``chosen`` of a result file of this script, else the
    detector's row of ``TRACKING_BY_DETECTOR``."""
    from smartclass.analyze.pipeline import tracking_for

    if results is None:
        return tracking_for(detector)
    import json

    chosen = dict(json.loads(Path(results).read_text())["results"]["chosen"])
    return chosen.pop("score_threshold", None), chosen


def load_records(cache: Path, split: str, score_cut: float):
    from smartclass.analyze.replay import ClipRecord

    recs = [ClipRecord.load(p) for p in sorted((cache / split).glob("*.npz"))]
    for r in recs:
        r.detections = [d.select(d.scores >= score_cut) for d in r.detections]
    return recs


def score(recs, settings: dict) -> dict:
    """Mean tracking metrics and window-pipeline timeline accuracy over the recorded clips."""
    from smartclass.analyze.evaluate import evaluate
    from smartclass.analyze.outputs import build_timelines
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer

    rows = []
    for r in recs:
        a = Analyzer(r.detector(), AnalyzeSettings(**settings))
        a.run(r.source())
        tl = build_timelines(a)
        ev = evaluate(a, r.truth, tl, r.fps)
        rows.append({**{k: ev["tracking"][k] for k in ("idf1", "mota", "id_switches")},
                     "timeline_accuracy": ev["timeline_accuracy"], "ids": len(tl)})
    m = {k: round(float(np.mean([x[k] for x in rows])), 4) for k in ("idf1", "mota", "timeline_accuracy", "ids")}
    m["id_switches"] = int(sum(x["id_switches"] for x in rows))
    m["objective"] = round((m["idf1"] + m["mota"]) / 2, 4)
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path("out/analyze_cache"))
    p.add_argument("--split", default="val", choices=("val",), help="only the validation split chooses settings")
    p.add_argument("--detector", default="synth8", help="the detector the recorded clips were made with")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--stage3-only", action="store_true",
                   help="only stage 3, from the detector's TRACKING_BY_DETECTOR row (results: analyze_tune_<det>_stage3)")
    args = p.parse_args(argv)

    import torch

    from smartclass.bench import print_table, write_results

    torch.set_num_threads(args.threads)
    trials = []
    cache: dict[float, list] = {}

    def trial(stage: int, cut: float, settings: dict) -> dict:
        if cut not in cache:
            cache[cut] = load_records(args.cache, args.split, cut)
        t0 = time.perf_counter()
        m = score(cache[cut], settings)
        row = {"stage": stage, "score_threshold": cut, **settings, **m, "seconds": round(time.perf_counter() - t0, 1)}
        trials.append(row)
        print(row, flush=True)
        return row

    keys = ("track_activation", "track_high", "lost_seconds", "reentry", "reentry_colour", "reentry_shift")
    if args.stage3_only:
        cut, row = tracking_settings(args.detector)
        row.pop("duplicate_overlap", None)
        best = {"score_threshold": cut, **row}
    else:
        for cut, act, high in itertools.product(SCORE_CUTS, ACTIVATIONS, HIGHS):
            if high >= act:
                trial(1, cut, {"track_activation": act, "track_high": high})
        best1 = max(trials, key=lambda r: r["objective"])
        base = {"track_activation": best1["track_activation"], "track_high": best1["track_high"]}
        for lost, re in itertools.product(LOST, REENTRY):
            trial(2, best1["score_threshold"], {**base, "lost_seconds": lost, **re})
        best = max(trials, key=lambda r: r["objective"])
    stage2 = {k: best[k] for k in keys if k in best}
    stage3 = [trial(3, best["score_threshold"], {**stage2, "duplicate_overlap": d}) for d in DUPLICATES]
    guard = stage3[0]["timeline_accuracy"] - 0.005
    best = max([r for r in stage3 if r["timeline_accuracy"] >= guard], key=lambda r: r["objective"])
    chosen = {"score_threshold": best["score_threshold"], **{k: best[k] for k in keys + ("duplicate_overlap",) if k in best}}
    cols = ["stage", "score_threshold", "track_activation", "track_high", "lost_seconds", "reentry", "reentry_colour",
            "reentry_shift", "duplicate_overlap", "idf1", "mota", "id_switches", "ids", "timeline_accuracy", "objective"]
    print_table([{c: r.get(c, "") for c in cols} for r in sorted(trials, key=lambda r: -r["objective"])[:15]], cols,
                title=f"tracking settings for {args.detector} on the {args.split} split (best 15)")
    print("chosen:", chosen)
    n = len(list((args.cache / args.split).glob("*.npz")))
    write_results(f"analyze_tune_{args.detector}" + ("_stage3" if args.stage3_only else ""), {"detector": args.detector, "split": args.split, "clips": n,
                                                   "objective": "(IDF1 + MOTA) / 2, mean over clips",
                                                   "chosen": chosen, "best": best, "trials": trials})
    return 0


if __name__ == "__main__":
    sys.exit(main())
