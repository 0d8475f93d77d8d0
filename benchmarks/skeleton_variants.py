"""Which change to MST-GCN's training moves UTKinect cross-subject top-1? (issue 5)

A cell is (variant, split seed, training seed): on each of the 5 cross-subject splits drawn from the split
seed, one ``local`` and one ``bone`` network are trained with the training seed (flips in training and
testing, whole-clip alignment, four blocks 32,32,64,64 unless the variant changes them: the setting of
``skelbench_utk_recipe4_seed1.json``). The table gives each stream's mean top-1 and that of their
ensemble; cells of one variant and split seed with several training seeds also give the seed ensemble.

Each training is one job, written as a line (test probabilities) to ``--raw``; jobs already there are
skipped, so an interrupted run resumes, and ``--summarise`` rebuilds the table from raw files alone.
Workers are processes of one thread; ``--gpu-workers`` of them train on cuda when there is a GPU.

    python benchmarks/skeleton_variants.py --root DATA_DIR --variants base,lr4 --split-seeds 1 --train-seeds 0
    python benchmarks/skeleton_variants.py --root DATA_DIR --summarise RAW.jsonl [RAW2.jsonl ...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smartclass.bench import print_table, write_results
from smartclass.data.skeleton import load_utkinect
from smartclass.layouts import get_layout
from smartclass.models.gcn import MSTGCN
from smartclass.skeleton.protocol import GCNSettings, cross_subject_splits, prepared_joints
from smartclass.skeleton.streams import make_streams

BASE = dict(channels=(32, 32, 64, 64), flip=True, flip_tta=True)
# model options (not GCNSettings fields): pos = keypoint positions into eq. 7's distance term; jemb = a learned
# per-joint embedding added after the first block; pool = "meanmax" concatenates mean and max pooling
VARIANTS: dict[str, dict] = {
    "base": {},
    "pos": {"pos": True},
    "jemb": {"jemb": True},
    "pos_jemb": {"pos": True, "jemb": True},
    "meanmax": {"pool": "meanmax"},
    "ep160": {"epochs": 160},
    "ep240": {"epochs": 240},
    "lr4": {"lr": 4e-3},
    "lr6": {"lr": 6e-3},
    "bs8_lr4": {"batch_size": 8, "lr": 4e-3},
    "ep160_lr4": {"epochs": 160, "lr": 4e-3},
    "ep160_jemb": {"epochs": 160, "jemb": True},
    "f48": {"frames": 48},
    "drop3": {"dropout": 0.3},
    "rot0": {"max_angle": 0.0},
    "wide": {"channels": (64, 64, 128, 128)},
    "deep6": {"channels": (32, 32, 32, 64, 64, 64)},
    "n_lr4": {"channels": (16, 16, 32, 32), "lr": 4e-3},
}
STREAMS = ("local", "bone")


class ProbeGCN(MSTGCN):
    """MST-GCN with the probe options above (all off: exactly :class:`MSTGCN`)."""

    def __init__(self, *args, jemb: bool = False, pool: str = "mean", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        width = self.blocks[0].gcn.bn.num_features
        self.jemb = nn.Parameter(torch.zeros(1, width, 1, self.layout.num_node)) if jemb else None
        self.pool = pool
        if pool == "meanmax":
            self.fc = nn.Linear(2 * self.out_channels, self.fc.out_features)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        nm, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(nm, v * c, t)).view(nm, v, c, t).permute(0, 2, 3, 1)
        sqdist = None if pos is None else (pos[:, :, :, None] - pos[:, :, None]).pow(2).sum(-1).mean(1)
        for i, block in enumerate(self.blocks):
            x = block(x, sqdist)
            if i == 0 and self.jemb is not None:
                x = x + self.jemb
        f = x.mean((2, 3))
        if self.pool == "meanmax":
            f = torch.cat([f, x.amax((2, 3))], 1)
        return self.fc(f)


def tensors(samples, st: GCNSettings, rng=None, mirror=False) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input ``(N, 3, T, V)`` of one stream (as :func:`smartclass.skeleton.protocol.sequence_tensor`,
    with the same augmentation draws) and the joint positions ``(N, T, V, 3)``."""
    layout = get_layout(samples[0].layout)
    kps = [prepared_joints(s, st, rng, mirror) for s in samples]
    xs = [make_streams(kp, layout, st.streams, step)[0] for kp, step in kps]
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack([kp[0] for kp, _ in kps]))


