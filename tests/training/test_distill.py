"""Self-distillation for missing modalities (train.distill_from): the loss, the frozen teacher, config errors."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from smartclass.cli import main
from smartclass.config import load_config, to_dict
from smartclass.errors import ConfigError, InputError
from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.training.recognizer import RecognizerTask, distillation_loss, load_teacher, presence, unpack

# the training tests' tiny one-epoch run, a module-scoped fixture: (root, overrides), its checkpoint root/mmfg/best.pt
_spec = importlib.util.spec_from_file_location("recognizer_training_tests",
                                               Path(__file__).with_name("test_recognizer_training.py"))
_training_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_training_tests)
run = _training_tests.run


def test_distillation_loss_reference_values():
    s = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    assert float(distillation_loss(s, s.clone(), 2.0)) == pytest.approx(0.0, abs=1e-7)
    t = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    for temp in (1.0, 3.0):
        p, q = (t / temp).softmax(1), (s / temp).softmax(1)
        expected = float((p * (p.log() - q.log())).sum(1).mean() * temp ** 2)
        assert float(distillation_loss(s, t, temp)) == pytest.approx(expected, rel=1e-5)
    # gradient only to the student
    s.requires_grad_(True)
    t.requires_grad_(True)
    distillation_loss(s, t, 2.0).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0 and t.grad is None


def test_teacher_is_frozen_and_unchanged_by_a_distilled_run(run, tmp_path):
    root, args = run
    base = root / "mmfg" / "best.pt"
    before = torch.load(base, weights_only=True)["state_dict"]
    out = tmp_path / "kd"
    assert main(["train", "--out", str(out), "train.epochs=1", "train.modality_dropout=0.5", f"train.init_from={base}",
                 f"train.distill_from={base}", "train.distill_temperature=3"] + args) == 0
    h = json.loads((out / "history.json").read_text())[0]
    assert h["distillation"] >= 0 and torch.isfinite(torch.tensor(h["loss"])) and "val_macro_f1_setups" in h
    assert all(torch.equal(v, torch.load(base, weights_only=True)["state_dict"][k]) for k, v in before.items())
    assert "distill_from: " + str(base) in (out / "config.yaml").read_text()


def test_distilled_loss_steps_keep_the_teacher_frozen_and_zero_kl_against_itself(run):
    root, args = run
    base = root / "mmfg" / "best.pt"
    cfg = load_config(None, args + [f"train.distill_from={base}", "train.modality_dropout=0.5"])
    from smartclass.training.recognizer import init_weights, synth_data

    quiet = lambda m: None  # noqa: E731
    train = synth_data(cfg.synth, "train", 6, cfg.train, quiet)
    student = TrimodalRecognizer(cfg.model)
    init_weights(student, base)
    task = RecognizerTask(student, train, train, cfg.train)
    teacher = task.teacher
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    # the student equal to the teacher, both in eval mode, on full input: the KL term is zero
    b = unpack(train, torch.arange(3))
    student.eval()
    with torch.no_grad():
        s = student(b["rgb"], b["depth"], b["thermal"], present=presence(b)).logits
        t = teacher(b["rgb"], b["depth"], b["thermal"], present=presence(b)).logits
    assert float(distillation_loss(s, t, 2.0)) == pytest.approx(0.0, abs=1e-6)
    # two optimiser steps: finite losses with a distillation part; only the student moves
    opt = task.optimizer(student)
    student.train()
    for batch in list(task.train_batches(1))[:2]:
        loss, parts = task.loss(student, batch)
        assert torch.isfinite(loss) and parts["distillation"] >= 0
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in frozen.items())
    assert not teacher.training


def test_distill_config_errors(run, tmp_path, capsys):
    root, args = run
    for bad, says in (("train.distill_weight=0", "train.distill_weight': expected > 0"),
                      ("train.distill_temperature=-1", "train.distill_temperature': expected > 0"),
                      ("train.distill_temperature=.nan", "train.distill_temperature': expected a finite number")):
        with pytest.raises(ConfigError, match=says):
            load_config(None, [bad])
    assert main(["train", "--out", str(tmp_path / "a"), f"train.distill_from={tmp_path / 'none.pt'}"] + args) == 2
    err = capsys.readouterr().err
    assert "train.distill_from" in err and "does not exist" in err and len(err.strip().splitlines()) == 1
    # a teacher of other classes (the coarse vocabulary) is refused in one line before any rendering
    other = tmp_path / "coarse.pt"
    model = TrimodalRecognizer(RecognizerConfig(num_classes=3, gcn_channels=(16, 16)))
    from smartclass.checkpoint import save_checkpoint

    save_checkpoint(other, {"model": "mmfg", "model_config": to_dict(model.cfg), "state_dict": model.state_dict(),
                            "config": {"train": {"vocabulary": "coarse"}}, "history": []})
    with pytest.raises(InputError, match="train.distill_from: checkpoint .* predicts 3 classes of vocabulary 'coarse'"):
        load_teacher(other, 10, "fine")
