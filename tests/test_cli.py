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


def test_error_lines_are_never_hard_wrapped_whatever_the_path_length(tmp_path, capsys):
    for n in (10, 47, 83, 150):  # rich would break an 80-column line at a different place for each
        missing = tmp_path / ("d" * n) / "config.yaml"
        assert main(["config", "show", "-c", str(missing)]) == 2
        err = capsys.readouterr().err
        assert err == f"error: config file '{missing}' does not exist\n"


def test_demo_lines_are_not_wrapped_at_80_columns(tmp_path, capsys):
    root = tmp_path / ("a-rather-long-folder-name-" * 3) / "missing"
    assert main(["demo", "--out", str(tmp_path / "o"), "--root", str(root), "--frames", "1",
                 "--checkpoint", str(tmp_path / "none.pt")]) == 0
    said = capsys.readouterr().out
    assert f"UTKinect-Action3D not found at '{root}': skipping the skeleton part" in said


def test_no_arguments_shows_the_help_not_an_empty_error(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert "Usage: smartclass" in out + err and "error:" not in out + err
