"""Occlusion robustness with detected instead of ground-truth boxes (paper 002's Figure 4, issue 19).

Every other recogniser figure crops each student around the generator's ground-truth box. Here the boxes come
from the shipped frame detector (``detector/synth8``, the one ``smartclass analyze`` runs on SmartClass-Synth),
so the figure includes what a deployed pipeline loses to the detector. Per recogniser checkpoint, on unseen
SmartClass-Synth test-split students of the occlusion condition (and normal for reference), rendered with the
checkpoint's own clip settings (frames, rate, frame size, crop):

1. the detector runs on every RGB frame (its analyze score cut, 0.2 for synth8);
2. per frame, detections are matched to the ground-truth students by the Hungarian algorithm on IoU, a pair
   counting at IoU ≥ 0.5;
3. a student matched in fewer than half of the frames is a miss and counts as wrongly recognised; for the
   others, frames without a match get a box interpolated linearly from the matched frames (held at the ends);
4. the depth and thermal boxes are the detected RGB box carried into those cameras through the clip's
   calibration, frame by frame, as ``smartclass analyze`` does (``analyze.recognise.box_in_camera``: the
   corners back-projected at a seated student's distance guess and projected);
5. the recogniser scores the student's crop (``smartclass.crops.student_sample``) cut around the ground-truth
   boxes and around the detected ones.

Reported per checkpoint and condition: top-1 with ground-truth boxes, with ground-truth RGB boxes whose
depth/thermal boxes are carried over by step 4 (what the transfer alone costs), and with detected boxes (Wilson
95 % intervals), their paired difference (same students: the discordant pairs, with a normal-approximation 95 %
interval), top-1 on the detected students only, the detector's recall on those students (per frame at
IoU ≥ 0.5, and per student at ≥ half the frames) with the mean IoU of the matches, and the median ratio of the
crop's side around the detected boxes to the one around the ground-truth boxes (the crop covers the union of a
student's boxes over the clip, so frame-to-frame jitter of the detections widens it).

    python benchmarks/mmfg_detected_boxes.py [--checkpoint checkpoints/mmfg/mmfg.pt]
        [--compare runs/paper002/quick/retinex_concat_gcn/best.pt] [--clips 100] [--normal-clips 30]
        [--shift-check CLIPS] [--seed 0] [--threads 1] [--name mmfg_detected_boxes]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np
import torch

MIN_IOU = 0.5


def match_students(gt: np.ndarray, boxes: list[np.ndarray], min_iou: float = MIN_IOU) -> tuple[np.ndarray, np.ndarray]:
    """Detections matched to ground-truth students frame by frame: ``gt (K, T, 4)`` and one ``(N_t, 4)`` array
    of detected boxes per frame → ``(K, T, 4)`` matched boxes (NaN where unmatched) and ``(K, T)`` IoU of each
    match (0 where unmatched). Hungarian assignment on IoU per frame; a pair counts at IoU ≥ ``min_iou``."""
    from scipy.optimize import linear_sum_assignment

    from smartclass.tracking.base import box_iou

    K, T = gt.shape[:2]
    out = np.full((K, T, 4), np.nan)
    ious = np.zeros((K, T))
    for t, det in enumerate(boxes):
        if not len(det):
            continue
        iou = box_iou(gt[:, t], det)
        for k, j in zip(*linear_sum_assignment(-iou)):
            if iou[k, j] >= min_iou:
                out[k, t], ious[k, t] = det[j], iou[k, j]
    return out, ious


def fill_missing(boxes: np.ndarray) -> np.ndarray:
    """``(T, 4)`` boxes with NaN rows (unmatched frames) filled by linear interpolation between the matched
    frames, held constant before the first and after the last; at least one row must be finite."""
    ok = np.isfinite(boxes).all(1)
    t = np.arange(len(boxes))
    return np.stack([np.interp(t, t[ok], boxes[ok, c]) for c in range(4)], 1)


def detected_track(track, det_rgb: np.ndarray, clip):
    """``track`` with its RGB boxes replaced by ``det_rgb (T, 4)`` and its other cameras' boxes carried over from
    them through ``clip``'s calibration, frame by frame, as ``smartclass analyze`` does
    (:func:`smartclass.analyze.recognise.box_in_camera`)."""
    from smartclass.analyze.recognise import box_in_camera

    boxes = {cam: det_rgb if cam == "rgb" else
             np.stack([box_in_camera(det_rgb[t], clip.camera("rgb", t), clip.camera(cam, t)) for t in range(len(det_rgb))])
             for cam in track.boxes}
    return dataclasses.replace(track, boxes=boxes)


def box_errors(pairs: np.ndarray, moves: np.ndarray) -> dict:
    """Quartiles (25, 50, 75 %) of how matched detections differ from the ground truth: ``pairs (n, 2, 4)``
    (ground truth, detection) → mean absolute corner error in pixels, width and height ratios, centre shift in
    units of the ground-truth width / height; ``moves``: per student, the mean frame-to-frame movement of the
    detected box's centre in pixels."""
    g, d = pairs[:, 0], pairs[:, 1]
    gw, gh = g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    q = lambda x: [round(float(v), 3) for v in np.percentile(x, [25, 50, 75])] if len(x) else None  # noqa: E731
    return {"corner_error_px": q(np.abs(d - g).mean(1)), "width_ratio": q((d[:, 2] - d[:, 0]) / gw),
            "height_ratio": q((d[:, 3] - d[:, 1]) / gh), "centre_shift_x": q((d[:, 0] + d[:, 2] - g[:, 0] - g[:, 2]) / 2 / gw),
            "centre_shift_y": q((d[:, 1] + d[:, 3] - g[:, 1] - g[:, 3]) / 2 / gh),
            "ground_truth_size_px": [round(float(np.median(gw)), 1), round(float(np.median(gh)), 1)],
            "frame_to_frame_centre_move_px": q(moves)}


