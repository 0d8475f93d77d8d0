"""Parametric motion programs: one per behaviour, with per-subject amplitude, speed and phase.

A program maps times ``t`` ``(T,)`` (seconds) to pose parameters, all arrays over ``T``:

* torso: ``lean`` (forward, rad), ``twist`` (towards the student's right, rad), ``tilt`` (roll), ``rise``
  (0 seated … 1 standing), ``shift`` (sideways pelvis offset, m);
* head, relative to the room: ``head_yaw`` (towards the student's right), ``head_pitch`` (up), ``head_roll``;
* arms: ``wrist_l``, ``wrist_r`` ``(T, 3)`` wrist targets in the student frame (right, up, forward; metres
  from the pelvis), ``face_l``, ``face_r`` in 0..1 pull a wrist to a point of the face, given by
  ``face_off_l``/``face_off_r`` ``(T, 3)`` in head units; ``elbow_l``/``elbow_r`` in 0..1 drop the elbow onto
  the desk;
* props: ``page`` (the turning page's angle, 0..π), ``cup_tilt``; and, constant over the program, ``held``
  (hand → prop) and ``book`` (an open book on the desk instead of the notebook).

The fine-grained pairs are built to overlap in a single frame and differ over time or in another modality
(see docs/synthetic-data.md): writing and note-taking share one posture distribution, note-taking adds
glances at the board; listening and upright sitting share one, listening adds nods and head tracking;
drinking and phone use both hold a small object in front of the chest, the cup is hot and rises to the mouth.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from smartclass.labels import BEHAVIOURS
from smartclass.synth.subjects import Subject

DESK_H = 0.19  # desk top above the pelvis (m)
DESK_NEAR = 0.18  # desk edge nearest the student, forward of the pelvis (m)
DESK_FAR = 0.63

NUMERIC = ("lean", "twist", "tilt", "rise", "shift", "head_yaw", "head_pitch", "head_roll", "wrist_l", "wrist_r",
           "face_l", "face_r", "face_off_l", "face_off_r", "elbow_l", "elbow_r", "page", "cup_tilt")

CHIN = np.array([0.0, -0.95, 0.45])  # head units (right, up, forward)
MOUTH = np.array([0.0, -0.45, 1.05])

Program = Callable[[np.ndarray, Subject, np.random.Generator], dict]


def bump(t: np.ndarray, period: float, duration: float, phase: float) -> np.ndarray:
    """Recurring smooth events: 1 at the middle of a ``duration``-long event every ``period`` seconds."""
    s = (t + phase * period) % period
    return np.where(s < duration, np.sin(np.pi * np.clip(s / duration, 0, 1)) ** 2, 0.0)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _wave(t: np.ndarray, rng: np.random.Generator, freq: float) -> np.ndarray:
    """Smooth zero-mean noise in −1..1 (two incommensurate sinusoids)."""
    f = freq * rng.uniform(0.7, 1.3, 2)
    ph = rng.uniform(0, 2 * np.pi, 2)
    return 0.6 * np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.4 * np.sin(2 * np.pi * f[1] * t + ph[1])


def _vec(x, T: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, float), (T, 3)).copy()


def neutral(t: np.ndarray, s: Subject, rng: np.random.Generator) -> dict:
    """Seated, hands on the desk, looking ahead; idle sway scaled by the subject's ``fidget``."""
    T = len(t)
    f = s.fidget
    return {
        "lean": 0.08 + 0.02 * f * _wave(t, rng, 0.15), "twist": 0.03 * f * _wave(t, rng, 0.1), "tilt": np.zeros(T),
        "rise": np.zeros(T), "shift": 0.01 * f * _wave(t, rng, 0.2),
        "head_yaw": 0.05 * f * _wave(t, rng, 0.15), "head_pitch": 0.03 + 0.03 * f * _wave(t, rng, 0.2),
        "head_roll": 0.02 * f * _wave(t, rng, 0.1),
        "wrist_l": _vec([-0.17, DESK_H + 0.03, 0.33], T), "wrist_r": _vec([0.17, DESK_H + 0.03, 0.33], T),
        "face_l": np.zeros(T), "face_r": np.zeros(T), "face_off_l": _vec(CHIN, T), "face_off_r": _vec(CHIN, T),
        "elbow_l": np.zeros(T), "elbow_r": np.zeros(T), "page": np.zeros(T), "cup_tilt": np.zeros(T),
        "held": {}, "book": False,
    }


