"""The MST-GCN variant probe: with its options off it is MST-GCN itself, and its table scores what it read."""

import json

import numpy as np
import pytest
import torch

from smartclass.layouts import get_layout
from smartclass.models.gcn import MSTGCN


def test_probe_with_options_off_is_mstgcn(load_benchmark):
    bench = load_benchmark("skeleton_variants")
    layout = get_layout("kinect_v1_20")
    torch.manual_seed(0)
    plain = MSTGCN(layout, 3, 10, channels=(8, 16)).eval()
    torch.manual_seed(0)
    probe = bench.ProbeGCN(layout, 3, 10, channels=(8, 16)).eval()
    x = torch.randn(2, 3, 12, layout.num_node)
    torch.testing.assert_close(probe(x), plain(x))
    pos = torch.randn(2, 12, layout.num_node, 3)
    torch.testing.assert_close(probe(x, pos), plain(x, pos))
    assert bench.ProbeGCN(layout, 3, 10, channels=(8,), pool="meanmax")(x).shape == (2, 10)


def test_summary_scores_streams_their_ensemble_and_seed_ensembles(load_benchmark, tmp_path):
    bench = load_benchmark("skeleton_variants")
    labels = np.array([0, 1, 0, 1])
    right, wrong = [[0.9, 0.1], [0.2, 0.8]], [[0.4, 0.6], [0.6, 0.4]]  # probabilities of test clips 0 and 1
    raw = tmp_path / "r.raw.jsonl"
    with raw.open("w") as f:
        for seed in (0, 1):
            for k in range(5):
                for stream, prob in (("local", right), ("bone", wrong if seed == 0 else right)):
                    f.write(json.dumps({"variant": "lr4", "stream": stream, "split_seed": 1, "split": k,
                                        "train_seed": seed, "test": [0, 1], "prob": prob, "device": "cpu"}) + "\n")
    rows = bench.summarise([str(raw)], labels)
    by_seeds = {r["train_seeds"]: r for r in rows}
    assert by_seeds["0"]["local"] == 1.0 and by_seeds["0"]["bone"] == 0.0
    assert by_seeds["0"]["local+bone"] == 1.0  # 0.9 + 0.4 > 0.1 + 0.6
    assert by_seeds["0,1"]["bone"] == pytest.approx(1.0) and by_seeds["0,1"]["device"] == "seed ensemble"
