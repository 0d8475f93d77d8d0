import pytest
import torch

from smartclass.errors import ConfigError, InputError
from smartclass.models.detector.head import DetectionHead, YoloHead

ANCHORS = [[16.0, 16.0], [24.0, 32.0]]


def test_head_shapes_and_decode():
    head = YoloHead(8, num_classes=3, anchors=ANCHORS, stride=8)
    raw = head(torch.randn(2, 8, 4, 5))
    assert raw.shape == (2, 2 * 8, 4, 5)
    d = head.decode(raw)
    assert d["boxes"].shape == (2, 40, 4) and d["conf"].shape == (2, 40) and d["probs"].shape == (2, 40, 3)
    assert torch.allclose(d["probs"].sum(-1), torch.ones(2, 40))
    assert torch.all(d["boxes"][..., 2:] > d["boxes"][..., :2])


def test_postprocess_finds_planted_box_and_nms_removes_duplicate():
    head = DetectionHead([4], num_classes=2, anchors=[ANCHORS], strides=[8])
    raw = torch.full((1, 2 * 7, 4, 4), -10.0)
    v = raw.view(1, 2, 7, 4, 4)
    v[0, :, :4] = 0.0
    v[0, 0, 4, 1, 2] = 10.0  # confident anchor 0 at row 1, col 2, class 1
    v[0, 0, 6, 1, 2] = 10.0
    v[0, 1, 4, 1, 2] = 5.0  # a second, overlapping anchor in the same cell (class 1)
    v[0, 1, 6, 1, 2] = 10.0
    out = head.postprocess([raw], (32, 32), conf=0.5, iou=0.3)
    assert len(out) == 1
    assert out[0]["labels"].tolist() == [1]
    assert torch.allclose(out[0]["boxes"][0], torch.tensor([12.0, 4.0, 28.0, 20.0]))
    assert out[0]["scores"][0] > 0.99


def test_head_config_errors():
    with pytest.raises(ConfigError, match="anchors"):
        YoloHead(8, 3, [[1.0, -2.0]], 8)
    with pytest.raises(ConfigError, match="one anchor set per level"):
        DetectionHead([8, 8], 3, [ANCHORS], [8, 16])
    with pytest.raises(InputError, match="2 levels"):
        DetectionHead([8, 8], 3, [ANCHORS, ANCHORS], [8, 16])([torch.zeros(1, 8, 2, 2)])
