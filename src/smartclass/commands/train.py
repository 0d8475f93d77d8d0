"""``smartclass train`` and ``smartclass eval``: the trimodal recogniser of paper 002 on SmartClass-Synth or your data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config, e.g. configs/mmfg.yaml"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. train.epochs=5"),
        out: Path = typer.Option(Path("runs/mmfg"), help="run folder: last.pt, best.pt, config.yaml, history.json"),
        resume: bool = typer.Option(False, "--resume", help="continue from OUT/last.pt"),
    ) -> None:
        """Train the trimodal recogniser end to end (enhancement, DCA-Net, keypoints, MST-GCN)."""
        import torch
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from smartclass.config import load_config, save_config, to_dict
        from smartclass.errors import ConfigError
        from smartclass.io import write_json_atomic
        from smartclass.labels import class_names
        from smartclass.models.recognizer import TrimodalRecognizer
        from smartclass.training.recognizer import fit, synth_data

        cfg = load_config(config, overrides or ())
        tc = cfg.train
        if cfg.model.num_classes != len(class_names(tc.vocabulary)):
            raise ConfigError(f"model.num_classes = {cfg.model.num_classes} but train.vocabulary '{tc.vocabulary}' has "
                              f"{len(class_names(tc.vocabulary))} classes")
        if tc.keypoint_warmup_steps < 0:
            raise ConfigError(f"train.keypoint_warmup_steps must be ≥ 0, got {tc.keypoint_warmup_steps}")
        if any(m < 0 for m in tc.lr_milestones) or list(tc.lr_milestones) != sorted(set(tc.lr_milestones)):
            raise ConfigError(f"train.lr_milestones must be increasing epoch numbers ≥ 0, got {list(tc.lr_milestones)}")
        console = Console()
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("rendering clips", total=1)
            update = lambda s, n: bar.update(task, completed=s, total=n)  # noqa: E731
            train_data = synth_data(cfg.synth, "train", tc.train_samples, tc, console.print, update)
            val_data = synth_data(cfg.synth, "val", tc.val_samples, tc, console.print, update)
            model = TrimodalRecognizer(cfg.model)
            out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out / "config.yaml")
            bar.update(task, description="training", completed=0, total=1)
            state = fit(model, train_data, val_data, tc, out, to_dict(cfg), resume=resume, log=console.print,
                        progress=update)
        write_json_atomic(out / "history.json", state["history"])
        console.print(f"best validation macro-F1 {state['best_f1']:.3f} at epoch {state['best_epoch']} → {out}/best.pt")

    @app.command("eval")
    def evaluate_cmd(
        checkpoint: Path = typer.Option(..., "--checkpoint", help="a best.pt or last.pt of smartclass train"),
        data: str = typer.Option("synth:split=test,samples=400,seed=0",
                                 help="synth:split=S,samples=N,seed=K or a data-set folder (docs/data-format.md)"),
        out: Path = typer.Option(Path("out/eval/report.json"), help="report JSON; the confusion PNG goes beside it"),
    ) -> None:
        """Top-1/Top-5, macro and per-class F1, confusion matrix, enhancement PSNR/SSIM, fusion MI/Qabf/EPI, FPS."""
        from rich.console import Console

        from smartclass.config import config_from_dict
        from smartclass.io import write_json_atomic
        from smartclass.training.evaluate import evaluate, load_eval_data
        from smartclass.training.recognizer import load_checkpoint

        console = Console()
        model, ck = load_checkpoint(checkpoint)
        cfg = config_from_dict(ck.get("config") or {})  # the checkpoint's own merged config
        data_set, described = load_eval_data(data, cfg.synth, cfg.train, console.print)
        report = evaluate(model, data_set, cfg.train.vocabulary, out.with_suffix(".png"))
        import sys

        from smartclass.bench import environment

        report.update({"checkpoint": str(checkpoint), "data": described, "epoch": ck.get("epoch"),
                       "command": "smartclass " + " ".join(sys.argv[1:]), **environment()})
        write_json_atomic(out, report)
        console.print(f"top-1 {report['top1']:.4f}, top-5 {report['top5']:.4f}, macro-F1 {report['macro_f1']:.4f} "
                      f"({len(data_set['label'])} samples) → {out}")
