"""SmartClass-Synth: render one trimodal classroom clip with full ground truth.

``render_clip(cfg, index)`` is a pure function of the config and the clip index: the same arguments give
the same arrays, bit for bit, so a streaming dataset needs no disk and the on-disk writer is reproducible.
"""

from __future__ import annotations

import zlib
import numpy as np

from smartclass.clip import CAMERAS, CONDITIONS, Clip, StudentTrack
from smartclass.errors import ConfigError
from smartclass.geometry import Camera
from smartclass.labels import BEHAVIOURS, COARSE_CLASSES, COARSE_OF, FINE_CLASSES
from smartclass.synth import sensors
from smartclass.synth.behaviours import DESK_FAR, DESK_H, DESK_NEAR, schedule_params
from smartclass.synth.body import BodyPose, body_capsules, pose_body
from smartclass.synth.config import SynthConfig
from smartclass.synth.render import Canvas, room_canvas
from smartclass.synth.subjects import SPLITS, Subject, make_subject, split_subjects

GENERATOR_VERSION = 3
"""Bumped whenever rendering changes, so caches of rendered data are not reused across versions."""
SEAT_PELVIS_Y = 0.55  # seat 0.45 m + hip joint
TEACHER = 100  # owner id of the teacher in the render buffers
PROP = 1000  # owner id of student k's props: PROP + k (they hide the student's keypoints)
_PROP_COLOURS = np.array([[0.92, 0.92, 0.92], [0.08, 0.08, 0.09], [0.70, 0.14, 0.14], [0.15, 0.30, 0.62], [0.85, 0.75, 0.55]])
PEN_COLOUR = (0.1, 0.1, 0.4)
NOTEBOOK_COLOUR = (0.95, 0.95, 0.93)
PAGE_COLOUR = (0.95, 0.94, 0.9)
# Props are drawn independently of the behaviour, so that no class owns an object or its colour: every
# student may have an open book (instead of the notebook) and a closed book on the desk, and a phone and a cup
# lying there; page-turning only forces the open book (its cue is the turning page, a motion). The one
# label-dependent prop property is intended: a cup held for drinking is hot (docs/synthetic-data.md).
BOOK_OPEN_P = 0.4  # an open book instead of the notebook, whatever the behaviour
CLOSED_BOOK_P = 0.5


def _student_props(rng: np.random.Generator, held_cup: bool, room_temp: float) -> dict:
    """One student's props for a clip, drawn without looking at the behaviour (only the held cup's heat)."""
    hot = rng.uniform() < 0.6
    return {
        "book_col": _PROP_COLOURS[rng.integers(2, 5)], "nb_angle": rng.uniform(-0.3, 0.3),
        "phone_col": _PROP_COLOURS[rng.integers(0, 4)], "cup_col": _PROP_COLOURS[rng.integers(0, 4)],
        "phone_temp": rng.uniform(30.0, 36.0),
        "cup_temp": rng.uniform(45.0, 60.0) if hot or held_cup else room_temp + rng.uniform(-1, 1),
        "phone_on_desk": rng.uniform() < 0.5, "cup_on_desk": rng.uniform() < 0.5,
        "phone_spot": [rng.uniform(-0.38, -0.25) * rng.choice([-1, 1]), rng.uniform(0.3, 0.5)],
        "cup_spot": [rng.uniform(0.28, 0.38) * rng.choice([-1, 1]), rng.uniform(0.4, 0.55)],
        "book_open": rng.uniform() < BOOK_OPEN_P,
        "closed_book": rng.uniform() < CLOSED_BOOK_P, "closed_book_col": _PROP_COLOURS[rng.integers(2, 5)],
        "closed_book_spot": [rng.uniform(0.25, 0.33) * rng.choice([-1, 1]), rng.uniform(0.22, 0.3)],
    }


