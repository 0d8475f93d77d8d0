"""Paper 000's synthetic 8-class test: its clip detector and both baselines on the subject-disjoint test split,
in one run — the paper's accuracy ("above 96 %"), map50 / map50_95, confusion matrices — and its Figure 6
experiment: edge-information retention (Qabf) of each model's fused feature map as the illumination varies.

    python benchmarks/detector_clip_synth.py     # runs/detector/synth8_clip_{paper,paper_noskel,ms_cnn,3dcca}/best.pt
    python benchmarks/detector_clip_synth.py --model paper=checkpoints/detector/synth8_clip.pt   # NAME=CHECKPOINT

``paper_no_skeleton`` is the method trained with ``detector.skeletons=false``: SmartClass-Synth's skeletons are
the generator's exact 3-D joints (no pose estimation), which the baselines do not see.

Test data: ``--test-clips`` 6-second samples of the test split (subjects never seen in training or
validation), rendered exactly as the training items of ``--config`` (``synth_clip_items``: 7-frame clips at
60×40, three key frames per sample), cached like the training data.

**Accuracy** (paper 000 §3.3.2, Figure 7: a confusion matrix of actual vs recognised behaviour whose diagonal
"represents the number of samples ... correctly recognised"): on the detection confusion matrix
(:func:`smartclass.metrics.detection.confusion_matrix`: detections with score ≥ ``--conf`` matched one-to-one
to ground-truth students at IoU ≥ 0.5, rows truth, last column = missed), ``accuracy`` is the share of
ground-truth students matched to a detection of their class (missed students count as wrong), per class the
diagonal over the row (the paper's per-behaviour figures), ``mean_class_accuracy`` their mean;
``located_accuracy`` leaves the missed students out (the behaviour classification of the students found).

**Figure 6**: each test clip's frames multiplied by a gain (``--gains``, 8-bit rounding: a darker exposure of the
same scene); Qabf (:func:`smartclass.metrics.fusion.qabf`) of the fused map ``F`` relative to the two inputs it
fuses, ``A`` = the key frame (grey) and ``B`` = the clip's motion ``|key − first frame|`` (grey), both at the
input's 60×40; ``F`` = the fused map ``model.fused(...)`` (``(C, G, G)``) averaged over channels, upsampled
bilinearly to 60×40 and min-max scaled to 0..255. Reported per gain: the mean over ``--qabf-clips`` clips and
the first three clips separately (the paper's "surveillance images 1, 2, 3"), and map50 / accuracy at each gain.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"paper": "synth8_clip_paper", "paper_no_skeleton": "synth8_clip_paper_noskel", "ms_cnn": "synth8_clip_ms_cnn",
        "3dcca": "synth8_clip_3dcca"}
LABELS = {"paper": "paper 000 (3D CNN+STPP, att. LSTM, SO(3), CFAM+DA)",
          "paper_no_skeleton": "paper 000 without the SO(3) branch", "ms_cnn": "reference [3] multi-scale CNN",
          "3dcca": "reference [21] 3DCCA"}
PAPER_ACCURACY = 0.96


def confusion_accuracies(cm: np.ndarray) -> dict:
    """Accuracies of a ``(C+1, C+1)`` detection confusion matrix (rows truth, last column missed)."""
    cm = np.asarray(cm, dtype=np.float64)
    truth = cm[:-1]
    rows = truth.sum(1)
    diag = np.diag(truth[:, :-1])
    found = rows - truth[:, -1]
    per = np.where(rows > 0, diag / np.maximum(rows, 1), np.nan)
    return {"accuracy": float(diag.sum() / max(rows.sum(), 1)),
            "mean_class_accuracy": float(np.nanmean(per)),
            "located_accuracy": float(diag.sum() / max(found.sum(), 1)),
            "per_class_accuracy": [None if np.isnan(v) else float(v) for v in per],
            "classes_at_or_above_paper": int(np.sum(per >= PAPER_ACCURACY)),
            "num_students": int(rows.sum()), "num_missed": int(truth[:, -1].sum())}


def gain_transform(gain: float):
    def apply(frames: np.ndarray) -> np.ndarray:
        return frames if gain == 1.0 else np.clip(np.round(frames.astype(np.float32) * gain), 0, 255).astype(np.uint8)
    return apply


def grey(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def fused_qabf(model, items, indices, skeletons: bool, transform) -> list[float]:
    """Qabf of each item's channel-mean fused map relative to its key frame and its motion (module docstring)."""
    import torch
    import torch.nn.functional as F

    from smartclass.data.detection_clips import skeleton_batch
    from smartclass.metrics.fusion import qabf
    from smartclass.training.detector_clip import clip_tensor

    out = []
    model.eval()
    for i in indices:
        frames, boxes, _, joints = items.item(int(i))
        frames = transform(frames)
        sk = skeleton_batch([boxes], [joints]) if skeletons else None
        with torch.no_grad():
            fmap = model.fused(clip_tensor([frames]), sk).mean(1, keepdim=True)  # (1, 1, G, G)
            fmap = F.interpolate(fmap, size=frames.shape[1:3], mode="bilinear", align_corners=False)[0, 0].numpy()
        lo, hi = float(fmap.min()), float(fmap.max())
        f = (fmap - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(fmap)
        a = grey(frames[-1])
        b = np.abs(grey(frames[-1]) - grey(frames[0]))
        out.append(float(qabf(np.round(a), np.round(b), np.round(f))))
    return out


def plot_confusions(results: dict, class_names, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [*class_names, "missed"]
    cols = min(2, len(results))
    rows = -(-len(results) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 5.9 * rows), squeeze=False)
    for ax in axes.ravel()[len(results):]:
        ax.axis("off")
    for ax, (name, r) in zip(axes.ravel(), results.items()):
        cm = np.asarray(r["confusion_matrix"]["matrix"], dtype=np.float64)[:-1]  # truth rows; last column missed
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for y in range(share.shape[0]):
            for x in range(share.shape[1]):
                if cm[y, x]:
                    ax.text(x, y, f"{share[y, x]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if share[y, x] > 0.5 else "black")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
        ax.set_xlabel("recognised")
        ax.set_ylabel("actual")
        ax.set_title(f"{r['label']}\naccuracy {r['accuracy']:.3f}, map50 {r['map50']:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_fig6(fig6: dict, gains, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, r in fig6.items():
        line, = axes[0].plot(gains, r["qabf_mean"], marker="o", label=LABELS.get(name, name))
        for k, per in enumerate(r["qabf_images"]):
            axes[0].plot(gains, per, ls=":", color=line.get_color(), alpha=0.6,
                         label="images 1–3" if k == 0 and name == "paper" else None)
        axes[1].plot(gains, r["accuracy"], marker="o", color=line.get_color(), label=LABELS.get(name, name))
    axes[0].set_xlabel("illumination (gain on the rendered frames)")
    axes[0].set_ylabel("Qabf of the fused feature map")
    axes[0].set_title("Figure 6: edge-information retention after fusion")
    axes[1].axhline(PAPER_ACCURACY, ls="--", color="grey", label="paper 000: 96 %")
    axes[1].set_xlabel("illumination (gain on the rendered frames)")
    axes[1].set_ylabel("accuracy (score ≥ conf, IoU ≥ 0.5, right class)")
    axes[1].set_ylim(0, 1)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "detector_synth8_clip.yaml")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=CKPT",
                    help=f"a model's checkpoint (names {', '.join(RUNS)} default to runs/detector/<run>/best.pt)")
    ap.add_argument("--test-clips", type=int, default=100, help="6-second test samples (3 clips each)")
    ap.add_argument("--conf", type=float, default=0.25, help="score threshold of the accuracy and confusion matrix")
    ap.add_argument("--gains", default="0.1,0.2,0.35,0.5,0.7,1.0", help="illumination gains of Figure 6")
    ap.add_argument("--qabf-clips", type=int, default=60, help="test clips whose fused maps Qabf scores per gain")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="rendering processes for the test clips")
    ap.add_argument("--name", default="detector_clip_synth", help="benchmarks/results/NAME.json (+ PNGs)")
    args = ap.parse_args(argv)

    import torch

    from smartclass.bench import print_table, write_results
    from smartclass.config import load_config
    from smartclass.errors import InputError
    from smartclass.inference import load_model
    from smartclass.metrics.detection import detection_report
    from smartclass.training.detector_clip import clip_predictions, synth_clip_items

    torch.set_num_threads(args.threads)
    gains = [float(g) for g in args.gains.split(",")]
    paths = {name: ROOT / "runs" / "detector" / run / "best.pt" for name, run in RUNS.items()}
    for spec in args.model:
        name, _, path = spec.partition("=")
        if not name or not path:
            raise InputError(f"--model must be NAME=CHECKPOINT, got '{spec}'")
        paths[name] = Path(path)
    cfg = load_config(args.config, [])
    dc = cfg.detector
    t0 = time.perf_counter()
    items = synth_clip_items(cfg.synth, dc, "test", args.test_clips, cfg.train.cache_dir, workers=args.workers)
    print(f"{len(items)} test clips, {len(items.labels)} students ({items.class_counts().tolist()} per class), "
          f"{time.perf_counter() - t0:.0f} s")
    names = list(items.class_names)
    results, fig6, rows = {}, {}, []
    qabf_idx = np.linspace(0, len(items) - 1, min(args.qabf_clips, len(items))).round().astype(int)
    for name, path in paths.items():
        model, info = load_model(path, expected="detector")
        if "arch" not in info["model_config"]:
            raise InputError(f"checkpoint '{path}' is not a clip detector (its model_config has no 'arch')")
        model.eval()
        sk = model.config.skeleton_layout is not None
        t1 = time.perf_counter()
        preds, gts = clip_predictions(model, items, sk, conf=0.001, iou=dc.nms_iou, max_det=dc.max_det)
        seconds = time.perf_counter() - t1
        rep = detection_report(preds, gts, names, conf_threshold=args.conf)
        acc = confusion_accuracies(rep["confusion_matrix"]["matrix"])
        path = path.resolve()
        results[name] = {"arch": model.config.arch, "label": LABELS.get(name, name),
                         "checkpoint": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                         "epoch": info.get("epoch"), "params": sum(p.numel() for p in model.parameters()),
                         "skeletons": sk, **acc, "map50": rep["map50"], "map50_95": rep["map50_95"],
                         "agnostic_ap50": rep["agnostic_ap50"], "precision": rep["precision"], "recall": rep["recall"],
                         "ap50_per_class": {k: v["ap50"] for k, v in rep["per_class"].items()},
                         "confusion_matrix": rep["confusion_matrix"], "clips_per_s": len(items) / seconds}
        per_gain = {"qabf_mean": [], "qabf_images": [[], [], []], "map50": [], "accuracy": []}
        for g in gains:
            q = fused_qabf(model, items, qabf_idx, sk, gain_transform(g))
            per_gain["qabf_mean"].append(float(np.mean(q)))
            for k in range(3):
                per_gain["qabf_images"][k].append(q[k])
            p, t = clip_predictions(model, items, sk, conf=0.001, iou=dc.nms_iou, max_det=dc.max_det,
                                    transform=gain_transform(g))
            r = detection_report(p, t, names, conf_threshold=args.conf)
            per_gain["map50"].append(r["map50"])
            per_gain["accuracy"].append(confusion_accuracies(r["confusion_matrix"]["matrix"])["accuracy"])
        fig6[name] = per_gain
        rows.append({"model": name, "accuracy": acc["accuracy"], "mean class acc": acc["mean_class_accuracy"],
                     "located acc": acc["located_accuracy"], "map50": rep["map50"], "map50_95": rep["map50_95"],
                     "agnostic ap50": rep["agnostic_ap50"], "classes >= 96%": acc["classes_at_or_above_paper"],
                     f"Qabf @{gains[0]:g}": per_gain["qabf_mean"][0], f"Qabf @{gains[-1]:g}": per_gain["qabf_mean"][-1]})
        print(f"{name}: done in {time.perf_counter() - t1:.0f} s")
    print_table(rows, title=f"SmartClass-Synth test split, {len(items)} clips; paper 000: above {PAPER_ACCURACY:.0%}")
    out_dir = ROOT / "benchmarks" / "results"
    cm_png, fig6_png = out_dir / f"{args.name}.confusion.png", out_dir / f"{args.name}.fig6.png"
    plot_confusions(results, names, cm_png)
    plot_fig6(fig6, gains, fig6_png)
    write_results(args.name, {
        "data": {"split": "test", "samples": args.test_clips, "clips": len(items), "students": int(len(items.labels)),
                 "per_class": dict(zip(names, items.class_counts().tolist())), "input": list(items.size),
                 "clip_length": dc.clip_length, "synth": {"width": cfg.synth.width, "height": cfg.synth.height,
                                                          "students": cfg.synth.students}},
        "accuracy_definition": "detections with score >= conf matched one-to-one to ground-truth students at IoU >= "
                               "0.5 (metrics.detection.confusion_matrix); accuracy = matched with the right class / "
                               "all ground-truth students (missed = wrong); per class = diagonal / row",
        "conf": args.conf, "paper_accuracy": PAPER_ACCURACY, "models": results,
        "figure6": {"gains": gains, "qabf_clips": len(qabf_idx),
                    "definition": "Qabf(A = key frame grey, B = |key - first frame| grey, F = channel-mean fused map "
                                  "upsampled bilinearly to the 60x40 input, min-max to 0..255), frames x gain",
                    "models": fig6},
        "figures": [str(cm_png.relative_to(ROOT)), str(fig6_png.relative_to(ROOT))],
    })
    print(f"wrote {out_dir / args.name}.json, {cm_png.name}, {fig6_png.name}")


if __name__ == "__main__":
    main()