def _side(s: Subject, rng: np.random.Generator, p_dominant: float = 0.85) -> tuple[str, float]:
    """The hand a program uses: usually the dominant one. Returns ``('left'|'right', sign)``."""
    right = s.right_handed if rng.uniform() < p_dominant else not s.right_handed
    return ("right", 1.0) if right else ("left", -1.0)


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def _k(side: str) -> str:
    return "r" if side == "right" else "l"


def hand_raising(t, s, rng):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng, 0.8)
    t0 = rng.uniform(-1.5, 0.6)
    up = smoothstep((t - t0) / (0.6 / s.speed))
    top = np.array([sg * rng.uniform(0.14, 0.26), 0.50 + 0.40 * np.clip(s.amplitude, 0.8, 1.15), rng.uniform(0.0, 0.12)])
    top = top + np.outer(0.025 * s.amplitude * np.sin(2 * np.pi * 0.9 * s.speed * t), [1, 0, 0])
    k = _k(side)
    p[f"wrist_{k}"] = p[f"wrist_{k}"] * (1 - up[:, None]) + top * up[:, None]
    p["head_pitch"] = p["head_pitch"] + 0.08
    p["lean"] = p["lean"] - 0.05
    return p


def page_turning(t, s, rng):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng)
    period = rng.uniform(1.6, 2.4) / s.speed
    phase = rng.uniform()
    e = ((t / period + phase) % 1.0) / 0.45  # turn during the first 45 % of the cycle, then slide back
    turn = np.clip(e, 0, 1)
    back = np.clip(((t / period + phase) % 1.0 - 0.45) / 0.55, 0, 1)
    x = np.where(e <= 1, 0.22 - 0.36 * smoothstep(turn), -0.14 + 0.36 * smoothstep(back))
    y = DESK_H + 0.03 + np.where(e <= 1, 0.09 * s.amplitude * np.sin(np.pi * turn), 0.0)
    k, ko = _k(side), _k(_other(side))
    p[f"wrist_{k}"] = np.stack([sg * x, y, 0.40 + 0.02 * np.sin(np.pi * turn)], -1)
    p[f"wrist_{ko}"] = _vec([-sg * 0.16, DESK_H + 0.03, 0.40], len(t))
    p["page"] = sg * np.pi * np.where(e <= 1, smoothstep(turn), 0.0)  # sign: turning right → left (+) or back
    p["lean"] = p["lean"] + rng.uniform(0.12, 0.25)
    p["head_pitch"] = rng.uniform(-0.6, -0.35) + 0.03 * _wave(t, rng, 0.3)
    p["book"] = True
    return p


def _writing(t, s, rng, lean, pitch):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng, 0.95)
    f = rng.uniform(1.5, 2.5) * s.speed
    k, ko = _k(side), _k(_other(side))
    line = (t / rng.uniform(3.0, 5.0) + rng.uniform()) % 1.0
    x = sg * (0.02 + 0.10 * line) + 0.012 * s.amplitude * np.sin(2 * np.pi * f * t)
    z = 0.36 + 0.007 * np.sin(2 * np.pi * 2 * f * t + 1.0)
    p[f"wrist_{k}"] = np.stack([x, DESK_H + 0.035 + 0.004 * np.sin(2 * np.pi * f * t), z], -1)
    p[f"wrist_{ko}"] = _vec([-sg * rng.uniform(0.14, 0.2), DESK_H + 0.03, rng.uniform(0.30, 0.38)], len(t))
    p["lean"] = rng.uniform(*lean) + 0.02 * _wave(t, rng, 0.2)
    p["head_pitch"] = rng.uniform(*pitch) + 0.03 * _wave(t, rng, 0.4)
    p["head_roll"] = -sg * rng.uniform(0.0, 0.12) + p["head_roll"]
    p["head_yaw"] = -sg * rng.uniform(0.0, 0.1) + p["head_yaw"]
    p["held"] = {side: "pen"}
    return p, k, f


