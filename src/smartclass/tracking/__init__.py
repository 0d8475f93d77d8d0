"""smartclass.tracking — multi-object tracking of students across frames.

* :mod:`~smartclass.tracking.base` — the :class:`Tracker` protocol (``update(boxes, scores, class_ids, t)`` →
  one id per detection, ``-1`` for a detection not yet confirmed) and box geometry (IoU, NMS) in numpy.
* :mod:`~smartclass.tracking.iou` — :class:`IoUTracker`, the greedy IoU-association baseline.
* :mod:`~smartclass.tracking.bytetrack` — :class:`ByteTracker`, Roboflow ``trackers``' ByteTrack (Kalman
  prediction, two-stage high/low-confidence association) on ``supervision.Detections``.
* :mod:`~smartclass.tracking.reentry` — :class:`ReentryLinker`, which gives a student who left and came back
  (a new tracker id) the id they had before, by place and colour.
"""

from smartclass.tracking.base import Tracker, box_iou, nms
from smartclass.tracking.iou import IoUTracker

__all__ = ["Tracker", "box_iou", "nms", "IoUTracker", "make_tracker"]


def make_tracker(name: str, fps: float, lost_seconds: float = 3.0, activation: float = 0.45, high: float = 0.5) -> Tracker:
    """A tracker by name: ``'bytetrack'`` (default), ``'botsort'`` or ``'iou'`` (baseline).

    ``fps`` is the rate at which ``update`` is called (the detection rate, not the video rate);
    a track lost for more than ``lost_seconds`` ends. ``activation``: the score a detection needs to start a
    track; ``high``: ByteTrack's split between its first (high) and second (low) association stage.
    """
    from smartclass.errors import ConfigError

    if name == "iou":
        return IoUTracker(min_score=activation, max_age_s=lost_seconds)
    if name in ("bytetrack", "botsort"):
        from smartclass.tracking.bytetrack import ByteTracker

        return ByteTracker(fps=fps, lost_seconds=lost_seconds, kind=name, activation=activation, high=high)
    raise ConfigError(f"--tracker: expected 'bytetrack', 'botsort' or 'iou', got '{name}'")
