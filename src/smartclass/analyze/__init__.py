"""smartclass.analyze — from a classroom video to per-student behaviour timelines, class engagement and a report.

Stages, each a module: :mod:`~smartclass.analyze.sources` (frames), :mod:`~smartclass.analyze.lowlight`
(enhance only dark frames), :mod:`~smartclass.analyze.detector` (the detector protocol and checkpoint
adapter), :mod:`smartclass.tracking` (ByteTrack, IoU baseline, re-entry), :mod:`~smartclass.analyze.behaviour`
(sliding window), :mod:`~smartclass.analyze.smoothing`, :mod:`~smartclass.analyze.engagement`,
:mod:`~smartclass.analyze.outputs` and :mod:`~smartclass.analyze.report`; :mod:`~smartclass.analyze.pipeline`
composes them and :mod:`~smartclass.analyze.evaluate` scores a run against synthetic ground truth.
See docs/analyze.md.
"""
