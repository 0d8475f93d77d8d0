"""Box operations in one place, vectorised plain torch (torchvision's ``ops`` does not install here).

Conventions: ``xyxy`` boxes are ``(..., 4)`` ``(x1, y1, x2, y2)``; ``cxcywh`` boxes are ``(..., 4)``
``(cx, cy, w, h)``; sizes are ``(..., 2)`` ``(w, h)``. Units are whatever the caller uses (pixels or grid
cells); every function here is unit-agnostic except where a stride is passed.

- :func:`box_iou`: pairwise IoU of paper 000 eq. 17, ``IoU = κ(λp ∩ λg) / κ(λp ∪ λg)``.
- :func:`wh_iou`: shape-only IoU of two boxes with a common centre (anchor matching, IoU k-means).
- :func:`yolo_decode` / :func:`yolo_encode`: YOLOv2's parameterisation (Redmon & Farhadi 2017),
  ``bx = σ(tx) + cx, by = σ(ty) + cy, bw = aw·e^{tw}, bh = ah·e^{th}`` and its inverse.
- :func:`batched_nms`: class-aware greedy non-maximum suppression, computed as the fixed point of a
  suppression-matrix iteration (Cluster-NMS, Zheng et al. 2021), which equals greedy NMS exactly.
"""

from __future__ import annotations

import torch

from smartclass.errors import InputError

_EPS = 1e-9


def _check_last(x: torch.Tensor, n: int, name: str) -> None:
    if not torch.is_tensor(x) or x.shape[-1:] != (n,):
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise InputError(f"{name} must be a tensor of shape (..., {n}), got {shape}")


def xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` corners → ``(..., 4)`` centre and size."""
    _check_last(boxes, 4, "boxes")
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` centre and size → ``(..., 4)`` corners."""
    _check_last(boxes, 4, "boxes")
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` xyxy → ``(...)`` areas κ(λ) (0 for degenerate boxes)."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. 17, pairwise: ``(..., N, 4)`` × ``(..., M, 4)`` xyxy → ``(..., N, M)`` IoU (0 where the union is
    empty). Leading dimensions broadcast, so a batch ``(B, N, 4)`` × ``(B, M, 4)`` works."""
    _check_last(a, 4, "boxes a")
    _check_last(b, 4, "boxes b")
    ax1, ay1, ax2, ay2 = (a[..., :, None, k] for k in range(4))
    bx1, by1, bx2, by2 = (b[..., None, :, k] for k in range(4))
    # coordinate-wise (no (N, M, 2) intermediates): about half the memory traffic of the corner-pair form
    inter = ((torch.minimum(ax2, bx2) - torch.maximum(ax1, bx1)).clamp(min=0)
             * (torch.minimum(ay2, by2) - torch.maximum(ay1, by1)).clamp(min=0))
    union = box_area(a)[..., :, None] + box_area(b)[..., None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=_EPS), torch.zeros_like(inter))


def wh_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Shape-only IoU: ``(N, 2)`` × ``(M, 2)`` sizes → ``(N, M)``, as if both boxes shared a centre."""
    _check_last(a, 2, "sizes a")
    _check_last(b, 2, "sizes b")
    inter = torch.minimum(a[:, None, 0], b[None, :, 0]) * torch.minimum(a[:, None, 1], b[None, :, 1])
    union = (a[:, 0] * a[:, 1])[:, None] + (b[:, 0] * b[:, 1])[None, :] - inter
    return inter / union.clamp(min=_EPS)


def make_grid(h: int, w: int, device: torch.device | str | None = None,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(h, w, 2)`` cell offsets ``(cx, cy)``: column index then row index."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=dtype),
                            torch.arange(w, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys], -1)


def yolo_decode(t: torch.Tensor, grid: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """YOLOv2 decoding (paper 000 §2.5): raw ``t = (tx, ty, tw, th)`` ``(..., 4)``, cell offsets ``(..., 2)``
    and anchor sizes ``(..., 2)`` (all broadcastable, grid units) → ``(..., 4)`` cxcywh in grid units:
    ``bx = σ(tx) + cx``, ``by = σ(ty) + cy``, ``bw = aw·e^{tw}``, ``bh = ah·e^{th}``.
    ``tw, th`` are clamped at 10 so an untrained head cannot overflow."""
    _check_last(t, 4, "t")
    xy = torch.sigmoid(t[..., :2]) + grid
    wh = anchors * torch.exp(t[..., 2:].clamp(max=10.0))
    return torch.cat([xy, wh], -1)


def yolo_encode(boxes: torch.Tensor, grid: torch.Tensor, anchors: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Inverse of :func:`yolo_decode`: cxcywh ``(..., 4)`` (grid units) → raw ``(tx, ty, tw, th)``.
    ``tx = logit(bx − cx)`` with the offset clipped to ``[eps, 1 − eps]`` (a centre on a cell border is
    reachable only in the limit), ``tw = log(bw / aw)``."""
    _check_last(boxes, 4, "boxes")
    off = (boxes[..., :2] - grid).clamp(eps, 1 - eps)
    txy = torch.log(off) - torch.log1p(-off)
    twh = torch.log(boxes[..., 2:].clamp(min=eps) / anchors)
    return torch.cat([txy, twh], -1)