def crop_side(boxes: np.ndarray) -> float:
    """Side of the square :func:`smartclass.crops.square_affine` cuts around ``boxes (T, 4)`` (before its margin)."""
    return float(max(boxes[:, 2].max() - boxes[:, 0].min(), boxes[:, 3].max() - boxes[:, 1].min()))


def paired_difference(gt_ok: np.ndarray, det_ok: np.ndarray) -> dict:
    """Detected minus ground-truth top-1 on the same students: discordant counts and a normal-approximation
    95 % interval of the paired difference of proportions."""
    n = len(gt_ok)
    b = int((gt_ok & ~det_ok).sum())  # right with ground-truth boxes only
    c = int((~gt_ok & det_ok).sum())  # right with detected boxes only
    d = (c - b) / n if n else 0.0
    se = np.sqrt(max(b + c - (c - b) ** 2 / n, 0.0)) / n if n else 0.0
    return {"points": round(d * 100, 2), "ci95_points": [round((d - 1.96 * se) * 100, 2), round((d + 1.96 * se) * 100, 2)],
            "right_with_gt_only": b, "right_with_detected_only": c}


def _wilson(ok: np.ndarray) -> dict:
    from smartclass.metrics.classification import wilson_interval

    k, n = int(ok.sum()), len(ok)
    lo, hi = wilson_interval(k, n)
    return {"correct": k, "n": n, "top1": round(k / n, 4) if n else None, "ci95": [round(lo, 4), round(hi, 4)],
            "half_width_points": round((hi - lo) * 50, 2)}


def _model_entry(path: str, device: str) -> dict:
    from smartclass.config import config_from_dict
    from smartclass.training.recognizer import load_checkpoint

    model, ck = load_checkpoint(path)
    cfg = config_from_dict(ck["config"])
    return {"path": path, "model": model.to(device), "epoch": ck.get("epoch"), "synth": cfg.synth,
            "crop": cfg.train.crop, "vocabulary": cfg.train.vocabulary}


