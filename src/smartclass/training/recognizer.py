"""Training and evaluation of the trimodal recogniser (paper 002 §3.5 and §4) on per-student clips.

The end-to-end loss is the paper's multi-task loss: classification (class-weighted focal loss, eq. 16),
keypoints (heatmap MSE against the generator's keypoints), enhancement (μ·perceptual + (1−μ)·edge against the
clean reference, eqs. 11–13) and fusion (mutual information + alignment, eqs. 14–15), weighted by
λ_k = softmax(L_k / T) (eq. 17; on losses relative to their first values, so tasks of different scales
compete fairly). AdamW, early stopping on validation macro-F1, checkpoints every epoch with their merged
config; ``resume`` continues from the last one with model, optimiser, RNG and history restored.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from smartclass.errors import InputError
from smartclass.io import atomic_path
from smartclass.layouts import UPPER_BODY_17
from smartclass.losses.enhancement import EnhancementLoss
from smartclass.losses.focal import FocalLoss, class_weights_from_counts
from smartclass.losses.fusion import FusionLoss
from smartclass.losses.task_weights import MultiTaskLoss
from smartclass.models.keypoints import heatmap_targets
from smartclass.models.recognizer import MODEL_NAME, TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.training.config import TrainConfig


# -- data ---------------------------------------------------------------------------------------------
def pack(items: list[dict]) -> dict[str, torch.Tensor]:
    """Per-student samples → compact stacked tensors (uint8 images, float16 depth/thermal)."""
    q = lambda x: (x * 255).round().clamp(0, 255).to(torch.uint8)
    return {
        "rgb": torch.stack([q(it["rgb"]) for it in items]),
        "rgb_clean": torch.stack([q(it["rgb_clean"]) for it in items]),
        "depth": torch.stack([it["depth"].half() for it in items]),
        "thermal": torch.stack([it["thermal"].half() for it in items]),
        "keypoints": torch.stack([it["keypoints"] for it in items]),
        "label": torch.tensor([it["label"] for it in items]),
        "condition": torch.tensor([it["condition"] for it in items]),
        "has_depth": torch.tensor([bool(it["has_depth"]) for it in items]),
        "has_thermal": torch.tensor([bool(it["has_thermal"]) for it in items]),
    }


def model_inputs(b: dict) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``(rgb, depth, thermal)`` of an unpacked batch, ``None`` for a modality the batch lacks."""
    return b["rgb"], b["depth"] if b["has_depth"] else None, b["thermal"] if b["has_thermal"] else None


