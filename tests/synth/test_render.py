"""The rasteriser: depth of capsules and planes, z-buffer occlusion, room coverage."""

import numpy as np

from smartclass.geometry import Camera
from smartclass.synth.render import Canvas, room_canvas

CAM = Camera.look_at(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), 100.0, 101, 81)


def test_sphere_front_surface_depth():
    cv = Canvas.empty(CAM)
    c = np.array([0.0, 0.0, 2.0])
    cv.capsule(c, c, 0.3, 0.3, (1, 0, 0), 30.0, owner=4)
    assert abs(cv.z[40, 50] - 1.7) < 1e-3  # centre pixel sees the sphere's nearest point
    assert cv.owner[40, 50] == 4 and cv.temp[40, 50] == 30.0
    r_px = 100 * 0.3 / 2.0
    assert cv.owner[40, 50 + int(r_px) + 2] == -1 and cv.owner[40, 50 + int(r_px) - 2] == 4


def test_nearer_primitive_wins_regardless_of_order():
    a, b = Canvas.empty(CAM), Canvas.empty(CAM)
    near, far = (np.array([0, 0, 1.0]), 0.1, 1), (np.array([0, 0, 3.0]), 0.5, 2)
    for cv, order in ((a, (near, far)), (b, (far, near))):
        for p, r, o in order:
            cv.capsule(p, p, r, r, (1, 1, 1), 20.0, o)
    assert np.array_equal(a.owner, b.owner) and np.array_equal(a.z, b.z)
    assert a.owner[40, 50] == 1


def test_polygon_depth_is_the_plane():
    cv = Canvas.empty(CAM)
    z = 2.5
    cv.polygon(np.array([[-1, -1, z], [1, -1, z], [1, 1, z], [-1, 1, z]]), (0.5, 0.5, 0.5), 21.0)
    assert np.allclose(cv.z[30:50, 40:60], z, atol=1e-5)
    tilted = Canvas.empty(CAM)
    tilted.polygon(np.array([[-1, -1, 2.0], [1, -1, 3.0], [1, 1, 3.0], [-1, 1, 2.0]]), (1, 1, 1), 21.0)
    # camera x = −world x here (OpenCV frame), so the ray through pixel u meets z = 2.5 + 0.5·x at 2.5 / (1 + 0.5·xn)
    xn = (70 - CAM.K[0, 2]) / CAM.K[0, 0]
    assert abs(tilted.z[40, 70] - 2.5 / (1 + 0.5 * xn)) < 1e-4


def test_room_covers_every_pixel():
    cam = Camera.look_at(np.array([0.0, 2.5, 0.3]), np.array([0.0, 0.8, 4.0]), 120.0, 160, 90)
    room = {"width": 8.0, "depth": 9.0, "height": 3.2, "front": 0.0, "temp": 22.0, "floor": [0.5] * 3,
            "wall": [0.8] * 3, "ceiling": [0.9] * 3, "window": [1.0] * 3}
    cv = room_canvas(cam, room)
    assert np.isfinite(cv.z).all() and (cv.z > 0).all()
    assert ((cv.temp > 18) & (cv.temp < 23)).all()
