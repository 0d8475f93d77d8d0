import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.keypoints import (
    HEAD_KEYPOINTS,
    KeypointEncoder,
    KeypointHead,
    heatmap_targets,
    sample_keypoint_features,
    soft_argmax,
)


def _keypoints(n=2, k=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    uv = 0.1 + 0.8 * torch.rand(n, k, 2, generator=g)
    vis = torch.ones(n, k, 1)
    return torch.cat((uv, vis), dim=-1)


def test_head_keypoints_are_the_first_six():
    assert HEAD_KEYPOINTS == (0, 1, 2, 3, 4, 5)


def test_head_shapes_and_thermal_refinement():
    torch.manual_seed(0)
    fused, thermal = torch.randn(2, 8, 12, 12), torch.randn(2, 4, 12, 12)
    head = KeypointHead(8, 17, mid=16)
    assert head(fused).shape == (2, 17, 24, 24)
    ref = KeypointHead(8, 17, mid=16, thermal_head_refinement=True, thermal_channels=4)
    ref.load_state_dict(head.state_dict(), strict=False)
    head.eval(), ref.eval()
    torch.testing.assert_close(ref(fused, thermal), head(fused))  # zero-initialised refinement
    with torch.no_grad():
        ref.thermal[-1].bias.fill_(1.0)
    diff = ref(fused, thermal) - head(fused)
    assert torch.allclose(diff[:, :6], torch.ones_like(diff[:, :6]))
    assert torch.all(diff[:, 6:] == 0)  # only the head keypoints are refined
    torch.testing.assert_close(ref(fused, None), head(fused))  # thermal missing: skipped


def test_head_thermal_refinement_gets_gradients():
    ref = KeypointHead(8, mid=8, thermal_head_refinement=True)
    ref(torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)).sum().backward()
    assert ref.thermal[-1].weight.grad.abs().sum() > 0


def test_heatmap_targets_peak_and_visibility():
    kp = torch.tensor([[[0.5 / 16, 0.5 / 16, 1.0], [10.5 / 16, 3.5 / 16, 1.0], [0.5, 0.5, 0.0], [1.2, 0.5, 1.0]]])
    t, w = heatmap_targets(kp, 16, sigma=1.5)
    assert t.shape == (1, 4, 16, 16)
    assert torch.equal(w, torch.tensor([[1.0, 1.0, 0.0, 0.0]]))
    assert t[0, 0, 0, 0] == 1.0 and t[0, 1, 3, 10] == 1.0
    assert t[0, 1].argmax() == 3 * 16 + 10
    assert torch.all(t[0, 2:] == 0)
    t2, _ = heatmap_targets(kp, (8, 16), sigma=1.0)
    assert t2.shape == (1, 4, 8, 16)


@pytest.mark.parametrize("size", [16, 24])
def test_soft_argmax_recovers_target_keypoint(size):
    kp = _keypoints(3, 17)
    t, _ = heatmap_targets(kp, size, sigma=2.0)
    coords, conf = soft_argmax(t)
    assert coords.shape == (3, 17, 2) and conf.shape == (3, 17)
    assert (coords - kp[..., :2]).abs().max() < 1 / size
    assert torch.all(conf > 0.5) and torch.all(conf <= 1)


def test_soft_argmax_rectangular_and_differentiable():
    kp = _keypoints(1, 5, seed=1)
    t, _ = heatmap_targets(kp, (12, 20), sigma=1.5)
    t.requires_grad_()
    coords, _ = soft_argmax(t)
    assert (coords - kp[..., :2]).abs().max() < 1 / 20
    coords.sum().backward()
    assert t.grad.abs().sum() > 0


def test_sampling_at_pixel_centres_returns_stored_values():
    torch.manual_seed(1)
    fmap = torch.randn(2, 6, 9, 11)
    ix = torch.tensor([[0, 3, 10], [5, 7, 1]])
    iy = torch.tensor([[0, 4, 8], [2, 6, 3]])
    kp = torch.stack(((ix + 0.5) / 11, (iy + 0.5) / 9), dim=-1).float()
    out = sample_keypoint_features(fmap, kp, sampling_ratio=1)
    assert out.shape == (2, 6, 3)
    ref = torch.stack([fmap[b][:, iy[b], ix[b]] for b in range(2)])
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_roialign_bin_mean_on_a_linear_map_equals_centre_value():
    h, w = 10, 12
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    fmap = (2 * xx - 3 * yy + 1)[None, None]  # value at pixel index (x, y)
    kp = torch.tensor([[[0.37, 0.52], [0.6, 0.3]]])
    out = sample_keypoint_features(fmap, kp, roi_size=2.0, sampling_ratio=2)
    x, y = kp[0, :, 0] * w - 0.5, kp[0, :, 1] * h - 0.5
    torch.testing.assert_close(out[0, 0], 2 * x - 3 * y + 1, atol=1e-4, rtol=1e-5)


def test_sampling_outside_reads_border():
    fmap = torch.arange(4.0).view(1, 1, 1, 4)
    out = sample_keypoint_features(fmap, torch.tensor([[[-0.2, 0.5], [1.3, 0.5]]]), sampling_ratio=1)
    torch.testing.assert_close(out[0, 0], torch.tensor([0.0, 3.0]))


def test_keypoint_encoder_is_eq6_linear_layer():
    torch.manual_seed(2)
    enc = KeypointEncoder(6, 10)
    feats, kp, conf = torch.randn(2, 6, 17), torch.rand(2, 17, 2), torch.rand(2, 17)
    out = enc(feats, kp, conf)
    assert out.shape == (2, 10, 17)
    x = torch.cat((feats, kp.transpose(1, 2), conf[:, None]), dim=1)  # (N, C + 3, K)
    ref = torch.einsum("oc,nck->nok", enc.proj.weight[..., 0], x) + enc.proj.bias[None, :, None]
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_end_to_end_head_to_encoder():
    fused = torch.randn(2, 8, 6, 6)
    heat = KeypointHead(8, mid=8)(fused)
    coords, conf = soft_argmax(heat)
    feats = sample_keypoint_features(fused, coords)
    assert KeypointEncoder(8, 16)(feats, coords, conf).shape == (2, 16, 17)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="fused"):
        KeypointHead(8)(torch.randn(2, 4, 6, 6))
    with pytest.raises(InputError, match="thermal"):
        KeypointHead(8, thermal_head_refinement=True)(torch.randn(2, 8, 6, 6), torch.randn(2, 8, 5, 6))
    with pytest.raises(InputError, match="keypoints"):
        heatmap_targets(torch.rand(2, 17, 2), 16)
    with pytest.raises(InputError, match="heatmaps"):
        soft_argmax(torch.rand(17, 16, 16))
    with pytest.raises(InputError, match="keypoints"):
        sample_keypoint_features(torch.randn(2, 4, 6, 6), torch.rand(3, 17, 2))
    with pytest.raises(InputError, match="confidence"):
        KeypointEncoder(4, 8)(torch.randn(2, 4, 17), torch.rand(2, 17, 2), torch.rand(2, 16))
    with pytest.raises(InputError, match="head_keypoints"):
        KeypointHead(8, num_keypoints=4)
