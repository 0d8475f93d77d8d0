"""DCA-Net (paper 002 §3.3, Figure 2): per-modality encoders, deformable alignment of depth and thermal to
RGB (eq. 3), parallel cross-attention (eq. 4) and gated fusion (eq. 5).

Input: ``rgb`` ``(N, 3, H, W)``, ``depth`` ``(N, 1, H, W)`` or None, ``thermal`` ``(N, 1, H, W)`` or None
(N counts frames: flatten clips to ``(B·T, C, H, W)``). Output: :class:`DCANetOutput` with the fused map
``(N, width, ⌈H/4⌉, ⌈W/4⌉)``. Kept light for 96×96 person crops at 16×T frames a batch: three stride-4 conv
encoders of ``width`` channels, and attention whose keys and values are pooled once more (``kv_stride``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from smartclass.errors import InputError
from smartclass.models.fusion.cross_attention import ParallelCrossAttention
from smartclass.models.fusion.deformable import DeformableAlign
from smartclass.models.fusion.gated import GatedFusion

SOURCE_MODALITIES = ("depth", "thermal")


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ModalityEncoder(nn.Sequential):
    """Three 3×3 conv-BN-ReLU layers, strides 2, 2, 1: ``(N, C_in, H, W)`` → ``(N, width, ⌈H/4⌉, ⌈W/4⌉)``."""

    def __init__(self, cin: int, width: int) -> None:
        super().__init__(
            conv_bn_relu(cin, width // 2, 2), conv_bn_relu(width // 2, width, 2), conv_bn_relu(width, width)
        )


@dataclass
class DCANetOutput:
    """What :class:`DCANet` returns; feature maps are ``(N, width, h, w)``.

    ``fused``: eq. 5 output. ``weights``: ``(N, 3)`` gates ``(α, β, γ)``. ``rgb``: the RGB reference features.
    ``depth`` / ``thermal``: the deformably aligned source features (eq. 3, for the alignment loss, eq. 15),
    None where the modality is missing. ``depth_mod`` / ``thermal_mod``: the attention-modulated RGB features.
    """

    fused: torch.Tensor
    weights: torch.Tensor
    rgb: torch.Tensor
    depth: torch.Tensor | None
    thermal: torch.Tensor | None
    depth_mod: torch.Tensor | None
    thermal_mod: torch.Tensor | None


class DCANet(nn.Module):
    """Deformable convolution and cross-attention alignment fusion network.

    ``in_channels``: channels per modality, default ``{'rgb': 3, 'depth': 1, 'thermal': 1}``; leave a source
    modality out to build a network without it. ``width``: feature channels. ``reduction``: query/key
    channel reduction of the attention. ``kv_stride``: extra pooling of keys and values (2: attention over
    an ``H/8`` grid). ``modulated``: DCNv2 masks in the alignment.

    ``forward(rgb, depth=None, thermal=None)`` → :class:`DCANetOutput`.
    """

    def __init__(self, in_channels: dict[str, int] | None = None, width: int = 32, reduction: int = 4,
                 kv_stride: int = 2, modulated: bool = True) -> None:
        super().__init__()
        in_channels = dict(in_channels) if in_channels is not None else {"rgb": 3, "depth": 1, "thermal": 1}
        unknown = set(in_channels) - {"rgb", *SOURCE_MODALITIES}
        if "rgb" not in in_channels or unknown:
            raise InputError(
                f"in_channels must have 'rgb' and optionally 'depth', 'thermal'; got {sorted(in_channels)}"
            )
        self.in_channels, self.width = in_channels, width
        self.encoders = nn.ModuleDict({m: ModalityEncoder(c, width) for m, c in in_channels.items()})
        self.align = nn.ModuleDict({m: DeformableAlign(width, modulated=modulated) for m in in_channels if m != "rgb"})
        self.attention = ParallelCrossAttention(width, reduction, kv_stride)
        self.gate = GatedFusion(width)

    def _check(self, name: str, x: torch.Tensor | None, rgb: torch.Tensor) -> None:
        if x is None:
            return
        if name not in self.in_channels:
            raise InputError(f"{name} was given but this DCANet was built without it (in_channels={self.in_channels})")
        c = self.in_channels[name]
        if x.dim() != 4 or x.shape[1] != c or x.shape[0] != rgb.shape[0] or x.shape[2:] != rgb.shape[2:]:
            n, _, h, w = rgb.shape
            raise InputError(f"{name} must be (N, {c}, H, W) = {(n, c, h, w)} like rgb, got {tuple(x.shape)}")

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor | None = None,
                thermal: torch.Tensor | None = None) -> DCANetOutput:
        c = self.in_channels["rgb"]
        if rgb.dim() != 4 or rgb.shape[1] != c:
            raise InputError(f"rgb must be (N, {c}, H, W), got {tuple(rgb.shape)}")
        self._check("depth", depth, rgb)
        self._check("thermal", thermal, rgb)
        f_rgb = self.encoders["rgb"](rgb)
        aligned = {
            m: self.align[m](f_rgb, self.encoders[m](x)) if x is not None else None
            for m, x in (("depth", depth), ("thermal", thermal))
        }
        d_mod, t_mod = self.attention(f_rgb, aligned["depth"], aligned["thermal"])
        fused, weights = self.gate(f_rgb, d_mod, t_mod)
        return DCANetOutput(fused, weights, f_rgb, aligned["depth"], aligned["thermal"], d_mod, t_mod)
