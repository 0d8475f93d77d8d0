"""The track temporal model (features, windows, network, registry round trip, training task) and its stage in
analyze, plus recorded-clip replay."""

import numpy as np
import pytest
import torch

from smartclass.analyze.detector import Detections
from smartclass.analyze.evaluate import evaluate
from smartclass.analyze.outputs import build_timelines
from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
from smartclass.errors import ConfigError, InputError
from smartclass.labels import COARSE_CLASSES
from smartclass.models.track_temporal import EXTRA_FEATURES, TrackTemporal, track_features, window_tensor


def test_track_features_values():
    times = np.array([0.0, 0.3, 0.9])
    boxes = np.array([[10, 20, 30, 60], [12, 20, 32, 60], [12, 10, 32, 60]], float)
    probs = np.array([[0.5, 0.5], [0.8, 0.2], [0.1, 0.9]])
    scores = np.array([0.4, 0.4, 0.45])
    f = track_features(times, boxes, scores, probs, (100, 80))
    assert f.shape == (3, 2 + EXTRA_FEATURES) and f.dtype == np.float32
    assert np.allclose(f[:, :2], probs)
    assert np.allclose(f[:, 3], [0.8, 0.5, 0.5])  # objectness = score / max prob
    assert np.allclose(f[0, 7:], 0)  # no motion at the first step
    assert f[1, 7] == pytest.approx(2 / 20)  # centre x moved 2 px, box width 20
    assert f[2, 9] == pytest.approx(np.log(50 / 40))  # height grew from 40 to 50
    assert f[2, 10] == pytest.approx(0.6)
    with pytest.raises(InputError):
        track_features(times, boxes[:2], scores, probs, (100, 80))


def test_detections_keep_class_posteriors_through_select():
    d = Detections(np.zeros((3, 4)), [0.9, 0.1, 0.5], [0, 1, 2], np.eye(3))
    assert np.allclose(d.select(d.scores > 0.3).probs, np.eye(3)[[0, 2]])
    assert d.select(d.scores > 0.95).probs.shape == (0, 3)
    assert Detections(np.zeros((3, 4)), [0.9, 0.1, 0.5], [0, 1, 2]).select([0]).probs is None


def test_window_tensor_left_pads_and_marks_real_steps():
    x = window_tensor([np.ones((2, 3)), np.full((5, 3), 2.0)], 4)
    assert x.shape == (2, 4, 4)
    assert x[0, :2].abs().sum() == 0 and torch.all(x[0, 2:, -1] == 1)
    assert torch.all(x[1, :, 0] == 2) and torch.all(x[1, :, -1] == 1)


def test_model_output_is_a_distribution_and_round_trips_through_load_model(tmp_path):
    from smartclass.checkpoint import save_checkpoint
    from smartclass.inference import load_model

    m = TrackTemporal(4, window=6, hidden=8).eval()
    x = torch.randn(3, 6, m.in_features)
    p = m(x)
    assert p.shape == (3, 4) and torch.allclose(p.sum(1), torch.ones(3))
    with pytest.raises(InputError):
        m(torch.randn(3, 6, m.in_features + 1))
    save_checkpoint(tmp_path / "t.pt", {"model": "track_temporal", "model_config": m.config(), "state_dict": m.state_dict(),
                                        "config": {}, "history": []})
    m2, info = load_model(tmp_path / "t.pt", expected="track_temporal")
    assert info["model_config"]["window"] == 6 and torch.allclose(m2(x), p)


def test_training_task_learns_a_separable_set():
    from smartclass.training.engine import Engine, EngineSettings
    from smartclass.training.track_temporal import TrackTemporalTask

    rng = np.random.default_rng(0)

    def track(label):  # the detector's posterior favours the true class, noisily
        probs = rng.dirichlet(np.ones(3), 12) * 0.5
        probs[:, label] += 0.5
        boxes = np.tile([10, 10, 30, 50], (12, 1)) + rng.normal(0, 1, (12, 4))
        return track_features(np.arange(12) * 0.3, boxes, probs.max(1), probs, (100, 100)), np.full(12, label)

    train = [track(i % 3) for i in range(30)]
    val = [track(i % 3) for i in range(9)]
    task = TrackTemporalTask(train, val, ["a", "b", "c"], window=4, hidden=16, batch_size=64)
    _, state = Engine(EngineSettings(epochs=10, monitor="val_acc", mode="max"), None, log=lambda m: None).fit(task)
    assert state["best"] > 0.9


class _Model:
    """A stand-in for TrackBehaviourModel: probabilities from the latest detector posterior, sharpened."""

    class_names = COARSE_CLASSES
    window = 4

    def __init__(self):
        self.calls = []

    def check(self, names):
        if tuple(names) != self.class_names:
            raise ConfigError("classes differ")

    def __call__(self, records, frame_size):
        self.calls.append((len(records), frame_size))
        p = np.stack([r.det_probs[-1] for r in records]) ** 4 + 1e-3
        return p / p.sum(1, keepdims=True)


