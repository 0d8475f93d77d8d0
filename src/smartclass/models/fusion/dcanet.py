"""DCA-Net (paper 002 §3.3, Figure 2): per-modality encoders, deformable alignment of depth and thermal to
RGB (eq. 3), parallel cross-attention (eq. 4) and gated fusion (eq. 5).

Input: ``rgb`` ``(N, 3, H, W)``, ``depth`` ``(N, 1, H, W)`` or None, ``thermal`` ``(N, 1, H, W)`` or None
(N counts frames: flatten clips to ``(B·T, C, H, W)``). Output: :class:`DCANetOutput` with the fused map
``(N, width, ⌈H/4⌉, ⌈W/4⌉)``. Kept light for 96×96 person crops at 16×T frames a batch: three stride-4 conv
encoders of ``width`` channels, and attention whose keys and values are pooled once more (``kv_stride``).

Switches for paper 002's ablations and baselines (same encoders, one code path each):

* ``deformable=False`` (Table 6, "without deformable convolution"): the source features are aligned by a plain
  3×3 convolution (what :class:`DeformableAlign` is at zero offsets) instead of the offset-predicting one.
* ``fusion="concat"`` (Table 3's "simple concatenation", Table 4's baseline): the three encoded maps (zeros for
  a missing modality) are concatenated and mixed by a 1×1 conv-BN-ReLU; no alignment, no attention, no gates.
* ``fusion="attention"`` (Table 3's "conventional attention"): the same concatenation re-weighted by
  squeeze-and-excitation channel attention (Hu et al. 2018), then the 1×1 mix.
* ``fusion="dca"`` (default): eqs. 3–5.

Missing modalities per sample (modality dropout, RGB-only / RGB+depth / RGB+thermal from one network):
``forward(..., present=)`` takes an ``(N, 2)`` boolean mask (depth, thermal) per frame; an absent source is
zeroed before its encoder's output is used and gets exactly zero gate weight in eq. 5 for that sample only.
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
FUSIONS = ("dca", "concat", "attention")


def modality_dropout_mask(n: int, p: float, generator: torch.Generator | None = None,
                          device: torch.device | str | None = None) -> torch.Tensor:
    """Per-sample modality dropout: an ``(n, 2)`` boolean mask (depth, thermal) with each entry False (the
    modality dropped for that sample) with probability ``p``, independently, so one batch mixes RGB-only,
    RGB+depth, RGB+thermal and trimodal samples. Pass it as ``present`` to :class:`DCANet`."""
    if not 0 <= p <= 1:
        raise InputError(f"modality dropout probability must be in [0, 1], got {p}")
    return torch.rand(n, 2, generator=generator, device=device) >= p


class SqueezeExcitation(nn.Module):
    """Conventional channel attention (Hu et al. 2018): ``x · sigmoid(W2 ReLU(W1 avgpool(x)))``, ``(N, C, H, W)``."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, max(channels // reduction, 1)), nn.ReLU(inplace=True),
                                nn.Linear(max(channels // reduction, 1), channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean((2, 3))))[:, :, None, None]


class PlainAlign(nn.Module):
    """Alignment without deformable convolution: a 3×3 conv of the source features (``f_ref`` unused), the
    Table 6 ablation of :class:`DeformableAlign`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, f_ref: torch.Tensor, f_src: torch.Tensor) -> torch.Tensor:
        return self.conv(f_src)


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
    ``present``: the ``(N, 2)`` per-sample mask it was given (None: every given modality in every sample), for
    losses that must leave dropped modalities out.
    """

    fused: torch.Tensor
    weights: torch.Tensor
    rgb: torch.Tensor
    depth: torch.Tensor | None
    thermal: torch.Tensor | None
    depth_mod: torch.Tensor | None
    thermal_mod: torch.Tensor | None
    present: torch.Tensor | None = None


class DCANet(nn.Module):
    """Deformable convolution and cross-attention alignment fusion network.

    ``in_channels``: channels per modality, default ``{'rgb': 3, 'depth': 1, 'thermal': 1}``; leave a source
    modality out to build a network without it. ``width``: feature channels. ``reduction``: query/key
    channel reduction of the attention. ``kv_stride``: extra pooling of keys and values (2: attention over
    an ``H/8`` grid). ``modulated``: DCNv2 masks in the alignment. ``deformable`` and ``fusion``: the
    ablation and baseline switches of the module docstring.

    ``forward(rgb, depth=None, thermal=None, present=None)`` → :class:`DCANetOutput`.
    """

    def __init__(self, in_channels: dict[str, int] | None = None, width: int = 32, reduction: int = 4,
                 kv_stride: int = 2, modulated: bool = True, deformable: bool = True, fusion: str = "dca") -> None:
        super().__init__()
        in_channels = dict(in_channels) if in_channels is not None else {"rgb": 3, "depth": 1, "thermal": 1}
        unknown = set(in_channels) - {"rgb", *SOURCE_MODALITIES}
        if "rgb" not in in_channels or unknown:
            raise InputError(
                f"in_channels must have 'rgb' and optionally 'depth', 'thermal'; got {sorted(in_channels)}"
            )
        if fusion not in FUSIONS:
            raise InputError(f"fusion must be one of {list(FUSIONS)}, got {fusion!r}")
        self.in_channels, self.width, self.fusion, self.deformable = in_channels, width, fusion, deformable
        self.encoders = nn.ModuleDict({m: ModalityEncoder(c, width) for m, c in in_channels.items()})
        if fusion == "dca":
            self.align = nn.ModuleDict({m: DeformableAlign(width, modulated=modulated) if deformable else PlainAlign(width)
                                        for m in in_channels if m != "rgb"})
            self.attention = ParallelCrossAttention(width, reduction, kv_stride)
            self.gate = GatedFusion(width)
        else:
            n = 1 + sum(m in in_channels for m in SOURCE_MODALITIES)
            self.channel_attention = SqueezeExcitation(n * width) if fusion == "attention" else nn.Identity()
            self.mix = nn.Sequential(nn.Conv2d(n * width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))

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
                thermal: torch.Tensor | None = None, present: torch.Tensor | None = None) -> DCANetOutput:
        c = self.in_channels["rgb"]
        if rgb.dim() != 4 or rgb.shape[1] != c:
            raise InputError(f"rgb must be (N, {c}, H, W), got {tuple(rgb.shape)}")
        self._check("depth", depth, rgb)
        self._check("thermal", thermal, rgb)
        n = rgb.shape[0]
        if present is not None and (present.shape != (n, 2) or present.dtype != torch.bool):
            raise InputError(f"present must be a boolean (N, 2) = ({n}, 2) mask (depth, thermal), got "
                             f"{tuple(present.shape)} {present.dtype}")
        f_rgb = self.encoders["rgb"](rgb)
        feats = {}
        for i, (m, x) in enumerate((("depth", depth), ("thermal", thermal))):
            if x is None:
                feats[m] = None
                continue
            f = self.encoders[m](x)
            if present is not None:  # a sample without this modality: its features are zero, per sample
                f = f * present[:, i].to(f.dtype).view(n, 1, 1, 1)
            feats[m] = f
        if self.fusion != "dca":
            maps = [f_rgb] + [feats[m] if feats[m] is not None else torch.zeros_like(f_rgb)
                              for m in SOURCE_MODALITIES if m in self.in_channels]
            fused = self.mix(self.channel_attention(torch.cat(maps, 1)))
            flags = torch.ones(n, 3, dtype=f_rgb.dtype, device=f_rgb.device)
            for i, m in enumerate(SOURCE_MODALITIES, start=1):
                flags[:, i] = 0 if feats[m] is None else (present[:, i - 1].to(f_rgb.dtype) if present is not None else 1)
            return DCANetOutput(fused, flags / flags.sum(1, keepdim=True), f_rgb, feats["depth"], feats["thermal"],
                                None, None, present)
        aligned = {m: self.align[m](f_rgb, f) if f is not None else None for m, f in feats.items()}
        d_mod, t_mod = self.attention(f_rgb, aligned["depth"], aligned["thermal"])
        fused, weights = self.gate(f_rgb, d_mod, t_mod, present=present)
        return DCANetOutput(fused, weights, f_rgb, aligned["depth"], aligned["thermal"], d_mod, t_mod, present)
