"""One training engine for every model: the epoch loop, checkpoints, resume, best, early stopping, seeding.

Task code (``training/recognizer.py``, ``skeleton/protocol.py``'s GCN trainer, the detector) subclasses
:class:`Task` and defines only what differs: the model, the optimiser, the batches of an epoch, the loss of a
batch and the validation metrics. :class:`Engine` does the rest::

    for epoch in schedule:                       # EngineSettings.epochs
        task.on_epoch_start(epoch, optimizer)    # e.g. a step learning-rate schedule
        for batch in task.train_batches(epoch):
            loss, parts = task.loss(model, batch)
            backward, clip gradients, optimizer.step(), scheduler.step()   # scheduler: per batch
        metrics = task.evaluate(model, epoch)     # plain floats; EngineSettings.monitor picks "best"
        history.append({epoch, loss, parts…, metrics…, seconds})
        save last.pt (resume state) and, on improvement, best.pt
        stop early after `patience` epochs without improvement, or when the time budget is spent
        (a safety net: the stop is recorded in the history entry and in state["stopped"])

Checkpoints are plain dicts (:mod:`smartclass.checkpoint`): ``model`` (the task's tag), ``model_config``
(``task.model_config(model)``), ``state_dict``, ``config`` (the merged run config), ``history``; ``last.pt``
adds the optimizer, scheduler, RNG and task state, so that a run killed after any epoch and resumed gives the
same weights, bit for bit, as one that was never stopped.
"""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

import numpy as np
import torch

from smartclass.checkpoint import plain, read_checkpoint, save_checkpoint
from smartclass.errors import InputError

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (CPU and every GPU) from ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class EngineSettings:
    """How the engine runs a task (the task's own config maps onto these)."""

    epochs: int
    patience: int = 0  # stop after this many epochs without a better `monitor` (0: never)
    monitor: str | None = None  # key of task.evaluate()'s dict that defines "best" (None: no best.pt)
    mode: str = "max"  # "max" or "min": which direction of `monitor` is better
    time_budget_min: float = 0.0  # safety net: stop after this many minutes of training (0: no limit)
    seed: int | None = 0  # seed_everything(seed) before task.build_model(); None: the caller seeded
    grad_clip: float | None = None  # max gradient norm (None: no clipping)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise InputError(f"epochs must be ≥ 0, got {self.epochs}")
        if self.patience < 0:
            raise InputError(f"patience must be ≥ 0, got {self.patience}")
        if self.mode not in ("max", "min"):
            raise InputError(f"mode must be 'max' or 'min', got '{self.mode}'")


class Task(ABC):
    """What a model family's training defines; everything else is the engine's.

    Required: :attr:`model_tag`, :meth:`build_model`, :meth:`model_config`, :meth:`optimizer`,
    :meth:`train_batches`, :meth:`loss`. The rest have defaults.
    """

    model_tag: ClassVar[str]  # the checkpoint's "model" tag; load_model dispatches on it

    @abstractmethod
    def build_model(self) -> torch.nn.Module:
        """The network to train (called after seeding)."""

    @abstractmethod
    def model_config(self, model: torch.nn.Module) -> dict:
        """Plain keyword arguments that rebuild ``model`` through the registry's builder for :attr:`model_tag`."""

    @abstractmethod
    def optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        ...

    def scheduler(self, optimizer: torch.optim.Optimizer) -> Any | None:
        """A learning-rate scheduler stepped after every batch, or ``None``."""
        return None

    def on_epoch_start(self, epoch: int, optimizer: torch.optim.Optimizer) -> None:
        """Called before epoch ``epoch`` (1-based), e.g. to set a step schedule's learning rate."""

    def before_epochs(self, run: "Run") -> None:
        """A phase before the first epoch (e.g. a warm-up); ``run.save_last()`` checkpoints it for resume.
        Called on every start and resume: it must do nothing when its work is already done."""

    @abstractmethod
    def train_batches(self, epoch: int) -> Iterable[Any]:
        """The batches of epoch ``epoch``, on the model's device."""

    def steps_per_epoch(self) -> int | None:
        """Batches per epoch, for progress (``None``: unknown)."""
        return None

    @abstractmethod
    def loss(self, model: torch.nn.Module, batch: Any) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
        """The loss of one batch; optionally with named parts (floats), averaged over the epoch in the history."""

    def evaluate(self, model: torch.nn.Module, epoch: int) -> dict[str, float]:
        """Validation metrics after epoch ``epoch`` (plain floats); ``{}`` when there is no validation set."""
        return {}

    def state_dict(self) -> dict:
        """Task state to checkpoint for an exact resume (tensors and plain values)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        ...


@dataclass
class Run:
    """A run in progress, as the task's hooks see it."""

    engine: "Engine"
    task: Task
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any | None
    state: dict
    log: Log
    progress: Progress | None
    t_start: float

    def save_last(self) -> None:
        self.engine._save_last(self)


