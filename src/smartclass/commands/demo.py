"""``smartclass demo``: the main job on the built-in default, with every output under ``--out``.

Until the trimodal pipeline lands, the demo does two things: it renders a SmartClass-Synth classroom clip
and writes a preview (recorded RGB with ground-truth boxes, keypoints and labels, clean reference, depth and
thermal side by side) as MP4 and PNG contact sheet; it runs the shipped trimodal recogniser
(``checkpoints/mmfg/mmfg.pt``) on unseen synthetic test students, one clip per condition; and it trains the
paper-002 recogniser head (MST-GCN) on real Kinect skeletons (UTKinect-Action3D at ``--utkinect``, default
``../shared/data/skeleton/utkinect`` from the working directory, or ``$SMARTCLASS_UTKINECT``), evaluates it
on held-out subjects and writes a report (JSON) and the confusion matrix (PNG). The merged config is saved
beside them. The work itself lives in the library (``inference.students``, ``skeleton.protocol``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartclass.errors import InputError
from smartclass.runs import command_line, output_command


DEFAULT_UTKINECT = Path("../shared/data/skeleton/utkinect")  # relative to the working directory


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @output_command(lambda a: f"kept: the outputs finished so far in {a['out']} (preview, recognition.json, then "
                              f"report.json and confusion.png); rerun: {command_line()}")
    def demo(
        out: Path = typer.Option(Path("out/demo"), help="output folder"),
        root: Path = typer.Option(DEFAULT_UTKINECT, "--utkinect", "--root", envvar="SMARTCLASS_UTKINECT",
                                  help="UTKinect-Action3D folder (relative to the working directory)"),
        epochs: int = typer.Option(40, min=1, help="MST-GCN training epochs on UTKinect"),
        seed: int = typer.Option(0, min=0, help="seed of the synthetic clip, the subject split and the training"),
        frames: int = typer.Option(32, min=1, help="frames of the synthetic preview clip"),
        checkpoint: Optional[Path] = typer.Option(None, help="trained recogniser run on synthetic test clips "
                                                  "(default: the shipped checkpoints/mmfg/mmfg.pt)"),
        overwrite: bool = typer.Option(False, "--overwrite", help="write into OUT even if it holds another run's "
                                       "outputs made with a different config"),
    ) -> None:
        """Show what smartclass does now; every output goes under --out (a few minutes on a CPU).

        1. Renders a SmartClass-Synth classroom clip: preview MP4 and PNG (ground truth, depth, thermal).

        2. Runs the shipped trimodal recogniser (paper 002) on unseen synthetic students: recognition.json.

        3. With UTKinect-Action3D at --utkinect: trains and tests MST-GCN on held-out subjects: report.json,
        confusion.png (skipped with a note when the data is absent).

        The merged config is saved as config.yaml. Paper 000's detector is not part of the demo."""
        if checkpoint is not None and checkpoint.is_dir():
            raise InputError(f"--checkpoint '{checkpoint}' is a folder; expected a checkpoint file (.pt)")
        if root.exists() and not root.is_dir():
            raise InputError(f"--utkinect/--root '{root}' is a file; expected the UTKinect-Action3D folder")
        import time

        from smartclass.config import load_config, save_config
        from smartclass.inference import shipped_checkpoint
        from smartclass.inference.students import recognise_synthetic
        from smartclass.io import write_json_atomic
        from smartclass.synth.config import SynthConfig
        from smartclass.synth.generator import render_clip
        from smartclass.synth.preview import write_preview
        from smartclass.terminal import console as make_console

        from smartclass.config import to_dict
        from smartclass.runs import guard_output

        cfg = load_config(None, [f"seed={seed}", f"synth.seed={seed}", f"synth.frames={frames}",
                                 "synth.conditions=[occlusion]", f"skeleton.epochs={epochs}", f"skeleton.seed={seed}"])
        guard_output(out, to_dict(cfg), overwrite)  # before any work: another run's outputs are not mixed in
        console = make_console()
        checkpoint = checkpoint if checkpoint is not None else shipped_checkpoint("mmfg/mmfg")
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
        save_config(cfg, out / "config.yaml")
        if not root.is_dir():  # the real-skeleton part needs data that is not shipped with smartclass
            console.print(f"UTKinect-Action3D not found at '{root}': skipping the skeleton part "
                          "(pass --utkinect pointing at joints_sXX_eYY.txt + actionLabel.txt)")
            return
        from smartclass.data.skeleton import UTKINECT_ACTIONS
        from smartclass.metrics.classification import plot_confusion_matrix
        from smartclass.skeleton.protocol import holdout_report

        console.print(f"UTKinect: training MST-GCN for {epochs} epochs on half the subjects, testing on the others…")
        report = holdout_report(root, cfg.skeleton, device=cfg.device)
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "report.json", report)
        plot_confusion_matrix(report["confusion_matrix"], UTKINECT_ACTIONS, out / "confusion.png",
                              title="MST-GCN on UTKinect (held-out subjects)")
        console.print(f"{report['train_sequences']} training / {report['test_sequences']} test sequences: top-1 "
                      f"{report['top1']:.3f}, macro-F1 {report['macro_f1']:.3f} in {report['train_seconds']:.0f} s → "
                      f"{out}/report.json, {out}/confusion.png")
