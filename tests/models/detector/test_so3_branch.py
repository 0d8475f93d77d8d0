import numpy as np
import torch

from smartclass.models.detector.so3_branch import SO3Branch, so3_vectors
from smartclass.skeleton.so3 import so3_exp


def skeleton(gen, n=1, p=2, t=3):
    return torch.randn(n, p, t, 17, 3, generator=gen, dtype=torch.float64)


def test_vectors_shape_and_rotation_invariance():
    j = skeleton(torch.Generator().manual_seed(0))
    f = so3_vectors(j, "upper_body_17")
    assert f.shape == (1, 2, 3, 16 * 15 * 3)
    rot = torch.from_numpy(so3_exp(np.array([0.3, -1.1, 0.7])))
    g = so3_vectors(j @ rot.T + 5.0, "upper_body_17")
    assert torch.allclose(f, g, atol=1e-4)
    j[0, 0, 1, 4] = float("nan")  # a missing joint zeroes that frame only
    h = so3_vectors(j, "upper_body_17")
    assert torch.all(h[0, 0, 1] == 0) and torch.allclose(h[0, 0, 0], f[0, 0, 0])


def test_branch_scatters_persons_to_their_cells_and_degrades_without_skeletons():
    torch.manual_seed(0)
    branch = SO3Branch("upper_body_17", out_features=8)
    assert torch.equal(branch(None, 2, (4, 4), (15.0, 10.0)), torch.zeros(2, 8, 4, 4))
    joints = skeleton(torch.Generator().manual_seed(1), n=2, p=2)
    centres = torch.tensor([[[20.0, 5.0], [59.0, 39.0]], [[0.0, 0.0], [30.0, 20.0]]])
    valid = torch.tensor([[True, True], [False, True]])
    m = branch({"joints": joints, "centres": centres, "valid": valid}, 2, (4, 4), (15.0, 10.0))
    emb = branch.person_features(joints)
    occupied = m.abs().sum(1) > 0
    assert occupied[0].nonzero().tolist() == [[0, 1], [3, 3]] and occupied[1].nonzero().tolist() == [[2, 2]]
    assert torch.allclose(m[0, :, 0, 1], emb[0, 0]) and torch.allclose(m[1, :, 2, 2], emb[1, 1])
