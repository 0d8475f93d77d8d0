import pytest
import torch

from smartclass.layouts import KINECT_V1_20, NTU_25, UPPER_BODY_17
from smartclass.models.gcn import MSTGCN
from smartclass.models.gcn.mstgcn import DynamicGraph, MultiScaleTemporalConv, SpatioTemporalAttention, hop_distance


def test_mstgcn_shapes_with_and_without_positions():
    torch.manual_seed(0)
    model = MSTGCN(UPPER_BODY_17, in_channels=6, num_classes=10, channels=(16, 32))
    x = torch.randn(2, 6, 12, 17)
    assert model(x).shape == (2, 10)
    assert model(x, pos=torch.randn(2, 12, 17, 2)).shape == (2, 10)
    assert model(torch.randn(2, 2, 6, 12, 17)).shape == (2, 10)  # two persons


def test_multiscale_temporal_conv_keeps_t_and_single_dilation_ablation():
    x = torch.randn(2, 8, 20, 5)
    assert MultiScaleTemporalConv(8, 16)(x).shape == (2, 16, 20, 5)
    assert MultiScaleTemporalConv(8, 16, stride=2)(x).shape == (2, 16, 10, 5)
    assert len(MultiScaleTemporalConv(8, 16, dilations=(1,)).branches) == 1


def test_mstgcn_temporal_kernel_sets_every_branch_and_keeps_t():
    model = MSTGCN(KINECT_V1_20, 3, 4, channels=(8, 16), kernel=3)
    convs = [b[-1] for blk in model.blocks for b in blk.tcn.branches]
    assert [c.kernel_size for c in convs] == [(3, 1)] * 6
    assert [c.dilation[0] * (c.kernel_size[0] - 1) + 1 for c in convs[:3]] == [3, 5, 9]  # frames each branch sees
    assert model.features(torch.randn(2, 3, 16, 20)).shape == (2, 16, 8, 20)
    with pytest.raises(ValueError, match="kernel must be a positive odd number.*got 4"):
        MSTGCN(KINECT_V1_20, 3, 4, kernel=4)


def test_attention_starts_as_identity_and_weights_sum_to_one():
    att = SpatioTemporalAttention(4)
    x = torch.randn(3, 4, 6, 5)
    torch.testing.assert_close(att(x), x)
    torch.testing.assert_close(att.attention_map(x).sum((1, 2)), torch.ones(3))


def test_hop_distance():
    d = hop_distance(UPPER_BODY_17)
    assert d[UPPER_BODY_17.index("neck"), UPPER_BODY_17.index("left_shoulder")] == 1
    assert d[UPPER_BODY_17.index("left_hand"), UPPER_BODY_17.index("right_hand")] == 8


def test_mstgcn_learns_a_toy_problem():
    torch.manual_seed(0)
    x = torch.randn(32, 3, 8, 17)
    y = (x[:, 0, :, 13].mean(1) > 0).long()  # class = sign of the left hand's mean x
    model = MSTGCN(UPPER_BODY_17, 3, 2, channels=(16,))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


def test_dynamic_graph_is_row_stochastic_and_uses_positions():
    torch.manual_seed(0)
    g = DynamicGraph(8, 4, KINECT_V1_20)
    x = torch.randn(2, 8, 5, 20)
    w = g(x, None)
    assert w.shape == (2, 20, 20)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 20))
    pos = torch.randn(2, 5, 20, 3)
    sq = (pos[:, :, :, None] - pos[:, :, None]).pow(2).sum(-1).mean(1)
    assert not torch.allclose(g(x, sq), w)  # eq. 7's distance term follows the given positions


def test_dynamic_graph_alpha_one_is_pure_distance_kernel():
    g = DynamicGraph(4, 4, KINECT_V1_20)
    with torch.no_grad():
        g.alpha_logit.fill_(50.0)  # α → 1: w_ij = exp(−d²/σ²), the similarity term has no weight
    a = g(torch.randn(1, 4, 3, 20), None)
    b = g(torch.randn(1, 4, 3, 20), None)
    torch.testing.assert_close(a, b)
    hops = torch.from_numpy(hop_distance(KINECT_V1_20)).float()
    expected = torch.softmax(torch.exp(-hops.pow(2)) * 5.0, -1)
    torch.testing.assert_close(a[0], expected)


def test_ablations_static_graph_and_single_dilation():
    full = MSTGCN(KINECT_V1_20, 3, 4, channels=(8,))
    static = MSTGCN(KINECT_V1_20, 3, 4, channels=(8,), dynamic=False, dilations=(1,), attention=False)
    assert full.blocks[0].gcn.graph is not None and static.blocks[0].gcn.graph is None
    assert len(static.blocks[0].tcn.branches) == 1
    assert sum(p.numel() for p in static.parameters()) < sum(p.numel() for p in full.parameters())
    assert static(torch.randn(2, 3, 8, 20)).shape == (2, 4)


def test_wrong_number_of_nodes_is_named():
    with pytest.raises(ValueError, match="ntu_25.*V = 25, got 20"):
        MSTGCN(NTU_25, 3, 2, channels=(8,))(torch.randn(1, 3, 4, 20))
