import cv2
import numpy as np
import pytest

from smartclass.enhance import depth as dp
from smartclass.errors import InputError

H, W = 64, 96


def plane(h=H, w=W):
    """A tilted plane seen by a pinhole camera: inverse depth is affine in (u, v)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    return 1 / (1 / 2000 + 2e-6 * u - 1.5e-6 * v)  # about 1.7–2.1 m


def with_holes(truth, seed=0):
    rng = np.random.default_rng(seed)
    d = np.rint(truth).astype(np.uint16)
    d[20:40, 30:55] = 0  # a large hole (occlusion / sensor failure)
    ys, xs = rng.integers(2, H - 2, 40), rng.integers(2, W - 2, 40)
    d[ys, xs] = 0  # single-pixel dropouts
    d[ys[:10], xs[:10] + 1] = 0  # and a few 2-pixel ones
    return d


def test_without_smoothing_valid_pixels_are_unchanged_and_holes_filled_on_a_plane():
    truth = plane()
    d = with_holes(truth)
    out = dp.enhance_depth(d, smooth=False)
    assert out.dtype == np.uint16 and out.shape == d.shape
    valid = d > 0
    np.testing.assert_array_equal(out[valid], d[valid])
    holes = ~valid
    assert (out[holes] > 0).all()
    assert np.abs(out[holes] - truth[holes]).mean() < 3.0  # mm; inverse-depth interpolation is exact on planes


def test_occlusion_shadow_is_filled_with_the_background():
    d = np.full((H, W), 3000, np.uint16)
    d[16:48, 40:70] = 1500  # a person in front of a wall
    d[10:54, 30:40] = 0  # the shadow to its left, partly above and below it
    out = dp.enhance_depth(d, smooth=False)
    shadow = out[10:54, 30:40].astype(float)
    assert np.abs(shadow - 3000).mean() < 30
    np.testing.assert_array_equal(out[16:48, 40:70], 1500)


def test_closing_fills_small_holes_only():
    d = np.rint(plane()).astype(np.uint16)
    d[10, 10] = 0
    d[20:40, 30:55] = 0
    closed = dp.close_small_holes(d, 5)
    assert closed[10, 10] > 0
    assert (closed[25:35, 35:50] == 0).all()  # the interior of the large hole stays for region filling
    np.testing.assert_array_equal(closed[d > 0], d[d > 0])
    out = dp.enhance_depth(d, smooth=False, fill_large=False)
    assert out[10, 10] > 0 and (out[25:35, 35:50] == 0).all()


def test_closing_leaves_narrow_shadows_at_depth_edges_to_the_background_fill():
    d = np.full((H, W), 3000, np.uint16)
    d[16:48, 40:70] = 1500
    d[16:48, 37:40] = 0  # a 3-pixel shadow: fits in the kernel, but lies on a depth edge
    d[5, 5] = 0  # a dropout inside one surface
    closed = dp.close_small_holes(d, 5)
    assert (closed[16:48, 37:40] == 0).all() and closed[5, 5] == 3000
    out = dp.enhance_depth(d, smooth=False)
    assert (out[16:48, 37:40] == 3000).all()


def test_bilateral_smooths_valid_pixels_without_bleeding_holes():
    truth = plane()
    rng = np.random.default_rng(1)
    noisy = np.rint(truth + rng.normal(0, 6, truth.shape)).astype(np.uint16)
    noisy[20:40, 30:55] = 0
    smoothed = dp.bilateral_valid(noisy, diameter=5, sigma_space=2.0, sigma_depth_mm=30.0)
    valid = noisy > 0
    assert (smoothed[~valid] == 0).all()  # holes are not filled by the filter
    assert np.abs(smoothed[valid] - truth[valid]).std() < 0.6 * np.abs(noisy[valid] - truth[valid]).std()
    ring = valid.copy()
    ring[18:42, 28:57] = False
    rim = valid & ~ring  # valid pixels next to the hole: not pulled towards 0
    assert np.abs(smoothed[rim] - truth[rim]).max() < 25
    out = dp.enhance_depth(noisy)  # smooth=True changes valid pixels, and all holes get filled
    assert (out > 0).all() and not np.array_equal(out[valid], noisy[valid])


def test_bilateral_keeps_depth_edges():
    d = np.full((H, W), 3000, np.uint16)
    d[:, W // 2 :] = 1500
    out = dp.bilateral_valid(d)
    assert np.allclose(out[:, : W // 2], 3000, atol=0.5) and np.allclose(out[:, W // 2 :], 1500, atol=0.5)


def test_region_without_any_measurement_in_row_and_column_is_filled():
    d = np.zeros((H, W), np.uint16)
    d[:10, :10] = 2500
    out = dp.enhance_depth(d, smooth=False)
    assert (out == 2500).all()


def test_full_image_is_returned_unchanged_without_smoothing():
    d = np.rint(plane()).astype(np.uint16)
    np.testing.assert_array_equal(dp.enhance_depth(d, smooth=False), d)


@pytest.mark.parametrize("inpaint", [dp.inpaint_telea, dp.inpaint_ns])
def test_inpainting_baselines_fill_holes(inpaint):
    truth = plane()
    d = with_holes(truth)
    out = inpaint(d, 5)
    assert out.dtype == np.uint16 and (out > 0).all()
    np.testing.assert_array_equal(out[d > 0], d[d > 0])
    holes = d == 0
    assert np.abs(out[holes] - truth[holes]).mean() < 60  # ~3 % of the depth


def test_all_zero_depth_raises():
    for f in (dp.enhance_depth, dp.inpaint_telea, dp.fill_large_holes):
        with pytest.raises(InputError, match="depth_mm has no valid"):
            f(np.zeros((8, 8), np.uint16))


def test_bad_input():
    with pytest.raises(InputError, match="depth_mm must be uint16 millimetres.*float32"):
        dp.enhance_depth(np.ones((8, 8), np.float32))
    with pytest.raises(InputError, match=r"depth_mm must be a single-channel \(H, W\)"):
        dp.enhance_depth(np.ones((8, 8, 3), np.uint16))
    with pytest.raises(InputError, match="radius must be > 0"):
        dp.inpaint_ns(np.ones((8, 8), np.uint16), 0)


def _brute_line(d, y, x, jump_mm):
    """The row rule of fill_large_holes for one hole pixel, written pixel by pixel (float64)."""
    row = d[y].astype(np.float64)
    w = len(row)
    left = next((c for c in range(x - 1, -1, -1) if row[c] > 0), -1)
    right = next((c for c in range(x + 1, w) if row[c] > 0), w)
    has_l, has_r = left >= 0, right < w
    if not (has_l or has_r):
        return 0.0, 0.0, False, False
    if not (has_l and has_r):
        end = left if has_l else right
        return row[end], 1 / max(2 * abs(x - end), 1), False, False
    beyond_l = next((c for c in range(left - 1, -1, -1) if row[c] > 0), -1)
    beyond_r = next((c for c in range(right + 1, w) if row[c] > 0), w)
    il, ir = 1 / row[left], 1 / row[right]
    sl = (il - 1 / row[beyond_l]) / (left - beyond_l) if beyond_l >= 0 else 0.0
    sr = (1 / row[beyond_r] - ir) / (beyond_r - right) if beyond_r < w else 0.0
    gap = right - left
    from_l, from_r = 1 / (il + sl * gap), 1 / (ir - sr * gap)
    same = (from_l > 0 and abs(from_l - row[right]) <= jump_mm) or (from_r > 0 and abs(from_r - row[left]) <= jump_mm)
    t = (x - left) / gap
    est = 1 / ((1 - t) * il + t * ir) if same else max(row[left], row[right])
    return est, 1 / gap, not same, True


def _brute_fill(d, jump_mm=150.0, surface_gap=8):
    out = d.astype(np.float64)
    for y, x in zip(*np.nonzero(d == 0)):
        eh, wh, jh, bh = _brute_line(d, y, x, jump_mm)
        ev, wv, jv, bv = _brute_line(d.T, x, y, jump_mm)
        if wh > 0 and wv > 0:
            if abs(eh - ev) <= jump_mm and not jh and not jv:
                out[y, x] = (eh * wh + ev * wv) / (wh + wv)
            elif jh and not jv and bv and 1 / wv <= surface_gap:
                out[y, x] = ev
            elif jv and not jh and bh and 1 / wh <= surface_gap:
                out[y, x] = eh
            else:
                out[y, x] = max(eh, ev)
        else:
            out[y, x] = eh if wh > 0 else ev
    return out


@pytest.mark.parametrize("seed", range(6))
def test_region_filling_matches_a_pixel_by_pixel_reference(seed):
    # random surfaces at two depths with random holes (runs, blobs, whole rows): the vectorised per-run
    # implementation must agree with the rule written out per pixel
    rng = np.random.default_rng(seed)
    h, w = 14, 19
    d = np.where(rng.uniform(size=(h, w)) < 0.5, rng.uniform(1500, 1700, (h, w)), rng.uniform(2900, 3100, (h, w)))
    d = np.rint(np.where(rng.uniform(size=(h, w)) < 0.3, d, cv2.blur(d, (5, 5)))).astype(np.uint16)
    d[rng.uniform(size=(h, w)) < rng.uniform(0.2, 0.6)] = 0
    d[rng.integers(h)] = 0
    d[:, rng.integers(w)] = 0
    expected = _brute_fill(d)
    has_line = (d > 0).any(1)[:, None] | (d > 0).any(0)[None, :]
    got = dp.fill_large_holes(d)
    np.testing.assert_array_equal(got[d > 0], d[d > 0])
    np.testing.assert_allclose(got[has_line], expected[has_line], atol=1.01)


def test_hole_inside_one_surface_next_to_a_depth_edge_keeps_that_surface():
    d = np.full((H, W), 3000, np.uint16)
    d[16:48, 40:70] = 1500  # a person in front of a wall
    d[25:30, 60:75] = 0  # a dark blob (e.g. hair) across the person's right edge
    out = dp.enhance_depth(d, smooth=False, close_kernel=0)
    # along the row the blob meets the edge (a jump), along the column the person bounds it on both sides
    assert (out[25:30, 60:70] == 1500).all() and (out[25:30, 70:75] == 3000).all()
    old = dp.enhance_depth(d, smooth=False, close_kernel=0, surface_gap=0)  # the background rule alone
    assert (old[25:30, 60:70] == 3000).all()


def _close_full_image(d, kernel=5, jump_mm=150.0):
    """close_small_holes written with whole-image morphology only."""
    ell = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    rep = cv2.BORDER_REPLICATE
    valid = d > 0
    dil = cv2.dilate(d, ell, borderType=rep)
    closed, far = cv2.erode(dil, ell, borderType=rep), cv2.dilate(dil, ell, borderType=rep)
    near = cv2.erode(cv2.erode(np.where(valid, d, np.uint16(65535)), ell, borderType=rep), ell, borderType=rep)
    edge = (far.astype(np.int32) - near > jump_mm) | valid
    return np.where(edge, d, closed)


@pytest.mark.parametrize("fraction", [0.002, 0.3])  # the sparse (per-hole) and the whole-image path
def test_closing_paths_agree(fraction):
    rng = np.random.default_rng(4)
    d = np.rint(cv2.GaussianBlur(rng.uniform(1000, 4000, (60, 90)), (0, 0), 4)).astype(np.uint16)
    d[20:40, 50:90] = 1200  # a near object reaching the border
    d[rng.uniform(size=d.shape) < fraction] = 0
    d[0, :3] = 0  # holes on the border
    d[30, 49:52] = 0  # and on the depth edge
    np.testing.assert_array_equal(dp.close_small_holes(d), _close_full_image(d))
