import cv2
import numpy as np
import pytest

from smartclass.enhance import retinex as rx
from smartclass.enhance.guided import guided_filter, weighted_guided_filter
from smartclass.errors import InputError


def scene(h=64, w=96, seed=0):
    """A structured RGB uint8 image: smooth colour ramps, flat rectangles and a checker texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.5 + 0.3 * np.sin(xx / (w / 6)), 0.4 + 0.3 * np.cos(yy / (h / 4)), np.full_like(xx, 0.45)], -1)
    for _ in range(6):
        y0, x0 = rng.integers(0, h - h // 4), rng.integers(0, w - w // 4)
        img[y0 : y0 + h // 5, x0 : x0 + w // 6] = rng.uniform(0.1, 0.9, 3)
    img += 0.1 * ((xx // 8 + yy // 8) % 2)[..., None]
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def darken(clean, factor=0.1, noise=1.0, seed=1):
    rng = np.random.default_rng(seed)
    return np.clip(clean * factor + rng.normal(0, noise, clean.shape), 0, 255).astype(np.uint8)


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def test_dark_image_is_brightened_and_closer_to_clean():
    clean = scene()
    dark = darken(clean)
    out = rx.multiscale_weighted_guided_retinex(dark)
    assert out.dtype == np.uint8 and out.shape == dark.shape
    assert out.mean() > 4 * dark.mean()
    assert psnr(out, clean) > psnr(dark, clean) + 5


def test_float_input_gives_float_output_matching_uint8_path():
    dark = darken(scene())
    out_f = rx.multiscale_weighted_guided_retinex(dark.astype(np.float32) / 255)
    assert out_f.dtype == np.float32 and 0 <= out_f.min() and out_f.max() <= 1
    out_u = rx.multiscale_weighted_guided_retinex(dark)
    assert np.abs(out_f * 255 - out_u).max() <= 0.51


def test_constant_image_stays_constant_and_gets_brighter():
    c = np.full((40, 50, 3), 30, np.uint8)
    out = rx.multiscale_weighted_guided_retinex(c)
    assert out.std() < 1.0
    assert out.mean() > 60


def test_bright_image_is_not_darkened():
    bright = scene()
    out = rx.multiscale_weighted_guided_retinex(bright)
    assert out.mean() >= bright.mean() - 3


def test_relighting_keeps_colour_ratios():
    dark = darken(scene(), noise=0.0)
    x = dark.astype(np.float32) / 255
    out = rx.multiscale_weighted_guided_retinex(x, denoise_radius=0)
    ok = (x.min(-1) > 0.02) & (out.max(-1) < 0.99)  # away from black and from clipping
    ratio = out[ok] / x[ok]
    assert np.allclose(ratio, ratio[:, :1], rtol=1e-3)


def test_zero_lambdas_use_only_the_large_scale_estimate():
    dark = darken(scene())
    x, _ = rx.to_float_rgb(dark)
    ill = rx.estimate_illumination(rx.value_channel(x), lambda1=0, lambda2=0)
    assert not ill.omega.any()
    np.testing.assert_array_equal(ill.fused, ill.large)
    expected = rx._from_float(rx.relight(x, ill.large), True)
    np.testing.assert_array_equal(rx.multiscale_weighted_guided_retinex(dark, lambda1=0, lambda2=0, work_scale=1),
                                  expected)
    # and the full method really does use the small-scale estimate somewhere
    assert not np.array_equal(rx.multiscale_weighted_guided_retinex(dark, work_scale=1), expected)


def test_adaptive_weight_is_large_on_edges_and_texture():
    g = np.full((40, 60), 0.2, np.float32)
    g[:, 30:] = 0.8
    omega = rx.adaptive_weight(g, 3)
    assert omega.min() >= 0 and omega.max() <= 1
    assert omega[:, 29:31].mean() > 0.5 > omega[:, :10].mean()
    assert rx.adaptive_weight(g, 3, lambda1=1.0, lambda2=1.0).max() == 1.0  # clipped to [0, 1]


def test_small_scale_estimate_is_li_weighted_guided_filter():
    v = rx.value_channel(rx.to_float_rgb(darken(scene()))[0])
    ill = rx.estimate_illumination(v, small_radius=3, eps_small=1e-3)
    eps = 1e-3 * (v.max() - v.min()) ** 2
    np.testing.assert_allclose(ill.small, weighted_guided_filter(v, v, 3, eps), atol=1e-5)
    q, _ = rx._self_guided(v, 2, 1e-3)
    np.testing.assert_allclose(q, guided_filter(v, v, 2, 1e-3), atol=1e-5)


def test_fast_filter_scale_one_is_exact_and_scale_four_is_close():
    v = cv2.GaussianBlur(scene()[..., 1].astype(np.float32) / 255, (0, 0), 2)
    full = weighted_guided_filter(v, v, 8, 1e-3)
    np.testing.assert_array_equal(rx.fast_weighted_guided_filter(v, v, 8, 1e-3, 1), full)
    fast = rx.fast_weighted_guided_filter(v, v, 8, 1e-3, 4)
    assert fast.shape == v.shape
    assert np.abs(fast - full).mean() < 0.02


def test_denoising_smooths_flat_regions_and_keeps_edges():
    clean = np.full((48, 64, 3), 120, np.uint8)
    clean[:, 32:] = 240
    dark = darken(clean, 0.1, noise=1.5, seed=3)
    on = rx.multiscale_weighted_guided_retinex(dark, denoise_radius=3).astype(np.float32)
    off = rx.multiscale_weighted_guided_retinex(dark, denoise_radius=0).astype(np.float32)
    flat = np.s_[5:-5, 4:24]
    assert on[flat].std() < 0.6 * off[flat].std()
    jump = lambda o: o[:, 36:44].mean() - o[:, 20:28].mean()  # noqa: E731
    assert jump(on) > 0.9 * jump(off) > 0


def test_single_scale_ablation_enhances_too():
    clean = scene()
    dark = darken(clean)
    out = rx.guided_retinex_single_scale(dark, radius=8)
    assert out.dtype == np.uint8 and psnr(out, clean) > psnr(dark, clean) + 5


def test_gamma_correction():
    dark = darken(scene())
    out = rx.gamma_correction(dark, 0.5)
    assert out.dtype == np.uint8 and out.mean() > 2 * dark.mean()
    out_f = rx.gamma_correction(dark.astype(np.float32) / 255, 0.5)
    assert np.abs(out_f * 255 - out).max() <= 0.51
    np.testing.assert_array_equal(rx.gamma_correction(dark, 1.0), dark)


def test_clahe_raises_local_contrast_and_keeps_dtype():
    low = (scene().astype(np.float32) * 0.2 + 80).astype(np.uint8)
    out = rx.clahe_rgb(low, clip_limit=2.0, tiles=4)
    assert out.dtype == np.uint8 and out.shape == low.shape
    lum = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2LAB)[..., 0].astype(float)  # noqa: E731
    assert lum(out).std() > 1.5 * lum(low).std()
    stronger = rx.clahe_rgb(low, clip_limit=8.0, tiles=4)
    assert lum(stronger).std() > lum(out).std()  # the explicit clip limit matters


def test_msr_and_msrcr_stretch_a_dark_image():
    clean = scene()
    dark = darken(clean, 0.15)
    for f in (rx.msr, rx.msrcr):
        out = f(dark)
        assert out.dtype == np.uint8 and out.shape == dark.shape
        assert out.mean() > 3 * dark.mean()
        assert out.min() == 0 and out.max() == 255  # quantile stretch
        assert psnr(out, clean) > psnr(dark, clean)


def test_large_sigma_surround_is_close_to_exact_gaussian():
    x = scene(80, 120).astype(np.float32)
    exact = cv2.GaussianBlur(x, (0, 0), 40, borderType=cv2.BORDER_REFLECT)
    approx = rx._gaussian_surround(x, 40)
    assert np.abs(approx - exact).mean() < 0.02 * exact.mean()


def test_bad_input():
    with pytest.raises(InputError, match=r"rgb must be an RGB image of shape \(H, W, 3\)"):
        rx.multiscale_weighted_guided_retinex(np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match=r"rgb must be an RGB image.*\(8, 8, 4\)"):
        rx.msr(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(InputError, match="uint8 in \\[0, 255\\] or float in \\[0, 1\\], got dtype int32"):
        rx.clahe_rgb(np.zeros((8, 8, 3), np.int32))
    with pytest.raises(InputError, match="expected \\[0, 1\\]"):
        rx.multiscale_weighted_guided_retinex(np.full((8, 8, 3), 3.0, np.float32))
    with pytest.raises(InputError, match="NaN"):
        rx.multiscale_weighted_guided_retinex(np.full((8, 8, 3), np.nan, np.float32))
    with pytest.raises(InputError, match="gamma must be > 0"):
        rx.gamma_correction(np.zeros((8, 8, 3), np.uint8), 0)
    with pytest.raises(InputError, match="clip_limit"):
        rx.clahe_rgb(np.zeros((8, 8, 3), np.uint8), clip_limit=0)
    with pytest.raises(InputError, match="small_radius"):
        rx.multiscale_weighted_guided_retinex(np.zeros((8, 8, 3), np.uint8), small_radius=0)


def test_noise_estimate_recovers_gaussian_noise_and_ignores_ramps():
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    ramp = np.stack([0.2 + xx / 400, 0.3 + yy / 500, 0.4 + (xx + yy) / 1000], -1)  # linear: invisible to N
    assert rx.estimate_noise(ramp) < 1e-4
    rng = np.random.default_rng(0)
    for sigma in (0.01, 0.04):
        noisy = ramp + rng.normal(0, sigma, ramp.shape).astype(np.float32)
        grey_sigma = sigma * np.sqrt(0.299**2 + 0.587**2 + 0.114**2)  # independent channel noise
        assert abs(rx.estimate_noise(noisy) - grey_sigma) < 0.1 * grey_sigma


def test_automatic_denoising_strength_is_k_times_the_estimated_noise():
    dark = darken(scene(), noise=2.0)
    sigma = rx.estimate_noise(dark.astype(np.float32) / 255)
    auto = rx.multiscale_weighted_guided_retinex(dark)
    fixed = rx.multiscale_weighted_guided_retinex(dark, denoise_eps=(rx.DENOISE_K * sigma) ** 2)
    assert np.abs(auto.astype(int) - fixed).max() <= 1
    weaker = rx.multiscale_weighted_guided_retinex(dark, denoise_k=1.0)
    flat = np.s_[2:10, 2:10]  # the noisier the estimate × k, the smoother the flat regions
    assert auto[flat].astype(float).std() < weaker[flat].astype(float).std()


def test_exposure_brings_the_output_mean_to_the_target():
    dark = darken(scene(), factor=0.08, noise=0.5)
    for target in (0.4, 0.5):
        out = rx.multiscale_weighted_guided_retinex(dark, target_mean=target)
        assert abs(out.mean() / 255 - target) < 0.02
    # without exposure only the illumination compression L^(γ-1) brightens (much less)
    assert rx.multiscale_weighted_guided_retinex(dark, target_mean=None).mean() < 0.6 * 0.5 * 255
    # γ = 1 without denoising: one global gain k for every pixel
    x = dark.astype(np.float32) / 255
    out = rx.multiscale_weighted_guided_retinex(x, gamma=1.0, denoise_radius=0)
    ok = (x > 0.02) & (out < 0.99)
    ratio = out[ok] / x[ok]
    assert np.allclose(ratio, np.median(ratio), rtol=1e-4) and np.median(ratio) > 3


def test_work_scale_two_is_close_to_full_resolution():
    clean = scene(96, 128)
    dark = darken(clean, noise=1.5)
    full = rx.multiscale_weighted_guided_retinex(dark, work_scale=1)
    half = rx.multiscale_weighted_guided_retinex(dark, work_scale=2)
    assert half.shape == full.shape
    assert abs(psnr(half, clean) - psnr(full, clean)) < 1.0
    assert np.abs(half.astype(float) - full).mean() < 4
    odd = darken(scene(61, 89))  # sizes that are not multiples of the work scale
    assert rx.multiscale_weighted_guided_retinex(odd, work_scale=2).shape == odd.shape


def test_outputs_are_fresh_arrays_not_reused_scratch():
    a, b = darken(scene(), seed=1), darken(scene(), factor=0.2, seed=2)
    for kind in (lambda im: im, lambda im: im.astype(np.float32) / 255):
        first = rx.multiscale_weighted_guided_retinex(kind(a))
        keep = first.copy()
        second = rx.multiscale_weighted_guided_retinex(kind(b))
        np.testing.assert_array_equal(first, keep)  # the second call did not write into the first result
        assert not np.shares_memory(first, second)
    x = a.astype(np.float32) / 255
    L = rx.value_channel(x)
    r1 = rx.relight(x, L, target_mean=None)
    r2 = rx.relight(x * 0.5, L, target_mean=None)
    assert not np.shares_memory(r1, r2) and not np.array_equal(r1, r2)
