"""benchmarks/detector_clip_synth.py: the paper-accuracy measures of a detection confusion matrix, the
illumination gain, and bad arguments."""

import numpy as np
import pytest

from smartclass.errors import InputError


def test_confusion_accuracies(load_benchmark):
    b = load_benchmark("detector_clip_synth")
    # 2 classes + background; rows truth, last column missed, last row false positives
    cm = np.array([[8, 1, 1],
                   [0, 6, 4],
                   [3, 2, 0]])
    acc = b.confusion_accuracies(cm)
    assert acc["accuracy"] == pytest.approx(14 / 20)
    assert acc["per_class_accuracy"] == pytest.approx([0.8, 0.6])
    assert acc["mean_class_accuracy"] == pytest.approx(0.7)
    assert acc["located_accuracy"] == pytest.approx(14 / 15)
    assert acc["num_missed"] == 5 and acc["num_students"] == 20 and acc["classes_at_or_above_paper"] == 0


def test_gain_transform_darkens_in_8_bit(load_benchmark):
    b = load_benchmark("detector_clip_synth")
    frames = np.array([[[[0, 100, 255]]]], np.uint8)
    assert b.gain_transform(0.5)(frames).tolist() == [[[[0, 50, 128]]]]
    assert b.gain_transform(1.0)(frames) is frames


def test_bad_model_argument(load_benchmark):
    b = load_benchmark("detector_clip_synth")
    with pytest.raises(InputError, match="NAME=CHECKPOINT"):
        b.main(["--model", "paper"])
