import pytest
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.models.fusion.deformable import DeformableAlign, DeformableConv2d


def _offsets(n, k, h, w, dy=0.0, dx=0.0):
    off = torch.zeros(n, k * k, 2, h, w)
    off[:, :, 0] = dy
    off[:, :, 1] = dx
    return off.view(n, 2 * k * k, h, w)


def test_zero_offsets_equal_conv2d_including_borders():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 16, 16)
    dc = DeformableConv2d(8, 6)
    out = dc(x, _offsets(2, 3, 16, 16))
    ref = F.conv2d(x, dc.weight, dc.bias, padding=1)
    assert out.shape == (2, 6, 16, 16)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("k,padding", [(3, 0), (5, 2), (1, 0)])
def test_zero_offsets_other_kernels(k, padding):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 9, 7)
    dc = DeformableConv2d(3, 4, k=k, padding=padding)
    ho, wo = 9 + 2 * padding - k + 1, 7 + 2 * padding - k + 1
    out = dc(x, _offsets(2, k, ho, wo))
    torch.testing.assert_close(out, F.conv2d(x, dc.weight, dc.bias, padding=padding), atol=1e-5, rtol=1e-5)


def test_single_pixel_side_is_well_defined():
    x = torch.randn(1, 2, 1, 5)
    dc = DeformableConv2d(2, 3)
    out = dc(x, _offsets(1, 3, 1, 5))
    torch.testing.assert_close(out, F.conv2d(x, dc.weight, dc.bias, padding=1), atol=1e-5, rtol=1e-5)


def test_modulation_mask_of_ones_is_identity_and_zero_gives_bias():
    torch.manual_seed(2)
    x = torch.randn(2, 4, 8, 8)
    dc = DeformableConv2d(4, 4)
    off = _offsets(2, 3, 8, 8)
    torch.testing.assert_close(dc(x, off, torch.ones(2, 9, 8, 8)), dc(x, off), atol=1e-6, rtol=1e-6)
    zero = dc(x, off, torch.zeros(2, 9, 8, 8))
    torch.testing.assert_close(zero, dc.bias.view(1, -1, 1, 1).expand_as(zero))


def test_integer_offset_in_x_equals_conv_of_shifted_input():
    torch.manual_seed(3)
    x = torch.randn(2, 8, 16, 16)
    dc = DeformableConv2d(8, 5)
    out = dc(x, _offsets(2, 3, 16, 16, dx=1.0))
    shifted = torch.roll(x, shifts=-1, dims=3)  # shifted[..., j] = x[..., j + 1]
    ref = F.conv2d(shifted, dc.weight, dc.bias, padding=1)
    # Column 0 differs (zero padding vs real column 0), and the last two see the wrapped column.
    torch.testing.assert_close(out[..., 1:-2], ref[..., 1:-2], atol=1e-5, rtol=1e-5)
    # and +1 in y likewise shifts rows
    out_y = dc(x, _offsets(2, 3, 16, 16, dy=1.0))
    ref_y = F.conv2d(torch.roll(x, shifts=-1, dims=2), dc.weight, dc.bias, padding=1)
    torch.testing.assert_close(out_y[:, :, 1:-2], ref_y[:, :, 1:-2], atol=1e-5, rtol=1e-5)


def test_gradient_flows_to_offsets_and_gradcheck():
    torch.manual_seed(4)
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    dc = DeformableConv2d(2, 2).double()
    off = (0.3 + 0.4 * torch.rand(1, 18, 5, 5, dtype=torch.float64)).requires_grad_()
    mask = torch.rand(1, 9, 5, 5, dtype=torch.float64, requires_grad=True)
    dc(x, off, mask).sum().backward()
    assert off.grad is not None and torch.isfinite(off.grad).all() and off.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda a, b, c: dc(a, b, c), (x, off, mask), eps=1e-6, atol=1e-5)


def test_bad_shapes_raise_input_error():
    dc = DeformableConv2d(4, 4)
    x = torch.randn(2, 4, 8, 8)
    with pytest.raises(InputError, match="offset"):
        dc(x, torch.zeros(2, 9, 8, 8))
    with pytest.raises(InputError, match="x must be"):
        dc(torch.randn(2, 3, 8, 8), torch.zeros(2, 18, 8, 8))
    with pytest.raises(InputError, match="mask"):
        dc(x, torch.zeros(2, 18, 8, 8), torch.ones(2, 18, 8, 8))


def test_align_is_plain_conv_at_init_and_learns_offsets():
    torch.manual_seed(5)
    align = DeformableAlign(8)
    ref, src = torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16)
    out = align(ref, src)
    assert out.shape == (2, 8, 16, 16)
    torch.testing.assert_close(out, F.conv2d(src, align.conv.weight, align.conv.bias, padding=1), atol=1e-5, rtol=1e-5)
    offset, mask = align.predict_offsets(ref, src)
    assert offset.shape == (2, 18, 16, 16) and mask.shape == (2, 9, 16, 16)
    assert torch.all(offset == 0) and torch.all(mask == 1)
    out.square().mean().backward()
    assert align.offset_conv.weight.grad.abs().sum() > 0


def test_align_unmodulated_and_shape_errors():
    align = DeformableAlign(4, modulated=False)
    offset, mask = align.predict_offsets(torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6))
    assert offset.shape == (1, 18, 6, 6) and mask is None
    with pytest.raises(InputError, match="f_src"):
        align(torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 5))
    with pytest.raises(InputError, match="f_ref"):
        align(torch.randn(1, 3, 6, 6), torch.randn(1, 3, 6, 6))
