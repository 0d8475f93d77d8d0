"""Paper 002's experiments (§4): Tables 3, 4 and 6, the robustness comparison (Figure 4) and the
interpretability figures, every row a config switch of the one trimodal recogniser.

Each variant is the recogniser of :mod:`smartclass.models.recognizer` with a few ``key=value`` overrides
(:data:`VARIANTS`) on top of a size profile (:data:`PROFILES`: ``quick`` or ``full``), trained by the one
pipeline (:func:`smartclass.training.recognizer.fit`, the training engine: epoch schedule, fixed seed) on the
same rendered SmartClass-Synth data, and scored on the subject-disjoint test split (``synth.split=test``).

Results folder (``out_dir``)::

    variants/<name>.json     one per trained variant: config, training summary, metrics (a rerun skips these)
    paper002.json            every variant's headline figures, the tables as data, environment and command
    tables.md                Tables 3, 4, 6, robustness, gates, keypoint attention and Table 5 (referenced)
    robustness.png           Figure 4: top-1 per condition, method vs strongest baseline, Wilson 95 % intervals
    gates.png                eq. 5 gate weights α, β, γ per condition (method)
    attention_conditions.png eq. 9 spatio-temporal attention over keypoints per condition (method)
    attention_samples.png    eq. 9 attention over frames × keypoints for one test clip per condition (method)
    cross_attention.png      eq. 4 cross-attention maps for the same clips (method)

Work folder (``work_dir``, e.g. ``runs/paper002-quick``): ``<variant>/last.pt``, ``best.pt`` and
``config.yaml`` of each training; a killed run resumes from ``last.pt`` (the engine's exact resume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from smartclass.clip import CONDITIONS
from smartclass.config import Config, load_config, save_config, to_dict
from smartclass.errors import ConfigError, InputError
from smartclass.metrics.classification import wilson_interval
from smartclass.io import write_json_atomic, write_text_atomic
from smartclass.labels import class_names
from smartclass.layouts import UPPER_BODY_17
from smartclass.runs import config_differences, guard_output

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


# -- what is run ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    """One row of the paper's tables: ``overrides`` switch the method into it."""

    name: str
    label: str
    overrides: tuple[str, ...] = ()


METHOD = "method"
VARIANTS: tuple[Variant, ...] = (
    Variant(METHOD, "Proposed method (gated WGF enhancement + DCA-Net + MST-GCN)"),
    # Table 3's baselines, trained by the same pipeline on the same three modalities
    Variant("retinex_concat_gcn", "Retinex + simple concatenation + GCN",
            ("model.enhance_method=msr", "model.fusion=concat", "model.gcn=stgcn")),
    Variant("cnn_attention_gcn", "CNN + conventional attention + GCN",
            ("model.enhance=false", "model.fusion=attention", "model.gcn=stgcn")),
    Variant("mmcnn_stgcn", "Multi-modal CNN + ST-GCN",
            ("model.enhance=false", "model.fusion=concat", "model.gcn=stgcn")),
    # Table 4's steps (its baseline is Table 3's Retinex + concatenation + GCN, its last step the method)
    Variant("plus_wgf", "Baseline + WGF enhancement", ("model.fusion=concat", "model.gcn=stgcn")),
    Variant("plus_dca", "Baseline + WGF + DCA-Net", ("model.gcn=stgcn",)),
    # Table 6's removals from the method
    Variant("no_multiscale", "Without multi-scale weights of the WGF", ("model.enhance_multiscale=false",)),
    Variant("no_deformable", "Without deformable convolution", ("model.deformable=false",)),
    Variant("no_dilation", "Without multi-dilation temporal convolution", ("model.gcn_dilations=[1]",)),
    Variant("no_adaptive", "Without adaptive loss weights", ("train.adaptive_task_weights=false",)),
)
BY_NAME = {v.name: v for v in VARIANTS}
TABLE3 = ("retinex_concat_gcn", "cnn_attention_gcn", "mmcnn_stgcn", METHOD)
TABLE4 = (("Baseline (classic Retinex + concatenation + ST-GCN)", "retinex_concat_gcn"),
          ("+ weighted guided filter enhancement", "plus_wgf"),
          ("+ DCA-Net", "plus_dca"),
          ("+ MST-GCN (= the method)", METHOD))
TABLE6 = (METHOD, "no_multiscale", "no_deformable", "no_dilation", "no_adaptive")
BASELINES = TABLE3[:-1]


@dataclass(frozen=True)
class Profile:
    """Sizes of one run: config overrides shared by every variant, the test-set size and the stated budget."""

    name: str
    overrides: tuple[str, ...]
    test_samples: int
    budget: str


_COMMON = ("seed=0", "synth.students=6", "synth.num_subjects=40", "synth.width=640", "synth.height=360",
           "model.enhance_gate=true", "train.flip=true", "train.time_budget_min=0", "train.lr=1.0e-3",
           "train.batch_size=16")
