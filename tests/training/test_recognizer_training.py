"""Training loop, resume, checkpoints and the train/eval commands on a tiny synthetic set."""

import json

import pytest
import torch

from smartclass.cli import main
from smartclass.errors import InputError
from smartclass.training.recognizer import load_checkpoint

TINY = ["train.train_samples=6", "train.val_samples=3", "synth.frames=3", "train.crop=24", "train.batch_size=3",
        "synth.students=3", "synth.width=128", "synth.height=80", "train.workers=1", "model.gcn_channels=[16,16]"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    args = TINY + [f"train.cache_dir={root / 'cache'}"]
    assert main(["train", "--out", str(root / "mmfg"), "train.epochs=1"] + args) == 0
    return root, args


def test_train_writes_checkpoints_config_history(run):
    root, _ = run
    out = root / "mmfg"
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "config.yaml", "history.json"}
    assert len(json.loads((out / "history.json").read_text())) == 1
    model, ck = load_checkpoint(out / "best.pt")
    assert ck["config"]["train"]["crop"] == 24 and model.cfg.gcn_channels == (16, 16)


def test_resume_continues_where_it_stopped(run):
    root, args = run
    out = root / "mmfg"
    before = torch.load(out / "last.pt", weights_only=True)
    assert main(["train", "--out", str(out), "--resume", "train.epochs=2"] + args) == 0
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and history[0] == before["history"][0]


def test_keypoint_warmup_trains_only_the_per_frame_stages_and_resumes(run, tmp_path):
    from smartclass.models.recognizer import TrimodalRecognizer
    from smartclass.models.recognizer_config import RecognizerConfig

    import dataclasses

    from smartclass.config import load_config, to_dict
    from smartclass.training.recognizer import fit, synth_data

    _, args = run
    out = tmp_path / "warm"
    cfg = load_config(None, args + ["train.keypoint_warmup_steps=2"])
    tc = dataclasses.replace(cfg.train, epochs=0)  # the warm-up alone (the CLI asks for at least one epoch)
    quiet = lambda m: None  # noqa: E731
    train, val = (synth_data(cfg.synth, split, n, tc, quiet) for split, n in (("train", 6), ("val", 3)))
    torch.manual_seed(0)
    fit(TrimodalRecognizer(cfg.model), train, val, tc, out, to_dict(cfg), log=quiet)
    first = torch.load(out / "last.pt", weights_only=True)
    assert first["task"]["warmup_steps"] == 2 and first["history"] == []
    torch.manual_seed(0)
    fresh = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16))).state_dict()
    changed = {k for k, v in first["state_dict"].items() if v.dtype.is_floating_point and not torch.equal(v, fresh[k])}
    assert any(k.startswith("keypoint_head.") for k in changed) and any(k.startswith("dcanet.") for k in changed)
    assert not any(k.startswith(("gcn.", "classifier.", "encoder.", "context.")) for k in changed)
    # a longer warm-up on resume runs only the missing step, then the epochs (here after an lr milestone)
    assert main(["train", "--out", str(out), "--resume", "train.epochs=1", "train.keypoint_warmup_steps=3",
                 "train.lr_milestones=[0]"] + args) == 0
    last = torch.load(out / "last.pt", weights_only=True)
    assert last["task"]["warmup_steps"] == 3 and [h["epoch"] for h in last["history"]] == [1]
    assert last["optimizer"]["param_groups"][0]["lr"] == pytest.approx(last["config"]["train"]["lr"] * 0.1)


def test_eval_report(run, tmp_path):
    root, args = run
    report = tmp_path / "report.json"
    assert main(["eval", "--checkpoint", str(root / "mmfg" / "best.pt"), "--data", "synth:split=test,samples=3",
                 "--out", str(report), "--predictions", str(tmp_path / "p.jsonl")]) == 0
    r = json.loads(report.read_text())
    # the checkpoint's merged config beside the report; one prediction per sample, agreeing with top-1
    assert r["config"] == str(tmp_path / "report.config.yaml")
    assert "crop: 24" in (tmp_path / "report.config.yaml").read_text()
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and lines[0].keys() >= {"index", "condition", "truth", "predicted", "confidence"}
    assert r["top1"] == pytest.approx(sum(x["truth"] == x["predicted"] for x in lines) / 3)
    assert r["modalities"]["classification"] == ["rgb", "depth", "thermal"] and r["modalities"]["samples"] == 3
    assert {"top1", "top5", "macro_f1", "per_class_f1", "confusion_matrix", "enhancement", "fusion_feature_map", "speed",
            "keypoints", "flip_tta"} <= set(r)
    assert 0 <= r["flip_tta"]["top1"] <= 1
    kp = r["keypoints"]
    assert 0 <= kp["median_error_px"] <= kp["crop_px"] * 2 ** 0.5 and 0 <= kp["pck_at_0.1_crop"] <= 1
    assert len(r["confusion_matrix"]) == 10 and report.with_suffix(".png").exists()


