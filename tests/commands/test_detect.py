import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from smartclass.cli import main

_spec = importlib.util.spec_from_file_location(
    "detector_fixtures", Path(__file__).parents[1] / "training" / "detector_fixtures.py")
_fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fx)


@pytest.fixture(scope="module")
def ckpt(tiny_detector):
    return tiny_detector


def test_detect_image_and_folder_writes_all_formats(ckpt, tmp_path):
    root, ck = ckpt
    folder = root / "valid" / "images"
    assert main(["detect", str(folder), "--checkpoint", str(ck), "--out", str(tmp_path / "f"), "--conf", "0.01"]) == 0
    doc = json.loads((tmp_path / "f" / "detections.json").read_text())
    assert doc["classes"] == ["red", "blue"] and len(doc["frames"]) == 6
    assert sorted(p.name for p in (tmp_path / "f").glob("*.jpg")) == [f"{i}.jpg" for i in range(6)]
    assert len(list((tmp_path / "f" / "labels").glob("*.txt"))) == 6
    rows = (tmp_path / "f" / "detections.csv").read_text().splitlines()
    assert rows[0] == "source,frame,x1,y1,x2,y2,score,class,label"
    assert len(rows) - 1 == sum(len(f["detections"]) for f in doc["frames"])
    assert main(["detect", str(folder / "0.png"), "--checkpoint", str(ck), "--out", str(tmp_path / "i")]) == 0
    assert (tmp_path / "i" / "0.jpg").is_file()


def test_detect_video(ckpt, tmp_path):
    root, ck = ckpt
    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (96, 64))
    for i in range(4):
        w.write(cv2.imread(str(root / "valid" / "images" / f"{i}.png")))
    w.release()
    assert main(["detect", str(video), "--checkpoint", str(ck), "--out", str(tmp_path / "o"), "--every", "2"]) == 0
    doc = json.loads((tmp_path / "o" / "detections.json").read_text())
    assert [f["frame"] for f in doc["frames"]] == [0, 2]
    assert (tmp_path / "o" / "v.mp4").stat().st_size > 0


def test_detect_eval_report(ckpt, tmp_path):
    root, ck = ckpt
    out = tmp_path / "r.json"
    assert main(["detect-eval", "--checkpoint", str(ck), "--data", str(root / "valid"), "--format", "yolo",
                 "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert set(rep["per_class"]) == {"red", "blue"} and 0 <= rep["map50"] <= 1 and 0 <= rep["map50_95"] <= rep["map50"]
    assert np.array(rep["confusion_matrix"]["matrix"]).shape == (3, 3) and rep["fps_end_to_end"] > 0
    assert out.with_name("r.pr.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_input_is_one_line_exit_2(ckpt, tmp_path, capsys):
    root, ck = ckpt
    assert main(["detect", str(tmp_path / "nope.jpg"), "--checkpoint", str(ck), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["detect-eval", "--checkpoint", str(ck), "--data", str(root / "valid"), "--format", "voc",
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "--format must be yolo, coco or smartclass" in capsys.readouterr().err
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    (bad / "valid" / "labels" / "0.txt").write_text("5 0.5 0.5 0.1 0.1\n")
    assert main(["detect-eval", "--checkpoint", str(ck), "--data", str(bad / "valid"), "--format", "yolo",
                 "--out", str(tmp_path / "r.json")]) == 2
    assert "0.txt:1: class id 5 is not one of 0..1" in capsys.readouterr().err


def test_train_command_dispatches_on_detector_section(tmp_path):
    (tmp_path / "d").mkdir()
    root = _fx.write_yolo_split(tmp_path / "d")
    cfg = tmp_path / "detector_tiny.yaml"
    cfg.write_text("detector:\n  format: yolo\n")
    args = ["train", "--config", str(cfg), "--out", str(tmp_path / "run"), *_fx.tiny_overrides(root)]
    assert main(args) == 0
    assert {"best.pt", "last.pt", "config.yaml", "history.json"} <= {p.name for p in (tmp_path / "run").iterdir()}


def test_detect_eval_on_coco_layout(ckpt, tmp_path):
    from smartclass.data.detection import load_yolo

    root, ck = ckpt
    ds = load_yolo(root / "valid")
    images, anns = [], []
    for i, s in enumerate(ds.samples):
        images.append({"id": i, "file_name": s.image.name, "width": s.width, "height": s.height})
        for b, c in zip(s.boxes.tolist(), s.labels.tolist()):
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": c + 1,
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    coco = tmp_path / "coco"
    coco.mkdir()
    (coco / "images").symlink_to(root / "valid" / "images")
    (coco / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": 1, "name": "red"}, {"id": 2, "name": "blue"}]}))
    out = tmp_path / "c.json"
    assert main(["detect-eval", "--checkpoint", str(ck), "--data", str(coco), "--format", "coco",
                 "--subset", "heldout", "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["num_images"] == 1 and rep["subset"] == "heldout"
