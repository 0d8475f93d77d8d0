"""The training engine on a tiny task: learning, checkpoints, bit-exact kill-and-resume, best, stops."""

import pytest
import torch

from smartclass.checkpoint import read_checkpoint
from smartclass.errors import InputError
from smartclass.models.registry import register_model
from smartclass.training.engine import Engine, EngineSettings, Task


def build_tiny(cfg: dict) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(cfg["inputs"], cfg["hidden"]), torch.nn.ReLU(),
                               torch.nn.Dropout(0.2), torch.nn.Linear(cfg["hidden"], cfg["classes"]))


register_model("tiny-test", build_tiny)


class TinyTask(Task):
    """Two Gaussian blobs; random batch order, dropout and a one-cycle schedule all draw on the RNG, so an
    inexact resume would show."""

    model_tag = "tiny-test"

    def __init__(self, n: int = 64, batch: int = 8, epochs: int = 4, val_score=None):
        g = torch.Generator().manual_seed(1)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 4, generator=g) + self.y[:, None] * 2.0
        self.batch, self.epochs, self.val_score = batch, epochs, val_score
        self.seen = 0  # task state: samples seen, checkpointed

    def build_model(self):
        return build_tiny(self.model_config(None))

    def model_config(self, model):
        return {"inputs": 4, "hidden": 8, "classes": 2}

    def optimizer(self, model):
        return torch.optim.AdamW(model.parameters(), lr=5e-2)

    def scheduler(self, opt):
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-2, total_steps=self.epochs * self.steps_per_epoch())

    def steps_per_epoch(self):
        return len(self.y) // self.batch

    def train_batches(self, epoch):
        for idx in torch.randperm(len(self.y)).split(self.batch):
            self.seen += len(idx)
            yield self.x[idx], self.y[idx]

    def loss(self, model, batch):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(model(x), y)
        return loss, {"ce": float(loss.detach())}

    def evaluate(self, model, epoch):
        model.eval()
        with torch.no_grad():
            acc = float((model(self.x).argmax(1) == self.y).float().mean())
        return {"acc": acc if self.val_score is None else self.val_score(epoch)}

    def state_dict(self):
        return {"seen": self.seen}

    def load_state_dict(self, state):
        self.seen = state["seen"]


def settings(**kw):
    return EngineSettings(**{"epochs": 4, "monitor": "acc", "seed": 3, "grad_clip": 5.0, **kw})


def test_engine_learns_and_writes_plain_checkpoints(tmp_path):
    model, state = Engine(settings(), tmp_path, config={"lr": 0.01}, log=lambda m: None).fit(TinyTask())
    assert state["epoch"] == 4 and [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]
    assert state["history"][-1]["loss"] < state["history"][0]["loss"] and state["history"][-1]["acc"] > 0.9
    last = read_checkpoint(tmp_path / "last.pt", "tiny-test")  # weights_only=True
    best = read_checkpoint(tmp_path / "best.pt")
    assert last["model_config"] == {"inputs": 4, "hidden": 8, "classes": 2} and last["config"] == {"lr": 0.01}
    assert all(type(v) is float for h in last["history"] for k, v in h.items() if k != "epoch")
    assert best["epoch"] == state["best_epoch"] and "optimizer" not in best and last["task"]["seen"] == 4 * 64
    assert not model.training


def test_kill_and_resume_is_bit_exact(tmp_path):
    whole, _ = Engine(settings(), tmp_path / "whole", log=lambda m: None).fit(TinyTask())
    Engine(settings(epochs=2), tmp_path / "cut", log=lambda m: None).fit(TinyTask())  # "killed" after epoch 2
    resumed, state = Engine(settings(seed=99), tmp_path / "cut", log=lambda m: None).fit(TinyTask(), resume=True)
    a, b = whole.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]
    assert read_checkpoint(tmp_path / "cut" / "last.pt")["task"]["seen"] == 4 * 64


def test_early_stopping_keeps_the_best_and_records_why(tmp_path):
    scores = {1: 0.5, 2: 0.9, 3: 0.8, 4: 0.7, 5: 0.6, 6: 0.95}
    _, state = Engine(settings(epochs=6, patience=2), tmp_path, log=lambda m: None).fit(
        TinyTask(epochs=6, val_score=scores.get))
    assert state["epoch"] == 4 and state["best_epoch"] == 2 and state["best"] == 0.9
    assert "early stop" in state["stopped"] and state["history"][-1]["stopped"] == state["stopped"]
    assert read_checkpoint(tmp_path / "best.pt")["epoch"] == 2


def test_time_budget_is_a_safety_net_recorded_in_the_history(tmp_path):
    _, state = Engine(settings(time_budget_min=1e-9), tmp_path, log=lambda m: None).fit(TinyTask())
    assert state["epoch"] == 1 and state["history"][-1]["stopped"].startswith("time budget")
    _, free = Engine(settings(), None, log=lambda m: None).fit(TinyTask())  # no budget, no folder: no stop
    assert free["stopped"] is None and free["epoch"] == 4


def test_resume_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no checkpoint .*last.pt"):
        Engine(settings(), tmp_path / "none", log=lambda m: None).fit(TinyTask(), resume=True)
    torch.save({"model": "mmfg", "model_config": {}, "state_dict": {}}, tmp_path / "last.pt")
    with pytest.raises(InputError, match="holds a 'mmfg' model, expected 'tiny-test'"):
        Engine(settings(), tmp_path, log=lambda m: None).fit(TinyTask(), resume=True)
