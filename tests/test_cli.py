from smartclass.cli import main


def test_config_show_prints_merged_config(capsys):
    assert main(["config", "show", "synth.frames=12"]) == 0
    assert "frames: 12" in capsys.readouterr().out


def test_unknown_config_key_is_one_line_error(capsys):
    assert main(["config", "show", "synth.bogus=1"]) == 2
    err = capsys.readouterr().err
    assert "synth.bogus" in err and "Traceback" not in err


def test_unknown_option_is_a_usage_error_not_a_traceback(capsys):
    assert main(["train", "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert "--no-such-option" in err and "Traceback" not in err
