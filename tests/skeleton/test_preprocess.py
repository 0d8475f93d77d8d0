import numpy as np
import pytest

from smartclass.layouts import get_layout
from smartclass.skeleton.preprocess import (bone_order, bone_vectors, face_x, hip_centre, rebuild_joints, reference_bone_lengths,
                                            reference_preprocess, swap_yz, valid_frames)

LAYOUT = get_layout("msr_action3d_20")


def standing(rng: np.random.Generator, frames: int = 6) -> np.ndarray:
    """A camera-axes (y up) MSR skeleton: the layout's tree with random bone directions and lengths, placed
    somewhere in front of the camera, shoulders and hips left–right along a random yaw per frame."""
    kp = np.zeros((frames, LAYOUT.num_node, 3))
    for child, parent in bone_order(LAYOUT):
        kp[:, child] = kp[:, parent] + rng.normal(size=(frames, 3)) * rng.uniform(0.1, 0.4)
    return kp + np.array([0.3, 0.1, 2.5])


def test_swap_yz_is_its_own_inverse():
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(swap_yz(x)[:, 1], x[:, 2])
    np.testing.assert_array_equal(swap_yz(swap_yz(x)), x)


def test_bone_order_places_parents_first():
    placed = {hip_centre(LAYOUT)}
    for child, parent in bone_order(LAYOUT):
        assert parent in placed
        placed.add(child)
    assert placed == set(range(LAYOUT.num_node))


def test_hip_at_origin_hip_vector_on_x_and_z_vertical():
    rng = np.random.default_rng(0)
    kp = standing(rng)
    out, keep = reference_preprocess(kp, LAYOUT)
    assert keep.all() and out.shape == kp.shape
    np.testing.assert_allclose(out[:, hip_centre(LAYOUT)], 0.0, atol=1e-6)
    left, right = LAYOUT.index("left_hip"), LAYOUT.index("right_hip")
    d = out[:, right] - out[:, left]
    np.testing.assert_allclose(d[:, 1], 0.0, atol=1e-5)  # ground-plane projection on x …
    assert (d[:, 0] > 0).all()  # … pointing to +x
    # z vertical: the rotation is about z, so each joint's height above the hips is the input's y
    np.testing.assert_allclose(out[..., 2], kp[..., 1] - kp[:, hip_centre(LAYOUT), None, 1], atol=1e-5)


def test_bone_lengths_equal_the_reference_and_directions_are_kept():
    rng = np.random.default_rng(1)
    kp = standing(rng)
    lengths = rng.uniform(0.2, 0.5, len(LAYOUT.inward))
    out, _ = reference_preprocess(kp, LAYOUT, lengths)
    b = bone_order(LAYOUT)
    np.testing.assert_allclose(np.linalg.norm(out[:, b[:, 0]] - out[:, b[:, 1]], axis=-1),
                               np.broadcast_to(lengths, (len(kp), len(b))), rtol=1e-5)
    # without the per-frame rotation only the lengths change: every bone keeps its direction
    unit = lambda x: bone_vectors(x, LAYOUT) / np.linalg.norm(bone_vectors(x, LAYOUT), axis=-1, keepdims=True)  # noqa: E731
    rebuilt, _ = reference_preprocess(kp, LAYOUT, lengths, rotate=False)
    np.testing.assert_allclose(unit(rebuilt), unit(swap_yz(kp)), atol=1e-5)


def test_rebuild_with_measured_lengths_is_identity():
    kp = standing(np.random.default_rng(2))
    lengths = np.linalg.norm(kp[0, bone_order(LAYOUT)[:, 0]] - kp[0, bone_order(LAYOUT)[:, 1]], axis=-1)
    np.testing.assert_allclose(rebuild_joints(kp[:1], LAYOUT, lengths), kp[:1], atol=1e-9)
    with pytest.raises(ValueError, match="lengths"):
        rebuild_joints(kp, LAYOUT, lengths[:3])


def test_zero_frames_and_zero_bones_are_dropped():
    kp = standing(np.random.default_rng(3), frames=5)
    kp[1] = 0.0  # an all-zero frame, as MSR Action3D has
    kp[3, LAYOUT.index("left_hand")] = kp[3, LAYOUT.index("left_wrist")]  # one zero-length bone
    assert valid_frames(kp, LAYOUT).tolist() == [True, False, True, False, True]
    out, keep = reference_preprocess(kp, LAYOUT, reference_bone_lengths([kp], LAYOUT))
    assert keep.tolist() == [True, False, True, False, True] and out.shape[0] == 3
    assert np.isfinite(out).all()


def test_reference_lengths_ignore_invalid_frames():
    kp = standing(np.random.default_rng(4), frames=3)
    kp[1] = 0.0
    b = bone_order(LAYOUT)
    expected = np.linalg.norm(kp[[0, 2]][:, b[:, 0]] - kp[[0, 2]][:, b[:, 1]], axis=-1).mean(0)
    np.testing.assert_allclose(reference_bone_lengths([kp], LAYOUT), expected)
    with pytest.raises(ValueError, match="no sequence"):
        reference_bone_lengths([np.zeros((2, LAYOUT.num_node, 3))], LAYOUT)


