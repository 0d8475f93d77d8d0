"""Ablation of the real-frame detector on one real set: the full model (MobileNetV2 ImageNet + CFAM/dual attention
+ FPN neck, strides 8/16/32) against the three single removals, all trained with the same short schedule and seed
and scored by ``smartclass detect-eval`` on the held-out split.

    python benchmarks/detector_ablation.py --full-seeds 0,1         # students7 (ClaBehavior held-out fifth)
    python benchmarks/detector_ablation.py --epochs 9 --full-seeds 0,1 --name detector_ablation_short
    python benchmarks/detector_ablation.py --set cctv --epochs 12   # classroom-cctv valid/

Variants (``--variants``; each is the set's config plus these overrides):

- ``full``: the shipped architecture;
- ``no_neck``: ``detector.neck=false``, the paper's single 5-anchor head at stride 32 (no FPN levels);
- ``no_pretrained``: ``detector.pretrained=false`` and ``detector.freeze_layers=0``: a randomly initialised
  MobileNetV2, all of it trained (freezing the first layers only makes sense for ImageNet weights);
- ``no_cfam``: ``detector.cfam=false``, a plain 1×1 + 3×3 conv block in place of CFAM + dual attention.

``--full-seeds 0,1`` also trains the full model with further seeds (the noise of one run); the removals use
the first seed. Every run trains ``--epochs`` × ``--steps`` batches with no time budget (equal steps for all),
into ``runs/ablation/<set>/<variant>/`` (``last.pt`` after every epoch: an interrupted run resumes there), and
its **last** epoch's weights are scored (no selection on the scored split). A variant whose ``eval.json`` is
there with the same overrides is not run again. Writes ``benchmarks/results/detector_ablation[_<set>].json``
(+ ``.png``: held-out map50 per epoch) and prints the table, with the shipped checkpoint's figure as a reference
row (trained much longer, not in this run).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "students7": {"config": "configs/detector_students7.yaml", "format": "coco",
                  "data": "../shared/data/clabehavior/train", "subset": "heldout",
                  "split": "ClaBehavior held-out fifth (72 images, 1480 students)",
                  "shipped": "benchmarks/results/detector_students7_heldout.json",
                  "shipped_what": "shipped students7.pt: 40 epochs × 40 steps, best of 40 by held-out map50"},
    "cctv": {"config": "configs/detector_cctv.yaml", "format": "yolo", "data": "../shared/data/classroom-cctv/valid",
             "subset": "all", "split": "classroom-cctv valid/ (47 images, 1155 heads)",
             "shipped": "benchmarks/results/detector_cctv_valid.json",
             "shipped_what": "shipped cctv.pt: 39 epochs × 50 steps, best of 39 by valid map50"},
}
VARIANTS = {
    "full": ((), "nothing (MobileNetV2 ImageNet + CFAM/dual attention + FPN 8/16/32)"),
    "no_neck": (("detector.neck=false",), "FPN neck: single stride-32 head (the paper's)"),
    "no_pretrained": (("detector.pretrained=false", "detector.freeze_layers=0"), "ImageNet weights: random init"),
    "no_cfam": (("detector.cfam=false",), "CFAM + dual attention: plain 1×1 + 3×3 convs"),
}
COLUMNS = ["variant", "seed", "map50", "map50_95", "agnostic_ap50", "precision", "recall", "d_map50",
           "params_M", "train_min"]


def run_name(variant: str, seed: int, first_seed: int) -> str:
    """Run folder / row name: the variant, with ``_seed<k>`` for the full model's extra seeds."""
    return variant if seed == first_seed else f"{variant}_seed{seed}"


def variant_overrides(variant: str, epochs: int, steps: int, seed: int, threads: int = 1) -> list[str]:
    """``key=value`` overrides of the set's config for one variant: same schedule and seed for all, no time budget."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant '{variant}', expected one of {', '.join(VARIANTS)}")
    return [f"threads={threads}", f"seed={seed}", f"detector.epochs={epochs}", f"detector.steps_per_epoch={steps}",
            "detector.time_budget_min=0", *VARIANTS[variant][0]]


def variant_config(set_name: str, variant: str, epochs: int, steps: int, seed: int, threads: int = 1):
    """The merged :class:`smartclass.config.Config` a variant trains with."""
    from smartclass.config import load_config

    return load_config(ROOT / SETS[set_name]["config"], variant_overrides(variant, epochs, steps, seed, threads))


def row_from_report(name: str, variant: str, seed: int, report: dict, history: list[dict], params: int,
                    class_names) -> dict:
    """One table row from a ``detect-eval`` report and the run's per-epoch history."""
    row = {"variant": name, "removed": VARIANTS[variant][1], "seed": seed,
           **{k: report[k] for k in ("map50", "map50_95", "agnostic_ap50", "precision", "recall")},
           "params_M": round(params / 1e6, 3), "train_min": round(history[-1]["seconds"] / 60, 2) if history else None,
           "epochs": len(history),
           "ap50": {c: report["per_class"][c]["ap50"] for c in class_names},
           "val_map50_per_epoch": [round(h.get("map50", 0.0), 4) for h in history]}
    return row


