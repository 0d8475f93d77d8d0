import math

import pytest
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.models.fusion.cross_attention import CrossModalAttention, ParallelCrossAttention


def test_identity_at_init_and_shapes():
    torch.manual_seed(0)
    att = CrossModalAttention(16, reduction=4)
    rgb, depth = torch.randn(2, 16, 8, 8), torch.randn(2, 16, 8, 8)
    out = att(rgb, depth)
    assert out.shape == (2, 16, 8, 8)
    torch.testing.assert_close(out, rgb)  # γ starts at 0


def test_attention_rows_are_softmax_over_source_positions():
    torch.manual_seed(1)
    att = CrossModalAttention(16, reduction=4)
    rgb, src = torch.randn(2, 16, 6, 5), torch.randn(2, 16, 6, 5)
    a = att.attention(rgb, src)
    assert a.shape == (2, 30, 30)
    assert torch.all(a >= 0)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 30))
    q = att.query(rgb).flatten(2)
    k = att.key(src).flatten(2)
    ref = torch.softmax(torch.einsum("ndi,ndj->nij", q, k) / math.sqrt(4), dim=-1)
    torch.testing.assert_close(a, ref)


def test_modulation_formula():
    torch.manual_seed(2)
    att = CrossModalAttention(8, reduction=2)
    with torch.no_grad():
        att.gamma.fill_(0.5)
    rgb, src = torch.randn(1, 8, 4, 4), torch.randn(1, 8, 4, 4)
    a = att.attention(rgb, src)
    v = att.value(src).flatten(2)
    m = torch.einsum("ncj,nij->nci", v, a).view(1, 8, 4, 4)
    m_hat = F.normalize(m, dim=1) * math.sqrt(8)
    torch.testing.assert_close(m_hat.square().mean(1), torch.ones(1, 4, 4))  # unit RMS per position
    torch.testing.assert_close(att(rgb, src), rgb * (1 + 0.5 * m_hat))


def test_kv_stride_pools_keys_and_values():
    att = CrossModalAttention(8, reduction=2, kv_stride=2)
    rgb, src = torch.randn(2, 8, 7, 9), torch.randn(2, 8, 7, 9)
    assert att.attention(rgb, src).shape == (2, 63, 4 * 5)
    with torch.no_grad():
        att.gamma.fill_(1.0)
    out = att(rgb, src)
    assert out.shape == (2, 8, 7, 9)
    out.sum().backward()
    assert att.key.weight.grad.abs().sum() > 0 and att.value.weight.grad.abs().sum() > 0


def test_parallel_branches_and_missing_modalities():
    torch.manual_seed(3)
    pca = ParallelCrossAttention(8, reduction=2)
    rgb, d, t = (torch.randn(2, 8, 6, 6) for _ in range(3))
    d_mod, t_mod = pca(rgb, d, t)
    assert d_mod.shape == t_mod.shape == (2, 8, 6, 6)
    d_mod, t_mod = pca(rgb, None, t)
    assert d_mod is None and t_mod.shape == (2, 8, 6, 6)
    d_mod, t_mod = pca(rgb, d, None)
    assert t_mod is None and d_mod is not None
    assert pca(rgb) == (None, None)


def test_bad_shapes_raise_input_error():
    att = CrossModalAttention(8)
    with pytest.raises(InputError, match="f_rgb"):
        att(torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6))
    with pytest.raises(InputError, match="f_src"):
        att(torch.randn(2, 8, 6, 6), torch.randn(2, 8, 5, 6))
