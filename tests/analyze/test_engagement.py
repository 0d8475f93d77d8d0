import numpy as np
import pytest

from smartclass.analyze.engagement import DEFAULT_ENGAGEMENT, binned, engaged_share, engagement_curve, load_mapping
from smartclass.errors import ConfigError
from smartclass.labels import COARSE_CLASSES


def test_paper_000_classes_are_all_mapped():
    assert set(COARSE_CLASSES) <= set(DEFAULT_ENGAGEMENT)
    assert DEFAULT_ENGAGEMENT["attend_lecture"] and not DEFAULT_ENGAGEMENT["play_phone"]
    assert not DEFAULT_ENGAGEMENT["look_left_right"] and DEFAULT_ENGAGEMENT["raise_hand"]


def test_share_leaves_unknown_behaviours_out():
    m = load_mapping(None)
    assert engaged_share(["write", "play_phone", "attend_lecture", "dancing"], m) == (pytest.approx(2 / 3), 3)
    assert engaged_share([], m) == (None, 0)
    curve = engagement_curve(np.array([0.0, 0.5, 1.0]), [["write"], ["sleep"], []], m)
    assert [p["engaged"] for p in curve] == [1.0, 0.0, None]
    assert binned(curve, 1.0) == [{"t": 0.0, "engaged": 0.5}]


def test_mapping_file(tmp_path):
    f = tmp_path / "m.json"
    f.write_text('{"stand": false, "dancing": true}')
    m = load_mapping(f)
    assert m["stand"] is False and m["dancing"] is True and m["write"] is True
    f.write_text('{"stand": "maybe"}')
    with pytest.raises(ConfigError, match="m.json"):
        load_mapping(f)
    with pytest.raises(ConfigError, match="nope.json"):
        load_mapping(tmp_path / "nope.json")
