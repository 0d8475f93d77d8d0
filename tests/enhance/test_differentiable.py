import numpy as np
import pytest
import torch

from smartclass.enhance import differentiable as D
from smartclass.enhance import retinex as rx
from smartclass.enhance.guided import box_mean, guided_filter, weighted_guided_filter
from smartclass.errors import InputError


def scene(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.5 + 0.3 * np.sin(xx / 9), 0.4 + 0.3 * np.cos(yy / 13), np.full_like(xx, 0.45)], -1)
    for _ in range(5):
        y0, x0 = rng.integers(0, h - h // 4), rng.integers(0, w - w // 4)
        img[y0 : y0 + h // 5, x0 : x0 + w // 6] = rng.uniform(0.1, 0.9, 3)
    img += 0.1 * ((xx // 6 + yy // 6) % 2)[..., None]
    dark = np.clip(img, 0, 1) * 255 * rng.uniform(0.08, 0.3) + rng.normal(0, 1.5, img.shape)
    return np.clip(dark, 0, 255).astype(np.uint8)


def t(x):
    """(H, W) or (H, W, C) numpy → (1, C, H, W) tensor."""
    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    return x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]


@pytest.mark.parametrize("r", [1, 3, 20, 70])  # 70 is larger than the image: repeated reflection
def test_box_filter_matches_box_mean(r):
    g = scene(48, 64)[..., 0].astype(np.float32) / 255
    np.testing.assert_allclose(D.box_filter_t(t(g), r)[0, 0].numpy(), box_mean(g, r), atol=1e-5)


def test_guided_filters_match_numpy():
    img = scene(48, 64).astype(np.float32) / 255
    g, p = img[..., 0], img[..., 1]
    np.testing.assert_allclose(D.guided_filter_t(t(g), t(p), 3, 1e-3)[0, 0].numpy(), guided_filter(g, p, 3, 1e-3),
                               atol=1e-3)
    np.testing.assert_allclose(D.weighted_guided_filter_t(t(g), t(p), 3, 1e-3)[0, 0].numpy(),
                               weighted_guided_filter(g, p, 3, 1e-3), atol=2e-3)


@pytest.mark.parametrize("shape", [(48, 64), (45, 62)])  # divisible by the scale, and not
def test_fast_filter_matches_numpy(shape):
    v = scene(*shape).max(-1).astype(np.float32) / 255
    np.testing.assert_allclose(D.fast_weighted_guided_filter_t(t(v), t(v), 9, 1e-4, 4)[0, 0].numpy(),
                               rx.fast_weighted_guided_filter(v, v, 9, 1e-4, 4), atol=2e-3)


@pytest.mark.parametrize("shape", [(64, 96), (61, 90)])
def test_retinex_matches_numpy_path(shape):
    imgs = [scene(*shape, seed=s) for s in (0, 1)]
    batch = torch.cat([t(i / 255.0) for i in imgs])  # per-image γ and ε inside one batch
    out = D.multiscale_weighted_guided_retinex_t(batch)
    assert out.shape == batch.shape
    for k, img in enumerate(imgs):
        ref = rx.multiscale_weighted_guided_retinex(img).astype(np.float32) / 255
        assert np.abs(out[k].permute(1, 2, 0).numpy() - ref).max() < 2 / 255
    fixed = D.multiscale_weighted_guided_retinex_t(batch[:1], gamma=0.5, denoise_radius=0, lambda1=0, lambda2=0)
    ref = rx.multiscale_weighted_guided_retinex(imgs[0], gamma=0.5, denoise_radius=0, lambda1=0, lambda2=0)
    assert np.abs(fixed[0].permute(1, 2, 0).numpy() - ref / 255.0).max() < 2 / 255


def test_gradients_are_finite_even_on_a_constant_image():
    for x in (t(scene(32, 48) / 255.0), torch.full((1, 3, 32, 48), 0.2)):
        x = x.clone().requires_grad_(True)
        D.multiscale_weighted_guided_retinex_t(x).mean().backward()
        assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_device_and_dtype_follow_the_input():
    x = torch.rand(1, 3, 20, 24, dtype=torch.float64)
    out = D.multiscale_weighted_guided_retinex_t(x)
    assert out.dtype == torch.float64 and out.device == x.device


def test_bad_input():
    with pytest.raises(InputError, match=r"rgb must be \(N, 3, H, W\)"):
        D.multiscale_weighted_guided_retinex_t(torch.zeros(3, 8, 8))
    with pytest.raises(InputError, match="float tensor"):
        D.multiscale_weighted_guided_retinex_t(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(InputError, match="equal shapes"):
        D.guided_filter_t(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 9), 2, 0.1)
    with pytest.raises(InputError, match="r must be >= 1"):
        D.box_filter_t(torch.zeros(1, 1, 8, 8), 0)


def test_noise_and_exposure_twins_match_numpy():
    imgs = [scene(48, 64, seed=s).astype(np.float32) / 255 for s in (2, 3)]
    batch = torch.cat([t(i) for i in imgs])
    sig = D.estimate_noise_t(batch)
    assert sig.shape == (2, 1, 1, 1)
    for k, img in enumerate(imgs):
        assert abs(float(sig[k]) - rx.estimate_noise(img)) < 1e-5
        base = (1.5 + np.random.default_rng(k).uniform(size=img.shape[:2])).astype(np.float32)
        kk = D.exposure_gain_t(t(img), t(base), 0.5)
        assert abs(float(kk) - rx.exposure_gain(img, base, 0.5)) < 1e-3 * rx.exposure_gain(img, base, 0.5)


@pytest.mark.parametrize("kw", [dict(work_scale=1), dict(gamma=1.0, target_mean=None), dict(denoise_eps=1e-3)])
def test_retinex_options_match_numpy(kw):
    img = scene(61, 90, seed=4)
    out = D.multiscale_weighted_guided_retinex_t(t(img / 255.0), **kw)
    ref = rx.multiscale_weighted_guided_retinex(img, **kw).astype(np.float32) / 255
    assert np.abs(out[0].permute(1, 2, 0).numpy() - ref).max() < 2 / 255


def test_illumination_gate_passes_well_lit_frames_and_enhances_dark_ones():
    from smartclass.enhance.differentiable import gated_enhancement, illumination_gate

    bright = torch.full((1, 3, 8, 8), 0.6)
    dark = torch.full((1, 3, 8, 8), 0.1)
    mid = torch.full((1, 3, 8, 8), 0.3)
    g = illumination_gate(torch.cat([bright, dark, mid]), dark=0.2, bright=0.4)
    assert g.shape == (3, 1, 1, 1)
    assert g[0].item() == 0.0 and g[1].item() == 1.0
    assert g[2].item() == pytest.approx(0.5)  # smoothstep(1/2)
    enhanced = torch.rand(3, 3, 8, 8)
    out = gated_enhancement(torch.cat([bright, dark, mid]), enhanced, g)
    assert torch.equal(out[0], bright[0]) and torch.allclose(out[1], enhanced[1])


def test_illumination_gate_is_smooth_and_differentiable():
    from smartclass.enhance.differentiable import illumination_gate

    x = torch.full((1, 3, 4, 4), 0.35, requires_grad=True)
    g = illumination_gate(x, dark=0.2, bright=0.4)
    g.sum().backward()
    assert x.grad is not None and (x.grad < 0).all()  # brighter → less enhancement
    # C¹ at the ends: the slope vanishes as the statistic reaches a threshold
    eps = 1e-3
    near = illumination_gate(torch.full((1, 3, 2, 2), 0.4 - eps), dark=0.2, bright=0.4)
    assert 0 < near.item() < 1e-4


def test_illumination_gate_numpy_path_matches_tensor_path():
    from smartclass.enhance.differentiable import illumination_gate

    rng = np.random.default_rng(0)
    img = rng.integers(0, 160, (12, 16, 3)).astype(np.uint8)
    t = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    assert illumination_gate(img, 0.2, 0.5) == pytest.approx(illumination_gate(t, 0.2, 0.5).item(), abs=1e-6)
    assert isinstance(illumination_gate(img, 0.2, 0.5), float)
    p = illumination_gate(t, 0.2, 0.5, percentile=90)
    assert p.item() < illumination_gate(t, 0.2, 0.5).item()  # the 90th percentile is brighter than the mean
    with pytest.raises(InputError, match="dark < bright"):
        illumination_gate(t, 0.5, 0.2)
    with pytest.raises(InputError, match=r"\(N, 3, H, W\)"):
        illumination_gate(t[:, :1], 0.2, 0.5)
