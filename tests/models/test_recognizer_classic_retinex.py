"""``model.enhance_method=msr``: the recogniser's enhancement replaced by the classic multi-scale Retinex (paper 002's
conventional-enhancement baselines, Tables 3–4)."""

import dataclasses

import numpy as np
import pytest
import torch

from smartclass.config import load_config
from smartclass.enhance.retinex import msr
from smartclass.errors import ConfigError
from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig

SMALL = RecognizerConfig(width=8, keypoint_channels=8, gcn_channels=(8, 8))


def test_msr_switch_applies_classic_retinex_per_frame():
    torch.manual_seed(0)
    m = TrimodalRecognizer(dataclasses.replace(SMALL, enhance_method="msr")).eval()
    x = torch.rand(3, 3, 32, 32) * 0.2
    out = m.enhance(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    for i in range(3):
        np.testing.assert_allclose(out[i].permute(1, 2, 0).numpy(), msr(x[i].permute(1, 2, 0).numpy()), atol=1e-6)
    # the learnt path gives something else, and the default is still the learnt one
    assert not torch.allclose(out, TrimodalRecognizer(SMALL).eval().enhance(x))
    assert RecognizerConfig().enhance_method == "wgf"


def test_msr_recogniser_trains_its_other_parts():
    torch.manual_seed(0)
    m = TrimodalRecognizer(dataclasses.replace(SMALL, enhance_method="msr", fusion="concat", gcn="stgcn"))
    rgb = torch.rand(2, 4, 3, 32, 32, requires_grad=True)
    o = m(rgb, torch.rand(2, 4, 1, 32, 32) * 4, 30 + torch.randn(2, 4, 1, 32, 32))
    assert o.logits.shape == (2, 10) and o.enhanced.shape == (8, 3, 32, 32)
    assert not o.enhanced.requires_grad  # parameter-free and outside the gradient
    o.logits.sum().backward()
    assert m.classifier[1].weight.grad is not None


def test_unknown_enhancement_method_is_a_config_error():
    with pytest.raises(ConfigError, match="model.enhance_method"):
        load_config(None, ["model.enhance_method=clahe"])
