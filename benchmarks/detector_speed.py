"""Detection speed of the student detector (issue 17): frames per second at 640×360 on 2 threads.

* ``model`` — the network alone on a ready ``(1, 3, H, W)`` tensor (MobileNetV2 + CFAM/dual attention + FPN +
  raw head outputs);
* ``end_to_end`` — from a decoded 640×360 RGB frame (uint8): letterbox into the input size, the network,
  YOLOv2 decoding, score threshold and class-aware NMS, boxes mapped back to frame pixels
  (:meth:`smartclass.training.detector_predict.FrameDetector.detect`).

The frame is a real classroom frame (``../shared/data/video/lecture-hall.mp4``, first frame, resized to
640×360) when present, else a classroom-cctv frame, else a SmartClass-Synth frame, so NMS sees real numbers
of boxes. Medians of repeated calls (``smartclass.metrics.speed.measure``), batch 1, in interleaved rounds of
which each stage's fastest is kept (the machine is shared; every round's median is recorded).

    python benchmarks/detector_speed.py [--checkpoint checkpoints/detector/cctv.pt] [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from smartclass.bench import print_table, write_results
from smartclass.errors import SmartclassError
from smartclass.metrics.speed import measure
from smartclass.training.detector_predict import FrameDetector

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_frame(width: int = 640, height: int = 360) -> tuple[np.ndarray, str]:
    """A decoded RGB frame of ``width × height`` and where it came from."""
    import cv2

    video = SHARED / "video" / "lecture-hall.mp4"
    if video.is_file():
        cap = cv2.VideoCapture(str(video))
        ok, frame = cap.read()
        cap.release()
        if ok:
            return cv2.resize(frame[:, :, ::-1], (width, height), interpolation=cv2.INTER_AREA), str(video)
    cctv = sorted((SHARED / "classroom-cctv" / "valid" / "images").glob("*.jpg"))
    if cctv:
        return cv2.resize(cv2.imread(str(cctv[0]))[:, :, ::-1], (width, height)), str(cctv[0])
    from smartclass.synth.config import SynthConfig
    from smartclass.synth.generator import render_clip

    clip = render_clip(SynthConfig(frames=1, width=width, height=height, split="test"), 0)
    return clip.rgb[0], "SmartClass-Synth test clip 0"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="checkpoints/detector/cctv.pt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--name", default="detector_speed", help="results file benchmarks/results/NAME.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    frame, source = test_frame()
    try:
        det = FrameDetector.from_checkpoint(args.checkpoint, conf=args.conf, input_size=(640, 384))
    except SmartclassError as e:
        raise SystemExit(f"detector_speed: --checkpoint: {e}") from None
    x, _ = det.preprocess([frame])
    # the machine is shared: interleave rounds of both measurements and keep each one's least-disturbed round
    rounds = {"model": [], "end_to_end": []}
    for _ in range(args.rounds):
        rounds["model"].append(measure(lambda: det.model(x), runs=args.runs))
        rounds["end_to_end"].append(measure(lambda: det.detect([frame]), runs=args.runs))
    model_t, e2e_t = (min(rounds[k], key=lambda t: t.median_s) for k in ("model", "end_to_end"))
    n_boxes = len(det.detect([frame])[0]["boxes"])
    rows = [{"stage": "model", "input": "640×384 tensor", "median ms": 1000 * model_t.median_s, "fps": model_t.fps},
            {"stage": "end_to_end", "input": "640×360 uint8 frame", "median ms": 1000 * e2e_t.median_s,
             "fps": e2e_t.fps}]
    print_table(rows, title=f"detector speed, {args.threads} threads, {n_boxes} boxes after NMS")
    import os

    write_results(args.name, {"checkpoint": args.checkpoint, "frame": source, "frame_size": [640, 360],
                              "input_size": list(det.input_size), "conf": args.conf, "boxes_after_nms": n_boxes,
                              "load_average_1min": os.getloadavg()[0],
                              "model": model_t.to_dict(), "end_to_end": e2e_t.to_dict(),
                              "round_medians_ms": {k: [1000 * t.median_s for t in v] for k, v in rounds.items()}})


if __name__ == "__main__":
    main()
