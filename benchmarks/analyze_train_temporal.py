"""Train the track temporal model (paper 000's attention LSTM over a tracked student's per-step features,
:mod:`smartclass.models.track_temporal`) for analyze, on recorded SmartClass-Synth clips.

Data (``benchmarks/analyze_record.py``): *train*-split classrooms (detections of the shipped detector with
their class posteriors, ground-truth tracks and behaviours) to train on; *val*-split classrooms to choose the
epoch (the engine's best ``val_acc`` on ground-truth tracks), the window length and the posterior flattening
of :mod:`smartclass.training.track_temporal` (timeline accuracy of the
whole analyze pipeline — tracking settings of ``TRACKING_BY_DETECTOR``, the model, Viterbi — on the val
clips). The test split is never read. Each setting is trained by the training engine into
``--runs/w<window>-t<temperature>``; the chosen ``best.pt`` is copied with its config, history and a README to ``--ship``.

    python benchmarks/analyze_record.py --split train --clips 8 --seed 1000 --no-frames
    python benchmarks/analyze_record.py --split val --clips 2 --seed 100
    python benchmarks/analyze_tune.py --detector synth8
    python benchmarks/analyze_train_temporal.py --windows 16 32 --temperatures 1 3 --epochs 20 \
        --tracking-from benchmarks/results/analyze_tune_synth8.json --ship src/smartclass/checkpoints/track_temporal
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def val_timeline_accuracy(checkpoint: Path, records, detector: str, tracking: Path | None = None) -> float:
    """Mean timeline accuracy of the analyze pipeline with the model on recorded clips."""
    from smartclass.analyze.evaluate import evaluate
    from smartclass.analyze.outputs import build_timelines
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
    from smartclass.analyze.temporal import TrackBehaviourModel

    from analyze_tune import tracking_settings

    cut, tuned = tracking_settings(detector, tracking)
    model = TrackBehaviourModel(checkpoint)
    accs = []
    for r in records:
        replay = r.detector(f"detector:{detector}")
        replay.detections = [d.select(d.scores > (cut or 0.02)) for d in replay.detections]
        a = Analyzer(replay, AnalyzeSettings(**tuned, behaviour="temporal"), temporal=model)
        a.run(r.source())
        accs.append(evaluate(a, r.truth, build_timelines(a), r.fps)["timeline_accuracy"])
    return round(float(np.mean(accs)), 4)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path("out/analyze_cache"))
    p.add_argument("--detector", default="synth8", help="the detector the recorded clips were made with")
    p.add_argument("--windows", type=int, nargs="+", default=[8, 16, 32], help="window lengths (decisions) to try")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 3.0],
                   help="max temperatures of the posterior flattening to try (1: none)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=Path, default=Path("runs/track_temporal"))
    p.add_argument("--tracking-from", type=Path, default=None,
                   help="tracking settings: the 'chosen' of an analyze_tune result file (default: TRACKING_BY_DETECTOR)")
    p.add_argument("--ship", type=Path, default=None, help="copy the chosen model here as <detector>.pt "
                   "(e.g. src/smartclass/checkpoints/track_temporal)")
    args = p.parse_args(argv)

    import torch

    from smartclass.analyze.replay import ClipRecord, labelled_tracks
    from smartclass.bench import write_results
    from smartclass.checkpoint import read_checkpoint
    from smartclass.training.engine import Engine, EngineSettings
    from smartclass.training.track_temporal import TrackTemporalTask

    torch.set_num_threads(args.threads)
    train_paths = sorted((args.cache / "train").glob("*.npz"))
    val_paths = sorted((args.cache / "val").glob("*.npz"))
    if not train_paths or not val_paths:
        raise SystemExit(f"no recorded train/val clips under {args.cache}; run benchmarks/analyze_record.py first")
    val_records = [ClipRecord.load(p) for p in val_paths]
    class_names = list(val_records[0].class_names)
    train = [t for p in train_paths for t in labelled_tracks(ClipRecord.load(p))]
    val = [t for r in val_records for t in labelled_tracks(r)]
    counts = np.bincount(np.concatenate([y[y >= 0] for _, y in train]), minlength=len(class_names))
    print(f"{len(train_paths)} train clips → {len(train)} tracks, {int(counts.sum())} labelled steps "
          f"({dict(zip(class_names, counts.tolist()))}); {len(val_paths)} val clips → {len(val)} tracks", flush=True)
    trials = []
    for w, temp in [(w, t) for w in args.windows for t in args.temperatures]:
        out = args.runs / f"w{w}-t{temp:g}"
        cfg = {"track_temporal": {"detector": args.detector, "window": w, "hidden": args.hidden, "dropout": args.dropout,
                                  "max_temperature": temp, "epochs": args.epochs,
                                  "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
                                  "train_clips": [p.name for p in train_paths], "val_clips": [p.name for p in val_paths]}}
        t0 = time.perf_counter()
        task = TrackTemporalTask(train, val, class_names, window=w, hidden=args.hidden, lr=args.lr,
                                 batch_size=args.batch_size, dropout=args.dropout, max_temperature=temp)
        engine = Engine(EngineSettings(epochs=args.epochs, monitor="val_acc", mode="max", seed=args.seed), out,
                        config=cfg, log=lambda m: print(m, flush=True))
        _, state = engine.fit(task)
        acc = val_timeline_accuracy(out / "best.pt", val_records, args.detector, args.tracking_from)
        trials.append({"window": w, "max_temperature": temp, "run": out.name, "best_epoch": state["best_epoch"], "val_acc": state["best"],
                       "val_timeline_accuracy": acc, "train_seconds": round(time.perf_counter() - t0, 1)})
        print(trials[-1], flush=True)
    best = max(trials, key=lambda r: r["val_timeline_accuracy"])
    print("chosen:", best)
    if args.ship is not None:
        src = args.runs / best["run"]
        args.ship.mkdir(parents=True, exist_ok=True)
        name = args.detector
        shutil.copyfile(src / "best.pt", args.ship / f"{name}.pt")
        ck = read_checkpoint(args.ship / f"{name}.pt", "track_temporal")
        import yaml

        (args.ship / f"{name}.config.yaml").write_text(yaml.safe_dump(ck["config"], sort_keys=False))
        (args.ship / f"{name}.history.json").write_text(json.dumps(ck["history"], indent=1))
    write_results(f"analyze_temporal_{args.detector}", {"detector": args.detector, "classes": class_names,
                                                       "train_clips": len(train_paths), "train_tracks": len(train),
                                                       "train_steps_per_class": dict(zip(class_names, counts.tolist())),
                                                       "val_clips": len(val_paths), "trials": trials, "chosen": best})
    return 0


if __name__ == "__main__":
    sys.exit(main())
