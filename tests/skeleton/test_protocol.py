from dataclasses import replace

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


def test_flip_mirrors_about_half_the_training_clips_and_mirror_flag_mirrors_all(monkeypatch):
    import smartclass.skeleton.protocol as protocol
    from smartclass.layouts import KINECT_V1_20
    from smartclass.skeleton.streams import make_streams, mirror_sequence, normalise_sequence, resample

    samples = _samples(subjects=(1,), per=1) * 40
    settings = GCNSettings(frames=8, streams=("joint",), flip=True)
    kp = resample(normalise_sequence(samples[0].keypoint[:1], KINECT_V1_20, True), 8)
    plain = make_streams(kp, KINECT_V1_20, ("joint",))[0]
    mirrored = make_streams(mirror_sequence(kp, KINECT_V1_20), KINECT_V1_20, ("joint",))[0]
    np.testing.assert_allclose(sequence_tensor(samples[:1], settings, mirror=True)[0].numpy(), mirrored, atol=1e-6)
    monkeypatch.setattr(protocol, "random_augment", lambda kp, rng, *a, **k: (kp, 1.0))  # leave only the flips
    x = sequence_tensor(samples, settings, np.random.default_rng(1)).numpy()
    is_mirror = [np.allclose(v, mirrored, atol=1e-6) for v in x]
    assert all(m or np.allclose(v, plain, atol=1e-6) for v, m in zip(x, is_mirror))
    assert 10 < sum(is_mirror) < 30
    x = sequence_tensor(samples, replace(settings, flip=False), np.random.default_rng(1)).numpy()
    assert all(np.allclose(v, plain, atol=1e-6) for v in x)


def test_recorded_time_resamples_on_the_samples_frame_numbers_where_they_have_them():
    from smartclass.layouts import KINECT_V1_20
    from smartclass.skeleton.streams import make_streams, normalise_sequence, resample

    sample = _samples(subjects=(1,), per=1)[0]
    frames = np.cumsum(np.random.default_rng(5).integers(1, 9, size=12))
    timed = replace(sample, meta={"frames": frames})
    settings = GCNSettings(frames=8, streams=("joint",), recorded_time=True)
    kp = normalise_sequence(sample.keypoint[:1], KINECT_V1_20, True)
    want = make_streams(resample(kp, 8, times=frames), KINECT_V1_20, ("joint",))[0]
    np.testing.assert_allclose(sequence_tensor([timed], settings)[0].numpy(), want, atol=1e-6)
    by_row = make_streams(resample(kp, 8), KINECT_V1_20, ("joint",))[0]
    assert not np.allclose(want, by_row, atol=1e-3)
    np.testing.assert_allclose(sequence_tensor([sample], settings)[0].numpy(), by_row, atol=1e-6)  # no frame numbers
    np.testing.assert_allclose(sequence_tensor([timed], replace(settings, recorded_time=False))[0].numpy(), by_row,
                               atol=1e-6)


def test_flip_tta_averages_the_clip_and_its_mirror():
    from smartclass.skeleton.protocol import fit_gcn, stream_scores

    train, test = _samples(subjects=(1, 2), per=3), _samples(subjects=(3,), per=3)
    settings = GCNSettings(frames=8, epochs=1, batch_size=3, channels=(8,), streams=("joint",), flip=True)
    model = fit_gcn("stgcn", train, 3, settings)
    with torch.no_grad():
        both = [torch.softmax(model(sequence_tensor(test, settings, mirror=m)), 1) for m in (False, True)]
    tta = stream_scores("stgcn", train, test, 3, replace(settings, flip_tta=True))
    np.testing.assert_allclose(tta, ((both[0] + both[1]) / 2).numpy(), atol=1e-6)


def test_worker_processes_give_the_same_figures(tmp_path, write_utkinect):
    write_utkinect(tmp_path, subjects=(1, 2, 3, 4))
    settings = GCNSettings(frames=8, epochs=2, batch_size=2, channels=(8,), streams=("joint", "motion"), ensemble=True)
    one = run_benchmark("utkinect", str(tmp_path), ("stgcn",), repeats=2, settings=settings)
    two = run_benchmark("utkinect", str(tmp_path), ("stgcn",), repeats=2, settings=settings, workers=2)
    assert one["models"]["stgcn"]["per_split"] == two["models"]["stgcn"]["per_split"]
    assert one["models"]["stgcn"]["per_stream_top1"] == two["models"]["stgcn"]["per_stream_top1"]
    cm = np.array(one["models"]["stgcn"]["confusion_matrix"])
    assert cm.sum() == 2 * 4 and cm.tolist() == two["models"]["stgcn"]["confusion_matrix"]  # 2 splits × 4 clips
    with pytest.raises(InputError, match="--workers"):
        run_benchmark("utkinect", str(tmp_path), ("stgcn",), settings=settings, workers=0)