def add_deltas(rows: list[dict], full_name: str = "full") -> list[dict]:
    """``d_map50``: each row's map50 minus the full model's (first seed)."""
    ref = next((r["map50"] for r in rows if r["variant"] == full_name), None)
    for r in rows:
        r["d_map50"] = None if ref is None or r.get("map50") is None else round(r["map50"] - ref, 4)
    return rows


def seed_spread(rows: list[dict]) -> dict | None:
    """map50 / agnostic AP50 of the full model over its seeds (``None`` with one seed)."""
    full = [r for r in rows if r["variant"] == "full" or r["variant"].startswith("full_seed")]
    if len(full) < 2:
        return None
    out = {"seeds": [r["seed"] for r in full]}
    for k in ("map50", "map50_95", "agnostic_ap50"):
        v = [r[k] for r in full]
        out[k] = {"min": min(v), "max": max(v), "mean": sum(v) / len(v), "range": max(v) - min(v)}
    return out


def write_table(rows: list[dict], reference: dict | None, spread: dict | None, meta: dict, name: str,
                out_dir: Path | None = None) -> Path:
    """Print the table and write ``benchmarks/results/<name>.json`` (``write_results``: machine, versions, command)."""
    from smartclass.bench import print_table, write_results

    shown = [dict(r) for r in rows] + ([dict(reference)] if reference else [])
    print_table(shown, COLUMNS, title=f"detector ablation, {meta['split']}: {meta['epochs']} epochs × "
                                      f"{meta['steps']} steps each (reference row not trained in this run)")
    if spread:
        print(f"full model over seeds {spread['seeds']}: map50 {spread['map50']['min']:.3f}–"
              f"{spread['map50']['max']:.3f} (range {spread['map50']['range']:.3f})")
    return write_results(name, {**meta, "rows": rows, "reference": reference, "full_seed_spread": spread},
                         out_dir=out_dir)


def plot_curves(rows: list[dict], path: Path, title: str) -> None:
    """Held-out map50 (training's validation, score ≥ val_conf) after every epoch, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from smartclass.io import atomic_path

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        ys = r["val_map50_per_epoch"]
        ax.plot(range(1, len(ys) + 1), ys, marker="o", ms=3, label=r["variant"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("map50 (validation during training)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def reference_row(set_name: str) -> dict | None:
    """The shipped checkpoint's committed detect-eval figures, labelled as not trained in this run."""
    spec = SETS[set_name]
    path = ROOT / spec["shipped"]
    if not path.is_file():
        return None
    rep = json.loads(path.read_text())
    return {"variant": "reference (not trained in this run)", "removed": spec["shipped_what"], "seed": 0,
            **{k: rep[k] for k in ("map50", "map50_95", "agnostic_ap50", "precision", "recall")},
            "d_map50": None, "params_M": None, "train_min": None, "source": spec["shipped"]}


def planned_epochs(run: Path) -> int | None:
    """``detector.epochs`` of the run already in ``run`` (``None`` when there is none)."""
    import yaml

    cfg = run / "config.yaml"
    if not cfg.is_file():
        return None
    return int(((yaml.safe_load(cfg.read_text()) or {}).get("detector") or {}).get("epochs", 0))


