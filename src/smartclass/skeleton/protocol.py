"""Standard evaluation protocols on real skeleton datasets, and the models compared on them.

* MSR Action3D: cross-subject, odd subjects train and even subjects test, all 20 actions (one split).
* UTKinect-Action3D: cross-subject, half of the subjects train and half test, averaged over ``repeats``
  random subject splits drawn from ``seed``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from smartclass.data.skeleton import (MSR_ACTION3D_ACTIONS, UTKINECT_ACTIONS, UTKINECT_LABEL_FILE, SkeletonSample,
                                      load_msr_action3d, load_utkinect, overlapping_segments, read_utkinect_labels)
from smartclass.errors import DataError, InputError
from smartclass.layouts import get_layout
from smartclass.metrics.classification import confusion_matrix
from smartclass.models.gcn import MODEL_TAG as GCN_TAG, build_gcn, gcn_config
from smartclass.skeleton.baselines import SO3DTWSVM, SO3SVM
from smartclass.skeleton.preprocess import reference_bone_lengths, reference_preprocess, swap_yz
from smartclass.skeleton.so3 import so3_features
from smartclass.skeleton.augment import random_augment
from smartclass.skeleton.config import PREPROCESS, GCNSettings
from smartclass.skeleton.streams import make_streams, mirror_sequence, normalise_sequence, resample
from smartclass.training.engine import Engine, EngineSettings, Task

DATASETS: dict[str, Callable[[str], list[SkeletonSample]]] = {
    "utkinect": load_utkinect,
    "msraction3d": load_msr_action3d,
}
CLASSES = {"utkinect": UTKINECT_ACTIONS, "msraction3d": MSR_ACTION3D_ACTIONS}
NUM_CLASSES = {k: len(v) for k, v in CLASSES.items()}
MODELS = ("mstgcn", "stgcn", "so3-svm")


def cross_subject_splits(samples: list[SkeletonSample], dataset: str, repeats: int = 5,
                         seed: int = 0) -> Iterator[tuple[list[int], list[int]]]:
    """Yield (train indices, test indices) of the dataset's standard cross-subject protocol. Data whose subjects
    leave the training or the test side empty is an :class:`InputError` naming the subjects found."""
    subjects = np.array([s.subject for s in samples])
    if dataset == "msraction3d":
        train = subjects % 2 == 1
        if train.all() or not train.any():
            raise InputError(f"MSR Action3D protocol (odd subjects train, even test): the data's subjects "
                             f"{sorted(set(subjects.tolist()))} leave no {'test' if train.all() else 'training'} subject")
        yield list(np.nonzero(train)[0]), list(np.nonzero(~train)[0])
        return
    if dataset != "utkinect":
        raise InputError(f"unknown dataset '{dataset}'; expected one of {list(DATASETS)}")
    if repeats < 1:
        raise InputError(f"--repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    unique = np.unique(subjects)
    if len(unique) < 2:
        raise InputError(f"UTKinect protocol (half the subjects train, half test): the data has "
                         f"{len(unique)} subject{'' if len(unique) == 1 else 's'} {unique.tolist()}; expected at least 2")
    for _ in range(repeats):
        chosen = rng.choice(unique, size=len(unique) // 2, replace=False)
        train = np.isin(subjects, chosen)
        yield list(np.nonzero(train)[0]), list(np.nonzero(~train)[0])


def sequence_tensor(samples: list[SkeletonSample], settings: GCNSettings,
                    rng: np.random.Generator | None = None, mirror: bool = False) -> torch.Tensor:
    """Samples → network input ``(N, 3·S, T, V)`` (first person, normalised, resampled to ``settings.frames``,
    S streams); with ``rng``, a fresh random augmentation of every sample (and, with ``settings.flip``, a
    left–right mirror of about half of them); ``mirror`` mirrors every sample (flip test-time augmentation)."""
    layout = get_layout(samples[0].layout)
    out = [make_streams(kp, layout, settings.streams, step)[0]
           for kp, step in (prepared_joints(s, settings, rng, mirror) for s in samples)]
    return torch.from_numpy(np.stack(out))


def prepared_joints(sample: SkeletonSample, settings: GCNSettings, rng: np.random.Generator | None = None,
                    mirror: bool = False) -> tuple[np.ndarray, float]:
    """One sample's joints ``(1, T, V, 3)`` as the network sees them (see :func:`sequence_tensor`), and the
    mean number of recorded frames between two of its rows (from the sample's frame numbers where it has
    them, else one per original row; a temporal crop shortens it)."""
    layout = get_layout(sample.layout)
    frames = sample.meta.get("frames")
    times = frames if settings.recorded_time else None
    kp = resample(normalise_sequence(sample.keypoint[:1], layout, settings.align), settings.frames, times=times)
    span = frames[-1] - frames[0] if frames is not None else sample.keypoint.shape[1] - 1
    step = max(float(span), 1.0) / max(settings.frames - 1, 1)
    if rng is not None:
        kp, keep = random_augment(kp, rng, settings.max_angle, min_keep=settings.min_keep)
        step *= keep
        if settings.flip and rng.random() < 0.5:
            kp = mirror_sequence(kp, layout)
    if mirror:
        kp = mirror_sequence(kp, layout)
    return kp, step


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights ``(num_classes,)`` with mean 1 over the classes present (absent ones get 0)."""
    counts = torch.bincount(labels, minlength=num_classes).float()
    w = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return w * (counts > 0).sum() / w.sum()


