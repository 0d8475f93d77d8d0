"""Articulated seated upper bodies: pose parameters → 17 keypoints in 3-D → capsules to render.

The student frame is (right, up, forward) with its origin at the seated pelvis; a person placed at world
point ``anchor`` and turned by ``yaw0`` maps it to the world by ``anchor + Ry(yaw0) @ (right, up, −forward)``
(students face the front camera, which looks along +z, so their forward is −z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartclass.layouts import UPPER_BODY_17
from smartclass.synth.subjects import Subject

J = {name: i for i, name in enumerate(UPPER_BODY_17.joints)}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def head_basis(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right, up and forward unit vectors ``(T, 3)`` of a head turned by yaw (right), pitch (up), roll."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    z = np.zeros_like(yaw)
    f1 = np.stack([sy, z, cy], -1)
    r1 = np.stack([cy, z, -sy], -1)
    u1 = np.stack([z, np.ones_like(yaw), z], -1)
    f2 = cp[:, None] * f1 + sp[:, None] * u1
    u2 = cp[:, None] * u1 - sp[:, None] * f1
    u3 = cr[:, None] * u2 + sr[:, None] * r1
    r3 = cr[:, None] * r1 - sr[:, None] * u2
    return r3, u3, f2


def two_link_ik(shoulder: np.ndarray, target: np.ndarray, pole: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Elbow and wrist ``(T, 3)`` reaching for ``target`` from ``shoulder`` with segment lengths ``a``, ``b``;
    the elbow bends towards the ``pole`` direction. Unreachable targets are approached along the line."""
    d_vec = target - shoulder
    d = np.clip(np.linalg.norm(d_vec, axis=-1), 0.3 * (a + b), 0.985 * (a + b))
    u = _unit(d_vec)
    cos_a = np.clip((a * a + d * d - b * b) / (2 * a * d), -1.0, 1.0)
    v = pole - (pole * u).sum(-1, keepdims=True) * u
    v = _unit(v)
    elbow = shoulder + a * (cos_a[:, None] * u + np.sqrt(1 - cos_a**2)[:, None] * v)
    wrist = shoulder + d[:, None] * u
    return elbow, wrist


@dataclass
class BodyPose:
    """World-frame body state over ``T`` frames (all ``(T, 3)`` unless noted)."""

    keypoints: np.ndarray  # (T, 17, 3), UPPER_BODY_17 order
    head_center: np.ndarray
    head_r: np.ndarray  # head right/up/forward unit vectors
    head_u: np.ndarray
    head_f: np.ndarray
    hips: np.ndarray  # (T, 2, 3) left, right
    knees: np.ndarray  # (T, 2, 3)
    feet: np.ndarray  # (T, 2, 3)
    body_right: np.ndarray  # torso's right unit vector
    spine: np.ndarray  # torso's up unit vector
    rise: np.ndarray  # (T,) 0 seated … 1 standing


def pose_body(subject: Subject, params: dict, anchor: np.ndarray, yaw0: float = 0.0) -> BodyPose:
    """Forward kinematics of ``subject`` for pose ``params`` (see :mod:`smartclass.synth.behaviours`)."""
    s = subject
    lean, twist, tilt = params["lean"], params["twist"], params["tilt"]
    T = len(lean)
    rise = params["rise"]
    pelvis = np.stack([params["shift"], rise * 0.36 * s.scale, -rise * 0.12], -1)
    spine = _unit(np.stack([np.sin(tilt), np.cos(tilt) * np.cos(lean), np.cos(tilt) * np.sin(lean)], -1))
    right = np.stack([np.cos(twist), np.zeros(T), -np.sin(twist)], -1)
    right = _unit(right - (right * spine).sum(-1, keepdims=True) * spine)
    neck = pelvis + s.torso * spine
    chest = pelvis + 0.62 * s.torso * spine
    l_sh = neck - s.shoulder_half * right - 0.04 * spine
    r_sh = neck + s.shoulder_half * right - 0.04 * spine

    hr, hu, hf = head_basis(params["head_yaw"], params["head_pitch"], params["head_roll"])
    R = s.head_radius
    hc = neck + 1.25 * R * hu + 0.1 * R * hf

    def head_pt(off) -> np.ndarray:
        off = np.asarray(off, float)
        off = np.broadcast_to(off, (T, 3))
        return hc + R * (off[:, :1] * hr + off[:, 1:2] * hu + off[:, 2:3] * hf)

    kp = np.zeros((T, 17, 3))
    kp[:, J["nose"]] = head_pt([0.0, -0.15, 1.0])
    kp[:, J["left_eye"]] = head_pt([-0.38, 0.2, 0.88])
    kp[:, J["right_eye"]] = head_pt([0.38, 0.2, 0.88])
    kp[:, J["left_ear"]] = head_pt([-1.0, 0.0, -0.05])
    kp[:, J["right_ear"]] = head_pt([1.0, 0.0, -0.05])
    kp[:, J["head_top"]] = head_pt([0.0, 1.0, 0.0])
    kp[:, J["neck"]] = neck
    kp[:, J["left_shoulder"]] = l_sh
    kp[:, J["right_shoulder"]] = r_sh
    kp[:, J["chest"]] = chest
    kp[:, J["pelvis"]] = pelvis

    for side, sg, sh in (("l", -1.0, l_sh), ("r", 1.0, r_sh)):
        w = params[f"face_{side}"][:, None]
        face = head_pt(params[f"face_off_{side}"]) + np.array([0.0, -0.07, 0.0])
        target = (1 - w) * params[f"wrist_{side}"] + w * face
        e = params[f"elbow_{side}"][:, None]
        pole = (1 - e) * np.array([sg * 0.3, -1.0, -0.25]) + e * np.array([sg * 0.15, -1.0, 0.7])
        elbow, wrist = two_link_ik(sh, target, pole, s.upper_arm, s.forearm)
        hand = wrist + 0.08 * s.scale * _unit(wrist - elbow)
        name = "left" if side == "l" else "right"
        kp[:, J[f"{name}_elbow"]] = elbow
        kp[:, J[f"{name}_wrist"]] = wrist
        kp[:, J[f"{name}_hand"]] = hand

    hips = np.stack([pelvis - [0.09 * s.scale, 0, 0], pelvis + [0.09 * s.scale, 0, 0]], 1)
    thigh = 0.42 * s.scale
    seated_knee = hips + [0.0, 0.02, thigh]
    standing_knee = hips + [0.0, -thigh, 0.03]
    rr = rise[:, None, None]
    knees = (1 - rr) * seated_knee + rr * standing_knee
    feet = knees + [0.0, -0.46 * s.scale, 0.04]

    # student frame → world
    c, sn = np.cos(yaw0), np.sin(yaw0)
    M = np.array([[c, 0, sn], [0, 1, 0], [-sn, 0, c]]) @ np.diag([1.0, 1.0, -1.0])
    tw = lambda x: x @ M.T + anchor
    rot = lambda x: x @ M.T
    return BodyPose(tw(kp), tw(hc), rot(hr), rot(hu), rot(hf), tw(hips), tw(knees), tw(feet), rot(right), rot(spine),
                    np.asarray(rise, float))


