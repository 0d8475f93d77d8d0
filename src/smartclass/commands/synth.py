"""``smartclass synth``: write a SmartClass-Synth data set in the on-disk layout (docs/data-format.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartclass.errors import ConfigError


def parse_size(size: str) -> tuple[int, int]:
    """``'640x360'`` → ``(640, 360)``."""
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size: expected WIDTHxHEIGHT such as 640x360, got '{size}'") from None
    if w < 64 or h < 48:
        raise ConfigError(f"--size: expected at least 64x48, got '{size}'")
    return w, h


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        out: Path = typer.Option(..., "--out", help="output folder (created; complete clips already there are kept)"),
        clips: Optional[int] = typer.Option(None, help="number of clips [synth.clips]"),
        seed: Optional[int] = typer.Option(None, help="random seed; the same seed gives byte-identical files [synth.seed]"),
        frames: Optional[int] = typer.Option(None, help="frames per clip [synth.frames]"),
        students: Optional[int] = typer.Option(None, help="students per clip [synth.students]"),
        size: Optional[str] = typer.Option(None, help="RGB size WIDTHxHEIGHT; depth and thermal are half [synth.width/height]"),
        conditions: Optional[list[str]] = typer.Option(None, "--conditions", help="repeat for several: normal, low_light, occlusion, movement"),
        split: Optional[str] = typer.Option(None, help="train, val or test (subject-disjoint) [synth.split]"),
        workers: int = typer.Option(1, min=1, help="parallel rendering processes"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over the defaults"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. synth.fps=5"),
        overwrite: bool = typer.Option(False, "--overwrite", help="write into OUT even if it holds a data set "
                                       "rendered with other settings"),
    ) -> None:
        """Render synthetic trimodal classroom clips with full ground truth."""
        import dataclasses
        import time

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from smartclass.config import config_from_dict, load_config, save_config, to_dict
        from smartclass.runs import check_out_dir, command_line, guard_output, interrupt_hint, run_lock
        from smartclass.synth.export import export_dataset

        cfg = load_config(config, overrides or ())
        changes = {k: v for k, v in dict(clips=clips, seed=seed, frames=frames, students=students, split=split).items()
                   if v is not None}
        if size is not None:
            changes["width"], changes["height"] = parse_size(size)
        if conditions:
            changes["conditions"] = tuple(c for item in conditions for c in item.split(",") if c)
        cfg = dataclasses.replace(cfg, synth=dataclasses.replace(cfg.synth, **changes))
        cfg = config_from_dict(to_dict(cfg))  # the options pass the same checks as the keys they set
        s = cfg.synth
        check_out_dir(out)
        t0 = time.perf_counter()
        with run_lock(out):
            # more clips of the same data set may be added; the training sections do not shape the data
            if guard_output(out, to_dict(cfg), overwrite,
                            ignore=("synth.clips", "threads", "device", "seed", "train.", "model.")):
                import shutil  # --overwrite: clips rendered with the other settings must not be mixed in

                for sub in ("clips", "splits"):
                    shutil.rmtree(out / sub, ignore_errors=True)
            with interrupt_hint(f"kept: the complete clips in {out}/clips (listed in {out}/splits/{s.split}.txt) and "
                                f"{out}/config.yaml; resume with: {command_line()} (complete clips are skipped)"):
                save_config(cfg, out / "config.yaml")
                with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                              TimeRemainingColumn()) as bar:
                    task = bar.add_task(f"rendering {s.split} clips", total=s.clips)
                    stats = export_dataset(s, out, workers=workers,
                                           progress=lambda d, n: bar.update(task, completed=d))
        dt = time.perf_counter() - t0
        rate = stats["samples"] / dt if dt > 0 else float("nan")
        typer.echo(f"{stats['rendered']} clips written ({stats['skipped']} already there) to {out} in {dt:.1f} s: "
                   f"{rate:.2f} per-student samples/s, {stats['bytes'] / max(stats['samples'], 1) / 1e6:.2f} MB per sample")
