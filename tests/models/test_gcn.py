import numpy as np
import torch

from smartclass.layouts import KINECT_V1_20, UPPER_BODY_17
from smartclass.models.gcn import MSTGCN, STGCN
from smartclass.models.gcn.graph import spatial_partition
from smartclass.models.gcn.mstgcn import MultiScaleTemporalConv, SpatioTemporalAttention, hop_distance


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


def test_attention_starts_as_identity_and_weights_sum_to_one():
    att = SpatioTemporalAttention(4)
    x = torch.randn(3, 4, 6, 5)
    torch.testing.assert_close(att(x), x)
    torch.testing.assert_close(att.attention_map(x).sum((1, 2)), torch.ones(3))


def test_stgcn_shapes_and_partition_normalised():
    A = spatial_partition(KINECT_V1_20)
    assert A.shape == (3, 20, 20)
    np.testing.assert_allclose(A[1].sum(0)[A[1].sum(0) > 0], 1.0)
    assert STGCN(KINECT_V1_20, 3, 10, channels=(16, 32))(torch.randn(2, 3, 16, 20)).shape == (2, 10)


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