def fail(message: str, code: int = 2) -> None:
    """One line on stderr and exit ``code`` (2: bad arguments, as the smartclass CLI)."""
    import sys

    print(f"detector_ablation: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_variant(set_name: str, variant: str, seed: int, name: str, args, log=print) -> dict:
    """Train (or resume) one variant into ``runs/ablation/<set>/<name>``, score its last epoch, return its row."""
    import torch

    from smartclass.cli import main as cli
    from smartclass.inference import load_model

    spec = SETS[set_name]
    run = Path(os.path.relpath(Path(args.runs) / set_name / name, ROOT))
    overrides = variant_overrides(variant, args.epochs, args.steps, seed, args.threads)
    report_path = run / "eval.json"
    done = run / "ablation.json"
    if done.is_file() and report_path.is_file():
        prev = json.loads(done.read_text())
        if prev.get("overrides") == overrides:
            log(f"{name}: already trained and scored ({report_path}), skipped")
            return prev["row"]
    have = planned_epochs(run)
    if have is not None and have != args.epochs:
        fail(f"{run} holds a run planned for {have} epochs, not --epochs {args.epochs}; remove that folder or "
             f"pass --epochs {have}")
    resume = (run / "last.pt").is_file()
    log(f"{name}: {'resuming' if resume else 'training'} ({' '.join(overrides)})")
    cmd = ["train", "--config", spec["config"], "--out", str(run), *(["--resume"] if resume else []), *overrides]
    rc = cli(cmd)
    if rc:
        raise SystemExit(rc if rc == 130 else f"detector_ablation: training failed (exit {rc}): smartclass "
                                              f"{' '.join(cmd)}")
    ev = ["detect-eval", "--checkpoint", str(run / "last.pt"), "--data", spec["data"], "--format", spec["format"],
          "--subset", spec["subset"], "--out", str(report_path)]
    rc = cli(ev)
    if rc:
        raise SystemExit(rc if rc == 130 else f"detector_ablation: detect-eval failed (exit {rc}): smartclass "
                                              f"{' '.join(ev)}")
    report = json.loads(report_path.read_text())
    model, info = load_model(run / "last.pt", expected="detector")
    params = sum(p.numel() for p in model.parameters())
    history = json.loads((run / "history.json").read_text())
    row = row_from_report(name, variant, seed, report, history, params, list(report["per_class"]))
    row["commands"] = ["smartclass " + " ".join(cmd), "smartclass " + " ".join(ev)]
    from smartclass.io import write_json_atomic

    write_json_atomic(done, {"overrides": overrides, "row": row})
    del model, torch
    return row


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="students7", choices=sorted(SETS), help="real set (default students7)")
    ap.add_argument("--epochs", type=int, default=24, help="epochs per run (default 24)")
    ap.add_argument("--steps", type=int, default=40, help="batches per epoch (default 40; batch size from the config)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {','.join(VARIANTS)}")
    ap.add_argument("--full-seeds", default="0", help="seeds of the full model, e.g. 0,1 (the first seeds every run)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--runs", default="runs/ablation", help="root of the run folders (default runs/ablation)")
    ap.add_argument("--results-dir", default=None, help="where the JSON and PNG go (default benchmarks/results)")
    ap.add_argument("--name", default=None, help="results file stem (default detector_ablation, or "
                    "detector_ablation_<set> for a set other than students7); must start with detector_ablation")
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.steps < 1 or args.threads < 1:
        ap.error(f"--epochs, --steps and --threads must be >= 1, got {args.epochs}, {args.steps}, {args.threads}")
    if args.name is not None and not args.name.startswith("detector_ablation"):
        ap.error(f"--name must start with detector_ablation, got '{args.name}'")
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in args.variants if v not in VARIANTS]
    if bad or not args.variants:
        ap.error(f"--variants: unknown {', '.join(bad) or '(none given)'}; expected names from {', '.join(VARIANTS)}")
    try:
        args.full_seeds = [int(s) for s in args.full_seeds.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--full-seeds must be comma-separated integers, got '{args.full_seeds}'")
    if not args.full_seeds or len(set(args.full_seeds)) != len(args.full_seeds):
        ap.error(f"--full-seeds must list distinct integers, got '{args.full_seeds}'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("COLUMNS", "140")  # the table's width when the output goes to a log file
    args.runs = Path(args.runs).resolve()
    args.results_dir = Path(args.results_dir).resolve() if args.results_dir else None
    os.chdir(ROOT)  # the configs name their data relative to the repository root
    import sys

    import torch

    torch.set_num_threads(args.threads)  # also when every variant is already done (the results record it)

    first = args.full_seeds[0]
    # the removals before the full model's extra seeds: the noise estimate is the first thing to drop
    plan = [(v, first) for v in args.variants] + [("full", s) for s in args.full_seeds[1:] if "full" in args.variants]
    rows = [run_variant(args.set, v, s, run_name(v, s, first), args) for v, s in plan]
    add_deltas(rows)
    spec = SETS[args.set]
    meta = {"set": args.set, "split": spec["split"], "config": spec["config"], "epochs": args.epochs,
            "steps": args.steps, "batches_seen": args.epochs * args.steps,
            "scored": "last epoch's weights (last.pt), smartclass detect-eval at val_conf 0.001, conf 0.25",
            "schedule_note": "short, equal-budget schedule for every variant; the shipped checkpoints trained "
                             "far longer (see the reference row)",
            "variants": {v: {"overrides": list(VARIANTS[v][0]), "removed": VARIANTS[v][1]} for v in args.variants}}
    name = args.name or ("detector_ablation" if args.set == "students7" else f"detector_ablation_{args.set}")
    path = write_table(rows, reference_row(args.set), seed_spread(rows), meta, name, out_dir=args.results_dir)
    plot_curves(rows, path.with_suffix(".png"), f"{spec['split']}: {args.epochs} epochs × {args.steps} steps")
    print(f"→ {path}, {path.with_suffix('.png')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
