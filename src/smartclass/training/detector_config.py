"""Config section ``detector:`` of the student detector's training (paper 000 §2.5); no torch import.

A config with a ``detector:`` section (``task: detector``) makes ``smartclass train`` train the detector
(``configs/detector_*.yaml``). Data: ``format`` ``yolo`` (``data`` = the training split folder, ``val_data``
the validation split folder), ``coco`` (``data`` = the folder with ``images/`` + ``annotations.json``;
trained on the four fifths not held out and validated on the held-out fifth, see
``smartclass.data.detection.heldout_image_ids``) or ``synth`` (SmartClass-Synth frames rendered from the
``synth:`` section, paper 000's 8 coarse classes, subject-disjoint train/val splits).

``arch`` (``paper``, ``ms_cnn``, ``3dcca``) trains a clip detector of paper 000's synthetic reproduction
instead (format ``synth`` only): ``clip_length``-frame clips of the rendered samples resized to
``input_width`` × ``input_height`` (60×40), the key frame's boxes (``docs/detector.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from smartclass.bounds import one_of, ranged


@dataclass
class DetectorTrainConfig:
    """Data, model and schedule of a detector run (the CPU-sized defaults of ``docs/detector.md``)."""

    format: str = "yolo"  # yolo | coco | synth
    data: str = ""  # training split folder (yolo), images/ + annotations.json folder (coco); unused for synth
    val_data: str = ""  # validation split folder (yolo); coco validates on the held-out fifth of `data`
    class_names: tuple[str, ...] = ()  # filled from the data when a run starts; if given, must match it
    input_width: int = ranged(640, ge=32)  # network input, multiples of 32 (letterboxed)
    input_height: int = ranged(416, ge=32)
    # model (smartclass.models.detector): the real-frame MobileNetV2 + CFAM + FPN detector
    strides: tuple[int, ...] = (8, 16, 32)
    neck: bool = True  # FPN neck and one head per stride; false: the paper's single stride-32 head
    neck_channels: int = ranged(96, ge=8)
    cfam: bool = True  # CFAM + dual attention fusion; false: plain convolutions (ablation)
    fusion_channels: int = ranged(128, ge=8)
    pretrained: bool = True  # ImageNet MobileNetV2 weights
    anchors_per_level: int = ranged(5, ge=1)  # IoU k-means on the training boxes (at input scale)
    obj_prior: float = ranged(0.1, gt=0, lt=1)  # initial objectness σ(to) of the head (the model's own prior is 0.01,
    # which the region loss's squared error on σ(to) leaves nearly flat for the few hundred steps a CPU run has)
    freeze_layers: int = ranged(0, ge=0, le=14)  # first MobileNetV2 layers kept at ImageNet weights (none if not pretrained)
    # schedule
    epochs: int = ranged(30, ge=1)
    batch_size: int = ranged(8, ge=2)
    lr: float = ranged(2e-3, gt=0)
    backbone_lr_scale: float = ranged(0.5, gt=0)  # the pretrained backbone learns this much slower
    weight_decay: float = ranged(5e-4, ge=0)
    warmup_steps: int = ranged(100, ge=0)  # linear warm-up, then cosine decay to lr · min_lr_ratio
    min_lr_ratio: float = ranged(0.05, ge=0, le=1)
    grad_clip: float = ranged(10.0, gt=0)
    patience: int = ranged(0, ge=0)  # early stop after this many epochs without a better val map50 (0: never)
    time_budget_min: float = ranged(0.0, ge=0)  # stop after this many minutes of training (0: no limit)
    steps_per_epoch: int = ranged(0, ge=0)  # 0: one pass over the (repeat-factor resampled) training images
    # augmentation and sampling
    train_crop: int = ranged(0, ge=0)  # train on square crops of this side at inference scale (0: whole input)
    flip: float = ranged(0.5, ge=0, le=1)
    scale_min: float = ranged(0.7, gt=0)
    scale_max: float = ranged(1.4, gt=0)
    hsv_h: float = ranged(0.015, ge=0, le=0.5)
    hsv_s: float = ranged(0.5, ge=0, le=1)
    hsv_v: float = ranged(0.3, ge=0, le=1)
    mosaic: float = ranged(0.3, ge=0, le=1)
    class_weight_power: float = ranged(0.0, ge=0, le=1)  # class-loss weight (mean box count / class count)^p (0: off)
    repeat_threshold: float = ranged(0.3, ge=0, le=1)  # LVIS repeat-factor sampling threshold t (0: off)
    # evaluation
    val_conf: float = ranged(0.001, ge=0, lt=1)  # score threshold of predictions scored for mAP
    nms_iou: float = ranged(0.5, gt=0, le=1)
    max_det: int = ranged(300, ge=1)
    # synth (format: synth): frames of 6-second samples, rendered from the `synth:` section
    synth_train_clips: int = ranged(240, ge=1)
    synth_val_clips: int = ranged(40, ge=1)
    synth_frames_per_clip: int = ranged(3, ge=1)  # frames spread evenly over each sample
    synth_seconds: float = ranged(6.0, gt=0)
    # clip detectors (paper 000's paper-faithful detector and its two baselines, format: synth)
    arch: str = one_of("", ("", "paper", "ms_cnn", "3dcca"))  # "": the real-frame detector above
    clip_length: int = ranged(7, ge=1)  # frames per training clip (key frame last); at least the model's 7
    clip_key_stride: int = ranged(2, ge=1)  # key frames of a sample: its last frame and every k-th before it
    clip_pyramid: tuple[int, ...] = ranged((4, 2, 1), ge=1)  # STPP spatial levels, finest first = the head grid
    skeletons: bool = True  # arch paper: the students' 3-D joints feed the SO(3) branch
