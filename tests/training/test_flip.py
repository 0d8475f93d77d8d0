"""Horizontal-flip augmentation of recogniser batches."""

import numpy as np
import torch

from smartclass.layouts import KINECT_V1_20, UPPER_BODY_17
from smartclass.models.keypoints import heatmap_targets
from smartclass.training.recognizer import random_flip


def test_mirror_swaps_left_and_right_joints_only():
    m = UPPER_BODY_17.mirror()
    assert UPPER_BODY_17.joints[m[UPPER_BODY_17.index("left_wrist")]] == "right_wrist"
    assert m[UPPER_BODY_17.index("nose")] == UPPER_BODY_17.index("nose")
    assert np.array_equal(m[m], np.arange(17))  # an involution
    k = KINECT_V1_20.mirror()
    assert KINECT_V1_20.joints[k[KINECT_V1_20.index("right_foot")]] == "left_foot"


def _batch(n=4, t=3, size=12):
    g = torch.Generator().manual_seed(0)
    return {"rgb": torch.rand(n, t, 3, size, size, generator=g), "rgb_clean": torch.rand(n, t, 3, size, size, generator=g),
            "depth": torch.rand(n, t, 1, size, size, generator=g), "thermal": None,
            "keypoints": torch.cat([torch.rand(n, t, 17, 2, generator=g), torch.ones(n, t, 17, 1)], -1),
            "label": torch.arange(n)}


def test_flip_mirrors_images_and_keypoints_together():
    b = _batch()
    f = random_flip(b, p=1.0)
    assert torch.equal(f["rgb"], b["rgb"].flip(-1)) and torch.equal(f["depth"], b["depth"].flip(-1))
    assert f["thermal"] is None and torch.equal(f["label"], b["label"])
    # the heatmap target of a flipped keypoint is the mirrored target of its mirror joint
    kp, fkp = b["keypoints"][:, 0], f["keypoints"][:, 0]
    t0, _ = heatmap_targets(kp, 12)
    t1, _ = heatmap_targets(fkp, 12)
    assert torch.allclose(t1, t0[:, torch.from_numpy(UPPER_BODY_17.mirror())].flip(-1), atol=1e-6)
    twice = random_flip(f, p=1.0)
    assert torch.allclose(twice["keypoints"], b["keypoints"]) and torch.equal(twice["rgb"], b["rgb"])


def test_flip_probability_zero_and_per_sample_choice():
    b = _batch(n=64, t=1, size=4)
    assert random_flip(b, p=0.0) is b
    torch.manual_seed(1)
    f = random_flip(b, p=0.5)
    flipped = torch.tensor([not torch.equal(f["rgb"][i], b["rgb"][i]) for i in range(64)])
    assert 10 < int(flipped.sum()) < 54  # some of each
    for i in range(64):  # image and keypoints of a sample flip together
        assert torch.equal(f["keypoints"][i], b["keypoints"][i]) != bool(flipped[i])


def test_flip_works_on_single_frames():
    b = {"rgb": torch.rand(2, 3, 8, 8), "depth": None, "thermal": None, "keypoints": torch.rand(2, 17, 3)}
    f = random_flip(b, p=1.0)
    assert torch.equal(f["rgb"], b["rgb"].flip(-1)) and f["keypoints"].shape == (2, 17, 3)


def test_flip_tta_averages_the_probabilities_of_a_clip_and_its_mirror():
    from smartclass.models.recognizer import TrimodalRecognizer
    from smartclass.models.recognizer_config import RecognizerConfig
    from smartclass.training.recognizer import predict

    torch.manual_seed(0)
    model = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16)))
    n, t, s = 3, 3, 24
    data = {"rgb": torch.randint(0, 256, (n, t, 3, s, s), dtype=torch.uint8), "depth": torch.rand(n, t, 1, s, s).half(),
            "thermal": torch.rand(n, t, 1, s, s).half(), "label": torch.zeros(n, dtype=torch.long),
            "keypoints": torch.cat([torch.rand(n, t, 17, 2), torch.full((n, t, 17, 1), 2.0)], -1),
            "condition": torch.zeros(n, dtype=torch.long), "has_depth": torch.ones(n, dtype=torch.bool),
            "has_thermal": torch.ones(n, dtype=torch.bool)}
    data["rgb_clean"] = data["rgb"]
    mirrored = random_flip(data, p=1.0)
    expected = ((predict(model, data).softmax(1) + predict(model, mirrored).softmax(1)) / 2).log()
    assert torch.allclose(predict(model, data, flip=True), expected, atol=1e-5)
    assert not torch.equal(predict(model, data), predict(model, mirrored))  # the mirror is a new view