def head_down_writing(t, s, rng):
    p, _, _ = _writing(t, s, rng, (0.22, 0.42), (-0.85, -0.55))
    return p


def note_taking(t, s, rng):
    p, k, f = _writing(t, s, rng, (0.2, 0.4), (-0.8, -0.5))
    glance = bump(t, rng.uniform(1.6, 2.6) / s.speed, rng.uniform(0.7, 1.0), rng.uniform())
    p["head_pitch"] = p["head_pitch"] * (1 - glance) + rng.uniform(0.0, 0.12) * glance
    p["lean"] = p["lean"] - 0.1 * glance
    # the pen rests on the page while the student looks up
    w = p[f"wrist_{k}"]
    w[:, 0] = w[:, 0] * (1 - 0.6 * glance) + w[:, 0].mean() * 0.6 * glance
    return p


def chin_resting(t, s, rng):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng, 0.6)
    k = _k(side)
    p[f"face_{k}"] = np.ones(len(t))
    p[f"face_off_{k}"] = _vec(CHIN + [sg * 0.25, 0, 0], len(t))
    p[f"elbow_{k}"] = np.ones(len(t))
    p["lean"] = rng.uniform(0.25, 0.38) + 0.01 * _wave(t, rng, 0.1)
    p["head_pitch"] = rng.uniform(-0.15, 0.05) + 0.015 * _wave(t, rng, 0.1)
    p["head_roll"] = sg * rng.uniform(0.1, 0.25)
    p["head_yaw"] = 0.03 * _wave(t, rng, 0.05)
    return p


def attentive_listening(t, s, rng):
    p = neutral(t, s, rng)
    p["lean"] = rng.uniform(-0.02, 0.18) + 0.01 * _wave(t, rng, 0.2)
    nod = bump(t, rng.uniform(1.4, 2.2) / s.speed, rng.uniform(0.45, 0.6), rng.uniform())
    p["head_pitch"] = rng.uniform(-0.05, 0.12) - 0.2 * s.amplitude * nod
    p["head_yaw"] = 0.28 * s.amplitude * np.sin(2 * np.pi * t / rng.uniform(4.0, 7.0) + rng.uniform(0, 2 * np.pi))
    if rng.uniform() < 0.35:  # a thinking hand touches the chin for a while
        side, sg = _side(s, rng, 0.6)
        k = _k(side)
        t0 = rng.uniform(-1.0, 2.0)
        touch = smoothstep((t - t0) / 0.5) * (1 - smoothstep((t - t0 - rng.uniform(1.2, 2.5)) / 0.5))
        p[f"face_{k}"] = touch
        p[f"face_off_{k}"] = _vec(CHIN + [sg * 0.2, 0, 0.1], len(t))
    return p


