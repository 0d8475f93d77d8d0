"""One recogniser checkpoint under the four camera set-ups a classroom may have (issue 19, "Missing modalities").

RGB only, RGB + depth, RGB + thermal and all three, on the same unseen test-split students (SmartClass-Synth,
all four conditions): top-1, macro-F1 and top-1 per condition, each with a Wilson 95 % interval, the drop from
trimodal, and the mean macro-F1 of the four set-ups (the figure by which a training with modality dropout picks its
best epoch, there on validation students). A withheld modality is absent for every sample (the model's own
missing-modality path: zero features and a masked gate), as in a room without that camera.

    python benchmarks/mmfg_modalities.py [--checkpoint checkpoints/mmfg/mmfg.pt] [--samples 800] [--seed 0]
                                         [--split test|val] [--compare OTHER.pt] [--name mmfg_modalities]

``--compare`` (repeatable) evaluates further checkpoints on the same samples in the same run (e.g. the previous
shipped recogniser, trained without modality dropout).
"""

from __future__ import annotations

import argparse
import sys

import torch

COMBINATIONS = (("rgb",), ("rgb", "depth"), ("rgb", "thermal"), ("rgb", "depth", "thermal"))


def score(model, data: dict, names: list[str]) -> dict:
    from smartclass.clip import CONDITIONS
    from smartclass.metrics.classification import macro_f1, wilson_interval

    def wilson(k: int, n: int) -> list[float]:
        return [round(x, 4) for x in wilson_interval(k, n)]
    from smartclass.training.recognizer import predict

    pred = predict(model, data).argmax(1)
    truth = data["label"]
    ok = pred == truth
    cond = data["condition"]
    per = {}
    for i, c in enumerate(CONDITIONS):
        m = cond == i
        if m.any():
            per[c] = {"top1": round(float(ok[m].float().mean()), 4), "ci95": wilson(int(ok[m].sum()), int(m.sum())),
                      "n": int(m.sum())}
    return {"top1": round(float(ok.float().mean()), 4), "ci95": wilson(int(ok.sum()), len(ok)),
            "macro_f1": round(float(macro_f1(pred.numpy(), truth.numpy(), len(names))), 4), "per_condition": per}


def main(argv: list[str] | None = None) -> int:
    from smartclass.bench import write_results
    from smartclass.training.recognizer import withhold_modalities
    from smartclass.inference import shipped_checkpoint
    from smartclass.labels import class_names
    from smartclass.training.evaluate import load_eval_data
    from smartclass.training.recognizer import load_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=None, help="recogniser checkpoint (default: the shipped one)")
    ap.add_argument("--compare", action="append", default=[], help="another checkpoint scored on the same samples "
                    "(repeatable)")
    ap.add_argument("--samples", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="val: for choosing between checkpoints (the test split only reports)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="mmfg_modalities")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    paths = [a.checkpoint or str(shipped_checkpoint("mmfg/mmfg"))] + a.compare
    models = [load_checkpoint(p) for p in paths]
    cfg = models[0][1]["config"]
    from smartclass.config import config_from_dict

    c = config_from_dict(cfg)
    data, described = load_eval_data(f"synth:split={a.split},samples={a.samples},seed={a.seed}", c.synth, c.train)
    names = class_names(c.train.vocabulary)
    results: dict = {"data": described, "checkpoints": {}}
    print(f"{'checkpoint':<40} {'inputs':<20} {'top-1':>6} {'95 % CI':>15} {'macro-F1':>9} {'Δ vs all':>9}")
    for path, (model, ck) in zip(paths, models):
        if config_from_dict(ck["config"]).synth != c.synth and path != paths[0]:
            print(f"note: {path} was trained on other synth settings; scored on the first checkpoint's test data",
                  file=sys.stderr)
        rows = {"+".join(combo): score(model, withhold_modalities(data, combo), names) for combo in COMBINATIONS}
        full = rows["rgb+depth+thermal"]["top1"]
        for k, r in rows.items():
            r["drop_from_trimodal"] = round(full - r["top1"], 4)
            print(f"{path[-40:]:<40} {k:<20} {r['top1']:>6.3f} {str(r['ci95']):>15} {r['macro_f1']:>9.3f} "
                  f"{-r['drop_from_trimodal']:>+9.3f}")
        mean_f1 = round(sum(r["macro_f1"] for r in rows.values()) / len(rows), 4)
        print(f"{path[-40:]:<40} {'mean of the four':<20} {sum(r['top1'] for r in rows.values()) / len(rows):>6.3f} "
              f"{'':>15} {mean_f1:>9.3f}")
        results["checkpoints"][path] = {"epoch": ck.get("epoch"), "train": {
            k: ck["config"]["train"].get(k) for k in ("modality_dropout", "init_from", "epochs", "distill_from",
                                                      "distill_weight", "distill_temperature")},
            "enhance_gate": ck["config"]["model"].get("enhance_gate", False), "combinations": rows,
            "macro_f1_mean_of_setups": mean_f1}
    out = write_results(a.name, results, command="python benchmarks/mmfg_modalities.py " + " ".join(argv or sys.argv[1:]))
    print(f"→ {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
