"""Detection data sets as users have them: YOLO txt + ``data.yaml``, and COCO JSON.

Every loader returns a :class:`DetectionDataset`: a list of :class:`DetectionSample` (image path, boxes
``(N, 4)`` ``x1, y1, x2, y2`` in pixels of the stored image, labels ``(N,)`` in ``0..C-1``) and the class
names. Images are decoded lazily (``dataset.item(i)`` → ``(image (H, W, 3) uint8 RGB, boxes, labels)``), so
a data set of hundreds of 1280 px frames costs nothing until it is read.

Layouts (``docs/detector.md``):

- YOLO: a split folder with ``images/`` and ``labels/`` (one ``<stem>.txt`` per image, lines
  ``class cx cy w h`` normalised to ``[0, 1]``; no file or an empty file = no objects) and ``data.yaml``
  (``names:`` a list or an ``{id: name}`` mapping) in the split folder or its parent.
- COCO: a split folder with ``images/`` and ``annotations.json`` (``images``, ``annotations`` with
  ``bbox = [x, y, w, h]`` in pixels, ``categories``), or the JSON file itself. Category ids are mapped to
  ``0..C-1`` in ascending id order.

A corrupt label line, a box outside the image, an unknown class id or a missing image raises
:class:`DataError` naming the file and line (YOLO) or the annotation index and id (COCO).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import yaml

from smartclass.errors import DataError
from smartclass.labels import COARSE_CLASSES

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
BOX_TOLERANCE = 1e-3
"""Normalised (YOLO) or relative (COCO: fraction of the image side) slack for boxes touching the border."""
HELDOUT_SEED = 0
"""Seed of the permutation that picks ClaBehavior's (any COCO set's) held-out fifth."""


@dataclass
class DetectionSample:
    """One image and its boxes."""

    image: Path | np.ndarray  # a file, decoded on demand, or an in-memory (H, W, 3) uint8 RGB frame
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2 pixels
    labels: np.ndarray  # (N,) int64 in 0..C-1
    image_id: int | str = ""


@dataclass
class DetectionDataset:
    """Samples plus class names; ``item(i)`` decodes image ``i``."""

    class_names: tuple[str, ...]
    samples: list[DetectionSample]
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.samples)

    def item(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self.samples[i]
        img = s.image if isinstance(s.image, np.ndarray) else read_image(s.image)
        return img, s.boxes.copy(), s.labels.copy()

    def subset(self, indices: Sequence[int], source: str | None = None) -> "DetectionDataset":
        return DetectionDataset(self.class_names, [self.samples[i] for i in indices], source or self.source,
                                dict(self.meta))

    def class_counts(self) -> np.ndarray:
        counts = np.zeros(len(self.class_names), dtype=np.int64)
        for s in self.samples:
            np.add.at(counts, s.labels, 1)
        return counts


def read_image(path: str | Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB; a missing or undecodable file raises :class:`DataError`."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image '{path}' does not exist")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"image '{path}' could not be decoded")
    return np.ascontiguousarray(img[:, :, ::-1])


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` from the file header (no full decode)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except FileNotFoundError:
        raise DataError(f"image '{path}' does not exist") from None
    except Exception as e:  # PIL raises several types for corrupt headers
        raise DataError(f"image '{path}' could not be read: {e}") from None


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


# ---------------------------------------------------------------------------------------------- YOLO


def find_data_yaml(split: Path) -> Path:
    for cand in (split / "data.yaml", split.parent / "data.yaml"):
        if cand.is_file():
            return cand
    raise DataError(f"no data.yaml in '{split}' or its parent '{split.parent}' (YOLO layout expects one with names:)")


def yolo_class_names(data_yaml: Path) -> tuple[str, ...]:
    try:
        spec = yaml.safe_load(data_yaml.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"{data_yaml}: not valid YAML: {e}") from None
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise DataError(f"{data_yaml}: names ids must be 0..{len(keys) - 1}, got {keys}")
        names = [names[k] for k in keys]
    if not isinstance(names, list) or not names:
        raise DataError(f"{data_yaml}: expected 'names:' as a non-empty list or {{id: name}} mapping")
    nc = spec.get("nc")
    if nc is not None and nc != len(names):
        raise DataError(f"{data_yaml}: nc = {nc} but names has {len(names)} entries")
    return tuple(str(n) for n in names)


def parse_yolo_labels(path: Path, num_classes: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """One YOLO label file → boxes ``(N, 4)`` pixels and labels ``(N,)``; errors name the file and line."""
    boxes, labels = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise DataError(f"{path}:{n}: expected 'class cx cy w h' (5 fields), got {len(parts)}: {line.strip()!r}")
        try:
            cls_f = float(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:])
        except ValueError:
            raise DataError(f"{path}:{n}: fields must be numbers, got {line.strip()!r}") from None
        if not cls_f.is_integer() or not 0 <= cls_f < num_classes:
            raise DataError(f"{path}:{n}: class id {parts[0]} is not one of 0..{num_classes - 1}")
        if not all(np.isfinite([cx, cy, w, h])) or w <= 0 or h <= 0:
            raise DataError(f"{path}:{n}: box must have finite centre and positive size, got {line.strip()!r}")
        x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        if min(x1, y1) < -BOX_TOLERANCE or max(x2, y2) > 1 + BOX_TOLERANCE:
            raise DataError(f"{path}:{n}: box ({x1:.4f}, {y1:.4f}, {x2:.4f}, {y2:.4f}) lies outside the image "
                            f"(normalised coordinates must be within [0, 1])")
        boxes.append(np.clip([x1 * width, y1 * height, x2 * width, y2 * height], 0, [width, height, width, height]))
        labels.append(int(cls_f))
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64))


def load_yolo(split: str | Path) -> DetectionDataset:
    """A YOLO split folder (``images/``, ``labels/``, ``data.yaml`` here or in the parent)."""
    split = Path(split)
    images_dir, labels_dir = split / "images", split / "labels"
    if not images_dir.is_dir():
        raise DataError(f"'{split}' has no images/ folder (YOLO layout: images/, labels/, data.yaml)")
    names = yolo_class_names(find_data_yaml(split))
    images = list_images(images_dir)
    by_stem = {p.stem: p for p in images}
    if labels_dir.is_dir():
        for lab in sorted(labels_dir.glob("*.txt")):
            if lab.stem not in by_stem:
                raise DataError(f"{lab}: no image '{lab.stem}.*' in {images_dir}")
    samples = []
    for img in images:
        w, h = image_size(img)
        lab = labels_dir / f"{img.stem}.txt"
        if lab.is_file():
            boxes, labels = parse_yolo_labels(lab, len(names), w, h)
        else:
            boxes, labels = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
        samples.append(DetectionSample(img, w, h, boxes, labels, img.stem))
    if not samples:
        raise DataError(f"'{images_dir}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return DetectionDataset(names, samples, f"yolo:{split}")


def yolo_label_text(boxes: np.ndarray, labels: np.ndarray, width: int, height: int,
                    scores: np.ndarray | None = None) -> str:
    """YOLO txt lines (``class cx cy w h [score]``, normalised to the ``width × height`` image) for pixel boxes."""
    lines = []
    for i, (b, c) in enumerate(zip(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(labels).reshape(-1))):
        cx, cy = (b[0] + b[2]) / 2 / width, (b[1] + b[3]) / 2 / height
        w, h = (b[2] - b[0]) / width, (b[3] - b[1]) / height
        line = f"{int(c)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"
        if scores is not None:
            line += f" {float(scores[i]):.4f}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


# ---------------------------------------------------------------------------------------------- COCO


def _coco_paths(path: Path) -> tuple[Path, Path]:
    if path.is_file():
        ann = path
        root = path.parent
    else:
        ann = path / "annotations.json"
        root = path
    if not ann.is_file():
        raise DataError(f"no COCO annotations at '{ann}' (layout: images/ + annotations.json)")
    images_dir = root / "images" if (root / "images").is_dir() else root
    return ann, images_dir


def heldout_image_ids(image_ids: Sequence, fraction: float = 0.2, seed: int = HELDOUT_SEED) -> set:
    """The deterministic held-out subset: image ids sorted ascending, permuted by
    ``numpy.random.default_rng(seed)``, the first ``round(fraction · n)`` taken."""
    ids = sorted(image_ids)
    perm = np.random.default_rng(seed).permutation(len(ids))
    k = int(round(fraction * len(ids)))
    return {ids[i] for i in perm[:k]}


def load_coco(path: str | Path, subset: str = "all", heldout_fraction: float = 0.2) -> DetectionDataset:
    """A COCO split (folder with ``images/`` + ``annotations.json``, or the JSON file).

    ``subset``: ``"all"``; ``"train"`` (the images not held out) or ``"heldout"`` (the held-out fifth, see
    :func:`heldout_image_ids`) for sets whose evaluation split is withheld, such as ClaBehavior."""
    if subset not in ("all", "train", "heldout"):
        raise DataError(f"COCO subset must be 'all', 'train' or 'heldout', got '{subset}'")
    ann_path, images_dir = _coco_paths(Path(path))
    try:
        spec = json.loads(ann_path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(f"{ann_path}: not valid JSON: {e}") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(spec.get(key), list):
            raise DataError(f"{ann_path}: expected a list under '{key}'")
    cats = sorted(spec["categories"], key=lambda c: c["id"])
    cat_index = {c["id"]: i for i, c in enumerate(cats)}
    names = tuple(str(c["name"]) for c in cats)
    images: dict = {}
    for i, im in enumerate(spec["images"]):
        try:
            images[im["id"]] = (str(im["file_name"]), int(im["width"]), int(im["height"]))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{ann_path}: images[{i}] needs id, file_name, width, height") from None
    per_image: dict = {k: ([], []) for k in images}
    for i, a in enumerate(spec["annotations"]):
        where = f"{ann_path}: annotations[{i}] (id {a.get('id')})"
        if a.get("image_id") not in images:
            raise DataError(f"{where}: image_id {a.get('image_id')} is not in images")
        if a.get("category_id") not in cat_index:
            raise DataError(f"{where}: category_id {a.get('category_id')} is not one of {sorted(cat_index)}")
        bbox = a.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox):
            raise DataError(f"{where}: bbox must be [x, y, w, h] numbers, got {bbox!r}")
        x, y, w, h = (float(v) for v in bbox)
        _, W, H = images[a["image_id"]]
        if w <= 0 or h <= 0:
            raise DataError(f"{where}: bbox {bbox} has non-positive size")
        if x < -BOX_TOLERANCE * W or y < -BOX_TOLERANCE * H or x + w > W * (1 + BOX_TOLERANCE) or \
                y + h > H * (1 + BOX_TOLERANCE):
            raise DataError(f"{where}: bbox {bbox} lies outside the {W}×{H} image")
        per_image[a["image_id"]][0].append(np.clip([x, y, x + w, y + h], 0, [W, H, W, H]))
        per_image[a["image_id"]][1].append(cat_index[a["category_id"]])
    keep = set(images)
    if subset != "all":
        held = heldout_image_ids(list(images), heldout_fraction)
        keep = held if subset == "heldout" else keep - held
    samples = []
    for image_id in sorted(keep):
        name, W, H = images[image_id]
        img = images_dir / name
        if not img.is_file():
            raise DataError(f"{ann_path}: image '{img}' (id {image_id}) does not exist")
        b, lab = per_image[image_id]
        samples.append(DetectionSample(img, W, H, np.asarray(b, np.float32).reshape(-1, 4),
                                       np.asarray(lab, np.int64), image_id))
    return DetectionDataset(names, samples, f"coco:{path}:{subset}", {"heldout_seed": HELDOUT_SEED,
                                                                      "heldout_fraction": heldout_fraction})


def load_detection(path: str | Path, fmt: str, subset: str = "all") -> DetectionDataset:
    """``fmt`` ``'yolo'``, ``'coco'`` (``subset`` applies to COCO) or ``'smartclass'`` (an on-disk SmartClass
    data set: ``subset`` is its split, ``'all'`` meaning ``'test'``; or one clip folder)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data path '{path}' does not exist")
    if fmt == "yolo":
        if subset != "all":
            raise DataError(f"subset '{subset}' applies to COCO sets only; a YOLO set has its own split folders")
        return load_yolo(path)
    if fmt == "coco":
        return load_coco(path, subset)
    if fmt == "smartclass":
        return load_clipdir_frames(path, "test" if subset == "all" else subset)
    raise DataError(f"unknown detection data format '{fmt}'; expected 'yolo', 'coco' or 'smartclass'")


