"""``smartclass bench``: reproductions of the source papers' experiment sections."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

# the stated budgets, here so that --help needs no torch import (smartclass.experiments.paper002 states them too)
PAPER002_HELP = (
    "Paper 002's §4 on SmartClass-Synth: Table 3 (three baselines vs the method), Table 4 (incremental ablation), "
    "Table 6 (removals), Figure 4 (top-1 per condition with Wilson 95 % intervals, method vs strongest baseline) "
    "and interpretability figures (eq. 9 attention, eq. 5 gates, eq. 4 cross-attention); Table 5 is taken from "
    "benchmarks/results/mmfg_speed.json. Every row is a config switch of the one recogniser, trained by the one "
    "pipeline (fixed seed, epoch schedule) and scored on the subject-disjoint test split. Writes OUT/tables.md, "
    "OUT/paper002.json, OUT/variants/<variant>.json and PNG figures; a rerun skips finished variants and resumes "
    "a killed training from WORK/<variant>/last.pt. Budgets: --quick about 12 min on one core with 1 thread; "
    "the full run about 3 hours on one core with 1 thread (10 variants × 12 epochs of 2400 16-frame clips, "
    "32 px crops, 8016 test clips); the tables are rebuilt after every finished variant, missing variants marked "
    "'not yet run'."
)


def register(app: typer.Typer) -> None:
    bench_app = typer.Typer(help="Reproductions of the papers' experiment sections (tables, figures).",
                            no_args_is_help=True)

    @bench_app.command("paper002", help=PAPER002_HELP)
    def paper002(
        quick: bool = typer.Option(False, "--quick", help="the small profile (8-frame 32 px clips, 600 training "
                                   "clips, 8 epochs, 480 test clips): minutes, not hours; wide intervals"),
        out: Optional[Path] = typer.Option(None, help="results folder (default: benchmarks/results/paper002/full, "
                                           ".../paper002/quick with --quick)"),
        work: Optional[Path] = typer.Option(None, help="checkpoints of every variant's training (resume state) "
                                            "(default: runs/paper002/full, runs/paper002/quick with --quick)"),
        only: Optional[str] = typer.Option(None, help="comma-separated variants to run (default all): method, "
                                           "retinex_concat_gcn, cnn_attention_gcn, mmcnn_stgcn, plus_wgf, plus_dca, "
                                           "no_multiscale, no_deformable, no_dilation, no_adaptive"),
        speed_json: Path = typer.Option(Path("benchmarks/results/mmfg_speed.json"), "--speed-json",
                                        help="Table 5's results (python benchmarks/mmfg_speed.py --only-table5)"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides applied to every variant, "
                                                        "e.g. threads=1 device=cuda"),
    ) -> None:
        import torch
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from smartclass.experiments.paper002 import BY_NAME, METHOD, PROFILES, run, select_variants, variant_config
        from smartclass.runs import check_out_dir, command_line, interrupt_hint, run_lock
        from smartclass.terminal import console as make_console

        profile = PROFILES["quick" if quick else "full"]
        out = out if out is not None else Path("benchmarks/results/paper002") / profile.name
        work = work if work is not None else Path("runs/paper002") / profile.name
        check_out_dir(out)
        check_out_dir(work, "--work")
        names = [n.strip() for n in only.split(",")] if only is not None else None
        select_variants(names)  # bad names and overrides fail here, before any rendering
        cfg = variant_config(profile, BY_NAME[METHOD], overrides or ())
        check_out_dir(Path(cfg.train.cache_dir), "train.cache_dir")
        torch.set_num_threads(cfg.threads)
        console = make_console()
        console.print(f"paper002 {profile.name}: {profile.budget}")
        with run_lock(out), interrupt_hint(f"kept: finished variants in {out}/variants, each training's last.pt "
                                           f"under {work}; rerun the same command to resume: {command_line()}"), \
                Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                         TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("paper002", total=1)
            summary = run(profile, out, work, names, overrides or (), command=command_line(), speed_json=speed_json,
                          log=console.print, progress=lambda done, total: bar.update(task, completed=done, total=total))
        console.print((out / "tables.md").read_text(), markup=False, highlight=False)
        if summary["not_run"]:
            console.print(f"not run: {', '.join(summary['not_run'])}")

    app.add_typer(bench_app, name="bench")