def body_capsules(s: Subject, pose: BodyPose, i: int, owner: int) -> list[tuple]:
    """Capsules ``(p0, p1, r0, r1, colour, temperature, owner)`` of frame ``i``."""
    k = pose.keypoints[i]
    R = s.head_radius
    sc = s.scale
    hc, hr, hu, hf = pose.head_center[i], pose.head_r[i], pose.head_u[i], pose.head_f[i]
    rt, sp = pose.body_right[i], pose.spine[i]
    shirt, skin, hair, trousers = s.shirt, s.skin, s.hair, s.trousers
    tc, tf = s.cloth_temp, s.face_temp
    arm_col = skin if s.short_sleeves else shirt
    arm_temp = tf - 2.5 if s.short_sleeves else tc - 0.5
    pel, neck = k[J["pelvis"]], k[J["neck"]]
    caps = [
        (pel, neck - 0.05 * sp, 0.12 * sc, 0.11 * sc, shirt, tc, owner),
        (pel - 0.08 * sc * rt, k[J["left_shoulder"]] - 0.03 * sp, 0.08 * sc, 0.07 * sc, shirt, tc, owner),
        (pel + 0.08 * sc * rt, k[J["right_shoulder"]] - 0.03 * sp, 0.08 * sc, 0.07 * sc, shirt, tc, owner),
        (k[J["left_shoulder"]], k[J["right_shoulder"]], 0.06 * sc, 0.06 * sc, shirt, tc, owner),
        (neck, hc - 0.6 * R * hu, 0.045 * sc, 0.045 * sc, skin, tf - 0.8, owner),
        (hc, hc, R, R, skin, tf, owner),
        (hc + R * (0.2 * hu - 0.28 * hf), hc + R * (0.2 * hu - 0.28 * hf), 1.0 * R, 1.0 * R, hair, tf - 4.5, owner),
    ]
    if s.hair_volume > 0.6:
        caps.append((hc - 0.45 * R * hf, hc - R * (1.5 * hu + 0.5 * hf), 0.75 * R, 0.6 * R, hair, tf - 5.0, owner))
    for name in ("left", "right"):
        sh, el, wr, ha = (k[J[f"{name}_{p}"]] for p in ("shoulder", "elbow", "wrist", "hand"))
        caps += [
            (sh, el, 0.05 * sc, 0.045 * sc, shirt, tc - 0.5, owner),
            (el, wr, 0.043 * sc, 0.035 * sc, arm_col, arm_temp, owner),
            (wr, ha, 0.034 * sc, 0.03 * sc, skin, tf - 2.0, owner),
        ]
    # seated legs are under the desk top and behind its front panel for any camera above desk height
    for j in range(2 if pose.rise[i] > 0.2 else 0):
        caps += [
            (pose.hips[i, j], pose.knees[i, j], 0.075 * sc, 0.06 * sc, trousers, tc - 1.0, owner),
            (pose.knees[i, j], pose.feet[i, j], 0.055 * sc, 0.045 * sc, trousers, tc - 2.0, owner),
        ]
    return caps
