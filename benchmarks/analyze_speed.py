"""Speed of ``smartclass analyze`` end to end, stage by stage, on a 640×360 classroom video on 2 threads.

The input is an H.264 file (decoding is part of the cost): by default a SmartClass-Synth classroom with 16
students (the generator's maximum) rendered at 640×360 and 30 fps; with ``--real`` also
``../shared/data/video/lecture-hall.mp4`` (about 15 students) scaled to 640×360 at its 25 fps. Every output
is written as in a normal run (timelines, summary, annotated H.264 video, report). Reported per input: ms per
input frame of each stage (decode, enhance, detect, track, behaviour, outputs), the end-to-end input frames
per second, behaviour decisions per student per second, and the detector alone at batch 1 and at the
pipeline's batch. With ``--trimodal`` also the same synthetic classroom with its depth and thermal cameras
(frames in memory: only the RGB is a video elsewhere) and paper 002's recogniser on every tracked student
once a second, fused with the track (the ``recognise`` stage). The machine is shared: the 1-minute load average
is recorded before and after.

    python benchmarks/analyze_speed.py [--checkpoint CKPT] [--real] [--trimodal] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REAL_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "lecture-hall.mp4"


def write_video(frames, fps: float, path: Path) -> Path:
    from smartclass.analyze.outputs import VideoWriter

    vw = None
    for f in frames:
        if vw is None:
            vw = VideoWriter(path, fps, f.shape[1], f.shape[0], crf=20)
        vw.write(f)
    vw.close()
    return path


def synth_video(students: int, seconds: float, fps: float, folder: Path) -> Path:
    from smartclass.analyze.sources import synth_source

    src = synth_source(f"synth:classroom,students={students},seconds={seconds},fps={fps},seed=11,split=test")
    return write_video((f.rgb for f in src.frames()), fps, folder / "synth16.mp4")


def real_video(folder: Path, seconds: float) -> Path | None:
    import cv2

    from smartclass.analyze.sources import video_source

    if not REAL_VIDEO.is_file():
        return None
    src = video_source(REAL_VIDEO)
    frames = (cv2.resize(f.rgb, (640, 360), interpolation=cv2.INTER_AREA) for f in src.frames() if f.t < seconds)
    return write_video(frames, src.fps, folder / "lecture-hall-640x360.mp4")


def run_one(video: Path | str, checkpoint: Path, threads: int, detect_every: int, batch: int, out: Path) -> dict:
    """One input: a video file, or a ``synth:`` spec analysed with its depth and thermal and the recogniser."""
    import torch

    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.outputs import analyze_to_folder
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer, tracking_for
    from smartclass.analyze.recognise import choose_recogniser
    from smartclass.analyze.sources import synth_source, video_source
    from smartclass.analyze.temporal import choose_behaviour

    cut, tuned = tracking_for(Path(checkpoint).stem)  # what `smartclass analyze` runs with this detector
    det = CheckpointDetector(checkpoint, threads=threads, score_threshold=0.02 if cut is None else cut)
    mode, temporal = choose_behaviour(det)
    trimodal = str(video).startswith("synth:")
    src = synth_source(str(video)) if trimodal else video_source(video)
    rec, fusion = choose_recogniser(det, "on", src) if trimodal else (None, None)
    a = Analyzer(det, AnalyzeSettings(detect_every=detect_every, batch=batch, behaviour=mode, **tuned), temporal=temporal,
                 recogniser=rec, fusion=fusion)
    load0 = os.getloadavg()[0]
    s = analyze_to_folder(a, src, out, {"detector": {"name": det.name, "classes": list(det.class_names)}})
    load1 = os.getloadavg()[0]
    # the detector alone, on the same frames, batch 1 and the pipeline's batch
    frames = [f.rgb for _, f in zip(range(2 * batch), src.frames())]
    alone = {}
    for b in (1, batch):
        det(frames[:b])
        t0 = time.perf_counter()
        reps = max(1, 8 // b)
        for _ in range(reps):
            det(frames[:b])
        alone[f"batch{b}_ms_per_frame"] = round(1000 * (time.perf_counter() - t0) / (reps * b), 2)
    stages = s["stages"]
    fps_in = src.fps
    per_student = s["decisions_per_second"]
    return {
        "input": str(video) if trimodal else str(video.name), "modalities": s["modalities_used"]["analysed"],
        "recogniser": s["models"].get("recogniser"), "width": src.width, "height": src.height, "input_fps": fps_in,
        "frames": s["frames_processed"], "students_seen": s["students_seen"],
        "detector": det.name, "detector_input": det.input_size, "behaviour": mode, "tracking": tuned, "torch_threads": torch.get_num_threads(),
        "detect_every": s["detect_every"], "batch": batch,
        "decisions_per_student_per_second": per_student,
        "stages_ms_per_frame": {k: v["ms_per_frame"] for k, v in stages.items()},
        "detector_alone": alone,
        "end_to_end_fps": s["processing_fps"], "real_time_factor": round(s["processing_fps"] / fps_in, 3),
        "meets_30fps": s["processing_fps"] >= 30.0, "meets_2_decisions_per_s": per_student >= 2.0,
        "load_average_1min": [round(load0, 2), round(load1, 2)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=None, help="detector checkpoint (default: shipped synth8)")
    p.add_argument("--real-checkpoint", type=Path, default=None, help="detector for --real (default: shipped students7)")
    p.add_argument("--real", action="store_true", help="also the real lecture-hall video at 640×360")
    p.add_argument("--students", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--detect-every", type=int, default=0)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--trimodal", action="store_true",
                   help="also the synthetic classroom with depth, thermal and the recogniser")
    p.add_argument("--name", default="analyze_speed")
    args = p.parse_args(argv)

    import torch

    from smartclass.bench import print_table, write_results
    from smartclass.commands.analyze import default_checkpoint

    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory(prefix="analyze-speed-") as tmp:
        tmp = Path(tmp)
        inputs = [(synth_video(args.students, args.seconds, args.fps, tmp), args.checkpoint or default_checkpoint("synth"))]
        if args.real:
            rv = real_video(tmp, args.seconds)
            if rv is None:
                print(f"no {REAL_VIDEO}: the real video is skipped", file=sys.stderr)
            else:
                inputs.append((rv, args.real_checkpoint or default_checkpoint("real")))
        if args.trimodal:
            inputs.append((f"synth:classroom,students={args.students},seconds={args.seconds},fps={args.fps},seed=11,"
                           "split=test", args.checkpoint or default_checkpoint("synth")))
        for video, ckpt in inputs:
            rows.append(run_one(video, ckpt, args.threads, args.detect_every, args.batch,
                                tmp / ("trimodal" if isinstance(video, str) else video.stem)))
    table = []
    for r in rows:
        row = {"input": r["input"][:40], "modalities": "+".join(r["modalities"]), "students": r["students_seen"], "k": r["detect_every"],
               **{f"{k} ms": v for k, v in r["stages_ms_per_frame"].items()},
               "fps": r["end_to_end_fps"], "decisions/s": r["decisions_per_student_per_second"],
               "det alone b1 ms": r["detector_alone"]["batch1_ms_per_frame"]}
        table.append(row)
    cols = sorted({c for r in table for c in r}, key=lambda c: list(table[0]).index(c) if c in table[0] else 99)
    print_table(table, cols, title="smartclass analyze: ms per input frame by stage, end-to-end input fps")
    write_results(args.name, {"runs": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
