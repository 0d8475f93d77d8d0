"""Deformable convolution in plain torch, and the deformable alignment of paper 002 eq. 3.

torchvision (and so ``torchvision.ops.deform_conv2d``) is not installable here, so the sampling is done with
``F.grid_sample`` and the weights are applied unfold-style: the ``k·k`` sampled copies of the input are
gathered into ``(N, C·k·k, H·W)`` and multiplied by the ``(C_out, C·k·k)`` weight matrix.

Conventions (the same as ``torchvision.ops.deform_conv2d``, stride 1, dilation 1):

- ``offset`` is ``(N, 2·k·k, H_out, W_out)``; for kernel point ``j`` (row-major over the ``k × k`` window)
  channel ``2j`` is the row offset Δy and channel ``2j + 1`` the column offset Δx, in input pixels.
- ``mask`` (DCNv2 modulation) is ``(N, k·k, H_out, W_out)`` and multiplies the sampled values.
- Output pixel ``(i, j)`` samples the input at ``(i − p + a + Δy, j − p + b + Δx)`` for kernel point
  ``(a, b)``; outside the input the value is zero, so zero offsets reproduce ``F.conv2d(x, w, b, padding=p)``
  exactly, borders included.

``grid_sample`` is called with ``align_corners=False`` and ``padding_mode='zeros'``: pixel index ``x`` maps to
the normalised coordinate ``(2x + 1)/W − 1``, which lands exactly on pixel centres (so integer positions
are read without interpolation) and, unlike ``align_corners=True``, stays well defined when a side is 1 px.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError


class DeformableConv2d(nn.Module):
    """``k × k`` deformable convolution, stride 1 (DCNv1; DCNv2 when a modulation mask is given).

    ``forward(x, offset, mask=None)``: ``x`` ``(N, C_in, H, W)``, ``offset`` ``(N, 2·k·k, H_out, W_out)``,
    ``mask`` ``(N, k·k, H_out, W_out)`` or None; returns ``(N, C_out, H_out, W_out)`` with
    ``H_out = H + 2p − k + 1`` (``H`` for the default k = 3, p = 1). ``weight`` ``(C_out, C_in, k, k)`` and
    ``bias`` are laid out and initialised as in ``nn.Conv2d``.
    """

    def __init__(self, cin: int, cout: int, k: int = 3, padding: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.cin, self.cout, self.k, self.padding = cin, cout, k, padding
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = nn.Parameter(torch.empty(cout)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(cin * k * k)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.cin:
            raise InputError(f"x must be (N, {self.cin}, H, W), got {tuple(x.shape)}")
        n, c, h, w = x.shape
        kk = self.k * self.k
        ho, wo = h + 2 * self.padding - self.k + 1, w + 2 * self.padding - self.k + 1
        if ho < 1 or wo < 1:
            raise InputError(f"x of size {h}×{w} is too small for a {self.k}×{self.k} kernel, padding {self.padding}")
        if offset.shape != (n, 2 * kk, ho, wo):
            raise InputError(
                f"offset must be (N, 2·k·k, H_out, W_out) = {(n, 2 * kk, ho, wo)}, got {tuple(offset.shape)}"
            )
        if mask is not None and mask.shape != (n, kk, ho, wo):
            raise InputError(f"mask must be (N, k·k, H_out, W_out) = {(n, kk, ho, wo)}, got {tuple(mask.shape)}")

        # Sampling positions in input pixels: (N, k·k, H_out, W_out) each.
        a = torch.arange(self.k, device=x.device, dtype=x.dtype)
        ky, kx = torch.meshgrid(a, a, indexing="ij")
        rows = torch.arange(ho, device=x.device, dtype=x.dtype).view(1, 1, ho, 1)
        cols = torch.arange(wo, device=x.device, dtype=x.dtype).view(1, 1, 1, wo)
        base_y = rows - self.padding + ky.reshape(1, kk, 1, 1)
        base_x = cols - self.padding + kx.reshape(1, kk, 1, 1)
        off = offset.view(n, kk, 2, ho, wo)
        py = base_y + off[:, :, 0]
        px = base_x + off[:, :, 1]
        grid = torch.stack(((2 * px + 1) / w - 1, (2 * py + 1) / h - 1), dim=-1)  # (N, kk, Ho, Wo, 2)
        sampled = F.grid_sample(x, grid.view(n, kk * ho, wo, 2), mode="bilinear", padding_mode="zeros",
                                align_corners=False)
        sampled = sampled.view(n, c, kk, ho * wo)  # channel-major, then kernel point: matches weight.view(Co, C·kk)
        if mask is not None:
            sampled = sampled * mask.reshape(n, 1, kk, ho * wo)
        out = torch.matmul(self.weight.view(self.cout, c * kk), sampled.view(n, c * kk, ho * wo))
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1)
        return out.view(n, self.cout, ho, wo)


class DeformableAlign(nn.Module):
    """Eq. 3: ``Δp = W_offset · cat(F_ref, F_src)``, then a deformable 3×3 conv of ``F_src`` at the offset
    positions, which aligns the source (depth or thermal) features to the RGB reference.

    The offset conv (3×3 on the ``2C``-channel concatenation) is initialised to zero, so at initialisation
    the offsets are 0, the modulation mask is 1 and the block is a plain 3×3 conv of ``F_src``. With
    ``modulated=True`` (DCNv2) the same conv also predicts a per-kernel-point mask ``2·sigmoid(m)`` in
    ``(0, 2)``; ``modulated=False`` is DCNv1.

    ``forward(f_ref, f_src)``: both ``(N, C, H, W)``; returns the aligned source ``(N, C, H, W)``.
    """

    def __init__(self, channels: int, k: int = 3, modulated: bool = True) -> None:
        super().__init__()
        self.channels, self.k, self.modulated = channels, k, modulated
        kk = k * k
        self.offset_conv = nn.Conv2d(2 * channels, (3 if modulated else 2) * kk, 3, padding=1)
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)
        self.conv = DeformableConv2d(channels, channels, k, padding=k // 2)

    def predict_offsets(self, f_ref: torch.Tensor, f_src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(offset (N, 2·k·k, H, W), mask (N, k·k, H, W) or None)`` for the source features."""
        if f_ref.dim() != 4 or f_ref.shape[1] != self.channels:
            raise InputError(f"f_ref must be (N, {self.channels}, H, W), got {tuple(f_ref.shape)}")
        if f_src.shape != f_ref.shape:
            raise InputError(f"f_src must have the shape of f_ref {tuple(f_ref.shape)}, got {tuple(f_src.shape)}")
        out = self.offset_conv(torch.cat((f_ref, f_src), dim=1))
        kk = self.k * self.k
        if not self.modulated:
            return out, None
        return out[:, : 2 * kk], 2 * torch.sigmoid(out[:, 2 * kk :])

    def forward(self, f_ref: torch.Tensor, f_src: torch.Tensor) -> torch.Tensor:
        offset, mask = self.predict_offsets(f_ref, f_src)
        return self.conv(f_src, offset, mask)
