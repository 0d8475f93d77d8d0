from pathlib import Path

import cv2
import numpy as np
import pytest

from smartclass.commands.metrics import read_image
from smartclass.errors import InputError
from smartclass.metrics.fusion import (
    epi, fusion_epi, fusion_nmi, mutual_information, mutual_information_pair, qabf, vifb_entropy, vifb_psnr, vifb_ssim,
)
from smartclass.metrics.image import entropy

VIFB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fusion" / "vifb-sample"


def _texture(seed=0, shape=(64, 80)):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.uint8), (5, 5), 1.0)


def test_mi_of_image_with_itself_is_its_entropy():
    a = _texture()
    assert mutual_information_pair(a, a) == pytest.approx(entropy(a), abs=1e-9)


def test_mi_of_independent_images_is_small_and_fusion_mi_sums_sources():
    a, b = _texture(1), _texture(2)
    assert mutual_information_pair(a, b) < 0.5 * entropy(a)
    assert mutual_information(a, b, a) == pytest.approx(mutual_information_pair(a, a) + mutual_information_pair(b, a))


def test_qabf_of_identical_images():
    a = _texture(3)
    assert qabf(a, a, a) == pytest.approx(0.9994 * 0.9879 / ((1 + np.exp(-7.5)) * (1 + np.exp(-4.4))), abs=1e-9)
    assert qabf(a, a, a) == pytest.approx(0.9748, abs=1e-4)
    assert qabf(a, a, a, mode="vifb") > qabf(a, a, a)  # G = gF quirk lifts pixels where gA == gF


def test_qabf_drops_when_edges_are_lost():
    a, b = _texture(4), _texture(5)
    fused = ((a.astype(float) + b) / 2).astype(np.uint8)
    blurred = cv2.GaussianBlur(fused, (9, 9), 3)
    assert qabf(a, b, blurred) < qabf(a, b, fused)


def test_epi_is_one_for_identical_and_lower_for_blur():
    a = _texture(6)
    assert epi(a, a) == pytest.approx(1.0)
    assert epi(a, cv2.GaussianBlur(a, (7, 7), 2)) < 0.9
    assert fusion_epi(a, a, a) == pytest.approx(1.0)


def test_size_mismatch_and_bad_mode():
    a = _texture()
    with pytest.raises(InputError, match="source B is"):
        qabf(a, a[:10], a)
    with pytest.raises(InputError, match="mode"):
        qabf(a, a, a, mode="matlab")


@pytest.mark.skipif(not VIFB.is_dir(), reason="VIFB sample (../shared/data) not present")
@pytest.mark.parametrize("pair", ["kettle", "manCall"])
@pytest.mark.parametrize("method", ["ADF", "CNN", "GFCE"])
def test_reproduces_vifb_published_values(pair, method):
    read = lambda p: read_image(p, "sample")  # noqa: E731  (RGB order; grey stays grey)
    vi, ir, f = read(VIFB / "vi" / f"{pair}.jpg"), read(VIFB / "ir" / f"{pair}.jpg"), read(VIFB / "fused" / f"{pair}_{method}.jpg")
    ref = lambda m: float((VIFB / "metrics" / f"{pair}_{method}_{m}.txt").read_text())  # noqa: E731
    assert qabf(vi, ir, f, mode="vifb") == pytest.approx(ref("Qabf"), abs=1e-3)
    assert mutual_information(vi, ir, f, mode="vifb") == pytest.approx(ref("Mutinf"), abs=1e-3)
    assert vifb_entropy(vi, ir, f) == pytest.approx(ref("Entropy"), abs=1e-3)
    assert vifb_ssim(vi, ir, f) == pytest.approx(ref("Ssim"), abs=1e-3)
    assert vifb_psnr(vi, ir, f) == pytest.approx(ref("Psnr"), abs=1e-3)


def test_fusion_nmi_is_in_unit_range_and_one_for_identical():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (512, 512)).astype(np.uint8)
    b = rng.integers(0, 256, (512, 512)).astype(np.uint8)
    assert fusion_nmi(a, a, a) == pytest.approx(1.0)
    # F = A: NMI(A, F) = 1, NMI(B, F) ≈ 0 (independent) → one half plus the plug-in bias
    assert fusion_nmi(a, b, a) == pytest.approx(0.5, abs=0.02)
    colour = np.stack([a, b, a], -1)
    assert fusion_nmi(colour, colour, colour) == pytest.approx(1.0)
