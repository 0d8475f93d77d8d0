"""The on-disk clip layout (``docs/data-format.md``), modelled on SmartClass-MM: writer, validating reader.

::

    ROOT/dataset.json                  format, version, label vocabularies, generator config (if synthetic)
    ROOT/splits/{train,val,test}.txt   clip ids, one per line
    ROOT/clips/<clip_id>/calibration.json
    ROOT/clips/<clip_id>/annotations.json
    ROOT/clips/<clip_id>/rgb/000000.png …           required (.png or .jpg)
    ROOT/clips/<clip_id>/rgb_clean/000000.png …     optional: well-lit reference
    ROOT/clips/<clip_id>/depth/000000.png …         optional: uint16 millimetres, 0 = hole
    ROOT/clips/<clip_id>/depth_clean/000000.png …   optional: hole-free reference
    ROOT/clips/<clip_id>/thermal/000000.png …       optional: uint16 centikelvin, 0 = no reading

A user's own recordings go in the same layout (RGB only is fine); :func:`read_clip` checks every file it
reads and raises :class:`~smartclass.errors.DataError` naming the file and the problem.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from smartclass.errors import DataError
from smartclass.io import image_file_problem, strict_json
from smartclass.runs import inside_root
from smartclass.geometry import Camera
from smartclass.labels import BEHAVIOURS, COARSE_CLASSES, FINE_CLASSES
from smartclass.layouts import UPPER_BODY_17
from smartclass.clip import CAMERAS, CONDITIONS, Clip, StudentTrack

FORMAT = "smartclass-mm"
VERSION = 1
MODALITIES = {"rgb": ".png", "rgb_clean": ".png", "depth": ".png", "depth_clean": ".png", "thermal": ".png"}
"""Extensions the writer uses: lossless everywhere (JPEG would smooth away the low-light sensor noise that the
enhancement stage is scored on). The reader also takes ``.jpg`` RGB frames, for users' own recordings."""
KELVIN = 273.15


def clip_id(split: str, index: int) -> str:
    return f"{split}_{index:05d}"


def thermal_to_png(temp_c: np.ndarray) -> np.ndarray:
    """°C → uint16 centikelvin (0.01 K steps, the radiometric convention); NaN → 0 (no reading)."""
    ck = np.round((np.nan_to_num(temp_c, nan=-KELVIN) + KELVIN) * 100.0)
    return np.clip(ck, 0, 65535).astype(np.uint16)


def thermal_from_png(ck: np.ndarray) -> np.ndarray:
    """uint16 centikelvin → float32 °C; 0 → NaN."""
    t = ck.astype(np.float32) / 100.0 - KELVIN
    t[ck == 0] = np.nan
    return t


def _r(x: np.ndarray, nd: int) -> list:
    return np.round(np.asarray(x, float), nd).tolist()


def annotations_dict(clip: Clip, cid: str) -> dict:
    """The ``annotations.json`` content of ``clip``."""
    students = []
    for s in clip.students:
        frames = []
        for i in range(clip.num_frames):
            b = BEHAVIOURS[s.behaviour[i]]
            frames.append({
                "frame": i, "behaviour": b,
                "fine": FINE_CLASSES[s.fine[i]] if s.fine[i] >= 0 else None,
                "coarse": COARSE_CLASSES[s.coarse[i]],
                "boxes": {c: _r(s.boxes[c][i], 2) for c in s.boxes},
                "keypoints": {c: _r(s.keypoints[c][i], 2) for c in s.keypoints},
                "keypoints_3d": _r(s.keypoints_3d[i], 4),
            })
        students.append({"track_id": s.track_id, "subject_id": s.subject_id, "face_temp": round(float(s.face_temp), 2),
                         "frames": frames})
    return {"clip_id": cid, "index": clip.index, "split": clip.split, "condition": clip.condition, "fps": clip.fps,
            "num_frames": clip.num_frames, "layout": UPPER_BODY_17.name, "keypoint_names": list(UPPER_BODY_17.joints),
            "students": students, "meta": clip.meta}


def _write_image(path: Path, img: np.ndarray) -> None:
    params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    if img.ndim == 3:
        img = img[..., ::-1]  # RGB → OpenCV's BGR
    if not cv2.imwrite(str(path), img, params):
        raise OSError(f"{path}: could not write the image")


