import time

import pytest

from smartclass.metrics.speed import measure


def test_measure_counts_runs_and_items():
    calls = []
    t = measure(lambda: calls.append(1), runs=5, warmup=2, items_per_call=4)
    assert len(calls) == 7 and t.runs == 5 and t.warmup == 2
    assert t.fps == pytest.approx(4 / t.median_s)
    assert t.min_s <= t.median_s <= t.max_s


def test_measure_reports_sleep_duration():
    t = measure(lambda: time.sleep(0.01), runs=3, warmup=0)
    assert 0.009 < t.median_s < 0.1


def test_measure_rejects_zero_runs():
    with pytest.raises(ValueError, match="runs"):
        measure(lambda: None, runs=0)
