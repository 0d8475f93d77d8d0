"""Ids that survive leaving and re-entering: a second chance after the tracker has given up.

ByteTrack keeps a track through a gap of ``lost_seconds``; a student hidden longer (or who leaves the frame
and comes back) gets a new tracker id. :class:`ReentryLinker` maps tracker ids to *student* ids: a new
tracker id takes the id of a student not seen for at least ``min_gap`` seconds if the new box overlaps that
student's last box (IoU ≥ ``min_iou``: seated students come back to their seat) or lies near it (centre
distance under ``max_shift`` box widths), and their colour histograms agree (Bhattacharyya distance of the
hue–saturation histograms under ``max_colour``). The closest such student wins; otherwise a new student id.
A student who re-enters somewhere else, far from where they were last seen, gets a new id (documented in
docs/analyze.md).
"""

from __future__ import annotations

import numpy as np

from smartclass.tracking.base import box_iou


def colour_histogram(frame: np.ndarray, box: np.ndarray, bins: int = 12) -> np.ndarray | None:
    """Normalised hue × saturation histogram ``(bins·bins,)`` of the box's crop of an RGB frame."""
    import cv2

    h, w = frame.shape[:2]
    x1, y1, x2, y2 = [int(round(v)) for v in box]
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[y1:y2, x1:x2]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [bins, bins], [0, 180, 0, 256]).reshape(-1)
    s = hist.sum()
    return hist / s if s > 0 else None


def bhattacharyya(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return 0.5
    return float(np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(a * b)))))


class ReentryLinker:
    """Tracker id → student id (see the module doc). ``link(tracker_ids, boxes, frame, t)`` → student ids
    (``-1`` stays ``-1``)."""

    def __init__(self, min_gap: float = 0.5, min_iou: float = 0.3, max_shift: float = 0.5,
                 max_colour: float = 0.45) -> None:
        self.min_gap, self.min_iou, self.max_shift, self.max_colour = min_gap, min_iou, max_shift, max_colour
        self.map: dict[int, int] = {}
        self.last: dict[int, tuple[float, np.ndarray, np.ndarray | None]] = {}  # student → (t, box, hist)
        self.next_id = 1
        self.relinked = 0

    def link(self, tracker_ids: np.ndarray, boxes: np.ndarray, frame: np.ndarray | None, t: float) -> np.ndarray:
        out = np.full(len(tracker_ids), -1, int)
        active = {self.map[int(k)] for k in tracker_ids if int(k) in self.map}
        for i, k in enumerate(tracker_ids):
            k = int(k)
            if k < 0:
                continue
            if k not in self.map:
                self.map[k] = self._match(boxes[i], frame, t, active)
                active.add(self.map[k])
            sid = self.map[k]
            out[i] = sid
            hist = colour_histogram(frame, boxes[i]) if frame is not None else None
            old = self.last.get(sid)
            if old is not None and old[2] is not None and hist is not None:
                hist = 0.8 * old[2] + 0.2 * hist  # a slowly updated appearance
            self.last[sid] = (t, np.asarray(boxes[i], np.float64), hist)
        return out

    def _match(self, box: np.ndarray, frame: np.ndarray | None, t: float, active: set[int]) -> int:
        hist = colour_histogram(frame, box) if frame is not None else None
        best, best_cost = None, np.inf
        for sid, (ts, old_box, old_hist) in self.last.items():
            if sid in active or t - ts < self.min_gap:
                continue
            iou = float(box_iou(old_box[None], np.asarray(box)[None])[0, 0])
            cw = max(old_box[2] - old_box[0], 1.0)
            shift = np.hypot((box[0] + box[2] - old_box[0] - old_box[2]) / 2, (box[1] + box[3] - old_box[1] - old_box[3]) / 2) / cw
            colour = bhattacharyya(hist, old_hist)
            if (iou >= self.min_iou or shift <= self.max_shift) and colour <= self.max_colour:
                cost = shift + colour
                if cost < best_cost:
                    best, best_cost = sid, cost
        if best is not None:
            self.relinked += 1
            return best
        sid = self.next_id
        self.next_id += 1
        return sid
