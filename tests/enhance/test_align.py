import cv2
import numpy as np
import pytest

from smartclass.enhance import align as al
from smartclass.errors import InputError
from smartclass.geometry import Camera

# RGB reference at the front of the room looking along +z; a thermal camera and a depth camera beside it
RGB = Camera.look_at(np.array([0.0, 1.2, 0.0]), np.array([0.0, 1.2, 3.0]), fx=80, width=96, height=64)
THERMAL = Camera.look_at(np.array([0.08, 1.25, 0.0]), np.array([0.12, 1.2, 3.0]), fx=60, width=80, height=60)
DEPTH = Camera.look_at(np.array([-0.05, 1.2, 0.02]), np.array([-0.05, 1.2, 3.0]), fx=55, width=72, height=54)


def hit_plane(camera, normal, offset):
    """World points where each pixel's ray meets the plane normal·X = offset: (H, W, 3)."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width].astype(np.float64)
    rays = np.stack([(u - camera.K[0, 2]) / camera.K[0, 0], (v - camera.K[1, 2]) / camera.K[1, 1], np.ones_like(u)], -1)
    rays = rays @ camera.R  # camera → world directions
    c = camera.center
    lam = (offset - normal @ c) / (rays @ normal)
    return c + lam[..., None] * rays


FRONTAL = (np.array([0.0, 0.0, 1.0]), 3.0)  # z = 3 m: fronto-parallel to the RGB camera
TILTED = (np.array([-0.3, 0.1, 1.0]), 3.0)  # z = 3 + 0.3·x − 0.1·y


def plane_coordinates(camera, plane):
    """A float image whose two channels are the world x, y of the surface seen at each pixel."""
    return hit_plane(camera, *plane)[..., :2].astype(np.float32)


def ref_depth(plane):
    return RGB.to_camera(hit_plane(RGB, *plane))[..., 2]


def pixel_error(warped, plane):
    """Reprojection error in RGB pixels: world-position error divided by the metres per pixel."""
    truth = plane_coordinates(RGB, plane)
    ok = np.isfinite(warped).all(-1)
    err_m = np.linalg.norm(warped[ok] - truth[ok], axis=-1)
    return err_m * RGB.K[0, 0] / ref_depth(plane)[ok], ok


@pytest.mark.parametrize("plane", [FRONTAL, TILTED])
def test_warp_with_exact_depth_aligns_to_subpixel(plane):
    src = plane_coordinates(THERMAL, plane)
    warped = al.warp_to_reference(src, THERMAL, RGB, depth_ref_m=ref_depth(plane), fill_value=np.nan)
    assert warped.shape == (RGB.height, RGB.width, 2) and warped.dtype == np.float32
    err, ok = pixel_error(warped, plane)
    assert ok.mean() > 0.7  # most of the RGB view is seen by the thermal camera
    assert err.max() < 0.5 and err.mean() < 0.1


def test_plane_homography_is_exact_on_its_plane_only():
    src = plane_coordinates(THERMAL, FRONTAL)
    warped = al.warp_to_reference(src, THERMAL, RGB, plane_depth=3.0, fill_value=np.nan)
    err, _ = pixel_error(warped, FRONTAL)
    assert err.max() < 0.5
    # for the tilted plane the parallax of an 8 cm baseline shows
    tilted = al.warp_to_reference(plane_coordinates(THERMAL, TILTED), THERMAL, RGB, plane_depth=3.0, fill_value=np.nan)
    assert pixel_error(tilted, TILTED)[0].max() > 0.5


def test_unknown_reference_depth_gets_fill_value():
    z = ref_depth(FRONTAL)
    z[:10] = 0
    warped = al.warp_to_reference(np.full((THERMAL.height, THERMAL.width), 30.0, np.float32), THERMAL, RGB,
                                  depth_ref_m=z, fill_value=-1.0)
    assert (warped[:10] == -1.0).all() and (warped[20:40, 30:60] == 30.0).all()


def test_depth_images_are_sampled_nearest():
    d = np.zeros((THERMAL.height, THERMAL.width), np.uint16)
    d[:, ::2] = 1000  # alternate columns: linear sampling would invent 500s
    warped = al.warp_to_reference(d, THERMAL, RGB, plane_depth=3.0)
    assert set(np.unique(warped)) <= {0, 1000}


def test_fit_homography_recovers_a_known_one():
    H = np.array([[1.05, 0.02, 3.0], [-0.01, 0.97, -2.0], [1e-4, -2e-4, 1.0]])
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (20, 2))
    dst = cv2.perspectiveTransform(src[None], H)[0]
    fit = al.fit_homography(src, dst)
    np.testing.assert_allclose(fit, H, rtol=1e-4, atol=1e-5)
    assert fit[2, 2] == 1.0
    np.testing.assert_allclose(cv2.perspectiveTransform(src[None], fit)[0], dst, atol=1e-3)  # pixels


def test_fit_homography_matches_the_plane_homography():
    world = hit_plane(RGB, *FRONTAL)[::8, ::8].reshape(-1, 3)
    ref_uv, _ = RGB.project(world)
    src_uv, _ = THERMAL.project(world)
    H = al.fit_homography(ref_uv, src_uv)
    np.testing.assert_allclose(H, al.plane_homography(THERMAL, RGB, 3.0), rtol=1e-6, atol=1e-9)


def test_warp_homography_translation():
    img = np.zeros((30, 40), np.uint8)
    img[10, 10] = 255
    out = al.warp_homography(img, np.array([[1, 0, 5], [0, 1, 3], [0, 0, 1.0]]), (40, 30))
    assert out[13, 15] == 255 and out.sum() == 255


def test_align_depth_to_rgb_matches_rgb_depth():
    world = hit_plane(DEPTH, *TILTED)
    depth = np.rint(DEPTH.to_camera(world)[..., 2] * 1000).astype(np.uint16)
    aligned = al.align_depth_to_rgb(depth, DEPTH, RGB)
    assert aligned.dtype == np.uint16 and aligned.shape == (RGB.height, RGB.width)
    truth = ref_depth(TILTED) * 1000
    # RGB pixels whose surface point the depth camera sees (with a 1-pixel margin)
    uv, _ = DEPTH.project(hit_plane(RGB, *TILTED))
    seen = (uv[..., 0] > 1) & (uv[..., 0] < DEPTH.width - 2) & (uv[..., 1] > 1) & (uv[..., 1] < DEPTH.height - 2)
    assert (aligned[seen] > 0).mean() > 0.99  # sub-pixel splatting leaves no cracks
    got = aligned[seen & (aligned > 0)].astype(float)
    err = np.abs(got - truth[seen & (aligned > 0)])
    assert np.median(err) < 5 and err.max() < 20  # mm: nearest-pixel rounding on a slope of ~11 mm/px


def test_align_depth_keeps_holes_and_nearest_surface():
    world = hit_plane(DEPTH, *FRONTAL)
    depth = np.rint(DEPTH.to_camera(world)[..., 2] * 1000).astype(np.uint16)
    depth[20:34, 10:20] = 0  # a hole
    depth[20:34, 40:56] = 1500  # a box 1.5 m away in front of the wall (1.52 m from the RGB camera)
    aligned = al.align_depth_to_rgb(depth, DEPTH, RGB)
    uv, _ = DEPTH.project(hit_plane(RGB, *FRONTAL))
    in_hole = (uv[..., 0] > 11) & (uv[..., 0] < 18) & (uv[..., 1] > 21) & (uv[..., 1] < 32)
    assert in_hole.sum() > 20 and (aligned[in_hole] == 0).all()
    near = (aligned > 0) & (aligned < 2000)
    assert near.sum() > 100 and (aligned[near] == 1520).all()  # the box lands ...
    rows, cols = np.nonzero(near)
    box = aligned[rows.min() + 1 : rows.max(), cols.min() + 1 : cols.max()]
    assert (box == 1520).all()  # ... and the wall behind it does not show through (z-buffer)


def test_bad_input():
    with pytest.raises(InputError, match="image has size 10×10 but its camera is 80×60"):
        al.warp_to_reference(np.zeros((10, 10), np.float32), THERMAL, RGB, plane_depth=3.0)
    with pytest.raises(InputError, match=r"needs depth_ref_m \(per-pixel metres\) or plane_depth"):
        al.warp_to_reference(np.zeros((60, 80), np.float32), THERMAL, RGB)
    with pytest.raises(InputError, match="depth_ref_m has shape"):
        al.warp_to_reference(np.zeros((60, 80), np.float32), THERMAL, RGB, depth_ref_m=np.ones((5, 5)))
    with pytest.raises(InputError, match="plane_depth must be > 0"):
        al.warp_to_reference(np.zeros((60, 80), np.float32), THERMAL, RGB, plane_depth=0.0)
    with pytest.raises(InputError, match="at least 4 point pairs"):
        al.fit_homography(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(InputError, match=r"\(N, 2\)"):
        al.fit_homography(np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(InputError, match="depth_mm must be \\(H, W\\) uint16"):
        al.align_depth_to_rgb(np.zeros((54, 72), np.float32), DEPTH, RGB)


def _splat_reference(depth, depth_cam, rgb_cam):
    """align_depth_to_rgb written out: every sub-sample projected with transfer() in float64, z-buffered."""
    ratio = max(rgb_cam.K[0, 0] / depth_cam.K[0, 0], rgb_cam.K[1, 1] / depth_cam.K[1, 1])
    s = max(1, int(np.ceil(ratio - 1e-6)))
    out = np.full((rgb_cam.height, rgb_cam.width), np.inf)
    offs = (np.arange(s) + 0.5) / s - 0.5
    for v, u in zip(*np.nonzero(depth)):
        for dv in offs:
            for du in offs:
                x, y, z = al.transfer(np.float64(u + du), np.float64(v + dv), depth[v, u] / 1000.0, depth_cam, rgb_cam)
                c, r = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
                if z > 0 and 0 <= c < rgb_cam.width and 0 <= r < rgb_cam.height:
                    out[r, c] = min(out[r, c], z)
    return np.where(np.isfinite(out), np.rint(out * 1000), 0)


@pytest.mark.parametrize("tilted", [False, True])  # the same-depth fast path and the general one
def test_align_depth_matches_a_per_sample_reference(tilted):
    rgb = Camera.look_at(np.array([0.0, 1.2, 0.0]), np.array([0.0, 1.2, 3.0]), fx=40, width=48, height=32)
    target = np.array([0.4, 1.0, 3.0]) if tilted else np.array([-0.05, 1.2, 3.0])
    depth_cam = Camera.look_at(np.array([-0.05, 1.2, 0.02]), target, fx=18, width=24, height=18)
    rng = np.random.default_rng(1)
    d = np.rint(rng.uniform(1500, 3500, (18, 24))).astype(np.uint16)
    d[rng.uniform(size=d.shape) < 0.2] = 0
    got = al.align_depth_to_rgb(d, depth_cam, rgb)
    ref = _splat_reference(d, depth_cam, rgb)
    assert (got > 0).sum() > 300
    # float32 against float64: a sample exactly on a pixel border may land on the neighbour; nothing else
    assert (np.abs(got.astype(float) - ref) <= 1).mean() > 0.995
    assert al.depth_projector(depth_cam, rgb) is al.depth_projector(depth_cam, rgb)  # cached per calibration


def test_reference_mapper_matches_transfer_and_is_cached():
    z = ref_depth(TILTED)
    mx, my = al.reference_maps(THERMAL, RGB, depth_ref_m=z)
    v, u = np.mgrid[0 : RGB.height, 0 : RGB.width].astype(np.float64)
    ex, ey, _ = al.transfer(u, v, z, RGB, THERMAL)
    np.testing.assert_allclose(mx, ex, atol=2e-3)
    np.testing.assert_allclose(my, ey, atol=2e-3)
    mapper = al.reference_mapper(THERMAL, RGB)
    assert mapper is al.reference_mapper(THERMAL, RGB)
    # depth in uint16 mm with holes → the plane depth there
    d = np.rint(z * 1000).astype(np.uint16)
    d[:5] = 0
    dx, dy = mapper.depth_maps(d, 3.0)
    px, py = mapper.maps(plane_depth=3.0)
    np.testing.assert_allclose(dx[:5], px[:5], atol=1e-4)
    np.testing.assert_allclose(dx[10:], al.reference_maps(THERMAL, RGB, depth_ref_m=d / 1000.0)[0][10:], atol=1e-3)
    # the plane maps handed out by reference_maps are copies: editing them leaves the cache intact
    cx, _ = al.reference_maps(THERMAL, RGB, plane_depth=3.0)
    cx[:] = 0
    assert np.array_equal(mapper.maps(plane_depth=3.0)[0], px) and px.any()
