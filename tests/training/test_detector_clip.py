"""Training of paper 000's clip detectors through DetectorTask: one step of each arch, the flip augmentation, a
run end to end whose checkpoint loads through load_model (and its shipped fp16 form), and config errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from smartclass.cli import main as cli
from smartclass.config import load_config
from smartclass.data.detection_clips import clip_items
from smartclass.errors import ConfigError, InputError
from smartclass.inference import load_model
from smartclass.layouts import UPPER_BODY_17
from smartclass.models.detector import C3DChannelAttention, MultiScaleCNN, PaperDetector
from smartclass.synth.config import SynthConfig
from smartclass.synth.generator import render_clip
from smartclass.training.detector import ship_checkpoint
from smartclass.training.detector_clip import ClipDetectorTask, flip_item, load_clip_datasets, synth_clip_items
from smartclass.training.detector_predict import FrameDetector

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "detector_synth8_clip.yaml"
TINY = ["threads=1", "synth.width=96", "synth.height=72", "synth.students=2", "detector.synth_train_clips=2",
        "detector.synth_val_clips=1", "detector.synth_frames_per_clip=8", "detector.clip_key_stride=1",
        "detector.epochs=1", "detector.steps_per_epoch=1", "detector.batch_size=2", "detector.warmup_steps=1",
        "detector.fusion_channels=16", "detector.anchors_per_level=3", "train.workers=1"]


@pytest.fixture(scope="module")
def items():
    cfg = SynthConfig(width=160, height=120, students=3, frames=8, fps=1.5, vocabulary="coarse")
    return clip_items([render_clip(cfg, i) for i in range(2)], length=7, size=(60, 40), key_stride=1)


@pytest.mark.parametrize("arch,cls", [("paper", PaperDetector), ("ms_cnn", MultiScaleCNN),
                                      ("3dcca", C3DChannelAttention)])
def test_one_training_step_of_each_arch(items, arch, cls):
    dc = load_config(CONFIG, TINY + [f"detector.arch={arch}"]).detector
    task = ClipDetectorTask(dc, items, items, seed=0, log=lambda s: None)
    torch.manual_seed(0)
    model = task.build_model()
    assert isinstance(model, cls) and len(task.anchors) == 3
    assert (getattr(model, "skeleton", None) is not None) == (arch == "paper")
    opt = task.optimizer(model)
    assert {g["lr"] for g in opt.param_groups} == {dc.lr}  # no pretrained stem: every weight at lr
    assert sum(len(g["params"]) for g in opt.param_groups) == sum(1 for p in model.parameters() if p.requires_grad)
    clips, skeletons, targets = batch = next(iter(task.train_batches(0)))
    assert clips.shape == (2, 7, 3, 40, 60) and 0 <= clips.min() and clips.max() <= 1
    assert (skeletons is not None) == (arch == "paper")
    if skeletons is not None:
        assert skeletons["joints"].shape[2:] == (7, UPPER_BODY_17.num_node, 3)
    before = [p.detach().clone() for p in model.parameters()]
    loss, parts = task.loss(model, batch)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and set(parts) == {"coord", "obj", "noobj", "cls"}
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    metrics = task.evaluate(model, 1)
    assert 0 <= metrics["map50"] <= 1 and "map50_95" in metrics


def test_flip_item_mirrors_frames_boxes_and_joints(items):
    frames, boxes, _, joints = items.item(0)
    f, b, j = flip_item(frames, boxes, joints, UPPER_BODY_17.mirror())
    assert np.array_equal(f[:, :, 0], frames[:, :, -1])
    np.testing.assert_allclose(b[:, [0, 2]], 60 - boxes[:, [2, 0]])
    left, right = UPPER_BODY_17.index("left_wrist"), UPPER_BODY_17.index("right_wrist")
    np.testing.assert_allclose(j[:, :, left], joints[:, :, right] * [-1, 1, 1])
    f2, b2, j2 = flip_item(f, b, j, UPPER_BODY_17.mirror())
    assert np.array_equal(f2, frames) and np.allclose(b2, boxes) and np.allclose(j2, joints)


def test_train_run_checkpoint_loads_and_ships(tmp_path):
    out = tmp_path / "run"
    rc = cli(["train", "--config", str(CONFIG), "--out", str(out), *TINY, f"train.cache_dir={tmp_path / 'cache'}"])
    assert rc in (0, None)
    assert (out / "history.json").is_file() and len(list((tmp_path / "cache").glob("clipdet-*.npz"))) == 2
    model, info = load_model(out / "best.pt", expected="detector")
    assert isinstance(model, PaperDetector) and info["model_config"]["arch"] == "paper"
    assert info["model_config"]["skeleton_layout"] == "upper_body_17" and info["model_config"]["input_size"] == [40, 60]
    shipped = ship_checkpoint(out / "best.pt", tmp_path / "clip.pt", "student")
    small, sinfo = load_model(shipped, expected="detector")
    ck = torch.load(shipped, weights_only=True)
    assert ck["input_size"] == [60, 40] and len(ck["class_names"]) == 8
    x = torch.rand(1, 7, 3, 40, 60)
    model.eval()
    small.eval()
    with torch.no_grad():
        torch.testing.assert_close(small(x)[0], model(x)[0], atol=0.05, rtol=0.02)
    with pytest.raises(InputError, match="is a clip detector"):  # detect / detect-eval take frame detectors
        FrameDetector.from_checkpoint(shipped)


def test_clip_config_errors(tmp_path, items):
    with pytest.raises(ConfigError, match="needs detector.format 'synth'"):
        load_clip_datasets(load_config(CONFIG, TINY + ["detector.format=yolo"]))
    with pytest.raises(ConfigError, match="clip_length 9 exceeds"):
        load_clip_datasets(load_config(CONFIG, TINY + ["detector.clip_length=9"]))
    with pytest.raises(ConfigError, match="at least the model's 7 frames"):
        ClipDetectorTask(load_config(CONFIG, TINY + ["detector.clip_length=5"]).detector, items, items)
    with pytest.raises(ConfigError, match="do not match detector.input_width"):
        ClipDetectorTask(load_config(CONFIG, TINY + ["detector.input_width=64"]).detector, items, items)
    with pytest.raises(ConfigError, match="detector.arch"):
        load_config(CONFIG, ["detector.arch=yolo"])
    assert cli(["train", "--config", str(CONFIG), "--out", str(tmp_path / "bad"), *TINY, "detector.format=coco"]) == 2


def test_synth_clip_items_cache(tmp_path):
    cfg = load_config(CONFIG, TINY)
    a = synth_clip_items(cfg.synth, cfg.detector, "val", 1, tmp_path, log=lambda s: None)
    msgs = []
    b = synth_clip_items(cfg.synth, cfg.detector, "val", 1, tmp_path, log=msgs.append)
    assert msgs and "cached" in msgs[0] and np.array_equal(a.frames, b.frames) and a.ids == b.ids
    assert len(a) == 2 and a.frames.shape[1:] == (7, 40, 60, 3)  # 8 frames, key stride 1: keys 6 and 7
