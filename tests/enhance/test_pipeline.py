import cv2
import numpy as np
import pytest

from smartclass.config import load_config
from smartclass.enhance import align as al
from smartclass.enhance.pipeline import Cameras, EnhanceConfig, TrimodalEnhancer
from smartclass.errors import InputError
from smartclass.geometry import Camera

H, W = 64, 96
RGB = Camera.look_at(np.array([0.0, 1.2, 0.0]), np.array([0.0, 1.2, 3.0]), fx=80, width=W, height=H)
DEPTH = Camera.look_at(np.array([-0.05, 1.2, 0.0]), np.array([-0.05, 1.2, 3.0]), fx=60, width=72, height=54)
THERMAL = Camera.look_at(np.array([0.08, 1.25, 0.0]), np.array([0.08, 1.25, 3.0]), fx=50, width=64, height=48)


def frame(seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    clean = np.stack([120 + 60 * np.sin(xx / 9), 110 + 50 * np.cos(yy / 7), np.full(xx.shape, 130.0)], -1)
    clean[20:40, 30:60] = (200, 60, 90)
    dark = np.clip(clean * 0.12 + rng.normal(0, 1, clean.shape), 0, 255).astype(np.uint8)
    depth = np.full((H, W), 3000, np.uint16)
    depth[20:40, 30:60] = 1800
    depth[20:40, 26:30] = 0  # shadow
    thermal = np.full((H, W), 22.0, np.float32)
    thermal[22:32, 40:50] = 34.0
    return clean.astype(np.uint8), dark, depth, thermal


def test_all_modalities_on_one_grid():
    clean, dark, depth, thermal = frame()
    out = TrimodalEnhancer()(dark, depth, thermal)
    assert out.rgb.dtype == np.uint8 and out.rgb.shape == dark.shape and out.rgb.mean() > 3 * dark.mean()
    assert out.depth_mm.dtype == np.uint16 and (out.depth_mm > 0).all()
    assert abs(int(out.depth_mm[30, 27]) - 3000) < 50  # the shadow takes the background
    np.testing.assert_array_equal(out.thermal.temperature, thermal)  # °C kept exactly
    assert out.thermal.pseudo_colour.shape == (H, W, 3) and out.thermal_valid.all() and not out.aligned


def test_missing_modalities_are_none():
    _, dark, _, _ = frame()
    out = TrimodalEnhancer()(dark)
    assert out.depth_mm is None and out.thermal is None and out.thermal_valid is None
    assert out.rgb.shape == dark.shape


def test_alignment_onto_the_rgb_grid():
    _, dark, _, _ = frame()
    # a wall at 3 m seen by the depth camera, and a warm square on it seen by the thermal camera
    v, u = np.mgrid[0 : DEPTH.height, 0 : DEPTH.width]
    depth = np.full((DEPTH.height, DEPTH.width), 3000, np.uint16)
    depth[20:26, 30:40] = 0  # a hole the enhancer fills
    world_sq = np.array([[0.0, 0.9], [0.6, 1.5]])  # warm square (x, y ranges, metres) on the wall
    tv, tu = np.mgrid[0 : THERMAL.height, 0 : THERMAL.width].astype(float)
    wall = THERMAL.backproject(np.stack([tu, tv], -1), np.full(tu.shape, 3.0))
    warm = (wall[..., 0] > world_sq[0, 0]) & (wall[..., 0] < world_sq[1, 0]) & (wall[..., 1] > world_sq[0, 1]) & (
        wall[..., 1] < world_sq[1, 1])
    thermal = np.where(warm, 34.0, 22.0).astype(np.float32)
    cams = Cameras(RGB, DEPTH, THERMAL)
    out = TrimodalEnhancer()(dark, depth, thermal, cams)
    assert out.aligned and out.depth_mm.shape == (H, W) and out.thermal.temperature.shape == (H, W)
    seen = out.depth_mm > 0
    assert seen.mean() > 0.8 and np.abs(out.depth_mm[seen].astype(int) - 3000).max() <= 1
    # the warm square lands where the RGB camera sees it
    rv, ru = np.mgrid[0:H, 0:W].astype(float)
    rgb_wall = RGB.backproject(np.stack([ru, rv], -1), np.full(ru.shape, 3.0))
    x, y = rgb_wall[..., 0], rgb_wall[..., 1]
    inside = (x > 0.1) & (x < 0.5) & (y > 1.0) & (y < 1.4)  # a thermal pixel (6 cm) away from the edges
    outside = (x < -0.1) | (x > 0.7) | (y < 0.8) | (y > 1.6)
    t = out.thermal.temperature
    assert inside.sum() > 50 and np.allclose(t[inside], 34.0)
    assert np.allclose(t[outside & out.thermal_valid], 22.0)
    assert np.isnan(t[~out.thermal_valid]).all()
    assert out.thermal.pseudo_colour.shape == (H, W, 3)


def test_config_loads_with_overrides():
    cfg = load_config(cls=EnhanceConfig, overrides=["retinex.small_radius=3", "thermal.nan_policy=fill"])
    assert cfg.retinex.small_radius == 3 and cfg.thermal.nan_policy == "fill"
    _, dark, depth, thermal = frame()
    thermal[0, 0] = np.nan
    out = TrimodalEnhancer(cfg)(dark, depth, thermal)
    assert out.thermal.filled[0, 0] and np.isfinite(out.thermal.temperature).all()


def test_bad_input():
    _, dark, depth, thermal = frame()
    enh = TrimodalEnhancer()
    with pytest.raises(InputError, match=r"rgb must be an RGB image of shape \(H, W, 3\).*\(64, 96, 4\)"):
        enh(np.zeros((H, W, 4), np.uint8))
    with pytest.raises(InputError, match="rgb must be uint8 .* got dtype int64"):
        enh(dark.astype(np.int64))
    with pytest.raises(InputError, match="depth_mm must be uint16 millimetres"):
        enh(dark, depth.astype(np.float32))
    with pytest.raises(InputError, match="depth_mm has no valid"):
        enh(dark, np.zeros_like(depth))
    bad = thermal.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match=r"thermal_c has 1 NaN/inf temperature\(s\)"):
        enh(dark, thermal_c=bad)
    with pytest.raises(InputError, match="thermal_c must be float"):
        enh(dark, thermal_c=thermal.astype(np.uint16))
    with pytest.raises(InputError, match="depth_mm has size 48×32 but rgb is 96×64"):
        enh(dark, depth[:32, :48])
    with pytest.raises(InputError, match="thermal_c has size 96×64 but cameras.thermal is 64×48"):
        enh(dark, thermal_c=thermal, cameras=Cameras(RGB, DEPTH, THERMAL))
    with pytest.raises(InputError, match="cameras.depth is None"):
        enh(dark, depth, cameras=Cameras(RGB))
    with pytest.raises(InputError, match="not an OpenCV colour map"):
        TrimodalEnhancer(EnhanceConfig(thermal=type(EnhanceConfig().thermal)(colormap="rainbowish")))


