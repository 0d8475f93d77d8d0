"""Loaders for the skeleton formats users have, into one in-memory format (PYSKL-like).

Every loader returns :class:`SkeletonSample` objects: ``keypoint`` ``(M, T, V, C)`` float32 (M persons,
T frames, V joints, C = 3 coordinates in metres), ``label`` (int), ``subject`` (int), ``name`` and the
``layout`` name (see :mod:`smartclass.layouts`). A corrupt or truncated file raises :class:`DataError`
naming the file and the line.

Formats:

* UTKinect-Action3D: ``joints_sXX_eYY.txt`` (per line: frame number, 20 × (x y z)) and ``actionLabel.txt``
  (per sequence ``sXX_eYY`` then ``action: start end`` lines, frame numbers; ``NaN`` = not performed).
* MSR Action3D: ``aXX_sYY_eZZ_skeleton3D.txt`` (20 lines per frame of ``x y z confidence``).
* NTU RGB+D: ``.skeleton`` text files (frame count; per frame body count; per body a header line, the
  joint count and 25 joint lines of 12 numbers).
* PYSKL pickle: ``{"split": {...}, "annotations": [{"keypoint": (M,T,V,C), "label", "frame_dir", ...}]}``.
"""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from smartclass.errors import DataError

UTKINECT_ACTIONS = ("walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands")
UTKINECT_LABEL_FILE = "actionLabel.txt"  # the data set's own label file in its root
MSR_ACTION3D_ACTIONS = (
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw", "draw x",
    "draw tick", "draw circle", "hand clap", "two hand wave", "side-boxing", "bend", "forward kick", "side kick",
    "jogging", "tennis swing", "tennis serve", "golf swing", "pick up & throw",
)


@dataclass
class SkeletonSample:
    """One sequence: ``keypoint`` ``(M, T, V, C)``; ``score`` ``(M, T, V)`` confidences where the format has them."""

    keypoint: np.ndarray
    label: int
    subject: int
    name: str
    layout: str
    score: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def total_frames(self) -> int:
        return int(self.keypoint.shape[1])


