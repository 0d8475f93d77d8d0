import pytest
import torch

from smartclass.errors import ConfigError, InputError
from smartclass.losses.region import RegionLoss
from smartclass.ops.boxes import make_grid, xyxy_to_cxcywh, yolo_encode

ANCHORS = [[[8.0, 8.0], [16.0, 12.0]], [[32.0, 32.0], [48.0, 64.0]]]
STRIDES = [8, 16]
C = 3


def perfect_raws(targets, n=1, h=8, w=8):
    """Raw outputs that decode exactly to the targets at their responsible anchors, confident nowhere else."""
    raws = [torch.full((n, 2 * (C + 5), h // (s // 8), w // (s // 8)), -8.0) for s in STRIDES]
    for b, t in enumerate(targets):
        for box, lab in zip(t["boxes"], t["labels"]):
            cx, cy, bw, bh = xyxy_to_cxcywh(box).tolist()
            ious = [(min(bw, aw) * min(bh, ah)) / (bw * bh + aw * ah - min(bw, aw) * min(bh, ah))
                    for lv in ANCHORS for aw, ah in lv]
            k = max(range(len(ious)), key=ious.__getitem__)
            lv, a = divmod(k, 2)
            s = STRIDES[lv]
            i, j = int(cx // s), int(cy // s)
            t4 = yolo_encode(torch.tensor([cx / s, cy / s, bw / s, bh / s]), torch.tensor([float(i), float(j)]),
                             torch.tensor(ANCHORS[lv][a]) / s)
            v = raws[lv].view(n, 2, C + 5, *raws[lv].shape[-2:])
            v[b, a, :4, j, i] = t4
            v[b, a, 4, j, i] = 8.0
            v[b, a, 5:, j, i] = -8.0
            v[b, a, 5 + int(lab), j, i] = 8.0
    return raws


TARGETS = [{"boxes": torch.tensor([[10.0, 12.0, 19.0, 21.0], [20.0, 8.0, 60.0, 50.0]]), "labels": torch.tensor([2, 0])}]


def test_perfect_prediction_beats_perturbed():
    loss = RegionLoss(C, ANCHORS, STRIDES, rescore=False)
    raws = perfect_raws(TARGETS)
    good, parts = loss(raws, TARGETS)
    assert parts["num_gt"] == 2 and parts["coord"] < 1e-3 and parts["cls"] < 1e-3
    gen = torch.Generator().manual_seed(0)
    bad, _ = loss([r + 0.5 * torch.randn(r.shape, generator=gen) for r in raws], TARGETS)
    assert good < 0.05 < bad


def test_gradients_flow_and_empty_images():
    loss = RegionLoss(C, ANCHORS, STRIDES)
    raws = [torch.randn(2, 2 * (C + 5), 8, 8, requires_grad=True), torch.randn(2, 2 * (C + 5), 4, 4, requires_grad=True)]
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}
    total, parts = loss(raws, [TARGETS[0], empty])
    total.backward()
    assert all(r.grad is not None and r.grad.abs().sum() > 0 for r in raws)
    total, parts = loss([r.detach() for r in raws], [empty, empty])
    assert parts["num_gt"] == 0 and parts["coord"] == 0 and parts["noobj"] > 0 and torch.isfinite(total)


def test_ignore_mask_zeroes_noobject_for_good_overlaps():
    """A confident prediction overlapping a ground truth with IoU > 0.6 (not the responsible anchor) adds no
    no-object loss."""
    loss = RegionLoss(C, ANCHORS, STRIDES, rescore=False)
    raws = perfect_raws(TARGETS)
    base = loss(raws, TARGETS)[1]["noobj"]
    v = raws[0].view(1, 2, C + 5, 8, 8)
    # anchor 1 (16×12) in the same cell as the 9×9 box at (14.5, 16.5): shrink it to match → IoU > 0.6
    v[0, 1, :4, 2, 1] = yolo_encode(torch.tensor([14.5 / 8, 16.5 / 8, 9 / 8, 9 / 8]), torch.tensor([1.0, 2.0]),
                                    torch.tensor([2.0, 1.5]))
    v[0, 1, 4, 2, 1] = 8.0
    assert loss(raws, TARGETS)[1]["noobj"] == pytest.approx(base, abs=1e-4)
    v[0, 1, :4, 2, 1] = torch.tensor([0.0, 0.0, 2.0, 2.0])  # a large box: IoU < 0.6 → penalised
    assert loss(raws, TARGETS)[1]["noobj"] > base + 0.9


def test_region_loss_errors():
    loss = RegionLoss(C, ANCHORS, STRIDES)
    raws = perfect_raws(TARGETS)
    with pytest.raises(InputError, match="labels must lie"):
        loss(raws, [{"boxes": torch.tensor([[0.0, 0, 5, 5]]), "labels": torch.tensor([3])}])
    with pytest.raises(InputError, match="targets for a batch"):
        loss(raws, TARGETS * 2)
    with pytest.raises(ConfigError, match="class_weights"):
        RegionLoss(C, ANCHORS, STRIDES, class_weights=[1.0, 2.0])


def test_non_square_cells():
    """A (sx, sy) stride (the paper-faithful 4×4 grid on 60×40): a perfect prediction has ~zero coordinate loss."""
    loss = RegionLoss(C, [[[12.0, 18.0]]], [(15.0, 10.0)], rescore=False)
    box = torch.tensor([[20.0, 12.0, 32.0, 30.0]])  # centre (26, 21) → cell (col 1, row 2)
    raw = torch.full((1, C + 5, 4, 4), -8.0)
    raw[0, :4, 2, 1] = yolo_encode(torch.tensor([26 / 15, 21 / 10, 12 / 15, 18 / 10]), torch.tensor([1.0, 2.0]),
                                   torch.tensor([12 / 15, 18 / 10]))
    raw[0, 4, 2, 1] = 8.0
    raw[0, 5 + 1, 2, 1] = 8.0
    _, parts = loss([raw], [{"boxes": box, "labels": torch.tensor([1])}])
    assert parts["coord"] < 1e-6 and parts["obj"] < 1e-3 and parts["cls"] < 1e-3


def test_bce_objectness_option():
    raws = perfect_raws(TARGETS)
    mse = RegionLoss(C, ANCHORS, STRIDES, rescore=False)
    bce = RegionLoss(C, ANCHORS, STRIDES, rescore=False, objectness="bce")
    good = bce(raws, TARGETS)[1]
    assert good["obj"] < 0.01 and good["noobj"] < 0.1
    # an unconfident responsible prediction: BCE's gradient on to is far larger than the squared error's
    weak = [r.clone().requires_grad_(True) for r in raws]
    with torch.no_grad():
        weak[0].view(1, 2, C + 5, 8, 8)[0, 0, 4, 2, 1] = -6.0
    grads = []
    for loss in (mse, bce):
        w = [r.detach().clone().requires_grad_(True) for r in weak]
        loss(w, TARGETS)[0].backward()
        grads.append(w[0].grad.view(1, 2, C + 5, 8, 8)[0, 0, 4, 2, 1].abs())
    assert grads[1] > 10 * grads[0]
    with pytest.raises(ConfigError, match="objectness"):
        RegionLoss(C, ANCHORS, STRIDES, objectness="focal")
