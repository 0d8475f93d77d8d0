"""Inference speed of the trimodal recogniser (issue 4): model only and end to end, per student-clip, per module.

One SmartClass-Synth TEST clip (640×360, 6 students, 16 frames at 5 fps, all three cameras) and the shipped
checkpoint. Per-student clips are the model's unit (paper 002 classifies a student's keypoint sequence).

* ``model`` — the recogniser on ready crops, batch 1 (one student) and batch = all students of the clip:
  learnable Retinex → DCA-Net → keypoint head → eq. 6 encoding → MST-GCN (+ context stream).
* ``end_to_end`` — from the raw recorded frames: per-student crops of every camera (what
  :func:`smartclass.crops.student_sample` does) plus the model, per student-clip; and the same with
  the §3.2 enhancement module of the whole frame in front (``TrimodalEnhancer``: RGB Retinex, depth filtering
  and filling, thermal CLAHE, alignment of depth and thermal to the RGB grid, 16 frames), the work an analysis
  of a recording does for its annotated video.
* ``modules`` — milliseconds per student-clip of each stage inside the model (forward hooks, batch = all
  students), the per-module speed table of paper 002.

Medians of repeated calls (``smartclass.metrics.speed.measure``); torch threads as given (default 2).

    python benchmarks/mmfg_speed.py [--checkpoint checkpoints/mmfg/mmfg.pt] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch

from smartclass.bench import print_table, write_results
from smartclass.errors import InputError
from smartclass.crops import student_sample
from smartclass.enhance.pipeline import Cameras, TrimodalEnhancer
from smartclass.metrics.speed import measure
from smartclass.synth.config import SynthConfig
from smartclass.synth.generator import render_clip
from smartclass.training.recognizer import load_checkpoint


def batch_of(samples: list[dict]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(torch.stack([s[k] for s in samples]) for k in ("rgb", "depth", "thermal"))


def module_times(model, rgb, depth, thermal, runs: int = 10) -> dict[str, float]:
    """Median milliseconds per call of each top-level stage (forward hooks), the enhancement timed alone."""
    stages = {"DCA-Net fusion": model.dcanet, "keypoint head": model.keypoint_head,
              "keypoint encoding (eq. 6)": model.encoder, "MST-GCN": model.gcn.blocks,
              "context stream + classifier": [model.context, model.classifier]}
    spent: dict[str, list[float]] = defaultdict(list)
    starts: dict[str, float] = {}
    handles = []
    for name, mods in stages.items():
        mods = [m for m in (mods if isinstance(mods, (list, torch.nn.ModuleList)) else [mods]) if m is not None]
        first, last = mods[0], mods[-1]
        handles.append(first.register_forward_pre_hook(lambda *_, n=name: starts.__setitem__(n, time.perf_counter())))
        handles.append(last.register_forward_hook(
            lambda *_, n=name: spent[n].append(time.perf_counter() - starts[n])))
    with torch.inference_mode():
        for _ in range(runs + 2):
            model(rgb, depth, thermal)
    for h in handles:
        h.remove()
    out = {n: 1000 * sorted(v[2:])[len(v[2:]) // 2] for n, v in spent.items()}
    x = rgb.flatten(0, 1)
    enh = measure(lambda: model.enhance(x), runs=runs)
    return {"learnable Retinex (§3.2)": 1000 * enh.median_s, **out}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="checkpoints/mmfg/mmfg.pt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        model, ck = load_checkpoint(args.checkpoint)
    except InputError as e:
        raise SystemExit(f"mmfg_speed: --checkpoint: {e}") from None
    tc = ck["config"]["train"]
    frames, crop, fps = tc["frames"], tc["crop"], tc["fps"]
    cfg = SynthConfig(split="test", frames=frames, fps=fps, students=6, width=640, height=360,
                      conditions=("normal",), seed=0)
    clip = render_clip(cfg, 0)
    students = len(clip.students)
    crops = lambda: [student_sample(clip, s, crop) for s in clip.students]  # noqa: E731
    samples = crops()
    rgb, depth, thermal = batch_of(samples)
    one = tuple(x[:1] for x in (rgb, depth, thermal))

    t_one = measure(lambda: model(*one), runs=args.runs, items_per_call=1)
    t_all = measure(lambda: model(rgb, depth, thermal), runs=args.runs, items_per_call=students)
    t_crop = measure(crops, runs=args.runs, items_per_call=students)
    t_e2e = measure(lambda: model(*batch_of(crops())), runs=args.runs, items_per_call=students)
    enhancer = TrimodalEnhancer()
    cams = Cameras(clip.cameras["rgb"], clip.cameras["depth"], clip.cameras["thermal"])

    def full() -> None:
        for i in range(clip.num_frames):
            enhancer(clip.rgb[i], clip.depth[i], clip.thermal[i], cams)
        model(*batch_of(crops()))

    t_full = measure(full, runs=max(3, args.runs // 3), warmup=1, items_per_call=students)
    rows = [
        {"pipeline": "model, batch 1", "student_clips_per_s": t_one.fps, "ms_per_student_clip": 1000 / t_one.fps},
        {"pipeline": f"model, batch {students}", "student_clips_per_s": t_all.fps,
         "ms_per_student_clip": 1000 / t_all.fps},
        {"pipeline": "crops from raw frames", "student_clips_per_s": t_crop.fps,
         "ms_per_student_clip": 1000 / t_crop.fps},
        {"pipeline": "end to end: raw frames → crops → model", "student_clips_per_s": t_e2e.fps,
         "ms_per_student_clip": 1000 / t_e2e.fps},
        {"pipeline": "end to end + whole-frame §3.2 enhancement/alignment", "student_clips_per_s": t_full.fps,
         "ms_per_student_clip": 1000 / t_full.fps},
    ]
    for r in rows:
        r["frames_per_s"] = r["student_clips_per_s"] * frames
    print_table(rows, title=f"recogniser speed, {frames}-frame clips, {crop}px crops, {args.threads} threads")
    mods = module_times(model, rgb, depth, thermal, args.runs)
    mod_rows = [{"module": k, "ms_per_student_clip": v / students, "ms_per_frame": v / students / frames}
                for k, v in mods.items()]
    print_table(mod_rows, title=f"per module, batch {students}")
    write_results("mmfg_speed", {
        "checkpoint": args.checkpoint, "epoch": ck.get("epoch"), "clip": {"frames": frames, "fps": fps, "crop": crop,
                                                                         "students": students, "size": "640x360"},
        "pipelines": rows, "modules": mod_rows,
        "timings": {k: v.to_dict() for k, v in (("model_batch1", t_one), ("model_batch_all", t_all),
                                                 ("crops", t_crop), ("end_to_end", t_e2e),
                                                 ("end_to_end_with_enhancement", t_full))},
    })


if __name__ == "__main__":
    main()