def evaluate(models: list[dict], condition: str, clips: int, seed: int, detector, log=print) -> list[dict]:
    """Every model of ``models`` (sharing one synth config) on ``clips`` test clips of ``condition``."""
    from smartclass.clip import CONDITIONS
    from smartclass.crops import student_sample
    from smartclass.synth.generator import render_clip
    from smartclass.training.recognizer import pack, predict

    synth = dataclasses.replace(models[0]["synth"], split="test", seed=seed, conditions=tuple(CONDITIONS))
    per_model = [{"gt": [], "gt_carried": [], "det": [], "detected": []} for _ in models]
    frame_hits, match_iou, detected, side_ratio, pairs, moves = [], [], [], [], [], []
    t0 = time.perf_counter()
    for j in range(clips):
        clip = render_clip(synth, 4 * j + CONDITIONS.index(condition))  # index % 4 picks the condition
        assert clip.condition == condition
        dets = detector(list(clip.rgb))
        gt = np.stack([s.boxes["rgb"] for s in clip.students])
        matched, ious = match_students(gt, [d.boxes for d in dets])
        hit = ious > 0
        frame_hits.append(hit)
        pairs.append(np.stack([gt[hit], matched[hit]], 1))  # (n, 2, 4): ground truth, detection
        moves += [np.linalg.norm(np.diff((matched[k, hit[k], :2] + matched[k, hit[k], 2:]) / 2, axis=0), axis=1).mean()
                  for k in range(len(gt)) if hit[k].sum() >= 2]
        match_iou.append(ious[hit])
        found = hit.sum(1) >= clip.num_frames / 2
        detected.append(found)
        filled = {k: fill_missing(matched[k]) for k in np.flatnonzero(found)}
        side_ratio += [crop_side(filled[k]) / crop_side(gt[k]) for k in filled]
        for m, acc in zip(models, per_model):
            items = [student_sample(clip, s, m["crop"], m["vocabulary"]) for s in clip.students]
            items += [student_sample(clip, detected_track(s, s.boxes["rgb"], clip), m["crop"], m["vocabulary"])
                      for s in clip.students]
            items += [student_sample(clip, detected_track(clip.students[k], b, clip), m["crop"], m["vocabulary"])
                      for k, b in filled.items()]
            data = pack(items)
            pred = predict(m["model"], data).argmax(1).numpy()
            truth = data["label"].numpy()
            K = len(clip.students)
            acc["gt"].append(pred[:K] == truth[:K])
            acc["gt_carried"].append(pred[K:2 * K] == truth[K:2 * K])
            det_ok = np.zeros(K, bool)
            det_ok[found] = pred[2 * K:] == truth[2 * K:]
            acc["det"].append(det_ok)
            acc["detected"].append(found)
        if (j + 1) % 10 == 0 or j + 1 == clips:
            log(f"  {condition}: {j + 1}/{clips} clips, {time.perf_counter() - t0:.0f} s")
    hits = np.concatenate(frame_hits)
    found_all = np.concatenate(detected)
    recall = {"students": int(len(found_all)), "frame_recall": round(float(hits.mean()), 4),
              "student_recall": round(float(found_all.mean()), 4),
              "mean_iou_of_matches": round(float(np.concatenate(match_iou).mean()), 4) if hits.any() else None,
              "median_crop_side_ratio": round(float(np.median(side_ratio)), 3) if side_ratio else None,
              "matched_boxes": box_errors(np.concatenate(pairs), np.array(moves)),
              "seconds": round(time.perf_counter() - t0, 1)}
    out = []
    for acc in per_model:
        gt_ok, carried_ok, det_ok, found = (np.concatenate(acc[k]) for k in ("gt", "gt_carried", "det", "detected"))
        out.append({"condition": condition, "clips": clips, "students": len(gt_ok), "detector": recall,
                    "gt_boxes": _wilson(gt_ok), "gt_rgb_boxes_carried": _wilson(carried_ok),
                    "detected_boxes": _wilson(det_ok),
                    "detected_minus_gt": paired_difference(gt_ok, det_ok),
                    "on_detected_students": {"gt_boxes": _wilson(gt_ok[found]), "detected_boxes": _wilson(det_ok[found])}})
    return out


SHIFTS = {"none": (0, 0, 0, 0), "right 4 px": (4, 0, 4, 0), "left 4 px": (-4, 0, -4, 0), "down 4 px": (0, 4, 0, 4),
          "up 4 px": (0, -4, 0, -4), "4 px larger": (-4, -4, 4, 4), "4 px smaller": (4, 4, -4, -4)}


def shift_check(m: dict, clips: int, seed: int, log=print) -> dict:
    """Top-1 of model ``m`` on ``clips`` normal test clips with every student's ground-truth RGB box moved by each
    of :data:`SHIFTS` in every frame (other cameras carried over as for detected boxes): how much a few pixels of
    box error cost by themselves, with no detector involved."""
    from smartclass.clip import CONDITIONS
    from smartclass.crops import student_sample
    from smartclass.synth.generator import render_clip
    from smartclass.training.recognizer import pack, predict

    synth = dataclasses.replace(m["synth"], split="test", seed=seed, conditions=tuple(CONDITIONS))
    ok: dict[str, list[np.ndarray]] = {k: [] for k in SHIFTS}
    for j in range(clips):
        clip = render_clip(synth, 4 * j + CONDITIONS.index("normal"))
        for name, shift in SHIFTS.items():
            data = pack([student_sample(clip, detected_track(s, s.boxes["rgb"] + shift, clip), m["crop"],
                                        m["vocabulary"]) for s in clip.students])
            ok[name].append(predict(m["model"], data).argmax(1).numpy() == data["label"].numpy())
    out = {name: _wilson(np.concatenate(v)) for name, v in ok.items()}
    log("  box shifts (normal): " + ", ".join(f"{k} {v['top1'] * 100:.1f}" for k, v in out.items()))
    return {"condition": "normal", "clips": clips, "top1": out}


