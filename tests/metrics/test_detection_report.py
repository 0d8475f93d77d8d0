import json

import numpy as np
import pytest

from smartclass.metrics.detection import confusion_matrix, detection_report, plot_pr_curves


def _case():
    # image 0: two class-0 GT; preds TP(0.9), FP(0.8, elsewhere), TP(0.7) at a slightly shifted box
    # image 1: one class-1 GT predicted as class 0 (0.6), and nothing of class 1
    gts = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 0]},
           {"boxes": [[0, 0, 10, 10]], "labels": [1]}]
    preds = [{"boxes": [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], "scores": [0.9, 0.8, 0.2],
              "labels": [0, 0, 0]},
             {"boxes": [[0, 0, 10, 10]], "scores": [0.6], "labels": [0]}]
    return preds, gts


def test_report_hand_computed():
    preds, gts = _case()
    rep = detection_report(preds, gts, ["a", "b", "c"], conf_threshold=0.5)
    a = rep["per_class"]["a"]
    # class a, score order: TP .9, FP .8, FP .6 (other image, class b GT), TP .2 → P 1, .5, 1/3, .5; R .5, .5, .5, 1
    assert a["ap50"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)
    # at IoU ≥ 0.55 the shifted box (IoU 10/11 = 0.909) still matches; above 0.909 it does not
    n_match = sum(t <= 10 / 11 for t in np.round(np.arange(0.5, 0.96, 0.05), 2))
    assert a["ap50_95"] == pytest.approx((n_match * 0.75 + (10 - n_match) * 0.5) / 10)
    # at score ≥ .5: 3 predictions of a, 1 TP; recall 1/2
    assert (a["precision"], a["recall"], a["num_pred"], a["num_gt"]) == (pytest.approx(1 / 3), 0.5, 3, 2)
    b = rep["per_class"]["b"]
    assert b["ap50"] == 0.0 and b["recall"] == 0.0 and b["precision"] == 0.0
    c = rep["per_class"]["c"]
    assert c["ap50"] is None and c["reason"]
    assert rep["map50"] == pytest.approx((0.75 + 0.0) / 2)
    assert rep["recall"] == pytest.approx(0.25)
    # classes merged: TP .9, FP .8, TP .6 (the class-b object), TP .2 → P 1, 1/2, 2/3, 3/4; R 1/3, 1/3, 2/3, 1
    assert rep["agnostic_ap50"] == pytest.approx(1 / 3 + 1 / 3 * 0.75 + 1 / 3 * 0.75)
    json.dumps(rep, allow_nan=False)


def test_confusion_matrix_hand_computed():
    preds, gts = _case()
    cm = confusion_matrix(preds, gts, 3, conf_threshold=0.5)
    expected = np.zeros((4, 4), int)
    expected[0, 0] = 1  # GT a matched by a
    expected[0, 3] = 1  # GT a whose only prediction scored 0.2: missed
    expected[1, 0] = 1  # GT b predicted as a
    expected[3, 0] = 1  # the prediction at (50, 50): background
    np.testing.assert_array_equal(cm, expected)
    assert cm[:3].sum() == 3  # every GT counted once


def test_pr_curve_png(tmp_path):
    preds, gts = _case()
    rep = detection_report(preds, gts, ["a", "b"])
    path = plot_pr_curves(rep["pr_curves"], str(tmp_path / "pr.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
