import pytest
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.losses.fusion import (
    FusionLoss,
    alignment_loss,
    mutual_information,
    mutual_information_loss,
    soft_histogram,
)


def _smooth_image(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(n, 1, 6, 6, generator=g), size=size, mode="bilinear", align_corners=False)


def _entropy(x, bins=32):
    h = torch.histc(x.flatten(), bins, 0, 1) / x.numel()
    h = h[h > 0]
    return -(h * h.log()).sum()


def test_soft_histogram_rows_sum_to_one():
    k = soft_histogram(torch.rand(2, 50), bins=16)
    assert k.shape == (2, 50, 16)
    torch.testing.assert_close(k.sum(-1), torch.ones(2, 50))


def test_mi_of_identical_beats_noise():
    x = _smooth_image()
    noise = torch.rand_like(x, generator=torch.Generator().manual_seed(1))
    mi_xx = mutual_information(x, x)
    mi_xn = mutual_information(x, noise)
    assert mi_xx.shape == (2,)
    assert torch.all(mi_xx > 10 * mi_xn) and torch.all(mi_xn >= -1e-6)
    # a monotone transform keeps the information; a half-noise mix loses some
    assert torch.all(mutual_information(x, x.square() * 5 + 1) > 0.9 * mi_xx)
    assert torch.all(mutual_information(x, 0.5 * x + 0.5 * noise) < mi_xx)


def test_mi_of_identical_is_entropy_for_a_narrow_kernel():
    g = torch.Generator().manual_seed(2)
    levels = torch.randint(0, 32, (1, 1, 32, 32), generator=g).float()
    levels[0, 0, 0, 0], levels[0, 0, 0, 1] = 0, 31  # 32 evenly spaced levels: each on a bin centre
    x = (levels + 0.5) / 32
    h = _entropy(x)
    mi = mutual_information(x, x, sigma=0.25)[0]
    assert abs(mi - h) < 0.01 * h
    # the wider default kernel smooths the joint histogram: a lower, still sizeable value, never above H
    mi_default = mutual_information(x, x)[0]
    assert 0.6 * h < mi_default < h


def test_mi_is_symmetric_and_handles_resolution_and_channels():
    a, b = _smooth_image(size=16), _smooth_image(size=16, seed=3)
    torch.testing.assert_close(mutual_information(a, b), mutual_information(b, a), atol=1e-5, rtol=1e-4)
    feats = torch.randn(2, 8, 8, 8)
    img = torch.rand(2, 3, 32, 32)
    assert mutual_information(feats, img).shape == (2,)


def test_mi_loss_is_minus_sum_and_skips_missing_and_is_differentiable():
    x = _smooth_image()
    fused = x.clone().requires_grad_()
    d, t = _smooth_image(seed=4), _smooth_image(seed=5)
    loss = mutual_information_loss(fused, [x, None, t])
    ref = -(mutual_information(fused, x) + mutual_information(fused, t)).mean()
    torch.testing.assert_close(loss, ref)
    loss.backward()
    assert torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0
    assert mutual_information_loss(x, [x]) < mutual_information_loss(x, [d])
    with pytest.raises(InputError, match="sources"):
        mutual_information_loss(x, [None, None])


def test_alignment_loss_zero_for_identical_and_masked():
    f = torch.randn(2, 8, 6, 6)
    assert alignment_loss(f, f.clone(), f.clone()) == 0
    assert alignment_loss(f) == 0
    d = f + 1.0
    torch.testing.assert_close(alignment_loss(f, d), torch.tensor(1.0))
    torch.testing.assert_close(alignment_loss(f, d, d), torch.tensor(2.0))
    torch.testing.assert_close(alignment_loss(f, None, d, distance="l1"), torch.tensor(1.0))
    torch.testing.assert_close(alignment_loss(f, 3 * f, distance="cosine"), torch.tensor(0.0), atol=1e-6, rtol=0)


def test_alignment_loss_detaches_the_rgb_reference():
    f = torch.randn(2, 4, 3, 3, requires_grad=True)
    d = torch.randn(2, 4, 3, 3, requires_grad=True)
    alignment_loss(f, d).backward()
    assert f.grad is None and d.grad.abs().sum() > 0
    f2 = f.detach().clone().requires_grad_()
    alignment_loss(f2, d, detach_reference=False).backward()
    assert f2.grad.abs().sum() > 0


def test_fusion_loss_combines_terms():
    x, d = _smooth_image(), _smooth_image(seed=6)
    f_rgb, f_d = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    loss = FusionLoss(lambda_mi=0.5, lambda_align=2.0)(x, [x, d, None], f_rgb, f_d, None)
    ref = 0.5 * mutual_information_loss(x, [x, d]) + 2.0 * alignment_loss(f_rgb, f_d)
    torch.testing.assert_close(loss, ref)


def test_bad_inputs_raise_input_error():
    f = torch.randn(2, 4, 3, 3)
    with pytest.raises(InputError, match="f_depth"):
        alignment_loss(f, torch.randn(2, 4, 3, 2))
    with pytest.raises(InputError, match="distance"):
        alignment_loss(f, f, distance="l2")
    with pytest.raises(InputError, match="x and y"):
        mutual_information(torch.rand(2, 1, 8, 8), torch.rand(3, 1, 8, 8))
    with pytest.raises(InputError, match="distance"):
        FusionLoss(distance="kl")


def test_dropped_modalities_are_left_out_per_sample():
    """Modality dropout: a sample without depth adds nothing to the depth terms of eqs. 14–15."""
    torch.manual_seed(0)
    f_rgb, f_d, f_t = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    present = torch.tensor([[False, True], [True, True]])
    masked = alignment_loss(f_rgb, f_d, f_t, present=present)
    expected = alignment_loss(f_rgb[1:], f_d[1:]) + alignment_loss(f_rgb, None, f_t)
    torch.testing.assert_close(masked, expected)
    assert alignment_loss(f_rgb, f_d, None, present=torch.zeros(2, 2, dtype=torch.bool)) == 0
    torch.testing.assert_close(alignment_loss(f_rgb, f_d, f_t, present=torch.ones(2, 2, dtype=torch.bool)),
                               alignment_loss(f_rgb, f_d, f_t))
    loss = FusionLoss()
    sources = (torch.rand(2, 3, 12, 12), torch.rand(2, 1, 12, 12), torch.rand(2, 1, 12, 12))
    fused = torch.randn(2, 4, 6, 6)
    full = loss(fused, sources, f_rgb, f_d, f_t, present=torch.ones(2, 2, dtype=torch.bool))
    torch.testing.assert_close(full, loss(fused, sources, f_rgb, f_d, f_t))
    dropped = loss(fused, sources, f_rgb, f_d, f_t, present=present)
    mi_depth_0 = mutual_information(fused[:1], sources[1][:1])  # the term sample 0 no longer has, / batch size
    align_change = alignment_loss(f_rgb, f_d, f_t, present=present) - alignment_loss(f_rgb, f_d, f_t)
    torch.testing.assert_close(dropped - full, mi_depth_0[0] / 2 + align_change)
