import yaml

from smartclass.cli import main


def test_synth_writes_the_layout_and_its_config(tmp_path, capsys):
    out = tmp_path / "ds"
    rc = main(["synth", "--out", str(out), "--clips", "2", "--frames", "2", "--students", "2", "--size", "128x80",
               "--split", "val", "--conditions", "low_light", "synth.fps=5"])
    assert rc == 0
    assert (out / "splits" / "val.txt").read_text().split() == ["val_00000", "val_00001"]
    assert len(list((out / "clips" / "val_00001" / "thermal").iterdir())) == 2
    cfg = yaml.safe_load((out / "config.yaml").read_text())["synth"]
    assert cfg["width"] == 128 and cfg["fps"] == 5 and cfg["conditions"] == ["low_light"] and cfg["split"] == "val"
    assert "per-student samples/s" in capsys.readouterr().out
    # a second run keeps the complete clips
    assert main(["synth", "--out", str(out), "--clips", "2", "--frames", "2", "--students", "2", "--size", "128x80",
                 "--split", "val", "--conditions", "low_light", "synth.fps=5"]) == 0
    assert "0 clips written (2 already there)" in capsys.readouterr().out


def test_synth_bad_arguments(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path), "--size", "big"]) == 2
    assert "--size: expected WIDTHxHEIGHT" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path), "--split", "dev"]) == 2
    assert "config key 'synth.split': expected one of ['train', 'val', 'test'], got 'dev'" in capsys.readouterr().err
