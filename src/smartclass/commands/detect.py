"""``smartclass detect``: find students in an image, a folder of images or a video; and the detector branch
of ``smartclass train`` (a config with a ``detector:`` section)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import typer

DETECTOR_RESUMABLE = ("detector.epochs", "detector.patience", "detector.time_budget_min", "detector.val_conf",
                      "detector.max_det", "threads", "device")


def is_detector_config(config: Optional[Path], overrides: Iterable[str]) -> bool:
    """A ``smartclass train`` call is the detector's when its YAML has a ``detector:`` section or an override
    sets a ``detector.`` key."""
    from smartclass.config import load_yaml

    if any(o.strip().startswith("detector.") for o in overrides):
        return True
    return config is not None and "detector" in load_yaml(config)


def train_detector_run(config: Optional[Path], overrides: Iterable[str], out: Path, resume: bool,
                       overwrite: bool) -> None:
    """``smartclass train --config configs/detector_<name>.yaml``: the detector on the shared engine."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from smartclass.config import load_config, save_config, to_dict
    from smartclass.io import write_json_atomic
    from smartclass.runs import check_out_dir, command_line, guard_output, interrupt_hint, run_lock
    from smartclass.terminal import console as make_console
    from smartclass.training.detector import train_detector

    cfg = load_config(config, list(overrides))
    if out == Path("runs/mmfg"):  # the recogniser's default folder: give the detector its own
        out = Path("runs/detector") / (config.stem if config is not None else "detector")
    check_out_dir(out)
    guard_output(out, to_dict(cfg), overwrite, ignore=DETECTOR_RESUMABLE if resume else ())
    console = make_console()
    with run_lock(out), interrupt_hint(f"kept: {out}/config.yaml and, after each finished epoch, {out}/last.pt; "
                                       f"resume with: {command_line('--resume')}"):
        save_config(cfg, out / "config.yaml")
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("training", total=1)
            update = lambda s, n: bar.update(task, completed=s, total=n)  # noqa: E731
            _, state = train_detector(cfg, out, resume=resume, log=console.print, progress=update)
        write_json_atomic(out / "history.json", state["history"])
    best = state["best"]
    console.print(f"best validation map50 {best if best is None else round(best, 4)} at epoch {state['best_epoch']} "
                  f"→ {out}/best.pt")


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        source: Path = typer.Argument(..., help="an image, a folder of images or a video"),
        checkpoint: Path = typer.Option(..., "--checkpoint", help="a detector checkpoint, e.g. "
                                        "checkpoints/detector/cctv.pt"),
        out: Path = typer.Option(Path("out/detect"), "--out", help="output folder: annotated images or video, "
                                 "detections.json, detections.csv, labels/*.txt (YOLO)"),
        conf: float = typer.Option(0.25, help="score threshold"),
        every: int = typer.Option(1, help="video: detect on every N-th frame"),
        max_frames: int = typer.Option(0, help="video: stop after this many frames (0: all)"),
    ) -> None:
        """Boxes and classes of every student: annotated images (or video) plus JSON, CSV and YOLO txt."""
        from smartclass.errors import InputError
        from smartclass.runs import check_out_dir, command_line, interrupt_hint
        from smartclass.terminal import console as make_console
        from smartclass.training.detector_io import run_detect

        if not source.exists():
            raise InputError(f"SOURCE '{source}' does not exist")
        if not 0 < conf < 1:
            raise InputError(f"--conf must lie in (0, 1), got {conf}")
        if every < 1 or max_frames < 0:
            raise InputError(f"--every must be ≥ 1 and --max-frames ≥ 0, got {every} and {max_frames}")
        check_out_dir(out)
        console = make_console()
        with interrupt_hint(f"kept: the files written so far in {out} (detections.json is written at the end); "
                            f"rerun: {command_line()}"):
            summary = run_detect(source, checkpoint, out, conf=conf, every=every, max_frames=max_frames,
                                 console=console)
        console.print(f"{summary['detections']} detections in {summary['frames']} frame(s) → {out}")
