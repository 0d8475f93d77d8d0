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


def _brute_dtw(dist):
    acc = np.full((dist.shape[0] + 1, dist.shape[1] + 1), np.inf)
    acc[0, 0] = 0
    for i in range(dist.shape[0]):
        for k in range(dist.shape[1]):
            acc[i + 1, k + 1] = dist[i, k] + min(acc[i, k], acc[i, k + 1], acc[i + 1, k])
    return acc[-1, -1]


def test_dtw_path_cost_is_the_optimal_cost_and_path_is_monotone():
    from smartclass.skeleton.baselines import dtw_paths

    dist = np.random.default_rng(0).random((4, 7, 5))
    paths = dtw_paths(dist)
    for d, p in zip(dist, paths):
        assert np.isclose((d * p).sum(), _brute_dtw(d))
        assert p[0, 0] and p[-1, -1] and p.any(1).all() and p.any(0).all()  # every frame of both curves matched


def test_warp_undoes_a_time_stretch():
    from smartclass.skeleton.baselines import warp_to

    t = np.linspace(0, 2 * np.pi, 12)
    nominal = np.stack([np.sin(t), np.cos(t)], 1)
    slow = np.repeat(nominal, 3, axis=0)  # the same motion at a third of the speed
    np.testing.assert_allclose(warp_to(nominal, slow[None])[0], nominal)


def test_nominal_curve_of_copies_is_the_curve():
    from smartclass.skeleton.baselines import nominal_curve

    c = np.random.default_rng(1).normal(size=(9, 3))
    np.testing.assert_allclose(nominal_curve(np.stack([c, c, c]), iterations=3), c)


def test_reference_ftp_shape_and_constant_curve():
    from smartclass.skeleton.baselines import reference_ftp

    f = reference_ftp(np.ones((2, 16, 3)))
    assert f.shape == (2, 7 * 4 * 3)
    f = f.reshape(2, 7, 4, 3)
    np.testing.assert_allclose(f[:, :, 0, 0], [[16, 8, 8, 4, 4, 4, 4]] * 2)  # DC = the segment's sum
    np.testing.assert_allclose(f[:, 0, 1:], 0, atol=1e-5)  # the whole clip has no other frequency


def test_dtw_svm_separates_two_motions_played_at_different_speeds():
    from smartclass.skeleton.baselines import SO3DTWSVM

    rng = np.random.default_rng(0)

    def clip(k):  # class 0: one up-down stroke, class 1: two; each at a random speed (length)
        t = np.linspace(0, 1, rng.integers(15, 40))[:, None]
        return np.sin((1 + k) * np.pi * t) * [1, 0.5, -1] + rng.normal(0, 0.05, (len(t), 3))

    labels = np.arange(16) % 2
    curves = [clip(k) for k in labels]
    clf = SO3DTWSVM(frames=20, iterations=3).fit(curves[:10], labels[:10])
    assert clf.decision_function(curves[10:]).shape == (6, 2)
    assert (clf.predict(curves[10:]) == labels[10:]).all()
