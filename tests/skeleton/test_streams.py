import numpy as np
import pytest

from smartclass.layouts import KINECT_V1_20
from smartclass.skeleton.so3 import so3_exp
from smartclass.skeleton.streams import make_streams, mirror_sequence, normalise_sequence, resample


def test_streams_shapes_and_bone_of_centre_is_zero():
    kp = np.random.default_rng(0).normal(size=(1, 6, 20, 3)).astype(np.float32)
    s = make_streams(kp, KINECT_V1_20)
    assert s.shape == (1, 9, 6, 20)
    np.testing.assert_allclose(s[0, 3:6, :, KINECT_V1_20.center], 0)  # bone of the root
    np.testing.assert_allclose(s[0, 6:9, -1], 0)  # last motion frame


def test_resample_endpoints_and_normalise_origin():
    kp = np.arange(5, dtype=np.float32)[None, :, None, None] * np.ones((1, 5, 20, 3), np.float32)
    r = resample(kp, 9)
    assert r.shape == (1, 9, 20, 3) and r[0, 0, 0, 0] == 0 and r[0, -1, 0, 0] == 4 and r[0, 1, 0, 0] == 0.5
    n = normalise_sequence(np.random.default_rng(1).normal(size=(1, 4, 20, 3)), KINECT_V1_20)
    np.testing.assert_allclose(n[0, 0, KINECT_V1_20.center], 0, atol=1e-6)


def test_resample_on_recorded_times_spaces_frames_evenly_in_time():
    times = np.array([10, 12, 18, 20, 30])  # uneven skips: rows are not evenly spaced in time
    kp = times[None, :, None, None] * np.ones((1, 5, 20, 3), np.float32)  # each row holds its own time
    r = resample(kp, 11, times=times)
    np.testing.assert_allclose(r[0, :, 0, 0], np.linspace(10, 30, 11), atol=1e-5)
    np.testing.assert_allclose(resample(kp, 5, 0.5, 1.0, times=times)[0, :, 0, 0], np.linspace(20, 30, 5), atol=1e-5)
    even = np.random.default_rng(2).normal(size=(1, 7, 20, 3)).astype(np.float32)
    np.testing.assert_allclose(resample(even, 9, times=np.arange(7) * 4 + 3), resample(even, 9), atol=1e-6)
    with pytest.raises(ValueError, match="strictly increasing"):
        resample(kp, 4, times=np.array([10, 12, 12, 20, 30]))
    with pytest.raises(ValueError, match="5 strictly increasing values, got shape"):
        resample(kp, 4, times=np.arange(4))



def test_so3_stream_is_view_invariant():
    rng = np.random.default_rng(3)
    kp = rng.normal(size=(1, 5, 20, 3)).astype(np.float32)
    moved = (kp @ so3_exp(rng.normal(size=3)).T.astype(np.float32) + 2.0).astype(np.float32)
    a = make_streams(kp, KINECT_V1_20, ("so3",))
    assert a.shape == (1, 3, 5, 20)
    np.testing.assert_allclose(make_streams(moved, KINECT_V1_20, ("so3",)), a, atol=1e-4)


def test_align_turns_the_clips_left_right_direction_onto_x_and_removes_yaw():
    rng = np.random.default_rng(4)
    kp = rng.normal(size=(1, 6, 20, 3))
    a = normalise_sequence(kp, KINECT_V1_20, align=True)
    lr = np.zeros(3)
    for l, r in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        d = a[0, :, KINECT_V1_20.index(r)] - a[0, :, KINECT_V1_20.index(l)]
        lr += (d / np.linalg.norm(d[:, [0, 2]], axis=-1, keepdims=True)).sum(0)
    assert lr[0] > 0 and abs(lr[2]) < 1e-4
    yaw = 1.1
    R = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    np.testing.assert_allclose(normalise_sequence(kp @ R.T + 1.5, KINECT_V1_20, align=True), a, atol=1e-5)


def test_align_is_not_thrown_by_one_bad_frame():
    # a body facing the camera squarely for 20 frames; its first frame's hips are tracked 80° off
    rng = np.random.default_rng(7)
    kp = np.zeros((1, 20, 20, 3))
    for name, x in (("left_hip", -1), ("right_hip", 1), ("left_shoulder", -1.2), ("right_shoulder", 1.2)):
        kp[0, :, KINECT_V1_20.index(name), 0] = x
    kp += rng.normal(scale=0.02, size=kp.shape)
    kp[0, 0, KINECT_V1_20.index("right_hip")] = [np.cos(1.4), 0, np.sin(1.4)]
    a = normalise_sequence(kp, KINECT_V1_20, align=True)
    d = a[0, 1:, KINECT_V1_20.index("right_shoulder")] - a[0, 1:, KINECT_V1_20.index("left_shoulder")]
    assert np.degrees(np.abs(np.arctan2(d[:, 2], d[:, 0]))).max() < 10


def test_mirror_swaps_sides_negates_x_and_is_an_involution():
    kp = np.random.default_rng(8).normal(size=(1, 5, 20, 3)).astype(np.float32)
    m = mirror_sequence(kp, KINECT_V1_20)
    lw, rw = KINECT_V1_20.index("left_wrist"), KINECT_V1_20.index("right_wrist")
    np.testing.assert_allclose(m[..., lw, :], kp[..., rw, :] * np.array([-1, 1, 1], np.float32))
    np.testing.assert_allclose(m[..., 0, :], kp[..., 0, :] * np.array([-1, 1, 1], np.float32))  # hip centre
    np.testing.assert_allclose(mirror_sequence(m, KINECT_V1_20), kp)


def test_bone_motion_is_the_motion_of_the_bones():
    kp = np.random.default_rng(5).normal(size=(1, 6, 20, 3)).astype(np.float32)
    s = make_streams(kp, KINECT_V1_20, ("bone", "bone_motion"))
    np.testing.assert_allclose(s[0, 3:, :-1], np.diff(s[0, :3], axis=1), atol=1e-6)
    np.testing.assert_allclose(s[0, 3:, -1], 0)


def test_local_stream_ignores_the_path_of_the_body():
    rng = np.random.default_rng(6)
    kp = rng.normal(size=(1, 6, 20, 3)).astype(np.float32)
    walk = np.cumsum(rng.normal(size=(1, 6, 1, 3)), axis=1).astype(np.float32)  # a different translation per frame
    a = make_streams(kp, KINECT_V1_20, ("local",))
    np.testing.assert_allclose(make_streams(kp + walk, KINECT_V1_20, ("local",)), a, atol=1e-5)
    np.testing.assert_allclose(a[0, :, :, KINECT_V1_20.center], 0)


def test_velocity_is_motion_per_recorded_frame():
    t = np.linspace(0, 1, 8, dtype=np.float32)
    path = np.random.default_rng(7).normal(size=(1, 1, 20, 3)).astype(np.float32)
    kp = path * t[None, :, None, None] ** 2  # one path, accelerating
    motion = make_streams(kp, KINECT_V1_20, ("motion",))
    np.testing.assert_allclose(make_streams(kp, KINECT_V1_20, ("velocity",)), motion, atol=1e-6)
    # the same path recorded over four times as many frames: same motion per row, a quarter of the velocity
    np.testing.assert_allclose(make_streams(kp, KINECT_V1_20, ("velocity",), step=4.0), motion / 4, atol=1e-6)
    with pytest.raises(ValueError, match="step: expected the positive number"):
        make_streams(kp, KINECT_V1_20, ("velocity",), step=0.0)
