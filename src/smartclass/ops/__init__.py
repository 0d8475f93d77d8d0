"""Small shared tensor operations (boxes) used by models, losses and inference."""

from smartclass.ops.boxes import (
    batched_nms, box_area, box_iou, clip_boxes, cxcywh_to_xyxy, decode_level, level_view, make_grid, stride_xy,
    wh_iou, xyxy_to_cxcywh, yolo_decode, yolo_encode,
)

__all__ = ["batched_nms", "box_area", "box_iou", "clip_boxes", "cxcywh_to_xyxy", "decode_level", "level_view",
           "make_grid", "stride_xy", "wh_iou", "xyxy_to_cxcywh", "yolo_decode", "yolo_encode"]
