import time

import cv2
import numpy as np
import pytest

from smartclass.analyze.outputs import VideoWriter
from smartclass.analyze.sources import (PairedStream, live_source, open_source, parse_synth_spec, video_source,
                                        with_paired)
from smartclass.errors import DataError, InputError


def _frames(n=12, w=64, h=48):
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : (i * 5) % w] = (40, 160, 220)
        out.append(img)
    return out


@pytest.fixture
def small_video(tmp_path):
    path = tmp_path / "lesson.mp4"
    vw = VideoWriter(path, 10.0, 64, 48)
    for f in _frames():
        vw.write(f)
    vw.close()
    return path


def test_video_round_trip_h264(small_video):
    import av

    with av.open(str(small_video)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    src = video_source(small_video)
    assert (src.fps, src.width, src.height) == (10.0, 64, 48)
    frames = list(src.frames())
    assert len(frames) == 12 and frames[0].rgb.shape == (48, 64, 3)
    np.testing.assert_allclose([f.t for f in frames], np.arange(12) / 10.0, atol=1e-6)
    assert not src.warnings


def test_unreadable_and_truncated_video(tmp_path, small_video):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(DataError, match="junk.mp4"):
        video_source(junk)
    long = tmp_path / "long.mp4"
    vw = VideoWriter(long, 10.0, 64, 48)
    for f in _frames(40):
        vw.write(f)
    vw.close()
    data = long.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.7)])  # faststart: the index is whole, the last frames are missing
    src = video_source(cut)
    frames = list(src.frames())
    assert 0 < len(frames) < 40
    assert any("truncated" in w and "cut.mp4" in w for w in src.warnings)
    head = tmp_path / "head.mp4"
    head.write_bytes(data[:200])  # not even the whole index
    with pytest.raises(DataError, match="head.mp4"):
        list(video_source(head).frames())


def test_frame_folder_and_bad_folder(tmp_path):
    for i, f in enumerate(_frames(5)):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), f[..., ::-1])
    src = open_source(str(tmp_path), fps=5.0)
    frames = list(src.frames())
    assert src.kind == "frames" and len(frames) == 5 and frames[2].t == pytest.approx(0.4)
    np.testing.assert_array_equal(frames[3].rgb, _frames(5)[3])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        open_source(str(tmp_path / "empty"))
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "missing.mp4"))


def test_synth_spec_errors():
    p = parse_synth_spec("synth:classroom,students=3,conditions=low_light+occlusion,seconds=2")
    assert p["students"] == 3 and p["conditions"] == ("low_light", "occlusion") and p["seconds"] == 2.0
    for bad, match in [("synth:lecture", "synth:classroom"), ("synth:classroom,pupils=3", "pupils"),
                       ("synth:classroom,students=many", "students"), ("synth:classroom,seconds=0", "seconds")]:
        with pytest.raises(InputError, match=match):
            parse_synth_spec(bad)
    with pytest.raises(InputError, match="students"):
        open_source("synth:classroom,students=40,seconds=0.2")


def test_synth_source_carries_ground_truth(synth_small):
    src = synth_small
    assert src.kind == "synth" and src.length == 60 and src.fps == 10.0
    assert len(src.truth.boxes) == 4 and src.truth.boxes[0].shape == (60, 4)
    f = next(iter(src.frames()))
    assert f.rgb.shape == (360, 640, 3) and f.depth is not None and f.thermal is not None
    assert set(src.modalities) == {"rgb", "depth", "thermal"}


class FakeCapture:
    """A camera that fails every third read (dropped frames) and can stall after ``stall_after`` frames."""

    def __init__(self, n=30, stall_after=None, never=False):
        self.i, self.n, self.stall_after, self.never = 0, n, stall_after, never
        self.released = False

    def read(self):
        if self.never:
            return False, None
        self.i += 1
        if self.stall_after is not None and self.i > self.stall_after:
            time.sleep(0.05)
            return False, None if self.i > 10 ** 6 else (False, None)
        time.sleep(0.002)
        if self.i % 3 == 0:
            return False, None
        return True, np.full((24, 32, 3), self.i % 255, np.uint8)

    def release(self):
        self.released = True


def test_stream_that_drops_frames_keeps_going_with_wall_clock_times():
    cap = FakeCapture()
    src = live_source(lambda: cap, "fake", max_failures=5, timeout=2.0)
    frames = []
    for f in src.frames():
        frames.append(f)
        if len(frames) == 12:
            break
    assert len(frames) == 12 and src.live and src.length is None
    assert all(b.t > a.t for a, b in zip(frames, frames[1:]))
    assert src.extra["failed_reads"] >= 4 and cap.released


def test_stream_that_stalls_ends_with_a_warning_and_one_that_never_sends_is_an_error():
    class Stalling(FakeCapture):
        def read(self):
            self.i += 1
            if self.i > 4:
                time.sleep(0.05)
                return True, None  # "ok" but nothing: the reader waits, the consumer times out
            return True, np.zeros((8, 8, 3), np.uint8)

    src = live_source(lambda: Stalling(), "stall", timeout=0.3, max_failures=10 ** 6)
    t0 = time.monotonic()
    frames = list(src.frames())
    assert len(frames) == 4 and time.monotonic() - t0 < 5
    assert any("stalled" in w for w in src.warnings)
    dead = live_source(lambda: FakeCapture(never=True), "dead", timeout=0.3, max_failures=10 ** 6)
    with pytest.raises(DataError, match="dead"):
        list(dead.frames())


def test_paired_stream_at_another_rate(tmp_path):
    d = tmp_path / "depth"
    d.mkdir()
    for i in range(5):  # 5 fps depth beside 10 fps RGB
        cv2.imwrite(str(d / f"{i:03d}.png"), np.full((6, 8), 1000 + i, np.uint16))
    ps = PairedStream(d, "depth", fps=5.0)
    got = [ps.at(t) for t in np.arange(10) / 10.0]
    assert [int(g[0, 0]) for g in got] == [1000, 1000, 1001, 1001, 1002, 1002, 1003, 1003, 1004, 1004]
    assert ps.at(30.0) is None  # far past the end of the stream
    vids = tmp_path / "rgb"
    vids.mkdir()
    for i, f in enumerate(_frames(10)):
        cv2.imwrite(str(vids / f"{i:03d}.png"), f)
    src = with_paired(open_source(str(vids), fps=10.0), depth=d, paired_fps=5.0)
    frames = list(src.frames())
    assert src.modalities == ["rgb", "depth"] and all(f.depth is not None for f in frames)
    assert src.extra["depth_frames_matched"] == 10
    with pytest.raises(DataError, match="thermal"):
        with_paired(open_source(str(vids), fps=10.0), thermal=tmp_path / "nothing")
