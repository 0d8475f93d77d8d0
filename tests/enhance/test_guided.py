import cv2
import numpy as np
import pytest

from smartclass.enhance.guided import box_mean, edge_aware_weight, guided_filter, weighted_guided_filter
from smartclass.errors import InputError


def _img(seed=0, shape=(48, 64)):
    rng = np.random.default_rng(seed)
    base = np.zeros(shape, np.float32)
    base[:, shape[1] // 2 :] = 1.0  # a step edge
    return base + 0.05 * rng.normal(size=shape).astype(np.float32)


def _reference_guided(I, p, r, eps):
    """Direct (loop-free but window-explicit) He et al. guided filter with reflected borders."""
    k = 2 * r + 1
    pad = lambda x: np.pad(x, r, mode="symmetric")  # noqa: E731 - cv2 BORDER_REFLECT = numpy 'symmetric'
    win = lambda x: np.lib.stride_tricks.sliding_window_view(pad(x), (k, k)).mean((-1, -2))  # noqa: E731
    mi, mp = win(I), win(p)
    a = (win(I * p) - mi * mp) / (win(I * I) - mi * mi + eps)
    b = mp - a * mi
    return win(a) * I + win(b)


def test_guided_filter_matches_direct_window_computation():
    I, p = _img(0), _img(1)
    np.testing.assert_allclose(guided_filter(I, p, 3, 1e-2), _reference_guided(I.astype(np.float64), p.astype(np.float64), 3, 1e-2), atol=1e-4)


def test_weighted_with_gamma_one_is_he_guided_filter():
    I, p = _img(2), _img(3)
    np.testing.assert_array_equal(weighted_guided_filter(I, p, 4, 1e-2, gamma=np.ones_like(I)), guided_filter(I, p, 4, 1e-2))


def test_constant_image_is_unchanged_and_box_mean_preserves_constants():
    c = np.full((20, 30), 0.7, np.float32)
    np.testing.assert_allclose(guided_filter(c, c, 2, 1e-3), c, atol=1e-6)
    np.testing.assert_allclose(box_mean(c, 5), c, atol=1e-6)


def test_weighted_filter_keeps_edges_sharper_than_plain():
    I = _img(4)
    plain, weighted = guided_filter(I, I, 6, 0.05), weighted_guided_filter(I, I, 6, 0.05)
    mid = I.shape[1] // 2
    jump = lambda q: float(np.mean(q[:, mid + 1] - q[:, mid - 2]))  # noqa: E731
    assert jump(weighted) > jump(plain)
    g = edge_aware_weight(I)
    assert g[:, mid - 1 : mid + 1].mean() > g[:, :5].mean()  # Γ is larger on the edge


def test_smoothing_reduces_noise_in_flat_regions():
    I = _img(5)
    q = guided_filter(I, I, 4, 0.05)
    assert q[:, :20].std() < 0.5 * I[:, :20].std()


def test_bad_input():
    with pytest.raises(InputError, match="equal shapes"):
        guided_filter(np.zeros((4, 4)), np.zeros((4, 5)), 1, 0.1)
    with pytest.raises(InputError, match="single-channel"):
        guided_filter(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), 1, 0.1)
    with pytest.raises(InputError, match="radius"):
        guided_filter(np.zeros((4, 4)), np.zeros((4, 4)), 0, 0.1)
