import numpy as np
import pytest

from smartclass.errors import InputError
from smartclass.metrics.image import entropy, normalised_mutual_information, psnr, ssim


def test_psnr_at_mse_one():
    assert psnr(np.zeros((8, 8)), np.ones((8, 8))) == pytest.approx(48.1308036, abs=1e-6)
    assert psnr(np.full((4, 4), 7), np.full((4, 4), 7)) == float("inf")


def test_ssim_matches_scikit_image_and_reference_value():
    skimage = pytest.importorskip("skimage")
    from skimage.metrics import structural_similarity

    cam = skimage.data.camera()
    np.random.seed(5)
    noisy = np.clip(cam + 20 * np.random.randn(*cam.shape), 0, 255).astype(np.uint8)
    ours = ssim(cam, noisy)
    theirs = structural_similarity(cam, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                   data_range=255)
    assert ours == pytest.approx(theirs, abs=1e-9)
    assert ours == pytest.approx(0.35796, abs=5e-6)


def test_ssim_identical_is_one_and_colour_is_channel_mean():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)
    assert ssim(img, img) == pytest.approx(1.0)
    other = np.clip(img.astype(int) + rng.integers(-30, 30, img.shape), 0, 255)
    assert ssim(img, other) == pytest.approx(np.mean([ssim(img[..., c], other[..., c]) for c in range(3)]))


def test_entropy_uniform_and_constant():
    assert entropy(np.arange(256, dtype=np.uint8).reshape(16, 16)) == pytest.approx(8.0)
    assert entropy(np.full((10, 10), 3, np.uint8)) == 0.0


def test_shape_mismatch_is_named():
    with pytest.raises(InputError, match="reference has shape"):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(InputError, match="empty"):
        ssim(np.zeros((0,)), np.zeros((0,)))


def test_nmi_identical_remapped_and_independent():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (512, 512)).astype(np.uint8)
    b = rng.integers(0, 256, (512, 512)).astype(np.uint8)
    assert normalised_mutual_information(a, a) == pytest.approx(1.0)
    assert normalised_mutual_information(a, 255 - a) == pytest.approx(1.0)  # one-to-one re-mapping
    # independent noise: only the plug-in bias, (255²/(2·512²) nats) / ln 256 ≈ 0.02
    assert normalised_mutual_information(a, b) < 0.03
    assert normalised_mutual_information(a, b, bins=16) < 0.002


def test_nmi_known_values():
    x = np.zeros((4, 4), np.uint8)
    x[:, 2:] = 255
    y = np.zeros((4, 4), np.uint8)
    y[:2] = 255
    assert normalised_mutual_information(x, y) == 0.0  # halves at right angles: independent
    # joint p = [[1/2, 0], [1/4, 1/4]]: H(X) = 1, H(Y) = 0.811278, H(X, Y) = 1.5 bits → 2·0.311278/1.811278
    r = np.array([0, 0, 0, 0, 1, 1, 1, 1], np.uint8) * 255
    t = np.array([0, 0, 0, 0, 0, 0, 1, 1], np.uint8) * 255
    assert normalised_mutual_information(r, t) == pytest.approx(0.343711, abs=1e-6)
    c = np.full((4, 4), 7, np.uint8)
    assert normalised_mutual_information(c, c) == 1.0 and normalised_mutual_information(c, x) == 0.0
    with pytest.raises(InputError, match="bins must divide 256"):
        normalised_mutual_information(x, y, bins=3)


def test_non_finite_intensities_are_named():
    import numpy as np
    import pytest

    from smartclass.errors import InputError
    from smartclass.metrics.image import psnr, ssim

    a = np.zeros((16, 16))
    b = a.copy()
    b[2, 3] = np.nan
    with pytest.raises(InputError, match=r"test holds NaN or inf at 1 of 256 values"):
        psnr(a, b)
    with pytest.raises(InputError, match=r"reference holds NaN or inf"):
        ssim(b + np.inf, a)