def test_temporal_stage_replaces_the_window_probabilities(synth_small, doubles):
    src = synth_small
    det = doubles.TruthDetector(src.truth, AnalyzeSettings().stride(src.fps))
    model = _Model()
    a = Analyzer(det, AnalyzeSettings(behaviour="temporal"), temporal=model)
    a.run(src)
    assert model.calls and all(fs == (src.width, src.height) for _, fs in model.calls)
    rec = next(iter(a.records.values()))
    assert len(rec.det_probs) == len(rec.probs) == len(rec.times)
    assert np.allclose(rec.probs[-1], model(([rec]), None)[0])
    assert evaluate(a, src.truth, build_timelines(a), src.fps)["timeline_accuracy"] > 0.9
    with pytest.raises(ConfigError, match="no track temporal model"):
        Analyzer(det, AnalyzeSettings(behaviour="temporal"))
    with pytest.raises(ConfigError, match="--behaviour"):
        Analyzer(det, AnalyzeSettings(behaviour="lstm"))
    det.class_names = ("a", "b")
    with pytest.raises(ConfigError):
        Analyzer(det, AnalyzeSettings(behaviour="temporal"), temporal=model)


def test_recorded_clip_replays_the_same_analysis(synth_small, doubles, tmp_path):
    from smartclass.analyze.replay import ClipRecord, labelled_tracks, record_clip

    class WithProbs:  # the truth double, with a class posterior per box
        def __init__(self, inner):
            self.inner, self.class_names, self.name, self.version, self.head_fraction = inner, inner.class_names, "p", "", 0.3

        def __call__(self, frames):
            out = []
            for d in self.inner(frames):
                p = np.full((len(d), 8), 0.02, np.float32)
                p[np.arange(len(d)), d.class_ids] = 0.86
                out.append(Detections(d.boxes, d.scores, d.class_ids, p))
            return out

    k = AnalyzeSettings().stride(synth_small.fps)
    rec = record_clip(synth_small, WithProbs(doubles.TruthDetector(synth_small.truth, k, flip=0.3, seed=4)))
    rec = ClipRecord.load(rec.save(tmp_path / "clip.npz"))
    assert rec.frames.shape == (20, 360, 640, 3) and len(rec.detections) == 20 and rec.detections[0].probs.shape[1] == 8
    live = Analyzer(WithProbs(doubles.TruthDetector(synth_small.truth, k, flip=0.3, seed=4)))
    live.run(synth_small)
    replayed = Analyzer(rec.detector())
    replayed.run(rec.source())
    assert build_timelines(replayed) == build_timelines(live)
    tracks = labelled_tracks(rec)
    assert len(tracks) == 4 and all(f.shape == (len(y), 8 + EXTRA_FEATURES) for f, y in tracks)
    assert all((y >= 0).all() for _, y in tracks)
    with pytest.raises(InputError, match="only 20 recorded"):
        rec.detector()([None] * 21)


def test_choose_behaviour(tmp_path, doubles):
    from smartclass.analyze.temporal import choose_behaviour
    from smartclass.checkpoint import save_checkpoint

    det = doubles.NobodyDetector()  # 8 coarse classes, no shipped model for its name
    assert choose_behaviour(det, "window") == ("window", None)
    assert choose_behaviour(det, "auto") == ("window", None)
    with pytest.raises(ConfigError, match="no track temporal model is shipped"):
        choose_behaviour(det, "temporal")
    with pytest.raises(ConfigError, match="--behaviour"):
        choose_behaviour(det, "lstm")
    m = TrackTemporal(len(COARSE_CLASSES), window=4, hidden=8, class_names=list(COARSE_CLASSES))
    save_checkpoint(tmp_path / "t.pt", {"model": "track_temporal", "model_config": m.config(),
                                        "state_dict": m.state_dict(), "config": {}, "history": []})
    mode, model = choose_behaviour(det, "auto", tmp_path / "t.pt")
    assert mode == "temporal" and model.window == 4
    other = TrackTemporal(3, window=4, hidden=8)
    save_checkpoint(tmp_path / "o.pt", {"model": "track_temporal", "model_config": other.config(),
                                        "state_dict": other.state_dict(), "config": {}, "history": []})
    assert choose_behaviour(det, "auto", tmp_path / "o.pt") == ("window", None)  # other classes: not used
    mode, model = choose_behaviour(det, "temporal", tmp_path / "o.pt")
    with pytest.raises(ConfigError, match="trained on the classes"):
        Analyzer(det, AnalyzeSettings(behaviour=mode), temporal=model)
