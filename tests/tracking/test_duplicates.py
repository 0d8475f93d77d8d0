"""Duplicate ids on one student are held back (tracking.duplicates)."""

import numpy as np
import pytest

from smartclass.tracking.duplicates import intersection_over_smaller, suppress_duplicates


def test_intersection_over_smaller_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 5, 5], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert intersection_over_smaller(a, b)[0] == pytest.approx([1.0, 0.5, 0.0])


def test_the_weaker_of_two_nested_boxes_is_dropped_and_others_kept():
    boxes = np.array([[0, 0, 10, 20], [1, 1, 9, 12], [30, 0, 40, 20], [31, 2, 41, 22]], float)
    strength = {1: 10.0, 2: 0.5, 3: 1.0, 4: 2.0}.__getitem__
    out = suppress_duplicates(np.array([1, 2, 3, 4]), boxes, strength, 0.8)
    assert out.tolist() == [1, -1, -1, 4]  # 2 inside 1 (weaker); 3 and 4 overlap 0.81 of 3's box, 4 stronger
    assert suppress_duplicates(np.array([1, 2, 3, 4]), boxes, strength, 1.0).tolist() == [1, 2, 3, 4]  # off
    # unconfirmed boxes (−1) neither suppress nor get suppressed; side-by-side students are untouched
    assert suppress_duplicates(np.array([-1, 2, 3, -1]), boxes, strength, 0.8).tolist() == [-1, 2, 3, -1]