def unpack(data: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Float tensors of the samples ``idx``."""
    return {
        "rgb": data["rgb"][idx].float() / 255, "rgb_clean": data["rgb_clean"][idx].float() / 255,
        "depth": data["depth"][idx].float(), "thermal": data["thermal"][idx].float(),
        "keypoints": data["keypoints"][idx], "label": data["label"][idx], "condition": data["condition"][idx],
        "has_depth": bool(data["has_depth"][idx].all()), "has_thermal": bool(data["has_thermal"][idx].all()),
    }


def synth_data(synth_cfg, split: str, n: int, tc: TrainConfig, log: Callable[[str], None] = print,
               progress: Callable[[int, int], None] | None = None) -> dict:
    """``n`` rendered per-student samples of ``split``, cached on disk under ``tc.cache_dir``;
    ``progress(done, total)`` after each rendered clip."""
    import dataclasses

    from smartclass.config import to_dict
    from smartclass.data.synth_dataset import SynthStudentClips

    cfg = dataclasses.replace(synth_cfg, split=split, fps=tc.fps)
    from smartclass.synth.generator import GENERATOR_VERSION

    key = json.dumps({"synth": to_dict(cfg), "n": n, "frames": tc.frames, "crop": tc.crop, "vocabulary": tc.vocabulary,
                      "generator": GENERATOR_VERSION}, sort_keys=True)
    path = Path(tc.cache_dir) / f"synth-{split}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.pt"
    if path.is_file():
        log(f"using cached {split} data {path}")
        return torch.load(path)
    t0 = time.perf_counter()
    items = SynthStudentClips(cfg, n, frames=tc.frames, crop=tc.crop, vocabulary=tc.vocabulary).materialise(tc.workers, progress)
    data = pack(items)
    log(f"rendered {n} {split} samples in {time.perf_counter() - t0:.0f} s")
    with atomic_path(path) as tmp:
        torch.save(data, tmp)
    return data


# -- losses -------------------------------------------------------------------------------------------
def keypoint_loss(heatmaps: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
    """Heatmap MSE ``(N, K, h, w)`` against Gaussian targets of ``keypoints`` ``(N, K, 3)``, over the visible,
    in-crop keypoints (×100, so that it is of order 1)."""
    target, weight = heatmap_targets(keypoints, heatmaps.shape[-2:])
    return ((heatmaps - target).pow(2).mean((-2, -1)) * weight).sum() / weight.sum().clamp_min(1) * 100


class RecognizerLoss(torch.nn.Module):
    """The end-to-end multi-task loss; ``forward`` returns (total, per-task losses, task weights).

    Eq. 17's λ_k = softmax(L_k / T) is computed, as in dynamic weight averaging (Liu et al. 2019), on
    smoothed losses relative to their first values: per-batch losses swing with the batch's conditions, and at
    T = 0.1 raw per-batch values would hand almost all weight to whichever task had a noisy batch. Applied to
    all four tasks it starves the classifier: classification falls fastest, so its relative loss is smallest
    and its weight went to 0.00 within 32 steps (measured; the network then stays at chance). So the
    classification loss keeps weight 1 and eq. 17 distributes a total weight of 1 over the auxiliary tasks
    (keypoints, enhancement, fusion). The
    mutual-information term enters as Σ_s (log B − MI(F, S_s)) ≥ 0 (a constant offset of −MI, same gradient),
    so that every task loss is positive and its ratio to the first value meaningful.
    """

    TASKS = ("classification", "keypoints", "enhancement", "fusion")

    def __init__(self, class_counts: torch.Tensor, tc: TrainConfig, momentum: float = 0.95) -> None:
        super().__init__()
        self.focal = FocalLoss(tc.focal_gamma, class_weights_from_counts(class_counts))
        self.enhancement = EnhancementLoss(tc.enhancement_mu)
        self.fusion = FusionLoss()
        # buffers saved in checkpoints, so resume is exact
        self.tasks = MultiTaskLoss(len(self.TASKS), tc.task_temperature, relative=True, momentum=momentum, primary=0)

    def forward(self, out, batch: dict) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        b, t = batch["rgb"].shape[:2]
        l_cls = self.focal(out.logits, batch["label"])
        l_kp = keypoint_loss(out.heatmaps, batch["keypoints"].flatten(0, 1))
        parts = [l_cls, l_kp]
        if out.enhanced is not None:  # the middle frame of each clip, to keep the perceptual network cheap
            mid = torch.arange(b) * t + t // 2
            parts.append(self.enhancement(out.enhanced[mid], batch["rgb_clean"].flatten(0, 1)[mid]))
        else:
            parts.append(torch.zeros(()))
        f = out.fusion
        n_sources = sum(s is not None for s in out.sources)
        parts.append(self.fusion(f.fused, out.sources, f.rgb, f.depth, f.thermal) + n_sources * math.log(self.fusion.bins))
        total, weights = self.tasks(torch.stack(parts))
        return total, {k: float(v.detach()) for k, v in zip(self.TASKS, parts)}, weights


# -- checkpoints --------------------------------------------------------------------------------------
def save_checkpoint(path: Path, model: TrimodalRecognizer, state: dict, config: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": MODEL_NAME, "arch": asdict(model.cfg), "state_dict": model.state_dict(),
                    "config": config, **state}, tmp)


def load_checkpoint(path: str | Path) -> tuple[TrimodalRecognizer, dict]:
    """A trained recogniser and its checkpoint dict; a checkpoint of another model is an error."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file
        raise InputError(f"checkpoint '{path}' is not a readable PyTorch checkpoint ({e.__class__.__name__})") from None
    if not isinstance(ck, dict) or ck.get("model") != MODEL_NAME:
        found = ck.get("model", "unknown") if isinstance(ck, dict) else type(ck).__name__
        raise InputError(f"checkpoint '{path}' holds a '{found}' model, expected '{MODEL_NAME}' (the trimodal recogniser)")
    arch = dict(ck["arch"])
    arch = {k: tuple(v) if isinstance(v, list) else v for k, v in arch.items()}
    model = TrimodalRecognizer(RecognizerConfig(**arch))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


# -- loops --------------------------------------------------------------------------------------------
_MIRROR = torch.from_numpy(UPPER_BODY_17.mirror())


def mirror(b: dict, which: torch.Tensor | None = None) -> dict:
    """Batch ``b`` with the samples ``which`` (a boolean mask; all when ``None``) mirrored left↔right: the
    images (last axis) and the keypoints (u → 1 − u, left and right joints swapped). Works on clips
    ``(N, T, C, H, W)`` and single frames ``(N, C, H, W)``; image keys that are absent or ``None`` are skipped."""
    kp = b["keypoints"]
    which = torch.ones(kp.shape[0], dtype=torch.bool) if which is None else which
    out = dict(b)
    for k in ("rgb", "rgb_clean", "depth", "thermal"):
        x = b.get(k)
        if x is not None:
            out[k] = torch.where(which.view(-1, *[1] * (x.dim() - 1)), x.flip(-1), x)
    mirrored = kp[..., _MIRROR, :].clone()
    mirrored[..., 0] = 1 - mirrored[..., 0]
    out["keypoints"] = torch.where(which.view(-1, *[1] * (kp.dim() - 1)), mirrored, kp)
    return out


def random_flip(b: dict, p: float = 0.5) -> dict:
    """:func:`mirror` each sample of batch ``b`` with probability ``p``. Every class of the fine vocabulary is
    mirror-symmetric (the generator picks the acting hand at random), so labels stay."""
    which = torch.rand(b["keypoints"].shape[0]) < p
    return mirror(b, which) if which.any() else b


@torch.no_grad()
def precise_bn(model: TrimodalRecognizer, data: dict, samples: int = 192, batch_size: int = 16, seed: int = 0) -> None:
    """Re-estimate every BatchNorm's running statistics as the plain average over ``samples`` training clips
    with the weights as they are now (PySlowFast's "precise BN"). The exponential running averages lag
    features that move fast early in training; measured here: 97 % in train mode vs 22 % in eval mode on the
    same clips before recalibration."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    was_training = model.training
    model.train()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data["label"]), generator=g)[:samples]
    for chunk in idx.split(batch_size):
        b = unpack(data, chunk)
        model(*model_inputs(b))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.train(was_training)


@torch.no_grad()
def predict(model: TrimodalRecognizer, data: dict, batch_size: int = 16, ground_truth_keypoints: bool = False,
            flip: bool = False) -> torch.Tensor:
    """Logits ``(N, C)`` of every sample in packed ``data``. ``flip``: test-time augmentation, the log of the
    mean of the softmax probabilities of each clip and its mirror image (twice the compute)."""
    model.eval()
    out = []
    for idx in torch.arange(len(data["label"])).split(batch_size):
        b = unpack(data, idx)
        o = model(*model_inputs(b), keypoints=b["keypoints"] if ground_truth_keypoints else None)
        if not flip:
            out.append(o.logits)
            continue
        m = mirror(b)
        o2 = model(*model_inputs(m), keypoints=m["keypoints"] if ground_truth_keypoints else None)
        out.append(((o.logits.softmax(1) + o2.logits.softmax(1)) / 2).log())
    return torch.cat(out)


def keypoint_warmup(model: TrimodalRecognizer, train: dict, tc: TrainConfig, state: dict,
                    opt: torch.optim.Optimizer, save: Callable[[], None], log: Callable[[str], None] = print,
                    progress: Callable[[int, int], None] | None = None, every: int = 200) -> None:
    """Keypoint-only training before the end-to-end epochs: batches of ``2·batch_size`` random single frames,
    enhancement + DCA-Net + keypoint head under :func:`keypoint_loss`. Without it the heatmaps barely learn
    inside the multi-task loss (eq. 17 hands the auxiliary weight to the enhancement loss, which stays at its
    first value), so the GCN would read features at wrong places. Advances ``state["warmup_steps"]`` and
    calls ``save`` every ``every`` steps, so an interrupted warm-up resumes where it stopped."""
    n, t = train["rgb"].shape[:2]
    model.train()
    total = tc.keypoint_warmup_steps
    running = None
    while state["warmup_steps"] < total:
        idx = torch.randint(0, n, (2 * tc.batch_size,))
        fr = torch.randint(0, t, (len(idx),))
        f = {"rgb": train["rgb"][idx, fr].float() / 255, "keypoints": train["keypoints"][idx, fr],
             "depth": train["depth"][idx, fr].float() if bool(train["has_depth"][idx].all()) else None,
             "thermal": train["thermal"][idx, fr].float() if bool(train["has_thermal"][idx].all()) else None}
        if tc.flip:
            f = random_flip(f)
        heat = model.frame_heatmaps(f["rgb"], f["depth"], f["thermal"])
        loss = keypoint_loss(heat, f["keypoints"])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state["warmup_steps"] += 1
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if progress:
            progress(state["warmup_steps"], total)
        if state["warmup_steps"] % every == 0 or state["warmup_steps"] == total:
            save()
            log(f"keypoint warm-up {state['warmup_steps']}/{total}: heatmap loss {running:.3f}")


def fit(model: TrimodalRecognizer, train: dict, val: dict, tc: TrainConfig, out_dir: Path, config: dict,
        resume: bool = False, log: Callable[[str], None] = print,
        progress: Callable[[int, int], None] | None = None) -> dict:
    """Train with early stopping; writes ``last.pt`` every epoch and ``best.pt`` on improvement."""
    from smartclass.metrics.classification import macro_f1

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = torch.bincount(train["label"], minlength=model.cfg.num_classes).float()
    criterion = RecognizerLoss(counts, tc)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "history": [], "train_seconds": 0.0, "warmup_steps": 0}
    last = out_dir / "last.pt"
    if resume:
        if not last.is_file():
            raise InputError(f"--resume: no checkpoint '{last}' to resume from")
        ck = torch.load(last, map_location="cpu", weights_only=False)
        if ck.get("model") != MODEL_NAME:
            raise InputError(f"--resume: '{last}' holds a '{ck.get('model')}' model, expected '{MODEL_NAME}'")
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        criterion.tasks.load_state_dict(ck["task_weights"])
        torch.set_rng_state(ck["rng"])
        state = {k: ck.get(k, v) for k, v in state.items()}
        log(f"resumed from {last} after epoch {state['epoch']}")
    n = len(train["label"])
    steps = -(-n // tc.batch_size)
    t_start = time.perf_counter() - state["train_seconds"]

    def save_last() -> None:
        state["train_seconds"] = time.perf_counter() - t_start
        save_checkpoint(last, model, {**state, "optimizer": opt.state_dict(), "rng": torch.get_rng_state(),
                                      "task_weights": criterion.tasks.state_dict()}, config)

    if state["warmup_steps"] < tc.keypoint_warmup_steps:
        keypoint_warmup(model, train, tc, state, opt, save_last, log, progress)  # saves when it ends
    while state["epoch"] < tc.epochs:
        epoch = state["epoch"] + 1
        for group in opt.param_groups:  # step schedule from the epoch number, so a resumed run gets the same
            group["lr"] = tc.lr * 0.1 ** sum(epoch > m for m in tc.lr_milestones)
        model.train()
        perm = torch.randperm(n)
        sums = np.zeros(len(RecognizerLoss.TASKS) + 1)
        for s, idx in enumerate(perm.split(tc.batch_size)):
            b = unpack(train, idx)
            if tc.flip:
                b = random_flip(b)
            gt = torch.rand(()) < tc.teacher_forcing
            o = model(*model_inputs(b), keypoints=b["keypoints"] if gt else None)
            total, parts, _ = criterion(o, b)
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sums += [float(total.detach())] + list(parts.values())
            if progress:
                progress(s + 1, steps)
        precise_bn(model, train, seed=epoch)
        logits = predict(model, val)
        f1 = macro_f1(logits.argmax(1).numpy(), val["label"].numpy(), model.cfg.num_classes)
        acc = float((logits.argmax(1) == val["label"]).float().mean())
        state["train_seconds"] = time.perf_counter() - t_start
        state["history"].append({"epoch": epoch, "loss": sums[0] / steps,
                                 **{k: sums[i + 1] / steps for i, k in enumerate(RecognizerLoss.TASKS)},
                                 "val_top1": acc, "val_macro_f1": f1, "seconds": state["train_seconds"]})
        state["epoch"] = epoch
        improved = f1 > state["best_f1"]
        if improved:
            state["best_f1"], state["best_epoch"] = f1, epoch
            save_checkpoint(out_dir / "best.pt", model, {"epoch": epoch, "val_macro_f1": f1, "val_top1": acc}, config)
        save_last()
        log(f"epoch {epoch}: loss {sums[0] / steps:.3f}, val top-1 {acc:.3f}, macro-F1 {f1:.3f}"
            f"{' (best)' if improved else ''}, {state['train_seconds'] / 60:.1f} min")
        if epoch - state["best_epoch"] >= tc.patience:
            log(f"early stop: no better validation macro-F1 for {tc.patience} epochs")
            break
        if tc.time_budget_min and state["train_seconds"] >= tc.time_budget_min * 60:
            log(f"time budget of {tc.time_budget_min} min reached")
            break
    return state
