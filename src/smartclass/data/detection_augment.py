"""Detection augmentation and class-imbalance sampling, on numpy images and pixel boxes.

Images are ``(H, W, 3)`` uint8 RGB, boxes ``(N, 4)`` float ``x1, y1, x2, y2`` pixels, labels ``(N,)``.
Every transform takes an explicit ``numpy.random.Generator`` so a seeded run is reproducible.

- :func:`letterbox`: resize to fit ``(W, H)`` keeping the aspect ratio, pad right/bottom (the
  inference transform; boxes map back by dividing by the returned scale).
- :func:`random_scale_crop`: scale jitter around the letterbox scale, then a random crop/pad window.
- :func:`hflip`, :func:`colour_jitter` (HSV gains, as YOLO's ``hsv_h/s/v``), :func:`mosaic` (four images
  around a random centre, YOLOv4).
- :func:`repeat_factors` / :func:`repeat_factor_epoch`: LVIS repeat-factor sampling (Gupta et al. 2019):
  ``r(c) = max(1, sqrt(t / f(c)))`` with ``f(c)`` the fraction of images holding class ``c``, an image
  repeated ``max_c r(c)`` times per epoch (stochastic rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

PAD_VALUE = 114
MIN_BOX_SIDE = 2.0  # px: boxes cropped below this are dropped
MIN_VISIBLE = 0.35  # fraction of a box's area that must stay inside a crop for it to be kept


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    if image.shape[1] == width and image.shape[0] == height:
        return image
    interp = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interp)


def letterbox(image: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit into ``size = (W, H)`` keeping the aspect ratio, padding right and bottom with grey.

    Returns the ``(H, W, 3)`` image, the scaled boxes and the scale (stored pixel = output pixel / scale)."""
    W, H = size
    h, w = image.shape[:2]
    s = min(W / w, H / h)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    out = np.full((H, W, 3), PAD_VALUE, np.uint8)
    out[:nh, :nw] = _resize(image, nw, nh)
    return out, np.asarray(boxes, np.float32).reshape(-1, 4) * s, s


def crop_boxes(boxes: np.ndarray, labels: np.ndarray, x0: float, y0: float, W: int, H: int):
    """Shift boxes by ``-(x0, y0)``, clip to ``W × H``; drop boxes mostly cut away or too thin."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    shifted = boxes - np.array([x0, y0, x0, y0], np.float32)
    clipped = np.clip(shifted, 0, [W, H, W, H]).astype(np.float32)
    area = np.prod(np.clip(shifted[:, 2:] - shifted[:, :2], 0, None), 1)
    kept_area = np.prod(clipped[:, 2:] - clipped[:, :2], 1)
    keep = (kept_area >= MIN_VISIBLE * np.maximum(area, 1e-6)) & \
        ((clipped[:, 2:] - clipped[:, :2]) >= MIN_BOX_SIDE).all(1)
    return clipped[keep], np.asarray(labels)[keep]


def random_scale_crop(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, size: tuple[int, int],
                      scale: tuple[float, float], rng: np.random.Generator, fit: tuple[int, int] | None = None):
    """Resize by ``U(scale)`` × the letterbox scale into ``fit`` (default ``size``), then take a random
    ``size`` window (padded where the image is smaller). A ``size`` smaller than ``fit`` trains on crops at
    inference scale (a fully convolutional detector sees the same object sizes for a fraction of the cost).
    Returns image, boxes, labels."""
    W, H = size
    h, w = image.shape[:2]
    FW, FH = fit or size
    s = min(FW / w, FH / h) * rng.uniform(*scale)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    img = _resize(image, nw, nh)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4) * np.array([nw / w, nh / h] * 2, np.float32)
    x0 = int(rng.integers(0, nw - W + 1)) if nw > W else -int(rng.integers(0, W - nw + 1))
    y0 = int(rng.integers(0, nh - H + 1)) if nh > H else -int(rng.integers(0, H - nh + 1))
    out = np.full((H, W, 3), PAD_VALUE, np.uint8)
    sx, sy = max(x0, 0), max(y0, 0)
    dx, dy = max(-x0, 0), max(-y0, 0)
    cw, ch = min(nw - sx, W - dx), min(nh - sy, H - dy)
    out[dy:dy + ch, dx:dx + cw] = img[sy:sy + ch, sx:sx + cw]
    b, lab = crop_boxes(boxes, labels, x0, y0, W, H)
    return out, b, lab


def hflip(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror left-right: ``x1' = W - x2``, ``x2' = W - x1``."""
    W = image.shape[1]
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    b[:, [0, 2]] = W - b[:, [2, 0]]
    return np.ascontiguousarray(image[:, ::-1]), b


