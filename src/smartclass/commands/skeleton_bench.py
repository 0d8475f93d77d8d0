"""``smartclass skeleton-bench``: the standard cross-subject protocols on real skeleton recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("skeleton-bench")
    def skeleton_bench(
        dataset: str = typer.Option(..., help="utkinect or msraction3d"),
        root: Path = typer.Option(..., help="folder holding the dataset's skeleton files"),
        model: Optional[list[str]] = typer.Option(None, help="mstgcn, stgcn, so3-svm (repeatable; default all)"),
        out: Optional[Path] = typer.Option(None, help="write the results JSON here"),
        repeats: int = typer.Option(10, help="random subject splits (UTKinect)"),
        epochs: int = typer.Option(80, help="GCN training epochs per split"),
        seed: int = typer.Option(0),
    ) -> None:
        """Top-1 of each model under the dataset's standard protocol, and the time each took."""
        import torch
        from rich.console import Console

        from smartclass.bench import environment, print_table
        from smartclass.io import write_json_atomic
        from smartclass.skeleton.protocol import MODELS, GCNSettings, run_benchmark

        torch.set_num_threads(max(1, torch.get_num_threads()))
        console = Console(stderr=True)
        with console.status("running") as status:
            res = run_benchmark(dataset, str(root), tuple(model or MODELS), repeats, seed,
                                GCNSettings(epochs=epochs, seed=seed), progress=lambda m: status.update(m))
        print_table([{"model": k, "top1": v["top1"], "std": v["top1_std"], "seconds": v["seconds"]}
                     for k, v in res["models"].items()], title=f"{dataset}: {res['protocol']}")
        if out is not None:
            write_json_atomic(out, {**environment(), "command": "smartclass skeleton-bench "
                                    f"--dataset {dataset} --root {root} " + " ".join(f"--model {m}" for m in (model or []))
                                    + f" --repeats {repeats} --epochs {epochs} --seed {seed}", "results": res})
            typer.echo(f"wrote {out}")