def gcn_scores(model_name: str, train: list[SkeletonSample], test: list[SkeletonSample], num_classes: int,
               settings: GCNSettings = GCNSettings(), device: str = "cpu") -> dict[str, np.ndarray]:
    """Class probabilities ``(len(test), num_classes)`` per model, keyed by its streams (``"joint+bone"``):
    one model on all streams, or with ``settings.ensemble`` one model per stream, whose probabilities are
    summed for the ensemble's prediction. With ``settings.seeds`` > 1 each model is that many networks
    (training seeds ``seed``, ``seed + 1``, …) and its probabilities are their sum."""
    out: dict[str, np.ndarray] = {}
    for streams, member in ensemble_members(settings):
        key = "+".join(streams)
        out[key] = out.get(key, 0) + stream_scores(model_name, train, test, num_classes, member, device)
    return out


def stream_groups(settings: GCNSettings) -> list[tuple[str, ...]]:
    """The stream sets of the models to train. With ``ensemble``, one per entry of ``settings.streams``,
    where ``a+b`` puts streams a and b into one model; else all streams in one model."""
    groups = [tuple(s.split("+")) for s in settings.streams]
    return groups if settings.ensemble else [tuple(s for g in groups for s in g)]


def ensemble_members(settings: GCNSettings) -> list[tuple[tuple[str, ...], GCNSettings]]:
    """(streams, settings) of every network to train: each stream model × each of ``settings.seeds`` seeds."""
    return [(g, replace(settings, streams=g, seed=settings.seed + i))
            for g in stream_groups(settings) for i in range(settings.seeds)]


def stream_scores(model_name: str, train: list[SkeletonSample], test: list[SkeletonSample], num_classes: int,
                  settings: GCNSettings, device: str = "cpu") -> np.ndarray:
    """Test probabilities of one GCN on ``settings.streams`` (averaged with the mirrored clips' under
    ``settings.flip_tta``), trained and run on ``device``."""
    model = fit_gcn(model_name, train, num_classes, settings, device=device)
    with torch.no_grad():
        p = torch.softmax(model(sequence_tensor(test, settings).to(device)), 1)
        if settings.flip_tta:
            p = (p + torch.softmax(model(sequence_tensor(test, settings, mirror=True).to(device)), 1)) / 2
    return p.cpu().numpy()


def _stream_job(args: tuple) -> np.ndarray:
    """:func:`stream_scores` in a worker process, on one thread (workers split the cores between them)."""
    torch.set_num_threads(1)
    return stream_scores(*args)


