"""Box-jitter augmentation of recogniser batches: crops re-framed as if the student's box were off."""

import pytest
import torch

from smartclass.training.recognizer import random_box_jitter, reframe


def _spot_batch(n=3, t=2, size=32):
    """Clips with one bright pixel per frame at the first keypoint (pixel centres, so u = (i + 0.5) / size)."""
    rgb = torch.zeros(n, t, 3, size, size)
    kp = torch.zeros(n, t, 17, 3)
    kp[..., 2] = 1
    for i in range(n):
        x, y = 10 + 2 * (i % 8), 14 - i % 8
        rgb[i, :, :, y, x] = 1
        kp[i, :, 0, 0], kp[i, :, 0, 1] = (x + 0.5) / size, (y + 0.5) / size
    depth = rgb[:, :, :1] * 3.0
    return {"rgb": rgb, "rgb_clean": rgb.clone(), "depth": depth, "thermal": None, "keypoints": kp,
            "label": torch.arange(n)}


def test_identity_reframe_changes_nothing():
    b = _spot_batch()
    r = reframe(b, torch.zeros(3, 2), torch.ones(3))
    for k in ("rgb", "rgb_clean", "depth"):
        assert torch.allclose(r[k], b[k], atol=1e-6)
    assert torch.allclose(r["keypoints"], b["keypoints"]) and r["thermal"] is None and r["label"] is b["label"]


def test_a_shifted_box_moves_images_and_keypoints_together():
    b = _spot_batch()
    size = 32
    # box 4 px to the right and 2 px down: the student appears 4 px left and 2 px up in the crop
    r = reframe(b, torch.tensor([[4 / size, 2 / size]] * 3), torch.ones(3))
    for i in range(3):
        img = r["rgb"][i, 0, 0]
        y, x = divmod(int(img.argmax()), size)
        u, v = r["keypoints"][i, 0, 0, :2] * size - 0.5
        assert (x, y) == (10 + 2 * i - 4, 14 - i - 2) and (round(float(u)), round(float(v))) == (x, y)
        dep = r["depth"][i, 0, 0]
        assert set(dep.unique().tolist()) <= {0.0, 3.0}  # nearest neighbour: no blended depths


def test_a_larger_box_shrinks_the_student_about_the_centre_and_pads_with_zeros():
    size = 32
    b = {"rgb": torch.ones(1, 1, 3, size, size), "depth": None, "thermal": None,
         "keypoints": torch.tensor([[[[0.75, 0.25, 2.0]] * 17]])}
    r = reframe(b, torch.zeros(1, 2), torch.tensor([2.0]))
    assert float(r["rgb"][0, 0, 0, 0, 0]) == 0 and float(r["rgb"][0, 0, 0, size // 2, size // 2]) == 1
    assert torch.allclose(r["keypoints"][0, 0, 0], torch.tensor([0.625, 0.375, 2.0]))


def test_random_jitter_stays_within_its_amount():
    torch.manual_seed(0)
    b = _spot_batch(n=64, t=1, size=32)
    kp = b["keypoints"][:, 0, 0, :2]
    r = random_box_jitter(b, 0.1)
    moved = r["keypoints"][:, 0, 0, :2]
    assert not torch.allclose(moved, kp)
    # |u' − 0.5| ≤ (|u − 0.5| + 0.1) · 1.1 for a shift ≤ 0.1 and a scale ≥ 1 / 1.1
    assert ((moved - 0.5).abs() <= ((kp - 0.5).abs() + 0.1) * 1.1 + 1e-6).all()
    assert r["rgb"].shape == b["rgb"].shape and r["rgb"].min() >= 0 and r["rgb"].max() <= 1 + 1e-6


def test_box_jitter_config_errors_name_the_key(capsys):
    from smartclass.cli import main
    from smartclass.config import load_config
    from smartclass.errors import ConfigError

    for bad, says in (("train.box_jitter=0.6", "train.box_jitter': expected ≥ 0 and ≤ 0.5, got 0.6"),
                      ("train.box_jitter=-0.1", "train.box_jitter': expected ≥ 0 and ≤ 0.5")):
        with pytest.raises(ConfigError, match=says):
            load_config(None, [bad])
    assert load_config(None, ["train.box_jitter=0.08"]).train.box_jitter == 0.08
    assert main(["config", "show", "train.box_jitter=2"]) == 2
    err = capsys.readouterr().err
    assert "train.box_jitter" in err and len(err.strip().splitlines()) == 1
