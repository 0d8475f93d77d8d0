"""Record SmartClass-Synth classroom clips for the analyze benchmarks and the track temporal model: each clip is
rendered once, the detector run on its detection frames, and detections (with class posteriors), ground truth
and (optionally) the detected frames saved as ``<cache>/<split>/<condition>-<seed>.npz``
(:mod:`smartclass.analyze.replay`). Clips already recorded are skipped, so an interrupted run resumes.

    python benchmarks/analyze_record.py --split train --clips 8 --seed 1000 --no-frames
    python benchmarks/analyze_record.py --split val --clips 2 --seed 100
    python benchmarks/analyze_record.py --split test --clips 2 --seed 100

Clip ``j`` of condition ``c`` is ``synth:classroom,split=…,students=…,seconds=…,fps=…,conditions=c,seed=seed+j``,
the clips ``benchmarks/analyze_synth.py`` analyses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CONDITIONS = ("normal", "low_light", "occlusion", "movement")


def clip_spec(split: str, students: int, seconds: float, fps: float, condition: str, seed: int) -> str:
    return (f"synth:classroom,split={split},students={students},seconds={seconds},fps={fps},"
            f"conditions={condition},seed={seed}")


def add_clip_arguments(p: argparse.ArgumentParser, clips: int = 2, seed: int = 100) -> None:
    """The options that name a set of clips (shared with ``analyze_synth.py``)."""
    p.add_argument("--cache", type=Path, default=Path("out/analyze_cache"), help="recorded clips")
    p.add_argument("--clips", type=int, default=clips, help="clips per condition")
    p.add_argument("--students", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--threads", type=int, default=1)


def clip_path(cache: Path, split: str, condition: str, seed: int) -> Path:
    return cache / split / f"{condition}-{seed}.npz"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    add_clip_arguments(p)
    p.add_argument("--checkpoint", type=Path, default=None, help="detector checkpoint (default: shipped synth8)")
    p.add_argument("--score-threshold", type=float, default=0.01, help="detector score cut (the benchmarks cut higher)")
    p.add_argument("--no-frames", action="store_true", help="keep only detections and truth (training data)")
    args = p.parse_args(argv)

    import torch

    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.replay import record_clip
    from smartclass.commands.analyze import default_checkpoint

    torch.set_num_threads(args.threads)
    ckpt = args.checkpoint or default_checkpoint("synth")
    det = CheckpointDetector(ckpt, threads=args.threads, score_threshold=args.score_threshold)
    for j in range(args.clips):
        for cond in CONDITIONS:
            seed = args.seed + j
            out = clip_path(args.cache, args.split, cond, seed)
            if out.is_file():
                continue
            t0 = time.perf_counter()
            rec = record_clip(clip_spec(args.split, args.students, args.seconds, args.fps, cond, seed), det,
                              frames=not args.no_frames)
            rec.save(out)
            print(f"{out}: {len(rec.detections)} steps, {sum(len(d) for d in rec.detections)} detections, "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