NARROW = Camera.look_at(np.array([0.08, 1.25, 0.0]), np.array([0.2, 1.25, 3.0]), fx=70, width=64, height=48)


def _rig_frame(thermal_cam=THERMAL):
    _, dark, _, _ = frame()
    depth = np.full((DEPTH.height, DEPTH.width), 3000, np.uint16)
    depth[10:30, 20:40] = 1500  # a box in front of the wall
    depth[20:26, 50:60] = 0
    rng = np.random.default_rng(3)
    thermal = (22 + 12 * rng.uniform(size=(thermal_cam.height, thermal_cam.width))).astype(np.float32)
    return dark, depth, thermal


def test_defaults_match_the_functions_and_threads_give_the_same_frame():
    from smartclass.enhance.retinex import multiscale_weighted_guided_retinex

    dark, depth, thermal = _rig_frame()
    cams = Cameras(RGB, DEPTH, THERMAL)
    one = TrimodalEnhancer()(dark, depth, thermal, cams)
    np.testing.assert_array_equal(one.rgb, multiscale_weighted_guided_retinex(dark))  # RetinexConfig = defaults
    two = TrimodalEnhancer(EnhanceConfig(workers=2))(dark, depth, thermal, cams)
    pairs = ((one.rgb, two.rgb), (one.depth_mm, two.depth_mm), (one.thermal.pseudo_colour, two.thermal.pseudo_colour))
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one.thermal.temperature, two.thermal.temperature)
    with pytest.raises(InputError, match="workers must be 1 or 2"):
        TrimodalEnhancer(EnhanceConfig(workers=3))


