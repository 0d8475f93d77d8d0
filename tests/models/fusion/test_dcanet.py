import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.fusion.dcanet import DCANet, DCANetOutput


def _inputs(n=2, h=32, w=32):
    torch.manual_seed(0)
    return torch.randn(n, 3, h, w), torch.randn(n, 1, h, w), torch.randn(n, 1, h, w)


def test_shapes_and_outputs():
    net = DCANet(width=16)
    rgb, d, t = _inputs()
    out = net(rgb, d, t)
    assert isinstance(out, DCANetOutput)
    assert out.fused.shape == (2, 16, 8, 8)
    assert out.rgb.shape == out.depth.shape == out.thermal.shape == (2, 16, 8, 8)
    assert out.depth_mod.shape == out.thermal_mod.shape == (2, 16, 8, 8)
    assert out.weights.shape == (2, 3)
    torch.testing.assert_close(out.weights.sum(1), torch.ones(2))


def test_odd_size_gives_ceil_quarter():
    out = DCANet(width=8)(*_inputs(1, 30, 22))
    assert out.fused.shape == (1, 8, 8, 6)


def test_missing_modalities():
    net = DCANet(width=16)
    rgb, d, t = _inputs()
    out = net(rgb, None, t)
    assert out.depth is None and out.depth_mod is None and torch.all(out.weights[:, 1] == 0)
    out = net(rgb)
    assert out.depth is None and out.thermal is None
    assert torch.equal(out.fused, out.rgb)
    assert torch.equal(out.weights, torch.tensor([[1.0, 0.0, 0.0]] * 2))


def test_backward_reaches_every_encoder_and_offsets():
    net = DCANet(width=8)
    out = net(*_inputs())
    align = (out.depth - out.rgb).abs().mean() + (out.thermal - out.rgb).abs().mean()
    (out.fused.square().mean() + align).backward()
    for m in ("rgb", "depth", "thermal"):
        assert net.encoders[m][0][0].weight.grad.abs().sum() > 0
    assert net.align["depth"].offset_conv.weight.grad.abs().sum() > 0
    # the modulation strengths start at 0 and are the first to learn from the fused map
    assert net.attention.depth.gamma.grad.abs() > 0 and net.attention.thermal.gamma.grad.abs() > 0


def test_rgb_depth_only_network():
    net = DCANet({"rgb": 3, "depth": 1}, width=8)
    rgb, d, t = _inputs()
    assert net(rgb, d).thermal is None
    with pytest.raises(InputError, match="thermal"):
        net(rgb, d, t)


def test_bad_inputs_raise_input_error():
    net = DCANet(width=8)
    rgb, d, t = _inputs()
    with pytest.raises(InputError, match="rgb"):
        net(torch.randn(2, 1, 32, 32))
    with pytest.raises(InputError, match="depth"):
        net(rgb, torch.randn(2, 1, 16, 32))
    with pytest.raises(InputError, match="thermal"):
        net(rgb, d, torch.randn(2, 3, 32, 32))
    with pytest.raises(InputError, match="in_channels"):
        DCANet({"depth": 1})
