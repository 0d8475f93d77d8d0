"""The YOLOv2-style anchor head of paper 000 §2.5 (eqs. 17–19 evaluate it), one per feature level.

A 1×1 convolution maps a fused feature map ``(N, Cin, H, W)`` to ``A·(Num+5)`` channels per cell ("the
required number of target channels [5·(Num+5)·H·W]"): for each of the ``A`` anchors (A = 5, found by IoU
k-means, :mod:`.anchors`) ``(tx, ty, tw, th, to)`` and ``Num`` class scores. Decoding (YOLOv2):
``bx = σ(tx)+cx, by = σ(ty)+cy, bw = aw·e^{tw}, bh = ah·e^{th}``, confidence ``σ(to)``, class
probabilities ``softmax``; a box's score is ``σ(to)·max_c p_c``. Non-maximum suppression removes redundant
boxes (:func:`smartclass.ops.boxes.batched_nms`); eqs. 17–19 (IoU, precision, recall) are in
:mod:`smartclass.ops.boxes` and :mod:`smartclass.metrics.detection`.

Anchors are ``(w, h)`` in input pixels; each level divides them by its stride to get grid units.
:class:`DetectionHead` holds one :class:`YoloHead` per level (a multi-scale head on an FPN); the paper's
single-scale head is the one-level case (stride 32).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from smartclass.errors import ConfigError, InputError
from smartclass.ops.boxes import batched_nms, clip_boxes, decode_level, level_view

# initial objectness bias: σ(b) = 0.01, so an untrained head does not flood NMS with confident boxes
_PRIOR_BIAS = -4.595


def eval_forward(model: nn.Module, *args, **kwargs):
    """``model(*args, **kwargs)`` in eval mode without gradients, the previous mode restored afterwards."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(*args, **kwargs)
    finally:
        model.train(was)


class YoloHead(nn.Module):
    """One level: ``(N, Cin, H, W)`` → raw ``(N, A·(C+5), H, W)``; :meth:`decode` → boxes in pixels."""

    def __init__(self, in_channels: int, num_classes: int, anchors: Sequence[Sequence[float]],
                 stride: float | Sequence[float]) -> None:
        super().__init__()
        a = torch.as_tensor(anchors, dtype=torch.float32)
        if a.dim() != 2 or a.shape[1] != 2 or len(a) == 0 or bool((a <= 0).any()):
            raise ConfigError(f"anchors must be a non-empty list of positive [w, h] pairs, got {anchors}")
        st = [float(v) for v in (stride if isinstance(stride, (list, tuple)) else [stride])]
        if num_classes < 1 or len(st) not in (1, 2) or min(st) <= 0:
            raise ConfigError(f"num_classes must be >= 1 and stride a positive number or (sx, sy) pair, got "
                              f"{num_classes} and {stride}")
        self.num_classes, self.num_anchors = int(num_classes), len(a)
        # pixels per cell: an int for the usual square strides, (sx, sy) for non-square cells
        self.stride = (int(st[0]) if st[0].is_integer() else st[0]) if len(st) == 1 else (st[0], st[1])
        self.register_buffer("anchors", a)  # pixels
        self.conv = nn.Conv2d(in_channels, self.num_anchors * (self.num_classes + 5), 1)
        with torch.no_grad():
            self.conv.bias.view(self.num_anchors, -1)[:, 4].fill_(_PRIOR_BIAS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def decode(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw ``(N, A·(C+5), H, W)`` → ``boxes`` ``(N, A·H·W, 4)`` xyxy pixels, ``conf`` ``(N, A·H·W)``,
        ``probs`` ``(N, A·H·W, C)``; order (anchor, row, column)."""
        v = level_view(raw, self.num_anchors, self.num_classes)
        n = v.shape[0]
        boxes = decode_level(v, self.anchors, self.stride)
        return {"boxes": boxes.reshape(n, -1, 4), "conf": torch.sigmoid(v[..., 4]).reshape(n, -1),
                "probs": torch.softmax(v[..., 5:], -1).reshape(n, -1, self.num_classes)}


class DetectionHead(nn.Module):
    """One :class:`YoloHead` per feature level. ``forward(features: list of (N, Cin_l, H_l, W_l))`` → list of
    raw outputs; :meth:`postprocess` → per-image detections."""

    def __init__(self, in_channels: Sequence[int], num_classes: int, anchors: Sequence[Sequence[Sequence[float]]],
                 strides: Sequence[float | Sequence[float]]) -> None:
        super().__init__()
        if not (len(in_channels) == len(anchors) == len(strides)) or not strides:
            raise ConfigError(f"one anchor set per level: {len(in_channels)} input levels, {len(anchors)} anchor "
                              f"sets, {len(strides)} strides")
        self.levels = nn.ModuleList(YoloHead(c, num_classes, a, s) for c, a, s in zip(in_channels, anchors, strides))
        self.num_classes = int(num_classes)

    @property
    def strides(self) -> list:
        return [lv.stride for lv in self.levels]

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        if len(features) != len(self.levels):
            raise InputError(f"head has {len(self.levels)} levels, got {len(features)} feature maps")
        return [head(f) for head, f in zip(self.levels, features)]

    def decode(self, raws: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """All levels concatenated: ``boxes`` ``(N, P, 4)`` xyxy pixels, ``conf`` ``(N, P)``, ``probs`` ``(N, P, C)``."""
        parts = [head.decode(r) for head, r in zip(self.levels, raws)]
        return {k: torch.cat([p[k] for p in parts], 1) for k in ("boxes", "conf", "probs")}

    @torch.no_grad()
    def postprocess(self, raws: Sequence[torch.Tensor], image_size: tuple[int, int], conf: float = 0.25,
                    iou: float = 0.45, max_det: int = 300, with_probs: bool = False) -> list[dict[str, torch.Tensor]]:
        """Per image ``{"boxes": (K, 4) xyxy pixels clipped to image_size = (H, W), "scores": (K,),
        "labels": (K,) int64}``: score ``σ(to)·max_c p_c`` above ``conf``, class-aware NMS at ``iou``, at most
        ``max_det`` boxes by descending score; ``with_probs`` adds each box's class posterior ``"probs" (K, C)``."""
        d = self.decode(raws)
        score, label = (d["conf"][..., None] * d["probs"]).max(-1)
        out = []
        for b in range(score.shape[0]):
            m = score[b] > conf
            boxes, s, lab = clip_boxes(d["boxes"][b][m], image_size), score[b][m], label[b][m]
            keep = batched_nms(boxes, s, lab, iou)[:max_det]
            out.append({"boxes": boxes[keep], "scores": s[keep], "labels": lab[keep]}
                       | ({"probs": d["probs"][b][m][keep]} if with_probs else {}))
        return out
