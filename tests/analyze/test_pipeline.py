import json

import numpy as np
import pytest

from smartclass.analyze.evaluate import evaluate
from smartclass.analyze.lowlight import DarkFrameEnhancer, mean_luma
from smartclass.analyze.outputs import analyze_to_folder, blur_regions, build_timelines, head_box
from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer
from smartclass.analyze.sources import Frame, Source


def _run(src, det, out, **kw):
    a = Analyzer(det, AnalyzeSettings(**kw))
    s = analyze_to_folder(a, src, out, {"detector": {"name": det.name, "classes": list(det.class_names)}})
    return a, s


def test_synthetic_lesson_end_to_end(synth_small, tmp_path, doubles):
    src = synth_small
    det = doubles.TruthDetector(src.truth, AnalyzeSettings().stride(src.fps), flip=0.25, seed=1)
    a, s = _run(src, det, tmp_path)
    assert s["complete"] and s["students_seen"] == 4 and s["decisions_per_second"] >= 2
    assert sum(s["behaviour_share"].values()) == pytest.approx(1.0, abs=1e-3)
    tl = json.loads((tmp_path / "timeline.json").read_text())
    assert tl["complete"] and len(tl["students"]) == 4
    for st in tl["students"]:
        iv = st["intervals"]
        assert all(x["start"] < x["end"] <= 6.0 + 1e-6 for x in iv)
        assert all(p["end"] <= q["start"] + 1e-6 for p, q in zip(iv, iv[1:]))
        assert all(0 < x["confidence"] <= 1 for x in iv)
    csv = (tmp_path / "timeline.csv").read_text().splitlines()
    assert csv[0] == "student,start_s,end_s,behaviour,confidence,detail" and len(csv) > 4
    assert set(s["engagement"]["mapping"]) <= set(det.class_names)
    assert all(p["engaged"] is None or 0 <= p["engaged"] <= 1 for p in s["engagement"]["curve"])
    import av

    with av.open(str(tmp_path / "annotated.mp4")) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in c.decode(video=0)) == 60
    ev = evaluate(a, src.truth, build_timelines(a), src.fps)
    assert ev["tracking"]["idf1"] > 0.95 and ev["tracking"]["id_switches"] == 0
    assert ev["timeline_accuracy"] > 0.9


def test_smoothing_beats_per_frame_labels_on_noisy_detections(synth_small, tmp_path, doubles):
    src = synth_small
    k = AnalyzeSettings().stride(src.fps)
    accs = {}
    for name, kw in {"smoothed": {}, "per-frame": {"smoothing": "none", "window": 1e-3}}.items():
        a, _ = _run(src, doubles.TruthDetector(src.truth, k, flip=0.35, seed=2), tmp_path / name, video=False, report=False, **kw)
        accs[name] = evaluate(a, src.truth, build_timelines(a), src.fps)["timeline_accuracy"]
    assert accs["smoothed"] > accs["per-frame"] + 0.15


def test_zero_students_in_view(synth_small, tmp_path, doubles):
    a, s = _run(synth_small, doubles.NobodyDetector(), tmp_path, report=True)
    assert s["students_seen"] == 0 and s["behaviour_share"] == {}
    assert s["engagement"]["mean"] is None and "no student" in s["engagement"]["mean_reason"]
    assert (tmp_path / "timeline.csv").read_text().strip() == "student,start_s,end_s,behaviour,confidence,detail"
    assert "no students seen" in (tmp_path / "report.html").read_text()


def test_a_very_dark_lesson_is_enhanced_and_a_lit_one_untouched(synth_small, tmp_path, doubles):
    frames = [f for _, f in zip(range(10), synth_small.frames())]
    seen = []

    class Spy(doubles.NobodyDetector):
        def __call__(self, batch):
            seen.extend(batch)
            return super().__call__(batch)

    def source(scale):
        return Source("frames", f"scaled {scale}", 10.0, 640, 360, 10,
                      lambda: iter([Frame(f.index, f.t, (f.rgb * scale).astype(np.uint8)) for f in frames]))

    a, s = _run(source(1.0), Spy(), tmp_path / "lit", video=False, report=False, detect_every=1)
    assert s["frames_enhanced"] == 0 and all(np.array_equal(x, f.rgb) for x, f in zip(seen, frames))
    seen.clear()
    a, s = _run(source(0.12), Spy(), tmp_path / "dark", video=False, report=False, detect_every=1)
    assert s["frames_enhanced"] == 10 and s["dark_frames_detected"] == 10
    assert mean_luma(seen[0]) > 2 * mean_luma((frames[0].rgb * 0.12).astype(np.uint8))
    assert DarkFrameEnhancer(enabled=False)((frames[0].rgb * 0.12).astype(np.uint8))[1]


