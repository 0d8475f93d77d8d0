"""Per-student recognition with the trimodal recogniser: each student's track of a clip → class probabilities.

:func:`recognise_students` takes a loaded recogniser (``load_model(..., expected="mmfg")``) and a clip with
student tracks (:class:`smartclass.clip.Clip`; boxes and keypoints per camera), cuts each student's per-student
sample (:func:`smartclass.crops.student_sample`) and returns one row per student. :func:`recognise_synthetic`
runs a checkpoint on unseen SmartClass-Synth test students, one clip per recording condition (the demo's
recognition part).
"""

from __future__ import annotations

import dataclasses
import os

import torch

from smartclass.clip import CONDITIONS, Clip
from smartclass.crops import student_sample
from smartclass.labels import class_names


@torch.no_grad()
def recognise_students(model: torch.nn.Module, clip: Clip, crop: int, vocabulary: str,
                       batch_size: int = 16) -> list[dict]:
    """One row per student of ``clip``: ``track_id``, ``condition``, ``truth`` (the clip's label at the centre
    frame), ``predicted``, ``confidence`` (softmax probability of the prediction) and ``probabilities`` (all
    classes). ``crop``/``vocabulary``: the values the model was trained with (its config's ``train`` section)."""
    names = class_names(vocabulary)
    device = next(model.parameters()).device
    rows = []
    for start in range(0, len(clip.students), batch_size):
        tracks = clip.students[start:start + batch_size]
        items = [student_sample(clip, s, crop, vocabulary) for s in tracks]
        stack = lambda k: torch.stack([it[k] for it in items]).to(device)  # noqa: E731
        has = lambda k: all(it[f"has_{k}"] for it in items)  # noqa: E731
        out = model(stack("rgb"), stack("depth") if has("depth") else None,
                    stack("thermal") if has("thermal") else None)
        for track, it, p in zip(tracks, items, out.logits.softmax(1).cpu()):
            rows.append({"track_id": track.track_id, "condition": clip.condition,
                         "truth": names[it["label"]] if it["label"] >= 0 else None,
                         "predicted": names[int(p.argmax())], "confidence": float(p.max()),
                         "probabilities": {n: float(v) for n, v in zip(names, p)}})
    return rows


def recognise_synthetic(checkpoint: str | os.PathLike, seed: int, device: str = "cpu") -> dict:
    """The recogniser of ``checkpoint`` on one SmartClass-Synth test-split clip per condition (students the
    training never saw): per-student rows (without the probability tables) and top-1."""
    from smartclass.config import config_from_dict
    from smartclass.inference.load import load_model
    from smartclass.synth.generator import render_clip

    model, info = load_model(checkpoint, device=device, expected="mmfg")
    cfg = config_from_dict(info.get("config") or {})
    tc = cfg.train
    synth = dataclasses.replace(cfg.synth, split="test", seed=seed + 1000, conditions=CONDITIONS)
    rows = []
    for index in range(len(CONDITIONS)):
        rows += [{k: v for k, v in r.items() if k != "probabilities"}
                 for r in recognise_students(model, render_clip(synth, index), tc.crop, tc.vocabulary)]
    top1 = sum(r["truth"] == r["predicted"] for r in rows) / len(rows)
    return {"checkpoint": str(checkpoint), "students": rows, "top1": top1}
