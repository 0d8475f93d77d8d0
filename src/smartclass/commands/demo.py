"""``smartclass demo``: the main job on the built-in default, with every output under ``--out``.

Until the trimodal pipeline lands, the demo does two things: it renders a SmartClass-Synth classroom clip
and writes a preview (recorded RGB with ground-truth boxes, keypoints and labels, clean reference, depth and
thermal side by side) as MP4 and PNG contact sheet; it runs the shipped trimodal recogniser
(``checkpoints/mmfg/mmfg.pt``) on unseen synthetic test students, one clip per condition; and it trains the paper-002 recogniser head (MST-GCN) on
real Kinect skeletons (UTKinect-Action3D from ``../shared/data``), evaluates it on held-out subjects and
writes a report (JSON) and the confusion matrix (PNG). The merged config is saved beside them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from smartclass.errors import InputError
from smartclass.runs import command_line, output_command


DEFAULT_UTKINECT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "skeleton" / "utkinect"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[3] / "checkpoints" / "mmfg" / "mmfg.pt"


def recognise_synthetic(checkpoint: Path, seed: int) -> dict:
    """Run the shipped recogniser on one test-split clip per condition; per-student predictions and top-1."""
    import dataclasses

    import torch

    from smartclass.config import config_from_dict
    from smartclass.clip import CONDITIONS
    from smartclass.crops import student_sample
    from smartclass.labels import class_names
    from smartclass.synth.generator import render_clip
    from smartclass.training.recognizer import load_checkpoint

    model, ck = load_checkpoint(checkpoint)
    cfg = config_from_dict(ck.get("config") or {})
    tc = cfg.train
    names = class_names(tc.vocabulary)
    synth = dataclasses.replace(cfg.synth, split="test", frames=tc.frames, fps=tc.fps, seed=seed + 1000,
                                conditions=CONDITIONS)
    rows = []
    for index in range(len(CONDITIONS)):
        clip = render_clip(synth, index)
        items = [student_sample(clip, s, tc.crop, tc.vocabulary) for s in clip.students]
        stack = lambda k: torch.stack([it[k] for it in items])
        with torch.no_grad():
            probs = model(stack("rgb"), stack("depth"), stack("thermal")).logits.softmax(1)
        for it, p in zip(items, probs):
            rows.append({"condition": clip.condition, "truth": names[it["label"]], "predicted": names[int(p.argmax())],
                         "confidence": float(p.max())})
    top1 = sum(r["truth"] == r["predicted"] for r in rows) / len(rows)
    return {"checkpoint": str(checkpoint), "students": rows, "top1": top1}


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @output_command(lambda a: f"kept: the outputs finished so far in {a['out']} (preview, recognition.json, then "
                              f"report.json and confusion.png); rerun: {command_line()}")
    def demo(
        out: Path = typer.Option(Path("out/demo"), help="output folder"),
        root: Path = typer.Option(DEFAULT_UTKINECT, help="UTKinect-Action3D folder"),
        epochs: int = typer.Option(40, min=1, help="MST-GCN training epochs on UTKinect"),
        seed: int = typer.Option(0, min=0, help="seed of the synthetic clip, the subject split and the training"),
        frames: int = typer.Option(32, min=1, help="frames of the synthetic preview clip"),
        checkpoint: Path = typer.Option(DEFAULT_CHECKPOINT, help="trained recogniser run on synthetic test clips"),
    ) -> None:
        """Show what smartclass does now; every output goes under --out (a few minutes on a CPU).

        1. Renders a SmartClass-Synth classroom clip: preview MP4 and PNG (ground truth, depth, thermal).

        2. Runs the shipped trimodal recogniser (paper 002) on unseen synthetic students: recognition.json.

        3. With UTKinect-Action3D at --root: trains and tests MST-GCN on held-out subjects: report.json,
        confusion.png (skipped with a note when the data is absent).

        The merged config is saved as config.yaml. Paper 000's detector is not part of the demo."""
        if checkpoint is not None and checkpoint.is_dir():
            raise InputError(f"--checkpoint '{checkpoint}' is a folder; expected a checkpoint file (.pt)")
        if root.exists() and not root.is_dir():
            raise InputError(f"--root '{root}' is a file; expected the UTKinect-Action3D folder")
        import time

        import numpy as np
        import torch
        from smartclass.terminal import console as make_console

        from smartclass.config import load_config, save_config
        from smartclass.data.skeleton import UTKINECT_ACTIONS, load_utkinect
        from smartclass.io import write_json_atomic
        from smartclass.metrics.classification import classification_report, plot_confusion_matrix
        from smartclass.skeleton.protocol import GCNSettings, cross_subject_splits, fit_gcn, sequence_tensor

        console = make_console()
        from smartclass.synth.config import SynthConfig
        from smartclass.synth.generator import render_clip
        from smartclass.synth.preview import write_preview

        t0 = time.perf_counter()
        clip = render_clip(SynthConfig(frames=frames, seed=seed, conditions=("occlusion",)), 0)
        paths = write_preview(clip, out, stem="synth_preview")
        console.print(f"SmartClass-Synth: {frames}-frame clip with {len(clip.students)} students rendered in "
                      f"{time.perf_counter() - t0:.1f} s → {paths['mp4']}, {paths['png']}")
        if checkpoint.is_file():
            t0 = time.perf_counter()
            rec = recognise_synthetic(checkpoint, seed)
            write_json_atomic(out / "recognition.json", rec)
            wrong = [r for r in rec["students"] if r["truth"] != r["predicted"]]
            console.print(f"trimodal recogniser ({checkpoint.name}) on {len(rec['students'])} unseen test students, one "
                          f"clip per condition: top-1 {rec['top1']:.3f} in {time.perf_counter() - t0:.1f} s → "
                          f"{out}/recognition.json" + (f"; e.g. {wrong[0]['truth']} taken for {wrong[0]['predicted']}"
                                                       if wrong else ""))
        else:
            console.print(f"no recogniser checkpoint at {checkpoint}; skipping recognition")
        save_config(load_config(None, [f"seed={seed}", f"synth.seed={seed}", f"synth.frames={frames}",
                                       "synth.conditions=[occlusion]"]), out / "config.yaml")
        if not root.is_dir():  # the real-skeleton part needs data that is not shipped with smartclass
            console.print(f"UTKinect-Action3D not found at '{root}': skipping the skeleton part "
                          "(pass --root pointing at joints_sXX_eYY.txt + actionLabel.txt)")
            return
        torch.manual_seed(seed)
        samples = load_utkinect(root)
        tr, te = next(cross_subject_splits(samples, "utkinect", repeats=1, seed=seed))
        train, test = [samples[i] for i in tr], [samples[i] for i in te]
        settings = GCNSettings(epochs=epochs, seed=seed)
        console.print(f"UTKinect: {len(train)} training and {len(test)} test sequences "
                      f"(subjects {sorted({s.subject for s in train})} train); training MST-GCN for {epochs} epochs…")
        t0 = time.perf_counter()
        model = fit_gcn("mstgcn", train, len(UTKINECT_ACTIONS), settings)
        with torch.no_grad():
            scores = model(sequence_tensor(test, settings)).numpy()
        report = classification_report(scores, np.array([s.label for s in test]), UTKINECT_ACTIONS, ks=(1, 3))
        report["train_seconds"] = time.perf_counter() - t0
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "report.json", report)
        plot_confusion_matrix(report["confusion_matrix"], UTKINECT_ACTIONS, out / "confusion.png",
                              title="MST-GCN on UTKinect (held-out subjects)")
        console.print(f"top-1 {report['top1']:.3f}, macro-F1 {report['macro_f1']:.3f} → {out}/report.json, "
                      f"{out}/confusion.png")