def test_ctrl_c_leaves_complete_files(synth_small, tmp_path, doubles):
    src = synth_small
    det = doubles.TruthDetector(src.truth, AnalyzeSettings().stride(src.fps))
    a = Analyzer(det, AnalyzeSettings())

    def stop(an, frame):
        if frame.index == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze_to_folder(a, src, tmp_path, {}, stop)
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["interrupted"] and not s["complete"] and s["frames_processed"] == 31
    assert not json.loads((tmp_path / "timeline.json").read_text())["complete"]
    import av

    with av.open(str(tmp_path / "annotated.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 28
    assert not list(tmp_path.glob(".*partial*"))


def test_blur_faces_blurs_the_head_part_only():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 100, 3), dtype=np.uint8)
    box = np.array([20, 10, 80, 110])
    hx1, hy1, hx2, hy2 = head_box(box, 0.3)
    assert (hx1, hy1, hx2, hy2) == (29, 10, 71, 40)
    out = blur_regions(img.copy(), [(hx1, hy1, hx2, hy2)])
    assert out[hy1:hy2, hx1:hx2].std() < 0.3 * img[hy1:hy2, hx1:hx2].std()
    np.testing.assert_array_equal(out[50:], img[50:])
    assert head_box(box, 1.0) == (20, 10, 80, 110)


def test_a_normally_lit_real_classroom_is_not_enhanced():
    from pathlib import Path

    from smartclass.analyze.sources import video_source

    video = Path(__file__).resolve().parents[3] / "shared" / "data" / "video" / "lecture-hall.mp4"
    if not video.is_file():
        pytest.skip("../shared/data/video/lecture-hall.mp4 is absent")
    frame = next(iter(video_source(video).frames())).rgb
    out, dark = DarkFrameEnhancer()(frame)
    assert out is frame and not dark


def test_a_live_source_flushes_as_it_goes(synth_small, tmp_path, doubles):
    import json as _json
    import time

    from smartclass.analyze.sources import live_source

    frames = [f.rgb[..., ::-1].copy() for _, f in zip(range(20), synth_small.frames())]  # BGR, as OpenCV gives

    class Cap:
        i = 0

        def read(self):
            if self.i >= len(frames):
                return False, None
            time.sleep(0.05)  # a camera delivers at its frame rate
            self.i += 1
            return True, frames[self.i - 1]

        def release(self):
            pass

    src = live_source(lambda: Cap(), "fake-camera", kind="camera", fps_hint=10.0, max_failures=3, timeout=2.0)
    flushed = []
    a = Analyzer(doubles.NobodyDetector(), AnalyzeSettings(flush_seconds=0.0, video=True))

    def watch(an, frame):
        if (tmp_path / "summary.json").exists():
            flushed.append(_json.loads((tmp_path / "summary.json").read_text())["frames_processed"])

    s = analyze_to_folder(a, src, tmp_path, {}, watch)
    assert s["input"]["live"] and s["input"]["frames"] is None
    assert s["frames_processed"] + s["input"]["dropped_frames"] == 20
    assert flushed and min(flushed) < s["frames_processed"]  # outputs existed before the end
    assert any("ended" in w for w in s["warnings"])


def test_gate_matches_the_enhancement_modules_gate():
    from smartclass.analyze.lowlight import ANALYZE_GATE, gate
    from smartclass.enhance.differentiable import illumination_gate

    rng = np.random.default_rng(0)
    for scale in (0.1, 0.25, 0.3, 0.5, 1.0):
        img = (rng.integers(0, 256, (64, 96, 3)) * scale).astype(np.uint8)
        assert gate(mean_luma(img, step=1), *ANALYZE_GATE) == pytest.approx(illumination_gate(img, *ANALYZE_GATE), abs=1e-5)


def test_default_stride_gives_at_least_three_decisions_a_second():
    for fps in (5.0, 10.0, 24.0, 25.0, 29.97, 30.0, 60.0):
        k = AnalyzeSettings().stride(fps)
        assert 3.0 <= fps / k < 6.1 or fps < 3
