import numpy as np
import pytest

from smartclass.analyze.smoothing import Hysteresis, min_duration, runs, smooth_labels, viterbi
from smartclass.errors import ConfigError


def _probs(labels, conf=0.7, C=3):
    p = np.full((len(labels), C), (1 - conf) / (C - 1))
    p[np.arange(len(labels)), labels] = conf
    return p


def test_runs():
    assert runs(np.array([0, 0, 1, 1, 1, 0])) == [(0, 0, 2), (1, 2, 5), (0, 5, 6)]
    assert runs(np.array([])) == []


@pytest.mark.parametrize("method", ["viterbi", "hysteresis"])
def test_flicker_is_removed_and_a_real_change_kept(method):
    t = np.arange(50) / 5.0  # 10 s of decisions at 5 per second
    truth = np.r_[np.zeros(25, int), np.ones(25, int)]  # a real change at 5 s
    noisy = truth.copy()
    noisy[[4, 11, 17, 33, 41]] = 2  # one-decision blips
    noisy[[8, 38]] = 1 - truth[[8, 38]]
    out = smooth_labels(t, _probs(noisy), method)
    assert set(out.tolist()) == {0, 1}  # the blips are gone
    assert len(runs(out)) == 2  # one change, no flicker
    change = np.flatnonzero(np.diff(out))[0] + 1
    assert abs(change - 25) <= (0 if method == "viterbi" else 5)  # hysteresis reacts after its hold
    raw = smooth_labels(t, _probs(noisy), "none")
    assert len(runs(raw)) > 8  # what the smoother removed


def test_viterbi_keeps_a_long_sustained_blip_and_changes_more_easily_after_a_long_gap():
    t = np.arange(30) / 5.0
    lab = np.zeros(30, int)
    lab[10:20] = 1  # 2 s of another behaviour: real
    assert (viterbi(t, _probs(lab)) == lab).all()
    one = np.zeros(2, int)
    one[1] = 1
    weak = _probs(one, conf=0.5)
    assert viterbi(np.array([0.0, 0.2]), weak).tolist() == [0, 0]  # 0.2 s later: stays
    assert viterbi(np.array([0.0, 60.0]), weak).tolist() == [0, 1]  # a minute later: free to change


def test_min_duration_merges_short_runs_into_the_stronger_neighbour():
    t = np.arange(20) * 0.2
    lab = np.array([0] * 8 + [1] * 2 + [2] * 10)
    p = _probs(lab)
    p[8:10, 2] = 0.25
    p[8:10, 0] = 0.05
    out = min_duration(t, lab, p, 1.0)
    assert out.tolist() == [0] * 8 + [2] * 12
    assert min_duration(t, lab, None, 0.2).tolist() == lab.tolist()


def test_hysteresis_needs_hold_and_margin():
    h = Hysteresis(hold=1.0, margin=0.1)
    assert h.update(0.0, [0.8, 0.2]) == 0
    assert h.update(0.2, [0.45, 0.55]) == 0  # leads by less than the margin
    assert h.update(0.4, [0.2, 0.8]) == 0  # leads, not yet for 1 s
    assert h.update(1.0, [0.2, 0.8]) == 0
    assert h.update(1.4, [0.2, 0.8]) == 1


def test_bad_method():
    with pytest.raises(ConfigError, match="--smoothing"):
        smooth_labels(np.arange(3.0), _probs(np.zeros(3, int)), "median")
