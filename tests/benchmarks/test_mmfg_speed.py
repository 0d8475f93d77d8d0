"""The recogniser speed benchmark names a bad checkpoint instead of failing with a traceback."""

import pytest
import torch


def test_missing_or_foreign_checkpoint_is_a_one_line_error(load_benchmark, tmp_path):
    bench = load_benchmark("mmfg_speed")
    with pytest.raises(SystemExit, match=r"mmfg_speed: --checkpoint: checkpoint '.*none\.pt' does not exist"):
        bench.main(["--checkpoint", str(tmp_path / "none.pt")])
    other = tmp_path / "other.pt"
    torch.save({"model": "stgcn", "state_dict": {}}, other)
    with pytest.raises(SystemExit, match="holds a 'stgcn' model, expected 'mmfg'"):
        bench.main(["--checkpoint", str(other)])
