import pytest
import torch

from smartclass.errors import InputError
from smartclass.ops.boxes import (
    batched_nms, box_iou, clip_boxes, cxcywh_to_xyxy, decode_level, level_view, make_grid, wh_iou, xyxy_to_cxcywh,
    yolo_decode, yolo_encode,
)


def random_boxes(n, gen, size=100.0):
    xy = torch.rand(n, 2, generator=gen) * size
    wh = torch.rand(n, 2, generator=gen) * size / 3 + 1
    return torch.cat([xy, xy + wh], 1)


def reference_nms(boxes, scores, labels, thr):
    """Textbook greedy NMS, one box at a time."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        if all(not (labels[i] == labels[j] and float(box_iou(boxes[i:i + 1], boxes[j:j + 1])) > thr) for j in keep):
            keep.append(i)
    return keep


def test_conversions_round_trip():
    b = random_boxes(20, torch.Generator().manual_seed(0))
    assert torch.allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(b)), b, atol=1e-5)
    assert torch.allclose(xyxy_to_cxcywh(torch.tensor([[0.0, 0, 4, 2]])), torch.tensor([[2.0, 1, 4, 2]]))


def test_box_iou_values():
    a = torch.tensor([[0.0, 0, 2, 2], [0, 0, 1, 1]])
    b = torch.tensor([[1.0, 1, 3, 3], [0, 0, 2, 2], [5, 5, 5, 5]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    assert torch.allclose(iou, torch.tensor([[1 / 7, 1.0, 0.0], [0.0, 0.25, 0.0]]))
    # batched leading dims
    assert box_iou(a[None].repeat(3, 1, 1), b[None].repeat(3, 1, 1)).shape == (3, 2, 3)


def test_wh_iou_is_centred_iou():
    a, b = torch.tensor([[2.0, 4.0]]), torch.tensor([[4.0, 2.0], [2.0, 4.0]])
    assert torch.allclose(wh_iou(a, b), torch.tensor([[4 / 12, 1.0]]))


def test_decode_encode_round_trip():
    gen = torch.Generator().manual_seed(1)
    grid = make_grid(3, 4)  # (3, 4, 2)
    anchors = torch.tensor([1.5, 2.0])
    boxes = torch.cat([grid + 0.05 + 0.9 * torch.rand(3, 4, 2, generator=gen),
                       0.2 + 3 * torch.rand(3, 4, 2, generator=gen)], -1)
    assert torch.allclose(yolo_decode(yolo_encode(boxes, grid, anchors), grid, anchors), boxes, atol=1e-4)
    t = torch.zeros(1, 4)
    assert torch.allclose(yolo_decode(t, torch.tensor([2.0, 3.0]), anchors), torch.tensor([[2.5, 3.5, 1.5, 2.0]]))


def test_level_view_and_decode_level():
    raw = torch.zeros(1, 2 * (3 + 5), 2, 3)
    v = level_view(raw, 2, 3)
    assert v.shape == (1, 2, 2, 3, 8)
    boxes = decode_level(v, torch.tensor([[16.0, 16.0], [32.0, 8.0]]), stride=8)
    # anchor 0, cell (row 1, col 2): centre ((2 + 0.5)·8, (1 + 0.5)·8) = (20, 12), size 16×16
    assert torch.allclose(boxes[0, 0, 1, 2], torch.tensor([12.0, 4.0, 28.0, 20.0]))
    with pytest.raises(InputError, match="A·\\(C\\+5\\)"):
        level_view(raw, 3, 3)


def test_clip_boxes():
    b = torch.tensor([[-5.0, 3, 120, 50]])
    assert torch.equal(clip_boxes(b, (40, 100)), torch.tensor([[0.0, 3, 100, 40]]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_nms_matches_reference(seed):
    gen = torch.Generator().manual_seed(seed)
    boxes = random_boxes(120, gen, size=60)
    scores = torch.rand(120, generator=gen)
    labels = torch.randint(0, 3, (120,), generator=gen)
    keep = batched_nms(boxes, scores, labels, 0.4)
    assert keep.tolist() == reference_nms(boxes, scores, labels, 0.4)
    single = batched_nms(boxes, scores, None, 0.4)
    assert single.tolist() == reference_nms(boxes, scores, torch.zeros(120, dtype=torch.long), 0.4)
    assert len(single) < len(keep)


def test_batched_nms_chain_and_empty():
    # A suppresses B, B would have suppressed C: greedy keeps A and C
    boxes = torch.tensor([[0.0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert batched_nms(boxes, scores, None, 0.3).tolist() == [0, 2]
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), None, 0.5).numel() == 0
    with pytest.raises(InputError, match="scores"):
        batched_nms(boxes, scores[:2], None, 0.5)