def main(argv: list[str] | None = None) -> int:
    from smartclass.analyze.detector import CheckpointDetector
    from smartclass.analyze.pipeline import tracking_for
    from smartclass.bench import write_results
    from smartclass.inference import shipped_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="recogniser checkpoint (default: the shipped one)")
    ap.add_argument("--compare", action="append", default=[], help="another recogniser checkpoint, rendered with "
                    "its own clip settings (repeatable)")
    ap.add_argument("--detector", default="synth8", help="shipped frame detector (checkpoints/detector/NAME.pt)")
    ap.add_argument("--clips", type=int, default=100, help="occlusion clips per checkpoint (6 students each)")
    ap.add_argument("--normal-clips", type=int, default=30, help="normal clips per checkpoint, for reference")
    ap.add_argument("--shift-check", type=int, default=0, metavar="CLIPS", help="also score the first checkpoint on "
                    "CLIPS normal clips with its ground-truth boxes shifted by a few pixels (no detector)")
    ap.add_argument("--seed", type=int, default=0, help="synth seed of the test split (0: paper002's test clips)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--name", default="mmfg_detected_boxes")
    a = ap.parse_args(argv)
    if min(a.clips, a.normal_clips, a.shift_check) < 0 or a.clips + a.normal_clips + a.shift_check == 0:
        print("--clips, --normal-clips and --shift-check must be ≥ 0, not all 0", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    paths = [a.checkpoint or str(shipped_checkpoint("mmfg/mmfg"))] + a.compare
    models = [_model_entry(p, a.device) for p in paths]
    score_cut, _ = tracking_for(a.detector)
    detector = CheckpointDetector(shipped_checkpoint(f"detector/{a.detector}"), device=a.device,
                                  score_threshold=score_cut if score_cut is not None else 0.2, threads=a.threads)
    results: dict = {"detector": {"name": detector.name, "version": detector.version,
                                  "score_threshold": detector.frame_detector.conf, "match_iou": MIN_IOU},
                     "depth_thermal_boxes": "the detected RGB box carried into each camera through the clip's "
                                            "calibration (analyze.recognise.box_in_camera), as analyze does",
                     "checkpoints": {}}
    t0 = time.perf_counter()
    try:
        if a.shift_check:
            results["box_shift_check"] = shift_check(models[0], a.shift_check, a.seed, log=lambda x: print(x, flush=True))
        for m in models[:len(models) if a.clips + a.normal_clips else 0]:  # each renders with its own clip settings
            s = m["synth"]
            print(f"{m['path']}: {s.frames} frames at {s.fps} fps, {s.width}×{s.height}, {m['crop']} px crops",
                  flush=True)
            rows = [r for cond, n in (("occlusion", a.clips), ("normal", a.normal_clips)) if n
                    for r in evaluate([m], cond, n, a.seed, detector, log=lambda x: print(x, flush=True))]
            results["checkpoints"][m["path"]] = {
                "epoch": m["epoch"], "frames": s.frames, "fps": s.fps, "frame_size": [s.width, s.height],
                "crop": m["crop"], "rows": rows}
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    results["detector"]["runtime"] = detector.runtime_used
    results["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"\n{'checkpoint':<44} {'condition':<10} {'n':>5} {'GT boxes':>22} {'detected boxes':>22} "
          f"{'Δ (points) [95 %]':>22} {'recall frame/student':>21}")
    for path, entry in results["checkpoints"].items():
        for r in entry["rows"]:
            g, d, p, rc = r["gt_boxes"], r["detected_boxes"], r["detected_minus_gt"], r["detector"]
            fmt = lambda w: f"{w['top1'] * 100:.1f} [{w['ci95'][0] * 100:.1f}, {w['ci95'][1] * 100:.1f}]"  # noqa: E731
            delta = f"{p['points']:+.1f} [{p['ci95_points'][0]:+.1f}, {p['ci95_points'][1]:+.1f}]"
            print(f"{path[-44:]:<44} {r['condition']:<10} {r['students']:>5} {fmt(g):>22} {fmt(d):>22} {delta:>22} "
                  f"{rc['frame_recall']:>10.3f} / {rc['student_recall']:.3f}")
    out = write_results(a.name, results,
                        command="python benchmarks/mmfg_detected_boxes.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    print(f"→ {out} ({results['seconds'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
