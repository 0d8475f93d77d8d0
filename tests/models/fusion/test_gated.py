import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.fusion.gated import GatedFusion


def _randomise(g: GatedFusion) -> GatedFusion:
    torch.manual_seed(0)
    with torch.no_grad():
        g.gate.weight.normal_()
        g.gate.bias.normal_()
    return g


def test_weights_nonnegative_sum_to_one_and_per_sample():
    g = _randomise(GatedFusion(8))
    rgb, d, t = (torch.randn(4, 8, 5, 5) for _ in range(3))
    fused, w = g(rgb, d, t)
    assert fused.shape == (4, 8, 5, 5) and w.shape == (4, 3)
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(1), torch.ones(4))
    assert not torch.allclose(w[0], w[1])  # gates depend on the sample
    ref = w[:, 0, None, None, None] * rgb + w[:, 1, None, None, None] * d + w[:, 2, None, None, None] * t
    torch.testing.assert_close(fused, ref)


def test_equal_weights_at_init():
    _, w = GatedFusion(4)(*(torch.randn(2, 4, 3, 3) for _ in range(3)))
    torch.testing.assert_close(w, torch.full((2, 3), 1 / 3))


def test_missing_depth_gets_exactly_zero_weight():
    g = _randomise(GatedFusion(8))
    rgb, t = torch.randn(3, 8, 4, 4), torch.randn(3, 8, 4, 4)
    fused, w = g(rgb, None, t)
    assert torch.all(w[:, 1] == 0)
    torch.testing.assert_close(w.sum(1), torch.ones(3))
    torch.testing.assert_close(fused, w[:, 0, None, None, None] * rgb + w[:, 2, None, None, None] * t)
    _, w = g(rgb, t, None)
    assert torch.all(w[:, 2] == 0)


def test_rgb_only_returns_rgb_exactly():
    g = _randomise(GatedFusion(8))
    rgb = torch.randn(2, 8, 4, 4)
    fused, w = g(rgb)
    assert torch.equal(fused, rgb)
    assert torch.equal(w, torch.tensor([[1.0, 0.0, 0.0]] * 2))


def test_gradients_reach_the_gate():
    g = GatedFusion(4)
    out, _ = g(*(torch.randn(2, 4, 3, 3) for _ in range(3)))
    out.square().sum().backward()
    assert g.gate.weight.grad.abs().sum() > 0


def test_bad_shapes_raise_input_error():
    g = GatedFusion(4)
    with pytest.raises(InputError, match="f_rgb"):
        g(torch.randn(2, 3, 4, 4))
    with pytest.raises(InputError, match="f_thermal"):
        g(torch.randn(2, 4, 4, 4), None, torch.randn(2, 4, 4, 3))
