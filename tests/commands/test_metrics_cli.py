import json

import cv2
import numpy as np
import pytest

from smartclass.cli import main


def _write(path, img):
    cv2.imwrite(str(path), img)
    return str(path)


def test_image_metrics_json(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    a = _write(tmp_path / "ref.png", ref)
    b = _write(tmp_path / "test.png", ref)
    assert main(["metrics", "image", "--ref", a, "--test", b]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ssim"] == 1.0 and out["psnr"] is None  # infinite PSNR is written as null (strict JSON)
    c = _write(tmp_path / "noisy.png", np.clip(ref.astype(int) + 1 - 2 * (ref % 2), 0, 255).astype(np.uint8))
    assert main(["metrics", "image", "--ref", a, "--test", c]) == 0
    assert json.loads(capsys.readouterr().out)["psnr"] == pytest.approx(48.1308, abs=1e-3)  # MSE = 1


def test_fusion_metrics_json(tmp_path, capsys):
    img = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (40, 40)).astype(np.uint8), (5, 5), 1)
    p = _write(tmp_path / "x.png", img)
    assert main(["metrics", "fusion", "--vi", p, "--ir", p, "--fused", p]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["qabf"] - 0.9748) < 1e-3 and out["epi"] == 1.0


def test_missing_and_corrupt_files_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["metrics", "image", "--ref", str(bad), "--test", str(bad)]) == 2
    assert "bad.png" in capsys.readouterr().err
    assert main(["metrics", "image", "--ref", str(tmp_path / "nope.png"), "--test", str(bad)]) == 2
    assert "nope.png" in capsys.readouterr().err


def test_size_mismatch_names_the_files(tmp_path, capsys):
    a = _write(tmp_path / "small.png", np.zeros((20, 30), np.uint8))
    b = _write(tmp_path / "large.png", np.zeros((24, 30), np.uint8))
    assert main(["metrics", "image", "--ref", a, "--test", b]) == 2
    err = capsys.readouterr().err
    assert "small.png" in err and "large.png" in err and "30×24" in err
    assert main(["metrics", "fusion", "--vi", a, "--ir", a, "--fused", b]) == 2
    assert "--fused" in capsys.readouterr().err
