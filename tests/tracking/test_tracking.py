import numpy as np
import pytest

from smartclass.errors import ConfigError
from smartclass.tracking import IoUTracker, box_iou, make_tracker, nms
from smartclass.tracking.reentry import ReentryLinker


def test_box_iou_and_nms_reference_values():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0, 1.0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    keep = nms(np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 0, 30, 10]], float), np.array([0.5, 0.9, 0.7]), 0.5)
    assert keep.tolist() == [1, 2]


def _walk(tracker, steps, gap=(), fps=5.0):
    """Two students moving right 2 px per step; no detections during the steps in ``gap``."""
    ids = []
    for j in range(steps):
        boxes = np.array([[10 + 2 * j, 10, 50 + 2 * j, 90], [200 - 2 * j, 10, 240 - 2 * j, 90]], float)
        if j in gap:
            boxes = boxes[:0]
        ids.append(tracker.update(boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes), int), j / fps))
    return ids


@pytest.mark.parametrize("name", ["bytetrack", "iou"])
def test_ids_stable_while_students_move(name):
    ids = _walk(make_tracker(name, fps=5.0), 12)
    later = np.array(ids[2:])
    assert (later >= 0).all() and (later == later[0]).all() and later[0][0] != later[0][1]


def test_bytetrack_keeps_ids_through_a_one_second_occlusion_the_iou_baseline_does_not():
    gap = set(range(5, 10))  # 1 s without detections at 5 steps a second
    bt = _walk(make_tracker("bytetrack", fps=5.0, lost_seconds=3.0), 16, gap)
    assert (bt[12] == bt[3]).all()
    iou = _walk(IoUTracker(max_age_s=0.5), 16, gap)
    assert not (iou[12] == iou[3]).any()


def test_unknown_tracker_is_a_config_error():
    with pytest.raises(ConfigError, match="--tracker"):
        make_tracker("kalman9000", fps=5.0)


def _student_frame(colour, box, size=(120, 200)):
    img = np.full(size + (3,), 128, np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = colour
    return img


def test_reentry_linker_gives_a_returning_student_their_id_and_a_stranger_a_new_one():
    link = ReentryLinker(min_gap=0.5)
    box = np.array([[20, 20, 60, 100]], float)
    red = _student_frame((200, 30, 30), (20, 20, 60, 100))
    assert link.link(np.array([7]), box, red, 0.0).tolist() == [1]
    assert link.link(np.array([7]), box, red, 0.2).tolist() == [1]
    # gone for 5 s, back at the same desk under a new tracker id
    assert link.link(np.array([12]), box + 3, red, 5.2).tolist() == [1]
    assert link.relinked == 1
    # someone in blue at the same place while student 1 is away
    blue = _student_frame((30, 30, 200), (20, 20, 60, 100))
    assert link.link(np.array([13]), box, blue, 9.0).tolist() == [2]
    # and a box far away gets a new id whatever its colour
    far = np.array([[140, 20, 180, 100]], float)
    assert link.link(np.array([14]), far, _student_frame((200, 30, 30), (140, 20, 180, 100)), 20.0).tolist() == [3]
    assert link.link(np.array([-1]), box, red, 21.0).tolist() == [-1]