class GCNTask(Task):
    """Training of one skeleton GCN for the training engine: fresh augmentation of every clip each epoch
    (``settings.max_angle``, ``min_keep``, ``flip``), random batches (a last batch of one sample is skipped:
    BatchNorm needs two), cross-entropy with label smoothing 0.1 (inverse-frequency class weights under
    ``settings.class_weights``), AdamW under a one-cycle learning rate stepped every batch."""

    model_tag = GCN_TAG

    def __init__(self, model_name: str, train: list[SkeletonSample], num_classes: int, settings: GCNSettings,
                 device: str = "cpu"):
        self.kind, self.train, self.num_classes, self.settings = model_name, train, num_classes, settings
        self.device = device
        self.layout = get_layout(train[0].layout)
        self.rng = np.random.default_rng(settings.seed)
        self.labels = torch.tensor([s.label for s in train], device=device)
        self.weight = class_weights(self.labels, num_classes) if settings.class_weights else None

    def model_config(self, model: torch.nn.Module | None = None) -> dict:
        s = self.settings
        ablations = (dict(dynamic=s.dynamic, attention=s.attention, dilations=s.dilations, kernel=s.kernel)
                     if self.kind == "mstgcn" else {})
        return gcn_config(self.kind, self.layout.name, 3 * len(s.streams), self.num_classes, channels=s.channels,
                          dropout=s.dropout, **ablations)

    def build_model(self) -> torch.nn.Module:
        return build_gcn(self.model_config())

    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=self.settings.lr, weight_decay=self.settings.weight_decay)

    def scheduler(self, optimizer: torch.optim.Optimizer):
        steps = self.settings.epochs * self.steps_per_epoch()
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=self.settings.lr, total_steps=steps)

    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.settings.batch_size)

    def train_batches(self, epoch: int):
        device = self.device
        x = sequence_tensor(self.train, self.settings, self.rng).to(device)  # fresh augmentation each epoch
        for idx in torch.randperm(len(self.train)).split(self.settings.batch_size):
            if len(idx) < 2:
                continue  # BatchNorm needs more than one sample
            idx = idx.to(device)
            yield x[idx], self.labels[idx]

    def loss(self, model: torch.nn.Module, batch) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y, weight=self.weight, label_smoothing=0.1)


def fit_gcn(model_name: str, train: list[SkeletonSample], num_classes: int,
            settings: GCNSettings = GCNSettings(), out_dir: str | Path | None = None,
            device: str = "cpu") -> torch.nn.Module:
    """One GCN on all ``settings.streams``, trained on ``train`` by the training engine (:class:`GCNTask`,
    seeded from ``settings.seed``) on ``device`` (the config's top-level ``device``); returned in eval mode. ``out_dir``: also write the engine's ``last.pt``
    (a ``"gcn"`` checkpoint that :func:`smartclass.inference.load_model` reads) there."""
    engine = Engine(EngineSettings(epochs=settings.epochs, seed=settings.seed, device=device), out_dir,
                    config={"gcn": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()}},
                    log=lambda message: None)
    model, _ = engine.fit(GCNTask(model_name, train, num_classes, settings, device))
    return model


def holdout_report(root: str | Path, settings: GCNSettings = GCNSettings(), model_name: str = "mstgcn",
                   device: str = "cpu") -> dict:
    """Train ``model_name`` on half of the UTKinect-Action3D subjects in ``root`` (one split drawn from
    ``settings.seed``) and test it on the others: the classification report (top-1/top-3, macro-F1,
    confusion matrix) plus ``train_seconds``, ``train_sequences``, ``test_sequences``, ``train_subjects``."""
    from smartclass.metrics.classification import classification_report

    samples = load_utkinect(str(root))
    tr, te = next(cross_subject_splits(samples, "utkinect", repeats=1, seed=settings.seed))
    train, test = [samples[i] for i in tr], [samples[i] for i in te]
    t0 = time.perf_counter()
    model = fit_gcn(model_name, train, len(UTKINECT_ACTIONS), settings, device=device)
    with torch.no_grad():
        scores = model(sequence_tensor(test, settings).to(device)).cpu().numpy()
    report = classification_report(scores, np.array([s.label for s in test]), UTKINECT_ACTIONS, ks=(1, 3))
    report.update(train_seconds=time.perf_counter() - t0, train_sequences=len(train), test_sequences=len(test),
                  train_subjects=sorted({int(s.subject) for s in train}))
    return report


def so3_svm_predictions(train: list[SkeletonSample], test: list[SkeletonSample], frames: int = 32,
                        seed: int = 0, dtw: bool = False) -> np.ndarray:
    """Predicted labels of the ``test`` clips by SO(3) + Fourier temporal pyramid + linear SVM fitted on ``train``;
    with ``dtw`` the reference's temporal model instead (:class:`SO3DTWSVM`, on the clips' own frames)."""
    layout = get_layout(train[0].layout)
    if dtw:
        curve = lambda s: so3_features(s.keypoint[0], layout)  # noqa: E731
        clf = SO3DTWSVM().fit([curve(s) for s in train], np.array([s.label for s in train]))
        return clf.predict([curve(s) for s in test])
    curve = lambda s: so3_features(resample(s.keypoint[:1], frames)[0], layout)  # noqa: E731
    clf = SO3SVM(seed=seed).fit([curve(s) for s in train], np.array([s.label for s in train]))
    return clf.predict([curve(s) for s in test])


