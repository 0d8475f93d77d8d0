"""Architecture config of the trimodal recogniser (no torch import: ``smartclass config show`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import one_of, ranged


@dataclass
class RecognizerConfig:
    """Architecture of :class:`smartclass.models.recognizer.TrimodalRecognizer` (saved in every checkpoint as
    its ``model_config``)."""

    num_classes: int = ranged(10, ge=2)
    width: int = ranged(32, ge=1)  # DCA-Net feature channels
    keypoint_channels: int = ranged(32, ge=1)  # eq. 6 encoding per keypoint
    gcn_channels: tuple[int, ...] = ranged((48, 48, 96), ge=1)
    modalities: tuple[str, ...] = ("rgb", "depth", "thermal")
    enhance: bool = True  # the differentiable Retinex in front of DCA-Net
    thermal_refinement: bool = True
    context_stream: bool = True  # our extension: a temporal conv over each frame's pooled fused features
    dropout: float = ranged(0.1, ge=0, lt=1)
    # paper 002's ablation and baseline switches (Tables 3, 4, 6); the defaults are the method as shipped
    enhance_gate: bool = False  # enhancement gated by measured illumination (enhance.differentiable.crop_enhancement)
    enhance_multiscale: bool = True  # False: λ1 = λ2 = 0, the large-scale illumination only (Table 6)
    enhance_method: str = one_of("wgf", ("wgf", "msr"))  # "msr": classic multi-scale Retinex, Tables 3–4's conventional enhancement
    fusion: str = one_of("dca", ("dca", "concat", "attention"))  # Table 3's simple concatenation / conventional attention
    deformable: bool = True  # False: DCA-Net aligns with a plain 3×3 conv (Table 6)
    gcn: str = one_of("mstgcn", ("mstgcn", "stgcn"))  # "stgcn": Table 3's ST-GCN, Table 4's standard GCN
    gcn_dilations: tuple[int, ...] = ranged((1, 2, 4), ge=1)  # (1,): no multi-dilation temporal conv (Table 6)
