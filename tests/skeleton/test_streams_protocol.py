import numpy as np
import pytest

from smartclass.data.skeleton import SkeletonSample
from smartclass.errors import InputError
from smartclass.layouts import KINECT_V1_20
from smartclass.skeleton.baselines import fourier_temporal_pyramid
from smartclass.skeleton.protocol import cross_subject_splits, run_benchmark
from smartclass.skeleton.streams import make_streams, normalise_sequence, random_augment, resample


def test_streams_shapes_and_bone_of_centre_is_zero():
    kp = np.random.default_rng(0).normal(size=(1, 6, 20, 3)).astype(np.float32)
    s = make_streams(kp, KINECT_V1_20)
    assert s.shape == (1, 9, 6, 20)
    np.testing.assert_allclose(s[0, 3:6, :, KINECT_V1_20.center], 0)  # bone of the root
    np.testing.assert_allclose(s[0, 6:9, -1], 0)  # last motion frame


def test_resample_endpoints_and_normalise_origin():
    kp = np.arange(5, dtype=np.float32)[None, :, None, None] * np.ones((1, 5, 20, 3), np.float32)
    r = resample(kp, 9)
    assert r.shape == (1, 9, 20, 3) and r[0, 0, 0, 0] == 0 and r[0, -1, 0, 0] == 4 and r[0, 1, 0, 0] == 0.5
    n = normalise_sequence(np.random.default_rng(1).normal(size=(1, 4, 20, 3)), KINECT_V1_20)
    np.testing.assert_allclose(n[0, 0, KINECT_V1_20.center], 0, atol=1e-6)
    assert random_augment(n, np.random.default_rng(2)).shape == n.shape


def test_ftp_length():
    f = fourier_temporal_pyramid(np.random.default_rng(0).normal(size=(20, 6)), levels=3, coefficients=4)
    assert f.shape == (7 * 4 * 6,)


def _samples(subjects=range(1, 11), per=4):
    rng = np.random.default_rng(0)
    return [SkeletonSample(rng.normal(size=(1, 12, 20, 3)).astype(np.float32), c, s, f"s{s}_{c}", "kinect_v1_20")
            for s in subjects for c in range(per)]


def test_msr_protocol_is_odd_train_even_test():
    samples = _samples()
    [(tr, te)] = list(cross_subject_splits(samples, "msraction3d"))
    assert {samples[i].subject % 2 for i in tr} == {1} and {samples[i].subject % 2 for i in te} == {0}


def test_utkinect_protocol_halves_subjects_and_is_seeded():
    samples = _samples()
    a = list(cross_subject_splits(samples, "utkinect", repeats=3, seed=5))
    b = list(cross_subject_splits(samples, "utkinect", repeats=3, seed=5))
    assert a == b and len(a) == 3
    for tr, te in a:
        assert len({samples[i].subject for i in tr}) == 5
        assert not ({samples[i].subject for i in tr} & {samples[i].subject for i in te})


def test_bad_dataset_and_model_names():
    with pytest.raises(InputError, match="--dataset"):
        run_benchmark("kinetics", "/nonexistent")
    with pytest.raises(InputError, match="--model 'resnet'"):
        run_benchmark("utkinect", "/nonexistent", models=("resnet",))
