"""Sensor models: low-light statistics, Kinect-like depth holes and noise, thermal fixed-pattern noise."""

import numpy as np

from smartclass.synth import sensors


def test_low_light_darkens_and_adds_signal_dependent_noise():
    rng = np.random.default_rng(0)
    clean = np.full((64, 64, 3), 200, np.uint8)
    p = sensors.low_light_params(rng)
    p.update(illumination=0.05, gain=1.0, gamma=1.0, cast=[1.0, 1.0, 1.0], read_noise=0.0)
    dark = sensors.rgb_low_light(clean, p, rng)
    assert dark.mean() < 0.5 * clean.mean() and dark.std() > 1.0
    # Poisson: brighter scene → higher photon count → higher relative SNR
    bright = sensors.rgb_low_light(clean, dict(p, illumination=0.3), rng)
    assert bright.mean() / bright.std() > dark.mean() / dark.std()


def test_kinect_depth_noise_grows_with_distance_and_holes():
    rng = np.random.default_rng(0)
    near = np.full((80, 80), 1.0, np.float32)
    far = np.full((80, 80), 4.0, np.float32)
    dn, df = sensors.kinect_depth(near, None, rng), sensors.kinect_depth(far, None, rng)
    assert (dn > 0).all() and (df > 0).all()
    assert df.astype(float).std() > 5 * dn.astype(float).std()
    assert (sensors.kinect_depth(np.full((8, 8), 6.0, np.float32), None, rng) == 0).all()  # out of range
    spec = np.zeros((80, 80), bool)
    spec[:40] = True
    d = sensors.kinect_depth(near, None, rng, specular=spec)
    assert (d[:40] == 0).mean() > 0.8 and (d[40:] > 0).all()
    step = near.copy()
    step[:, 40:] = 3.0  # a near surface on the left: its shadow falls on the far surface just right of it
    ds = sensors.kinect_depth(step, None, rng)
    assert (ds[:, 40] == 0).mean() > 0.5 and (ds[:, 60:] > 0).all()


def test_thermal_fixed_pattern_is_fixed_and_temporal_noise_is_small():
    rng = np.random.default_rng(0)
    fpn = sensors.fixed_pattern(rng, (32, 32))
    scene = np.full((32, 32), 22.0, np.float32)
    a, b = sensors.thermal_sensor(scene, fpn, rng), sensors.thermal_sensor(scene, fpn, rng)
    assert abs(a.mean() - 22.0) < 0.5
    assert np.abs(a - b).std() < 0.1 < np.abs(a - 22.0).std() + 0.1  # frame-to-frame noise ≪ fixed pattern
    assert np.corrcoef((a - 22).ravel(), (b - 22).ravel())[0, 1] > 0.8
