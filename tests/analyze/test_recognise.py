"""Paper 002's recogniser on tracked students (analyze.recognise), the track–recogniser fusion (model, fitting
task, fitting data) and their place in the pipeline and its outputs."""

import json

import numpy as np
import pytest
import torch

from smartclass.analyze.outputs import analyze_to_folder, build_timelines
from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
from smartclass.analyze.recognise import (ANALYZE_RECOGNISER, Fusion, TrackRecogniser, box_in_camera,
                                         choose_recogniser)
from smartclass.analyze.replay import labelled_decisions
from smartclass.analyze.sources import Frame, Source
from smartclass.checkpoint import save_checkpoint
from smartclass.errors import ConfigError, InputError
from smartclass.inference import shipped_checkpoint
from smartclass.labels import COARSE_CLASSES, COARSE_OF, FINE_CLASSES
from smartclass.models.track_fusion import TrackFusion
from smartclass.training.track_fusion import TrackFusionTask


@pytest.fixture(scope="module")
def recogniser_ckpt():
    return shipped_checkpoint(ANALYZE_RECOGNISER)


def _fusion_file(tmp_path, model: TrackFusion, name="fusion.pt"):
    path = tmp_path / name
    save_checkpoint(path, {"model": "track_fusion", "model_config": model.config(), "state_dict": model.state_dict(),
                           "config": {}, "history": []})
    return path


def _mapping_fusion() -> TrackFusion:
    """A fusion that ignores the track (but for the classes the recogniser cannot see)."""
    m = TrackFusion(list(COARSE_CLASSES), list(FINE_CLASSES))
    with torch.no_grad():
        m.a.fill_(0.0)
        m.w.fill_(1.0)
    return m


def test_boxes_carried_into_the_depth_and_thermal_cameras():
    from smartclass.synth.config import SynthConfig
    from smartclass.synth.generator import render_clip

    clip = render_clip(SynthConfig(clips=1, frames=2, students=4, split="test", width=320, height=180), 0)
    for s in clip.students:
        for cam in ("depth", "thermal"):
            got = box_in_camera(s.boxes["rgb"][0], clip.cameras["rgb"], clip.cameras[cam])
            assert np.abs(got - s.boxes[cam][0]).max() < 2.0  # the generator's own per-camera box


def test_frames_are_buffered_at_the_recognisers_rate(recogniser_ckpt):
    rec = TrackRecogniser(recogniser_ckpt)
    assert (rec.frames_n, rec.fps, rec.crop) == (16, 5.0, 48) and rec.class_names == FINE_CLASSES
    img = np.zeros((36, 64, 3), np.uint8)
    for i in range(100):  # 10 s at 10 fps
        rec.observe(Frame(i, i / 10, img))
    times = np.array([f.t for f in rec.buffer])
    assert np.diff(times).min() >= 0.1 - 1e-9 and times[-1] == pytest.approx(9.9)  # at most twice its rate
    assert times[-1] - times[0] <= rec.span + 0.2 + 1e-9  # only what one clip needs
    clip = np.array([f.t for f in rec._clip_frames(9.9)])
    assert np.allclose(clip, 9.9 - 3.0 + 0.2 * np.arange(16))
    with pytest.raises(ConfigError, match="--recognise-every"):
        TrackRecogniser(recogniser_ckpt, every=0)


def test_pipeline_runs_the_recogniser_on_tracks_and_fuses(synth_small, tmp_path, doubles, recogniser_ckpt):
    src = synth_small
    k = AnalyzeSettings().stride(src.fps)
    assert src.cameras is not None and {"depth", "thermal"} <= set(src.modalities)
    rec = TrackRecogniser(recogniser_ckpt, every=1.0, cameras=src.cameras)
    fusion = Fusion(_fusion_file(tmp_path, _mapping_fusion()))
    a = Analyzer(doubles.TruthDetector(src.truth, k), AnalyzeSettings(video=False), recogniser=rec, fusion=fusion)
    s = analyze_to_folder(a, src, tmp_path / "out", {"detector": {"name": "truth-double"}})
    assert s["modalities_used"]["analysed"] == ["rgb", "depth", "thermal"]
    assert s["models"]["recogniser"]["inputs"] == {"rgb+depth+thermal": rec.runs}
    assert 4 <= rec.runs / len(a.records) <= 6  # at the first decision ≥ 1 s after the last: every 1.2 s
    # the same run without the fusion: the track's own probabilities, and the same recogniser outputs
    plain = Analyzer(doubles.TruthDetector(src.truth, k), AnalyzeSettings(video=False),
                     recogniser=TrackRecogniser(recogniser_ckpt, every=1.0, cameras=src.cameras))
    plain.run(src)
    for sid, r in a.records.items():
        assert all(q is not None for q in r.rec_probs)  # run at a student's first decision, then held
        p_track, q = np.stack(plain.records[sid].probs), np.stack(plain.records[sid].rec_probs)
        assert np.allclose(q, np.stack(r.rec_probs), atol=1e-5)
        assert np.allclose(np.stack(r.probs), fusion(p_track, q), atol=1e-5)  # the timeline's are the fused ones
    tl = json.loads((tmp_path / "out" / "timeline.json").read_text())
    details = {x["detail"] for st in tl["students"] for x in st["intervals"]}
    assert details and details <= set(FINE_CLASSES)
    assert (tmp_path / "out" / "timeline.csv").read_text().splitlines()[1].split(",")[-1] in FINE_CLASSES
    # the recorded decisions are the fusion's fitting data, labelled from the ground truth
    pt, pr, y = labelled_decisions(a, src.truth)
    assert pt.shape[1] == 8 and pr.shape == (len(pt), 10) and len(y) == len(pt) > 20 and y.max() < 8


