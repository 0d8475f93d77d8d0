"""The recogniser speed benchmark names a bad checkpoint instead of failing with a traceback."""

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mmfg_speed.py"


def _load():
    spec = importlib.util.spec_from_file_location("mmfg_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_or_foreign_checkpoint_is_a_one_line_error(tmp_path):
    bench = _load()
    with pytest.raises(SystemExit, match=r"mmfg_speed: --checkpoint: checkpoint '.*none\.pt' does not exist"):
        bench.main(["--checkpoint", str(tmp_path / "none.pt")])
    other = tmp_path / "other.pt"
    torch.save({"model": "stgcn", "state_dict": {}}, other)
    with pytest.raises(SystemExit, match="holds a 'stgcn' model, expected 'mmfg'"):
        bench.main(["--checkpoint", str(other)])
