import numpy as np

from smartclass.skeleton.baselines import SO3SVM, fourier_temporal_pyramid


def test_ftp_length():
    f = fourier_temporal_pyramid(np.random.default_rng(0).normal(size=(20, 6)), levels=3, coefficients=4)
    assert f.shape == (7 * 4 * 6,)


def test_ftp_of_constant_curve_is_only_dc():
    f = fourier_temporal_pyramid(np.ones((16, 2)), levels=2, coefficients=3).reshape(3, 3, 2)
    np.testing.assert_allclose(f[:, 0], 1.0)  # DC magnitude / segment length
    np.testing.assert_allclose(f[:, 1:], 0.0, atol=1e-6)


def test_so3svm_separates_two_frequencies():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 2 * np.pi, 24)[:, None]
    curves = [np.sin((1 + k % 2) * t + rng.uniform(0, 0.3)) + rng.normal(0, 0.05, (24, 3)) for k in range(20)]
    labels = np.arange(20) % 2
    clf = SO3SVM(C=1.0, coefficients=4).fit(curves[:12], labels[:12])
    assert (clf.predict(curves[12:]) == labels[12:]).all()
