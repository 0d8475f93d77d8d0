"""``smartclass eval``: the columns of paper 002's Table 3 for a trained recogniser on a data split."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from smartclass.clip import CONDITIONS
from smartclass.errors import InputError
from smartclass.labels import class_names


def parse_synth_spec(spec: str) -> dict:
    """``'synth:split=test,samples=400,seed=0'`` → dict (defaults: test split, 400 samples, seed 0)."""
    out = {"split": "test", "samples": 400, "seed": 0}
    body = spec[len("synth:"):]
    for item in filter(None, body.split(",")):
        if "=" not in item:
            raise InputError(f"--data {spec}: '{item}' is not key=value (keys: split, samples, seed)")
        k, v = item.split("=", 1)
        if k not in out:
            raise InputError(f"--data {spec}: unknown key '{k}'; expected split, samples or seed")
        if k == "split":
            if v not in ("train", "val", "test"):
                raise InputError(f"--data {spec}: split '{v}' is not one of train, val, test")
            out[k] = v
            continue
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = -1
        if out[k] < (1 if k == "samples" else 0):
            raise InputError(f"--data {spec}: {k} must be an integer ≥ {1 if k == 'samples' else 0}, got '{v}'")
    return out


def load_eval_data(data: str, synth_cfg, tc, log=print) -> tuple[dict, str]:
    """Packed samples from ``synth:SPEC`` or an on-disk data set folder (its test split)."""
    import dataclasses

    from smartclass.training.recognizer import pack, synth_data

    if data.startswith("synth:"):
        spec = parse_synth_spec(data)
        cfg = dataclasses.replace(synth_cfg, seed=spec["seed"])
        return synth_data(cfg, spec["split"], spec["samples"], tc, log), f"SmartClass-Synth {spec}"
    from smartclass.data.students import DiskStudentClips

    root = Path(data)
    ds = DiskStudentClips(root, "test", crop=tc.crop, vocabulary=tc.vocabulary)
    items = [ds[i] for i in range(len(ds))]
    if not items:
        raise InputError(f"--data {root}: the test split has no students")
    frames = {it["rgb"].shape[0] for it in items}
    if len(frames) > 1:
        raise InputError(f"--data {root}: clips differ in length {sorted(frames)}; evaluation needs one length")
    return pack(items), f"{root} (test split)"


def uint8_image(x: torch.Tensor) -> np.ndarray:
    """An image tensor in 0..1 (any layout) → uint8 numpy, same layout."""
    return (x.detach().clamp(0, 1) * 255).round().cpu().numpy().astype(np.uint8)


def evaluate(model, data: dict, vocabulary: str, out_png: Path | None = None, batch_size: int = 16,
             quality_samples: int = 32, per_sample: list | None = None) -> dict:
    """Classification report, enhancement PSNR/SSIM, fusion MI/Qabf/EPI and FPS. ``per_sample``: a list that
    receives one dict per sample (index, condition, truth, predicted, confidence)."""
    from smartclass.metrics.classification import classification_report, plot_confusion_matrix
    from smartclass.metrics.fusion import fusion_epi, mutual_information, qabf
    from smartclass.metrics.image import psnr, ssim
    from smartclass.metrics.speed import measure
    from smartclass.training.recognizer import model_inputs, predict, presence, unpack

    names = class_names(vocabulary)
    if model.cfg.num_classes != len(names):
        raise InputError(f"checkpoint predicts {model.cfg.num_classes} classes but vocabulary '{vocabulary}' has {len(names)}")
    logits = predict(model, data, batch_size)
    report = classification_report(logits.numpy(), data["label"].numpy(), names, ks=(1, 5))
    report["top5_note"] = "Top-5 of 10 classes says little; reported because paper 002 does."
    tta = classification_report(predict(model, data, batch_size, flip=True).numpy(), data["label"].numpy(), names, ks=(1,))
    report["flip_tta"] = {"top1": tta["top1"], "macro_f1": tta["macro_f1"],
                          "note": "test-time augmentation: softmax averaged over each clip and its mirror image "
                                  "(2× the compute); the figures above are single-view"}
    gt_logits = predict(model, data, batch_size, ground_truth_keypoints=True)
    report["top1_ground_truth_keypoints"] = float((gt_logits.argmax(1) == data["label"]).float().mean())
    cond = data["condition"].numpy()
    pred = logits.argmax(1).numpy()
    if per_sample is not None:
        conf = logits.softmax(1).max(1).values.tolist()
        per_sample.extend({"index": i, "condition": CONDITIONS[c], "truth": names[t], "predicted": names[p],
                           "confidence": round(float(cf), 6)}
                          for i, (c, t, p, cf) in enumerate(zip(cond.tolist(), data["label"].tolist(), pred.tolist(), conf)))
    report["top1_per_condition"] = {c: float((pred[cond == i] == data["label"].numpy()[cond == i]).mean())
                                    for i, c in enumerate(CONDITIONS) if (cond == i).any()}
    if out_png is not None:
        plot_confusion_matrix(report["confusion_matrix"], names, out_png, title="Trimodal recogniser (test split)")

    # enhancement and fusion quality on the middle frame of the first samples
    idx = torch.arange(min(quality_samples, len(data["label"])))
    b = unpack(data, idx)
    t = b["rgb"].shape[1] // 2
    with torch.no_grad():
        o = model(*model_inputs(b), present=presence(b))
    q = {"psnr_input": [], "psnr_enhanced": [], "ssim_input": [], "ssim_enhanced": [], "mi": [], "qabf": [], "epi": []}
    T = b["rgb"].shape[1]
    for i in range(len(idx)):
        ref = uint8_image(b["rgb_clean"][i, t]).transpose(1, 2, 0)
        raw = uint8_image(b["rgb"][i, t]).transpose(1, 2, 0)
        q["psnr_input"].append(psnr(ref, raw))
        q["ssim_input"].append(ssim(ref, raw))
        if o.enhanced is not None:
            enh = uint8_image(o.enhanced[i * T + t]).transpose(1, 2, 0)
            q["psnr_enhanced"].append(psnr(ref, enh))
            q["ssim_enhanced"].append(ssim(ref, enh))
        if b["present"][i, 1]:  # this sample has a thermal frame
            fused = o.fusion.fused[i * T + t].mean(0, keepdim=True)[None]
            fused = F.interpolate(fused, size=raw.shape[:2], mode="bilinear", align_corners=False)[0, 0]
            fused = (fused - fused.min()) / (fused.max() - fused.min()).clamp_min(1e-6)
            th = b["thermal"][i, t, 0]
            th = (th - th.min()) / (th.max() - th.min()).clamp_min(1e-6)
            A, B, Fu = raw.mean(-1).astype(np.uint8), uint8_image(th), uint8_image(fused)
            q["mi"].append(mutual_information(A, B, Fu))
            q["qabf"].append(qabf(A, B, Fu))
            q["epi"].append(fusion_epi(A, B, Fu))
    report["enhancement"] = {k: float(np.mean(v)) for k, v in q.items() if k.startswith(("psnr", "ssim")) and v}
    side = b["rgb"].shape[-1]
    visible = b["keypoints"][..., 2] >= 2
    err = (o.keypoints - b["keypoints"][..., :2]).norm(dim=-1)[visible]  # crop-normalised units
    report["keypoints"] = {"mean_error_px": float(err.mean() * side), "median_error_px": float(err.median() * side),
                           "pck_at_0.1_crop": float((err < 0.1).float().mean()), "crop_px": side,
                           "note": f"predicted vs generator keypoints, visible ones, all frames of {len(idx)} samples"}
    report["fusion_feature_map"] = {k: float(np.mean(v)) for k, v in q.items() if k in ("mi", "qabf", "epi") and v}
    report["fusion_note"] = ("MI/Qabf/EPI of the channel-mean fused feature map (upsampled, min-max scaled) against "
                             "the grey RGB input (A) and the thermal crop (B), middle frame")

    # speed: one student-clip per forward (batch 1) and in batches
    one = unpack(data, torch.arange(1))
    args = model_inputs(one)
    with torch.no_grad():
        t1 = measure(lambda: model(*args), warmup=2, runs=7)
        many = unpack(data, torch.arange(min(8, len(data["label"]))))
        argsb = model_inputs(many)
        tb = measure(lambda: model(*argsb), warmup=1, runs=3)
    report["speed"] = {"clip_frames": T, "threads": torch.get_num_threads(),
                       "model_clips_per_s_batch1": 1 / t1.median_s, "model_clips_per_s_batch8": len(many["label"]) / tb.median_s,
                       "model_frames_per_s_batch8": T * len(many["label"]) / tb.median_s}
    return report
