import numpy as np
import pytest
import torch

from smartclass.data.skeleton import SkeletonSample
from smartclass.errors import InputError
from smartclass.skeleton.protocol import GCNSettings, cross_subject_splits, run_benchmark, sequence_tensor


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


def test_sequence_tensor_shapes_and_augmentation_is_random():
    samples = _samples(subjects=(1,), per=3)
    settings = GCNSettings(frames=8, streams=("joint", "so3"))
    x = sequence_tensor(samples, settings)
    assert x.shape == (3, 6, 8, 20) and x.dtype == torch.float32
    torch.testing.assert_close(sequence_tensor(samples, settings), x)  # deterministic without rng
    rng = np.random.default_rng(0)
    assert not torch.allclose(sequence_tensor(samples, settings, rng), sequence_tensor(samples, settings, rng))


def test_class_weights_inverse_frequency():
    from smartclass.skeleton.protocol import class_weights

    w = class_weights(torch.tensor([0, 0, 0, 1]), 3)
    torch.testing.assert_close(w, torch.tensor([0.5, 1.5, 0.0]))
    assert w[0] * 3 == w[1] * 1  # weight × count equal across present classes


def test_labels_option_only_for_utkinect():
    with pytest.raises(InputError, match="--labels applies to utkinect only"):
        run_benchmark("msraction3d", "/nonexistent", labels="x.txt")


def test_ensemble_trains_one_model_per_stream_and_sums_their_probabilities():
    from smartclass.skeleton.protocol import gcn_scores

    train, test = _samples(subjects=(1, 2), per=3), _samples(subjects=(3,), per=3)
    settings = GCNSettings(frames=8, epochs=1, batch_size=3, channels=(8,), streams=("joint", "bone_motion"))
    single = gcn_scores("stgcn", train, test, 3, settings)
    assert list(single) == ["joint+bone_motion"]
    from dataclasses import replace

    both = gcn_scores("stgcn", train, test, 3, replace(settings, ensemble=True))
    assert list(both) == ["joint", "bone_motion"]
    for p in both.values():
        assert p.shape == (3, 3) and np.allclose(p.sum(1), 1)
    alone = gcn_scores("stgcn", train, test, 3, replace(settings, streams=("joint",)))["joint"]
    np.testing.assert_allclose(both["joint"], alone, atol=1e-6)  # same seed, same model as training it alone
