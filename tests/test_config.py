import pytest

from smartclass.config import Config, dump_config, load_config, parse_overrides, save_config
from smartclass.errors import ConfigError


def test_defaults_yaml_and_overrides_merge_in_order(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("seed: 3\nsynth:\n  frames: 16\n  students: 2\n")
    cfg = load_config(y, ["synth.frames=48", "synth.conditions=[normal,low_light]"])
    assert cfg.seed == 3
    assert cfg.synth.frames == 48  # command line wins over YAML
    assert cfg.synth.students == 2  # YAML wins over defaults
    assert cfg.synth.width == Config().synth.width
    assert cfg.synth.conditions == ("normal", "low_light")


def test_unknown_key_names_the_key_and_valid_keys():
    with pytest.raises(ConfigError, match=r"synth\.nope.*valid keys.*frames"):
        load_config(None, ["synth.nope=1"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match=r"synth\.frames.*integer"):
        load_config(None, ["synth.frames=abc"])


def test_missing_yaml_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does-not-exist.yaml"):
        load_config(tmp_path / "does-not-exist.yaml")


def test_override_without_equals_is_rejected():
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["synth.frames"])


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["seed=7", "synth.split=test"])
    path = save_config(cfg, tmp_path / "config.yaml")
    assert load_config(path) == cfg
    assert dump_config(cfg) == path.read_text()


def test_every_section_declares_its_ranges():
    import re

    from smartclass.skeleton.config import GCNSettings

    for override, message in [("skeleton.lr=0", "'skeleton.lr': expected > 0"),
                              ("skeleton.dilations=[1,0]", "'skeleton.dilations': expected every item ≥ 1"),
                              ("skeleton.preprocess=x", "'skeleton.preprocess': expected one of ['none', 'reference', 'reference-no-rotation']"),
                              ("enhance.retinex.gamma=0", "'enhance.retinex.gamma': expected > 0"),
                              ("enhance.thermal.t_range=[.nan,40]", "'enhance.thermal.t_range': expected a finite"),
                              ("detector.epochs=0", "'detector.epochs': expected ≥ 1")]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(None, [override])
    assert GCNSettings.dilations == (1, 2, 4)  # tuple defaults stay readable on the class
