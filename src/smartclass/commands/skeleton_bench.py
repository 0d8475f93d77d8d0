"""``smartclass skeleton-bench``: the standard cross-subject protocols on real skeleton recordings."""

from __future__ import annotations

import dataclasses
import os
import shlex
from pathlib import Path
from typing import Optional

import typer


DEFAULT_WORKERS = min(4, os.cpu_count() or 1)


def positive_ints(option: str, value: str, example: str) -> tuple[int, ...]:
    """A comma-separated list of positive integers given to ``option``, or an error that names it."""
    from smartclass.errors import InputError

    try:
        out = tuple(int(v) for v in value.split(","))
    except ValueError:
        out = ()
    if not out or min(out) < 1:
        raise InputError(f"{option} '{value}': expected comma-separated positive integers, e.g. {example}")
    return out


def register(app: typer.Typer) -> None:
    @app.command("skeleton-bench")
    def skeleton_bench(
        dataset: str = typer.Option(..., help="utkinect or msraction3d"),
        root: Path = typer.Option(..., help="folder holding the dataset's skeleton files"),
        model: Optional[list[str]] = typer.Option(None, help="mstgcn, stgcn, so3-svm (repeatable; default all)"),
        out: Optional[Path] = typer.Option(None, help="write the results JSON here"),
        repeats: int = typer.Option(5, min=1, help="random subject splits (UTKinect)"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config; its skeleton: section holds "
                                              "the GCN settings, which the flags below override"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. skeleton.epochs=20"),
        epochs: Optional[int] = typer.Option(None, min=1, help="GCN training epochs per split [skeleton.epochs: 80]"),
        lr: Optional[float] = typer.Option(None, help="GCN peak learning rate (one-cycle schedule) [skeleton.lr: 2e-3]"),
        batch_size: Optional[int] = typer.Option(None, help="GCN training clips per step [skeleton.batch_size: 16]"),
        streams: str = typer.Option("joint,bone,motion,so3", help="GCN input streams, comma-separated; with "
                                     "--ensemble one model per entry, a+b for one model on streams a and b "
                                     "(this default, too, overrides skeleton.streams)"),
        channels: Optional[str] = typer.Option(None, help="GCN block widths, comma-separated (one block each) "
                                               "[skeleton.channels: 32,64,64]"),
        labels: Optional[str] = typer.Option(None, help="UTKinect label file in --root (default actionLabel.txt)"),
        class_weights: Optional[bool] = typer.Option(None, help="inverse-frequency class weights in the GCN loss"),
        ensemble: Optional[bool] = typer.Option(None, help="one GCN per stream, probabilities summed (multi-stream "
                                                "fusion)"),
        flip: Optional[bool] = typer.Option(None, help="mirror left/right half of the GCN training clips"),
        flip_tta: Optional[bool] = typer.Option(None, help="average each test clip's GCN probabilities with its mirror "
                                                "image's"),
        recorded_time: Optional[bool] = typer.Option(None, help="resample GCN clips evenly in recorded time "
                                                     "(UTKinect's frame numbers; its recorder skipped frames "
                                                     "unevenly), not in row index"),
        workers: int = typer.Option(DEFAULT_WORKERS, min=1, help="processes for the GCN trainings (one thread each; default: "
                                    "the CPU count, at most 4); the figures do not depend on it"),
        seed: Optional[int] = typer.Option(None, min=0, help="seed of the subject splits and of the GCN trainings "
                                           "[skeleton.seed: 0]"),
        seeds: Optional[int] = typer.Option(None, min=1, help="GCN networks per stream model (training seeds seed, "
                                            "seed+1, …), probabilities summed [skeleton.seeds: 1]"),
        device: Optional[str] = typer.Option(None, help="torch device of the GCN trainings, e.g. cuda [device: cpu]"),
        dynamic: Optional[bool] = typer.Option(None, help="MST-GCN's dynamic graph (eq. 7); --no-dynamic is the "
                                               "ablation"),
        attention: Optional[bool] = typer.Option(None, help="MST-GCN's spatio-temporal attention (eq. 9); "
                                                 "--no-attention is the ablation"),
        dilations: Optional[str] = typer.Option(None, help="MST-GCN's temporal dilations (eq. 8), comma-separated; 1 "
                                                "is the single-scale ablation [skeleton.dilations: 1,2,4]"),
        temporal_kernel: Optional[int] = typer.Option(None, help="MST-GCN's temporal kernel size in every dilated "
                                                      "branch (odd; 3 is MS-G3D's) [skeleton.kernel: 5]"),
        preprocess: Optional[str] = typer.Option(None, help="none, or reference: Vemulapalli et al.'s per-frame "
                                                 "pre-processing for every model (hip centre at the origin, frames "
                                                 "with a zero-length bone dropped, training-set bone lengths, hips "
                                                 "turned onto x in every frame), or reference-no-rotation (all but that "
                                                 "last step) [skeleton.preprocess: none]"),
        svm_dtw: Optional[bool] = typer.Option(None, help="so3-svm: the reference's temporal model (DTW to each "
                                               "class's nominal curve, its Fourier pyramid, one-vs-all SVMs with "
                                               "C=1)"),
    ) -> None:
        """Top-1 of each model under the dataset's standard protocol, and the time each took."""
        import torch
        from smartclass.terminal import console as make_console

        from smartclass.bench import print_table, write_results
        from smartclass.data.skeleton import UTKINECT_LABEL_FILE
        from smartclass.errors import InputError
        from smartclass.runs import check_out_file, command_line, inside_root, interrupt_hint
        from smartclass.config import load_config, to_dict
        from smartclass.skeleton.protocol import MODELS, GCNSettings, label_overlaps, run_benchmark
        from smartclass.skeleton.streams import STREAMS

        cfg = load_config(config, overrides or ())  # defaults ← YAML ← key=value; the flags given override both
        sk = cfg.skeleton
        device = device if device is not None else cfg.device
        channels = channels if channels is not None else ",".join(map(str, sk.channels))
        dilations = dilations if dilations is not None else ",".join(map(str, sk.dilations))
        given = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "class_weights": class_weights,
                 "ensemble": ensemble, "flip": flip, "flip_tta": flip_tta, "recorded_time": recorded_time,
                 "seed": seed, "seeds": seeds, "dynamic": dynamic, "attention": attention,
                 "kernel": temporal_kernel, "preprocess": preprocess, "svm_dtw": svm_dtw}
        sk = dataclasses.replace(sk, **{k: v for k, v in given.items() if v is not None})
        epochs, lr, batch_size, seed, temporal_kernel = sk.epochs, sk.lr, sk.batch_size, sk.seed, sk.kernel

        chosen = tuple(s.strip() for s in streams.split(",") if s.strip())
        if not chosen or any(s not in STREAMS for entry in chosen for s in entry.split("+")):
            raise InputError(f"--streams '{streams}': expected a comma-separated subset of {list(STREAMS)} "
                             "(a+b joins two streams in one model)")
        widths = positive_ints("--channels", channels, "32,64,64")
        if not lr > 0 or lr == float("inf"):
            raise InputError(f"--lr must be a positive finite number, got {lr}")
        if batch_size < 2:
            raise InputError(f"--batch-size must be at least 2 (BatchNorm), got {batch_size}")
        try:
            torch_device = torch.device(device)
        except RuntimeError:
            raise InputError(f"--device '{device}': expected a torch device such as cpu or cuda") from None
        if torch_device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"--device '{device}': this machine has no CUDA GPU; use --device cpu")
        scales = positive_ints("--dilations", dilations, "1,2,4")
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise InputError("--temporal-kernel must be a positive odd number (it keeps the clip length), "
                             f"got {temporal_kernel}")
        changed = (not (sk.dynamic and sk.attention) or scales != GCNSettings.dilations
                   or temporal_kernel != GCNSettings.kernel)
        if changed and model and "mstgcn" not in model:
            raise InputError("--no-dynamic, --no-attention, --dilations and --temporal-kernel change mstgcn, which "
                             "--model leaves out")
        if out is not None:
            check_out_file(out, "--out", (".json",))
        if labels is not None:
            inside_root(root, labels, "--labels")

        console = make_console(stderr=True)
        overlaps = label_overlaps(dataset, str(root), labels)
        if overlaps:
            console.print(f"[yellow]warning:[/] {labels or UTKINECT_LABEL_FILE} has {len(overlaps)} overlapping action "
                          "segments (labelling errors; a corrected label file can be passed with --labels):\n  "
                          + "\n  ".join(overlaps), highlight=False)
        with console.status("running") as status, interrupt_hint(
                "kept: nothing (the results are written when every split has finished); rerun: " + command_line()):
            settings = dataclasses.replace(sk, streams=chosen, channels=widths, dilations=scales)
            res = run_benchmark(dataset, str(root), tuple(model or MODELS), repeats, seed, settings,
                                progress=lambda m: status.update(m), labels=labels, workers=workers, device=device)
        print_table([{"model": k, "top1": v["top1"], "std": v["top1_std"], "seconds": v["seconds"]}
                     for k, v in res["models"].items()], title=f"{dataset}: {res['protocol']}")
        for name, r in res["models"].items():
            if r["most_confused"]:
                typer.echo(f"{name} most confused (true → predicted: clips over all splits): "
                           + "; ".join(r["most_confused"][:3]))
        if out is not None:
            # the command exactly as given, except the data folder: results are committed, the data set stays
            # outside the repository; the merged config (skeleton section as run, device) goes with it
            command = command_line().replace(f" --root {shlex.quote(str(root))}", " --root DATA_DIR")
            res["config"] = to_dict(dataclasses.replace(cfg, skeleton=settings, device=device))
            write_results(out.stem, res, command, out.parent)
            typer.echo(f"wrote {out}")