def level_view(raw: torch.Tensor, num_anchors: int, num_classes: int) -> torch.Tensor:
    """YOLO head layout: ``(N, A·(C+5), H, W)`` raw output → ``(N, A, H, W, C+5)`` with ``[..., :4] = t``,
    ``[..., 4] = to``, ``[..., 5:]`` class logits."""
    n, ch, h, w = raw.shape
    if ch != num_anchors * (num_classes + 5):
        raise InputError(f"head output has {ch} channels, expected A·(C+5) = {num_anchors}·({num_classes}+5)")
    return raw.view(n, num_anchors, num_classes + 5, h, w).permute(0, 1, 3, 4, 2)


def stride_xy(stride, like: torch.Tensor) -> torch.Tensor:
    """A level's stride as a ``(2,)`` tensor ``(sx, sy)`` in pixels per cell: a number (square cells) or a
    pair ``(sx, sy)`` (the paper-faithful detector's grid has non-square cells)."""
    s = torch.as_tensor(stride, dtype=like.dtype, device=like.device).reshape(-1)
    if s.numel() not in (1, 2) or bool((s <= 0).any()):
        raise InputError(f"stride must be a positive number or an (sx, sy) pair, got {stride}")
    return s.expand(2) if s.numel() == 1 else s


def decode_level(view: torch.Tensor, anchors: torch.Tensor, stride) -> torch.Tensor:
    """Boxes of one level: :func:`level_view` output ``(N, A, H, W, C+5)``, anchors ``(A, 2)`` in pixels and the
    level's stride (number or ``(sx, sy)``) → ``(N, A, H, W, 4)`` xyxy pixels (:func:`yolo_decode` on the cell
    grid, scaled by the stride)."""
    _, a, h, w, _ = view.shape
    s = stride_xy(stride, view)
    grid = make_grid(h, w, device=view.device, dtype=view.dtype)
    anchors = (anchors.to(view.dtype) / s).view(1, a, 1, 1, 2)
    return cxcywh_to_xyxy(yolo_decode(view[..., :4], grid, anchors) * s.repeat(2))


def clip_boxes(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Clip xyxy ``(..., 4)`` to an image of ``size = (height, width)``."""
    _check_last(boxes, 4, "boxes")
    h, w = size
    x = boxes[..., 0::2].clamp(0, w)
    y = boxes[..., 1::2].clamp(0, h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], -1)


def _greedy_keep(boxes: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Keep mask of greedy NMS over boxes already sorted by descending score (fixed point, see :func:`batched_nms`)."""
    s = torch.triu(box_iou(boxes, boxes) > iou_threshold, diagonal=1)
    keep = torch.ones(len(boxes), dtype=torch.bool, device=boxes.device)
    for _ in range(len(boxes)):
        new = ~(s & keep[:, None]).any(0)
        if torch.equal(new, keep):
            break
        keep = new
    return keep


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor | None, iou_threshold: float,
                max_candidates: int = 4000) -> torch.Tensor:
    """Class-aware greedy NMS: ``(N, 4)`` xyxy, ``(N,)`` scores, ``(N,)`` integer labels (``None``: one class)
    → indices of the kept boxes, by descending score.

    Only boxes of the same label suppress each other, so each label is solved on its own (``Σ n_c²`` IoUs, not
    ``N²``). Vectorised within a label: with its boxes sorted by score, ``S[i, j] = (i < j) ∧ IoU(i, j) > thr``;
    the keep mask is the fixed point of ``keep_j = ¬∃ i: S[i, j] ∧ keep_i`` started from all-true, which is
    exactly greedy NMS (iteration k settles at least the first k boxes; real detections settle in a few).
    Only the ``max_candidates`` highest scores enter.
    """
    _check_last(boxes, 4, "boxes")
    if scores.dim() != 1 or scores.shape[0] != boxes.shape[0] or boxes.dim() != 2:
        raise InputError(f"boxes (N, 4) and scores (N,) must agree, got {tuple(boxes.shape)} and {tuple(scores.shape)}")
    if labels is not None and labels.shape != scores.shape:
        raise InputError(f"labels must be (N,) like scores, got {tuple(labels.shape)}")
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)[:max_candidates]
    if labels is None:
        return order[_greedy_keep(boxes[order], iou_threshold)]
    lab = labels[order]
    keep = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    for c in torch.unique(lab):
        idx = torch.nonzero(lab == c).squeeze(1)  # still in descending score order
        keep[idx] = _greedy_keep(boxes[order[idx]], iou_threshold)
    return order[keep]
