import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from smartclass.config import load_config
from smartclass.errors import ConfigError, InputError
from smartclass.inference import load_model
from smartclass.training.detector import DetectorTask, load_datasets, ship_checkpoint, synth_frames, train_detector
from smartclass.training.detector_predict import FrameDetector

_spec = importlib.util.spec_from_file_location("detector_fixtures", Path(__file__).with_name("detector_fixtures.py"))
_fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fx)
tiny_overrides, write_yolo_split = _fx.tiny_overrides, _fx.write_yolo_split


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = write_yolo_split(tmp_path_factory.mktemp("yolo"))
    cfg = load_config(None, tiny_overrides(root))
    out = tmp_path_factory.mktemp("run")
    model, state = train_detector(cfg, out, log=lambda s: None)
    return root, cfg, out, state


def test_task_batches_anchors_and_weights(tmp_path):
    root = write_yolo_split(tmp_path)
    cfg = load_config(None, tiny_overrides(root) + ["detector.class_weight_power=1", "detector.train_crop=32"]).detector
    train, val = load_datasets(cfg)
    task = DetectorTask(cfg, train, val, log=lambda s: None)
    assert [len(a) for a in task.anchors] == [2, 2, 2]
    areas = [w * h for level in task.anchors for w, h in level]
    assert areas == sorted(areas)  # smallest anchors at the finest stride
    a, b = task.epoch_indices(3), task.epoch_indices(3)
    assert len(a) == task.steps * cfg.batch_size and np.array_equal(a, b)
    x, targets = next(iter(task.train_batches(1)))
    assert x.shape == (2, 3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert all(t["boxes"].shape[1] == 4 and len(t["boxes"]) == len(t["labels"]) for t in targets)
    w = np.array(task.class_weights())
    counts = train.class_counts()
    assert w.mean() == pytest.approx(1.0) and (w[np.argmin(counts)] >= w[np.argmax(counts)])


def test_training_checkpoint_ships_and_loads(trained, tmp_path):
    root, cfg, out, state = trained
    assert state["epoch"] == 1 and {"map50", "map50_95", "loss"} <= set(state["history"][0])
    shipped = ship_checkpoint(out / "best.pt", tmp_path / "d.pt", box_kind="head")
    model, info = load_model(shipped, expected="detector")
    assert info["class_names"] == ["red", "blue"] and info["input_size"] == [64, 64] and info["box_kind"] == "head"
    assert info["model_config"]["anchors"] and info["model_config"]["pretrained"] is False
    sd = torch.load(shipped, weights_only=True)["state_dict"]
    assert all(v.dtype != torch.float32 for v in sd.values())  # fp16 on disk
    full, _ = load_model(out / "best.pt")
    x = torch.rand(1, 3, 64, 64)
    ref, half = full(x), model(x)
    assert all(torch.allclose(r, h, atol=0.15) for r, h in zip(ref, half))  # fp16 rounding only


def test_frame_detector_maps_boxes_to_frame_pixels(trained):
    root, cfg, out, _ = trained
    det = FrameDetector.from_checkpoint(out / "best.pt", conf=0.0)
    frames = [np.zeros((64, 96, 3), np.uint8), np.zeros((128, 80, 3), np.uint8)]
    res = det.detect(frames)
    assert len(res) == 2
    for r, f in zip(res, frames):
        assert r["boxes"].dtype == np.float32 and len(r["boxes"]) == len(r["scores"]) == len(r["labels"])
        if len(r["boxes"]):
            assert (r["boxes"][:, 2] <= f.shape[1]).all() and (r["boxes"][:, 3] <= f.shape[0]).all()
    with pytest.raises(InputError, match="uint8 RGB"):
        det.detect([np.zeros((10, 10), np.uint8)])


def test_config_errors(tmp_path):
    root = write_yolo_split(tmp_path)
    bad = load_config(None, tiny_overrides(root) + ["detector.input_width=50"]).detector
    train, val = load_datasets(bad)
    with pytest.raises(ConfigError, match="multiples of 32"):
        DetectorTask(bad, train, val, log=lambda s: None)
    with pytest.raises(ConfigError, match="detector.data and detector.val_data"):
        load_datasets(load_config(None, ["detector.format=yolo"]).detector)
    with pytest.raises(ConfigError, match="class_names"):
        load_datasets(load_config(None, tiny_overrides(root) + ["detector.class_names=[a,b]"]).detector)


def test_synth_frames_coarse_boxes():
    cfg = load_config(None, ["synth.width=96", "synth.height=64", "synth.students=2"]).synth
    ds = synth_frames(cfg, "val", 1, 2, 6.0)
    assert len(ds) == 2 and len(ds.class_names) == 8
    img, boxes, labels = ds.item(0)
    assert img.shape == (64, 96, 3) and len(boxes) == len(labels) >= 1
    assert (boxes[:, 2:] > boxes[:, :2]).all() and labels.max() < 8
