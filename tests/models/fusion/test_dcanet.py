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


def test_no_deformable_switch_builds_the_plain_conv_path():
    from smartclass.models.fusion.deformable import DeformableAlign
    from smartclass.models.fusion.dcanet import PlainAlign

    full, plain = DCANet(width=8), DCANet(width=8, deformable=False)
    assert all(isinstance(m, DeformableAlign) for m in full.align.values())
    assert all(isinstance(m, PlainAlign) for m in plain.align.values())
    assert not any("offset" in k for k in plain.state_dict())
    # a plain 3×3 conv is what the deformable block is at zero offsets (mask 1): same numbers, same weights
    for m in ("depth", "thermal"):
        plain.align[m].conv.weight.data.copy_(full.align[m].conv.weight.data)
        plain.align[m].conv.bias.data.copy_(full.align[m].conv.bias.data)
    plain.encoders.load_state_dict(full.encoders.state_dict())
    plain.attention.load_state_dict(full.attention.state_dict())
    full.eval(), plain.eval()
    rgb, d, t = _inputs()
    torch.testing.assert_close(full(rgb, d, t).fused, plain(rgb, d, t).fused, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_baseline_fusions_have_no_alignment_attention_or_gates(fusion):
    from smartclass.models.fusion.dcanet import SqueezeExcitation

    net = DCANet(width=8, fusion=fusion)
    names = {n.split(".")[0] for n, _ in net.named_modules() if n}
    assert not names & {"align", "attention", "gate"}
    assert isinstance(net.channel_attention, SqueezeExcitation) == (fusion == "attention")
    out = net(*_inputs())
    assert out.fused.shape == (2, 8, 8, 8) and out.depth_mod is None
    torch.testing.assert_close(out.weights, torch.full((2, 3), 1 / 3))
    with pytest.raises(InputError, match="fusion must be one of"):
        DCANet(width=8, fusion="sum")


@pytest.mark.parametrize("fusion", ["dca", "concat"])
def test_per_sample_missing_modality_equals_that_sample_alone(fusion):
    """Modality dropout: sample 0 without depth in a mixed batch gives what it gives when depth is absent."""
    net = DCANet(width=8, fusion=fusion).eval()
    if fusion == "dca":  # at initialisation (γ_k = 0) every modulated map equals F_RGB: make depth matter
        net.attention.depth.gamma.data.fill_(0.5)
    rgb, d, t = _inputs()
    present = torch.tensor([[False, True], [True, True]])
    out = net(rgb, d, t, present=present)
    if fusion == "dca":
        assert out.weights[0, 1] == 0 and out.weights[1, 1] > 0
    alone = net(rgb[:1], torch.zeros_like(d[:1]), t[:1], present=torch.tensor([[False, True]]))
    torch.testing.assert_close(out.fused[:1], alone.fused, rtol=1e-4, atol=1e-5)
    full = net(rgb, d, t)
    torch.testing.assert_close(out.fused[1:], full.fused[1:], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(out.fused[:1], full.fused[:1])
    with pytest.raises(InputError, match="present must be a boolean"):
        net(rgb, d, t, present=torch.ones(2, 3, dtype=torch.bool))
