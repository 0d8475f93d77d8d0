"""``smartclass bench paper002``: variants as config switches, a tiny end-to-end run (2 training steps per
variant), resume skipping, the table writers and bad arguments."""

import json

import pytest

from smartclass.cli import main
from smartclass.config import to_dict
from smartclass.errors import ConfigError, InputError
from smartclass.experiments import paper002 as p2
from smartclass.metrics.classification import wilson_interval
from smartclass.runs import config_differences

TINY_OVERRIDES = (
    "seed=0", "threads=1", "synth.students=2", "synth.num_subjects=10", "synth.width=160", "synth.height=120",
    "synth.frames=2", "synth.fps=2", "model.width=4", "model.keypoint_channels=4", "model.gcn_channels=[4,4]",
    "model.enhance_gate=true", "train.crop=16", "train.batch_size=2", "train.epochs=1", "train.train_samples=4",
    "train.val_samples=2", "train.keypoint_warmup_steps=0", "train.workers=1", "train.time_budget_min=0",
)
TINY_VARIANTS = ["method", "mmcnn_stgcn"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two variants (the method and the paper's strongest baseline) of a tiny profile: 4 training clips in
    batches of 2 (2 steps), 8 test clips (2 per condition)."""
    root = tmp_path_factory.mktemp("paper002")
    profile = p2.Profile("tiny", TINY_OVERRIDES + (f"train.cache_dir={root / 'cache'}",), test_samples=8,
                         budget="seconds")
    logs: list[str] = []
    summary = p2.run(profile, root / "out", root / "work", TINY_VARIANTS, command="test", log=logs.append)
    return profile, root, summary, logs


def test_every_variant_is_a_switch_of_the_method():
    base = to_dict(p2.variant_config(p2.QUICK, p2.BY_NAME["method"]))
    for v in p2.VARIANTS:
        changed = set(config_differences(base, to_dict(p2.variant_config(p2.QUICK, v))))
        assert changed == {o.split("=")[0] for o in v.overrides}, v.name
    assert set(p2.TABLE3) | {n for _, n in p2.TABLE4} | set(p2.TABLE6) == set(p2.BY_NAME)
    stgcn = p2.variant_config(p2.QUICK, p2.BY_NAME["retinex_concat_gcn"]).model
    assert (stgcn.enhance_method, stgcn.fusion, stgcn.gcn) == ("msr", "concat", "stgcn")
    assert p2.variant_config(p2.QUICK, p2.BY_NAME["no_dilation"]).model.gcn_dilations == (1,)


def test_wilson_interval_reference_values():
    lo, hi = wilson_interval(81, 263)  # Wilson (1927) as tabulated by Newcombe (1998): 0.2553–0.3662
    assert lo == pytest.approx(0.2553, abs=1e-4) and hi == pytest.approx(0.3662, abs=1e-4)
    lo, hi = wilson_interval(0, 10)  # Newcombe (1998): 0–0.2775
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_tiny_run_writes_results_tables_and_figures(tiny_run):
    profile, root, summary, logs = tiny_run
    out = root / "out"
    assert sorted(summary["variants"]) == sorted(TINY_VARIANTS)
    assert "retinex_concat_gcn" in summary["not_run"]
    res = json.loads((out / "variants" / "method.json").read_text())
    m = res["metrics"]
    assert res["training"]["epochs"] == 1 and len(res["training"]["history"]) == 1
    assert m["samples"] == 8 and set(m["per_condition"]) == {"normal", "low_light", "occlusion", "movement"}
    for c, pc in m["per_condition"].items():
        assert pc["samples"] == 2 and pc["top1_ci95"][0] <= pc["top1"] <= pc["top1_ci95"][1]
    g = m["gates_per_condition"]["low_light"]
    assert g["alpha_rgb"] + g["beta_depth"] + g["gamma_thermal"] == pytest.approx(1.0)
    assert len(m["keypoint_attention_per_condition"]["normal"]) == 17
    # the learnt enhancement raises low-light PSNR over the input even untrained; normal frames pass the gate
    q = m["per_condition"]["low_light"]["quality"]
    assert q["psnr_output"] > q["psnr_input"]
    qn = m["per_condition"]["normal"]["quality"]
    assert qn["psnr_output"] == pytest.approx(qn["psnr_input"])
    base = json.loads((out / "variants" / "mmcnn_stgcn.json").read_text())["metrics"]
    assert base["gates_per_condition"] is None and "keypoint_attention_per_condition" not in base
    assert base["per_condition"]["low_light"]["quality"]["psnr_output"] == pytest.approx(q["psnr_input"])
    interp = res["interpretability"]
    assert [s["condition"] for s in interp["samples"]] == ["normal", "low_light", "occlusion", "movement"]
    assert set(interp["cross_attention_received"]) == {"depth", "thermal"}
    for name in ("tables.md", "paper002.json", "robustness.png", "gates.png", "attention_conditions.png",
                 "attention_samples.png", "cross_attention.png"):
        assert (out / name).stat().st_size > 0, name
    text = (out / "tables.md").read_text()
    assert "## Table 3" in text and "| Multi-modal CNN + ST-GCN |" in text and "Wilson" in text
    assert "| Retinex + simple concatenation + GCN | not yet run |" in text
    saved = json.loads((out / "paper002.json").read_text())
    assert saved["command"] == "test" and saved["results"]["robustness"]["strongest_baseline"] == "mmcnn_stgcn"
    assert (root / "work" / "method" / "last.pt").is_file()


def test_rerun_skips_finished_variants_and_refuses_another_config(tiny_run):
    profile, root, _, _ = tiny_run
    logs: list[str] = []
    p2.run(profile, root / "out", root / "work", TINY_VARIANTS, command="test", log=logs.append)
    assert sum("skipped" in line for line in logs) == 2 and not any("epoch" in line for line in logs)
    with pytest.raises(ConfigError, match="method.json' holds a result for another config .*train.lr"):
        p2.run(profile, root / "out", root / "work", ["method"], overrides=["train.lr=0.5"], log=logs.append)


def test_markdown_writers():
    assert p2.markdown_table(["a", "b"], [[1, None], ["x", "1.50"]]) == "| a | b |\n|---|---|\n| 1 | — |\n| x | 1.50 |"

    def result(top1, low=(10.0, 20.0)):
        pc = {c: {"samples": 100, "correct": int(top1 * 100), "top1": top1, "top1_ci95": [top1 - 0.1, top1 + 0.05],
                  "quality": {"psnr_input": low[0], "psnr_output": low[1], "ssim_output": 0.5, "nmi_output": 0.4,
                              "epi_output": 0.3}} for c in ("normal", "low_light")}
        return {"label": "x", "metrics": {"top1": top1, "top5": 0.9, "macro_f1": top1 - 0.01, "per_condition": pc,
                                          "speed": {"frames_per_s": 123.4}}}

    results = {"retinex_concat_gcn": result(0.5), "plus_wgf": result(0.6), "method": result(0.8),
               "mmcnn_stgcn": result(0.7), "no_deformable": result(0.75)}
    t4 = p2.table4_rows(results)  # plus_dca was not run: its row says so, and the next step has no delta
    assert [r[4] for r in t4] == ["50.0", "60.0", None, "80.0"] and [r[5] for r in t4] == [None, "+10.0", None, None]
    assert t4[2][:3] == ["+ DCA-Net", "not yet run", None]
    t6 = p2.table6_rows(results)
    assert t6[0][0] == "Full model" and t6[1][1] == "not yet run" and t6[2][6] == "-5.0" and len(t6) == 5
    t3 = p2.table3_rows(results)
    assert t3[0][1:3] == ["20.00", "20.00"] and t3[1] == ["CNN + conventional attention + GCN", "not yet run"] + [None] * 8
    text = p2.tables_markdown(results, "x", "cmd", None, "s.json")
    assert "**5 of 10 variants finished; not yet run: cnn_attention_gcn, plus_dca, no_multiscale" in text
    assert "All 10 variants finished." in p2.tables_markdown({v.name: result(0.5) for v in p2.VARIANTS}, "x", "c",
                                                              None, "s.json")
    assert p2.strongest_baseline(results) == "mmcnn_stgcn"
    rob = p2.robustness_rows(results)
    assert [r["condition"] for r in rob] == ["normal", "low_light"] and rob[1]["method_drop_points"] == 0.0
    assert "no `results.table5`" in p2.table5_markdown(None, "x.json")


def test_select_variants_errors():
    assert [v.name for v in p2.select_variants(["no_adaptive", "method"])] == ["method", "no_adaptive"]
    with pytest.raises(InputError, match="unknown variant 'nope'.*expected a comma-separated subset of method"):
        p2.select_variants(["method", "nope"])


@pytest.mark.parametrize("args, message", [
    (["--only", "method,bogus"], "unknown variant 'bogus'"),
    (["model.fusion=sum"], "model.fusion"),
    (["train.vocabulary=coarse"], "model.num_classes = 10 but train.vocabulary 'coarse' has 8 classes"),
])
def test_cli_bad_arguments_exit_2(tmp_path, capsys, args, message):
    rc = main(["bench", "paper002", "--quick", "--out", str(tmp_path / "o"), "--work", str(tmp_path / "w"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["bench", "paper002", "--quick", "--out", str(f)]) == 2
    assert "--out" in capsys.readouterr().err
