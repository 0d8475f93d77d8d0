"""Are SmartClass-Synth's fine-grained classes separable from one still RGB frame? (issue 2)

Trains two classifiers with the same budget on the same subject-disjoint split:

* ``single_frame_rgb``: a small 2-D CNN that sees one RGB frame of each student crop (a random one in
  training, the middle one in testing);
* ``temporal_multimodal``: the same per-frame CNN applied to every frame of RGB + depth + thermal
  (5 channels), followed by a temporal convolution over the clip.

If the generator does its job, the first scores clearly below the second: the fine-grained pairs
(note-taking vs head-down writing, listening vs upright sitting, drinking vs phone, ...) differ in
motion, depth or temperature, not in a single RGB frame.

    python benchmarks/separability.py [--train 1200] [--test 400] [--epochs 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smartclass.bench import print_table, write_results
from smartclass.synth.dataset import SynthStudentClips
from smartclass.labels import FINE_CLASSES
from smartclass.metrics.classification import confusion_matrix, macro_f1, top_k_accuracy
from smartclass.synth.config import SynthConfig


def frame_cnn(in_ch: int, width: int = 32) -> nn.Sequential:
    """``(B, in_ch, S, S)`` → ``(B, 2·width)``: four strided conv blocks and global average pooling."""

    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(in_ch, width), *block(width, width), *block(width, 2 * width), *block(2 * width, 2 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )


class SingleFrameRGB(nn.Module):
    """Classifies the middle RGB frame only."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.cnn = frame_cnn(3)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, 5, S, S)
        # training sees a random frame of each clip (every frame is a labelled still), testing the middle one
        t = torch.randint(x.shape[1], (x.shape[0],)) if self.training else torch.full((x.shape[0],), x.shape[1] // 2)
        return self.fc(self.cnn(x[torch.arange(x.shape[0]), t, :3]))


class TemporalMultimodal(nn.Module):
    """Per-frame CNN over RGB + depth + thermal, then a temporal conv and pooling over T."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.cnn = frame_cnn(5)
        self.temporal = nn.Sequential(
            nn.Conv1d(64, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(inplace=True),
            nn.Conv1d(64, 64, 3, padding=2, dilation=2), nn.BatchNorm1d(64), nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, 5, S, S)
        b, t = x.shape[:2]
        f = self.cnn(x.flatten(0, 1)).view(b, t, -1).transpose(1, 2)
        f = self.temporal(f)
        return self.fc(torch.cat([f.mean(-1), f.amax(-1)], 1))


def stack_inputs(item: dict) -> torch.Tensor:
    """``(T, 5, S, S)``: RGB in [0, 1], depth in metres / 4, thermal as (°C − 20) / 20."""
    depth = item["depth"] / 4.0
    thermal = (item["thermal"] - 20.0) / 20.0
    return torch.cat([item["rgb"], depth, thermal], dim=1)


def materialise(cfg: SynthConfig, n: int, frames: int, crop: int, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
    items = SynthStudentClips(cfg, length=n, frames=frames, crop=crop, vocabulary="fine").materialise(workers)
    return torch.stack([stack_inputs(it) for it in items]), torch.tensor([int(it["label"]) for it in items])


def train_and_test(model: nn.Module, xtr, ytr, xte, yte, epochs: int, seed: int) -> dict:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * ((len(xtr) + 31) // 32))
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xtr), generator=g).split(32):
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    train_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xte[i : i + 64]) for i in range(0, len(xte), 64)])
    n = len(FINE_CLASSES)
    return {
        "top1": top_k_accuracy(logits.numpy(), yte.numpy(), k=1),
        "macro_f1": macro_f1(logits.argmax(1).numpy(), yte.numpy(), num_classes=n),
        "confusion": confusion_matrix(logits.argmax(1).numpy(), yte.numpy(), num_classes=n).tolist(),
        "train_seconds": train_s,
        "params": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1200)
    ap.add_argument("--test", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args()
    torch.set_num_threads(2)

    t0 = time.perf_counter()
    # 16 frames at 5 fps = 3.2 s: long enough for the temporal cues (glances, nods, sips recur every 1.4-3.2 s)
    train_cfg = SynthConfig(split="train", seed=args.seed, fps=args.fps)
    test_cfg = SynthConfig(split="test", seed=args.seed, fps=args.fps)
    xtr, ytr = materialise(train_cfg, args.train, args.frames, args.crop, args.workers)
    xte, yte = materialise(test_cfg, args.test, args.frames, args.crop, args.workers)
    gen_s = time.perf_counter() - t0

    rows, results = [], {}
    for name, model in [("single_frame_rgb", SingleFrameRGB(len(FINE_CLASSES))),
                        ("temporal_multimodal", TemporalMultimodal(len(FINE_CLASSES)))]:
        r = train_and_test(model, xtr, ytr, xte, yte, args.epochs, args.seed)
        results[name] = r
        rows.append({"model": name, "top1": r["top1"], "macro_f1": r["macro_f1"],
                     "train_s": r["train_seconds"], "params": r["params"]})
    print_table(rows, title="Separability on SmartClass-Synth (fine-grained, subject-disjoint test split)")
    print(f"chance = {1 / len(FINE_CLASSES):.3f}; data generation {gen_s:.0f} s")
    write_results("separability", {
        "settings": vars(args), "classes": list(FINE_CLASSES), "train_samples": len(ytr),
        "test_samples": len(yte), "generation_seconds": gen_s,
        "class_counts_train": np.bincount(ytr.numpy(), minlength=len(FINE_CLASSES)).tolist(),
        "models": results,
    }, out_dir=args.out)


if __name__ == "__main__":
    main()
