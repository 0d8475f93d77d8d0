import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from smartclass.data.detection import heldout_image_ids, load_coco, load_detection, load_yolo, yolo_label_text
from smartclass.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def _image(path: Path, w: int = 40, h: int = 30) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 100, np.uint8))


def _yolo(tmp_path: Path, lines: str, yaml_in_parent: bool = True) -> Path:
    split = tmp_path / "train"
    _image(split / "images" / "a.jpg")
    (split / "labels").mkdir(parents=True)
    (split / "labels" / "a.txt").write_text(lines)
    (tmp_path if yaml_in_parent else split).joinpath("data.yaml").write_text("nc: 2\nnames: ['down', 'up']\n")
    return split


def test_yolo_round_trip_to_pixels(tmp_path):
    split = _yolo(tmp_path, "1 0.5 0.5 0.5 0.2\n\n0 0.25 0.5 0.1 0.1\n")
    ds = load_yolo(split)
    assert ds.class_names == ("down", "up") and len(ds) == 1
    img, boxes, labels = ds.item(0)
    assert img.shape == (30, 40, 3) and img.dtype == np.uint8
    np.testing.assert_allclose(boxes, [[10, 12, 30, 18], [8, 13.5, 12, 16.5]], atol=1e-4)
    assert labels.tolist() == [1, 0]
    text = yolo_label_text(boxes, labels, 40, 30)
    assert text.splitlines()[0] == "1 0.500000 0.500000 0.500000 0.200000"


def test_yolo_data_yaml_in_split_and_missing_label_file_means_no_boxes(tmp_path):
    split = _yolo(tmp_path, "", yaml_in_parent=False)
    _image(split / "images" / "b.png")
    ds = load_yolo(split)
    assert [len(s.labels) for s in ds.samples] == [0, 0]


@pytest.mark.parametrize("line, message", [
    ("0 0.5 0.5 0.1\n", r"a.txt:1: expected 'class cx cy w h'"),
    ("0 0.5 x 0.1 0.1\n", r"a.txt:1: fields must be numbers"),
    ("0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n", r"a.txt:2: class id 7 is not one of 0..1"),
    ("1 0.95 0.5 0.2 0.1\n", r"a.txt:1: box .* lies outside the image"),
    ("1 0.5 0.5 0 0.1\n", r"a.txt:1: box must have finite centre and positive size"),
])
def test_yolo_errors_name_file_and_line(tmp_path, line, message):
    split = _yolo(tmp_path, line)
    with pytest.raises(DataError, match=message):
        load_yolo(split)


def test_yolo_label_without_image_and_missing_yaml(tmp_path):
    split = _yolo(tmp_path, "")
    (split / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DataError, match="ghost.txt: no image 'ghost"):
        load_yolo(split)
    (tmp_path / "data.yaml").unlink()
    with pytest.raises(DataError, match="no data.yaml"):
        load_yolo(split)


def _coco(tmp_path: Path, n_images: int = 10, bbox=(2.0, 3.0, 10.0, 5.0), cat: int = 5) -> Path:
    root = tmp_path / "coco"
    images = []
    for i in range(n_images):
        _image(root / "images" / f"{i}.jpg")
        images.append({"id": 100 + i, "file_name": f"{i}.jpg", "width": 40, "height": 30})
    anns = [{"id": 1, "image_id": 100, "category_id": cat, "bbox": list(bbox)},
            {"id": 2, "image_id": 101, "category_id": 9, "bbox": [0, 0, 40, 30]}]
    cats = [{"id": 9, "name": "stand"}, {"id": 5, "name": "write"}]
    (root / "annotations.json").write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return root


def test_coco_loads_maps_categories_by_ascending_id(tmp_path):
    ds = load_coco(_coco(tmp_path))
    assert ds.class_names == ("write", "stand") and len(ds) == 10
    s = {x.image_id: x for x in ds.samples}
    np.testing.assert_allclose(s[100].boxes, [[2, 3, 12, 8]])
    assert s[100].labels.tolist() == [0] and s[101].labels.tolist() == [1]


def test_coco_heldout_fifth_is_deterministic_and_disjoint(tmp_path):
    root = _coco(tmp_path)
    held, train = load_coco(root, "heldout"), load_coco(root, "train")
    assert len(held) == 2 and len(train) == 8
    assert not {s.image_id for s in held.samples} & {s.image_id for s in train.samples}
    assert {s.image_id for s in held.samples} == heldout_image_ids(range(100, 110))
    assert heldout_image_ids(range(100, 110)) == heldout_image_ids(list(range(109, 99, -1)))


@pytest.mark.parametrize("kw, message", [
    ({"bbox": (35.0, 3.0, 10.0, 5.0)}, r"annotations\[0\] \(id 1\): bbox .* outside the 40×30 image"),
    ({"cat": 3}, r"annotations\[0\] \(id 1\): category_id 3 is not one of \[5, 9\]"),
])
def test_coco_errors_name_annotation(tmp_path, kw, message):
    with pytest.raises(DataError, match=message):
        load_coco(_coco(tmp_path, **kw))


def test_coco_missing_image_and_unknown_format(tmp_path):
    root = _coco(tmp_path)
    (root / "images" / "3.jpg").unlink()
    with pytest.raises(DataError, match=r"image '.*3.jpg' \(id 103\) does not exist"):
        load_coco(root)
    with pytest.raises(DataError, match="unknown detection data format 'voc'"):
        load_detection(root, "voc")


@pytest.mark.skipif(not (SHARED / "classroom-cctv").is_dir(), reason="shared classroom-cctv data absent")
def test_classroom_cctv_valid_loads():
    ds = load_yolo(SHARED / "classroom-cctv" / "valid")
    assert ds.class_names == ("down", "lookaround", "phone", "up") and len(ds) == 47
    assert ds.class_counts().sum() == 1155


@pytest.mark.skipif(not (SHARED / "clabehavior").is_dir(), reason="shared clabehavior data absent")
def test_clabehavior_heldout_fifth():
    root = SHARED / "clabehavior" / "train"
    held, train = load_coco(root, "heldout"), load_coco(root, "train")
    assert len(held) == 72 and len(train) == 288 and len(held.class_names) == 7
    assert held.class_counts().sum() + train.class_counts().sum() == 7250


def test_smartclass_clips_as_coarse_detection_frames(tmp_path):
    from smartclass.clipdir import write_clip, write_split_list
    from smartclass.labels import COARSE_CLASSES
    from smartclass.synth.config import SynthConfig
    from smartclass.synth.generator import render_clip

    clip = render_clip(SynthConfig(width=96, height=64, frames=2, students=2, split="test", vocabulary="coarse"), 0)
    write_clip(clip, tmp_path)
    write_split_list(tmp_path, "test")
    ds = load_detection(tmp_path, "smartclass")
    assert ds.class_names == COARSE_CLASSES and len(ds) == 2
    img, boxes, labels = ds.item(1)
    assert img.shape == (64, 96, 3)
    expected = [s.coarse[1] for s in clip.students if (s.boxes["rgb"][1, 2:] - s.boxes["rgb"][1, :2] >= 2).all()]
    assert labels.tolist() == expected
    with pytest.raises(DataError, match="missing split list"):
        load_detection(tmp_path, "smartclass", "val")
