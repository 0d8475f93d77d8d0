import json

import cv2
import numpy as np

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
    assert out["ssim"] == 1.0 and out["psnr"] is not None


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
