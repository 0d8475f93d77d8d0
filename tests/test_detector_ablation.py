"""benchmarks/detector_ablation.py: each variant's overrides build the model it names (through the training
task's own model construction), the table writer records what it is given, and bad arguments exit with one line."""

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from smartclass.data.detection import DetectionDataset, DetectionSample
from smartclass.models.backbones.mobilenetv2 import mobilenet_v2
from smartclass.models.detector.cfam import CFAMDualFusion
from smartclass.training.detector import DetectorTask

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "detector_ablation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("detector_ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_set(seed: int) -> DetectionDataset:
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(3):
        xy = rng.uniform(0, 40, (8, 2))
        wh = rng.uniform(6, 24, (8, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        samples.append(DetectionSample(np.zeros((64, 64, 3), np.uint8), 64, 64, boxes,
                                       rng.integers(0, 7, 8).astype(np.int64), i))
    return DetectionDataset(tuple(f"c{k}" for k in range(7)), samples)


def built(bench, variant: str):
    cfg = bench.variant_config("students7", variant, epochs=2, steps=3, seed=0)
    task = DetectorTask(cfg.detector, tiny_set(0), tiny_set(1), seed=cfg.seed, log=lambda s: None)
    return cfg, task.build_model()


def test_variants_build_the_models_they_name(bench):
    imagenet = mobilenet_v2(pretrained=True).features[0][0].weight
    models = {}
    for v in bench.VARIANTS:
        cfg, model = built(bench, v)
        d = cfg.detector
        assert (cfg.threads, d.epochs, d.steps_per_epoch, d.time_budget_min) == (1, 2, 3, 0)  # same schedule
        models[v] = (cfg, model)
    full, no_neck, no_pre, no_cfam = (models[v][1] for v in ("full", "no_neck", "no_pretrained", "no_cfam"))
    assert full.head.strides == no_pre.head.strides == no_cfam.head.strides == [8, 16, 32]
    assert no_neck.head.strides == [32] and not hasattr(no_neck, "lateral") and len(full.lateral) == 2
    assert isinstance(full.fusion, CFAMDualFusion) and isinstance(no_neck.fusion, CFAMDualFusion)
    assert not any(isinstance(m, CFAMDualFusion) for m in no_cfam.modules())
    first = {v: m.stem[0][0][0].weight for v, (_, m) in models.items()}  # MobileNetV2 features[0] conv
    for v in ("full", "no_neck", "no_cfam"):
        torch.testing.assert_close(first[v], imagenet)
        assert not first[v].requires_grad  # freeze_layers 7 of the config
    assert models["no_pretrained"][0].detector.pretrained is False
    assert not torch.allclose(first["no_pretrained"], imagenet)
    assert all(p.requires_grad for p in no_pre.parameters())  # nothing frozen in a random backbone
    n = {v: sum(p.numel() for p in m.parameters()) for v, (_, m) in models.items()}
    assert n["no_cfam"] < n["full"] and n["no_neck"] < n["full"] and n["no_pretrained"] == n["full"]


def test_overrides_are_the_schedule_plus_one_removal(bench):
    base = ["threads=1", "seed=3", "detector.epochs=9", "detector.steps_per_epoch=40", "detector.time_budget_min=0"]
    assert bench.variant_overrides("full", 9, 40, 3) == base
    assert bench.variant_overrides("no_cfam", 9, 40, 3) == base + ["detector.cfam=false"]
    assert bench.run_name("full", 1, 0) == "full_seed1" and bench.run_name("no_neck", 0, 0) == "no_neck"
    with pytest.raises(ValueError, match="unknown variant 'no_head'"):
        bench.variant_overrides("no_head", 9, 40, 0)


def report(map50: float) -> dict:
    per = {"a": {"ap50": map50 + 0.1}, "b": {"ap50": map50 - 0.1}}
    return {"map50": map50, "map50_95": map50 / 2, "agnostic_ap50": 0.8, "precision": 0.3, "recall": 0.4,
            "per_class": per}


def test_table_writer_records_rows_deltas_spread_and_reference(bench, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    hist = [{"epoch": 1, "map50": 0.05, "seconds": 60.0}, {"epoch": 2, "map50": 0.2, "seconds": 120.0}]
    rows = [bench.row_from_report(name, v, s, report(m), hist, 2_940_000, ["a", "b"])
            for name, v, s, m in (("full", "full", 0, 0.30), ("no_neck", "no_neck", 0, 0.20),
                                  ("full_seed1", "full", 1, 0.26))]
    bench.add_deltas(rows)
    assert [r["d_map50"] for r in rows] == [0.0, -0.1, -0.04]
    assert rows[0]["ap50"] == {"a": pytest.approx(0.4), "b": pytest.approx(0.2)}
    assert rows[0]["train_min"] == 2.0 and rows[0]["val_map50_per_epoch"] == [0.05, 0.2]
    spread = bench.seed_spread(rows)
    assert spread["seeds"] == [0, 1] and spread["map50"]["range"] == pytest.approx(0.04)
    assert bench.seed_spread(rows[:2]) is None
    ref = {"variant": "reference (not trained in this run)", "removed": "shipped", "map50": 0.381}
    meta = {"split": "held-out", "epochs": 2, "steps": 3}
    path = bench.write_table(rows, ref, spread, meta, "detector_ablation_test", out_dir=tmp_path)
    saved = json.loads(path.read_text())
    assert saved["benchmark"] == "detector_ablation_test" and "machine" in saved and "command" in saved
    res = saved["results"]
    assert [r["variant"] for r in res["rows"]] == ["full", "no_neck", "full_seed1"]
    assert res["reference"]["map50"] == 0.381 and res["full_seed_spread"]["seeds"] == [0, 1]
    out = capsys.readouterr().out
    assert "no_neck" in out and "not trained in this run" in out and "range 0.040" in out


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs, --steps and --threads must be >= 1"),
    (["--variants", "full,no_head"], "--variants: unknown no_head"),
    (["--full-seeds", "0,x"], "--full-seeds must be comma-separated integers"),
    (["--full-seeds", "1,1"], "--full-seeds must list distinct integers"),
    (["--set", "nowhere"], "invalid choice: 'nowhere'"),
])
def test_bad_arguments_exit_2_with_one_line(bench, capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        bench.parse_args(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_a_run_folder_of_another_schedule_is_refused(bench, tmp_path, capsys):
    run = tmp_path / "students7" / "full"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("detector:\n  epochs: 5\n")
    args = SimpleNamespace(epochs=9, steps=40, threads=1, runs=tmp_path)
    with pytest.raises(SystemExit) as e:
        bench.run_variant("students7", "full", 0, "full", args)
    assert e.value.code == 2 and "planned for 5 epochs, not --epochs 9" in capsys.readouterr().err


def test_a_random_backbone_is_never_frozen_whatever_freeze_layers_says(bench):
    import dataclasses

    cfg = bench.variant_config("students7", "no_pretrained", epochs=2, steps=3, seed=0)
    d = dataclasses.replace(cfg.detector, freeze_layers=7)
    model = DetectorTask(d, tiny_set(0), tiny_set(1), seed=cfg.seed, log=lambda s: None).build_model()
    assert all(p.requires_grad for p in model.parameters())