def reference_split(train: list[SkeletonSample], test: list[SkeletonSample], rotate: bool = True
                    ) -> tuple[list[SkeletonSample], list[SkeletonSample]]:
    """One split's clips pre-processed as the reference pipeline does (:func:`reference_preprocess`, first
    person), the bones rebuilt with the mean bone lengths of the split's training clips, and turned back to the
    camera's axes (y vertical) that the rest of the project uses; ``rotate=False`` leaves out the per-frame view
    normalisation. A clip left without a valid frame is a :class:`DataError` naming it."""
    layout = get_layout(train[0].layout)
    lengths = reference_bone_lengths([s.keypoint[0] for s in train], layout)

    def one(s: SkeletonSample) -> SkeletonSample:
        kp, keep = reference_preprocess(s.keypoint[0], layout, lengths, rotate)
        if not len(kp):
            raise DataError(f"{s.name}: no frame in which every bone has a length (--preprocess reference)")
        meta = dict(s.meta, **({"frames": np.asarray(s.meta["frames"])[keep]} if "frames" in s.meta else {}))
        return replace(s, keypoint=swap_yz(kp)[None], score=None if s.score is None else s.score[:1, keep],
                       meta=meta)

    return [one(s) for s in train], [one(s) for s in test]


def most_confused(cm: np.ndarray, classes: tuple[str, ...], top: int = 5) -> list[str]:
    """The ``top`` most frequent errors of a confusion matrix (rows true, columns predicted), most first:
    ``"throw → push: 5"``."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    return [f"{classes[i]} → {classes[j]}: {off[i, j]}" for i, j in zip(*np.unravel_index(order, cm.shape))
            if off[i, j] > 0]


def run_benchmark(dataset: str, root: str, models: tuple[str, ...] = MODELS, repeats: int = 5, seed: int = 0,
                  settings: GCNSettings | None = None, progress: Callable[[str], None] | None = None,
                  labels: str | None = None, workers: int = 1, device: str = "cpu") -> dict:
    """Run every model on every split of the protocol; returns per-model mean/std top-1 and wall time.
    ``device``: where the GCNs train and run (the config's top-level ``device``).
    ``labels``: UTKinect label file name inside ``root`` (default ``actionLabel.txt``). ``workers``: GCN
    trainings (one per split and stream model) run in that many processes of one thread each; every training
    seeds itself, so the figures do not depend on it."""
    if dataset not in DATASETS:
        raise InputError(f"--dataset must be one of {list(DATASETS)}, got '{dataset}'")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise InputError(f"--model '{unknown[0]}' is not one of {list(MODELS)}")
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    settings = settings or GCNSettings(seed=seed)
    if settings.seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {settings.seeds}")
    if labels is not None and dataset != "utkinect":
        raise InputError(f"--labels applies to utkinect only; {dataset} files carry their own labels")
    if settings.preprocess not in PREPROCESS:
        raise InputError(f"--preprocess must be one of {list(PREPROCESS)}, got '{settings.preprocess}'")
    samples = load_utkinect(root, labels) if labels is not None else DATASETS[dataset](root)
    overlaps = label_overlaps(dataset, root, labels)
    splits = list(cross_subject_splits(samples, dataset, repeats, seed))
    truths = [np.array([samples[i].label for i in te]) for _, te in splits]  # each split's test labels
    clips = [([samples[i] for i in tr], [samples[i] for i in te]) for tr, te in splits]  # each split's clips
    if settings.preprocess != "none":
        clips = [reference_split(train, test, settings.preprocess == "reference") for train, test in clips]
    results: dict = {}
    for name in models:
        t0 = time.perf_counter()
        accs, per_stream, per_seed = [], {}, {}
        confusion = np.zeros((NUM_CLASSES[dataset],) * 2, dtype=np.int64)  # summed over the splits
        wrong: dict[str, int] = {}  # "clip → predicted class": splits in which it was so

        def score(pred: np.ndarray, k: int) -> None:
            """Add split k's predictions to the accuracies, the confusion matrix and the wrong clips."""
            accs.append(float(np.mean(pred == truths[k])))
            confusion[:] += confusion_matrix(pred, truths[k], NUM_CLASSES[dataset])
            for i, p, t in zip(splits[k][1], pred, truths[k]):
                if p != t:
                    key = f"{samples[i].name} → {CLASSES[dataset][p]}"
                    wrong[key] = wrong.get(key, 0) + 1

        if name == "so3-svm":
            for k, (train, test) in enumerate(clips):
                score(so3_svm_predictions(train, test, settings.frames, seed, settings.svm_dtw), k)
                if progress:
                    progress(f"{name} split {k + 1}/{len(splits)}: top-1 {accs[-1]:.4f}")
        else:
            members = ensemble_members(settings)
            jobs = [(name, train, test, NUM_CLASSES[dataset], member, device) for train, test in clips
                    for _, member in members]

            def report(done: int, name: str = name, n: int = len(jobs), m: int = len(members)) -> None:
                if progress:
                    progress(f"{name}: {done}/{n} trainings ({len(splits)} splits × {m} networks)")

            scores = _run_jobs(jobs, workers, report)
            for k, truth in enumerate(truths):
                mine: dict[str, np.ndarray] = {}
                alone: dict[int, np.ndarray] = {}  # each training seed's networks without the others
                for (streams, member), p in zip(members, scores[k * len(members):(k + 1) * len(members)]):
                    mine["+".join(streams)] = mine.get("+".join(streams), 0) + p
                    alone[member.seed] = alone.get(member.seed, 0) + p
                if len(alone) > 1:
                    for sd, p in alone.items():
                        per_seed.setdefault(str(sd), []).append(float(np.mean(p.argmax(1) == truth)))
                score(sum(mine.values()).argmax(1), k)
                if len(mine) > 1:
                    for stream, p in mine.items():
                        per_stream.setdefault(stream, []).append(float(np.mean(p.argmax(1) == truth)))
        results[name] = {"top1": float(np.mean(accs)), "top1_std": float(np.std(accs)),
                         "per_split": accs, "seconds": time.perf_counter() - t0,
                         "confusion_matrix": confusion.tolist(),  # rows true, columns predicted; all splits
                         "most_confused": most_confused(confusion, CLASSES[dataset]),
                         "wrong_clips": dict(sorted(wrong.items()))}
        if per_stream:  # each stream's own model, before the ensemble sums them
            results[name]["per_stream_top1"] = {k: float(np.mean(v)) for k, v in per_stream.items()}
        if per_seed:  # each training seed's networks alone, before the seed ensemble sums them
            results[name]["per_seed_top1"] = {k: float(np.mean(v)) for k, v in per_seed.items()}
    return {"dataset": dataset, "num_samples": len(samples), "splits": len(splits), "seed": seed,
            "classes": list(CLASSES[dataset]),
            "labels": labels or "dataset default",  # a custom label file is named; the default is not
            "label_overlaps": overlaps,  # overlapping action segments of the label file: labelling errors
            "protocol": "odd subjects train / even test" if dataset == "msraction3d"
            else f"cross-subject, half the subjects train, {len(splits)} random subject splits",
            "subjects": [{"train": sorted({int(samples[i].subject) for i in tr}),
                          "test": sorted({int(samples[i].subject) for i in te})} for tr, te in splits],
            "workers": workers, "device": device,
            "gcn_settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(settings).items()},
            "models": results}


def label_overlaps(dataset: str, root: str, labels: str | None = None) -> list[str]:
    """Overlapping action segments (labelling errors) of the UTKinect label file ``labels`` (default
    ``actionLabel.txt``) in ``root``; none for data sets whose files carry their own labels, or where the file
    is missing (the loader names it)."""
    path = Path(root) / (labels or UTKINECT_LABEL_FILE)
    return overlapping_segments(read_utkinect_labels(path)) if dataset == "utkinect" and path.is_file() else []


def _run_jobs(jobs: list[tuple], workers: int, progress: Callable[[int], None]) -> list[np.ndarray]:
    """:func:`stream_scores` of every job, in order; in ``workers`` processes when more than one."""
    workers = min(workers, len(jobs))
    if workers <= 1:
        out = []
        for job in jobs:
            out.append(stream_scores(*job))
            progress(len(out))
        return out
    import multiprocessing

    from smartclass.runs import worker_pool

    # a forked child cannot use CUDA: GPU workers start fresh interpreters
    context = multiprocessing.get_context("spawn" if jobs[0][-1] != "cpu" else None)
    with worker_pool(workers, mp_context=context) as pool:  # workers stop with this process
        out = []
        for p in pool.map(_stream_job, jobs):
            out.append(p)
            progress(len(out))
        return out
