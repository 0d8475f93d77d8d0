"""``smartclass analyze`` against SmartClass-Synth ground truth: timeline accuracy and tracking quality, with
simpler pipelines in the same run.

Test set: the *test* split (subjects disjoint from training), ``--clips`` clips per condition for all four
conditions (normal, low_light, occlusion, movement), ``--students`` students, ``--seconds`` at 10 fps. Each
clip is recorded once (``benchmarks/analyze_record.py``: rendered, the detector — default the shipped ``synth8``
— run on every ``detect_every``-th frame, cached under ``--cache``) and its detections replayed to every
pipeline, so the pipelines differ only in what they do with the same detections:

* ``temporal`` — ByteTrack + re-entry linker (tracking settings of ``TRACKING_BY_DETECTOR``, chosen on the val
  split) + the track temporal model (attention LSTM, ``track_temporal/synth8``) + sticky-HMM Viterbi;
* ``full`` — the same tracks + sliding-window vote of the detector's classes + Viterbi (no learned model);
* ``per-frame`` — the same tracks, each decision the detector's own label at that frame (no window, no
  smoothing);
* ``iou-tracker`` — the IoU tracker (no motion model, no low-score stage, no re-entry, no duplicate
  suppression) instead of ByteTrack, with the window behaviour stage;
* ``full-untuned`` — ``full`` with the hand-set tracking settings used before the val-split search (score cut
  0.02, activation 0.08, high 0.15, lost 3 s, default re-entry linker);
* ``recogniser`` — ``temporal`` plus paper 002's trimodal recogniser on every tracked student's RGB, depth and
  thermal crops (once a second), fused with the track's probabilities by the shipped fusion
  (``track_fusion/synth8``, fitted on val classrooms); the clip is rendered again for its frames and paired
  cameras, the detections still replayed;
* ``recogniser-rgb`` — the same with the depth and thermal cameras removed (the recogniser on RGB crops only,
  the same fusion).

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analyze_record import CONDITIONS, add_clip_arguments  # noqa: E402

UNTUNED = {"score_threshold": 0.02, "track_activation": 0.08, "track_high": 0.15, "lost_seconds": 3.0}


def pipelines(tuned: dict, temporal: bool, recogniser: bool = False) -> dict[str, dict]:
    """Pipeline name → AnalyzeSettings overrides plus ``score_threshold`` (and ``recogniser``: the cameras the
    recogniser reads, where it runs)."""
    out = {"temporal": {**tuned, "behaviour": "temporal"}} if temporal else {}
    if temporal and recogniser:
        out["recogniser"] = {**tuned, "behaviour": "temporal", "recogniser": ("depth", "thermal")}
        out["recogniser-rgb"] = {**tuned, "behaviour": "temporal", "recogniser": ()}
    out.update({"full": dict(tuned), "per-frame": {**tuned, "smoothing": "none", "window": 1e-3},
                "iou-tracker": {**tuned, "tracker": "iou", "reentry": False, "duplicate_overlap": 1.0}, "full-untuned": dict(UNTUNED)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="detector checkpoint (default: shipped synth8)")
    p.add_argument("--temporal-model", type=Path, default=None,
                   help="track temporal model (default: the shipped one for the detector, if any)")
    p.add_argument("--split", default="test", help="test (report) or val (choose settings)")
    add_clip_arguments(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="AnalyzeSettings override for every pipeline, e.g. window=2")
    p.add_argument("--tracking-from", type=Path, default=None,
                   help="tracking settings: the 'chosen' of an analyze_tune result file (default: TRACKING_BY_DETECTOR)")
    p.add_argument("--fusion", type=Path, default=None,
                   help="track–recogniser fusion (default: the shipped one for the detector; none: no recogniser pipelines)")
    p.add_argument("--no-recogniser", action="store_true", help="leave out the recogniser pipelines (faster)")
    p.add_argument("--name", default="analyze_synth")
    args = p.parse_args(argv)

    import torch

    from analyze_record import clip_path, clip_spec
    from analyze_tune import tracking_settings

    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.evaluate import evaluate
    from smartclass.analyze.outputs import build_timelines
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
    from smartclass.analyze.recognise import ANALYZE_RECOGNISER, Fusion, TrackRecogniser, default_fusion
    from smartclass.analyze.replay import ClipRecord, record_clip
    from smartclass.analyze.sources import keep_modalities, synth_source
    from smartclass.inference import shipped_checkpoint
    from smartclass.analyze.temporal import TrackBehaviourModel, default_temporal_model
    from smartclass.bench import print_table, write_results
    from smartclass.commands.analyze import default_checkpoint

    torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        default = getattr(AnalyzeSettings(), key)
        overrides[key] = type(default)(value)
    ckpt = args.checkpoint or default_checkpoint("synth")
    det = None
    cut, tuned = tracking_settings(Path(ckpt).stem, args.tracking_from)
    tuned = {"score_threshold": 0.02 if cut is None else cut, **tuned}
    tm_path = args.temporal_model or default_temporal_model(Path(ckpt).stem)
    temporal = TrackBehaviourModel(tm_path) if tm_path else None
    fusion_path = None if args.no_recogniser else (args.fusion or default_fusion(Path(ckpt).stem))
    fusion = Fusion(fusion_path) if fusion_path else None
    chosen = pipelines(tuned, temporal is not None, fusion is not None)
    runs = []
    for ci, cond in enumerate(CONDITIONS):
        for j in range(args.clips):
            spec = clip_spec(args.split, args.students, args.seconds, args.fps, cond, args.seed + j)
            path = clip_path(args.cache, args.split, cond, args.seed + j)
            rec = ClipRecord.load(path) if path.is_file() and args.checkpoint is None else None
            if rec is None or rec.spec != spec:
                det = det or CheckpointDetector(ckpt, threads=args.threads, score_threshold=0.01)
                rec = record_clip(spec, det)
                if args.checkpoint is None:
                    rec.save(path)
            for name, kw in chosen.items():
                kw = {**overrides, **kw}
                cut = kw.pop("score_threshold")
                cameras = kw.pop("recogniser", None)
                replay = rec.detector(f"detector:{Path(ckpt).stem}")
                replay.detections = [d.select(d.scores > cut) for d in replay.detections]
                t0 = time.perf_counter()
                src, recogniser = rec.source(), None
                if cameras is not None:  # rendered again: the recogniser reads every frame and the paired cameras
                    src = keep_modalities(synth_source(rec.spec), cameras)
                    recogniser = TrackRecogniser(shipped_checkpoint(ANALYZE_RECOGNISER), cameras=src.cameras)
                a = Analyzer(replay, AnalyzeSettings(**kw), temporal=temporal if kw.get("behaviour") == "temporal" else None,
                             recogniser=recogniser, fusion=fusion if recogniser is not None else None)
                a.run(src)
                timelines = build_timelines(a)
                ev = evaluate(a, rec.truth, timelines, rec.fps)
                runs.append({"condition": cond, "clip": spec, "pipeline": name, "students": args.students,
                             "timeline_accuracy": ev["timeline_accuracy"], **ev["tracking"],
                             "students_seen": len(timelines), "seconds": round(time.perf_counter() - t0, 2)})
                print(f"{cond:9s} clip {j} {name:12s} acc {ev['timeline_accuracy']} idf1 {ev['tracking']['idf1']} "
                      f"mota {ev['tracking']['mota']} switches {ev['tracking']['id_switches']} ids {len(timelines)}",
                      flush=True)

    def mean(rows, key):
        vals = [r[key] for r in rows if r[key] is not None]
        return round(float(np.mean(vals)), 4) if vals else None

    names = list(chosen)
    summary, table = {}, []
    for name in names:
        for cond in CONDITIONS + ("all",):
            rows = [r for r in runs if r["pipeline"] == name and (cond == "all" or r["condition"] == cond)]
            agg = {"timeline_accuracy": mean(rows, "timeline_accuracy"), "idf1": mean(rows, "idf1"),
                   "mota": mean(rows, "mota"), "id_switches": int(sum(r["id_switches"] for r in rows)),
                   "precision": mean(rows, "precision"), "recall": mean(rows, "recall"),
                   "ids_per_clip": mean(rows, "students_seen"), "clips": len(rows)}
            summary.setdefault(name, {})[cond] = agg
            table.append({"pipeline": name, "condition": cond, **agg})
    print_table(table, ["pipeline", "condition", "timeline_accuracy", "idf1", "mota", "id_switches", "ids_per_clip",
                        "recall", "precision"],
                title=f"analyze on SmartClass-Synth {args.split} split (subject-disjoint)")
    write_results(args.name, {"checkpoint": str(ckpt), "detector": f"detector:{Path(ckpt).stem}",
                              "classes": list(rec.class_names), "temporal_model": str(tm_path) if tm_path else None,
                              "fusion": str(fusion_path) if fusion_path else None,
                              "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
                              | {"checkpoint": str(ckpt), "temporal_model": str(tm_path) if tm_path else None,
                                 "tracking": tuned},
                              "pipelines": {k: {**v, **({"recogniser": list(v["recogniser"])} if "recogniser" in v else {})}
                                            for k, v in chosen.items()},
                              "summary": summary, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
