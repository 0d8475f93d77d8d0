"""Training and evaluation of the trimodal recogniser (paper 002 §3.5 and §4) on per-student clips.

The end-to-end loss is the paper's multi-task loss: classification (class-weighted focal loss, eq. 16),
keypoints (heatmap MSE against the generator's keypoints), enhancement (μ·perceptual + (1−μ)·edge against the
clean reference, eqs. 11–13) and fusion (mutual information + alignment, eqs. 14–15), weighted by
λ_k = softmax(L_k / T) (eq. 17; on losses relative to their first values, so tasks of different scales
compete fairly). :class:`RecognizerTask` defines the batches, the loss and the validation metrics; the
training engine (:mod:`smartclass.training.engine`) runs it: AdamW, early stopping on validation macro-F1,
checkpoints every epoch with their merged config, ``resume`` from the last one.
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
import torch.nn.functional as F

from smartclass.checkpoint import plain, read_checkpoint
from smartclass.io import atomic_path
from smartclass.layouts import UPPER_BODY_17
from smartclass.losses.enhancement import EnhancementLoss
from smartclass.losses.focal import FocalLoss, class_weights_from_counts
from smartclass.losses.fusion import FusionLoss
from smartclass.losses.task_weights import MultiTaskLoss
from smartclass.models.fusion.dcanet import modality_dropout_mask
from smartclass.models.keypoints import heatmap_targets
from smartclass.models.recognizer import MODEL_NAME, TrimodalRecognizer
from smartclass.models.registry import rebuild
from smartclass.training.config import TrainConfig
from smartclass.training.engine import Engine, EngineSettings, Run, Task


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
    """``(rgb, depth, thermal)`` of an unpacked batch, ``None`` for a modality no sample of the batch has
    (samples that lack a modality the others have are masked per sample: :func:`presence`)."""
    return b["rgb"], b["depth"] if b["has_depth"] else None, b["thermal"] if b["has_thermal"] else None


def presence(b: dict) -> torch.Tensor | None:
    """The ``(B, 2)`` (depth, thermal) mask of an unpacked batch for the model's ``present``: ``None`` when every
    sample has every modality the batch passes, so a clip missing one modality is handled on its own instead
    of dropping that modality for the whole batch."""
    p = b.get("present")
    if p is None:
        return None
    # a modality no sample has is passed as None (the model's own path), so its column masks nothing
    p = p | ~torch.tensor([b["has_depth"], b["has_thermal"]], device=p.device)
    return None if bool(p.all()) else p


SETUPS_WITHOUT_ALL = (("rgb",), ("rgb", "depth"), ("rgb", "thermal"))  # camera set-ups short of all three


def withhold_modalities(data: dict, given: tuple[str, ...]) -> dict:
    """Packed samples with depth and/or thermal marked absent for every sample unless named in ``given`` (a room
    without that camera: the model's own missing-modality path)."""
    out = dict(data)
    for m in ("depth", "thermal"):
        if m not in given:
            out[f"has_{m}"] = torch.zeros_like(data[f"has_{m}"])
    return out


def unpack(data: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Float tensors of the samples ``idx``."""
    return {
        "rgb": data["rgb"][idx].float() / 255, "rgb_clean": data["rgb_clean"][idx].float() / 255,
        "depth": data["depth"][idx].float(), "thermal": data["thermal"][idx].float(),
        "keypoints": data["keypoints"][idx], "label": data["label"][idx], "condition": data["condition"][idx],
        "has_depth": bool(data["has_depth"][idx].any()), "has_thermal": bool(data["has_thermal"][idx].any()),
        "present": torch.stack([data["has_depth"][idx], data["has_thermal"][idx]], 1),
    }


def synth_data(synth_cfg, split: str, n: int, tc: TrainConfig, log: Callable[[str], None] = print,
               progress: Callable[[int, int], None] | None = None) -> dict:
    """``n`` rendered per-student samples of ``split`` (clips of ``synth_cfg.frames`` frames at
    ``synth_cfg.fps``: the config's one source of clip length and rate), cached on disk under ``tc.cache_dir``;
    ``progress(done, total)`` after each rendered clip."""
    import dataclasses

    from smartclass.config import to_dict
    from smartclass.synth.dataset import SynthStudentClips

    cfg = dataclasses.replace(synth_cfg, split=split)
    from smartclass.synth.generator import GENERATOR_VERSION

    key = json.dumps({"synth": to_dict(cfg), "n": n, "crop": tc.crop, "vocabulary": tc.vocabulary,
                      "generator": GENERATOR_VERSION}, sort_keys=True)
    path = Path(tc.cache_dir) / f"synth-{split}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.pt"
    if path.is_file():
        log(f"using cached {split} data {path}")
        return torch.load(path, map_location="cpu", weights_only=True)
    t0 = time.perf_counter()
    items = SynthStudentClips(cfg, n, frames=cfg.frames, crop=tc.crop, vocabulary=tc.vocabulary).materialise(tc.workers, progress)
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
        self.tasks = MultiTaskLoss(len(self.TASKS), tc.task_temperature, relative=True, momentum=momentum, primary=0,
                                   adaptive=tc.adaptive_task_weights)

    def forward(self, out, batch: dict) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        b, t = batch["rgb"].shape[:2]
        l_cls = self.focal(out.logits, batch["label"])
        l_kp = keypoint_loss(out.heatmaps, batch["keypoints"].flatten(0, 1))
        parts = [l_cls, l_kp]
        if out.enhanced is not None:  # the middle frame of each clip, to keep the perceptual network cheap
            mid = torch.arange(b, device=l_cls.device) * t + t // 2
            parts.append(self.enhancement(out.enhanced[mid], batch["rgb_clean"].flatten(0, 1)[mid]))
        else:
            parts.append(torch.zeros((), device=l_cls.device))
        f = out.fusion
        n_sources = sum(s is not None for s in out.sources)
        parts.append(self.fusion(f.fused, out.sources, f.rgb, f.depth, f.thermal, present=f.present)
                     + n_sources * math.log(self.fusion.bins))
        total, weights = self.tasks(torch.stack(parts))
        return total, {k: float(v.detach()) for k, v in zip(self.TASKS, parts)}, weights


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Knowledge distillation (Hinton et al. 2015): ``T²·KL(softmax(teacher/T) ‖ softmax(student/T))``, the mean
    over a batch of logits ``(B, C)``. Zero when the two agree; ``T²`` keeps the gradient's scale independent of
    ``T``. The teacher's logits get no gradient."""
    t = torch.log_softmax(teacher.detach().float() / temperature, 1)
    s = torch.log_softmax(student.float() / temperature, 1)
    return torch.nn.functional.kl_div(s, t, reduction="batchmean", log_target=True) * temperature ** 2


# -- checkpoints --------------------------------------------------------------------------------------
def load_checkpoint(path: str | Path) -> tuple[TrimodalRecognizer, dict]:
    """A trained recogniser (eval mode, CPU) and its checkpoint dict, read with ``weights_only=True``; a
    checkpoint of another model is an :class:`InputError`."""
    ck = read_checkpoint(path, MODEL_NAME)
    return rebuild(ck, str(path)), ck


def init_weights(model: TrimodalRecognizer, path: str | Path) -> None:
    """Load the weights of the recogniser checkpoint at ``path`` into ``model`` (``train.init_from``: fine-tuning).
    The architecture must match; a missing, foreign or differently shaped checkpoint is an :class:`InputError`
    naming the file and the first differing parameters."""
    from smartclass.errors import InputError

    ck = read_checkpoint(path, MODEL_NAME)
    own = model.state_dict()
    theirs = ck["state_dict"]
    missing = [k for k in own if k not in theirs]
    extra = [k for k in theirs if k not in own]
    shapes = [k for k in own if k in theirs and tuple(own[k].shape) != tuple(theirs[k].shape)]
    if missing or extra or shapes:
        what = "; ".join(f"{name}: {', '.join(ks[:3])}" for name, ks in
                         (("missing", missing), ("unexpected", extra), ("different shape", shapes)) if ks)
        raise InputError(f"train.init_from: checkpoint '{path}' does not fit this model's architecture ({what})")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in theirs.items()})


def load_teacher(path: str | Path, num_classes: int, vocabulary: str) -> TrimodalRecognizer:
    """The frozen teacher of ``train.distill_from``: the recogniser checkpoint at ``path`` (``weights_only=True``)
    in eval mode, without gradients. It must predict the student's ``num_classes`` classes of ``vocabulary``; a
    missing, foreign or different checkpoint is a one-line :class:`InputError` naming ``train.distill_from``."""
    from smartclass.errors import InputError

    try:
        teacher, ck = load_checkpoint(path)
    except InputError as e:
        raise InputError(f"train.distill_from: {e}") from None
    theirs = ((ck.get("config") or {}).get("train") or {}).get("vocabulary", vocabulary)
    if teacher.cfg.num_classes != num_classes or theirs != vocabulary:
        raise InputError(f"train.distill_from: checkpoint '{path}' predicts {teacher.cfg.num_classes} classes of "
                         f"vocabulary '{theirs}', this model {num_classes} of '{vocabulary}'")
    teacher.requires_grad_(False)
    return teacher.eval()


# -- loops --------------------------------------------------------------------------------------------
_MIRROR = torch.from_numpy(UPPER_BODY_17.mirror())


def mirror(b: dict, which: torch.Tensor | None = None) -> dict:
    """Batch ``b`` with the samples ``which`` (a boolean mask; all when ``None``) mirrored left↔right: the
    images (last axis) and the keypoints (u → 1 − u, left and right joints swapped). Works on clips
    ``(N, T, C, H, W)`` and single frames ``(N, C, H, W)``; image keys that are absent or ``None`` are skipped."""
    kp = b["keypoints"]
    which = torch.ones(kp.shape[0], dtype=torch.bool) if which is None else which
    which = which.to(kp.device)
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


def reframe(b: dict, shift: torch.Tensor, scale: torch.Tensor) -> dict:
    """Batch ``b`` of clips ``(N, T, C, S, S)`` re-framed per sample, as if each student's box had been off:
    the crop centre moved by ``shift`` ``(N, 2)`` (x, y; fractions of the crop side) and its side multiplied by
    ``scale`` ``(N,)`` (> 1: a larger box, the student smaller in the crop, zeros beyond the old crop's edge, as
    beyond a frame's edge). Every image modality moves alike (the depth and thermal boxes are the RGB box carried
    through the calibration), depth by nearest neighbour; keypoints move with the images (those leaving the crop
    drop out of the keypoint loss)."""
    kp = b["keypoints"]
    n = kp.shape[0]
    theta = torch.zeros(n, 2, 3, dtype=torch.float32, device=kp.device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = 2 * shift  # output (normalised −1..1) x ↦ input scale·x + 2·shift
    out = dict(b)
    grid = None  # one sampling grid for every modality: the crops share their size
    for k in ("rgb", "rgb_clean", "depth", "thermal"):
        x = b.get(k)
        if x is None:
            continue
        N, T, C, H, W = x.shape
        if grid is None:
            grid = F.affine_grid(theta, [N, 1, H, W], align_corners=False)
        y = F.grid_sample(x.reshape(N, T * C, H, W), grid.to(x.dtype), mode="nearest" if k == "depth" else "bilinear",
                          padding_mode="zeros", align_corners=False)
        out[k] = y.view(N, T, C, H, W)
    moved = kp.clone()
    view = (n,) + (1,) * (kp.dim() - 2)
    for axis in (0, 1):  # u ↦ ((2u − 1 − 2·shift) / scale + 1) / 2
        moved[..., axis] = ((2 * kp[..., axis] - 1 - 2 * shift[:, axis].view(view)) / scale.view(view) + 1) / 2
    out["keypoints"] = moved
    return out


def random_box_jitter(b: dict, amount: float) -> dict:
    """:func:`reframe` each clip of batch ``b`` by a shift drawn uniformly in ``±amount`` of the crop side per
    axis and a scale drawn log-uniformly in ``[1 / (1 + amount), 1 + amount]``: training crops with the box error
    of a detector (the shipped detector's boxes on SmartClass-Synth: centre off by ±4–8 % of the box, sides
    ×0.88–1.06, 10th–90th percentiles; ``benchmarks/results/mmfg_detected_boxes.json``)."""
    n = b["keypoints"].shape[0]
    shift = (torch.rand(n, 2) * 2 - 1) * amount
    scale = torch.exp((torch.rand(n) * 2 - 1) * math.log1p(amount))
    return reframe(b, shift.to(b["keypoints"].device), scale.to(b["keypoints"].device))


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
        model(*_on(model, *model_inputs(b)))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.train(was_training)


@torch.no_grad()
def predict(model: TrimodalRecognizer, data: dict, batch_size: int = 16, ground_truth_keypoints: bool = False,
            flip: bool = False) -> torch.Tensor:
    """Logits ``(N, C)`` of every sample in packed ``data``. ``flip``: test-time augmentation, the log of the
    mean of the softmax probabilities of each clip and its mirror image (twice the compute)."""
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for idx in torch.arange(len(data["label"])).split(batch_size):
        b = _batch_on(unpack(data, idx), dev)
        o = model(*model_inputs(b), keypoints=b["keypoints"] if ground_truth_keypoints else None, present=presence(b))
        if not flip:
            out.append(o.logits.cpu())
            continue
        m = mirror(b)
        o2 = model(*model_inputs(m), keypoints=m["keypoints"] if ground_truth_keypoints else None,
                   present=presence(m))
        out.append(((o.logits.softmax(1) + o2.logits.softmax(1)) / 2).log().cpu())
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
        heat = model.frame_heatmaps(*_on(model, f["rgb"], f["depth"], f["thermal"]))
        loss = keypoint_loss(heat, f["keypoints"].to(heat.device))
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


def _on(model: torch.nn.Module, *xs):
    """``xs`` (tensors or ``None``) on ``model``'s device."""
    dev = next(model.parameters()).device
    return tuple(x.to(dev) if isinstance(x, torch.Tensor) else x for x in xs)


def _batch_on(b: dict, device: torch.device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in b.items()}


class RecognizerTask(Task):
    """The recogniser's part of training: random-order batches of packed clips (mirrored under
    ``train.flip``), the multi-task loss with teacher forcing, the keypoint warm-up before the first epoch,
    a step learning-rate schedule (×0.1 after each of ``train.lr_milestones``), and validation top-1 /
    macro-F1 after precise-BN recalibration.

    Self-distillation for missing modalities (``train.distill_from``): a frozen teacher, normally the checkpoint
    the run starts from, sees every modality each clip has, and the student, given the clip with depth and/or
    thermal dropped (``train.modality_dropout``), adds ``distill_weight · T²·KL(teacher ‖ student)``
    (:func:`distillation_loss`) on every clip, so that its RGB-only and partial passes learn the trimodal
    predictions.

    Box jitter (``train.box_jitter``): the student's clips are re-framed as if their boxes had a detector's error
    (:func:`random_box_jitter`); the teacher still sees the true box, so the student learns its predictions from
    off-centre crops."""

    model_tag = MODEL_NAME

    def __init__(self, model: TrimodalRecognizer, train: dict, val: dict, tc: TrainConfig) -> None:
        self.model, self.train, self.val, self.tc = model, train, val, tc
        counts = torch.bincount(train["label"], minlength=model.cfg.num_classes).float()
        self.criterion = RecognizerLoss(counts, tc)
        self.warmup = {"warmup_steps": 0}
        self.teacher = (load_teacher(tc.distill_from, model.cfg.num_classes, tc.vocabulary) if tc.distill_from
                        else None)

    def build_model(self) -> TrimodalRecognizer:
        return self.model

    def model_config(self, model: TrimodalRecognizer) -> dict:
        return plain(asdict(model.cfg))

    def optimizer(self, model: TrimodalRecognizer) -> torch.optim.Optimizer:
        self.criterion.to(next(model.parameters()).device)
        if self.teacher is not None:
            self.teacher.to(next(model.parameters()).device)
        return torch.optim.AdamW(model.parameters(), lr=self.tc.lr, weight_decay=self.tc.weight_decay)

    def on_epoch_start(self, epoch: int, optimizer: torch.optim.Optimizer) -> None:
        # from the epoch number, so a resumed run (even with a changed schedule) gets the same
        for group in optimizer.param_groups:
            group["lr"] = self.tc.lr * 0.1 ** sum(epoch > m for m in self.tc.lr_milestones)

    def before_epochs(self, run: Run) -> None:
        if self.warmup["warmup_steps"] < self.tc.keypoint_warmup_steps:  # saves when it ends
            keypoint_warmup(run.model, self.train, self.tc, self.warmup, run.optimizer, run.save_last, run.log,
                            run.progress)

    def steps_per_epoch(self) -> int:
        return -(-len(self.train["label"]) // self.tc.batch_size)

    def train_batches(self, epoch: int):
        for idx in torch.randperm(len(self.train["label"])).split(self.tc.batch_size):
            b = unpack(self.train, idx)
            yield random_flip(b) if self.tc.flip else b

    def loss(self, model: TrimodalRecognizer, batch: dict):
        gt = torch.rand(()) < self.tc.teacher_forcing
        clean = _batch_on(batch, next(model.parameters()).device)
        b = random_box_jitter(clean, self.tc.box_jitter) if self.tc.box_jitter > 0 else clean
        present = (modality_dropout_mask(len(b["label"]), self.tc.modality_dropout, device=b["label"].device)
                   if self.tc.modality_dropout > 0 else None)
        have = presence(b)  # samples without a modality the batch has
        if have is not None:
            present = have if present is None else present & have
        o = model(*model_inputs(b), keypoints=b["keypoints"] if gt else None, present=present)
        total, parts, _ = self.criterion(o, b)
        if self.teacher is not None:
            with torch.no_grad():  # every modality, the true box, its own predicted keypoints: its deployed output
                target = self.teacher(*model_inputs(clean), present=have).logits
            kd = distillation_loss(o.logits, target, self.tc.distill_temperature)
            total = total + self.tc.distill_weight * kd
            parts["distillation"] = float(kd.detach())
        return total, parts

    def evaluate(self, model: TrimodalRecognizer, epoch: int) -> dict[str, float]:
        from smartclass.metrics.classification import macro_f1

        precise_bn(model, self.train, seed=epoch)
        truth = self.val["label"]
        logits = predict(model, self.val)
        pred = logits.argmax(1)
        out = {"val_top1": float((pred == truth).float().mean()),
               "val_macro_f1": float(macro_f1(pred.numpy(), truth.numpy(), model.cfg.num_classes))}
        if self.tc.modality_dropout > 0:  # trained for rooms without some cameras: score every set-up
            f1s = [out["val_macro_f1"]]
            for given in SETUPS_WITHOUT_ALL:
                p = predict(model, withhold_modalities(self.val, given)).argmax(1)
                key = "+".join(given)
                out[f"val_top1_{key}"] = float((p == truth).float().mean())
                f1s.append(float(macro_f1(p.numpy(), truth.numpy(), model.cfg.num_classes)))
            out["val_macro_f1_setups"] = sum(f1s) / len(f1s)
        return out

    def state_dict(self) -> dict:
        return {**self.warmup, "task_weights": self.criterion.tasks.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.warmup["warmup_steps"] = state.get("warmup_steps", 0)
        if "task_weights" in state:
            self.criterion.tasks.load_state_dict(state["task_weights"])


def fit(model: TrimodalRecognizer, train: dict, val: dict, tc: TrainConfig, out_dir: Path, config: dict,
        resume: bool = False, log: Callable[[str], None] = print,
        progress: Callable[[int, int], None] | None = None, device: str = "cpu") -> dict:
    """Train ``model`` in place with the engine (the caller seeded before building it); writes ``last.pt``
    every epoch and ``best.pt`` on a better validation macro-F1 (with ``train.modality_dropout`` > 0: its mean over
    the four camera set-ups, RGB only, RGB + depth, RGB + thermal and all three). Returns the engine's run state plus
    ``best_f1`` (the best validation macro-F1, −1 before any epoch)."""
    monitor = "val_macro_f1_setups" if tc.modality_dropout > 0 else "val_macro_f1"
    settings = EngineSettings(epochs=tc.epochs, patience=tc.patience, monitor=monitor, mode="max",
                              time_budget_min=tc.time_budget_min, seed=None, grad_clip=5.0, device=device)
    _, state = Engine(settings, out_dir, config, log, progress).fit(RecognizerTask(model, train, val, tc), resume)
    return {**state, "best_f1": state["best"] if state["best"] is not None else -1.0}
