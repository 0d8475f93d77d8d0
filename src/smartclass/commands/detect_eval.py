"""``smartclass detect-eval``: score a detector checkpoint on a labelled split (YOLO, COCO or SmartClass)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("detect-eval")
    def detect_eval(
        checkpoint: Path = typer.Option(..., "--checkpoint", help="a detector checkpoint"),
        data: Path = typer.Option(..., "--data", help="a split folder: YOLO images/ + labels/ (data.yaml in it or "
                                  "its parent), COCO images/ + annotations.json, or a SmartClass data set"),
        fmt: str = typer.Option(..., "--format", help="yolo | coco | smartclass"),
        subset: str = typer.Option("all", help="coco: all | train | heldout (the deterministic held-out fifth); "
                                   "smartclass: the split (all = test)"),
        out: Path = typer.Option(Path("out/detect-eval/report.json"), "--out", help="report JSON; the PR curves "
                                 "go beside it as REPORT.pr.png"),
        conf: float = typer.Option(0.25, help="score threshold of precision, recall and the confusion matrix"),
        val_conf: float = typer.Option(0.001, help="score threshold of the predictions scored for mAP"),
    ) -> None:
        """Per-class AP, map50, map50_95, precision, recall, confusion matrix, FPS; PR curves as PNG."""
        import sys

        from smartclass.bench import environment
        from smartclass.data.detection import load_detection
        from smartclass.errors import InputError
        from smartclass.io import strict_json, write_json_atomic
        from smartclass.metrics.detection import detection_report, plot_pr_curves
        from smartclass.runs import check_out_file, command_line, interrupt_hint
        from smartclass.terminal import console as make_console
        from smartclass.training.detector_predict import FrameDetector, predict_dataset

        if fmt not in ("yolo", "coco", "smartclass"):
            raise InputError(f"--format must be yolo, coco or smartclass, got '{fmt}'")
        if not 0 < conf < 1 or not 0 <= val_conf < 1:
            raise InputError(f"--conf must lie in (0, 1) and --val-conf in [0, 1), got {conf} and {val_conf}")
        check_out_file(out, "--out", (".json",))
        console = make_console()
        detector = FrameDetector.from_checkpoint(checkpoint)
        dataset = load_detection(data, fmt, subset)
        if dataset.class_names != detector.class_names:
            raise InputError(f"--data classes {list(dataset.class_names)} differ from the checkpoint's "
                             f"{list(detector.class_names)}")
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with interrupt_hint(f"kept: nothing (the report is written at the end); rerun: {command_line()}"), \
                Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                         TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("detecting", total=len(dataset))
            preds, gts, timing = predict_dataset(detector, dataset, batch_size=1, conf=val_conf,
                                                 progress=lambda s, n: bar.update(task, completed=s, total=n))
        report = detection_report(preds, gts, dataset.class_names, conf_threshold=conf)
        png = out.with_name(out.stem + ".pr.png")
        plot_pr_curves(report.pop("pr_curves"), str(png), title=f"{checkpoint.name} on {data.name} ({fmt})")
        report.update({"checkpoint": str(checkpoint), "data": str(data), "format": fmt, "subset": subset,
                       "input_size": list(detector.input_size), "val_conf": val_conf,
                       "fps_end_to_end": timing["fps_end_to_end"],
                       "fps_note": "preprocess (letterbox) + network + decode + NMS per decoded frame, batch 1, "
                                   f"at val_conf {val_conf}; image decoding excluded",
                       "pr_curves_png": str(png), "command": command_line(),
                       **environment()})
        write_json_atomic(out, strict_json(report))
        per = ", ".join(f"{k} {v['ap50']:.3f}" for k, v in report["per_class"].items() if v["ap50"] is not None)
        console.print(f"map50 {report['map50']}, map50_95 {report['map50_95']} ({per}); "
                      f"{timing['fps_end_to_end']:.1f} FPS → {out}")
