import numpy as np
import pytest

from smartclass.errors import InputError
from smartclass.metrics.classification import (
    classification_report, confusion_matrix, macro_f1, per_class_f1, plot_confusion_matrix, top_k_accuracy,
)


def test_top_k():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    targets = np.array([2, 0, 1])
    assert top_k_accuracy(scores, targets, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy(scores, targets, 2) == pytest.approx(1.0)


def test_confusion_matrix_keeps_all_classes():
    cm = confusion_matrix([0, 0, 1], [0, 1, 1], num_classes=5)
    assert cm.shape == (5, 5)
    assert cm[0, 0] == 1 and cm[1, 0] == 1 and cm[1, 1] == 1 and cm.sum() == 3


def test_f1_hand_computed():
    pred, true = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    # class 0: TP 1, FP 1, FN 1 → 0.5; class 1: TP 2, FP 0, FN 1 → 0.8; class 2: TP 0, FP 1 → 0
    np.testing.assert_allclose(per_class_f1(pred, true, 4)[:3], [0.5, 0.8, 0.0])
    assert np.isnan(per_class_f1(pred, true, 4)[3])
    assert macro_f1(pred, true, 4) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_report_and_plot(tmp_path):
    rep = classification_report(np.eye(3)[[0, 1, 2, 1]], [0, 1, 2, 2], ["a", "b", "c"])
    assert rep["top1"] == pytest.approx(0.75) and len(rep["confusion_matrix"]) == 3
    png = plot_confusion_matrix(rep["confusion_matrix"], ["a", "b", "c"], tmp_path / "cm.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_out_of_range_labels_are_rejected():
    with pytest.raises(InputError, match="outside"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)
