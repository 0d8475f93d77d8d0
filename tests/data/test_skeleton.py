import pickle
from pathlib import Path

import numpy as np
import pytest

from smartclass.data.skeleton import (
    load_msr_action3d, load_pyskl, load_utkinect, overlapping_segments, read_msr_action3d, read_ntu_skeleton,
    read_utkinect_labels,
)
from smartclass.errors import DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "skeleton"


def test_utkinect_round_trip(tmp_path, write_utkinect):
    samples = load_utkinect(write_utkinect(tmp_path))
    assert len(samples) == 4  # the NaN action is skipped
    assert samples[0].keypoint.shape == (1, 40, 20, 3) and samples[0].layout == "kinect_v1_20"
    assert {s.subject for s in samples} == {1, 2}
    np.testing.assert_array_equal(samples[0].meta["frames"], np.arange(1, 41))  # the recorded frame numbers
    np.testing.assert_array_equal(samples[1].meta["frames"], np.arange(41, 81))


def test_utkinect_truncated_line_names_file_and_line(tmp_path, write_utkinect):
    write_utkinect(tmp_path)
    f = tmp_path / "joints_s01_e01.txt"
    lines = f.read_text().splitlines()
    lines[6] = lines[6][: len(lines[6]) // 2]
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"joints_s01_e01\.txt:7: expected 61 numbers"):
        load_utkinect(tmp_path)


def test_utkinect_unknown_action_is_named(tmp_path):
    (tmp_path / "actionLabel.txt").write_text("s01_e01\ndance: 1 10\n")
    with pytest.raises(DataError, match=r"actionLabel\.txt:2: unknown action 'dance'"):
        read_utkinect_labels(tmp_path / "actionLabel.txt")


def test_overlapping_utkinect_segments_are_named_and_shared_boundaries_are_not():
    labels = {"s01_e01": {"walk": (1, 40), "sitDown": (40, 80), "push": (100, 300), "throw": (150, 170),
                          "carry": None},
              "s02_e01": {"pull": (10, 50), "push": (45, 60)}}
    assert overlapping_segments(labels) == ["s01_e01: push 100–300 overlaps throw 150–170",
                                            "s02_e01: pull 10–50 overlaps push 45–60"]


@pytest.mark.skipif(not (SHARED / "utkinect").is_dir(), reason="UTKinect (../shared/data) not present")
def test_real_utkinect_label_file_has_three_overlaps_and_the_modified_one_none():
    overlaps = overlapping_segments(read_utkinect_labels(SHARED / "utkinect" / "actionLabel.txt"))
    assert [o.split(":")[0] for o in overlaps] == ["s03_e01", "s09_e01", "s10_e02"]
    assert overlapping_segments(read_utkinect_labels(SHARED / "utkinect" / "actionLabel_modified.txt")) == []


def test_msr_action3d_reader_and_truncation(tmp_path, write_msr):
    rng = np.random.default_rng(0)
    s = read_msr_action3d(write_msr(tmp_path / "a05_s03_e02_skeleton3D.txt", 7, rng))
    assert s.keypoint.shape == (1, 7, 20, 3) and s.label == 4 and s.subject == 3 and s.score.shape == (1, 7, 20)
    bad = tmp_path / "a01_s01_e01_skeleton3D.txt"
    bad.write_text("\n".join(["0 0 0 1"] * 25))
    with pytest.raises(DataError, match="a01_s01_e01_skeleton3D.txt.*truncated"):
        read_msr_action3d(bad)
    with pytest.raises(DataError, match="aXX_sYY_eZZ"):
        read_msr_action3d(tmp_path / "whatever.txt")


def test_msr_action3d_bad_number_names_line(tmp_path, write_msr):
    f = write_msr(tmp_path / "a01_s01_e01_skeleton3D.txt", 2, np.random.default_rng(1))
    lines = f.read_text().splitlines()
    lines[12] = "0.1 abc 0.3 1"
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"skeleton3D\.txt:13: expected numbers"):
        load_msr_action3d(tmp_path)


def _ntu_text(frames: int, bodies: int) -> str:
    out = [str(frames)]
    for _ in range(frames):
        out.append(str(bodies))
        for b in range(bodies):
            out.append(f"7200000{b} 0 1 1 1 1 0 0.1 0.2 2")
            out.append("25")
            out += ["0.1 0.2 3.0 100 200 300 400 0 0 0 0 2"] * 25
    return "\n".join(out) + "\n"


