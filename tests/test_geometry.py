import numpy as np

from smartclass.geometry import Camera


def _cam():
    return Camera.look_at(np.array([0.0, 2.5, -1.0]), np.array([0.0, 0.8, 4.0]), fx=500, width=640, height=360)


def test_project_backproject_round_trip():
    cam = _cam()
    pts = np.random.default_rng(0).uniform([-2, 0, 2], [2, 1.5, 8], size=(50, 3))
    uv, z = cam.project(pts)
    assert np.all(z > 0)
    np.testing.assert_allclose(cam.backproject(uv, z), pts, atol=1e-9)


def test_target_projects_to_principal_point_and_rotation_is_orthonormal():
    cam = _cam()
    uv, _ = cam.project(np.array([0.0, 0.8, 4.0]))
    np.testing.assert_allclose(uv, cam.K[:2, 2], atol=1e-9)
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(cam.center, [0.0, 2.5, -1.0], atol=1e-12)


def test_scaled_camera_scales_pixels():
    cam = _cam()
    half = cam.scaled(320, 180)
    p = np.array([0.5, 1.0, 5.0])
    uv, _ = cam.project(p)
    uv2, _ = half.project(p)
    np.testing.assert_allclose((uv2 + 0.5), (uv + 0.5) / 2, atol=1e-9)


def test_dict_round_trip():
    cam = _cam()
    back = Camera.from_dict(cam.to_dict())
    np.testing.assert_allclose(back.K, cam.K)
    assert (back.width, back.height) == (640, 360)