QUICK = Profile("quick", _COMMON + (
    "synth.frames=8", "synth.fps=2.5",
    "model.width=16", "model.keypoint_channels=16", "model.gcn_channels=[32,32,64]",
    "train.crop=32", "train.epochs=8", "train.patience=8", "train.lr_milestones=[6]", "train.train_samples=600",
    "train.val_samples=96", "train.keypoint_warmup_steps=150", "train.workers=1",
), test_samples=480, budget="about 12 min on one core with 1 thread (measured 11 min 14 s on the shared 2-core "
                            "machine): 10 variants × 8 epochs of 600 clips (8 frames, 32 px crops, a narrower "
                            "network), 480 test clips (120 per condition)")
FULL = Profile("full", _COMMON + (
    "synth.frames=16", "synth.fps=5",
    "train.crop=32", "train.epochs=12", "train.patience=12", "train.lr_milestones=[9,11]",
    "train.train_samples=2400", "train.val_samples=300", "train.keypoint_warmup_steps=1000", "train.workers=1",
), test_samples=8016, budget="about 3 hours on one core with 1 thread: 10 variants × 12 epochs of 2400 clips "
                             "(16 frames at 5 fps, 32 px crops, the shipped network width; measured on the shared "
                             "machine in CPU time: 19 min the method, 12 min Retinex + concatenation, rendering "
                             "10 716 clips 25 min), 8016 test clips (2004 per condition, so a Wilson 95 % interval "
                             "is ±1.3 points at 90 % top-1)")
PROFILES = {p.name: p for p in (QUICK, FULL)}
HOW_NOT_WHAT = ("threads", "device", "train.workers", "train.cache_dir")
"""Config keys that change how fast or where a run goes, not what it learns: ignored when a rerun compares configs."""


def select_variants(names: Iterable[str] | None) -> list[Variant]:
    """The variants called ``names`` (all when None), in table order; an unknown name is an :class:`InputError`."""
    if names is None:
        return list(VARIANTS)
    names = list(names)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        raise InputError(f"--only: unknown variant {', '.join(map(repr, unknown)) or '(none given)'}; expected a "
                         f"comma-separated subset of {', '.join(BY_NAME)}")
    return [v for v in VARIANTS if v.name in names]


def variant_config(profile: Profile, variant: Variant, overrides: Iterable[str] = ()) -> Config:
    """The merged config of ``variant``: defaults ← profile ← variant switches ← ``overrides`` (the caller's)."""
    cfg = load_config(None, (*profile.overrides, *variant.overrides, *overrides))
    n = len(class_names(cfg.train.vocabulary))
    if cfg.model.num_classes != n:
        raise ConfigError(f"model.num_classes = {cfg.model.num_classes} but train.vocabulary "
                          f"'{cfg.train.vocabulary}' has {n} classes")
    return cfg


# -- statistics -----------------------------------------------------------------------------------------
def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


# -- evaluation -----------------------------------------------------------------------------------------
def _image(x: torch.Tensor) -> np.ndarray:
    """``(3, S, S)`` in 0..1 → ``(S, S, 3)`` uint8."""
    from smartclass.training.evaluate import uint8_image

    return uint8_image(x).transpose(1, 2, 0)


def _quality(ref: np.ndarray, img: np.ndarray) -> dict[str, float]:
    from smartclass.metrics.fusion import epi
    from smartclass.metrics.image import normalised_mutual_information, psnr, ssim

    return {"psnr": psnr(ref, img), "ssim": ssim(ref, img), "nmi": normalised_mutual_information(ref, img),
            "epi": epi(ref, img)}


def _attention_blocks(model) -> list:
    """The eq. 9 attention modules of the recogniser's MST-GCN (empty for ST-GCN or without attention)."""
    from smartclass.models.gcn.mstgcn import SpatioTemporalAttention

    blocks = getattr(model.gcn, "blocks", [])
    return [b.att for b in blocks if isinstance(getattr(b, "att", None), SpatioTemporalAttention)]