def _check(cfg: SynthConfig) -> None:
    if cfg.width < 64 or cfg.height < 48:
        raise ConfigError(f"synth.width × synth.height: expected at least 64×48, got {cfg.width}×{cfg.height}")
    if cfg.frames < 1:
        raise ConfigError(f"synth.frames: expected ≥ 1, got {cfg.frames}")
    if not 1 <= cfg.students <= 16:
        raise ConfigError(f"synth.students: expected 1..16, got {cfg.students}")
    if not cfg.conditions or any(c not in CONDITIONS for c in cfg.conditions):
        raise ConfigError(f"synth.conditions: expected a non-empty subset of {list(CONDITIONS)}, got {list(cfg.conditions)}")
    if cfg.vocabulary not in ("fine", "coarse", "all"):
        raise ConfigError(f"synth.vocabulary: expected 'fine', 'coarse' or 'all', got '{cfg.vocabulary}'")
    if cfg.split not in SPLITS:
        raise ConfigError(f"synth.split: unknown split '{cfg.split}'; expected one of {list(SPLITS)}")
    if cfg.fps <= 0:
        raise ConfigError(f"synth.fps: expected > 0, got {cfg.fps}")


def primary_behaviour(cfg: SynthConfig, sample: int) -> str:
    """The behaviour of per-student sample ``sample`` (= clip·students + slot) at its clip's centre.

    Classes are balanced exactly in every block of consecutive samples (a seeded permutation per block).
    """
    if cfg.vocabulary == "fine":
        classes = FINE_CLASSES
    elif cfg.vocabulary == "coarse":
        classes = COARSE_CLASSES
    else:
        classes = BEHAVIOURS
    n = len(classes)
    perm = np.random.default_rng([cfg.seed, 31337, sample // n]).permutation(n)
    name = classes[perm[sample % n]]
    if cfg.vocabulary != "coarse":
        return name
    options = [b for b in BEHAVIOURS if COARSE_CLASSES[COARSE_OF[b]] == name]
    return options[np.random.default_rng([cfg.seed, 7, sample]).integers(len(options))]


def _vocabulary_behaviours(cfg: SynthConfig) -> list[str]:
    if cfg.vocabulary == "fine":
        return list(FINE_CLASSES)
    return list(BEHAVIOURS)


def _segments(rng: np.random.Generator, duration: float, primary: str, pool: list[str]) -> list[tuple[str, float, float]]:
    """Consecutive behaviour segments covering ``[0, duration]``; ``primary`` covers the centre."""
    centre = duration / 2
    length = rng.uniform(max(4.0, 1.5 * duration), max(10.0, 3.0 * duration))
    start = centre - rng.uniform(0.3, 0.7) * length
    segs = [(primary, start, start + length)]
    while segs[0][1] > -0.5:
        prev = [b for b in pool if b != segs[0][0]]
        d = rng.uniform(4.0, 10.0)
        segs.insert(0, (prev[rng.integers(len(prev))], segs[0][1] - d, segs[0][1]))
    while segs[-1][2] < duration + 0.5:
        nxt = [b for b in pool if b != segs[-1][0]]
        d = rng.uniform(4.0, 10.0)
        segs.append((nxt[rng.integers(len(nxt))], segs[-1][2], segs[-1][2] + d))
    return segs


def _layout(cfg: SynthConfig, rng: np.random.Generator) -> dict:
    K = cfg.students
    cols = K if K <= 3 else min(4, int(np.ceil(K / 2)))
    rows = int(np.ceil(K / cols))
    sx, gap, z0 = rng.uniform(1.0, 1.2), rng.uniform(1.1, 1.3), rng.uniform(1.9, 2.3)
    seats = []
    for k in range(K):
        r, c = divmod(k, cols)
        n_in_row = min(cols, K - r * cols)
        x = (c - (n_in_row - 1) / 2) * sx + rng.normal(0, 0.04)
        seats.append(np.array([x, SEAT_PELVIS_Y, z0 + r * gap + rng.normal(0, 0.04)]))
    temp = rng.uniform(20.0, 24.0)
    room = {
        "width": max(cols * sx + 3.0, 7.0), "depth": z0 + rows * gap + 2.5, "height": 3.2, "front": 0.0,
        "temp": temp, "floor": rng.uniform(0.35, 0.55, 3) * [1.0, 0.95, 0.85], "wall": rng.uniform(0.7, 0.9, 3) * [1.0, 0.97, 0.9],
        "ceiling": np.array([0.92, 0.92, 0.9]), "window": np.array([0.95, 0.97, 1.0]),
    }
    # RGB camera: high on the front wall, framing every seat
    pos = np.array([rng.uniform(-0.3, 0.3), rng.uniform(2.1, 2.6), 0.25])
    target = np.array([rng.uniform(-0.15, 0.15), 0.85, z0 + (rows - 1) * gap / 2 + 0.2])
    unit = Camera.look_at(pos, target, 1.0, cfg.width, cfg.height)
    corners = np.array([s + [dx, dy, dz] for s in seats for dx in (-0.55, 0.55) for dy in (-0.2, 1.0) for dz in (-0.65, 0.1)])
    pc = unit.to_camera(corners)
    xn, yn = np.abs(pc[:, 0] / pc[:, 2]).max(), np.abs(pc[:, 1] / pc[:, 2]).max()
    fx = min(0.48 * cfg.width / xn, 0.48 * cfg.height / yn)
    rgb = Camera.look_at(pos, target, fx, cfg.width, cfg.height)
    # depth: 2.5 cm beside the RGB camera, parallel axes, half resolution, slightly wider field of view
    off_d = rgb.R.T @ np.array([0.025, 0.0, 0.0])
    dw, dh = cfg.width // 2, cfg.height // 2
    depth = Camera.look_at(pos + off_d, target + off_d, fx * 0.5 * 0.95, dw, dh)
    # thermal: its own lower-resolution camera 6 cm away, turned slightly (misaligned until aligned)
    off_t = rgb.R.T @ np.array([-0.06, -0.04, 0.0])
    tw, th = cfg.width // 2, cfg.height // 2
    thermal = Camera.look_at(pos + off_t, target + rng.normal(0, 0.06, 3), fx * 0.5 * 0.9, tw, th)
    return {"seats": seats, "room": room, "cameras": {"rgb": rgb, "depth": depth, "thermal": thermal}}


def _furniture(cv: Canvas, seats: list[np.ndarray], room_temp: float, books_up: list[bool], desk_col, chair_col) -> None:
    for seat, book_up in zip(seats, books_up):
        x, _, z = seat
        top = SEAT_PELVIS_Y + DESK_H
        # students face −z: the desk lies between them and the camera
        cv.box([x - 0.45, top - 0.035, z - DESK_FAR], [x + 0.45, top, z - DESK_NEAR], desk_col, room_temp + 0.3)
        cv.box([x - 0.45, 0.30, z - DESK_FAR], [x + 0.45, top - 0.035, z - DESK_FAR + 0.02], desk_col * 0.85, room_temp + 0.2)
        cv.box([x - 0.2, 0.40, z + 0.12], [x + 0.2, 0.95, z + 0.16], chair_col, room_temp + 0.5)
        cv.box([x - 0.22, 0.40, z - 0.25], [x + 0.22, 0.44, z + 0.16], chair_col, room_temp + 0.5)
        if book_up:  # a raised book on the desk hides the hands and part of the torso
            cv.polygon(np.array([[x - 0.14, top, z - 0.42], [x + 0.14, top, z - 0.42], [x + 0.14, top + 0.3, z - 0.38],
                                 [x - 0.14, top + 0.3, z - 0.38]]), [0.2, 0.35, 0.6], room_temp + 0.5)


def _to_world(seat: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Student frame (right, up, forward) → world, for a student at ``seat`` facing −z."""
    return seat + np.asarray(local) * [1.0, 1.0, -1.0]


def _draw_props(cv: Canvas, seat: np.ndarray, pose: BodyPose, i: int, params: dict, props: dict, owner: int,
                room_temp: float) -> list[tuple[str, tuple[float, ...]]]:
    """Draw student ``owner``'s props in frame ``i``; returns the ``(prop, colour)`` pairs drawn."""
    top = DESK_H + 0.006
    kp = pose.keypoints[i]
    held = params["held"][i]
    drawn = []
    if props["closed_book"]:
        bx, bz = props["closed_book_spot"]
        corners = np.array([_to_world(seat, [bx + dx, top + dy, bz + dz]) for dx in (-0.08, 0.08) for dy in (0.0, 0.03)
                            for dz in (-0.11, 0.11)])
        cv.box(corners.min(0), corners.max(0), props["closed_book_col"], room_temp + 0.5, owner)
        drawn.append(("closed book", tuple(props["closed_book_col"])))
    if params["book"][i] or props["book_open"]:
        cv.polygon(np.array([_to_world(seat, p) for p in ([-0.22, top, 0.27], [0.22, top, 0.27], [0.22, top, 0.55], [-0.22, top, 0.55])]),
                   props["book_col"], room_temp + 0.5, owner)
        drawn.append(("open book", tuple(props["book_col"])))
        ang = float(params["page"][i])
        if abs(ang) > 0.05:
            sg = np.sign(ang)
            ca, sa = np.cos(abs(ang)), np.sin(abs(ang))
            edge = [sg * 0.2 * ca, top + 0.2 * sa, 0.0]
            quad = [[0, top, 0.28], [edge[0], edge[1], 0.28], [edge[0], edge[1], 0.54], [0, top, 0.54]]
            cv.polygon(np.array([_to_world(seat, p) for p in quad]), PAGE_COLOUR, room_temp + 0.5, owner)
    else:
        c, s_ = np.cos(props["nb_angle"]), np.sin(props["nb_angle"])
        quad = [[-0.1 * c + 0.14 * s_, top, 0.38 - 0.14 * c - 0.1 * s_], [0.1 * c + 0.14 * s_, top, 0.38 - 0.14 * c + 0.1 * s_],
                [0.1 * c - 0.14 * s_, top, 0.38 + 0.14 * c + 0.1 * s_], [-0.1 * c - 0.14 * s_, top, 0.38 + 0.14 * c - 0.1 * s_]]
        cv.polygon(np.array([_to_world(seat, p) for p in quad]), NOTEBOOK_COLOUR, room_temp + 0.5, owner)
        drawn.append(("notebook", NOTEBOOK_COLOUR))
    hands = {"left": kp[13], "right": kp[14]}
    elbows = {"left": kp[9], "right": kp[10]}
    in_hand = set(held.values())
    for side, item in held.items():
        h = hands[side]
        along = h - elbows[side]
        along /= max(np.linalg.norm(along), 1e-6)
        drawn.append((item, PEN_COLOUR if item == "pen" else tuple(props[f"{item}_col"])))
        if item == "pen":
            cv.capsule(h, h + 0.11 * (along * [1, 0.3, 1]) + [0, -0.04, 0], 0.006, 0.005, PEN_COLOUR, room_temp + 2.0, owner)
        elif item == "phone":
            head = pose.head_center[i]
            n = head - h
            n /= np.linalg.norm(n)
            a = np.cross(n, [0, 1.0, 0])
            a /= max(np.linalg.norm(a), 1e-6)
            b = np.cross(a, n)
            c0 = h + 0.03 * n
            cv.polygon(np.array([c0 - 0.035 * a - 0.07 * b, c0 + 0.035 * a - 0.07 * b, c0 + 0.035 * a + 0.07 * b,
                                 c0 - 0.035 * a + 0.07 * b]), props["phone_col"], props["phone_temp"], owner, specular=True)
        elif item == "cup":
            tilt = float(params["cup_tilt"][i])
            head = pose.head_center[i]
            towards = head - h
            towards[1] = 0
            towards /= max(np.linalg.norm(towards), 1e-6)
            up = np.array([0, 1.0, 0]) * np.cos(tilt) + towards * np.sin(tilt)  # tips towards the mouth
            cv.capsule(h - 0.03 * up, h + 0.08 * up, 0.037, 0.04, props["cup_col"], props["cup_temp"], owner)
    if "phone" not in in_hand and props["phone_on_desk"]:
        p = props["phone_spot"]
        cv.polygon(np.array([_to_world(seat, q) for q in ([p[0] - 0.035, top, p[1] - 0.07], [p[0] + 0.035, top, p[1] - 0.07],
                                                          [p[0] + 0.035, top, p[1] + 0.07], [p[0] - 0.035, top, p[1] + 0.07])]),
                   props["phone_col"], room_temp + 4.0, owner, specular=True)
        drawn.append(("phone", tuple(props["phone_col"])))
    if "cup" not in in_hand and props["cup_on_desk"]:
        p = _to_world(seat, [props["cup_spot"][0], top, props["cup_spot"][1]])
        cv.capsule(p + [0, 0.03, 0], p + [0, 0.1, 0], 0.037, 0.04, props["cup_col"], props["cup_temp"], owner)
        drawn.append(("cup", tuple(props["cup_col"])))
    if "pen" not in in_hand:
        p = _to_world(seat, [0.15, top + 0.005, 0.42])
        cv.capsule(p, p + [0.02, 0, -0.12], 0.006, 0.005, PEN_COLOUR, room_temp + 0.5, owner)
        drawn.append(("pen", PEN_COLOUR))
    return drawn


def _split_code(split: str) -> int:
    return zlib.crc32(split.encode())


def _project_gt(cam: Camera, pts: np.ndarray, cv: Canvas | None, owner: int, R_head_px: float | None = None):
    """Keypoints ``(17, 3)`` world → ``(17, 3)`` u, v, visibility and an amodal box."""
    uv, z = cam.project(pts)
    out = np.zeros((len(pts), 3))
    out[:, :2] = uv
    inside = (z > 0.05) & (uv[:, 0] >= 0) & (uv[:, 0] <= cam.width - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= cam.height - 1)
    vis = np.where(inside, 1, 0)
    if cv is not None:
        ui, vi = np.clip(np.round(uv[:, 0]).astype(int), 0, cam.width - 1), np.clip(np.round(uv[:, 1]).astype(int), 0, cam.height - 1)
        seen = (cv.owner[vi, ui] == owner) & (z <= cv.z[vi, ui] + 0.15)
        vis = np.where(inside & seen, 2, vis)
    out[:, 2] = vis
    m = np.median(z[z > 0.05]) if (z > 0.05).any() else 1.0
    pad = cam.K[0, 0] * 0.07 / m
    x1, y1 = uv[:, 0].min() - pad, uv[:, 1].min() - pad
    x2, y2 = uv[:, 0].max() + pad, uv[:, 1].max() + pad
    box = np.clip([x1, y1, x2, y2], [0, 0, 0, 0], [cam.width - 1, cam.height - 1, cam.width - 1, cam.height - 1])
    return out, box


def render_clip(cfg: SynthConfig, index: int) -> Clip:
    """Render clip ``index`` of the data set described by ``cfg`` (deterministic)."""
    _check(cfg)
    rng = np.random.default_rng([cfg.seed, _split_code(cfg.split), index])
    K, T, fps = cfg.students, cfg.frames, cfg.fps
    condition = cfg.conditions[index % len(cfg.conditions)]
    pool = split_subjects(cfg.num_subjects, cfg.split, cfg.pool_seed)
    if len(pool) < K:
        ids = [pool[i % len(pool)] for i in rng.permutation(max(K, len(pool)))[:K]]
    else:
        ids = [pool[i] for i in rng.permutation(len(pool))[:K]]
    subjects: list[Subject] = [make_subject(i, cfg.pool_seed) for i in ids]
    lay = _layout(cfg, rng)
    seats, room, cams = lay["seats"], lay["room"], lay["cameras"]
    t = np.arange(T) / fps
    duration = T / fps

    # behaviour schedules and poses
    pool_b = _vocabulary_behaviours(cfg)
    params, labels, poses, props = [], [], [], []
    moving = condition == "movement"
    for k, s in enumerate(subjects):
        segs = _segments(rng, duration, primary_behaviour(cfg, index * K + k), pool_b)
        p, lab = schedule_params(t, segs, s, rng)
        if moving:  # body sway
            for key, amp in (("shift", 0.04), ("tilt", 0.06), ("lean", 0.05)):
                p[key] = p[key] + amp * np.sin(2 * np.pi * rng.uniform(0.3, 0.7) * t + rng.uniform(0, 2 * np.pi))
        params.append(p)
        labels.append(lab)
        poses.append(pose_body(s, p, seats[k]))
        props.append(_student_props(rng, any("cup" in h.values() for h in p["held"]), room["temp"]))

    # occluders: raised books, and the teacher walking across the front
    books_up = [condition == "occlusion" and rng.uniform() < 0.35 for _ in range(K)]
    teacher = None
    if condition == "occlusion":
        tsub = make_subject(10_000 + int(rng.integers(1000)), cfg.pool_seed)
        speed = rng.uniform(0.5, 0.9) * rng.choice([-1, 1])
        x_mid = rng.uniform(-1.0, 1.0)
        z_t = min(s[2] for s in seats) - rng.uniform(1.0, 1.4)
        tp, _ = schedule_params(t, [("standing", -10.0, duration + 10.0)], tsub, rng)
        tp["rise"] = np.ones(T)
        tp["wrist_l"], tp["wrist_r"] = np.tile([-0.24, -0.12, 0.08], (T, 1)), np.tile([0.24, -0.12, 0.08], (T, 1))
        tposes = [pose_body(tsub, {k: (v[i:i + 1] if isinstance(v, np.ndarray) else v) for k, v in tp.items()},
                            np.array([x_mid + speed * (ti - duration / 2), SEAT_PELVIS_Y, z_t]),
                            yaw0=np.pi / 2 * np.sign(speed)) for i, ti in enumerate(t)]
        teacher = (tsub, tposes)

    # static scene per camera
    desk_col = rng.uniform(0.45, 0.7, 3) * [1.0, 0.85, 0.65]
    chair_col = rng.uniform(0.15, 0.35, 3)
    need = {"rgb": (True, False), "depth": (True, False), "thermal": (False, True)}
    static = {}
    for name, cam in cams.items():
        cv = room_canvas(cam, room, rgb=need[name][0], temp=need[name][1])
        _furniture(cv, seats, room["temp"], books_up, desk_col, chair_col)
        static[name] = cv

    # lighting of the clean reference: ceiling lights and a window side
    H, W = cfg.height, cfg.width
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    side = rng.choice([-1, 1])
    illum = (0.9 + 0.15 * (1 - yy / H) * 0.5 + 0.12 * (side * (xx / W - 0.5))) * rng.uniform(0.95, 1.1)

    low = sensors.low_light_params(rng) if condition == "low_light" else None
    shake = sensors.shake_rotation(rng, T, fps, rng.uniform(0.3, 0.8)) if moving else None
    fpn = sensors.fixed_pattern(rng, (cams["thermal"].height, cams["thermal"].width))

    out = {k: [] for k in ("rgb", "rgb_clean", "depth", "depth_clean", "thermal")}
    kps = [{c: np.zeros((T, 17, 3)) for c in CAMERAS} for _ in range(K)]
    boxes = [{c: np.zeros((T, 4)) for c in CAMERAS} for _ in range(K)]
    drawn_props = [set() for _ in range(K)]
    for i in range(T):
        frame = {}
        for name, cam in cams.items():
            cv = static[name].copy()
            for k, s in enumerate(subjects):
                for cap in body_capsules(s, poses[k], i, k):
                    cv.capsule(*cap)
                drawn_props[k].update(_draw_props(cv, seats[k], poses[k], i, params[k], props[k], PROP + k, room["temp"]))
            if teacher is not None:
                for cap in body_capsules(teacher[0], teacher[1][i], 0, TEACHER):
                    cv.capsule(*cap)
            frame[name] = cv
            for k in range(K):
                kp, box = _project_gt(cam, poses[k].keypoints[i], cv, k)
                if shake is not None:
                    Hm = cam.K @ shake[i] @ np.linalg.inv(cam.K)
                    q = np.c_[kp[:, :2], np.ones(17)] @ Hm.T
                    kp[:, :2] = q[:, :2] / q[:, 2:]
                    kp[:, 2] = np.where((kp[:, 0] < 0) | (kp[:, 0] > cam.width - 1) | (kp[:, 1] < 0) | (kp[:, 1] > cam.height - 1), 0, kp[:, 2])
                    c = np.array([[box[0], box[1], 1], [box[2], box[1], 1], [box[0], box[3], 1], [box[2], box[3], 1]]) @ Hm.T
                    c = c[:, :2] / c[:, 2:]
                    box = np.clip([*c.min(0), *c.max(0)], 0, [cam.width - 1, cam.height - 1] * 2)
                kps[k][name][i] = kp
                boxes[k][name][i] = box
        clean = np.clip(frame["rgb"].rgb * illum[..., None] * 255.0, 0, 255).astype(np.uint8)
        rgb_seen = sensors.rgb_low_light(clean, low, rng) if low is not None else sensors.rgb_normal(clean, rng)
        zd = frame["depth"].z
        depth = sensors.kinect_depth(zd, frame["depth"].rgb, rng, specular=frame["depth"].specular)
        depth_clean = sensors.clean_depth(zd)
        thermal = sensors.thermal_sensor(frame["thermal"].temp, fpn, rng)
        if shake is not None:
            Kr, Kd, Kt = cams["rgb"].K, cams["depth"].K, cams["thermal"].K
            clean = sensors.warp_rotation(clean, Kr, shake[i])
            rgb_seen = sensors.warp_rotation(rgb_seen, Kr, shake[i])
            depth = sensors.warp_rotation(depth, Kd, shake[i], nearest=True)
            depth_clean = sensors.warp_rotation(depth_clean, Kd, shake[i], nearest=True)
            thermal = sensors.warp_rotation(thermal, Kt, shake[i])
        out["rgb"].append(rgb_seen)
        out["rgb_clean"].append(clean)
        out["depth"].append(depth)
        out["depth_clean"].append(depth_clean)
        out["thermal"].append(thermal)

    students = [StudentTrack(k, subjects[k].id, labels[k], boxes[k], kps[k], poses[k].keypoints, subjects[k].face_temp)
                for k in range(K)]
    meta = {"room_temp": float(room["temp"]), "low_light": low, "teacher": teacher is not None,
            "raised_books": [int(b) for b in books_up], "subjects": ids,
            "props": [[{"prop": name, "colour": [float(c) for c in col]} for name, col in sorted(d)] for d in drawn_props]}
    return Clip(index, cfg.split, condition, fps, np.stack(out["rgb"]), np.stack(out["rgb_clean"]), np.stack(out["depth"]),
                np.stack(out["depth_clean"]), np.stack(out["thermal"]).astype(np.float32), cams, shake, students, meta)
