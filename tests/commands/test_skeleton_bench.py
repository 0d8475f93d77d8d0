import json

import numpy as np

from smartclass.cli import main


def test_skeleton_bench_runs_msr_protocol_on_tiny_set(tmp_path, capsys, write_msr):
    rng = np.random.default_rng(0)
    for a in (1, 2):
        for s in (1, 2, 3, 4):
            write_msr(tmp_path / f"a{a:02d}_s{s:02d}_e01_skeleton3D.txt", 10, rng)
    out = tmp_path / "res.json"
    code = main(["skeleton-bench", "--dataset", "msraction3d", "--root", str(tmp_path), "--model", "so3-svm",
                 "--model", "stgcn", "--epochs", "2", "--out", str(out)])
    assert code == 0
    written = json.loads(out.read_text())
    assert "--root DATA_DIR " in written["command"] and f"--root {tmp_path}" not in written["command"]
    assert written["command"].endswith(f"--epochs 2 --out {out}")  # the command as given, data folder aside
    assert written["results"]["config"]["skeleton"]["epochs"] == 2 and written["results"]["device"] == "cpu"
    res = written["results"]
    assert set(res["models"]) == {"so3-svm", "stgcn"}
    assert all(0.0 <= m["top1"] <= 1.0 and m["seconds"] >= 0 for m in res["models"].values())
    assert res["splits"] == 1
    assert all(np.array(m["confusion_matrix"]).shape == (20, 20) for m in res["models"].values())
    assert np.array(res["models"]["stgcn"]["confusion_matrix"]).sum() == 4  # subjects 2 and 4, two actions each
    printed = capsys.readouterr().out
    for name, m in res["models"].items():  # each model's commonest errors are printed, where it made any
        assert (f"{name} most confused (true → predicted" in printed) == bool(m["most_confused"])


def test_skeleton_bench_missing_root_is_one_line_error(tmp_path, capsys):
    assert main(["skeleton-bench", "--dataset", "msraction3d", "--root", str(tmp_path / "none")]) == 2
    assert "none" in capsys.readouterr().err


def test_skeleton_bench_bad_streams_and_out_are_named_before_any_work(tmp_path, capsys):
    for option, value, message in [("--streams", "joint,depth", "--streams 'joint,depth'"),
                                   ("--streams", "local+speed", "--streams 'local+speed'"),
                                   ("--out", "res.txt", "--out 'res.txt'"),
                                   ("--channels", "32,x", "--channels '32,x'"),
                                   ("--lr", "0", "--lr must be a positive finite number"),
                                   ("--device", "gpu0", "--device 'gpu0'"),
                                   ("--seeds", "0", "'--seeds': Input should be greater than or equal to 1"),
                                   ("--batch-size", "1", "--batch-size must be at least 2")]:
        assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), option, value]) == 2
        assert message in capsys.readouterr().err


def test_skeleton_bench_mstgcn_ablations_need_mstgcn(tmp_path, capsys):
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--model", "stgcn",
                 "--no-attention"]) == 2
    assert "--no-dynamic, --no-attention, --dilations and --temporal-kernel change mstgcn" in capsys.readouterr().err
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--model", "stgcn",
                 "--temporal-kernel", "3"]) == 2
    assert "--temporal-kernel change mstgcn, which --model leaves out" in capsys.readouterr().err
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--temporal-kernel", "4"]) == 2
    assert "--temporal-kernel must be a positive odd number" in capsys.readouterr().err
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--dilations", "1,x"]) == 2
    assert "--dilations '1,x': expected comma-separated positive integers" in capsys.readouterr().err


def test_skeleton_bench_utkinect_label_file_option(tmp_path, capsys, write_utkinect):
    write_utkinect(tmp_path, subjects=(1, 2, 3, 4))
    (tmp_path / "fixed.txt").write_text((tmp_path / "actionLabel.txt").read_text())
    out = tmp_path / "r.json"
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--model", "mstgcn",
                 "--labels", "fixed.txt", "--repeats", "2", "--epochs", "1", "--class-weights", "--flip", "--flip-tta",
                 "--recorded-time", "--channels", "8,8", "--lr", "0.004", "--batch-size", "4",
                 "--workers", "2", "--no-attention", "--dilations", "1,2", "--temporal-kernel", "3",
                 "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["results"]["labels"] == "fixed.txt" and res["results"]["splits"] == 2
    assert "--no-attention --dilations 1,2 --temporal-kernel 3 --out" in res["command"]
    assert res["results"]["gcn_settings"]["kernel"] == 3 and res["results"]["gcn_settings"]["dilations"] == [1, 2]
    assert "--labels fixed.txt" in res["command"] and res["benchmark"] == "r"
    assert "--flip --flip-tta --recorded-time --channels" in res["command"] and res["results"]["workers"] == 2
    assert res["results"]["gcn_settings"]["recorded_time"]
    assert res["results"]["gcn_settings"]["flip"] and res["results"]["gcn_settings"]["flip_tta"]
    assert res["results"]["gcn_settings"]["channels"] == [8, 8] and "--channels 8,8 " in res["command"]
    assert res["results"]["gcn_settings"]["lr"] == 0.004 and "--lr 0.004 --batch-size 4 " in res["command"]
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--labels", "nope.txt"]) == 2
    assert "nope.txt" in capsys.readouterr().err


def test_skeleton_bench_warns_of_overlapping_label_segments_and_records_them(tmp_path, capsys, write_utkinect):
    write_utkinect(tmp_path, subjects=(1, 2, 3, 4))
    labels = tmp_path / "actionLabel.txt"
    labels.write_text(labels.read_text().replace("sitDown: 41 80", "sitDown: 31 80", 1))
    out = tmp_path / "r.json"
    assert main(["skeleton-bench", "--dataset", "utkinect", "--root", str(tmp_path), "--model", "so3-svm",
                 "--repeats", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "actionLabel.txt has 1 overlapping action segments" in err
    assert "s01_e01: walk 1–40 overlaps sitDown 31–80" in err
    assert json.loads(out.read_text())["results"]["label_overlaps"] == ["s01_e01: walk 1–40 overlaps sitDown 31–80"]


def test_skeleton_bench_settings_are_the_config_skeleton_section_and_flags_override_keys(tmp_path, write_msr):
    rng = np.random.default_rng(0)
    for a in (1, 2):
        for s in (1, 2):
            write_msr(tmp_path / f"a{a:02d}_s{s:02d}_e01_skeleton3D.txt", 10, rng)
    (tmp_path / "cfg.yaml").write_text("skeleton:\n  epochs: 7\n  channels: [8]\n  seeds: 2\n")
    out = tmp_path / "r.json"
    assert main(["skeleton-bench", "--dataset", "msraction3d", "--root", str(tmp_path), "--model", "so3-svm",
                 "--config", str(tmp_path / "cfg.yaml"), "skeleton.lr=0.004", "skeleton.seeds=3", "--epochs", "2",
                 "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    gcn = res["results"]["gcn_settings"]
    assert gcn["epochs"] == 2 and gcn["channels"] == [8] and gcn["lr"] == 0.004 and gcn["seeds"] == 3
    assert res["results"]["config"]["skeleton"] == gcn and "skeleton.lr=0.004" in res["command"]
    assert main(["skeleton-bench", "--dataset", "msraction3d", "--root", str(tmp_path), "skeleton.epochz=1"]) == 2
