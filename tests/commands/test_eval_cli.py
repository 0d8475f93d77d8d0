"""``eval --predictions``: the per-sample file formats; ``train``'s Ctrl-C line."""

import csv
import json

from smartclass.cli import main
from smartclass.commands.train import write_predictions

ROWS = [{"index": 0, "condition": "normal", "truth": "a", "predicted": "b", "confidence": 0.5},
        {"index": 1, "condition": "low_light", "truth": "b", "predicted": "b", "confidence": float("nan")}]


def test_predictions_as_csv_and_strict_json_lines(tmp_path):
    write_predictions(tmp_path / "p.csv", ROWS)
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [r["predicted"] for r in rows] == ["b", "b"] and rows[1]["condition"] == "low_light"
    write_predictions(tmp_path / "p.jsonl", ROWS)
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == ROWS[0]
    assert json.loads(lines[1])["confidence"] is None and "NaN" not in lines[1]


def test_ctrl_c_during_training_names_what_was_kept_and_the_resume_command(tmp_path, capsys, monkeypatch):
    import smartclass.training.recognizer as recognizer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(recognizer, "synth_data", interrupted)
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "train.epochs=3"]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"interrupted; kept: {out}/config.yaml and, once an epoch")
    assert err.endswith(f"resume with: smartclass train --out {out} train.epochs=3 --resume")
    assert (out / "config.yaml").is_file() and not (out / ".smartclass.lock").exists()
