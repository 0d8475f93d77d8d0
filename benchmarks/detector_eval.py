"""Ship a trained detector run and score it: ``runs/detector/NAME/best.pt`` → ``checkpoints/detector/NAME.pt``
(fp16, with config.yaml, history.json and a README holding the reproducing commands), then ``smartclass
detect-eval`` on its evaluation split → ``benchmarks/results/detector_NAME_<split>.json`` (+ ``.pr.png``).

    python benchmarks/detector_eval.py cctv          # classroom-cctv valid/ (47 images)
    python benchmarks/detector_eval.py students7   # ClaBehavior's held-out fifth (72 images)
    python benchmarks/detector_eval.py synth8        # SmartClass-Synth test split (out/synth8_test, 40 clips × 3 frames)
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RUNS = {
    "cctv": {"box_kind": "head", "format": "yolo", "data": SHARED / "classroom-cctv" / "valid", "subset": "all",
             "split": "valid", "what": "classroom-cctv (Roboflow cctv-accurate, CC BY 4.0) train/ (477 images); "
                                       "scored on valid/ (47 images)"},
    "students7": {"box_kind": "student", "format": "coco", "data": SHARED / "clabehavior" / "train",
                    "subset": "heldout", "split": "heldout",
                    "what": "ClaBehavior train/ minus its deterministic held-out fifth (288 images); scored on the "
                            "held-out fifth (72 images: ids sorted, numpy default_rng(0) permutation, first 72)"},
    "synth8": {"box_kind": "student", "format": "smartclass", "data": ROOT / "out" / "synth8_test", "subset": "test",
               "split": "test", "what": "SmartClass-Synth, paper 000's 8 coarse classes, 320×240, train split "
                                        "(160 six-second samples × 3 frames, 12 subjects); scored on the "
                                        "subject-disjoint test split (40 samples × 3 frames)"},
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name", choices=sorted(RUNS))
    ap.add_argument("--run", type=Path, help="run folder (default runs/detector/NAME)")
    ap.add_argument("--no-ship", action="store_true", help="score the already shipped checkpoint")
    ap.add_argument("--val-conf", type=float, default=0.001, help="score threshold of the predictions scored for mAP")
    args = ap.parse_args(argv)
    spec = RUNS[args.name]
    run = args.run or ROOT / "runs" / "detector" / args.name
    dest = ROOT / "checkpoints" / "detector"
    ckpt = dest / f"{args.name}.pt"
    if not args.no_ship:
        from smartclass.training.detector import ship_checkpoint

        ship_checkpoint(run / "best.pt", ckpt, spec["box_kind"])
        for f in ("config.yaml", "history.json"):
            if (run / f).is_file():
                shutil.copyfile(run / f, dest / f"{args.name}.{f}")
    out = ROOT / "benchmarks" / "results" / f"detector_{args.name}_{spec['split']}.json"
    from smartclass.cli import main as cli

    import os

    cmd = ["detect-eval", "--checkpoint", str(ckpt.relative_to(ROOT)), "--data", os.path.relpath(spec["data"], ROOT),
           "--format",
           spec["format"], "--subset", spec["subset"], "--out", str(out.relative_to(ROOT)), "--val-conf",
           str(args.val_conf)]
    if cli(cmd) != 0:
        raise SystemExit(f"detect-eval failed: smartclass {' '.join(cmd)}")
    rep = json.loads(out.read_text())
    import torch

    ck = torch.load(ckpt, weights_only=True)
    run_history = dest / f"{args.name}.history.json"
    hist = json.loads(run_history.read_text()) if run_history.is_file() else ck.get("history") or []
    readme = dest / f"{args.name}.README.md"
    readme.write_text(
        f"# checkpoints/detector/{args.name}.pt\n\n"
        f"Real-frame student detector (MobileNetV2 ImageNet backbone + CFAM/dual attention + FPN + YOLOv2 head, "
        f"docs/detector.md), {len(ck.get('class_names') or [])} classes {ck.get('class_names')}, boxes are "
        f"{spec['box_kind']}s, input {ck.get('input_size')} (letterboxed), fp16 weights.\n\n"
        f"Data: {spec['what']}.\n\n"
        f"Best epoch (by validation map50) {ck.get('epoch')} of {len(hist)} trained "
        f"({(hist[-1]['seconds'] / 60 if hist else 0):.0f} min on a shared 2-core CPU).\n\n"
        f"Scored by `smartclass {' '.join(cmd)}`: map50 {rep['map50']:.4f}, map50_95 {rep['map50_95']:.4f}, "
        f"precision {rep['precision']:.3f} and recall {rep['recall']:.3f} at score ≥ {rep['conf_threshold']}.\n\n"
        "Reproduce:\n\n"
        f"    smartclass train --config configs/detector_{args.name}.yaml --out runs/detector/{args.name}\n"
        f"    # resume after an interruption: the same command with --resume\n"
        f"    python benchmarks/detector_eval.py {args.name}\n\n"
        f"Config: `{args.name}.config.yaml`; per-epoch history: `{args.name}.history.json`.\n")
    print(f"{ckpt} ({ckpt.stat().st_size / 1e6:.1f} MB), {readme.name}, {out}")


if __name__ == "__main__":
    main()
