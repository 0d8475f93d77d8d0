import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig

B, T, S = 2, 4, 32


def _inputs():
    g = torch.Generator().manual_seed(0)
    return (torch.rand(B, T, 3, S, S, generator=g), 1 + 2 * torch.rand(B, T, 1, S, S, generator=g),
            20 + 15 * torch.rand(B, T, 1, S, S, generator=g))


def test_shapes_and_gradients():
    m = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16)))
    rgb, d, th = _inputs()
    o = m(rgb, d, th)
    assert o.logits.shape == (B, 10) and o.keypoints.shape == (B, T, 17, 2) and o.heatmaps.shape[:2] == (B * T, 17)
    assert o.enhanced.shape == (B * T, 3, S, S)
    # depth and thermal start as no-ops (attention scale γ = 0, zero-initialised refinement); after one step
    # every modality's encoder receives gradient from the classification loss
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    o.logits.logsumexp(1).sum().backward()
    opt.step()
    opt.zero_grad()
    m(rgb, d, th).logits.logsumexp(1).sum().backward()
    for name in ("rgb", "depth", "thermal"):
        assert m.dcanet.encoders[name][0][0].weight.grad.abs().sum() > 0, name
    assert torch.allclose(o.fusion.weights.sum(1), torch.ones(B * T))


def test_missing_modalities_get_no_weight():
    m = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16))).eval()
    rgb, _, th = _inputs()
    o = m(rgb, None, th)
    assert (o.fusion.weights[:, 1] == 0).all() and torch.isfinite(o.logits).all()
    o = m(rgb)
    assert torch.equal(o.fusion.weights[:, 0], torch.ones(B * T))


def test_ground_truth_keypoints_replace_predictions():
    m = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16))).eval()
    rgb, d, th = _inputs()
    kp = torch.rand(B, T, 17, 3)
    kp[..., 2] = 2
    o = m(rgb, d, th, keypoints=kp)
    assert torch.allclose(o.keypoints, kp[..., :2])


def test_frame_heatmaps_are_the_per_frame_half_of_forward():
    m = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16))).eval()
    rgb, d, th = _inputs()
    heat = m.frame_heatmaps(rgb.flatten(0, 1), d.flatten(0, 1), th.flatten(0, 1))
    assert torch.allclose(heat, m(rgb, d, th).heatmaps, atol=1e-6)


def test_bad_shapes_are_named():
    m = TrimodalRecognizer(RecognizerConfig(gcn_channels=(16, 16)))
    rgb, d, th = _inputs()
    with pytest.raises(InputError, match=r"rgb must be \(B, T, 3, S, S\)"):
        m(rgb[:, :, :1])
    with pytest.raises(InputError, match="thermal must be"):
        m(rgb, d, th[:, :2])
    with pytest.raises(InputError, match="modalities must include 'rgb'"):
        TrimodalRecognizer(RecognizerConfig(modalities=("depth",)))
