import numpy as np
import pytest

from smartclass.layouts import KINECT_V1_20, UPPER_BODY_17
from smartclass.skeleton.so3 import (
    joint_rotations, relative_rotations, rotation_between, so3_exp, so3_features, so3_log,
)


def _random_rotation(rng):
    return so3_exp(rng.normal(size=3))


def test_exp_log_round_trip_including_near_pi():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(100, 3))
    w *= (rng.uniform(0, np.pi - 1e-3, size=100) / np.linalg.norm(w, axis=1))[:, None]
    np.testing.assert_allclose(so3_log(so3_exp(w)), w, atol=1e-6)
    R = so3_exp(w)
    np.testing.assert_allclose(R @ np.swapaxes(R, -1, -2), np.broadcast_to(np.eye(3), R.shape), atol=1e-12)
    near_pi = np.array([0.0, 0.0, np.pi - 1e-9])
    np.testing.assert_allclose(np.abs(so3_log(so3_exp(near_pi))), np.abs(near_pi), atol=1e-5)


def test_known_rotation():
    R = so3_exp(np.array([0, 0, np.pi / 2]))  # 90° about z takes x to y
    np.testing.assert_allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rotation_between(np.array([1.0, 0, 0]), np.array([0, 1.0, 0])), [0, 0, np.pi / 2])


@pytest.mark.parametrize("layout", [KINECT_V1_20, UPPER_BODY_17])
def test_features_invariant_to_global_rotation_and_translation(layout):
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(4, layout.num_node, 3))
    moved = seq @ _random_rotation(rng).T + rng.normal(size=3) * 5
    np.testing.assert_allclose(so3_features(moved, layout), so3_features(seq, layout), atol=1e-4)
    b = len(layout.inward)
    assert so3_features(seq, layout).shape == (4, b * (b - 1) * 3)


def test_features_change_when_the_pose_changes():
    rng = np.random.default_rng(2)
    pose = rng.normal(size=(KINECT_V1_20.num_node, 3))
    bent = pose.copy()
    bent[KINECT_V1_20.index("left_hand")] += [0.3, 0.2, 0.0]
    assert not np.allclose(relative_rotations(pose, KINECT_V1_20), relative_rotations(bent, KINECT_V1_20), atol=1e-3)


@pytest.mark.parametrize("layout", [KINECT_V1_20, UPPER_BODY_17])
def test_joint_rotations_invariant_and_sensitive(layout):
    rng = np.random.default_rng(5)
    seq = rng.normal(size=(3, layout.num_node, 3))
    f = joint_rotations(seq, layout)
    assert f.shape == (3, layout.num_node, 3)
    np.testing.assert_allclose(f[:, layout.center], 0)
    moved = seq @ _random_rotation(rng).T - 4.0
    np.testing.assert_allclose(joint_rotations(moved, layout), f, atol=1e-4)
    bent = seq.copy()
    elbow = layout.index("left_elbow")
    bent[:, elbow] += 0.5
    changed = np.abs(joint_rotations(bent, layout) - f).max(axis=(0, 2)) > 1e-3
    assert changed[elbow]  # the bone ending at the moved joint turns
    assert not changed[layout.index("right_elbow")]  # the other arm does not


def test_joint_rotation_of_a_straight_limb_is_zero():
    from smartclass.layouts import KINECT_V1_20 as L
    seq = np.random.default_rng(6).normal(size=(L.num_node, 3))
    sh, el, wr = L.index("left_shoulder"), L.index("left_elbow"), L.index("left_wrist")
    seq[wr] = seq[el] + 0.7 * (seq[el] - seq[sh])  # forearm continues the upper arm
    assert np.linalg.norm(joint_rotations(seq, L)[wr]) < 1e-6
