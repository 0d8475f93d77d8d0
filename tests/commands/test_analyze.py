"""``smartclass analyze`` end to end with a tiny trained detector (coloured squares) on a video of moving squares."""

import json
from pathlib import Path

import numpy as np
import pytest

from smartclass.cli import main


@pytest.fixture(scope="module")
def ckpt(tiny_detector):
    return tiny_detector[1]


def _video(path: Path, n: int = 30) -> Path:
    from smartclass.analyze.outputs import VideoWriter

    vw = VideoWriter(path, 10.0, 96, 64)
    for i in range(n):
        img = np.full((64, 96, 3), 200, np.uint8)
        img[20:36, 10 + i:26 + i] = (220, 0, 0)  # a red square moving right
        img[40:56, 60:76] = (0, 0, 220)  # a blue square sitting still
        vw.write(img)
    vw.close()
    return path


def test_analyze_video_with_a_checkpoint(ckpt, tmp_path, capsys):
    video = _video(tmp_path / "lesson.mp4")
    out = tmp_path / "out"
    code = main(["analyze", str(video), "--checkpoint", str(ckpt), "--out", str(out), "--detect-every", "2",
                 "--score-threshold", "0.01", "--blur-faces"])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"detector: detector:d ({ckpt}" in printed and "frames/s processed" in printed
    for name in ("timeline.csv", "timeline.json", "summary.json", "annotated.mp4", "report.html"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    assert s["complete"] and s["frames_processed"] == 30 and s["detect_every"] == 2
    assert s["models"]["detector"]["classes"] == ["red", "blue"] and s["settings"]["blur_faces"]
    assert s["input"]["kind"] == "video" and s["input"]["fps"] == 10.0
    assert s["decisions_per_second"] == 5.0


def test_max_seconds_and_no_video(ckpt, tmp_path):
    video = _video(tmp_path / "lesson.mp4")
    out = tmp_path / "out"
    assert main(["analyze", str(video), "--checkpoint", str(ckpt), "--out", str(out), "--max-seconds", "1",
                 "--no-video", "--no-report"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["frames_processed"] == 10 and not (out / "annotated.mp4").exists() and not (out / "report.html").exists()


def test_user_errors_are_one_line_exit_2(ckpt, tmp_path, capsys):
    assert main(["analyze", "synth:classroom,pupils=3", "--checkpoint", str(ckpt), "--out", str(tmp_path)]) == 2
    assert "pupils" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "none.mp4"), "--checkpoint", str(ckpt), "--out", str(tmp_path)]) == 2
    assert "none.mp4" in capsys.readouterr().err
    assert main(["analyze", "synth:classroom", "--checkpoint", str(tmp_path / "no.pt"), "--out", str(tmp_path)]) == 2
    assert "no.pt" in capsys.readouterr().err
    assert main(["analyze", str(_video(tmp_path / "v.mp4", 3)), "--checkpoint", str(ckpt), "--out", str(tmp_path / "o"),
                 "--tracker", "magic"]) == 2
    assert "--tracker" in capsys.readouterr().err
