import pytest

from smartclass.errors import ConfigError
from smartclass.synth.subjects import make_subject, split_subjects


def test_splits_are_disjoint_and_cover_the_pool():
    parts = {s: set(split_subjects(20, s)) for s in ("train", "val", "test")}
    assert len(parts["train"]) == 12 and len(parts["val"]) == 4 and len(parts["test"]) == 4
    assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"] and not parts["val"] & parts["test"]
    assert parts["train"] | parts["val"] | parts["test"] == set(range(20))


def test_subject_is_a_function_of_its_id():
    assert make_subject(3) == make_subject(3)
    assert make_subject(3) != make_subject(4)
    s = make_subject(5)
    assert 34.0 <= s.face_temp <= 36.5 and s.cloth_temp < s.face_temp


def test_bad_split():
    with pytest.raises(ConfigError, match="unknown split 'dev'"):
        split_subjects(20, "dev")
    with pytest.raises(ConfigError, match="at least 5"):
        split_subjects(3, "train")
