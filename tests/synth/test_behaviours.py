"""Motion programs: every behaviour yields full-length parameters; transitions blend; cues differ over time."""

import numpy as np
import pytest

from smartclass.labels import BEHAVIOURS
from smartclass.synth.behaviours import NUMERIC, PROGRAMS, schedule_params
from smartclass.synth.subjects import make_subject

T = np.arange(40) / 10.0


@pytest.mark.parametrize("name", BEHAVIOURS)
def test_every_program_alone_and_in_a_schedule(name):
    s = make_subject(0)
    p, labels = schedule_params(T, [(name, -5.0, 10.0)], s, np.random.default_rng(0))
    for key in NUMERIC:
        assert p[key].shape[0] == len(T) and np.isfinite(p[key]).all(), key
    assert (labels == BEHAVIOURS.index(name)).all()


def test_transition_switches_label_and_blends_smoothly():
    s = make_subject(1)
    p, labels = schedule_params(T, [("upright_sitting", -5.0, 2.0), ("hand_raising", 2.0, 9.0)], s, np.random.default_rng(0))
    assert labels[0] == BEHAVIOURS.index("upright_sitting") and labels[-1] == BEHAVIOURS.index("hand_raising")
    assert np.abs(np.diff(p["wrist_r"], axis=0)).max() < 0.25  # no teleporting hands


def test_note_taking_glances_up_writing_does_not():
    s = make_subject(2)
    pitch_range = {}
    for name in ("note_taking", "head_down_writing"):
        ranges = []
        for seed in range(10):
            p, _ = schedule_params(T, [(name, -5.0, 10.0)], s, np.random.default_rng(seed))
            ranges.append(np.ptp(p["head_pitch"]))
        pitch_range[name] = np.median(ranges)
    assert pitch_range["note_taking"] > 0.3 > pitch_range["head_down_writing"]