def _floats(line: str, path: Path, lineno: int, expected: int | None = None) -> list[float]:
    """The numbers of one line; NaN or inf (a tracking failure written out) is an error naming the line."""
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        raise DataError(f"{path}:{lineno}: expected numbers, got {line.strip()[:60]!r}") from None
    if expected is not None and len(values) != expected:
        raise DataError(f"{path}:{lineno}: expected {expected} numbers, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise DataError(f"{path}:{lineno}: expected finite numbers, got NaN or inf")
    return values


def _frame_number(value: float, path: Path, lineno: int) -> int:
    if not value.is_integer() or value < 0:
        raise DataError(f"{path}:{lineno}: frame number {value:g} is not a whole number ≥ 0")
    return int(value)


# ------------------------------------------------------------------------------------------ UTKinect
def read_utkinect_joints(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``joints_sXX_eYY.txt`` → (frame numbers ``(F,)``, joints ``(F, 20, 3)``). Repeated frame numbers
    (the recorder wrote some frames twice) keep their first occurrence."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"UTKinect joint file '{path}' does not exist")
    frames, joints, seen = [], [], set()
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        v = _floats(line, path, lineno, 61)
        f = _frame_number(v[0], path, lineno)
        if f in seen:
            continue
        seen.add(f)
        frames.append(f)
        joints.append(np.asarray(v[1:], dtype=np.float32).reshape(20, 3))
    if not frames:
        raise DataError(f"UTKinect joint file '{path}' holds no frames")
    return np.asarray(frames), np.stack(joints)


def read_utkinect_labels(path: str | Path) -> dict[str, dict[str, tuple[int, int] | None]]:
    """``actionLabel.txt`` → ``{"s01_e01": {"walk": (start, end) or None if NaN, ...}}``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"UTKinect label file '{path}' does not exist")
    out: dict[str, dict[str, tuple[int, int] | None]] = {}
    current, seq = None, ""
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if re.fullmatch(r"s\d+_e\d+", line):
            if line in out:
                raise DataError(f"{path}:{lineno}: sequence '{line}' appears twice; expected each sequence once")
            seq, current = line, out.setdefault(line, {})
            continue
        m = re.fullmatch(r"(\w+):\s*(\S+)\s+(\S+)", line)
        if m is None or current is None:
            raise DataError(f"{path}:{lineno}: expected 'sXX_eYY' or 'action: start end', got {line[:60]!r}")
        action, a, b = m.groups()
        if action not in UTKINECT_ACTIONS:
            raise DataError(f"{path}:{lineno}: unknown action '{action}'; expected one of {list(UTKINECT_ACTIONS)}")
        if action in current:
            raise DataError(f"{path}:{lineno}: action '{action}' appears twice for {seq}; expected each action once "
                            "per sequence")
        if a.lower() == "nan" or b.lower() == "nan":
            current[action] = None
        else:
            try:
                current[action] = (int(a), int(b))
            except ValueError:
                raise DataError(f"{path}:{lineno}: start and end must be whole frame numbers, "
                                f"got {a!r} {b!r}") from None
            if current[action][0] > current[action][1]:
                raise DataError(f"{path}:{lineno}: '{action}' starts at frame {a} after it ends at {b}; "
                                "expected start ≤ end")
    return out


def overlapping_segments(labels: dict[str, dict[str, tuple[int, int] | None]]) -> list[str]:
    """Pairs of action segments of one sequence whose frame spans overlap by more than a shared boundary frame,
    as readable lines (``"s09_e01: push 3266–3390 overlaps pull 3316–3390"``). The actions of a UTKinect
    sequence are performed one after another, so such an overlap is a labelling error; the original
    ``actionLabel.txt`` has three (one push segment of 1066 frames holds a whole throw)."""
    out = []
    for seq, actions in sorted(labels.items()):
        spans = sorted((span, action) for action, span in actions.items() if span is not None)
        for i, ((a0, a1), a) in enumerate(spans):
            for (b0, b1), b in spans[i + 1:]:
                if b0 < a1:
                    out.append(f"{seq}: {a} {a0}–{a1} overlaps {b} {b0}–{b1}")
    return out


def load_utkinect(root: str | Path, label_file: str = UTKINECT_LABEL_FILE) -> list[SkeletonSample]:
    """All labelled action segments of UTKinect-Action3D (199 of 200; one was not performed). Each sample's
    ``meta["frames"]`` holds its recorded frame numbers: the recorder skipped frames unevenly (gaps of 2 to
    12, some far longer), so these, not the row index, are its time axis."""
    from smartclass.runs import inside_root

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"UTKinect root '{root}' is not a directory")
    labels = read_utkinect_labels(inside_root(root, label_file, "UTKinect label file"))
    samples = []
    for seq, actions in sorted(labels.items()):
        frames, joints = read_utkinect_joints(root / f"joints_{seq}.txt")
        subject = int(seq[1:3])
        for action, span in actions.items():
            if span is None:
                continue
            sel = (frames >= span[0]) & (frames <= span[1])
            if sel.sum() < 2:
                raise DataError(f"{root / label_file}: {seq} {action} frames {span} hold {sel.sum()} recorded frames")
            samples.append(SkeletonSample(joints[sel][None], UTKINECT_ACTIONS.index(action), subject,
                                          f"{seq}_{action}", "kinect_v1_20", meta={"frames": frames[sel]}))
    return samples


# --------------------------------------------------------------------------------------- MSR Action3D
_MSR_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_skeleton3D\.txt")


def read_msr_action3d(path: str | Path) -> SkeletonSample:
    """One ``aXX_sYY_eZZ_skeleton3D.txt`` file (20 lines of ``x y z confidence`` per frame)."""
    path = Path(path)
    m = _MSR_NAME.fullmatch(path.name)
    if m is None:
        raise DataError(f"'{path}': expected a file named aXX_sYY_eZZ_skeleton3D.txt")
    if not path.is_file():
        raise DataError(f"MSR Action3D file '{path}' does not exist")
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            rows.append(_floats(line, path, lineno, 4))
    if not rows or len(rows) % 20:
        raise DataError(f"{path}:{len(rows)}: truncated — {len(rows)} joint lines is not a whole number of 20-joint frames")
    a = np.asarray(rows, dtype=np.float32).reshape(-1, 20, 4)
    action, subject, episode = (int(g) for g in m.groups())
    if not 1 <= action <= 20:
        raise DataError(f"'{path}': action {action} outside 1..20")
    return SkeletonSample(a[None, :, :, :3], action - 1, subject, path.stem, "msr_action3d_20",
                          score=a[None, :, :, 3], meta={"episode": episode})


def load_msr_action3d(root: str | Path) -> list[SkeletonSample]:
    root = Path(root)
    files = sorted(root.glob("a*_s*_e*_skeleton3D.txt")) if root.is_dir() else []
    if not files:
        raise DataError(f"MSR Action3D root '{root}' holds no aXX_sYY_eZZ_skeleton3D.txt files")
    return [read_msr_action3d(f) for f in files]


# -------------------------------------------------------------------------------------------- NTU
def read_ntu_skeleton(path: str | Path, max_bodies: int = 2) -> SkeletonSample:
    """An NTU RGB+D ``.skeleton`` file → ``(M, T, 25, 3)`` camera-space joints (M ≤ ``max_bodies``, by
    body id in order of appearance; frames where a body is absent are zeros)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"NTU skeleton file '{path}' does not exist")
    lines = path.read_text().splitlines()
    pos = 0

    def take() -> tuple[int, str]:
        nonlocal pos
        if pos >= len(lines):
            raise DataError(f"{path}:{pos}: file ends early (truncated)")
        pos += 1
        return pos, lines[pos - 1]

    lineno, line = take()
    n_frames = _frame_number(_floats(line, path, lineno, 1)[0], path, lineno)
    bodies: dict[str, np.ndarray] = {}
    for t in range(n_frames):
        lineno, line = take()
        n_bodies = _frame_number(_floats(line, path, lineno, 1)[0], path, lineno)
        for _ in range(n_bodies):
            lineno, line = take()
            body_id = line.split()[0] if line.split() else ""
            lineno, line = take()
            n_joints = int(_floats(line, path, lineno, 1)[0])
            if n_joints != 25:
                raise DataError(f"{path}:{lineno}: expected 25 joints, got {n_joints}")
            arr = bodies.setdefault(body_id, np.zeros((n_frames, 25, 3), np.float32))
            for j in range(25):
                lineno, line = take()
                arr[t, j] = _floats(line, path, lineno, 12)[:3]
    name = path.stem
    m = re.search(r"S(\d+)C(\d+)P(\d+)R(\d+)A(\d+)", name)
    kp = np.stack(list(bodies.values())[:max_bodies]) if bodies else np.zeros((1, n_frames, 25, 3), np.float32)
    return SkeletonSample(kp, int(m.group(5)) - 1 if m else -1, int(m.group(3)) if m else -1, name, "ntu_25",
                          meta={"setup": int(m.group(1)), "camera": int(m.group(2))} if m else {})


# ------------------------------------------------------------------------------------------ PYSKL
class _Refused(Exception):
    pass


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain data only: builtin containers, strings and numbers, and numpy arrays and scalars
    (``numpy.core.multiarray._reconstruct``, ``numpy.dtype``, ``numpy.ndarray``, scalar constructors). Any
    other global (``os.system``, a class of some package) is refused before it is called."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"), ("builtins", "slice"), ("collections", "OrderedDict"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise _Refused(f"'{module}.{name}'")


def load_pyskl(path: str | Path, layout: str = "ntu_25") -> tuple[list[SkeletonSample], dict]:
    """A PYSKL annotation pickle → samples and its ``split`` dict (``{name: [frame_dir, ...]}``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"PYSKL pickle '{path}' does not exist")
    try:
        with path.open("rb") as f:
            data = _SafeUnpickler(f).load()
    except _Refused as e:
        raise DataError(f"PYSKL pickle '{path}' refers to {e}, which is not plain data (numpy arrays, dicts, lists, "
                        "strings, numbers); refused without running it") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a corrupt file to the user
        raise DataError(f"PYSKL pickle '{path}' could not be read: {e}") from None
    if not isinstance(data, dict) or "annotations" not in data:
        raise DataError(f"PYSKL pickle '{path}': expected a dict with 'annotations' (and 'split')")
    samples = []
    for i, ann in enumerate(data["annotations"]):
        for key in ("keypoint", "label"):
            if key not in ann:
                raise DataError(f"PYSKL pickle '{path}': annotation {i} has no '{key}'")
        try:
            kp = np.asarray(ann["keypoint"], dtype=np.float32)
            label = int(ann["label"])
        except (TypeError, ValueError) as e:
            raise DataError(f"PYSKL pickle '{path}': annotation {i} keypoint or label is not numeric ({e})") from None
        if kp.ndim != 4:
            raise DataError(f"PYSKL pickle '{path}': annotation {i} keypoint has shape {kp.shape}; expected (M, T, V, C)")
        if not np.isfinite(kp).all():
            raise DataError(f"PYSKL pickle '{path}': annotation {i} keypoint holds NaN or inf; "
                            "expected finite coordinates")
        score = ann.get("keypoint_score")
        samples.append(SkeletonSample(kp, label, int(ann.get("subject", -1)),
                                      str(ann.get("frame_dir", i)), layout,
                                      score=None if score is None else np.asarray(score, np.float32)))
    return samples, dict(data.get("split", {}))