def phone_usage(t, s, rng):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng)
    k, ko = _k(side), _k(_other(side))
    height = rng.uniform(DESK_H + 0.04, DESK_H + 0.32)
    scroll = 0.008 * np.sin(2 * np.pi * rng.uniform(2.0, 3.0) * s.speed * t)
    hold = np.stack([np.full(len(t), sg * rng.uniform(0.0, 0.08)) + scroll, np.full(len(t), height),
                     np.full(len(t), rng.uniform(0.24, 0.34))], -1)
    p[f"wrist_{k}"] = hold
    if rng.uniform() < 0.5:  # two-handed
        p[f"wrist_{ko}"] = hold + [-sg * 0.07, -0.01, 0.0]
    if rng.uniform() < 0.25:  # brought up to the face now and then
        lift = bump(t, rng.uniform(2.5, 4.0), 1.2, rng.uniform())
        p[f"face_{k}"] = 0.6 * lift
        p[f"face_off_{k}"] = _vec(MOUTH + [0, 0.3, 0.6], len(t))
    p["head_pitch"] = np.clip(np.arctan2(height - 0.62, 0.3), -0.9, 0.1) + rng.uniform(-0.1, 0.1) + 0.02 * _wave(t, rng, 0.5)
    p["lean"] = rng.uniform(0.05, 0.3)
    p["held"] = {side: "phone"}
    return p


def drinking_water(t, s, rng):
    p = neutral(t, s, rng)
    side, sg = _side(s, rng)
    k = _k(side)
    height = rng.uniform(DESK_H + 0.04, DESK_H + 0.32)
    hold = np.stack([np.full(len(t), sg * rng.uniform(0.0, 0.08)), np.full(len(t), height),
                     np.full(len(t), rng.uniform(0.24, 0.34))], -1)
    sip = bump(t, rng.uniform(2.2, 3.2) / s.speed, rng.uniform(1.0, 1.4), rng.uniform())
    p[f"wrist_{k}"] = hold
    p[f"face_{k}"] = sip
    p[f"face_off_{k}"] = _vec(MOUTH + [0, -0.6, 0.7], len(t))
    base = np.clip(np.arctan2(height - 0.62, 0.3), -0.9, 0.1) + rng.uniform(-0.1, 0.1)
    p["head_pitch"] = base * (1 - sip) + 0.18 * sip
    p["cup_tilt"] = 1.1 * sip
    p["lean"] = rng.uniform(0.05, 0.3) - 0.08 * sip
    p["held"] = {side: "cup"}
    return p


def side_conversation(t, s, rng):
    p = neutral(t, s, rng)
    d = rng.choice([-1.0, 1.0])
    back = bump(t, rng.uniform(2.5, 4.0), 0.8, rng.uniform())  # a look back to the front now and then
    yaw = d * rng.uniform(0.7, 1.05) * s.amplitude
    p["head_yaw"] = yaw * (1 - 0.7 * back) + 0.08 * np.sin(2 * np.pi * 0.7 * t)
    p["twist"] = d * rng.uniform(0.12, 0.3) + p["twist"]
    nod = bump(t, rng.uniform(1.5, 2.5) / s.speed, 0.4, rng.uniform())
    p["head_pitch"] = rng.uniform(-0.05, 0.1) - 0.12 * nod
    side, sg = _side(s, rng, 0.7)
    k = _k(side)
    g = rng.uniform(0.5, 1.0) * s.speed
    p[f"wrist_{k}"] = np.stack([sg * 0.10 + 0.05 * np.sin(2 * np.pi * g * t), DESK_H + 0.14 + 0.05 * np.sin(2 * np.pi * 1.6 * g * t + 1),
                                0.26 + 0.03 * np.sin(2 * np.pi * g * t + 2)], -1)
    return p


def upright_sitting(t, s, rng):
    p = neutral(t, s, rng)
    p["lean"] = rng.uniform(-0.04, 0.12) + 0.005 * np.sin(2 * np.pi * 0.25 * t)
    p["head_pitch"] = rng.uniform(-0.08, 0.1) + 0.01 * _wave(t, rng, 0.1)
    p["head_yaw"] = rng.uniform(-0.12, 0.12) + 0.01 * _wave(t, rng, 0.1)
    if rng.uniform() < 0.4:  # hands folded in front
        p["wrist_l"] = _vec([-0.06, DESK_H + 0.04, 0.30], len(t))
        p["wrist_r"] = _vec([0.06, DESK_H + 0.04, 0.30], len(t))
    return p


