"""DCA-Net, the deformable convolution and cross-attention alignment fusion network of paper 002 §3.3.

Blocks, each in its own module: :class:`DeformableAlign` (eq. 3), :class:`ParallelCrossAttention` (eq. 4),
:class:`GatedFusion` (eq. 5), composed by :class:`DCANet`. Feature maps are ``(N, C, H, W)``.
"""

from smartclass.models.fusion.cross_attention import CrossModalAttention, ParallelCrossAttention
from smartclass.models.fusion.dcanet import DCANet, DCANetOutput, modality_dropout_mask
from smartclass.models.fusion.deformable import DeformableAlign, DeformableConv2d
from smartclass.models.fusion.gated import GatedFusion

__all__ = ["CrossModalAttention", "ParallelCrossAttention", "DCANet", "DCANetOutput", "DeformableAlign",
           "DeformableConv2d", "GatedFusion", "modality_dropout_mask"]
