"""YOLOv2 region loss for the anchor head of paper 000 §2.5, over one or several feature levels.

Targets (YOLOv2 / YOWO, vectorised: no Python loop over boxes): every ground-truth box is assigned to the
anchor, over all levels, with the best shape-only IoU (:func:`~smartclass.ops.boxes.wh_iou`), and within that
level to the cell of its centre ``(⌊cx/s⌋, ⌊cy/s⌋)``. For the responsible prediction:

- coordinates: ``(σ(tx) − (cx/s − i))² + (σ(ty) − (cy/s − j))² + (tw − log(w/aw))² + (th − log(h/ah))²``,
  weighted by ``coord_scale · (2 − w·h / (W·H))`` (small boxes count more, as in YOLOv3);
- objectness: ``object_scale · (σ(to) − c)²`` with ``c`` the IoU of the decoded box with its ground truth
  (YOLOv2's rescore; ``rescore=False`` takes ``c = 1``); ``object_scale = 5``; ``objectness="bce"`` uses
  YOLOv3's binary cross-entropy ``BCE(σ(to), c)`` instead (stronger gradients far from the target);
- class: cross-entropy of the class logits (optionally class-weighted), times ``class_scale``.

Every other prediction gets ``noobject_scale · σ(to)²`` (``bce``: ``−log(1 − σ(to))``), except those whose decoded box already overlaps some
ground truth of its image with IoU > ``ignore_thresh`` (0.6): their no-object weight is 0. The sum is divided
by the batch size. Two boxes claiming the same anchor and cell: the first in input order keeps it.

Inputs: raw level outputs ``[(N, A_l·(C+5), H_l, W_l)]`` and per-image targets
``[{"boxes": (M, 4) xyxy input pixels, "labels": (M,) int}]`` (``M`` may be 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from smartclass.errors import ConfigError, InputError
from smartclass.ops.boxes import box_iou, cxcywh_to_xyxy, decode_level, level_view, stride_xy, wh_iou, xyxy_to_cxcywh


class RegionLoss(nn.Module):
    """``forward(raws, targets)`` → ``(loss, {"coord", "obj", "noobj", "cls", "num_gt"})`` (floats)."""

    def __init__(self, num_classes: int, anchors: Sequence[Sequence[Sequence[float]]], strides: Sequence,
                 object_scale: float = 5.0, noobject_scale: float = 1.0, coord_scale: float = 1.0,
                 class_scale: float = 1.0, ignore_thresh: float = 0.6, rescore: bool = True,
                 class_weights: torch.Tensor | Sequence[float] | None = None, objectness: str = "mse") -> None:
        super().__init__()
        if objectness not in ("mse", "bce"):
            raise ConfigError(f"objectness loss must be 'mse' (YOLOv2) or 'bce' (YOLOv3), got '{objectness}'")
        self.objectness = objectness
        if len(anchors) != len(strides) or not strides:
            raise ConfigError(f"one anchor set per stride: {len(anchors)} anchor sets, {len(strides)} strides")
        self.num_classes, self.strides = int(num_classes), list(strides)  # numbers or (sx, sy) pairs
        self.num_anchors = [len(a) for a in anchors]
        self.register_buffer("anchors", torch.cat([torch.as_tensor(a, dtype=torch.float32).view(-1, 2) for a in anchors]))
        self.register_buffer("anchor_level", torch.cat([torch.full((n,), i) for i, n in enumerate(self.num_anchors)]))
        self.register_buffer("anchor_local", torch.cat([torch.arange(n) for n in self.num_anchors]))
        w = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        if w is not None and w.shape != (self.num_classes,):
            raise ConfigError(f"class_weights must have {self.num_classes} entries, got {tuple(w.shape)}")
        self.register_buffer("class_weights", w)
        self.object_scale, self.noobject_scale = float(object_scale), float(noobject_scale)
        self.coord_scale, self.class_scale = float(coord_scale), float(class_scale)
        self.ignore_thresh, self.rescore = float(ignore_thresh), bool(rescore)

    @classmethod
    def for_head(cls, head, **kwargs) -> "RegionLoss":
        """The loss matching a :class:`~smartclass.models.detector.head.DetectionHead` (its anchors, strides, classes)."""
        return cls(head.num_classes, [lv.anchors.tolist() for lv in head.levels], head.strides, **kwargs)

    def _flatten_targets(self, targets, n: int, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if len(targets) != n:
            raise InputError(f"{len(targets)} targets for a batch of {n} images")
        boxes = [torch.as_tensor(t["boxes"], dtype=torch.float32, device=device).reshape(-1, 4) for t in targets]
        labels = [torch.as_tensor(t["labels"], dtype=torch.long, device=device).reshape(-1) for t in targets]
        for i, (b, lab) in enumerate(zip(boxes, labels)):
            if len(b) != len(lab):
                raise InputError(f"target {i}: {len(b)} boxes but {len(lab)} labels")
        counts = torch.tensor([len(b) for b in boxes], device=device)
        lab = torch.cat(labels)
        if len(lab) and (lab.min() < 0 or lab.max() >= self.num_classes):
            raise InputError(f"target labels must lie in [0, {self.num_classes - 1}], got {int(lab.min())}..{int(lab.max())}")
        return torch.cat(boxes), lab, torch.repeat_interleave(torch.arange(n, device=device), counts)

    def forward(self, raws: Sequence[torch.Tensor], targets: Sequence[dict]) -> tuple[torch.Tensor, dict[str, float]]:
        if len(raws) != len(self.strides):
            raise InputError(f"loss has {len(self.strides)} levels, got {len(raws)} outputs")
        n, device = raws[0].shape[0], raws[0].device
        gt, glab, gimg = self._flatten_targets(targets, n, device)
        s0 = stride_xy(self.strides[0], raws[0])
        img_h, img_w = raws[0].shape[2] * float(s0[1]), raws[0].shape[3] * float(s0[0])
        # padded per-image ground truths for the ignore mask: (N, Mmax, 4)
        counts = torch.bincount(gimg, minlength=n)
        mmax = int(counts.max()) if len(gt) else 0
        slot = torch.arange(len(gt), device=device) - torch.cumsum(counts, 0).sub(counts)[gimg]
        padded = torch.zeros(n, mmax, 4, device=device)
        valid = torch.zeros(n, mmax, dtype=torch.bool, device=device)
        padded[gimg, slot], valid[gimg, slot] = gt, True
        # responsible level and anchor: best shape IoU over all anchors of all levels
        cxcywh = xyxy_to_cxcywh(gt)
        best = wh_iou(cxcywh[:, 2:].clamp(min=1e-6), self.anchors).argmax(1) if len(gt) else gimg
        glevel, ganchor = self.anchor_level[best], self.anchor_local[best]

        zero = raws[0].sum() * 0
        coord, obj, noobj, cls = zero, zero, zero, zero
        for lv, (raw, s, na) in enumerate(zip(raws, self.strides, self.num_anchors)):
            v = level_view(raw, na, self.num_classes)
            _, _, h, w, _ = v.shape
            level_anchors = self.anchors[self.anchor_level == lv]  # (A, 2) pixels
            pred_xyxy = decode_level(v, level_anchors, s)  # (N, A, H, W, 4) pixels
            conf = torch.sigmoid(v[..., 4])
            noobj_w = torch.ones_like(conf)
            if mmax:
                iou = box_iou(pred_xyxy.detach().reshape(n, -1, 4), padded)  # (N, P, Mmax)
                best_iou = iou.masked_fill(~valid[:, None, :], 0).max(-1).values.view_as(conf)
                noobj_w = (best_iou <= self.ignore_thresh).to(conf.dtype)
            sel = torch.nonzero(glevel == lv).squeeze(1)
            if len(sel):
                b, a, box, lab = gimg[sel], ganchor[sel], cxcywh[sel], glab[sel]
                sxy = stride_xy(s, box)
                gx, gy = box[:, 0] / sxy[0], box[:, 1] / sxy[1]
                gi = gx.floor().long().clamp(0, w - 1)
                gj = gy.floor().long().clamp(0, h - 1)
                # one ground truth per (image, anchor, cell): keep the first in input order
                key = ((b * na + a) * h + gj) * w + gi
                order = torch.argsort(key, stable=True)
                first = torch.ones_like(order, dtype=torch.bool)
                first[1:] = key[order][1:] != key[order][:-1]
                k = order[first]
                b, a, gi, gj, gx, gy, box, lab = b[k], a[k], gi[k], gj[k], gx[k], gy[k], box[k], lab[k]
                noobj_w[b, a, gj, gi] = 0
                p = v[b, a, gj, gi]  # (K, C+5)
                txy = torch.stack([gx - gi, gy - gj], -1).clamp(0, 1)
                twh = torch.log(box[:, 2:].clamp(min=1e-6) / level_anchors[a])
                scale = self.coord_scale * (2 - box[:, 2] * box[:, 3] / (img_w * img_h))
                coord = coord + (scale[:, None] * ((torch.sigmoid(p[:, :2]) - txy) ** 2
                                                   + (p[:, 2:4] - twh) ** 2)).sum()
                if self.rescore:
                    target = torch.diagonal(box_iou(pred_xyxy[b, a, gj, gi].detach(), cxcywh_to_xyxy(box)))
                else:
                    target = torch.ones_like(gx)
                if self.objectness == "mse":
                    obj_err = (conf[b, a, gj, gi] - target) ** 2
                else:
                    obj_err = F.binary_cross_entropy_with_logits(v[b, a, gj, gi, 4], target, reduction="none")
                obj = obj + self.object_scale * obj_err.sum()
                cls = cls + self.class_scale * F.cross_entropy(p[:, 5:], lab, weight=self.class_weights, reduction="sum")
            # BCE with target 0 is softplus(to) = −log(1 − σ(to))
            noobj_err = conf ** 2 if self.objectness == "mse" else F.softplus(v[..., 4])
            noobj = noobj + self.noobject_scale * (noobj_w * noobj_err).sum()
        total = (coord + obj + noobj + cls) / n
        parts = {k: float(v.detach()) / n for k, v in (("coord", coord), ("obj", obj), ("noobj", noobj), ("cls", cls))}
        parts["num_gt"] = float(len(gt))
        return total, parts