def write_clip(clip: Clip, root: str | os.PathLike, cid: str | None = None) -> Path:
    """Write ``clip`` under ``root/clips/<cid>/`` atomically (a temporary folder renamed at the end)."""
    cid = cid or clip_id(clip.split, clip.index)
    final = Path(root) / "clips" / cid
    tmp = final.with_name(f".{cid}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    for m in MODALITIES:
        (tmp / m).mkdir(parents=True)
    arrays = {"rgb": clip.rgb, "rgb_clean": clip.rgb_clean, "depth": clip.depth, "depth_clean": clip.depth_clean,
              "thermal": None if clip.thermal is None else thermal_to_png(clip.thermal)}
    for m, ext in MODALITIES.items():
        for i, img in enumerate(arrays[m]):
            _write_image(tmp / m / f"{i:06d}{ext}", img)
    calib = {"fps": clip.fps, "cameras": {k: c.to_dict() for k, c in clip.cameras.items()},
             "shake": None if clip.shake is None else _r(clip.shake, 8)}
    (tmp / "calibration.json").write_text(json.dumps(strict_json(calib), indent=1, allow_nan=False))
    (tmp / "annotations.json").write_text(json.dumps(strict_json(annotations_dict(clip, cid)), separators=(",", ":"),
                                                     allow_nan=False))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def write_dataset_info(root: str | os.PathLike, config: dict | None = None,
                       generator_version: int | None = None) -> None:
    """``dataset.json``: the format, the label vocabularies, and the generator (version and config) that made
    the data set (``None`` for recorded data)."""
    info = {"format": FORMAT, "version": VERSION, "generator_version": generator_version, "behaviours": list(BEHAVIOURS), "fine_classes": list(FINE_CLASSES),
            "coarse_classes": list(COARSE_CLASSES), "conditions": list(CONDITIONS), "cameras": list(CAMERAS),
            "layout": UPPER_BODY_17.name, "keypoint_names": list(UPPER_BODY_17.joints), "generator": config}
    p = Path(root) / "dataset.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(strict_json(info), indent=2, allow_nan=False))
    os.replace(tmp, p)


def remove_partial_clips(root: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders (``clips/.<id>.tmp-<pid>``) of clips whose writer was killed; call it while
    holding the output folder's lock (:func:`smartclass.runs.run_lock`), so no live writer owns them."""
    gone = [p for p in (Path(root) / "clips").glob(".*.tmp-*") if p.is_dir()]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True)
    return gone


def write_split_list(root: str | os.PathLike, split: str) -> Path:
    """(Re)write ``splits/<split>.txt`` from the complete clip folders of that split."""
    clips = sorted(p.name for p in (Path(root) / "clips").glob(f"{split}_*") if p.is_dir())
    p = Path(root) / "splits" / f"{split}.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".txt.tmp")
    tmp.write_text("".join(c + "\n" for c in clips))
    os.replace(tmp, p)
    return p


# -- reading --------------------------------------------------------------------------------------------
def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: missing (every clip folder needs it; see docs/data-format.md)")
    def refuse(constant: str) -> None:
        raise DataError(f"{path}: holds {constant}, which is not JSON; write null for a missing number")

    try:
        data = json.loads(path.read_text(), parse_constant=refuse)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object at the top level, got {type(data).__name__}")
    return data


def read_student_count(folder: str | os.PathLike) -> int:
    """How many student tracks ``folder/annotations.json`` lists (checked to be strict JSON with a list)."""
    path = Path(folder) / "annotations.json"
    students = _load_json(path).get("students", [])
    if not isinstance(students, list):
        raise DataError(f"{path}: 'students' must be a list of student tracks")
    return len(students)


def _field(d: dict, key: str, path: Path, where: str = "") -> Any:
    if key not in d:
        raise DataError(f"{path}: {where}missing field '{key}'")
    return d[key]


def _read_frames(folder: Path, n: int, ext: str, flags: int, dtype: type = np.uint8) -> np.ndarray:
    """``n`` frames of one modality, each checked: present, complete (not truncated), of bit depth ``dtype``."""
    frames = []
    for i in range(n):
        f = folder / f"{i:06d}{ext}"
        if not f.is_file():
            raise DataError(f"{f}: missing frame {i} of {n} (annotations.json says num_frames = {n})")
        problem = image_file_problem(f)
        if problem:
            raise DataError(f"{f}: {problem}")
        img = cv2.imread(str(f), flags)
        if img is None:
            raise DataError(f"{f}: not a readable image (corrupt or truncated)")
        if img.dtype != dtype:
            raise DataError(f"{f}: {img.dtype} pixels; expected {np.dtype(dtype).name} "
                            f"({'8-bit colour' if dtype == np.uint8 else '16-bit single-channel'} PNG)")
        if dtype == np.uint8:  # grey or RGBA recordings: as 3-channel BGR, like IMREAD_COLOR
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img[..., :3]
        frames.append(img)
    shapes = {im.shape for im in frames}
    if len(shapes) > 1:
        raise DataError(f"{folder}: frames differ in size {sorted(shapes)}")
    return np.stack(frames)


def read_clip(folder: str | os.PathLike, modalities: tuple[str, ...] = tuple(MODALITIES)) -> Clip:
    """Read and validate one clip folder. Optional modalities that are absent come back as ``None``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: clip folder not found")
    ann_path, cal_path = folder / "annotations.json", folder / "calibration.json"
    ann, cal = _load_json(ann_path), _load_json(cal_path)
    n, fps = _field(ann, "num_frames", ann_path), _field(ann, "fps", ann_path)
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n != int(n) or n < 1:
        raise DataError(f"{ann_path}: num_frames = {n!r}; expected a whole number ≥ 1")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < float("inf"):
        raise DataError(f"{ann_path}: fps = {fps!r}; expected a finite number > 0")
    n, fps = int(n), float(fps)
    if not isinstance(_field(ann, "students", ann_path), list):
        raise DataError(f"{ann_path}: 'students' must be a list of student tracks")
    condition = _field(ann, "condition", ann_path)
    if condition not in CONDITIONS:
        raise DataError(f"{ann_path}: unknown condition '{condition}'; expected one of {list(CONDITIONS)}")
    cams = {}
    for name, d in _field(cal, "cameras", cal_path).items():
        try:
            cams[name] = Camera.from_dict(d)
        except (KeyError, ValueError, TypeError) as e:
            raise DataError(f"{cal_path}: camera '{name}' is malformed ({e!r}); expected K (3×3), R (3×3), t (3), width, height") from None
    if "rgb" not in cams:
        raise DataError(f"{cal_path}: no 'rgb' camera")
    shake = cal.get("shake")
    shake = None if shake is None else np.asarray(shake, float)
    if shake is not None and shake.shape != (n, 3, 3):
        raise DataError(f"{cal_path}: 'shake' has shape {shake.shape}, expected ({n}, 3, 3)")

    images: dict[str, np.ndarray | None] = {}
    for m in MODALITIES:
        sub = folder / m
        if m not in modalities or not sub.is_dir():
            if m == "rgb" and m in modalities:
                raise DataError(f"{sub}: missing (RGB frames are required)")
            images[m] = None
            continue
        if m.startswith("rgb"):
            ext = ".jpg" if not (sub / f"{0:06d}.png").exists() and (sub / f"{0:06d}.jpg").exists() else ".png"
            im = _read_frames(sub, n, ext, cv2.IMREAD_UNCHANGED)[..., ::-1]
            images[m] = np.ascontiguousarray(im)
        else:
            im = _read_frames(sub, n, MODALITIES[m], cv2.IMREAD_UNCHANGED, np.uint16)
            if im.dtype != np.uint16 or im.ndim != 3:
                raise DataError(f"{sub}: expected single-channel 16-bit PNG frames, got dtype {im.dtype} with shape {im.shape[1:]}")
            images[m] = thermal_from_png(im) if m == "thermal" else im
        cam = cams.get("rgb" if m.startswith("rgb") else m.replace("_clean", ""))
        if cam is not None and images[m].shape[1:3] != (cam.height, cam.width):
            raise DataError(f"{sub}: frames are {images[m].shape[2]}×{images[m].shape[1]} but calibration.json says "
                            f"{cam.width}×{cam.height}")

    students = []
    for si, s in enumerate(_field(ann, "students", ann_path)):
        where = f"students[{si}]: "
        try:
            students.append(_read_student(s, n, cams, ann_path, where))
        except DataError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            raise DataError(f"{ann_path}: {where}malformed ({e.__class__.__name__}: {e}); "
                            "see docs/data-format.md") from None
    return _clip_from(ann, condition, fps, images, cams, shake, students)


def _read_student(s: dict, n: int, cams: dict, ann_path: Path, where: str) -> StudentTrack:
    """One entry of ``annotations.json``'s ``students``, checked."""
    frames = _field(s, "frames", ann_path, where)
    if len(frames) != n:
        raise DataError(f"{ann_path}: {where}has {len(frames)} frame entries, expected num_frames = {n}")
    beh = np.zeros(n, int)
    kps = {c: np.zeros((n, 17, 3)) for c in cams}
    boxes = {c: np.zeros((n, 4)) for c in cams}
    k3 = np.zeros((n, 17, 3))
    for i, fr in enumerate(frames):
        w = f"{where}frames[{i}]: "
        b = _field(fr, "behaviour", ann_path, w)
        if b not in BEHAVIOURS:
            raise DataError(f"{ann_path}: {w}unknown behaviour label '{b}'; expected one of {list(BEHAVIOURS)}")
        beh[i] = BEHAVIOURS.index(b)
        for c, kp in _field(fr, "keypoints", ann_path, w).items():
            a = np.asarray(kp, float)
            if a.shape != (17, 3):
                raise DataError(f"{ann_path}: {w}keypoints['{c}'] has shape {a.shape}, expected (17, 3) "
                                f"(u, v, visibility for the {UPPER_BODY_17.name} layout)")
            if not np.isfinite(a).all():
                raise DataError(f"{ann_path}: {w}keypoints['{c}'] holds NaN or inf; expected finite numbers")
            if c in kps:
                kps[c][i] = a
        for c, bx in _field(fr, "boxes", ann_path, w).items():
            a = np.asarray(bx, float)
            if a.shape != (4,):
                raise DataError(f"{ann_path}: {w}boxes['{c}'] has {a.size} numbers, expected 4 (x1, y1, x2, y2)")
            if not np.isfinite(a).all():
                raise DataError(f"{ann_path}: {w}boxes['{c}'] holds NaN or inf; expected finite numbers")
            if c in boxes:
                boxes[c][i] = a
        if "keypoints_3d" in fr:
            a = np.asarray(fr["keypoints_3d"], float)
            if a.shape != (17, 3):
                raise DataError(f"{ann_path}: {w}keypoints_3d has shape {a.shape}, expected (17, 3)")
            k3[i] = a
    face = s.get("face_temp")
    return StudentTrack(int(_field(s, "track_id", ann_path, where)), int(s.get("subject_id", -1)), beh,
                        boxes, kps, k3, float("nan") if face is None else float(face))


def _clip_from(ann: dict, condition: str, fps: float, images: dict, cams: dict, shake, students: list) -> Clip:
    return Clip(int(ann.get("index", -1)), ann.get("split", ""), condition, fps, images["rgb"], images["rgb_clean"],
                images["depth"], images["depth_clean"], images["thermal"], cams, shake, students, ann.get("meta", {}))


def split_clips(root: str | os.PathLike, split: str) -> list[Path]:
    """The clip folders listed in ``root/splits/<split>.txt`` (checked to exist)."""
    root = Path(root)
    info = root / "dataset.json"
    if not root.is_dir():
        raise DataError(f"{root}: data set folder not found")
    if info.is_file():
        d = _load_json(info)
        if d.get("format") != FORMAT:
            raise DataError(f"{info}: format is '{d.get('format')}', expected '{FORMAT}'")
    lst = root / "splits" / f"{split}.txt"
    if not lst.is_file():
        raise DataError(f"{lst}: missing split list (one clip id per line)")
    ids = [x.strip() for x in lst.read_text().splitlines() if x.strip()]
    out = []
    for i, cid in enumerate(ids, 1):
        p = inside_root(root / "clips", cid, f"{lst}:{i}")
        if not p.is_dir():
            raise DataError(f"{lst}:{i}: clip '{cid}' has no folder {p}")
        out.append(p)
    return out