@torch.no_grad()
def evaluate_variant(model, data: dict, vocabulary: str, batch_size: int = 16, speed_runs: int = 3) -> dict:
    """Scores of a trained recogniser on packed test ``data`` in one pass: top-1/top-5/macro-F1 (all and per
    condition, with Wilson 95 % intervals), the image quality of the frame the network sees (the enhanced
    one; the input where the variant has no enhancement) against the clean reference — PSNR, SSIM, NMI and
    EPI of the middle frame of every clip, per condition, beside the input's —, the eq. 5 gate weights per
    condition (DCA-Net variants), the eq. 9 attention over keypoints per condition (MST-GCN variants) and
    the model's speed in student-crop frames per second (batch of 8 clips)."""
    from smartclass.metrics.classification import classification_report
    from smartclass.metrics.speed import measure
    from smartclass.training.recognizer import model_inputs, presence, unpack

    names = class_names(vocabulary)
    model.eval()
    dev = next(model.parameters()).device
    att_modules = _attention_blocks(model)
    captured: list[torch.Tensor] = []
    hook = (att_modules[-1].register_forward_hook(lambda m, inp, out: captured.append(m.attention_map(inp[0]).cpu()))
            if att_modules else None)
    logits, gates, quality = [], [], []
    try:
        for idx in torch.arange(len(data["label"])).split(batch_size):
            b = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in unpack(data, idx).items()}
            o = model(*model_inputs(b), present=presence(b))
            n, t = b["rgb"].shape[:2]
            logits.append(o.logits.cpu())
            gates.append(o.fusion.weights.view(n, t, 3).mean(1).cpu())
            seen = o.enhanced.view(n, t, *o.enhanced.shape[1:]) if o.enhanced is not None else b["rgb"]
            for i in range(n):
                ref = _image(b["rgb_clean"][i, t // 2])
                quality.append({"input": _quality(ref, _image(b["rgb"][i, t // 2])),
                                "output": _quality(ref, _image(seen[i, t // 2]))})
    finally:
        if hook is not None:
            hook.remove()
    logits_t = torch.cat(logits)
    labels = data["label"].numpy()
    cond = data["condition"].numpy()
    report = classification_report(logits_t.numpy(), labels, names, ks=(1, 5))
    correct = logits_t.argmax(1).numpy() == labels
    per_condition = {}
    for ci, c in enumerate(CONDITIONS):
        sel = cond == ci
        if not sel.any():
            continue
        k, n = int(correct[sel].sum()), int(sel.sum())
        lo, hi = wilson_interval(k, n)
        q = [quality[i] for i in np.flatnonzero(sel)]
        per_condition[c] = {
            "samples": n, "correct": k, "top1": k / n, "top1_ci95": [lo, hi],
            "quality": {f"{m}_{side}": _mean([s[side][m] for s in q])
                        for side in ("input", "output") for m in ("psnr", "ssim", "nmi", "epi")},
        }
    g = torch.cat(gates)
    gate_rows = {c: {"alpha_rgb": float(g[cond == ci, 0].mean()), "beta_depth": float(g[cond == ci, 1].mean()),
                     "gamma_thermal": float(g[cond == ci, 2].mean()),
                     "std": [float(s) for s in g[cond == ci].std(0, unbiased=False)]}
                 for ci, c in enumerate(CONDITIONS) if (cond == ci).any()}
    out = {
        "top1": report["top1"], "top5": report["top5"], "macro_f1": report["macro_f1"],
        "per_class_f1": report["per_class_f1"], "confusion_matrix": report["confusion_matrix"],
        "classes": report["classes"], "samples": report["num_samples"], "per_condition": per_condition,
        "gates_per_condition": gate_rows if model.cfg.fusion == "dca" else None,
    }
    if captured:
        att = torch.cat(captured)  # (N, T', V), each map sums to 1
        t_v = att.shape[1] * att.shape[2]
        out["keypoint_attention_per_condition"] = {  # relative to uniform attention (1 = uniform)
            c: [float(v) for v in att[cond == ci].mean((0, 1)) * t_v]
            for ci, c in enumerate(CONDITIONS) if (cond == ci).any()}
        out["keypoint_attention_note"] = ("eq. 9 attention of the last MST-GCN block, averaged over frames and the "
                                          "condition's test clips, × T'·V (1 = uniform); joints: "
                                          + ", ".join(UPPER_BODY_17.joints))
    few = unpack(data, torch.arange(min(8, len(data["label"]))))
    args = [x.to(dev) if isinstance(x, torch.Tensor) else x for x in model_inputs(few)]
    timing = measure(lambda: model(*args), warmup=1, runs=speed_runs, device=dev)
    frames = few["rgb"].shape[0] * few["rgb"].shape[1]
    out["speed"] = {"frames_per_s": frames / timing.median_s, "clips_per_s": few["rgb"].shape[0] / timing.median_s,
                    "batch_clips": few["rgb"].shape[0], "threads": torch.get_num_threads(), "runs": speed_runs,
                    "note": "model forward only, student-crop frames per second; median of a few runs on a "
                            "possibly shared machine (Table 5's benchmark is the careful speed measurement)"}
    return out


def example_indices(data: dict) -> list[int]:
    """The first test clip of each condition (a fixed, unselected choice for the per-sample figures)."""
    cond = data["condition"].numpy()
    return [int(np.flatnonzero(cond == ci)[0]) for ci in range(len(CONDITIONS)) if (cond == ci).any()]


@torch.no_grad()
def interpretability(model, data: dict, vocabulary: str, out_dir: Path) -> dict:
    """Per-sample figures of the method on :func:`example_indices`: the eq. 9 spatio-temporal attention of every
    MST-GCN block over frames × keypoints (``attention_samples.png``) and the eq. 4 cross-attention maps of
    the middle frame (``cross_attention.png``: for each source position of the depth / thermal key grid, the
    attention it receives from the RGB queries, averaged over them); read through forward hooks. Returns the
    numbers behind the figures."""
    from smartclass.training.recognizer import model_inputs, presence, unpack

    names = class_names(vocabulary)
    idx = example_indices(data)
    b = unpack(data, torch.tensor(idx))
    dev = next(model.parameters()).device
    b = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in b.items()}
    n, t = b["rgb"].shape[:2]
    att_maps: dict[int, torch.Tensor] = {}
    cross: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda m, inp, out, i=i: att_maps.__setitem__(i, m.attention_map(inp[0]).cpu()))
             for i, m in enumerate(_attention_blocks(model))]
    attention = getattr(model.dcanet, "attention", None)
    if attention is not None:
        for name in ("depth", "thermal"):
            hooks.append(getattr(attention, name).register_forward_hook(
                lambda m, inp, out, name=name: cross.__setitem__(name, (m.attention(*inp).cpu(), inp[0].shape))))
    try:
        o = model(*model_inputs(b), present=presence(b))
    finally:
        for h in hooks:
            h.remove()
    pred = o.logits.argmax(1).cpu().tolist()
    samples = [{"index": i, "condition": CONDITIONS[int(b["condition"][j])], "truth": names[int(b["label"][j])],
                "predicted": names[pred[j]]} for j, i in enumerate(idx)]
    received = {}
    for name, (a, shape) in cross.items():  # a: (N·T, H·W, Hk·Wk)
        h, w = shape[-2:]
        s = attention.depth.kv_stride
        hk, wk = -(-h // s), -(-w // s)
        mid = a.view(n, t, h * w, hk * wk)[:, t // 2]
        received[name] = (mid.mean(1) * hk * wk).view(n, hk, wk)  # 1 = uniform
    _plot_attention_samples(att_maps, samples, out_dir / "attention_samples.png")
    if received:
        enhanced = o.enhanced.view(n, t, *o.enhanced.shape[1:])[:, t // 2] if o.enhanced is not None else None
        _plot_cross_attention(b, enhanced, received, samples, out_dir / "cross_attention.png")
    return {
        "samples": samples,
        "attention_per_block": {str(i): [[[round(float(x) * m.shape[1] * m.shape[2], 4) for x in row] for row in s]
                                         for s in m] for i, m in att_maps.items()},
        "attention_note": "eq. 9 attention per MST-GCN block, per sample (frames' × 17 keypoints), × T'·V (1 = uniform)",
        "cross_attention_received": {k: [[[round(float(x), 4) for x in row] for row in s] for s in v]
                                     for k, v in received.items()},
        "cross_attention_note": "eq. 4: attention each depth/thermal key position receives from the RGB queries of "
                                "the middle frame, averaged over queries, × number of key positions (1 = uniform)",
        "figures": ["attention_samples.png", "cross_attention.png"] if received else ["attention_samples.png"],
    }


# -- figures --------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    from smartclass.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)


def _plot_attention_samples(maps: dict[int, torch.Tensor], samples: list[dict], path: Path) -> None:
    if not maps:
        return
    plt = _pyplot()
    blocks = sorted(maps)
    fig, axes = plt.subplots(len(blocks), len(samples), figsize=(3.2 * len(samples), 2.6 * len(blocks) + 0.6),
                             squeeze=False)
    rel = {blk: maps[blk] * maps[blk].shape[1] * maps[blk].shape[2] for blk in blocks}
    vmax = max(float(r.max()) for r in rel.values())
    vmin = min(float(r.min()) for r in rel.values())
    for r, blk in enumerate(blocks):
        for c, s in enumerate(samples):
            ax = axes[r][c]
            im = ax.imshow(rel[blk][c].numpy(), aspect="auto", cmap="magma", origin="lower", vmin=vmin, vmax=vmax)
            ax.set_xticks(range(len(UPPER_BODY_17.joints)))
            ax.set_xticklabels(UPPER_BODY_17.joints if r == len(blocks) - 1 else [], rotation=90, fontsize=6)
            ax.set_ylabel(f"block {blk}: frame" if c == 0 else "", fontsize=8)
            if r == 0:
                ax.set_title(f"{s['condition']}\n{s['truth']} → {s['predicted']}", fontsize=8)
    fig.colorbar(im, ax=axes, fraction=0.02)  # one scale for every panel
    fig.suptitle("Eq. 9 spatio-temporal attention (× T·V; 1 = uniform), one test clip per condition", fontsize=9)
    _save(fig, path)


def _plot_cross_attention(b: dict, enhanced, received: dict, samples: list[dict], path: Path) -> None:
    import torch.nn.functional as F

    plt = _pyplot()
    t = b["rgb"].shape[1] // 2
    cols = ["RGB input", "RGB the network sees", "depth", "thermal"] + [f"{k} attention received" for k in received]
    fig, axes = plt.subplots(len(samples), len(cols), figsize=(2.1 * len(cols), 2.2 * len(samples)), squeeze=False)
    size = b["rgb"].shape[-2:]
    for r, s in enumerate(samples):
        shown = [_image(b["rgb"][r, t]), _image((enhanced if enhanced is not None else b["rgb"][:, t])[r]),
                 b["depth"][r, t, 0].cpu().numpy(), b["thermal"][r, t, 0].cpu().numpy()]
        for k in received:
            shown.append(F.interpolate(received[k][r][None, None], size=tuple(size), mode="nearest")[0, 0].numpy())
        for c, img in enumerate(shown):
            ax = axes[r][c]
            im = ax.imshow(img, cmap=None if img.ndim == 3 else ("viridis" if c < 4 else "magma"))
            if c >= 4:  # near-uniform maps would look contrasted without their scale
                fig.colorbar(im, ax=ax, fraction=0.046)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(f"{s['condition']}\n{s['truth']}", fontsize=7)
    fig.suptitle("Eq. 4 cross-attention (middle frame): key positions' received attention, × positions (1 = uniform)",
                 fontsize=8)
    _save(fig, path)


def plot_robustness(rows: list[dict], labels: tuple[str, str], path: Path) -> None:
    """Figure 4: grouped bars of top-1 per condition for two models, Wilson 95 % intervals as error bars."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(rows))
    for j, (key, label) in enumerate(zip(("method", "baseline"), labels)):
        top = np.array([r[key]["top1"] * 100 for r in rows])
        lo = np.array([r[key]["top1_ci95"][0] * 100 for r in rows])
        hi = np.array([r[key]["top1_ci95"][1] * 100 for r in rows])
        ax.bar(x + (j - 0.5) * 0.38, top, 0.38, yerr=[top - lo, hi - top], capsize=3, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r['condition']}\n(n={r['method']['samples']})" for r in rows])
    ax.set_ylabel("top-1 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Robustness (SmartClass-Synth test split), Wilson 95 % intervals", fontsize=9)
    _save(fig, path)


def plot_gates(gates: dict, path: Path) -> None:
    """Eq. 5 gate weights α (RGB), β (depth), γ (thermal) per condition, ± their standard deviation over clips."""
    plt = _pyplot()
    conds = list(gates)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(conds))
    for j, (key, label) in enumerate((("alpha_rgb", "α: F_RGB"), ("beta_depth", "β: F_D-mod (RGB ⊙ depth attention)"),
                                      ("gamma_thermal", "γ: F_T-mod (RGB ⊙ thermal attention)"))):
        ax.bar(x + (j - 1) * 0.27, [gates[c][key] for c in conds], 0.27,
               yerr=[gates[c]["std"][j] for c in conds], capsize=2, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(conds)
    ax.set_ylabel("gate weight (sums to 1)")
    ax.legend(fontsize=7)
    ax.set_title("Eq. 5 gated fusion weights per condition (method, test clips)", fontsize=9)
    _save(fig, path)


def plot_keypoint_attention(per_condition: dict, path: Path) -> None:
    """Eq. 9 attention per keypoint (last MST-GCN block) per condition as a condition × keypoint heat map."""
    plt = _pyplot()
    conds = list(per_condition)
    m = np.array([per_condition[c] for c in conds])
    fig, ax = plt.subplots(figsize=(8, 2.4))
    im = ax.imshow(m, aspect="auto", cmap="magma")
    ax.set_yticks(range(len(conds)))
    ax.set_yticklabels(conds, fontsize=8)
    ax.set_xticks(range(len(UPPER_BODY_17.joints)))
    ax.set_xticklabels(UPPER_BODY_17.joints, rotation=90, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title("Eq. 9 attention over keypoints per condition (last block, × T'·V; 1 = uniform)", fontsize=9)
    _save(fig, path)


# -- tables ---------------------------------------------------------------------------------------------
def markdown_table(columns: list[str], rows: list[list]) -> str:
    """A GitHub Markdown table; floats as given (format them before), ``None`` as an em dash."""
    cell = lambda v: "—" if v is None else str(v)  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _f(v: float | None, digits: int = 2, scale: float = 1.0) -> str | None:
    return None if v is None else f"{v * scale:.{digits}f}"


def _q(res: dict, cond: str, key: str) -> float | None:
    pc = res["metrics"]["per_condition"].get(cond)
    return pc["quality"].get(key) if pc else None


NOT_RUN = "not yet run"


def _not_run(label: str, columns: int) -> list:
    """A table row for a variant without a result: its label, then ``NOT_RUN`` (never a number)."""
    return [label, NOT_RUN] + [None] * (columns - 2)


def table3_rows(results: dict[str, dict]) -> list[list]:
    rows = []
    for name in TABLE3:
        if name not in results:
            rows.append(_not_run(BY_NAME[name].label, len(TABLE3_COLUMNS)))
            continue
        r, m = results[name], results[name]["metrics"]
        rows.append([r["label"], _f(_q(r, "low_light", "psnr_output")), _f(_q(r, "normal", "psnr_output")),
                     _f(_q(r, "low_light", "ssim_output"), 3), _f(_q(r, "low_light", "nmi_output"), 3),
                     _f(_q(r, "low_light", "epi_output"), 3), _f(m["top1"], 1, 100), _f(m["top5"], 1, 100),
                     _f(m["macro_f1"], 1, 100), _f(m["speed"]["frames_per_s"], 0)])
    return rows


TABLE3_COLUMNS = ["Method", "PSNR low light (dB)", "PSNR normal (dB)", "SSIM", "NMI", "EPI", "Top-1 (%)",
                  "Top-5 (%)", "F1 (%)", "frames/s"]


def table4_rows(results: dict[str, dict]) -> list[list]:
    rows, prev = [], None
    for label, name in TABLE4:
        if name not in results:
            rows.append(_not_run(label, len(TABLE4_COLUMNS)))
            prev = None
            continue
        r, m = results[name], results[name]["metrics"]
        delta = None if prev is None else f"{(m['top1'] - prev) * 100:+.1f}"
        rows.append([label, _f(_q(r, "low_light", "psnr_output")), _f(_q(r, "normal", "psnr_output")),
                     _f(_q(r, "low_light", "ssim_output"), 3), _f(m["top1"], 1, 100), delta, _f(m["macro_f1"], 1, 100),
                     _f(m["speed"]["frames_per_s"], 0)])
        prev = m["top1"]
    return rows


TABLE4_COLUMNS = ["Method", "PSNR low light (dB)", "PSNR normal (dB)", "SSIM", "Top-1 (%)", "Δ top-1 (points)",
                  "F1 (%)", "frames/s"]


def table6_rows(results: dict[str, dict]) -> list[list]:
    full = results.get(METHOD)
    rows = []
    for name in TABLE6:
        if name not in results:
            rows.append(_not_run("Full model" if name == METHOD else BY_NAME[name].label, len(TABLE6_COLUMNS)))
            continue
        r, m = results[name], results[name]["metrics"]
        delta = None if full is None or name == METHOD else f"{(m['top1'] - full['metrics']['top1']) * 100:+.1f}"
        rows.append([r["label"] if name != METHOD else "Full model", _f(_q(r, "low_light", "psnr_output")),
                     _f(_q(r, "low_light", "ssim_output"), 3), _f(_q(r, "low_light", "nmi_output"), 3),
                     _f(_q(r, "low_light", "epi_output"), 3), _f(m["top1"], 1, 100), delta, _f(m["macro_f1"], 1, 100)])
    return rows


TABLE6_COLUMNS = ["Method", "PSNR low light (dB)", "SSIM", "NMI", "EPI", "Top-1 (%)", "Δ top-1 vs full (points)",
                  "F1 (%)"]


def strongest_baseline(results: dict[str, dict]) -> str | None:
    """The Table 3 baseline with the best test top-1 (ties: the later, i.e. the paper's choice, multi-modal CNN +
    ST-GCN, wins)."""
    done = [n for n in BASELINES if n in results]
    return max(reversed(done), key=lambda n: results[n]["metrics"]["top1"]) if done else None


def robustness_rows(results: dict[str, dict]) -> list[dict]:
    """Per condition: top-1 with its Wilson interval and the drop from normal, for the method and the strongest
    baseline (empty unless both were run)."""
    base = strongest_baseline(results)
    if METHOD not in results or base is None:
        return []
    rows = []
    for c in CONDITIONS:
        pm, pb = (results[n]["metrics"]["per_condition"].get(c) for n in (METHOD, base))
        if pm is None or pb is None:
            continue
        rows.append({"condition": c, "method": pm, "baseline": pb})
    normal = next((r for r in rows if r["condition"] == "normal"), None)
    for r in rows:
        for k in ("method", "baseline"):
            r[f"{k}_drop_points"] = None if normal is None else (normal[k]["top1"] - r[k]["top1"]) * 100
    return rows


def _ci(p: dict) -> str:
    return f"{p['top1'] * 100:.1f} [{p['top1_ci95'][0] * 100:.1f}, {p['top1_ci95'][1] * 100:.1f}]"


def table5_markdown(speed: dict | None, source: str) -> str:
    """Table 5 as the speed benchmark last measured it (not re-measured here)."""
    t5 = (speed or {}).get("results", {}).get("table5")
    if not t5:
        return f"Table 5 (speed): no `results.table5` in `{source}`; run `python benchmarks/mmfg_speed.py --only-table5`."
    cols = [k for k in t5["module_fps"][0] if k != "module" and not k.startswith("×")]
    rows = [[r["module"], *[_f(r[c], 0) for c in cols]] for r in t5["module_fps"]]
    text = markdown_table(["module (frames/s)", *cols], rows)
    room = [[r["students"], r["model"], _f(r["classroom_fps"], 1)] for r in t5.get("classroom", [])]
    if room:
        text += "\n\n" + markdown_table(["students", "model", "full trimodal classroom frames/s"], room)
    return (f"From `{source}` (measured {speed.get('date')}, {speed.get('threads')} threads, command "
            f"`{speed.get('command')}`; not re-measured by this benchmark):\n\n{text}")


def _status(results: dict[str, dict]) -> str:
    missing = [v.name for v in VARIANTS if v.name not in results]
    if not missing:
        return f"All {len(VARIANTS)} variants finished."
    return (f"**{len(VARIANTS) - len(missing)} of {len(VARIANTS)} variants finished; not yet run: "
            f"{', '.join(missing)}** (their rows say \"{NOT_RUN}\").")


def tables_markdown(results: dict[str, dict], profile: str, command: str, speed: dict | None, speed_source: str) -> str:
    """The whole ``tables.md``: Tables 3, 4, 6, robustness, gates, keypoint attention and Table 5."""
    parts = [f"# Paper 002's experiments on SmartClass-Synth ({profile} profile)", "",
             f"Command: `{command}`. {_status(results)} Test split: subject-disjoint (`synth.split=test`); image "
             "columns are the frame the network sees (enhanced, or the input where a variant has no enhancement) against the clean "
             "reference, middle frame of every test clip; SSIM, NMI and EPI on low-light clips. frames/s: model "
             "forward, student-crop frames, 1 batch of 8 clips, shared machine (noisy).", ""]
    if METHOD in results:
        ref = results[METHOD]
        parts += [f"Input frames without enhancement: PSNR low light {_f(_q(ref, 'low_light', 'psnr_input'))} dB, "
                  f"normal {_f(_q(ref, 'normal', 'psnr_input'))} dB; SSIM {_f(_q(ref, 'low_light', 'ssim_input'), 3)}, "
                  f"NMI {_f(_q(ref, 'low_light', 'nmi_input'), 3)}, EPI {_f(_q(ref, 'low_light', 'epi_input'), 3)} "
                  "(low light).", ""]
    parts += ["## Table 3: baselines vs the method", "", markdown_table(TABLE3_COLUMNS, table3_rows(results)), "",
              "## Table 4: incremental ablation", "", markdown_table(TABLE4_COLUMNS, table4_rows(results)), "",
              "## Table 6: removals from the full model", "", markdown_table(TABLE6_COLUMNS, table6_rows(results)), ""]
    rob = robustness_rows(results)
    if rob:
        base = strongest_baseline(results)
        parts += ["## Figure 4: robustness (top-1 %, Wilson 95 % interval)", "",
                  f"Method vs the strongest baseline by test top-1, {results[base]['label']}. ![robustness](robustness.png)",
                  "", markdown_table(["condition", "n", "method", "drop (points)", "baseline", "drop (points)"],
                                     [[r["condition"], r["method"]["samples"], _ci(r["method"]),
                                       _f(r["method_drop_points"], 1), _ci(r["baseline"]),
                                       _f(r["baseline_drop_points"], 1)] for r in rob]), ""]
    gates = results.get(METHOD, {}).get("metrics", {}).get("gates_per_condition")
    if gates:
        parts += ["## Interpretability", "", "Eq. 5 gate weights of the method per condition (mean over test clips "
                  "and frames). They weigh F_RGB, F_D-mod and F_T-mod, and the last two are the RGB features "
                  "modulated by the depth / thermal cross-attention (eq. 4), so β and γ say how much of the "
                  "attention-modulated RGB is used, not how much raw depth or thermal. ![gates](gates.png)", "",
                  markdown_table(["condition", "α (RGB)", "β (depth)", "γ (thermal)"],
                                 [[c, _f(g["alpha_rgb"], 3), _f(g["beta_depth"], 3), _f(g["gamma_thermal"], 3)]
                                  for c, g in gates.items()]), ""]
        kp = results[METHOD]["metrics"].get("keypoint_attention_per_condition")
        if kp:
            top = {c: sorted(zip(v, UPPER_BODY_17.joints), reverse=True)[:3] for c, v in kp.items()}
            parts += ["Eq. 9 attention over keypoints (last MST-GCN block, × T'·V, 1 = uniform), the three most "
                      "attended per condition: " + "; ".join(f"{c}: " + ", ".join(f"{j} {v:.2f}" for v, j in t)
                                                              for c, t in top.items()) + ".",
                      "![keypoint attention](attention_conditions.png) ![per-sample attention](attention_samples.png) "
                      "![cross-attention](cross_attention.png)", ""]
    parts += ["## Table 5: speed", "", table5_markdown(speed, speed_source), ""]
    return "\n".join(parts)


# -- running --------------------------------------------------------------------------------------------
def _variant_path(out_dir: Path, name: str) -> Path:
    return out_dir / "variants" / f"{name}.json"


def load_results(out_dir: Path) -> dict[str, dict]:
    """The finished variants' JSONs in ``out_dir/variants``, by name (table order)."""
    import json

    out = {}
    for v in VARIANTS:
        p = _variant_path(out_dir, v.name)
        if p.is_file():
            try:
                out[v.name] = json.loads(p.read_text())
            except ValueError:
                raise InputError(f"'{p}' is not valid JSON (a result of an earlier run); delete it to recompute it") from None
    return out


def finished(out_dir: Path, variant: Variant, cfg: Config) -> bool:
    """Whether ``variant`` has a result in ``out_dir`` for this config; one for another config is an error."""
    res = load_results(out_dir).get(variant.name)
    if res is None:
        return False
    diff = config_differences(res.get("config", {}), to_dict(cfg), HOW_NOT_WHAT)
    if diff:
        raise ConfigError(f"'{_variant_path(out_dir, variant.name)}' holds a result for another config (differs in "
                          f"{', '.join(diff[:5])}); choose another --out or delete it")
    return True


def train_and_evaluate(variant: Variant, cfg: Config, data: dict[str, dict], out_dir: Path, work_dir: Path,
                       log: Log = print, progress: Progress | None = None) -> dict:
    """Train ``variant`` (resuming from ``work_dir/<name>/last.pt``), score its best checkpoint on the test data and
    write ``out_dir/variants/<name>.json`` (the method also writes the interpretability figures first)."""
    from smartclass.models.recognizer import TrimodalRecognizer
    from smartclass.training.recognizer import fit, load_checkpoint

    work = work_dir / variant.name
    guard_output(work, to_dict(cfg), ignore=HOW_NOT_WHAT)
    save_config(cfg, work / "config.yaml")
    resume = (work / "last.pt").is_file()
    torch.manual_seed(cfg.seed)
    model = TrimodalRecognizer(cfg.model)
    state = fit(model, data["train"], data["val"], cfg.train, work, to_dict(cfg), resume=resume, log=log,
                progress=progress, device=cfg.device)
    best, ck = load_checkpoint(work / "best.pt")
    best = best.to(cfg.device)
    metrics = evaluate_variant(best, data["test"], cfg.train.vocabulary)
    result = {
        "variant": variant.name, "label": variant.label, "overrides": list(variant.overrides),
        "config": to_dict(cfg), "work_dir": str(work),
        "training": {"epochs": state["epoch"], "best_epoch": state["best_epoch"], "best_val_macro_f1": state["best_f1"],
                     "train_seconds": state["train_seconds"], "stopped": state["stopped"],
                     "history": state["history"]},
        "metrics": metrics,
    }
    if variant.name == METHOD:
        result["interpretability"] = interpretability(best, data["test"], cfg.train.vocabulary, out_dir)
    write_json_atomic(_variant_path(out_dir, variant.name), result)
    m = metrics
    log(f"{variant.name}: top-1 {m['top1']:.3f}, macro-F1 {m['macro_f1']:.3f} ({m['samples']} test clips), "
        f"best epoch {state['best_epoch']}, {state['train_seconds'] / 60:.1f} min of training")
    return result


def load_data(cfg: Config, test_samples: int, log: Log = print, progress: Progress | None = None) -> dict[str, dict]:
    """Train, val and test data of the profile, rendered once and cached under ``train.cache_dir`` (shared by
    every variant: they differ only in model and loss switches)."""
    from smartclass.training.recognizer import synth_data

    tc = cfg.train
    return {"train": synth_data(cfg.synth, "train", tc.train_samples, tc, log, progress),
            "val": synth_data(cfg.synth, "val", tc.val_samples, tc, log, progress),
            "test": synth_data(cfg.synth, "test", test_samples, tc, log, progress)}


def assemble(out_dir: Path, profile: Profile, command: str, speed_json: Path | None = None) -> dict:
    """``tables.md``, the summary ``paper002.json`` and the figures from the variant JSONs in ``out_dir``."""
    import json

    from smartclass.bench import write_results

    results = load_results(out_dir)
    speed = None
    if speed_json is not None and speed_json.is_file():
        try:
            speed = json.loads(speed_json.read_text())
        except ValueError:
            speed = None
    rob = robustness_rows(results)
    base = strongest_baseline(results)
    if rob:
        plot_robustness(rob, (results[METHOD]["label"], results[base]["label"]), out_dir / "robustness.png")
    method = results.get(METHOD, {}).get("metrics", {})
    if method.get("gates_per_condition"):
        plot_gates(method["gates_per_condition"], out_dir / "gates.png")
    if method.get("keypoint_attention_per_condition"):
        plot_keypoint_attention(method["keypoint_attention_per_condition"], out_dir / "attention_conditions.png")
    write_text_atomic(out_dir / "tables.md", tables_markdown(results, profile.name, command, speed, str(speed_json)))
    summary = {
        "profile": profile.name, "budget": profile.budget, "profile_overrides": list(profile.overrides),
        "test_samples": profile.test_samples,
        "variants": {n: {"label": r["label"], "overrides": r["overrides"], "top1": r["metrics"]["top1"],
                         "top5": r["metrics"]["top5"], "macro_f1": r["metrics"]["macro_f1"],
                         "train_seconds": r["training"]["train_seconds"], "best_epoch": r["training"]["best_epoch"],
                         "top1_per_condition": {c: p["top1"] for c, p in r["metrics"]["per_condition"].items()}}
                     for n, r in results.items()},
        "not_run": [v.name for v in VARIANTS if v.name not in results],
        "tables": {"table3": {"columns": TABLE3_COLUMNS, "rows": table3_rows(results)},
                   "table4": {"columns": TABLE4_COLUMNS, "rows": table4_rows(results)},
                   "table6": {"columns": TABLE6_COLUMNS, "rows": table6_rows(results)}},
        "robustness": {"strongest_baseline": base, "rows": rob},
        "table5_source": str(speed_json) if speed else None,
    }
    write_results("paper002", summary, command=command, out_dir=out_dir)
    return summary


def run(profile: Profile, out_dir: str | Path, work_dir: str | Path, variants: Iterable[str] | None = None,
        overrides: Iterable[str] = (), command: str = "", speed_json: str | Path | None = None, log: Log = print,
        progress: Progress | None = None) -> dict:
    """Run ``variants`` (all by default) of ``profile``: every config is built (and validated) first, the data
    rendered once, each unfinished variant trained and scored, then the tables and figures assembled from
    every result in ``out_dir`` (earlier runs' included). Returns the summary."""
    out_dir, work_dir = Path(out_dir), Path(work_dir)
    overrides = tuple(overrides)
    chosen = select_variants(variants)
    configs = {v.name: variant_config(profile, v, overrides) for v in chosen}
    base = variant_config(profile, BY_NAME[METHOD], overrides)
    todo = [v for v in chosen if not finished(out_dir, v, configs[v.name])]
    for v in chosen:
        if v not in todo:
            log(f"{v.name}: done earlier ({_variant_path(out_dir, v.name)}), skipped")
    if todo:
        data = load_data(base, profile.test_samples, log, progress)
        for i, v in enumerate(todo, 1):
            log(f"[{i}/{len(todo)}] {v.name}: {v.label} ({' '.join(v.overrides) or 'the method'})")
            train_and_evaluate(v, configs[v.name], data, out_dir, work_dir, log, progress)
            if i < len(todo):  # the tables always show every finished variant, also while a long run goes on
                assemble(out_dir, profile, command, Path(speed_json) if speed_json is not None else None)
    return assemble(out_dir, profile, command, Path(speed_json) if speed_json is not None else None)