def looking_around(t, s, rng):
    p = neutral(t, s, rng)
    amp = rng.uniform(0.6, 1.0) * s.amplitude
    yaw = amp * np.sin(2 * np.pi * t / (rng.uniform(2.0, 3.5) / s.speed) + rng.uniform(0, 2 * np.pi))
    p["head_yaw"] = yaw
    p["twist"] = 0.2 * yaw
    p["head_pitch"] = rng.uniform(-0.05, 0.12) + 0.05 * _wave(t, rng, 0.3)
    return p


def standing(t, s, rng):
    p = neutral(t, s, rng)
    t0 = rng.uniform(-2.0, 0.5)
    up = smoothstep((t - t0) / 1.0)
    p["rise"] = up
    hang_l, hang_r = np.array([-0.24, -0.12, 0.08]), np.array([0.24, -0.12, 0.08])
    p["wrist_l"] = p["wrist_l"] * (1 - up[:, None]) + hang_l * up[:, None]
    p["wrist_r"] = p["wrist_r"] * (1 - up[:, None]) + hang_r * up[:, None]
    p["lean"] = p["lean"] * (1 - up) + 0.02 * up
    p["head_pitch"] = p["head_pitch"] + 0.05
    return p


def sleeping(t, s, rng):
    p = neutral(t, s, rng)
    p["lean"] = rng.uniform(0.75, 0.95) + 0.015 * np.sin(2 * np.pi * t / 4.0)
    p["head_pitch"] = rng.uniform(-1.35, -1.0)
    p["head_roll"] = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.7)
    p["wrist_l"] = _vec([0.10, DESK_H + 0.05, 0.34], len(t))
    p["wrist_r"] = _vec([-0.10, DESK_H + 0.05, 0.30], len(t))
    return p


PROGRAMS: dict[str, Program] = {
    "hand_raising": hand_raising, "page_turning": page_turning, "head_down_writing": head_down_writing,
    "chin_resting": chin_resting, "attentive_listening": attentive_listening, "phone_usage": phone_usage,
    "note_taking": note_taking, "drinking_water": drinking_water, "side_conversation": side_conversation,
    "upright_sitting": upright_sitting, "looking_around": looking_around, "standing": standing,
    "sleeping": sleeping,
}
assert tuple(PROGRAMS) == BEHAVIOURS


def schedule_params(t: np.ndarray, segments: list[tuple[str, float, float]], s: Subject,
                    rng: np.random.Generator, blend: float = 0.5) -> tuple[dict, np.ndarray]:
    """Pose parameters over ``t`` for consecutive ``segments`` ``(behaviour, start, end)`` with smooth
    transitions (``blend`` seconds); also returns the behaviour index per frame (switching mid-blend)."""
    weights, progs = [], []
    for name, a, b in segments:
        w = smoothstep((t - a) / blend + 0.5) * (1 - smoothstep((t - b) / blend + 0.5))
        weights.append(w)
        progs.append(PROGRAMS[name](t, s, rng))
    W = np.stack(weights)  # (S, T)
    W = W / np.maximum(W.sum(0, keepdims=True), 1e-9)
    out = {}
    for key in NUMERIC:
        shape = (len(t), 3) if key.startswith(("wrist", "face_off")) else (len(t),)
        vals = np.stack([np.broadcast_to(np.asarray(p[key], float), shape) for p in progs])  # (S, T[, 3])
        w = W.reshape(W.shape + (1,) * (vals.ndim - 2))
        out[key] = (w * vals).sum(0)
    dominant = W.argmax(0)
    out["held"] = [progs[i]["held"] for i in dominant]
    out["book"] = np.array([progs[i]["book"] for i in dominant])
    labels = np.array([BEHAVIOURS.index(segments[i][0]) for i in dominant])
    return out, labels
