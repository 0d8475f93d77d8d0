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
    res = json.loads(out.read_text())["results"]
    assert set(res["models"]) == {"so3-svm", "stgcn"}
    assert all(0.0 <= m["top1"] <= 1.0 and m["seconds"] >= 0 for m in res["models"].values())
    assert res["splits"] == 1


def test_skeleton_bench_missing_root_is_one_line_error(tmp_path, capsys):
    assert main(["skeleton-bench", "--dataset", "msraction3d", "--root", str(tmp_path / "none")]) == 2
    assert "none" in capsys.readouterr().err
