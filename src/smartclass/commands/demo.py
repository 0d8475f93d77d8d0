"""``smartclass demo``: the main job on the built-in default, with every output under ``--out``.

Until the trimodal pipeline lands, the demo does two things: it renders a SmartClass-Synth classroom clip
and writes a preview (recorded RGB with ground-truth boxes, keypoints and labels, clean reference, depth and
thermal side by side) as MP4 and PNG contact sheet; and it trains the paper-002 recogniser head (MST-GCN) on
real Kinect skeletons (UTKinect-Action3D from ``../shared/data``), evaluates it on held-out subjects and
writes a report (JSON) and the confusion matrix (PNG). The merged config is saved beside them.
"""

from __future__ import annotations

from pathlib import Path

import typer

from smartclass.errors import DataError

DEFAULT_UTKINECT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "skeleton" / "utkinect"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("out/demo"), help="output folder"),
        root: Path = typer.Option(DEFAULT_UTKINECT, help="UTKinect-Action3D folder"),
        epochs: int = typer.Option(40, help="training epochs"),
        seed: int = typer.Option(0),
        frames: int = typer.Option(32, help="frames of the synthetic preview clip"),
    ) -> None:
        """Preview a synthetic classroom clip; train MST-GCN on held-out-subject UTKinect and report it."""
        import time

        import numpy as np
        import torch
        from rich.console import Console

        from smartclass.config import load_config, save_config
        from smartclass.data.skeleton import UTKINECT_ACTIONS, load_utkinect
        from smartclass.io import write_json_atomic
        from smartclass.metrics.classification import classification_report, plot_confusion_matrix
        from smartclass.skeleton.protocol import GCNSettings, cross_subject_splits, sequence_tensor, train_gcn

        if not root.is_dir():
            raise DataError(f"demo data '{root}' not found: pass --root pointing at UTKinect-Action3D "
                            "(joints_sXX_eYY.txt + actionLabel.txt)")
        console = Console()
        from smartclass.synth.config import SynthConfig
        from smartclass.synth.generator import render_clip
        from smartclass.synth.preview import write_preview

        t0 = time.perf_counter()
        clip = render_clip(SynthConfig(frames=frames, seed=seed, conditions=("occlusion",)), 0)
        paths = write_preview(clip, out, stem="synth_preview")
        console.print(f"SmartClass-Synth: {frames}-frame clip with {len(clip.students)} students rendered in "
                      f"{time.perf_counter() - t0:.1f} s → {paths['mp4']}, {paths['png']}")
        torch.manual_seed(seed)
        samples = load_utkinect(root)
        tr, te = next(cross_subject_splits(samples, "utkinect", repeats=1, seed=seed))
        train, test = [samples[i] for i in tr], [samples[i] for i in te]
        settings = GCNSettings(epochs=epochs, seed=seed)
        console.print(f"UTKinect: {len(train)} training and {len(test)} test sequences "
                      f"(subjects {sorted({s.subject for s in train})} train); training MST-GCN for {epochs} epochs…")
        t0 = time.perf_counter()
        model = train_gcn("mstgcn", train, test, len(UTKINECT_ACTIONS), settings, return_model=True)
        with torch.no_grad():
            scores = model(sequence_tensor(test, settings)).numpy()
        report = classification_report(scores, np.array([s.label for s in test]), UTKINECT_ACTIONS, ks=(1, 3))
        report["train_seconds"] = time.perf_counter() - t0
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "report.json", report)
        plot_confusion_matrix(report["confusion_matrix"], UTKINECT_ACTIONS, out / "confusion.png",
                              title="MST-GCN on UTKinect (held-out subjects)")
        save_config(load_config(None, [f"seed={seed}", f"synth.seed={seed}", f"synth.frames={frames}",
                                       "synth.conditions=[occlusion]"]), out / "config.yaml")
        console.print(f"top-1 {report['top1']:.3f}, macro-F1 {report['macro_f1']:.3f} → {out}/report.json, "
                      f"{out}/confusion.png")
