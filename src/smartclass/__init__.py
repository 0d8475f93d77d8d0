"""smartclass: multimodal classroom behaviour recognition (RGB, depth, thermal).

What exists: SmartClass-Synth (a synthetic trimodal classroom generator with full ground truth), paper 002's
trimodal recogniser (Retinex enhancement, DCA-Net fusion, keypoints, MST-GCN, multi-task loss) with training,
evaluation and a shipped checkpoint, skeleton benchmarks (MST-GCN, ST-GCN, SO(3) + SVM on UTKinect-Action3D and
MSR Action3D), image-quality and fusion metrics, and the ``analyze`` lesson pipeline.

Coming: paper 000's spatio-temporal detector (hard-wired 3D CNN + STPP, attention LSTM, SO(3) skeleton
features, CFAM fusion, YOLOv2 box head) is being added under issue 17 (``smartclass.models.detector``,
``smartclass detect``); docs/detector.md says which parts are trained and measured.
"""

__version__ = "0.1.0"
