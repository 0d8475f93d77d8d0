"""``smartclass analyze`` on a real classroom video, end to end, with the report's screenshot.

Runs the analysis of ``--video`` (default ``../shared/data/video/lecture-hall.mp4``) with a real-frame detector
checkpoint (default: the shipped ``detector/students7``), writes every output under ``--out``, opens the
report in headless Chromium (Debian's ``chromium``) for a screenshot, stores it small under
``benchmarks/results/analyze_<name>.png``, and records in ``benchmarks/results/analyze_<name>.json`` what was
found: students seen (ids with at least 3 decisions), students in view per detection step (median, max),
id count, behaviour shares, engagement, processing rate. The eye count is a person's, written in
docs/analyze.md.

    python benchmarks/analyze_real.py [--video V] [--checkpoint CKPT] [--name lecture_hall]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
RESULTS = Path(__file__).resolve().parent / "results"


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> bool:
    """Headless Chromium screenshot of ``page``; False where no browser is installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
                        page.resolve().as_uri()], check=True, capture_output=True, timeout=180)
    return png.is_file()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=DATA / "lecture-hall.mp4")
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped detector/students7")
    p.add_argument("--out", type=Path, default=Path("out/analyze_real"))
    p.add_argument("--name", default="lecture_hall")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--score-threshold", type=float, default=None, help="default: the detector's tuned value")
    p.add_argument("--blur-faces", action="store_true")
    args = p.parse_args(argv)
    if not args.video.is_file():
        print(f"no video at {args.video}", file=sys.stderr)
        return 2

    import cv2

    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.outputs import analyze_to_folder
    from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer, tracking_for
    from smartclass.analyze.sources import video_source
    from smartclass.analyze.temporal import choose_behaviour
    from smartclass.bench import write_results
    from smartclass.commands.analyze import default_checkpoint

    ckpt = args.checkpoint or default_checkpoint("real")
    cut, tuned = tracking_for(Path(ckpt).stem)  # what `smartclass analyze` runs with this detector
    if args.score_threshold is not None:
        cut = args.score_threshold
    det = CheckpointDetector(ckpt, threads=args.threads, score_threshold=0.02 if cut is None else cut)
    mode, temporal = choose_behaviour(det)
    src = video_source(args.video)
    a = Analyzer(det, AnalyzeSettings(blur_faces=args.blur_faces, behaviour=mode, **tuned), temporal=temporal)
    s = analyze_to_folder(a, src, args.out, {"detector": {"name": det.name, "checkpoint": str(ckpt),
                                                           "classes": list(det.class_names)}})
    in_view = [int((st.sids >= 0).sum()) for st in a.steps]
    boxes = [len(st.sids) for st in a.steps]
    png = RESULTS / f"analyze_{args.name}.png"
    full = args.out / "report_screenshot.png"
    shot = screenshot(args.out / "report.html", full)
    if shot:
        img = cv2.imread(str(full))
        small = cv2.resize(img, (640, int(round(640 * img.shape[0] / img.shape[1]))), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(png), small, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    res = {
        "video": args.video.name, "checkpoint": str(ckpt), "detector_classes": list(det.class_names),
        "frames": s["frames_processed"], "detect_every": s["detect_every"],
        "students_seen": s["students_seen"], "track_ids_total": s["track_ids_total"],
        "reentries_linked": s["reentries_linked"],
        "tracked_in_view_per_step": {"median": float(np.median(in_view)) if in_view else 0, "max": max(in_view, default=0)},
        "boxes_per_step": {"median": float(np.median(boxes)) if boxes else 0, "max": max(boxes, default=0)},
        "behaviour_share": s["behaviour_share"], "engagement_mean": s["engagement"]["mean"],
        "processing_fps": s["processing_fps"], "stages": s["stages"], "screenshot": png.name if shot else None,
    }
    write_results(f"analyze_{args.name}", res)
    print({k: res[k] for k in ("students_seen", "track_ids_total", "tracked_in_view_per_step", "boxes_per_step",
                               "processing_fps", "screenshot")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
