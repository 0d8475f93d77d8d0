import numpy as np
import torch

from smartclass.layouts import KINECT_V1_20, NTU_25
from smartclass.models.gcn import STGCN
from smartclass.models.gcn.graph import spatial_partition


def test_stgcn_shapes_and_partition_normalised():
    A = spatial_partition(KINECT_V1_20)
    assert A.shape == (3, 20, 20)
    np.testing.assert_allclose(A[1].sum(0)[A[1].sum(0) > 0], 1.0)
    assert STGCN(KINECT_V1_20, 3, 10, channels=(16, 32))(torch.randn(2, 3, 16, 20)).shape == (2, 10)


def test_partition_inward_points_to_parents():
    A = spatial_partition(NTU_25)
    np.testing.assert_allclose(A[0], np.eye(25))
    for child, parent in NTU_25.inward:
        assert A[1, parent, child] > 0 and A[2, child, parent] > 0
    assert A[1][np.eye(25, dtype=bool)].sum() == 0


def test_stgcn_two_persons_average_and_gradients_flow():
    torch.manual_seed(0)
    model = STGCN(NTU_25, 6, 5, channels=(8, 16))
    x = torch.randn(2, 2, 6, 10, 25, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert model.blocks[1].tcn[2].stride == (2, 1)