def colour_jitter(image: np.ndarray, rng: np.random.Generator, hue: float = 0.015, sat: float = 0.5,
                  val: float = 0.3) -> np.ndarray:
    """Random HSV gains ``1 + U(-g, g)`` (hue as a fraction of the circle), as YOLO's ``hsv_h/s/v``."""
    import cv2

    gh, gs, gv = rng.uniform(-1, 1, 3) * [hue, sat, val] + [0, 1, 1]
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    lut = np.arange(256, dtype=np.float32)
    lut_h = ((lut + gh * 180) % 180).astype(np.uint8)
    lut_s = np.clip(lut * gs, 0, 255).astype(np.uint8)
    lut_v = np.clip(lut * gv, 0, 255).astype(np.uint8)
    hsv = cv2.merge((cv2.LUT(hsv[..., 0], lut_h), cv2.LUT(hsv[..., 1], lut_s), cv2.LUT(hsv[..., 2], lut_v)))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def mosaic(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], size: tuple[int, int],
           rng: np.random.Generator, scale: tuple[float, float] = (0.5, 1.0), fit: tuple[int, int] | None = None):
    """Four ``(image, boxes, labels)`` tiled around a random centre of a ``size`` canvas (YOLOv4 mosaic).

    Each image is resized by its letterbox scale into ``fit`` (default ``size``) × ``U(scale)`` and placed so
    its inner corner touches the centre; boxes are shifted and clipped like a crop."""
    if len(items) != 4:
        raise ValueError(f"mosaic needs 4 images, got {len(items)}")
    W, H = size
    FW, FH = fit or size
    cx, cy = int(rng.uniform(0.3, 0.7) * W), int(rng.uniform(0.3, 0.7) * H)
    out = np.full((H, W, 3), PAD_VALUE, np.uint8)
    all_b, all_l = [], []
    for q, (img, boxes, labels) in enumerate(items):
        h, w = img.shape[:2]
        s = min(FW / w, FH / h) * rng.uniform(*scale)
        nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
        im = _resize(img, nw, nh)
        b = np.asarray(boxes, np.float32).reshape(-1, 4) * np.array([nw / w, nh / h] * 2, np.float32)
        # top-left corner of the placed image on the canvas
        px = cx - nw if q in (0, 2) else cx
        py = cy - nh if q in (0, 1) else cy
        x1, y1, x2, y2 = max(px, 0), max(py, 0), min(px + nw, W), min(py + nh, H)
        if x2 <= x1 or y2 <= y1:
            continue
        out[y1:y2, x1:x2] = im[y1 - py:y2 - py, x1 - px:x2 - px]
        # keep only the part of each box inside this tile
        bb, ll = crop_boxes(b, labels, x1 - px, y1 - py, x2 - x1, y2 - y1)
        all_b.append(bb + np.array([x1, y1, x1, y1], np.float32))
        all_l.append(ll)
    boxes = np.concatenate(all_b).reshape(-1, 4) if all_b else np.zeros((0, 4), np.float32)
    labels = np.concatenate(all_l) if all_l else np.zeros(0, np.int64)
    return out, boxes.astype(np.float32), labels.astype(np.int64)


@dataclass
class AugmentSettings:
    """Probabilities and ranges of the training augmentation (``detector.augment`` in the config)."""

    flip: float = 0.5
    scale: tuple[float, float] = (0.7, 1.4)
    hue: float = 0.015
    saturation: float = 0.5
    value: float = 0.3
    mosaic: float = 0.3


def augment_sample(get: Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]], index: int, n: int,
                   size: tuple[int, int], aug: AugmentSettings, rng: np.random.Generator,
                   fit: tuple[int, int] | None = None):
    """The training transform of sample ``index`` (``get(i)`` → image, boxes, labels; ``n`` samples):
    mosaic with probability ``aug.mosaic`` (three partners drawn at random), else scale jitter + crop; then
    flip and colour jitter. Images are scaled relative to the inference size ``fit`` (default ``size``).
    Returns a ``size`` image, its boxes and labels."""
    if aug.mosaic > 0 and rng.uniform() < aug.mosaic and n >= 2:
        partners = rng.integers(0, n, 3)
        img, b, lab = mosaic([get(index)] + [get(int(j)) for j in partners], size, rng,
                             (aug.scale[0] * 0.7, aug.scale[1] * 0.7), fit)
    else:
        img, b, lab = random_scale_crop(*get(index), size, aug.scale, rng, fit)
    if rng.uniform() < aug.flip:
        img, b = hflip(img, b)
    if aug.hue or aug.saturation or aug.value:
        img = colour_jitter(img, rng, aug.hue, aug.saturation, aug.value)
    return img, b, lab


def repeat_factors(labels_per_image: Sequence[np.ndarray], num_classes: int, threshold: float) -> np.ndarray:
    """LVIS repeat factor of each image: ``max(1, max_{c ∈ image} sqrt(t / f(c)))``; ``threshold ≤ 0`` → ones."""
    n = len(labels_per_image)
    if threshold <= 0 or n == 0:
        return np.ones(n)
    present = np.zeros((n, num_classes), bool)
    for i, lab in enumerate(labels_per_image):
        present[i, np.asarray(lab, np.int64)] = True
    freq = present.mean(0)
    rc = np.where(freq > 0, np.maximum(1.0, np.sqrt(threshold / np.maximum(freq, 1e-12))), 1.0)
    return np.where(present.any(1), (present * rc).max(1), 1.0)


def repeat_factor_epoch(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffled image indices of one epoch: image ``i`` appears ``floor(r_i)`` times plus once more with
    probability ``r_i - floor(r_i)``."""
    factors = np.asarray(factors, np.float64)
    reps = np.floor(factors).astype(np.int64) + (rng.uniform(size=len(factors)) < factors - np.floor(factors))
    return rng.permutation(np.repeat(np.arange(len(factors)), reps))
