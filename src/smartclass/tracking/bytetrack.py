"""ByteTrack (Zhang et al., ECCV 2022) from Roboflow's ``trackers`` package, on ``supervision.Detections``.

Why this tracker: a seated class is many similar, mostly still people who are hidden for seconds at a time
(a teacher walking past, a raised book, a head bent behind a neighbour) and whose detector confidence drops
while they are partly hidden. ByteTrack's Kalman prediction carries a track through a gap and its second
association stage matches the low-confidence boxes of a half-hidden student to their existing track instead of
dropping them; it needs no appearance network (CPU budget) and is maintained (Apache-2.0, ``trackers`` 2.x,
the successor of supervision's ByteTrack). BoT-SORT (``kind='botsort'``) adds camera-motion compensation for
a drifting handheld camera.
"""

from __future__ import annotations

import numpy as np

from smartclass.errors import ConfigError


class ByteTracker:
    """``update(boxes, scores, class_ids, t)`` → ids, via ``trackers.ByteTrackTracker``.

    ``fps`` is the rate of ``update`` calls (detections on a stride: the video rate divided by the stride);
    a lost track survives ``lost_seconds``. Time stamps are passed on, so a dropped or stalled frame
    widens the Kalman prediction step instead of being taken as one step.
    """

    def __init__(self, fps: float, lost_seconds: float = 3.0, kind: str = "bytetrack",
                 activation: float = 0.45, high: float = 0.5, min_iou: float = 0.1) -> None:
        try:
            import supervision as sv
            import trackers
        except ImportError as e:  # pragma: no cover - declared dependencies
            raise ConfigError(f"tracker '{kind}' needs the packages 'trackers' and 'supervision' ({e})") from None
        self._sv = sv
        self.name = kind
        buffer = max(1, int(round(lost_seconds * 30.0)))  # the package counts the buffer in 30 fps frames
        common = dict(lost_track_buffer=buffer, frame_rate=float(fps), track_activation_threshold=activation,
                      minimum_consecutive_frames=1, high_conf_det_threshold=high)
        if kind == "bytetrack":
            self._t = trackers.ByteTrackTracker(minimum_iou_threshold=min_iou, **common)
        elif kind == "botsort":
            self._t = trackers.BoTSORTTracker(minimum_iou_threshold_first_assoc=min_iou, **common)
        else:
            raise ConfigError(f"ByteTracker kind: expected 'bytetrack' or 'botsort', got '{kind}'")

    def update(self, boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, t: float,
               frame: np.ndarray | None = None) -> np.ndarray:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        n = len(boxes)
        det = self._sv.Detections(xyxy=boxes, confidence=np.asarray(scores, np.float32).reshape(-1),
                                  class_id=np.asarray(class_ids, int).reshape(-1),
                                  data={"row": np.arange(n)})
        kwargs = {"timestamp": float(t)}
        if self.name == "botsort" and frame is not None:
            kwargs["frame"] = frame
        res = self._t.update(det, **kwargs)
        out = np.full(n, -1, int)
        if len(res):
            out[np.asarray(res.data["row"], int)] = np.asarray(res.tracker_id, int)
        return out