def test_seed_ensemble_sums_the_networks_of_each_seed(tmp_path, write_utkinect):
    from smartclass.skeleton.protocol import gcn_scores

    train, test = _samples(subjects=(1, 2), per=3), _samples(subjects=(3,), per=3)
    settings = GCNSettings(frames=8, epochs=1, batch_size=3, channels=(8,), streams=("joint", "bone"), ensemble=True)
    both = gcn_scores("stgcn", train, test, 3, replace(settings, seed=4, seeds=2))
    first, second = (gcn_scores("stgcn", train, test, 3, replace(settings, seed=s)) for s in (4, 5))
    assert set(both) == {"joint", "bone"}
    for k in both:
        np.testing.assert_allclose(both[k], first[k] + second[k], atol=1e-6)
    write_utkinect(tmp_path, subjects=(1, 2, 3, 4))
    res = run_benchmark("utkinect", str(tmp_path), ("stgcn",), repeats=1, settings=replace(settings, seeds=2))
    assert set(res["models"]["stgcn"]["per_seed_top1"]) == {"0", "1"}
    with pytest.raises(InputError, match="--seeds"):
        run_benchmark("utkinect", str(tmp_path), ("stgcn",), settings=replace(settings, seeds=0))


def test_velocity_stream_knows_the_clips_recorded_duration(monkeypatch):
    import smartclass.skeleton.protocol as protocol

    sample = _samples(subjects=(1,), per=1)[0]  # 12 rows, no frame numbers
    settings = GCNSettings(frames=8, streams=("motion", "velocity"))
    x = sequence_tensor([sample], settings)[0].numpy()
    np.testing.assert_allclose(x[3:] * 11 / 7, x[:3], atol=1e-5)  # 11 row steps over 7 resampled steps
    slow = replace(sample, meta={"frames": np.arange(12) * 10})  # one row every 10 recorded frames
    x = sequence_tensor([slow], settings)[0].numpy()
    np.testing.assert_allclose(x[3:] * 110 / 7, x[:3], atol=1e-5)
    monkeypatch.setattr(protocol, "random_augment", lambda kp, rng, *a, **k: (kp, 0.5))  # a crop keeping half
    x = sequence_tensor([slow], settings, np.random.default_rng(0))[0].numpy()
    np.testing.assert_allclose(x[3:] * 55 / 7, x[:3], atol=1e-5)


def test_ensemble_entry_with_plus_is_one_model_on_several_streams():
    from smartclass.skeleton.protocol import gcn_scores, stream_groups

    settings = GCNSettings(streams=("local+velocity", "bone"), ensemble=True)
    assert stream_groups(settings) == [("local", "velocity"), ("bone",)]
    assert stream_groups(replace(settings, ensemble=False)) == [("local", "velocity", "bone")]
    train, test = _samples(subjects=(1, 2), per=3), _samples(subjects=(3,), per=3)
    small = replace(settings, frames=8, epochs=1, batch_size=3, channels=(8,))
    scores = gcn_scores("stgcn", train, test, 3, small)
    assert list(scores) == ["local+velocity", "bone"]
    alone = gcn_scores("stgcn", train, test, 3, replace(small, streams=("local", "velocity"), ensemble=False))
    np.testing.assert_allclose(scores["local+velocity"], alone["local+velocity"], atol=1e-6)


def test_most_confused_lists_the_largest_off_diagonal_counts_first():
    from smartclass.skeleton.protocol import most_confused

    cm = np.array([[9, 1, 0], [0, 5, 4], [2, 0, 7]])
    assert most_confused(cm, ("walk", "throw", "push")) == ["throw → push: 4", "push → walk: 2", "walk → throw: 1"]
    assert most_confused(cm, ("walk", "throw", "push"), top=1) == ["throw → push: 4"]
    assert most_confused(np.diag([3, 4, 5]), ("walk", "throw", "push")) == []  # no errors, nothing listed