def test_face_x_is_a_rotation_about_z():
    kp = swap_yz(standing(np.random.default_rng(5)))
    out = face_x(kp, LAYOUT)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(kp, axis=-1), atol=1e-9)
    np.testing.assert_allclose(out[..., 2], kp[..., 2])


def test_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match=r"\(T, 20, 3\)"):
        reference_preprocess(np.zeros((4, 19, 3)), LAYOUT)


def _msr_dev(root, write_msr, zero_frames=()):
    """MSR Action3D-style files of subjects 1–5, two actions, one episode each (the dev set's subjects)."""
    rng = np.random.default_rng(0)
    for s in range(1, 6):
        for a in (1, 2):
            path = write_msr(root / f"a{a:02d}_s{s:02d}_e01_skeleton3D.txt", 8, rng)
            if (a, s) in zero_frames:  # frames 2 and 3 all zero, as in the real files
                lines = path.read_text().splitlines()
                lines[40:80] = ["0.000000 0.000000 0.000000 0.000000"] * 40
                path.write_text("\n".join(lines) + "\n")
    return root


def test_reference_split_drops_zero_frames_and_returns_camera_axes(tmp_path, write_msr):
    from smartclass.data.skeleton import load_msr_action3d
    from smartclass.skeleton.protocol import reference_split

    samples = load_msr_action3d(_msr_dev(tmp_path, write_msr, zero_frames={(2, 2)}))
    train = [s for s in samples if s.subject % 2]
    test = [s for s in samples if not s.subject % 2]
    new_train, new_test = reference_split(train, test)
    zeroed = next(k for k, s in enumerate(test) if s.name == "a02_s02_e01_skeleton3D")
    assert new_test[zeroed].keypoint.shape == (1, 6, 20, 3)
    assert all(s.keypoint.shape == (1, 8, 20, 3) for k, s in enumerate(new_train + new_test)
               if k != len(new_train) + zeroed)
    kp = new_train[0].keypoint[0]
    np.testing.assert_allclose(kp[:, hip_centre(LAYOUT)], 0, atol=1e-6)
    d = kp[:, LAYOUT.index("right_hip")] - kp[:, LAYOUT.index("left_hip")]
    np.testing.assert_allclose(d[:, 2], 0, atol=1e-5)  # back in camera axes: the hips lie on x, z is depth
    lengths = reference_bone_lengths([s.keypoint[0] for s in train], LAYOUT)
    b = bone_order(LAYOUT)
    np.testing.assert_allclose(np.linalg.norm(kp[:, b[:, 0]] - kp[:, b[:, 1]], axis=-1).mean(0), lengths, rtol=1e-4)
    unturned = reference_split(train, test, rotate=False)[0][0].keypoint[0]  # same skeleton, not turned per frame
    np.testing.assert_allclose(np.linalg.norm(unturned, axis=-1), np.linalg.norm(kp, axis=-1), atol=1e-5)
    assert not np.allclose(unturned, kp, atol=1e-3)


def test_dev_protocol_trains_on_1_3_5_and_tests_on_2_4_with_the_option_recorded(tmp_path, write_msr):
    from smartclass.errors import InputError
    from smartclass.skeleton.protocol import GCNSettings, run_benchmark

    root = _msr_dev(tmp_path, write_msr, zero_frames={(1, 1)})
    res = run_benchmark("msraction3d", str(root), models=("so3-svm",),
                        settings=GCNSettings(preprocess="reference", frames=8))
    assert res["subjects"] == [{"train": [1, 3, 5], "test": [2, 4]}]
    assert res["gcn_settings"]["preprocess"] == "reference" and res["num_samples"] == 10
    assert len(res["models"]["so3-svm"]["per_split"]) == 1
    with pytest.raises(InputError, match="--preprocess must be one of"):
        run_benchmark("msraction3d", str(root), models=("so3-svm",), settings=GCNSettings(preprocess="camera"))


def test_cli_records_the_options_and_names_a_bad_value(tmp_path, write_msr, capsys):
    import json

    from smartclass.cli import main

    (tmp_path / "msr").mkdir()
    root = _msr_dev(tmp_path / "msr", write_msr)
    out = tmp_path / "res.json"
    args = ["skeleton-bench", "--dataset", "msraction3d", "--root", str(root), "--model", "so3-svm"]
    assert main(args + ["--preprocess", "reference", "--svm-dtw", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert "--preprocess reference --svm-dtw --out" in written["command"]  # the command as given
    assert written["results"]["gcn_settings"]["svm_dtw"] is True
    assert main(args + ["--preprocess", "camera"]) == 2
    assert "--preprocess must be one of ['none', 'reference', 'reference-no-rotation'], got 'camera'" in (
        capsys.readouterr().err)
