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

* ``table5`` — paper 002's Table 5 in its units: the standalone rate (frames/s; a frame is one student crop
  of each camera) of the enhancement, fusion and recognition modules and of the whole model, before and after
  two lightweight optimisations, as ratios from the same run: int8 dynamic quantisation
  (``torch.ao.quantization.quantize_dynamic`` of the ``nn.Linear`` layers) and a lower resolution (crops of
  ``--low-crop`` px instead of the trained size); and **full trimodal classroom frames per second** through
  the whole pipeline for a classroom of 6 and of 20 students: per 640×360 frame the §3.2 enhancement and
  alignment of the whole frame, the crops of every student from every camera, and one recognition of every
  student per ``frames``-frame window (amortised over the window's frames). Students come from ground-truth
  boxes (no detector in the loop); the generator seats at most 16, so the 20-student classroom repeats the
  crops of a 10-student one (the model's cost does not depend on who sits there).

Medians of repeated calls (``smartclass.metrics.speed.measure``); torch threads as given (default 2).

    python benchmarks/mmfg_speed.py [--checkpoint checkpoints/mmfg/mmfg.pt] [--threads 2] [--low-crop 32]
                                    [--only-table5]
"""

from __future__ import annotations

import argparse
import dataclasses
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


def stage_hooks(model, spent: dict[str, list[float]]) -> list:
    """Forward hooks that append each top-level stage's seconds per model call to ``spent``; returns the handles."""
    stages = {"DCA-Net fusion": model.dcanet, "keypoint head": model.keypoint_head,
              "keypoint encoding (eq. 6)": model.encoder, "MST-GCN": model.gcn.blocks,
              "context stream + classifier": [model.context, model.classifier]}
    starts: dict[str, float] = {}
    handles = []
    for name, mods in stages.items():
        mods = [m for m in (mods if isinstance(mods, (list, torch.nn.ModuleList)) else [mods]) if m is not None]
        first, last = mods[0], mods[-1]
        handles.append(first.register_forward_pre_hook(lambda *_, n=name: starts.__setitem__(n, time.perf_counter())))
        handles.append(last.register_forward_hook(
            lambda *_, n=name: spent[n].append(time.perf_counter() - starts[n])))
    return handles


def module_times(model, rgb, depth, thermal, runs: int = 10) -> dict[str, float]:
    """Median milliseconds per call of each top-level stage (forward hooks), the enhancement timed alone."""
    spent: dict[str, list[float]] = defaultdict(list)
    handles = stage_hooks(model, spent)
    with torch.inference_mode():
        for _ in range(runs + 2):
            model(rgb, depth, thermal)
    for h in handles:
        h.remove()
    out = {n: 1000 * sorted(v[2:])[len(v[2:]) // 2] for n, v in spent.items()}
    x = rgb.flatten(0, 1)
    enh = measure(lambda: model.enhance(x), runs=runs)
    return {"learnable Retinex (§3.2)": 1000 * enh.median_s, **out}


def interleaved(fns: dict, rounds: int, stat=min) -> dict[str, float]:
    """Seconds per call of each function, timed in alternation (one call of each per round, after one warm-up
    call each), so that a shared machine's changing load hits every variant alike. ``stat`` reduces each
    function's times: ``min`` (default here) is the least disturbed call, the estimate of a function's own cost
    that other processes' load perturbs least; pass ``statistics.median`` for the typical call."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.inference_mode():
        for fn in fns.values():
            fn()
        for _ in range(rounds):
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return {k: stat(v) for k, v in times.items()}


def _stage_calls(model, rgb, depth, thermal) -> dict:
    """Standalone calls of the enhancement, the fusion and the whole model on a batch of clips; the fusion is
    fed what the model feeds it (the enhanced frames, depth and thermal in network units)."""
    from smartclass.models.recognizer import DEPTH_SCALE, THERMAL_CENTRE, THERMAL_SCALE

    x = rgb.flatten(0, 1)
    with torch.inference_mode():
        fusion_in = (model.enhance(x), depth.flatten(0, 1) / DEPTH_SCALE,
                     (thermal.flatten(0, 1) - THERMAL_CENTRE) / THERMAL_SCALE)
    return {"enhancement": lambda: model.enhance(x), "fusion": lambda: model.dcanet(*fusion_in),
            "full model": lambda: model(rgb, depth, thermal)}


def table5(model, clip, crop: int, low_crop: int, frames: int, runs: int) -> dict:
    """Paper 002's Table 5 (see the module docstring): standalone frames/s of the enhancement, fusion and
    recognition modules and of the whole model before/after int8 dynamic quantisation and a lower resolution,
    and whole-pipeline classroom frames/s for 6 and 20 students. Recognition = the stages after the
    enhancement and the fusion: keypoint head, eq. 6 encoding, MST-GCN, context stream and classifier, each timed
    by forward hooks inside the whole-model calls (the fusion's hook calls are standalone calls too, and
    are left out of that sum)."""
    import copy

    samples = [student_sample(clip, s, crop) for s in clip.students][:6]
    rgb, depth, thermal = batch_of(samples)
    low = batch_of([student_sample(clip, s, low_crop) for s in clip.students][:6])
    def int8():
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)

    quantised = int8()
    # one network object per variant: each carries its own timing hooks
    variants = {"unoptimised": (model, (rgb, depth, thermal)),
                "int8 dynamic quantisation (nn.Linear)": (quantised, (rgb, depth, thermal)),
                f"lower resolution ({low_crop} px crops)": (copy.deepcopy(model), low),
                f"int8 + {low_crop} px": (int8(), low)}
    fns = {(v, k): fn for v, (net, inp) in variants.items() for k, fn in _stage_calls(net, *inp).items()}
    spent = {v: defaultdict(list) for v in variants}  # per stage, measured inside the full-model calls
    handles = [h for v, (net, _) in variants.items() for h in stage_hooks(net, spent[v])]
    try:
        med = interleaved(fns, 2 * runs)
    finally:
        for h in handles:
            h.remove()
    n_frames = rgb.shape[0] * rgb.shape[1]
    rates = {}
    for v in variants:
        recognition = sum(min(t) for k, t in spent[v].items() if k != "DCA-Net fusion")
        rates[v] = {"enhancement": n_frames / med[(v, "enhancement")], "fusion": n_frames / med[(v, "fusion")],
                    "recognition": n_frames / recognition, "full model": n_frames / med[(v, "full model")]}
    base = rates["unoptimised"]
    rows = [{"module": m, **{k: v[m] for k, v in rates.items()},
             **{f"× {k}": v[m] / base[m] for k, v in rates.items() if k != "unoptimised"}} for m in base]
    print_table(rows, title=f"Table 5: standalone frames/s (a frame = one student crop per camera, {crop} px, "
                            f"batch {len(samples)} clips; interleaved, fastest of {2 * runs} rounds)")
    linear = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Linear) for p in m.parameters())
    total = sum(p.numel() for p in model.parameters())

    enhancer = TrimodalEnhancer()
    cams = Cameras(clip.cameras["rgb"], clip.cameras["depth"], clip.cameras["thermal"])
    all_samples = [student_sample(clip, s, crop) for s in clip.students]
    batches = {}
    for n in (6, 20):
        idx = torch.arange(len(all_samples)).repeat(-(-n // len(all_samples)))[:n]
        batches[n] = tuple(x[idx] for x in batch_of(all_samples))
    fns = {"frame enhancement + alignment": lambda: enhancer(clip.rgb[0], clip.depth[0], clip.thermal[0], cams),
           "crops, all students, one frame": lambda: [student_sample(clip, s, crop) for s in clip.students]}
    for n, batch in batches.items():
        fns[f"model {n}"] = lambda b=batch: model(*b)
        fns[f"int8 model {n}"] = lambda b=batch: quantised(*b)
    med = interleaved(fns, max(3, runs // 2))
    crop_per_student_frame = med["crops, all students, one frame"] / (len(clip.students) * clip.num_frames)
    classroom = []
    for n in batches:
        for name, key in (("unoptimised", f"model {n}"), ("int8 dynamic quantisation", f"int8 model {n}")):
            per_frame = med["frame enhancement + alignment"] + n * crop_per_student_frame + med[key] / frames
            classroom.append({"students": n, "model": name, "classroom_fps": 1 / per_frame,
                              "enhancement_ms": 1000 * med["frame enhancement + alignment"],
                              "crops_ms": 1000 * n * crop_per_student_frame,
                              "recognition_ms_amortised": 1000 * med[key] / frames})
    print_table(classroom, title="full trimodal classroom frames/s (640×360 RGB + depth + thermal, whole pipeline)")
    return {"crop": crop, "low_crop": low_crop, "batch_clips": len(samples), "rounds": 2 * runs, "module_fps": rows,
            "linear_parameters": linear, "parameters": total,
            "note": f"int8 dynamic quantisation only touches nn.Linear layers: {linear} of the model's {total} "
                    "parameters; the convolutions (encoders, deformable alignment, keypoint head, GCN) stay float. "
                    "Variants are timed interleaved, the fastest of the rounds kept (a shared machine's load "
                    "inflates the median): trust the ratios more than the absolute rates",
            "classroom": classroom,
            "classroom_definition": "per frame: TrimodalEnhancer on the whole frame (with alignment) + crops of "
                                    "every student from every camera + one recognition of every student per "
                                    f"{frames}-frame window, amortised; students from ground-truth boxes; the "
                                    "20-student classroom repeats the crops of the rendered 10"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="checkpoints/mmfg/mmfg.pt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--low-crop", type=int, default=32, help="crop side of the lower-resolution variant (Table 5)")
    ap.add_argument("--only-table5", action="store_true", help="run only the Table 5 part; keep the other results")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        model, ck = load_checkpoint(args.checkpoint)
    except InputError as e:
        raise SystemExit(f"mmfg_speed: --checkpoint: {e}") from None
    tc, sc = ck["config"]["train"], ck["config"].get("synth", {})
    # clip length and rate: in train (older checkpoints) or in synth (where the config keeps them now)
    frames, crop, fps = tc.get("frames", sc.get("frames")), tc["crop"], tc.get("fps", sc.get("fps"))
    cfg = SynthConfig(split="test", frames=frames, fps=fps, students=6, width=640, height=360,
                      conditions=("normal",), seed=0)
    ten = lambda: render_clip(dataclasses.replace(cfg, students=10), 0)  # noqa: E731
    if args.only_table5:  # the other parts' results (and the date they were measured) are kept
        import json

        from smartclass.bench import RESULTS_DIR

        path = RESULTS_DIR / "mmfg_speed.json"
        previous = json.loads(path.read_text()) if path.is_file() else {}
        results = previous.get("results", {})
        results.setdefault("other_parts_measured", previous.get("date"))
        results["table5"] = table5(model, ten(), crop, args.low_crop, frames, args.runs)
        write_results("mmfg_speed", results)
        return
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
    t5 = table5(model, ten(), crop, args.low_crop, frames, args.runs)
    write_results("mmfg_speed", {
        "checkpoint": args.checkpoint, "epoch": ck.get("epoch"), "clip": {"frames": frames, "fps": fps, "crop": crop,
                                                                         "students": students, "size": "640x360"},
        "pipelines": rows, "modules": mod_rows,
        "timings": {k: v.to_dict() for k, v in (("model_batch1", t_one), ("model_batch_all", t_all),
                                                 ("crops", t_crop), ("end_to_end", t_e2e),
                                                 ("end_to_end_with_enhancement", t_full))},
        "table5": t5,
    })


if __name__ == "__main__":
    main()