def test_ntu_reader_and_truncation(tmp_path):
    f = tmp_path / "S001C002P003R002A013.skeleton"
    f.write_text(_ntu_text(3, 2))
    s = read_ntu_skeleton(f)
    assert s.keypoint.shape == (2, 3, 25, 3) and s.label == 12 and s.subject == 3
    np.testing.assert_allclose(s.keypoint[0, 0, 0], [0.1, 0.2, 3.0], rtol=1e-6)
    f.write_text("\n".join(_ntu_text(3, 1).splitlines()[:20]))
    with pytest.raises(DataError, match="S001C002P003R002A013.skeleton.*truncated"):
        read_ntu_skeleton(f)


def test_pyskl_pickle(tmp_path):
    ann = {"frame_dir": "x", "label": 3, "keypoint": np.zeros((1, 5, 17, 2)), "total_frames": 5}
    p = tmp_path / "a.pkl"
    p.write_bytes(pickle.dumps({"split": {"train": ["x"]}, "annotations": [ann]}))
    samples, split = load_pyskl(p, layout="upper_body_17")
    assert samples[0].keypoint.shape == (1, 5, 17, 2) and split == {"train": ["x"]}
    p.write_bytes(pickle.dumps({"annotations": [{"label": 1}]}))
    with pytest.raises(DataError, match="has no 'keypoint'"):
        load_pyskl(p)
    p.write_bytes(b"garbage")
    with pytest.raises(DataError, match="could not be read"):
        load_pyskl(p)


@pytest.mark.skipif(not (SHARED / "utkinect").is_dir(), reason="UTKinect (../shared/data) not present")
def test_real_utkinect_loads_all_labelled_segments():
    samples = load_utkinect(SHARED / "utkinect")
    assert len(samples) == 199 and len({s.subject for s in samples}) == 10
    assert {s.label for s in samples} == set(range(10))


@pytest.mark.skipif(not (SHARED / "msraction3d-sample").is_dir(), reason="MSR Action3D sample not present")
def test_real_msr_action3d_sample_loads():
    samples = load_msr_action3d(SHARED / "msraction3d-sample")
    assert [s.label for s in samples] == [0, 9, 19]
    assert all(s.keypoint.shape[1:] == (s.total_frames, 20, 3) for s in samples)


class _CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: a file appearing means code from the pickle ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pyskl_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path):
    planted = tmp_path / "planted.txt"
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"annotations": [], "x": _CreatesAFile(planted)}))
    with pytest.raises(DataError, match=r"evil\.pkl' refers to '(builtins|io)\.open', which is not plain data.*refused"):
        load_pyskl(p)
    assert not planted.exists()


def test_pyskl_nan_keypoints_are_refused(tmp_path):
    kp = np.zeros((1, 5, 17, 2))
    kp[0, 2, 3, 1] = np.nan
    p = tmp_path / "a.pkl"
    p.write_bytes(pickle.dumps({"annotations": [{"label": 0, "keypoint": kp}]}))
    with pytest.raises(DataError, match=r"a\.pkl': annotation 0 keypoint holds NaN or inf"):
        load_pyskl(p)


@pytest.mark.parametrize("edit, message", [
    (lambda j, lab: (j.replace("\n5 ", "\n5.5 ", 1), lab), r"joints_s01_e01\.txt:5: frame number 5\.5 is not a whole"),
    (lambda j, lab: ("\n".join(ln if i != 2 else ln.replace(ln.split()[4], "nan") for i, ln in
                               enumerate(j.splitlines())), lab), r"joints_s01_e01\.txt:3: expected finite numbers"),
    (lambda j, lab: (j, lab.replace("sitDown: 41 80", "sitDown: 41 80\nwalk: 81 90", 1)),
     r"actionLabel\.txt:4: action 'walk' appears twice for s01_e01"),
    (lambda j, lab: (j, lab.replace("sitDown: 41 80", "sitDown: 80 41", 1)),
     r"actionLabel\.txt:3: 'sitDown' starts at frame 80 after it ends at 41"),
    (lambda j, lab: (j, lab + "s01_e01\nwalk: 1 5\n"), r"actionLabel\.txt:\d+: sequence 's01_e01' appears twice"),
])
def test_utkinect_bad_values_are_named_by_file_and_line(tmp_path, write_utkinect, edit, message):
    write_utkinect(tmp_path)
    joints, labels = tmp_path / "joints_s01_e01.txt", tmp_path / "actionLabel.txt"
    j, lab = edit(joints.read_text(), labels.read_text())
    joints.write_text(j)
    labels.write_text(lab)
    with pytest.raises(DataError, match=message):
        load_utkinect(tmp_path)


def test_utkinect_label_file_cannot_leave_the_root(tmp_path, write_utkinect):
    write_utkinect(tmp_path)
    for name in ("../actionLabel.txt", "/etc/passwd"):
        with pytest.raises(DataError, match="must be a plain name inside"):
            load_utkinect(tmp_path, name)
