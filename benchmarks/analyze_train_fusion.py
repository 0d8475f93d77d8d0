"""Fit the fusion of the track's behaviour probabilities with paper 002's trimodal recogniser's
(:mod:`smartclass.models.track_fusion`, :mod:`smartclass.analyze.recognise`) for analyze, on held-out
SmartClass-Synth classrooms.

Data: the recorded *val*-split clips of ``benchmarks/analyze_record.py`` (the track temporal model was trained
on the *train* split, so its probabilities here are as over- or under-confident as on unseen classrooms);
each clip is rendered again for its frames, depth and thermal, its recorded detections replayed, and the
pipeline (tracking settings of ``TRACKING_BY_DETECTOR``, the track temporal model, the recogniser every
``--every`` seconds, no fusion) run on it. Every decision of a track matched to a ground-truth student is one
sample (:func:`smartclass.analyze.replay.labelled_decisions`). Clips of the ``--fit-seeds`` are fitted on,
those of ``--val-seeds`` choose the epoch (lowest NLL) and report the decision accuracy with and without the
recogniser. The test split is never read. The chosen ``best.pt`` goes with its config, history and a README to
``--ship``.

    python benchmarks/analyze_record.py --split val --clips 2 --seed 100
    python benchmarks/analyze_train_fusion.py --ship src/smartclass/checkpoints/track_fusion
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


def collect(path: Path, detector: str, every: float, recogniser_ckpt, modalities: tuple[str, ...] | None = None):
    """``(p_track, p_rec, labels)`` of one recorded clip (module doc). ``modalities``: keep only these of
    depth/thermal (None: all the clip has)."""
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
    from smartclass.analyze.recognise import TrackRecogniser
    from smartclass.analyze.replay import ClipRecord, labelled_decisions
    from smartclass.analyze.sources import keep_modalities, synth_source
    from smartclass.analyze.temporal import TrackBehaviourModel, default_temporal_model

    from analyze_tune import tracking_settings

    rec = ClipRecord.load(path)
    cut, tuned = tracking_settings(detector)
    replay = rec.detector(f"detector:{detector}")
    replay.detections = [d.select(d.scores > (cut or 0.02)) for d in replay.detections]
    src = synth_source(rec.spec)
    if modalities is not None:
        src = keep_modalities(src, modalities)
    a = Analyzer(replay, AnalyzeSettings(**tuned, behaviour="temporal"),
                 temporal=TrackBehaviourModel(default_temporal_model(detector)),
                 recogniser=TrackRecogniser(recogniser_ckpt, every=every, cameras=src.cameras))
    a.run(src)
    return labelled_decisions(a, rec.truth)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path("out/analyze_cache"))
    p.add_argument("--detector", default="synth8")
    p.add_argument("--recogniser", type=Path, default=None, help="recogniser checkpoint (default: the one analyze runs, "
                   "analyze.recognise.ANALYZE_RECOGNISER)")
    p.add_argument("--fit-seeds", type=int, nargs="+", default=[100, 200])
    p.add_argument("--val-seeds", type=int, nargs="+", default=[101])
    p.add_argument("--every", type=float, default=1.0, help="seconds between two recognitions of a student")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--l2", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=Path, default=Path("runs/track_fusion"))
    p.add_argument("--decisions", type=Path, default=None,
                   help="cache of the collected decisions (.npz; default <runs>/decisions.npz): read if it holds "
                        "every clip, else collected and written")
    p.add_argument("--ship", type=Path, default=None, help="copy the fitted fusion here as <detector>.pt")
    args = p.parse_args(argv)

    import torch

    from smartclass.analyze.recognise import ANALYZE_RECOGNISER
    from smartclass.analyze.temporal import TrackBehaviourModel, default_temporal_model
    from smartclass.bench import write_results
    from smartclass.checkpoint import read_checkpoint
    from smartclass.inference import load_model, shipped_checkpoint
    from smartclass.io import atomic_path
    from smartclass.labels import class_names
    from smartclass.training.engine import Engine, EngineSettings
    from smartclass.training.track_fusion import TrackFusionTask

    torch.set_num_threads(args.threads)
    rec_ckpt = args.recogniser or shipped_checkpoint(ANALYZE_RECOGNISER)
    paths = sorted((args.cache / "val").glob("*.npz"))
    seed_of = lambda q: int(q.stem.rsplit("-", 1)[1])  # noqa: E731
    fit_paths = [q for q in paths if seed_of(q) in args.fit_seeds]
    val_paths = [q for q in paths if seed_of(q) in args.val_seeds]
    if not fit_paths or not val_paths:
        raise SystemExit(f"no recorded val clips of seeds {args.fit_seeds} / {args.val_seeds} under {args.cache}/val; "
                         "run benchmarks/analyze_record.py --split val first")
    t0 = time.perf_counter()
    cache = args.decisions or args.runs / "decisions.npz"
    data = {}
    if cache.is_file():
        z = np.load(cache)
        data = {q.name: tuple(z[f"{q.name}/{i}"] for i in range(3)) for q in fit_paths + val_paths
                if f"{q.name}/0" in z.files}
    for q in fit_paths + val_paths:
        if q.name not in data:
            data[q.name] = collect(q, args.detector, args.every, rec_ckpt)
            print(f"{q.name}: {len(data[q.name][2])} decisions ({time.perf_counter() - t0:.0f} s)", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **{f"{k}/{i}": v[i] for k, v in data.items() for i in range(3)})
    cat = lambda qs: tuple(np.concatenate([data[q.name][i] for q in qs]) for i in range(3))  # noqa: E731
    fit, val = cat(fit_paths), cat(val_paths)
    names = list(TrackBehaviourModel(default_temporal_model(args.detector)).class_names)
    _, info = load_model(rec_ckpt, expected="mmfg")
    fine = list(class_names(info["config"]["train"]["vocabulary"]))
    cfg = {"track_fusion": {"detector": args.detector,
                            "recogniser": str(args.recogniser) if args.recogniser else f"{ANALYZE_RECOGNISER} (shipped)",
                            "every_s": args.every,
                            "epochs": args.epochs, "lr": args.lr, "l2": args.l2, "seed": args.seed,
                            "fit_clips": [q.name for q in fit_paths], "val_clips": [q.name for q in val_paths],
                            "fit_decisions": int(len(fit[2])), "val_decisions": int(len(val[2]))}}
    task = TrackFusionTask(fit, val, names, fine, lr=args.lr, l2=args.l2)
    engine = Engine(EngineSettings(epochs=args.epochs, monitor="val_nll", mode="min", seed=args.seed), args.runs,
                    config=cfg, log=lambda m: print(m, flush=True))
    _, state = engine.fit(task)
    ck = read_checkpoint(args.runs / "best.pt", "track_fusion")
    best = {k: v for k, v in ck["history"][ck["epoch"] - 1].items()} if ck.get("epoch") else {}
    print("best epoch", state["best_epoch"], best)
    if args.ship is not None:
        import yaml

        args.ship.mkdir(parents=True, exist_ok=True)
        name = args.detector
        shutil.copyfile(args.runs / "best.pt", args.ship / f"{name}.pt")
        (args.ship / f"{name}.config.yaml").write_text(yaml.safe_dump(ck["config"], sort_keys=False))
        history = read_checkpoint(args.runs / "last.pt", "track_fusion")["history"]  # every epoch, not only to the best
        (args.ship / f"{name}.history.json").write_text(json.dumps(history, indent=1))
    write_results(f"analyze_fusion_{args.detector}",
                  {**cfg["track_fusion"], "classes": names, "recogniser_classes": fine, "best_epoch": state["best_epoch"],
                   "best": best, "seconds": round(time.perf_counter() - t0, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