def run_job(job: tuple, samples: list, device: str) -> dict:
    """Train one network (the loop of :func:`smartclass.skeleton.protocol.fit_gcn`) and score its test split."""
    variant, stream, split_seed, split, train_seed = job
    opts = {**BASE, **VARIANTS[variant]}
    fields = set(vars(GCNSettings()))
    st = replace(GCNSettings(**{k: v for k, v in opts.items() if k in fields}), streams=(stream,), seed=train_seed)
    tr, te = list(cross_subject_splits(samples, "utkinect", 5, split_seed))[split]
    train, test = [samples[i] for i in tr], [samples[i] for i in te]
    torch.manual_seed(st.seed)
    rng = np.random.default_rng(st.seed)
    model = ProbeGCN(get_layout(train[0].layout), 3, 10, channels=st.channels, dropout=st.dropout,
                     jemb=opts.get("jemb", False), pool=opts.get("pool", "mean")).to(device)
    use_pos = opts.get("pos", False)
    y = torch.tensor([s.label for s in train], device=device)
    steps = st.epochs * ((len(train) + st.batch_size - 1) // st.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=st.lr, weight_decay=st.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=st.lr, total_steps=steps)
    for _ in range(st.epochs):
        x, p = (t.to(device) for t in tensors(train, st, rng))
        model.train()
        for idx in torch.randperm(len(train)).split(st.batch_size):
            if len(idx) < 2:
                continue
            idx = idx.to(device)
            loss = F.cross_entropy(model(x[idx], p[idx] if use_pos else None), y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        prob = 0
        for mirror in (False, True) if st.flip_tta else (False,):
            x, p = (t.to(device) for t in tensors(test, st, mirror=mirror))
            prob = prob + torch.softmax(model(x, p if use_pos else None), 1)
        prob = prob / (2 if st.flip_tta else 1)
    return {"variant": variant, "stream": stream, "split_seed": split_seed, "split": split, "train_seed": train_seed,
            "test": [int(i) for i in te], "prob": np.round(prob.cpu().numpy(), 4).tolist()}


def _worker(device: str, jobs: mp.Queue, raw: str, root: str, deadline: float) -> None:
    torch.set_num_threads(1)
    samples = load_utkinect(root)
    while time.time() < deadline:
        try:
            job = jobs.get(timeout=5)
        except queue.Empty:
            return
        t0 = time.time()
        rec = run_job(job, samples, device)
        rec.update(seconds=round(time.time() - t0, 1), device=torch.cuda.get_device_name() if device == "cuda"
                   else "cpu")
        with open(raw, "a") as f:  # one short line per append: lines of concurrent workers do not interleave
            f.write(json.dumps(rec) + "\n")
        print(f"{job} {rec['seconds']} s on {device}", flush=True)


def summarise(raw_files: list[str], labels: np.ndarray) -> list[dict]:
    """One row per (variant, split seed, training seed), and per (variant, split seed) seed ensemble."""
    scores: dict[tuple, tuple] = {}
    devices: dict[tuple, set] = {}
    for path in raw_files:
        for line in open(path):
            r = json.loads(line)
            scores[(r["variant"], r["stream"], r["split_seed"], r["split"], r["train_seed"])] = (
                np.array(r["prob"]), np.array(r["test"]))
            devices.setdefault((r["variant"], r["split_seed"], r["train_seed"]), set()).add(r["device"])

    def top1(members: list[tuple], split_seed: int) -> float | None:
        accs = []
        for k in range(5):
            got = [scores.get((v, s, split_seed, k, t)) for v, s, t in members]
            if any(g is None for g in got):
                return None
            accs.append(np.mean(sum(g[0] for g in got).argmax(1) == labels[got[0][1]]))
        return float(np.mean(accs))

    rows = []
    for (variant, ss, ts) in sorted(devices, key=lambda c: (c[1], list(VARIANTS).index(c[0]), c[2])):
        row = {"variant": variant, "split_seed": ss, "train_seeds": str(ts)}
        row.update({s: top1([(variant, s, ts)], ss) for s in STREAMS})
        row["local+bone"] = top1([(variant, s, ts) for s in STREAMS], ss)
        row["device"] = ",".join(sorted(devices[(variant, ss, ts)]))
        if row["local+bone"] is not None:
            rows.append(row)
    for variant, ss in dict.fromkeys((r["variant"], r["split_seed"]) for r in rows):
        seeds = [int(r["train_seeds"]) for r in rows if (r["variant"], r["split_seed"]) == (variant, ss)]
        if len(seeds) > 1:
            rows.append({"variant": variant, "split_seed": ss, "train_seeds": ",".join(map(str, seeds)),
                         **{s: top1([(variant, s, t) for t in seeds], ss) for s in STREAMS},
                         "local+bone": top1([(variant, s, t) for t in seeds for s in STREAMS], ss),
                         "device": "seed ensemble"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="UTKinect-Action3D folder")
    ap.add_argument("--variants", default="base,lr4,ep160", help=f"comma-separated, of {list(VARIANTS)}")
    ap.add_argument("--split-seeds", default="1")
    ap.add_argument("--train-seeds", default="0")
    ap.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="CPU worker processes")
    ap.add_argument("--gpu-workers", type=int, default=0, help="worker processes training on cuda (GPU present)")
    ap.add_argument("--seconds", type=float, default=float("inf"), help="start no job after this many seconds")
    ap.add_argument("--raw", default="skeleton_variants.raw.jsonl", help="per-job scores (appended; resumable)")
    ap.add_argument("--summarise", nargs="*", help="only rebuild the table from these raw files")
    ap.add_argument("--name", default="skeleton_variants", help="results file benchmarks/results/<name>.json")
    a = ap.parse_args()
    unknown = [v for v in a.variants.split(",") if v not in VARIANTS]
    if unknown:
        ap.error(f"--variants: '{unknown[0]}' is not one of {list(VARIANTS)}")
    labels = np.array([s.label for s in load_utkinect(a.root)])
    raw_files = a.summarise
    if raw_files is None:
        done = set()
        if Path(a.raw).exists():
            for line in open(a.raw):
                r = json.loads(line)
                done.add((r["variant"], r["stream"], r["split_seed"], r["split"], r["train_seed"]))
        todo = [(v, s, int(ss), k, int(ts)) for ts in a.train_seeds.split(",") for ss in a.split_seeds.split(",")
                for v in a.variants.split(",") for s in STREAMS for k in range(5)]
        todo = [j for j in todo if j not in done]
        devices = ["cuda"] * (a.gpu_workers if torch.cuda.is_available() else 0) + ["cpu"] * a.workers
        print(f"{len(todo)} trainings to run ({len(done)} already in {a.raw}) on {len(devices)} workers", flush=True)
        ctx = mp.get_context("spawn")
        jobs = ctx.Queue()
        for j in todo:
            jobs.put(j)
        deadline = time.time() + a.seconds
        procs = [ctx.Process(target=_worker, args=(d, jobs, a.raw, a.root, deadline)) for d in devices]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        raw_files = [a.raw]
    rows = summarise(raw_files, labels)
    print_table(rows, title="UTKinect cross-subject top-1, mean of 5 splits")
    command = ("python benchmarks/skeleton_variants.py --root DATA_DIR "  # the data folder stays unrecorded
               + (f"--summarise {' '.join(Path(f).name for f in a.summarise)}" if a.summarise is not None else
                  f"--variants {a.variants} --split-seeds {a.split_seeds} --train-seeds {a.train_seeds} "
                  f"--workers {a.workers} --gpu-workers {a.gpu_workers}"))
    write_results(a.name, {"rows": rows, "settings": {k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in BASE.items()},
                           "variants": {k: {o: list(x) if isinstance(x, tuple) else x for o, x in v.items()}
                                        for k, v in VARIANTS.items()}}, command)


if __name__ == "__main__":
    main()
