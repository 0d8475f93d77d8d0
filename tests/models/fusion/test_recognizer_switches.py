"""Paper 002's ablation and baseline switches (Tables 3, 4, 6) build the intended recogniser, and the
recogniser handles a missing modality per sample (modality dropout)."""

import dataclasses

import pytest
import torch

from smartclass.enhance.differentiable import multiscale_weighted_guided_retinex_t
from smartclass.errors import InputError
from smartclass.models.fusion.dcanet import PlainAlign, modality_dropout_mask
from smartclass.models.fusion.deformable import DeformableAlign
from smartclass.models.gcn.mstgcn import MSTGCN
from smartclass.models.gcn.stgcn import STGCN
from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig

SMALL = RecognizerConfig(width=8, keypoint_channels=8, gcn_channels=(8, 8))


def _clip(b=2, t=4, s=32):
    torch.manual_seed(0)
    return torch.rand(b, t, 3, s, s), torch.rand(b, t, 1, s, s) * 4, 30 + torch.randn(b, t, 1, s, s)


def _build(**kw):
    torch.manual_seed(0)
    return TrimodalRecognizer(dataclasses.replace(SMALL, **kw)).eval()


def test_defaults_are_the_full_method():
    m = _build()
    assert all(isinstance(a, DeformableAlign) for a in m.dcanet.align.values()) and m.dcanet.fusion == "dca"
    assert isinstance(m.gcn, MSTGCN) and len(m.gcn.blocks[0].tcn.branches) == 3


def test_table6_switches():
    assert all(isinstance(a, PlainAlign) for a in _build(deformable=False).dcanet.align.values())
    one = _build(gcn_dilations=(1,))
    assert all(len(b.tcn.branches) == 1 for b in one.gcn.blocks)
    x = torch.rand(3, 3, 32, 32) * 0.2
    no_ms = _build(enhance_multiscale=False)
    torch.testing.assert_close(no_ms.enhance(x), multiscale_weighted_guided_retinex_t(x, large_radius=4, lambda1=0,
                                                                                       lambda2=0))
    full = _build()
    torch.testing.assert_close(full.enhance(x), multiscale_weighted_guided_retinex_t(x, large_radius=4))


def test_table3_and_table4_baselines_and_forward():
    for kw in ({"fusion": "concat", "gcn": "stgcn"}, {"fusion": "attention"}, {"fusion": "concat"}):
        m = _build(**kw)
        assert not hasattr(m.dcanet, "gate")
        assert isinstance(m.gcn, STGCN) == (kw.get("gcn") == "stgcn")
        out = m(*_clip())
        assert out.logits.shape == (2, 10)


def test_gated_enhancement_passes_well_lit_crops():
    m = _build(enhance_gate=True)
    bright = 0.3 + 0.4 * torch.rand(2, 3, 32, 32)  # mean luma ≈ 0.5, above CROP_GATE's bright threshold
    assert torch.equal(m.enhance(bright), bright)
    assert not torch.equal(_build().enhance(bright), bright)  # the shipped, ungated path changes it
    dark = 0.1 * torch.rand(2, 3, 32, 32)
    assert m.enhance(dark).mean() > 2 * dark.mean()


def test_per_sample_modality_dropout_in_the_recogniser():
    m = _build()
    m.dcanet.attention.thermal.gamma.data.fill_(0.5)  # at initialisation γ = 0 hides the thermal branch
    rgb, d, th = _clip()
    present = torch.tensor([[True, False], [True, True]])
    out = m(rgb, d, th, present=present)
    assert out.fusion.weights.view(2, 4, 3)[0, :, 2].eq(0).all()  # sample 0: no thermal weight in any frame
    assert out.fusion.weights.view(2, 4, 3)[1, :, 2].gt(0).all()
    full = m(rgb, d, th)
    torch.testing.assert_close(out.logits[1], full.logits[1])  # the other sample is untouched
    assert not torch.allclose(out.logits[0], full.logits[0])
    with pytest.raises(InputError, match="present must be"):
        m(rgb, d, th, present=torch.ones(3, 2, dtype=torch.bool))


def test_modality_dropout_mask():
    g = torch.Generator().manual_seed(0)
    mask = modality_dropout_mask(4000, 0.3, generator=g)
    assert mask.shape == (4000, 2) and mask.dtype == torch.bool
    assert abs((~mask).float().mean().item() - 0.3) < 0.03
    combos = {tuple(r) for r in mask.tolist()}
    assert combos == {(True, True), (True, False), (False, True), (False, False)}  # all four per batch
    assert modality_dropout_mask(5, 0.0).all() and not modality_dropout_mask(5, 1.0).any()
    with pytest.raises(InputError, match="in \\[0, 1\\]"):
        modality_dropout_mask(2, 1.5)
