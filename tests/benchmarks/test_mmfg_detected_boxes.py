"""benchmarks/mmfg_detected_boxes.py: matching detections to students, filling missed frames, carrying boxes
into the other cameras, the paired difference, and a tiny end-to-end run on a rendered clip."""

import dataclasses

import numpy as np
import pytest


@pytest.fixture
def mod(load_benchmark):
    return load_benchmark("mmfg_detected_boxes")


def test_match_students_hungarian_with_iou_cut(mod):
    gt = np.array([[[0, 0, 10, 10], [0, 0, 10, 10]], [[20, 0, 30, 10], [20, 0, 30, 10]]], float)  # (K=2, T=2, 4)
    frame0 = np.array([[21, 0, 31, 10], [0, 0, 10, 10], [100, 100, 110, 110]], float)
    frame1 = np.array([[5, 0, 15, 10]])  # IoU 1/3 with student 0: below 0.5, no match
    boxes, ious = mod.match_students(gt, [frame0, frame1])
    assert boxes.shape == (2, 2, 4) and np.array_equal(boxes[0, 0], [0, 0, 10, 10])
    assert np.array_equal(boxes[1, 0], [21, 0, 31, 10]) and ious[1, 0] == pytest.approx(90 / 110)
    assert np.isnan(boxes[:, 1]).all() and (ious[:, 1] == 0).all()
    _, none = mod.match_students(gt, [np.zeros((0, 4)), np.zeros((0, 4))])
    assert (none == 0).all()


def test_fill_missing_interpolates_and_holds_the_ends(mod):
    b = np.full((5, 4), np.nan)
    b[1] = [0, 0, 10, 10]
    b[3] = [10, 0, 20, 10]
    f = mod.fill_missing(b)
    assert np.array_equal(f[0], b[1]) and np.array_equal(f[4], b[3]) and np.array_equal(f[2], [5, 0, 15, 10])


def test_paired_difference(mod):
    gt = np.array([1, 1, 1, 0, 0, 1, 1, 1], bool)
    det = np.array([1, 0, 0, 1, 0, 1, 1, 1], bool)
    d = mod.paired_difference(gt, det)
    assert d["right_with_gt_only"] == 2 and d["right_with_detected_only"] == 1 and d["points"] == -12.5
    assert d["ci95_points"][0] < -12.5 < d["ci95_points"][1]
    same = mod.paired_difference(gt, gt)
    assert same["points"] == 0 and same["ci95_points"] == [0, 0]


def test_box_errors(mod):
    gt = np.array([[0, 0, 10, 20]] * 4, float)
    det = gt + np.array([[2, 0, 2, 0], [2, 0, 2, 0], [0, 0, 0, 0], [0, 0, 10, 0]], float)  # shifts, one wider
    e = mod.box_errors(np.stack([gt, det], 1), np.array([1.0, 3.0]))
    assert e["corner_error_px"][1] == 1.0 and e["width_ratio"] == [1.0, 1.0, 1.25] and e["centre_shift_x"][1] == 0.2
    assert e["height_ratio"] == [1.0, 1.0, 1.0] and e["ground_truth_size_px"] == [10.0, 20.0]
    assert e["frame_to_frame_centre_move_px"][1] == 2.0


def test_crop_side(mod):
    assert mod.crop_side(np.array([[0, 0, 10, 20], [5, 5, 30, 10]], float)) == 30


def test_detected_track_carries_boxes_through_the_cameras(mod):
    from smartclass.clip import CONDITIONS
    from smartclass.synth.config import SynthConfig
    from smartclass.synth.generator import render_clip

    cfg = dataclasses.replace(SynthConfig(), split="test", seed=0, frames=2, fps=5, students=2, width=160,
                              height=120, num_subjects=10, conditions=tuple(CONDITIONS))
    clip = render_clip(cfg, 2)
    s = clip.students[0]
    same = mod.detected_track(s, s.boxes["rgb"], clip)  # ground-truth RGB boxes: the other cameras' are recovered
    for cam in ("depth", "thermal"):
        assert np.abs(same.boxes[cam] - s.boxes[cam]).max() < 2.0
    shifted = mod.detected_track(s, s.boxes["rgb"] + [8, 0, 8, 0], clip)
    assert np.array_equal(shifted.boxes["rgb"], s.boxes["rgb"] + [8, 0, 8, 0])
    assert (shifted.boxes["depth"][:, 0] > s.boxes["depth"][:, 0] + 1).all()  # moved the same way


def test_cli_rejects_bad_counts(mod, capsys):
    assert mod.main(["--clips", "0", "--normal-clips", "0"]) == 2
    assert "not all 0" in capsys.readouterr().err
    assert mod.main(["--clips", "-1"]) == 2