def test_bad_inputs_are_clear_errors(run, tmp_path, capsys):
    root, args = run
    other = tmp_path / "other.pt"
    torch.save({"model": "stgcn", "state_dict": {}}, other)
    with pytest.raises(InputError, match="holds a 'stgcn' model, expected 'mmfg'"):
        load_checkpoint(other)
    assert main(["eval", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(root / "mmfg" / "best.pt"), "--data", str(tmp_path / "nowhere")]) == 2
    assert "data set folder not found" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "x"), "train.learning_rate=1"]) == 2
    assert "unknown config key 'train.learning_rate'" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "y"), "--resume"] + args) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "z"), "train.keypoint_warmup_steps=-1"] + args) == 2
    err = capsys.readouterr().err
    assert "train.keypoint_warmup_steps" in err and "≥ 0" in err and "got -1" in err
    assert main(["train", "--out", str(tmp_path / "z"), "train.lr_milestones=[12,10]"] + args) == 2
    assert "train.lr_milestones must be increasing epoch numbers ≥ 0, got [12, 10]" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "z"), "train.lr_milestones=[ten]"] + args) == 2
    assert "config key 'train.lr_milestones'" in capsys.readouterr().err


def test_demo_recognition_with_a_checkpoint(run):
    from smartclass.inference.students import recognise_synthetic

    root, _ = run
    rec = recognise_synthetic(root / "mmfg" / "best.pt", seed=0)
    assert len(rec["students"]) == 4 * 3  # one clip per condition, three students each
    assert 0 <= rec["top1"] <= 1 and {r["condition"] for r in rec["students"]} == {"normal", "low_light", "occlusion", "movement"}


def test_init_from_starts_a_run_from_another_checkpoints_weights(run, tmp_path, capsys):
    root, args = run
    src = root / "mmfg" / "best.pt"
    out = tmp_path / "ft"
    # zero epochs cannot be asked for, so compare the first epoch's update against a fresh start: the fine-tuned
    # run's weights start at src (a parameter that the one epoch does not move keeps src's value)
    assert main(["train", "--out", str(out), "train.epochs=1", "train.lr=1.0e-12", f"train.init_from={src}"] + args) == 0
    assert "weights initialised from" in capsys.readouterr().out
    a = torch.load(src, weights_only=True)["state_dict"]
    b = torch.load(out / "last.pt", weights_only=True)["state_dict"]
    w = "classifier.weight" if "classifier.weight" in a else next(k for k in a if k.endswith("weight"))
    assert torch.allclose(a[w].float(), b[w].float(), atol=1e-6)
    assert f"init_from: {src}" in (out / "config.yaml").read_text()


def test_init_from_refuses_a_missing_or_differently_shaped_checkpoint(run, tmp_path, capsys):
    root, args = run
    assert main(["train", "--out", str(tmp_path / "a"), f"train.init_from={tmp_path / 'none.pt'}"] + args) == 2
    assert "does not exist" in capsys.readouterr().err
    bigger = [a for a in args if not a.startswith("model.gcn_channels")] + ["model.gcn_channels=[24,24]"]
    assert main(["train", "--out", str(tmp_path / "b"), f"train.init_from={root / 'mmfg' / 'best.pt'}"] + bigger) == 2
    err = capsys.readouterr().err
    assert "train.init_from" in err and "does not fit this model's architecture" in err and "different shape" in err


def test_eval_with_depth_or_thermal_withheld(run, tmp_path, capsys):
    root, _ = run
    ck = str(root / "mmfg" / "best.pt")
    for given, expected in (("rgb", ["rgb"]), ("rgb,thermal", ["rgb", "thermal"]), ("thermal, rgb", ["rgb", "thermal"])):
        report = tmp_path / f"{given.replace(',', '_').replace(' ', '')}.json"
        assert main(["eval", "--checkpoint", ck, "--data", "synth:split=test,samples=3", "--out", str(report),
                     "--modalities", given]) == 0
        r = json.loads(report.read_text())
        assert r["modalities"]["classification"] == expected
        assert r["modalities"]["samples_with_depth"] == 0
        assert r["modalities"]["samples_with_thermal"] == (3 if "thermal" in expected else 0)
    for bad in ("depth", "rgb,infrared", "rgb,rgb"):
        assert main(["eval", "--checkpoint", ck, "--out", str(tmp_path / "x.json"), "--modalities", bad]) == 2
        assert "--modalities: expected rgb plus optionally depth and/or thermal" in capsys.readouterr().err


def test_modality_dropout_runs_choose_the_best_epoch_over_the_four_camera_set_ups(run, tmp_path):
    root, args = run
    out = tmp_path / "md"
    assert main(["train", "--out", str(out), "train.epochs=1", "train.modality_dropout=0.5"] + args) == 0
    h = json.loads((out / "history.json").read_text())[0]
    setups = ["val_macro_f1", "val_top1_rgb", "val_top1_rgb+depth", "val_top1_rgb+thermal", "val_macro_f1_setups"]
    assert all(0 <= h[k] <= 1 for k in setups)
    best = torch.load(out / "best.pt", weights_only=True)
    assert best["metrics"]["val_macro_f1_setups"] == h["val_macro_f1_setups"]
    # without modality dropout the history keeps the trimodal figures only
    assert "val_macro_f1_setups" not in json.loads((root / "mmfg" / "history.json").read_text())[0]