# ---------------------------------------------------------------------------------------------- clips


def clip_frames(clips: Iterable, frames: Sequence[int] | None = None, min_side: float = 2.0) -> DetectionDataset:
    """Frames of SmartClass clips (:class:`~smartclass.clip.Clip`, rendered or read from the on-disk
    layout) as detection samples with paper 000's 8 coarse classes: per frame, every student whose RGB box is
    at least ``min_side`` pixels on both sides, labelled with its coarse behaviour at that frame.

    ``frames``: the frame indices taken from each clip (``None``: all)."""
    samples = []
    for clip in clips:
        T = clip.num_frames
        for t in (range(T) if frames is None else frames):
            if not 0 <= t < T:
                raise DataError(f"clip {clip.index} ({clip.split}) has {T} frames; frame {t} does not exist")
            boxes = np.array([s.boxes["rgb"][t] for s in clip.students], np.float32).reshape(-1, 4)
            labels = np.array([s.coarse[t] for s in clip.students], np.int64)
            keep = ((boxes[:, 2:] - boxes[:, :2]) >= min_side).all(1)
            img = clip.rgb[t]
            samples.append(DetectionSample(img, img.shape[1], img.shape[0], boxes[keep], labels[keep],
                                           f"{clip.split}-{clip.index}-{t}"))
    return DetectionDataset(COARSE_CLASSES, samples, "smartclass-clips")


def load_clipdir_frames(root: str | Path, split: str = "test", frame_stride: int = 1) -> DetectionDataset:
    """Every ``frame_stride``-th frame of the clips of ``split`` in an on-disk SmartClass data set
    (``docs/data-format.md``), or of one clip folder."""
    from smartclass.clipdir import read_clip, split_clips

    root = Path(root)
    folders = [root] if (root / "annotations.json").is_file() else split_clips(root, split)
    out = DetectionDataset(COARSE_CLASSES, [], f"smartclass:{root}:{split}")
    for folder in folders:
        clip = read_clip(folder, ("rgb",))
        out.samples += clip_frames([clip], range(0, clip.num_frames, max(1, frame_stride))).samples
    if not out.samples:
        raise DataError(f"'{root}' holds no clips of split '{split}'")
    return out