class Engine:
    """Runs a :class:`Task`. ``out_dir`` ``None``: no checkpoints (in-memory training, e.g. inside a benchmark)."""

    def __init__(self, settings: EngineSettings, out_dir: str | Path | None = None, config: dict | None = None,
                 log: Log = print, progress: Progress | None = None) -> None:
        self.settings = settings
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.config = plain(config or {})
        self.log = log
        self.progress = progress

    @property
    def last_path(self) -> Path | None:
        return self.out_dir / "last.pt" if self.out_dir is not None else None

    def fit(self, task: Task, resume: bool = False) -> tuple[torch.nn.Module, dict]:
        """Train ``task``; returns the model (in eval mode, last weights) and the run state (``epoch``, ``best``,
        ``best_epoch``, ``history``, ``train_seconds``, ``stopped``)."""
        s = self.settings
        if s.seed is not None:
            seed_everything(s.seed)
        model = task.build_model().to(s.device)
        opt = task.optimizer(model)
        sched = task.scheduler(opt)
        state: dict = {"epoch": 0, "best": None, "best_epoch": 0, "history": [], "train_seconds": 0.0,
                       "stopped": None}
        if resume:
            state = self._resume(task, model, opt, sched, state)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        run = Run(self, task, model, opt, sched, state, self.log, self.progress,
                  time.perf_counter() - state["train_seconds"])
        task.before_epochs(run)
        while state["epoch"] < s.epochs and state["stopped"] is None:
            self._epoch(run)
        return model.eval(), state

    # -- one epoch ------------------------------------------------------------------------------------------
    def _epoch(self, run: Run) -> None:
        s, task, model, opt, state = self.settings, run.task, run.model, run.optimizer, run.state
        epoch = state["epoch"] + 1
        task.on_epoch_start(epoch, opt)
        model.train()
        steps = task.steps_per_epoch()
        sums: dict[str, float] = {}
        n = 0
        for step, batch in enumerate(task.train_batches(epoch)):
            out = task.loss(model, batch)
            loss, parts = out if isinstance(out, tuple) else (out, {})
            opt.zero_grad()
            loss.backward()
            if s.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            opt.step()
            if run.scheduler is not None:
                run.scheduler.step()
            n += 1
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if run.progress and steps:
                run.progress(step + 1, steps)
        metrics = plain(task.evaluate(model, epoch))
        state["train_seconds"] = time.perf_counter() - run.t_start
        entry = {"epoch": epoch, **{k: v / max(n, 1) for k, v in sums.items()}, **metrics,
                 "seconds": state["train_seconds"]}
        state["history"].append(entry)
        state["epoch"] = epoch
        improved = False
        if s.monitor is not None:
            if s.monitor not in metrics:
                raise KeyError(f"task.evaluate() gave {sorted(metrics)}, not the monitored '{s.monitor}'")
            value = float(metrics[s.monitor])
            best = state["best"]
            improved = best is None or (value > best if s.mode == "max" else value < best)
            if improved:
                state["best"], state["best_epoch"] = value, epoch
                self._save_best(run)
        if s.monitor is not None and s.patience and epoch - state["best_epoch"] >= s.patience:
            state["stopped"] = f"early stop: no better {s.monitor} for {s.patience} epochs"
        elif s.time_budget_min and state["train_seconds"] >= s.time_budget_min * 60 and epoch < s.epochs:
            state["stopped"] = (f"time budget of {s.time_budget_min:g} min reached after epoch {epoch} of "
                                f"{s.epochs}")
        if state["stopped"]:
            entry["stopped"] = state["stopped"]
        self._save_last(run)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in entry.items()
                          if k not in ("epoch", "seconds", "stopped") and isinstance(v, float)
                          and (k == "loss" or k in metrics))
        run.log(f"epoch {epoch}: {shown}{' (best)' if improved else ''}, {state['train_seconds'] / 60:.1f} min")
        if state["stopped"]:
            run.log(state["stopped"])

    # -- checkpoints ----------------------------------------------------------------------------------------
    def _base(self, run: Run) -> dict:
        return {"model": run.task.model_tag, "model_config": plain(run.task.model_config(run.model)),
                "state_dict": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
                "config": self.config, "history": plain(run.state["history"])}

    def _save_best(self, run: Run) -> None:
        if self.out_dir is None:
            return
        st = run.state
        last = st["history"][-1] if st["history"] else {}
        save_checkpoint(self.out_dir / "best.pt", {**self._base(run), "epoch": st["epoch"],
                                                   "metrics": {k: v for k, v in last.items() if k != "epoch"}})

    def _save_last(self, run: Run) -> None:
        if self.out_dir is None:
            return
        st = run.state
        st["train_seconds"] = time.perf_counter() - run.t_start
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.device(self.settings.device).type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        save_checkpoint(self.last_path, {
            **self._base(run), "epoch": st["epoch"], "best": st["best"], "best_epoch": st["best_epoch"],
            "train_seconds": st["train_seconds"], "stopped": st["stopped"],
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
            "rng": rng, "task": run.task.state_dict()})

    def _resume(self, task: Task, model: torch.nn.Module, opt, sched, state: dict) -> dict:
        last = self.last_path
        if last is None:
            raise InputError("resume needs an output folder holding last.pt")
        if not last.is_file():
            raise InputError(f"--resume: no checkpoint '{last}' to resume from")
        ck = read_checkpoint(last, task.model_tag)
        if "optimizer" not in ck:
            raise InputError(f"--resume: '{last}' holds no resume state (is it a best.pt copied there?)")
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None and ck.get("scheduler") is not None:
            sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"]["torch"])
        if "cuda" in ck["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])
        task.load_state_dict(ck.get("task") or {})
        state = {"epoch": ck["epoch"], "best": ck["best"], "best_epoch": ck["best_epoch"],
                 "history": list(ck["history"]), "train_seconds": ck["train_seconds"], "stopped": None}
        self.log(f"resumed from {last} after epoch {state['epoch']}")
        return state
