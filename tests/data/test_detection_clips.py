"""The clip detection items of paper 000's clip detectors: shapes, boxes scaled to the input, key-frame labels,
camera-frame joints, caching arrays, the SO(3) batch and errors."""

from __future__ import annotations

import numpy as np
import pytest

from smartclass.data.detection_clips import ClipItems, clip_items, key_frames, skeleton_batch
from smartclass.errors import DataError
from smartclass.labels import COARSE_CLASSES
from smartclass.layouts import UPPER_BODY_17
from smartclass.synth.config import SynthConfig
from smartclass.synth.generator import render_clip


@pytest.fixture(scope="module")
def clip():
    return render_clip(SynthConfig(width=160, height=120, students=3, frames=9, fps=1.5, vocabulary="coarse",
                                   conditions=("normal",)), 0)


def test_key_frames():
    assert key_frames(12, 7, 2) == [7, 9, 11]
    assert key_frames(7, 7, 3) == [6]
    assert key_frames(12, 7, 1) == [6, 7, 8, 9, 10, 11]
    with pytest.raises(DataError, match="shorter than the 7 frames"):
        key_frames(5, 7)
    with pytest.raises(DataError, match=">= 1"):
        key_frames(9, 7, 0)


def test_items_shapes_boxes_labels_and_joints(clip):
    items = clip_items([clip], length=7, size=(60, 40), key_stride=2)
    assert len(items) == 2 and items.frames.shape == (2, 7, 40, 60, 3) and items.frames.dtype == np.uint8
    assert items.size == (60, 40) and items.class_names == COARSE_CLASSES
    assert items.ids == ["train-0-6", "train-0-8"]
    for i, key in enumerate((6, 8)):
        frames, boxes, labels, joints = items.item(i)
        truth = np.array([s.boxes["rgb"][key] for s in clip.students], np.float32)
        keep = ((truth[:, 2:] - truth[:, :2]) >= 2).all(1)
        np.testing.assert_allclose(boxes, truth[keep] * [60 / 160, 40 / 120, 60 / 160, 40 / 120], rtol=1e-6)
        assert (boxes[:, 2] <= 60).all() and (boxes[:, 3] <= 40).all()
        np.testing.assert_array_equal(labels, [s.coarse[key] for s, k in zip(clip.students, keep) if k])
        assert joints.shape == (len(boxes), 7, UPPER_BODY_17.num_node, 3)
        assert (joints[..., 2] > 0).all()  # camera frame: every joint in front of the camera
        # the item's last frame is the key frame, resized
        assert frames.shape == (7, 40, 60, 3)
    assert items.class_counts().sum() == len(items.labels)


def test_items_without_skeletons_and_round_trip(clip):
    items = clip_items([clip, clip], length=7, size=(30, 20), key_stride=3, skeletons=False)
    assert items.joints.shape[2] == 0 and len(items) == 2
    back = ClipItems.from_arrays(items.to_arrays())
    for a, b in zip(items.to_arrays().values(), back.to_arrays().values()):
        np.testing.assert_array_equal(a, b)
    sub = items.subset([1])
    assert len(sub) == 1 and np.array_equal(sub.boxes, items.boxes[items.rows(1)])
    assert skeleton_batch([sub.boxes], [sub.joints]) is None


def test_skeleton_batch_pads_and_centres():
    boxes = [np.array([[0, 0, 10, 20]], np.float32), np.array([[10, 10, 20, 20], [30, 0, 40, 10]], np.float32),
             np.zeros((0, 4), np.float32)]
    joints = [np.ones((1, 7, 17, 3), np.float32), np.full((2, 7, 17, 3), 2, np.float32), np.zeros((0, 7, 17, 3))]
    sk = skeleton_batch(boxes, joints)
    assert sk["joints"].shape == (3, 2, 7, 17, 3)
    np.testing.assert_array_equal(sk["valid"], [[True, False], [True, True], [False, False]])
    np.testing.assert_allclose(sk["centres"][1], [[15, 15], [35, 5]])
    assert sk["joints"][0, 1].sum() == 0 and sk["joints"][1, 1].min() == 2
