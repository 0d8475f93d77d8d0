import json

from smartclass.cli import main


def test_demo_writes_report_plot_and_config(tmp_path, write_utkinect):
    root = tmp_path / "utk"
    root.mkdir()
    write_utkinect(root, subjects=(1, 2, 3, 4))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--root", str(root), "--epochs", "1", "--frames", "2",
                 "--checkpoint", str(tmp_path / "none.pt")]) == 0
    assert (out / "synth_preview.mp4").stat().st_size > 0 and (out / "synth_preview.png").stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert len(report["confusion_matrix"]) == 10 and 0 <= report["top1"] <= 1
    assert (out / "confusion.png").stat().st_size > 0 and (out / "config.yaml").exists()


def test_demo_without_skeleton_data_skips_that_part(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--root", str(tmp_path / "missing"), "--frames", "2",
                 "--checkpoint", str(tmp_path / "none.pt")]) == 0
    said = capsys.readouterr().out
    assert "missing" in said and "skipping the skeleton part" in said
    assert (tmp_path / "synth_preview.png").exists() and not (tmp_path / "report.json").exists()


def test_demo_refuses_a_folder_of_another_config_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--root", str(tmp_path / "missing"), "--checkpoint", str(tmp_path / "none.pt")]
    assert main(args + ["--frames", "2"]) == 0
    assert main(args + ["--frames", "2"]) == 0  # the same config again: allowed
    capsys.readouterr()
    assert main(args + ["--frames", "3"]) == 2
    err = capsys.readouterr().err
    assert "different config" in err and "synth.frames" in err and "--overwrite" in err
    assert main(args + ["--frames", "3", "--overwrite"]) == 0
