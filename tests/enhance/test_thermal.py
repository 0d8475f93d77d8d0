import cv2
import numpy as np
import pytest

from smartclass.enhance.thermal import enhance_thermal, fill_nonfinite
from smartclass.errors import InputError


def classroom(h=64, w=96, seed=0):
    """A 22 °C room with a few 33–35 °C faces and a warm 27 °C desk, plus sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.full((h, w), 22.0, np.float32)
    t[40:56, 10:80] = 27.0
    yy, xx = np.mgrid[0:h, 0:w]
    for cy, cx, temp in [(20, 20, 34.0), (18, 50, 33.0), (22, 78, 35.0)]:
        t[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = temp
    return t + rng.normal(0, 0.1, t.shape).astype(np.float32)


def test_temperature_kept_exactly_and_outputs_typed():
    t = classroom()
    out = enhance_thermal(t)
    assert out.temperature.dtype == np.float32 and np.array_equal(out.temperature, t)
    assert out.temperature is not t  # a copy: later edits of the input do not leak in
    assert out.equalised.dtype == np.uint8 and out.equalised.shape == t.shape
    assert out.pseudo_colour.dtype == np.uint8 and out.pseudo_colour.shape == t.shape + (3,)
    assert out.t_range == (15.0, 45.0) and not out.filled.any()


def test_clahe_widens_contrast_between_faces_and_room():
    t = classroom()
    out = enhance_thermal(t).equalised.astype(float)
    linear = np.rint(np.clip((t - 15) * 255 / 30, 0, 255))  # the same range without equalisation
    room = t < 24
    for hot in (t > 30, (t > 26) & (t < 28)):  # faces, desk
        assert out[hot].mean() - out[room].mean() > 1.2 * (linear[hot].mean() - linear[room].mean())


def test_pseudo_colour_is_rgb_colour_map_of_equalised():
    out = enhance_thermal(classroom(), colormap=cv2.COLORMAP_INFERNO)
    bgr = cv2.applyColorMap(out.equalised, cv2.COLORMAP_INFERNO)
    np.testing.assert_array_equal(out.pseudo_colour, bgr[..., ::-1])
    hot = np.unravel_index(out.equalised.argmax(), out.equalised.shape)
    r, _, b = out.pseudo_colour[hot].astype(int)
    assert r > b  # inferno's hot end is yellow: red high, blue low (in RGB order)


def test_auto_range_uses_percentiles():
    t = classroom()
    out = enhance_thermal(t, t_range=None)
    lo, hi = np.percentile(t, [1, 99])
    assert out.t_range == pytest.approx((lo, hi))
    flat = enhance_thermal(np.full((16, 16), 30.0, np.float32), t_range=None)
    assert flat.t_range[1] - flat.t_range[0] == pytest.approx(1.0)


def test_nan_raises_with_count():
    t = classroom()
    t[5, 5] = t[6, 7] = np.nan
    t[10, 10] = np.inf
    with pytest.raises(InputError, match=r"temp_c has 3 NaN/inf temperature\(s\)"):
        enhance_thermal(t)


def test_nan_fill_uses_local_median():
    t = classroom()
    t[20:23, 50:53] = np.nan  # inside the 33 °C face
    t[0, 0] = np.nan
    out = enhance_thermal(t, nan_policy="fill")
    assert np.isfinite(out.temperature).all()
    assert np.abs(out.temperature[20:23, 50:53] - 33.0).max() < 0.5
    assert abs(out.temperature[0, 0] - 22.0) < 0.5
    assert out.filled.sum() == 10
    finite = np.isfinite(t)
    np.testing.assert_array_equal(out.temperature[finite], t[finite])


def test_fill_needs_one_finite_value():
    with pytest.raises(InputError, match="no finite temperature"):
        fill_nonfinite(np.full((4, 4), np.nan, np.float32))


def test_bad_input():
    with pytest.raises(InputError, match=r"temp_c must be a single-channel \(H, W\)"):
        enhance_thermal(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError, match="temp_c must be float"):
        enhance_thermal(np.zeros((8, 8), np.uint16))
    with pytest.raises(InputError, match="nan_policy must be 'raise' or 'fill'"):
        enhance_thermal(np.zeros((8, 8), np.float32), nan_policy="zero")
    with pytest.raises(InputError, match="t_range"):
        enhance_thermal(np.zeros((8, 8), np.float32), t_range=(30.0, 20.0))
    with pytest.raises(InputError, match="clip_limit"):
        enhance_thermal(np.zeros((8, 8), np.float32), clip_limit=0)
