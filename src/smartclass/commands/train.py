"""``smartclass train`` and ``smartclass eval``: the trimodal recogniser of paper 002 on SmartClass-Synth or your data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

# keys a resumed run may change: how long it runs and on what, not what it learns
RESUMABLE = ("train.epochs", "train.patience", "train.time_budget_min", "train.workers", "train.cache_dir",
             "threads", "device")


def write_predictions(path: Path, rows: list[dict]) -> None:
    """Per-sample predictions as CSV (``.csv``) or JSON lines (``.jsonl``), atomically."""
    import csv
    import json

    from smartclass.io import atomic_path, strict_json

    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        if path.suffix.lower() == ".csv":
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["index"])
            writer.writeheader()
            writer.writerows(rows)
        else:
            f.writelines(json.dumps(strict_json(r), allow_nan=False) + "\n" for r in rows)


MODALITIES = ("rgb", "depth", "thermal")


def parse_modalities(text: str) -> tuple[str, ...]:
    """``--modalities`` → a tuple in canonical order; RGB is required, the rest optional."""
    from smartclass.errors import InputError

    given = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    unknown = [m for m in given if m not in MODALITIES]
    if unknown or "rgb" not in given or len(set(given)) != len(given):
        raise InputError(f"--modalities: expected rgb plus optionally depth and/or thermal, comma-separated "
                         f"(e.g. rgb,thermal), got '{text}'")
    return tuple(m for m in MODALITIES if m in given)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config, e.g. configs/mmfg.yaml"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. train.epochs=5"),
        out: Path = typer.Option(Path("runs/mmfg"), help="run folder: last.pt, best.pt, config.yaml, history.json"),
        resume: bool = typer.Option(False, "--resume", help="continue from OUT/last.pt"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace another run's outputs in OUT even if "
                                       "its config differs"),
    ) -> None:
        """Train the trimodal recogniser end to end (enhancement, DCA-Net, keypoints, MST-GCN); a config with a
        detector: section trains the student detector instead (docs/detector.md)."""
        from smartclass.commands.detect import is_detector_config, train_detector_run

        if is_detector_config(config, overrides or ()):
            return train_detector_run(config, overrides or (), out, resume, overwrite)
        from smartclass.config import load_config, save_config, to_dict
        from smartclass.errors import ConfigError
        from smartclass.labels import class_names
        from smartclass.runs import check_out_dir, command_line, guard_output, interrupt_hint, run_lock

        cfg = load_config(config, overrides or ())
        tc = cfg.train
        if cfg.model.num_classes != len(class_names(tc.vocabulary)):
            raise ConfigError(f"model.num_classes = {cfg.model.num_classes} but train.vocabulary '{tc.vocabulary}' has "
                              f"{len(class_names(tc.vocabulary))} classes")
        if list(tc.lr_milestones) != sorted(set(tc.lr_milestones)):
            raise ConfigError(f"train.lr_milestones must be increasing epoch numbers ≥ 0, got {list(tc.lr_milestones)}")
        check_out_dir(out)
        check_out_dir(Path(tc.cache_dir), "train.cache_dir")
        if tc.init_from and not resume:  # checked before hours of data rendering, not after
            from smartclass.training.recognizer import init_weights
            from smartclass.models.recognizer import TrimodalRecognizer

            init_weights(TrimodalRecognizer(cfg.model), tc.init_from)
        if tc.distill_from:  # the teacher too (a resumed run reloads it)
            from smartclass.training.recognizer import load_teacher

            load_teacher(tc.distill_from, cfg.model.num_classes, tc.vocabulary)
        if resume:  # read (safely) before hours of data rendering, not after
            from smartclass.checkpoint import read_checkpoint
            from smartclass.errors import InputError

            if not (out / "last.pt").is_file():
                raise InputError(f"--resume: no checkpoint '{out / 'last.pt'}' to resume from")
            read_checkpoint(out / "last.pt")
        guard_output(out, to_dict(cfg), overwrite, ignore=RESUMABLE if resume else ())
        with run_lock(out), interrupt_hint(f"kept: {out}/config.yaml and, once an epoch (or 200 warm-up steps) has "
                                           f"finished, {out}/last.pt; resume with: {command_line('--resume')}"):
            save_config(cfg, out / "config.yaml")
            _train(cfg, out, resume)

    def _train(cfg, out: Path, resume: bool) -> None:
        import torch
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from smartclass.config import to_dict
        from smartclass.io import write_json_atomic
        from smartclass.models.recognizer import TrimodalRecognizer
        from smartclass.terminal import console as make_console
        from smartclass.training.recognizer import fit, synth_data

        tc = cfg.train
        console = make_console()
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("rendering clips", total=1)
            update = lambda s, n: bar.update(task, completed=s, total=n)  # noqa: E731
            train_data = synth_data(cfg.synth, "train", tc.train_samples, tc, console.print, update)
            val_data = synth_data(cfg.synth, "val", tc.val_samples, tc, console.print, update)
            model = TrimodalRecognizer(cfg.model)
            if tc.init_from and not resume:
                from smartclass.training.recognizer import init_weights

                init_weights(model, tc.init_from)
                console.print(f"weights initialised from {tc.init_from}")
            bar.update(task, description="training", completed=0, total=1)
            state = fit(model, train_data, val_data, tc, out, to_dict(cfg), resume=resume, log=console.print,
                        progress=update, device=cfg.device)
        write_json_atomic(out / "history.json", state["history"])
        what = "macro-F1 (mean of the four camera set-ups)" if tc.modality_dropout > 0 else "macro-F1"
        console.print(f"best validation {what} {state['best_f1']:.3f} at epoch {state['best_epoch']} → {out}/best.pt")

    @app.command("eval")
    def evaluate_cmd(
        checkpoint: Path = typer.Option(..., "--checkpoint", help="a best.pt or last.pt of smartclass train"),
        data: str = typer.Option("synth:split=test,samples=400,seed=0",
                                 help="synth:split=S,samples=N,seed=K or a data-set folder (docs/data-format.md)"),
        out: Path = typer.Option(Path("out/eval/report.json"), help="report JSON; the confusion PNG and the merged "
                                 "config (REPORT.config.yaml) go beside it"),
        predictions: Optional[Path] = typer.Option(None, help="also write per-sample predictions (index, condition, "
                                                   "truth, predicted, confidence) to this .csv or .jsonl file"),
        modalities: str = typer.Option("rgb,depth,thermal", help="the inputs the recogniser is given: rgb, rgb,depth, "
                                       "rgb,thermal or rgb,depth,thermal (the others are withheld, as in a room "
                                       "without those cameras)"),
    ) -> None:
        """Top-1/Top-5, macro and per-class F1, confusion matrix, enhancement PSNR/SSIM, fusion MI/Qabf/EPI, FPS."""
        from smartclass.config import config_from_dict, save_config
        from smartclass.io import write_json_atomic
        from smartclass.runs import check_out_file, command_line, interrupt_hint
        from smartclass.terminal import console as make_console
        from smartclass.training.evaluate import evaluate, load_eval_data
        from smartclass.training.recognizer import withhold_modalities
        from smartclass.training.recognizer import load_checkpoint

        check_out_file(out, "--out", (".json",))
        given = parse_modalities(modalities)
        if predictions is not None:
            check_out_file(predictions, "--predictions", (".csv", ".jsonl"))
        console = make_console()
        model, ck = load_checkpoint(checkpoint)
        cfg = config_from_dict(ck.get("config") or {})  # the checkpoint's own merged config
        with interrupt_hint("kept: nothing (the report is written when evaluation ends; rendered test data is cached "
                            f"under {cfg.train.cache_dir}); rerun: {command_line()}"):
            data_set, described = load_eval_data(data, cfg.synth, cfg.train, console.print)
            data_set = withhold_modalities(data_set, given)
            rows: list[dict] = []
            report = evaluate(model, data_set, cfg.train.vocabulary, out.with_suffix(".png"), per_sample=rows)
        from smartclass.bench import environment

        config_path = out.with_name(out.stem + ".config.yaml")
        report["modalities"] = {  # which inputs each group of figures used
            "classification": [m for m in model.cfg.modalities if m in given], "enhancement": ["rgb"],
            "fusion_feature_map": ["rgb", "thermal"],
            "samples": len(data_set["label"]), "samples_with_depth": int(data_set["has_depth"].sum()),
            "samples_with_thermal": int(data_set["has_thermal"].sum()),
        }
        report.update({"checkpoint": str(checkpoint), "data": described, "epoch": ck.get("epoch"),
                       "config": str(config_path), "command": command_line(), **environment()})
        save_config(cfg, config_path)
        if predictions is not None:
            write_predictions(predictions, rows)
            report["predictions"] = str(predictions)
        write_json_atomic(out, report)
        console.print(f"top-1 {report['top1']:.4f}, top-5 {report['top5']:.4f}, macro-F1 {report['macro_f1']:.4f} "
                      f"({len(data_set['label'])} samples) → {out}")
