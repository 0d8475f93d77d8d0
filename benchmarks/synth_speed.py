"""How fast SmartClass-Synth produces a paper-sized set (issue 2): samples/s streamed and written, disk per sample.

A per-student sample is one student's 16-frame clip (3.2 s at 5 fps) at 640×360 RGB with half-resolution depth
and thermal, six students per rendered clip. The goal: 15,000 samples (paper 002's set size) in under 60
minutes on 2 cores. The script measures ``--samples`` samples each way and extrapolates linearly (rendering
cost is the same for every clip up to its condition, which cycles).

    python benchmarks/synth_speed.py [--samples 240] [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

from smartclass.bench import print_table, write_results
from smartclass.synth.dataset import SynthStudentClips
from smartclass.synth.config import SynthConfig
from smartclass.synth.export import export_dataset

PAPER_SET = 15_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=240)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--students", type=int, default=6)
    ap.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args()
    cfg = SynthConfig(frames=args.frames, students=args.students, fps=5.0, width=640, height=360)
    clips = -(-args.samples // args.students)
    n = clips * args.students
    rows = []

    t0 = time.perf_counter()
    items = SynthStudentClips(cfg, n, frames=args.frames, crop=96).materialise(workers=args.workers)
    streamed_s = time.perf_counter() - t0
    assert len(items) == n
    del items
    rows.append({"mode": "streamed (Dataset, 96×96 crops)", "samples": n, "seconds": streamed_s,
                 "samples_per_s": n / streamed_s, "minutes_for_15000": PAPER_SET / (n / streamed_s) / 60})

    tmp = Path(tempfile.mkdtemp(prefix="synth-speed-"))
    try:
        t0 = time.perf_counter()
        stats = export_dataset(dataclasses.replace(cfg, clips=clips), tmp, workers=args.workers)
        written_s = time.perf_counter() - t0
        nbytes = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_sample = nbytes / stats["samples"]
    rows.append({"mode": "written (on-disk layout, PNG)", "samples": stats["samples"], "seconds": written_s,
                 "samples_per_s": stats["samples"] / written_s,
                 "minutes_for_15000": PAPER_SET / (stats["samples"] / written_s) / 60})
    print_table(rows, title=f"SmartClass-Synth generation speed ({args.workers} workers, {args.frames} frames × "
                            f"{args.students} students per clip, 640×360)")
    print(f"disk per sample (written): {per_sample / 1e6:.2f} MB → {per_sample * PAPER_SET / 1e9:.1f} GB for 15,000 "
          f"(clip frames are shared by its {args.students} students)")
    write_results("synth_speed", {"settings": vars(args), "rows": rows, "bytes_per_sample": per_sample,
                                  "goal": "15,000 samples in < 60 min on 2 cores",
                                  "goal_met": all(r["minutes_for_15000"] < 60 for r in rows)}, out_dir=args.out)


if __name__ == "__main__":
    main()