def test_without_depth_and_thermal_it_works_from_rgb(synth_small, tmp_path, doubles, recogniser_ckpt):
    frames = [f for f in synth_small.frames()]
    rgb_only = Source("frames", "rgb-only", synth_small.fps, synth_small.width, synth_small.height, len(frames),
                      lambda: iter([Frame(f.index, f.t, f.rgb) for f in frames]))
    rec = TrackRecogniser(recogniser_ckpt, every=2.0)
    a = Analyzer(doubles.TruthDetector(synth_small.truth, AnalyzeSettings().stride(rgb_only.fps)),
                 AnalyzeSettings(video=False, report=False), recogniser=rec)
    a.run(rgb_only)
    assert set(rec.modalities_used) == {"rgb"} and rec.runs >= 4
    tl = build_timelines(a)  # no fusion: the timeline is the track's, the recogniser gives the detail
    assert tl and all(x["detail"] in FINE_CLASSES for items in tl.values() for x in items)


def test_fusion_model_starts_as_the_track_and_checks_its_inputs(tmp_path):
    m = TrackFusion(list(COARSE_CLASSES), list(FINE_CLASSES))
    assert m.mapping == [COARSE_OF[n] for n in FINE_CLASSES]
    pt = torch.softmax(torch.randn(5, 8), 1)
    assert torch.allclose(m(pt, torch.softmax(torch.randn(5, 10), 1)), pt, atol=1e-4)
    # the recogniser's view: its classes summed into paper 000's; stand and sleep (unseen by it) are the track's
    pr = torch.zeros(5, 10)
    pr[:, FINE_CLASSES.index("note_taking")] = 1.0
    q = m.recogniser_view(pt, pr)
    stand, sleep, write = (COARSE_CLASSES.index(n) for n in ("stand", "sleep", "write"))
    assert torch.allclose(q[:, [stand, sleep]], pt[:, [stand, sleep]])
    assert torch.allclose(q[:, write], 1 - pt[:, stand] - pt[:, sleep]) and torch.allclose(q.sum(1), torch.ones(5))
    with pytest.raises(InputError, match="mapping"):
        TrackFusion(list(COARSE_CLASSES), list(FINE_CLASSES), mapping=[8] * 10)
    with pytest.raises(InputError, match="p_rec"):
        m(pt, torch.ones(5, 9) / 9)
    f = Fusion(_fusion_file(tmp_path, m))
    with pytest.raises(ConfigError, match="fitted for the classes"):
        f.check(COARSE_CLASSES[:7], FINE_CLASSES)


def test_choosing_the_recogniser(synth_small, tmp_path, doubles):
    det = doubles.NobodyDetector()
    with pytest.raises(ConfigError, match="--recogniser"):
        choose_recogniser(det, "sometimes", synth_small)
    assert choose_recogniser(det, "off", synth_small) == (None, None)
    with pytest.raises(ConfigError, match="no fusion is shipped"):
        choose_recogniser(det, "on", synth_small)
    assert choose_recogniser(det, "auto", synth_small) == (None, None)  # nothing shipped for this detector
    path = _fusion_file(tmp_path, TrackFusion(list(COARSE_CLASSES), list(FINE_CLASSES)))
    rgb_only = Source("frames", "x", 10.0, 64, 36, 1, lambda: iter([]))
    assert choose_recogniser(det, "auto", rgb_only, fusion=path) == (None, None)  # RGB only: off by default
    rec, fus = choose_recogniser(det, "on", rgb_only, fusion=path)
    assert rec is not None and fus is not None
    rec, fus = choose_recogniser(det, "auto", synth_small, fusion=path)
    assert rec.cameras is synth_small.cameras


def test_fusion_fitting_learns_what_the_recogniser_adds():
    rng = np.random.default_rng(0)
    fine_to_coarse = np.array([COARSE_OF[n] for n in FINE_CLASSES])

    def data(n):
        f = rng.integers(0, 10, n)
        y = fine_to_coarse[f]
        p_rec = np.full((n, 10), 0.02)
        p_rec[np.arange(n), f] = 0.82
        p_track = rng.dirichlet(np.ones(8), n)  # the track knows nothing
        return p_track, p_rec, y

    task = TrackFusionTask(data(600), data(200), list(COARSE_CLASSES), list(FINE_CLASSES), lr=0.05)
    torch.manual_seed(0)
    model = task.build_model()
    opt = task.optimizer(model)
    before = task.evaluate(model, 0)
    for epoch in range(1, 16):
        for batch in task.train_batches(epoch):
            opt.zero_grad()
            task.loss(model, batch).backward()
            opt.step()
    after = task.evaluate(model, 15)
    assert after["val_nll"] < before["val_nll"] and after["val_acc"] > 0.95 > before["val_acc_track_only"] + 0.5
    with pytest.raises(InputError, match="labels"):
        TrackFusionTask((np.ones((2, 8)), np.ones((2, 10)), np.array([0, 8])), data(4), list(COARSE_CLASSES),
                        list(FINE_CLASSES))
