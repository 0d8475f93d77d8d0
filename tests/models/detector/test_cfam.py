import torch

from smartclass.models.detector.cfam import CFAM, CFAMDualFusion, DualAttention, GramChannelAttention, PositionAttention


def test_attention_blocks_identity_at_gamma_zero():
    x = torch.randn(2, 16, 5, 6)
    assert torch.equal(GramChannelAttention()(x), x)
    assert torch.equal(PositionAttention(16)(x), x)


def test_attention_maps_are_distributions_and_gamma_matters():
    x = torch.randn(2, 16, 5, 6)
    ca, pa = GramChannelAttention(), PositionAttention(16)
    assert ca.attention(x).shape == (2, 16, 16) and pa.attention(x).shape == (2, 30, 30)
    assert torch.allclose(ca.attention(x).sum(-1), torch.ones(2, 16), atol=1e-5)
    assert torch.allclose(pa.attention(x).sum(-1), torch.ones(2, 30), atol=1e-5)
    with torch.no_grad():
        ca.gamma.fill_(1.0)
    assert not torch.allclose(ca(x), x)


def test_fusion_shapes_and_gradients():
    x = torch.randn(2, 24, 4, 7, requires_grad=True)
    for m in (CFAM(24, 12, 16), DualAttention(24, 12, 16), CFAMDualFusion(24, 12, 16)):
        y = m(x)
        assert y.shape == (2, 12, 4, 7)
    y.sum().backward()
    fusion = m
    assert fusion.cfam.attention.gamma.grad is not None and fusion.dual.position.gamma.grad is not None
    assert x.grad is not None
