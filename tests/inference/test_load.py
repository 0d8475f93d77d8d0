"""load_model: any checkpoint back by its tag; the shipped checkpoint, also from a non-editable install."""

import shutil
import subprocess
import sys
import textwrap
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from smartclass.errors import InputError
from smartclass.inference import load_model, shipped_checkpoint, shipped_checkpoints
from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.models.registry import registered_models

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_recogniser_loads_by_its_tag():
    path = shipped_checkpoint("mmfg/mmfg")
    assert path == shipped_checkpoint("mmfg/mmfg.pt") and "mmfg/mmfg" in shipped_checkpoints()
    model, info = load_model(path)
    assert isinstance(model, TrimodalRecognizer) and not model.training
    assert info["model"] == "mmfg" and info["model_config"]["gcn_channels"] == [48, 48, 96]
    assert info["config"]["train"]["crop"] == 48 and len(info["history"]) == 6 and "state_dict" not in info
    # the fine-tune of the README: modality dropout with self-distillation and the illumination gate, its log beside
    assert info["config"]["train"]["modality_dropout"] == 0.5 and info["model_config"]["enhance_gate"] is True
    assert info["config"]["train"]["distill_from"] and all("distillation" in h for h in info["history"])
    beside = json.loads((path.parent / "history.json").read_text())
    assert [h["epoch"] for h in beside] == [h["epoch"] for h in info["history"]]
    assert {"mmfg", "gcn"} <= set(registered_models())


def test_a_saved_recogniser_comes_back_with_the_same_outputs(tmp_path):
    from smartclass.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = TrimodalRecognizer(RecognizerConfig(gcn_channels=(8, 8), width=8, keypoint_channels=8)).eval()
    save_checkpoint(tmp_path / "r.pt", {"model": "mmfg", "model_config": {"gcn_channels": [8, 8], "width": 8,
                                                                          "keypoint_channels": 8},
                                        "state_dict": model.state_dict(), "config": {}, "history": []})
    back, _ = load_model(tmp_path / "r.pt", expected="mmfg")
    x = torch.rand(2, 3, 3, 24, 24)
    with torch.no_grad():
        assert torch.equal(model(x).logits, back(x).logits)


def test_wrong_tag_unknown_tag_and_bad_files_are_named(tmp_path):
    torch.save({"model": "gcn", "model_config": {}, "state_dict": {}}, tmp_path / "g.pt")
    with pytest.raises(InputError, match=r"g\.pt' holds a 'gcn' model, expected 'mmfg'"):
        load_model(tmp_path / "g.pt", expected="mmfg")
    torch.save({"model": "hologram", "model_config": {}, "state_dict": {}}, tmp_path / "h.pt")
    with pytest.raises(InputError, match="'hologram' model, which this smartclass cannot build"):
        load_model(tmp_path / "h.pt")
    torch.save({"model": "mmfg", "model_config": {"colour": 1}, "state_dict": {}}, tmp_path / "c.pt")
    with pytest.raises(InputError, match="c.pt': its 'mmfg' model_config or weights do not fit"):
        load_model(tmp_path / "c.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "w.pt")
    with pytest.raises(InputError, match="not a smartclass checkpoint"):
        load_model(tmp_path / "w.pt")
    (tmp_path / "t.pt").write_text("not a checkpoint")
    with pytest.raises(InputError, match=r"t\.pt' (is not a readable PyTorch checkpoint|holds something other)"):
        load_model(tmp_path / "t.pt")
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "none.pt")
    with pytest.raises(InputError, match="no shipped checkpoint 'mmfg/other'; shipped: .*mmfg/mmfg"):
        shipped_checkpoint("mmfg/other")
    with pytest.raises(InputError, match="expected '<task>/<name>'"):
        shipped_checkpoint("../mmfg")


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"model": "mmfg", "model_config": {}, "state_dict": {}, "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(InputError, match="refused without running it"):
        load_model(tmp_path / "evil.pt")
    assert not marker.exists()


def test_non_editable_install_finds_and_loads_the_shipped_checkpoint(tmp_path):
    """``pip install .`` (not editable) into a folder: the checkpoint is package data, found without the
    repository (run from a folder outside it)."""
    src = tmp_path / "src-copy"
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-compile", str(src), "--target", str(target)], check=True, capture_output=True)
    shutil.rmtree(src)  # nothing may point back at the sources
    script = textwrap.dedent(f"""
        import smartclass
        from pathlib import Path
        from smartclass.inference import load_model, shipped_checkpoint
        assert Path(smartclass.__file__).is_relative_to({str(target)!r}), smartclass.__file__
        path = shipped_checkpoint("mmfg/mmfg")
        assert path.is_relative_to({str(target)!r}), path
        model, info = load_model(path)
        print(info["model"], info["epoch"], sum(p.numel() for p in model.parameters()))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    name, epoch, params = run.stdout.split()
    assert name == "mmfg" and int(epoch) == 6 and int(params) > 100_000
    assert np.isfinite(float(params))


def test_every_shipped_checkpoint_loads_by_its_tag_with_its_record():
    names = shipped_checkpoints()
    assert "mmfg/mmfg" in names
    for name in names:
        model, info = load_model(shipped_checkpoint(name))
        assert info["model"] in registered_models() and not model.training, name
        assert isinstance(info["model_config"], dict) and isinstance(info["config"], dict), name
        assert isinstance(info["history"], list), name
