"""A small z-buffer rasteriser for SmartClass-Synth: capsules, convex polygons and the room box.

Every pass renders one camera. A :class:`Canvas` holds a z-buffer (camera-frame depth in metres) and, as
asked, an RGB albedo·shading buffer, a temperature buffer (°C) and an owner buffer (which student a pixel
shows; −1 for the room and furniture). Bodies are capsules (two end points with radii); a capsule's depth
at a pixel is that of its front surface, so occlusion between limbs, props and desks is resolved per
pixel. Work is done in each primitive's bounding box only, which keeps a 640×360 frame with six students
at a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from smartclass.geometry import Camera

NEAR = 0.05  # metres; primitives closer to the camera than this are not drawn
_LIGHT = np.array([0.25, -0.65, -0.72]) / np.linalg.norm([0.25, -0.65, -0.72])  # towards the light, camera frame


@dataclass
class Canvas:
    """Render targets of one camera (all ``(H, W[, 3])``)."""

    camera: Camera
    z: np.ndarray
    rgb: np.ndarray | None
    temp: np.ndarray | None
    owner: np.ndarray
    specular: np.ndarray  # bool: glossy surfaces (glass, phones) that a structured-light sensor cannot read

    @staticmethod
    def empty(camera: Camera, rgb: bool = True, temp: bool = True) -> "Canvas":
        h, w = camera.height, camera.width
        return Canvas(
            camera,
            np.full((h, w), np.inf, np.float32),
            np.zeros((h, w, 3), np.float32) if rgb else None,
            np.zeros((h, w), np.float32) if temp else None,
            np.full((h, w), -1, np.int16),
            np.zeros((h, w), bool),
        )

    def copy(self) -> "Canvas":
        return Canvas(self.camera, self.z.copy(), None if self.rgb is None else self.rgb.copy(),
                      None if self.temp is None else self.temp.copy(), self.owner.copy(), self.specular.copy())

    def _depth_test(self, y0: int, y1: int, x0: int, x1: int, inside: np.ndarray, depth: np.ndarray, owner: int,
                    specular: bool) -> np.ndarray | None:
        """Z-test ``depth`` over the window where ``inside``; write depth, owner and material where it wins.
        Returns the winning mask, or None when nothing is in front."""
        zb = self.z[y0:y1, x0:x1]
        m = inside & (depth < zb)
        if not m.any():
            return None
        zb[m] = depth[m]
        self.owner[y0:y1, x0:x1][m] = owner
        self.specular[y0:y1, x0:x1][m] = specular
        return m

    # -- primitives -------------------------------------------------------------------------------------
    def capsule(self, p0: np.ndarray, p1: np.ndarray, r0: float, r1: float, colour, temp: float,
                owner: int) -> None:
        """A tapered capsule between world points ``p0`` and ``p1`` with radii ``r0``, ``r1`` (metres)."""
        cam = self.camera
        pc = cam.to_camera(np.stack([p0, p1]))
        z0, z1 = pc[:, 2]
        if min(z0, z1) < NEAR:
            return
        fx, fy, cx, cy = cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2]
        u0, v0 = fx * pc[0, 0] / z0 + cx, fy * pc[0, 1] / z0 + cy
        u1, v1 = fx * pc[1, 0] / z1 + cx, fy * pc[1, 1] / z1 + cy
        rp0, rp1 = fx * r0 / z0, fx * r1 / z1
        rmax = max(rp0, rp1) + 1.0
        x0, x1 = int(max(0, np.floor(min(u0, u1) - rmax))), int(min(cam.width, np.ceil(max(u0, u1) + rmax) + 1))
        y0, y1 = int(max(0, np.floor(min(v0, v1) - rmax))), int(min(cam.height, np.ceil(max(v0, v1) + rmax) + 1))
        if x0 >= x1 or y0 >= y1:
            return
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(u0)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(v0)
        sx, sy = np.float32(u1 - u0), np.float32(v1 - v0)
        l2 = sx * sx + sy * sy
        if l2 < 1e-6:
            t = np.zeros((y1 - y0, x1 - x0), np.float32)
        else:
            t = xs * (sx / l2) + ys * (sy / l2)
            np.clip(t, 0.0, 1.0, out=t)
        dx = xs - t * sx
        dy = ys - t * sy
        rr = np.float32(rp0) + t * np.float32(rp1 - rp0)
        rr2 = np.maximum(rr * rr, np.float32(1e-6))
        q = (dx * dx + dy * dy) / rr2
        inside = q < 1.0
        if not inside.any():
            return
        h = np.sqrt(np.maximum(1.0 - q, 0.0, dtype=np.float32))
        depth = (np.float32(z0) + t * np.float32(z1 - z0)) - (np.float32(r0) + t * np.float32(r1 - r0)) * h
        m = self._depth_test(y0, y1, x0, x1, inside, depth, owner, False)
        if m is None:
            return
        if self.rgb is not None:
            rinv = 1.0 / np.sqrt(rr2[m])
            ndotl = (dx[m] * rinv) * _LIGHT[0] + (dy[m] * rinv) * _LIGHT[1] - h[m] * _LIGHT[2]
            shade = 0.42 + 0.58 * np.maximum(ndotl, 0.0)
            self.rgb[y0:y1, x0:x1][m] = shade[:, None].astype(np.float32) * np.asarray(colour, np.float32)
        if self.temp is not None:
            # surfaces seen edge-on read cooler (emissivity falls at grazing angles)
            self.temp[y0:y1, x0:x1][m] = temp - 1.2 * (1.0 - h[m])

    def polygon(self, pts: np.ndarray, colour, temp: float, owner: int = -1, texture: np.ndarray | None = None,
                specular: bool = False) -> None:
        """A planar convex polygon with world vertices ``pts`` ``(n, 3)``, flat-shaded by its normal."""
        cam = self.camera
        pc = cam.to_camera(np.asarray(pts, np.float64))
        if (pc[:, 2] < NEAR).any():
            return
        uv, _ = cam.project(pts)
        x0, y0 = np.floor(uv.min(0)).astype(int)
        x1, y1 = np.ceil(uv.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, cam.width), min(y1, cam.height)
        if x0 >= x1 or y0 >= y1:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round((uv - [x0, y0]) * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
        inside = mask.astype(bool)
        if not inside.any():
            return
        n = np.cross(pc[1] - pc[0], pc[2] - pc[0])
        if np.linalg.norm(n) < 1e-12:
            return
        n /= np.linalg.norm(n)
        if n @ pc[0] > 0:  # face the camera
            n = -n
        d = n @ pc[0]
        xn = (np.arange(x0, x1) - cam.K[0, 2]) / cam.K[0, 0]
        yn = (np.arange(y0, y1) - cam.K[1, 2]) / cam.K[1, 1]
        denom = n[0] * xn[None, :] + n[1] * yn[:, None] + n[2]
        depth = (d / np.where(np.abs(denom) < 1e-9, 1e-9, denom)).astype(np.float32)
        m = self._depth_test(y0, y1, x0, x1, inside & (depth > NEAR), depth, owner, specular)
        if m is None:
            return
        if self.rgb is not None:
            shade = 0.42 + 0.58 * max(0.0, float(n @ _LIGHT))
            col = np.asarray(colour, np.float32) * shade
            if texture is not None:
                self.rgb[y0:y1, x0:x1][m] = col * texture[y0:y1, x0:x1][m][:, None]
            else:
                self.rgb[y0:y1, x0:x1][m] = col
        if self.temp is not None:
            self.temp[y0:y1, x0:x1][m] = temp

    def box(self, lo: np.ndarray, hi: np.ndarray, colour, temp: float, owner: int = -1) -> None:
        """An axis-aligned box ``lo``–``hi`` (world); only faces turned to the camera are drawn."""
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        c = self.camera.center
        faces = []
        for axis in range(3):
            for side, val in ((-1, lo[axis]), (1, hi[axis])):
                if (c[axis] - val) * side <= 0:
                    continue
                a, b = [i for i in range(3) if i != axis]
                quad = []
                for ua, ub in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    p = np.empty(3)
                    p[axis] = val
                    p[a] = (lo[a], hi[a])[ua]
                    p[b] = (lo[b], hi[b])[ub]
                    quad.append(p)
                faces.append(np.array(quad))
        for quad in faces:
            self.polygon(quad, colour, temp, owner)


def room_canvas(camera: Camera, room: dict, rgb: bool = True, temp: bool = True) -> Canvas:
    """The empty room (floor, ceiling, four walls) seen by ``camera``: every pixel gets a surface.

    ``room``: ``width`` (x from −w/2 to w/2), ``depth`` (z from ``front`` to ``front + depth``), ``height``,
    ``front``, ``temp`` (air/wall °C), colours ``floor``, ``wall``, ``ceiling``.
    """
    cv = Canvas.empty(camera, rgb, temp)
    h, w = camera.height, camera.width
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    rays_c = np.stack([(u - camera.K[0, 2]) / camera.K[0, 0], (v - camera.K[1, 2]) / camera.K[1, 1], np.ones_like(u, float)], -1)
    rays_w = rays_c @ camera.R  # camera → world directions (R orthonormal)
    o = camera.center
    hw, front, back, top = room["width"] / 2, room["front"], room["front"] + room["depth"], room["height"]
    planes = [(1, 0.0, "floor"), (1, top, "ceiling"), (0, -hw, "wall"), (0, hw, "wall"), (2, front, "wall"), (2, back, "back")]
    best = np.full((h, w), np.inf)
    kind = np.zeros((h, w), np.int8)
    for k, (axis, val, _) in enumerate(planes):
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = (val - o[axis]) / rays_w[..., axis]
        ok = (tt > 1e-6) & (tt < best)
        best[ok] = tt[ok]
        kind[ok] = k
    pts = o + rays_w * best[..., None]
    cv.z[:] = best.astype(np.float32)  # rays have camera z = 1, so t is the camera depth
    # a window band on the back wall: brighter in RGB, cooler in thermal
    win = (kind == 5) & (pts[..., 1] > 1.3) & (pts[..., 1] < 2.4) & (np.abs(pts[..., 0] % 2.5 - 1.25) < 0.8)
    cv.specular[win] = True
    if rgb:
        floor_tex = 0.92 + 0.08 * ((np.floor(pts[..., 0] / 0.6) + np.floor(pts[..., 2] / 0.6)) % 2)
        wall_tex = np.where(pts[..., 1] < 1.0, 0.8, 1.0)  # wainscot
        cols = {"floor": np.asarray(room["floor"]) * floor_tex[..., None],
                "ceiling": np.broadcast_to(np.asarray(room["ceiling"]), (h, w, 3)),
                "wall": np.asarray(room["wall"]) * wall_tex[..., None],
                "back": np.asarray(room["wall"]) * wall_tex[..., None] * 0.95}
        for k, (_, _, name) in enumerate(planes):
            m = kind == k
            cv.rgb[m] = cols[name][m]
        cv.rgb[win] = np.asarray(room["window"])
    if temp:
        cv.temp[:] = room["temp"]
        cv.temp[kind == 0] = room["temp"] - 1.0
        cv.temp[win] = room["temp"] - 3.0
    return cv