def test_aligned_pseudo_colour_is_the_colour_map_of_the_aligned_levels():
    from smartclass.enhance.thermal import colormap_rgb

    dark, depth, thermal = _rig_frame(NARROW)  # sees only part of the RGB view
    out = TrimodalEnhancer()(dark, depth, thermal, Cameras(RGB, DEPTH, NARROW))
    valid = out.thermal_valid
    assert 0.3 < valid.mean() < 1 and np.array_equal(valid, np.isfinite(out.thermal.temperature))
    lut = colormap_rgb(cv2.COLORMAP_INFERNO)[:, 0]
    np.testing.assert_array_equal(out.thermal.pseudo_colour[valid], lut[out.thermal.equalised[valid]])
    assert not out.thermal.pseudo_colour[~valid].any() and not out.thermal.equalised[~valid].any()


def test_without_alignment_every_modality_stays_on_its_sensor_grid():
    dark, depth, thermal = _rig_frame()
    out = TrimodalEnhancer()(dark, depth, thermal, Cameras(RGB, DEPTH, THERMAL), align=False)
    assert not out.aligned and out.rgb.shape == dark.shape
    assert out.depth_mm.shape == depth.shape and (out.depth_mm > 0).all()
    assert out.thermal.temperature.shape == thermal.shape and out.thermal_valid.shape == thermal.shape
    np.testing.assert_array_equal(out.thermal.temperature, thermal)


def test_plane_thermal_maps_ignore_the_depth():
    dark, depth, thermal = _rig_frame()
    cams = Cameras(RGB, DEPTH, THERMAL)
    exact = TrimodalEnhancer()(dark, depth, thermal, cams).thermal.temperature
    plane = TrimodalEnhancer(EnhanceConfig(thermal_maps="plane"))(dark, depth, thermal, cams).thermal.temperature
    ref = al.warp_to_reference(thermal, THERMAL, RGB, plane_depth=3.0, fill_value=np.nan)
    both = np.isfinite(plane) & np.isfinite(ref)
    assert both.mean() > 0.5 and np.abs(plane[both] - ref[both]).max() < 0.2  # the 3 m homography
    seen = np.isfinite(exact) & np.isfinite(plane)
    assert np.abs(exact[seen] - plane[seen]).max() > 1  # the 1.5 m box moves with the depth-based maps


def test_illumination_gate_leaves_well_lit_frames_unchanged_and_enhances_dark_ones():
    from smartclass.enhance.pipeline import RetinexConfig
    from smartclass.enhance.retinex import multiscale_weighted_guided_retinex

    clean, dark, _, _ = frame()
    assert clean.mean() / 255 > 0.46  # above FRAME_GATE's bright threshold
    np.testing.assert_array_equal(TrimodalEnhancer()(clean).rgb, clean)  # exactly the input
    ungated = TrimodalEnhancer(EnhanceConfig(retinex=RetinexConfig(gate=False)))(clean).rgb
    assert not np.array_equal(ungated, clean)
    np.testing.assert_array_equal(TrimodalEnhancer()(dark).rgb, multiscale_weighted_guided_retinex(dark))
    # in the ramp: a convex mix of the input and the enhanced frame
    cfg = EnhanceConfig(retinex=RetinexConfig(gate_dark=0.0, gate_bright=1.0))
    mixed = TrimodalEnhancer(cfg)(clean).rgb.astype(int)
    lo, hi = np.minimum(clean, ungated).astype(int), np.maximum(clean, ungated).astype(int)
    assert ((mixed >= lo - 1) & (mixed <= hi + 1)).all()
    float_out = TrimodalEnhancer()(clean.astype(np.float32) / 255).rgb
    assert float_out.dtype == np.float32