def test_benchmark_confusion_matrix_sums_the_splits_and_matches_their_accuracy(tmp_path, write_utkinect):
    write_utkinect(tmp_path, subjects=(1, 2, 3, 4))  # a walk and a sit-down clip per subject
    res = run_benchmark("utkinect", str(tmp_path), ("so3-svm",), repeats=3)
    assert res["classes"][:2] == ["walk", "sitDown"] and len(res["classes"]) == 10
    m = res["models"]["so3-svm"]
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 3 * 4  # 3 splits × 2 test subjects × 2 clips
    assert cm[2:].sum() == 0 and cm[:, 2:].sum() == 0  # only the two classes present, never predicted otherwise
    # the splits are the same size here, so the summed diagonal is the mean per-split accuracy
    assert np.trace(cm) / cm.sum() == pytest.approx(m["top1"])
    assert all("→" in e for e in m["most_confused"])
    # every error is named by clip and predicted class, as often as the splits made it
    assert m["wrong_clips"] and sum(m["wrong_clips"].values()) == cm.sum() - np.trace(cm)
    names = {f"s{s:02d}_e01_{a}" for s in (1, 2, 3, 4) for a in ("walk", "sitDown")}
    assert all(k.split(" → ")[0] in names and k.split(" → ")[1] in ("walk", "sitDown") for k in m["wrong_clips"])


def test_mstgcn_ablations_reach_the_model_and_leave_stgcn_alone():
    from smartclass.skeleton.protocol import fit_gcn

    train = _samples(subjects=(1, 2), per=3)
    settings = GCNSettings(frames=8, epochs=1, batch_size=3, channels=(8,), streams=("joint",))
    full = fit_gcn("mstgcn", train, 3, settings)
    assert full.blocks[0].gcn.graph is not None and not isinstance(full.blocks[0].att, torch.nn.Identity)
    assert len(full.blocks[0].tcn.branches) == 3
    ablated = fit_gcn("mstgcn", train, 3, replace(settings, dynamic=False, attention=False, dilations=(1,)))
    assert ablated.blocks[0].gcn.graph is None and isinstance(ablated.blocks[0].att, torch.nn.Identity)
    assert len(ablated.blocks[0].tcn.branches) == 1
    assert full.blocks[0].tcn.branches[0][-1].kernel_size == (5, 1)
    short = fit_gcn("mstgcn", train, 3, replace(settings, kernel=3))
    assert short.blocks[0].tcn.branches[0][-1].kernel_size == (3, 1)
    assert type(fit_gcn("stgcn", train, 3, replace(settings, dynamic=False))).__name__ == "STGCN"


def _separable(n_per_class=8, frames=16, seed=0):
    """Three classes of waving joints at different frequencies (learnable in a few epochs)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, frames)[None, :, None, None]
    out = []
    for i in range(3 * n_per_class):
        c = i % 3
        kp = (np.tile(rng.normal(size=(1, 1, 20, 3)), (1, frames, 1, 1)) + (c + 1) * 0.3 * np.sin(2 * np.pi * t * (c + 1))
              + rng.normal(size=(1, frames, 20, 3)) * 0.02)
        out.append(SkeletonSample(kp.astype(np.float32), c, i % 4 + 1, f"s{i}", "kinect_v1_20"))
    return out


def test_gcn_trainer_on_the_engine_learns_and_its_checkpoint_loads(tmp_path):
    from smartclass.inference import load_model
    from smartclass.skeleton.protocol import fit_gcn

    train = _separable()
    settings = GCNSettings(frames=12, epochs=20, batch_size=8, channels=(8, 16), streams=("joint", "bone"))
    model = fit_gcn("stgcn", train, 3, settings, out_dir=tmp_path)
    x = sequence_tensor(train, settings)
    with torch.no_grad():
        pred = model(x).argmax(1)
    assert (pred == torch.tensor([s.label for s in train])).float().mean() >= 0.8  # chance: 1/3
    again = fit_gcn("stgcn", train, 3, settings)  # seeded: the same network
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    back, info = load_model(tmp_path / "last.pt", expected="gcn")
    assert info["model_config"]["kind"] == "stgcn" and info["config"]["gcn"]["epochs"] == 20
    assert len(info["history"]) == 20 and info["history"][-1]["loss"] < info["history"][0]["loss"]
    with torch.no_grad():
        assert torch.allclose(back(x), model(x))
