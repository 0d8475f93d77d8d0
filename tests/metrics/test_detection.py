import numpy as np
import pytest

from smartclass.errors import InputError
from smartclass.metrics.detection import average_precision, box_iou, coco_map, mean_average_precision


def test_iou_pairwise():
    a = np.array([[0, 0, 10, 10], [0, 0, 5, 5]])
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10]])
    iou = box_iou(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 1.0], [0.0, 0.25]])


def test_ap_hand_computed():
    # one image, two GT; predictions (score order): TP, FP, TP → P = 1, 1/2, 2/3 ; R = .5, .5, 1
    gts = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 0]}]
    preds = [{"boxes": [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], "scores": [0.9, 0.8, 0.7],
              "labels": [0, 0, 0]}]
    ap = mean_average_precision(preds, gts, num_classes=1)["map"]
    assert ap == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert average_precision(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(ap)


def test_perfect_detections_give_map_one_and_duplicates_are_false_positives():
    gts = [{"boxes": [[0, 0, 10, 10]], "labels": [1]}]
    perfect = [{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [1]}]
    assert coco_map(perfect, gts, num_classes=2) == pytest.approx(1.0)
    dup = [{"boxes": [[0, 0, 10, 10], [0, 0, 10, 10]], "scores": [0.9, 0.8], "labels": [1, 1]}]
    assert mean_average_precision(dup, gts, 2)["map"] == pytest.approx(1.0)  # the duplicate comes after recall 1


def test_bad_boxes():
    with pytest.raises(InputError, match="x2 >= x1"):
        box_iou([[10, 0, 0, 10]], [[0, 0, 1, 1]])
