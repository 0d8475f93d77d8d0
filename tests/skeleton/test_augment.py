import numpy as np

from smartclass.layouts import KINECT_V1_20
from smartclass.skeleton.augment import random_augment


def test_augment_keeps_shape_and_no_op_at_zero_strength():
    kp = np.random.default_rng(0).normal(size=(1, 10, 20, 3)).astype(np.float32)
    out, keep = random_augment(kp, np.random.default_rng(1))
    assert out.shape == kp.shape and not np.allclose(out, kp) and 0.8 <= keep < 1.0
    same, keep = random_augment(kp, np.random.default_rng(1), max_angle=0.0, scale=0.0, min_keep=1.0)
    np.testing.assert_allclose(same, kp, atol=1e-6)
    assert keep == 1.0


def test_augment_rotation_is_about_the_vertical_axis():
    kp = np.random.default_rng(2).normal(size=(1, 6, KINECT_V1_20.num_node, 3)).astype(np.float32)
    out, _ = random_augment(kp, np.random.default_rng(3), max_angle=1.0, scale=0.0, min_keep=1.0)
    np.testing.assert_allclose(out[..., 1], kp[..., 1], atol=1e-6)  # heights unchanged
    np.testing.assert_allclose(np.linalg.norm(out[..., [0, 2]], axis=-1), np.linalg.norm(kp[..., [0, 2]], axis=-1),
                               atol=1e-5)
