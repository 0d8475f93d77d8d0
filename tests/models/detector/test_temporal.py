import torch

from smartclass.models.detector.temporal import AttentionLSTM


def test_shapes_and_attention_weights_sum_to_one():
    m = AttentionLSTM(12, hidden=8, out_features=6)
    u = torch.randn(3, 5, 12)
    x = m(u)
    assert x.shape == (3, 6)
    assert torch.allclose(x.sum(-1), torch.ones(3), atol=1e-5)  # eq. 9's softmax
    mu = m.attention(m.states(u))
    assert mu.shape == (3, 4) and torch.allclose(mu.sum(-1), torch.ones(3), atol=1e-5)


def test_single_frame_has_no_history_and_history_matters():
    m = AttentionLSTM(4, hidden=8, out_features=3)
    u = torch.randn(2, 1, 4)
    assert m(u).shape == (2, 3)
    a = torch.randn(1, 4, 4)
    b = a.clone()
    b[:, 0] += 3.0  # change the oldest frame only
    assert not torch.allclose(m(a), m(b))
