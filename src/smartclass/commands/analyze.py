"""``smartclass analyze SOURCE --out DIR``: per-student behaviour timelines, class engagement, an annotated video
and a report from a classroom video, a folder of frames, a camera, a stream or the built-in synthetic classroom
(the default). The pipeline is :mod:`smartclass.analyze`; see docs/analyze.md."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

_CHECKPOINTS = Path(__file__).resolve().parents[3] / "checkpoints" / "detector"
#: the detector checkpoint picked by source: SmartClass-Synth frames → paper 000's 8 classes; real frames →
#: whole students in real classrooms (ClaBehavior)
DEFAULT_DETECTORS = {"synth": "synth8", "real": "students7"}


def default_checkpoint(source_kind: str) -> Path:
    """The shipped detector checkpoint for a source kind (``'synth'``, or anything else = real frames): the
    packaged ``detector/<name>`` (:func:`smartclass.inference.shipped_checkpoint`), else
    ``checkpoints/detector/<name>.pt`` of the repository."""
    name = DEFAULT_DETECTORS["synth" if source_kind == "synth" else "real"]
    try:
        from smartclass.inference import shipped_checkpoint

        return Path(shipped_checkpoint(f"detector/{name}"))
    except Exception:  # an older package without shipped checkpoints, or none of that name shipped
        return _CHECKPOINTS / f"{name}.pt"


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        source: str = typer.Argument("synth:classroom", help="video file, folder of frames, camera index, rtsp/http URL, "
                                     "or synth:classroom[,seed=…,students=…,conditions=…,seconds=…]"),
        out: Path = typer.Option(Path("out/analyze"), "--out", help="output folder"),
        checkpoint: Optional[Path] = typer.Option(None, help="detector checkpoint (default: synth8 for synth:, "
                                                  "students7 — ClaBehavior's 7 classes — for real video)"),
        detect_every: int = typer.Option(0, help="detect on every K-th frame (0: K = fps//3, at least 3 detections a second)"),
        batch: int = typer.Option(4, help="frames per detector call"),
        tracker: str = typer.Option("bytetrack", help="bytetrack, botsort (drifting camera) or iou (baseline)"),
        smoothing: str = typer.Option("viterbi", help="viterbi, hysteresis or none"),
        blur_faces: bool = typer.Option(False, "--blur-faces", help="blur every head in the annotated video and thumbnails"),
        depth: Optional[Path] = typer.Option(None, help="paired depth stream (folder of 16-bit PNG in mm, or a video)"),
        thermal: Optional[Path] = typer.Option(None, help="paired thermal stream (folder of .npy °C or images, or a video)"),
        calibration: Optional[Path] = typer.Option(None, help="camera calibration JSON (rgb/depth/thermal cameras)"),
        paired_fps: Optional[float] = typer.Option(None, help="frame rate of paired depth/thermal folders (default 25)"),
        fps: float = typer.Option(25.0, help="frame rate of a folder of frames"),
        max_seconds: Optional[float] = typer.Option(None, help="stop after this many seconds of input"),
        engagement: Optional[Path] = typer.Option(None, help="JSON mapping behaviour → engaged (true/false/null)"),
        video: bool = typer.Option(True, "--video/--no-video", help="write annotated.mp4"),
        report: bool = typer.Option(True, "--report/--no-report", help="write report.html"),
        enhance: bool = typer.Option(True, "--enhance/--no-enhance", help="enhance dark frames before detection"),
        behaviour: str = typer.Option("auto", help="per-student behaviour: temporal (the track temporal model, an attention "
                                      "LSTM over the track), window (the detector's classes voted over 1 s), or auto "
                                      "(temporal where a model for the detector is shipped, else window)"),
        temporal_model: Optional[Path] = typer.Option(None, help="track temporal model checkpoint (default: the shipped "
                                                      "one for the detector)"),
        recogniser: str = typer.Option("auto", help="paper 002's trimodal recogniser on each tracked student's crops, "
                                       "fused with the track's behaviour: on, off, or auto (on where depth or thermal "
                                       "is given and a fusion for the detector is shipped)"),
        recogniser_checkpoint: Optional[Path] = typer.Option(None, help="recogniser checkpoint (default: the shipped "
                                                             "mmfg/mmfg_jitter, trained for detected boxes)"),
        fusion: Optional[Path] = typer.Option(None, help="fusion checkpoint (default: the shipped one for the detector)"),
        recognise_every: float = typer.Option(1.0, help="seconds between two recognitions of a student"),
        score_threshold: Optional[float] = typer.Option(None, help="drop detections below this score (default: the "
                                                        "detector's tuned value; ByteTrack's second stage uses the weak ones)"),
        track_activation: Optional[float] = typer.Option(None, help="detector score that starts a track (default: the "
                                                         "detector's tuned value)"),
        timeout: float = typer.Option(10.0, help="a live stream that sends nothing for this many seconds ends"),
        threads: int = typer.Option(2, help="CPU threads for the detector"),
        device: str = typer.Option("cpu", help="torch device of the detector"),
        runtime: str = typer.Option("auto", help="detector runtime: onnx (ONNX Runtime), torch, or auto (ONNX Runtime on CPU)"),
    ) -> None:
        """Analyse a lesson: who does what when, how engaged the class is, written under --out as the run goes."""
        import time

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from smartclass.analyze.detector import CheckpointDetector
        from smartclass.analyze.engagement import load_mapping
        from smartclass.analyze.outputs import analyze_to_folder
        from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer, tracking_for
        from smartclass.analyze.recognise import choose_recogniser
        from smartclass.analyze.sources import open_source, with_paired
        from smartclass.analyze.temporal import choose_behaviour
        from smartclass.errors import ConfigError
        from smartclass.terminal import console as make_console

        console = make_console()
        if batch < 1:
            raise ConfigError(f"--batch: expected ≥ 1, got {batch}")
        if max_seconds is not None and max_seconds <= 0:
            raise ConfigError(f"--max-seconds: expected > 0, got {max_seconds}")
        ckpt = checkpoint or default_checkpoint("synth" if source.strip().startswith("synth:") else "real")
        if not Path(ckpt).is_file():
            raise ConfigError(f"--checkpoint: no detector checkpoint at '{ckpt}'"
                              + ("" if checkpoint else " (the default for this source); train one or pass --checkpoint"))
        tuned_cut, tuned = tracking_for(Path(ckpt).stem)
        if track_activation is not None:
            tuned.update(track_activation=track_activation, track_high=max(track_activation, tuned.get("track_high", 0.15)))
        cut = score_threshold if score_threshold is not None else (0.02 if tuned_cut is None else tuned_cut)
        det = CheckpointDetector(ckpt, device=device, score_threshold=cut, threads=threads, runtime=runtime)
        mode, temporal = choose_behaviour(det, behaviour, temporal_model, device)
        if source.strip().startswith("synth:"):
            console.print("rendering the synthetic classroom (SmartClass-Synth, with ground truth)…")
        src = open_source(source, fps=fps, timeout=timeout)
        src = with_paired(src, depth, thermal, calibration, paired_fps)
        rec, fus = choose_recogniser(det, recogniser, src, recogniser_checkpoint, fusion, recognise_every, device)
        console.print(f"detector: {det.name} ({ckpt}, {len(det.class_names)} classes: {', '.join(det.class_names)})"
                      + ("" if checkpoint else " — the default for this source"))
        console.print(f"behaviour: {'track temporal model ' + temporal.checkpoint if temporal else 'window vote of the detector classes'}")
        if rec is not None:
            console.print(f"recogniser: {rec.checkpoint} on {', '.join(m for m in src.modalities)} crops every "
                          f"{rec.every:g} s, fused by {fus.checkpoint}")
        settings = AnalyzeSettings(detect_every=detect_every, batch=batch, tracker=tracker, smoothing=smoothing,
                                   behaviour=mode, **tuned, blur_faces=blur_faces, max_seconds=max_seconds, video=video, report=report,
                                   enhance=enhance, engagement=load_mapping(engagement))
        analyzer = Analyzer(det, settings, temporal=temporal, recogniser=rec, fusion=fus)
        models = {"detector": {"name": det.name, "checkpoint": str(ckpt), "version": det.version,
                               "classes": list(det.class_names), "metrics": det.metrics, "runtime": runtime,
                               "input_size": det.input_size},
                  "tracker": {"name": tracker, "package": "trackers (Roboflow)" if tracker != "iou" else "smartclass"},
                  "behaviour": ({"name": "track_temporal", "checkpoint": temporal.checkpoint, "window": temporal.window,
                                 "epoch": temporal.epoch, "metrics": temporal.metrics} if temporal else
                                {"name": "window", "seconds": settings.window}),
                  **({"fusion": {"checkpoint": fus.checkpoint}} if fus is not None else {}),
                  "smoothing": smoothing}
        try:
            from smartclass.runs import interrupt_hint
        except ImportError:  # an older smartclass without interrupt hints
            from contextlib import nullcontext as interrupt_hint
        total = None
        if src.length is not None:
            total = src.length if max_seconds is None else min(src.length, int(max_seconds * src.fps) + 1)
        state = {"last": 0.0}

        def live_line(a: Analyzer) -> str:
            present = len(a.shown)
            names = a.detector.class_names
            eng = [settings.engagement.get(names[lab]) for _, lab in a.shown.values()]
            eng = [e for e in eng if e is not None]
            share = f"{100 * sum(eng) / len(eng):.0f}% engaged" if eng else "–"
            return f"t={a.last_t:6.1f}s  students in view {present:2d}  {share}  ids {len(a.records)}"

        with interrupt_hint(f"the outputs so far are complete files in {out} (summary.json says interrupted)"), \
                Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} frames"),
                      TimeElapsedColumn(), console=console, transient=False) as bar:
            task = bar.add_task("analysing", total=total)

            def progress(a: Analyzer, frame) -> None:
                now = time.monotonic()
                if now - state["last"] >= 0.5:
                    state["last"] = now
                    bar.update(task, completed=a.frames_done, description=live_line(a))
                    if src.live and now - state.get("printed", 0.0) >= 5.0:
                        state["printed"] = now
                        bar.console.print(live_line(a))

            summary = analyze_to_folder(analyzer, src, out, models, progress)
            bar.update(task, completed=analyzer.frames_done)
        eng = summary["engagement"]["mean"]
        console.print(f"{summary['students_seen']} students seen over {summary['seconds_processed']:.1f} s, "
                      f"{summary['processing_fps']:.1f} frames/s processed, average engagement "
                      f"{'–' if eng is None else f'{100 * eng:.0f}%'}")
        for w in summary["warnings"]:
            console.print(f"warning: {w}")
        console.print(f"wrote {', '.join(summary['outputs'])} to {out}")
