"""Sensor models of SmartClass-Synth: what the RGB, depth and thermal cameras make of a clean render.

Every function takes the clean signal and a ``numpy`` generator and returns what the sensor records, so
the clean references stay exact ground truth.
"""

from __future__ import annotations

import cv2
import numpy as np

SRGB_GAMMA = 2.2


def rgb_normal(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A well-lit frame: the clean render with mild Gaussian read noise (σ ≈ 1–2 grey levels)."""
    noisy = clean.astype(np.float32) + np.float32(rng.uniform(1.0, 2.0)) * rng.standard_normal(clean.shape, dtype=np.float32)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def low_light_params(rng: np.random.Generator) -> dict:
    """Draws one clip's low-light setting: illumination ×0.02–0.3, photon budget, read noise, gamma, cast."""
    return {
        "illumination": float(np.exp(rng.uniform(np.log(0.02), np.log(0.3)))),
        "peak_photons": float(rng.uniform(150, 600)),  # photo-electrons at full scale in good light
        "read_noise": float(rng.uniform(0.002, 0.008)),  # in units of full scale
        "gain": float(rng.uniform(1.0, 3.0)),  # partial auto-exposure, amplifies the noise as well
        "gamma": float(rng.uniform(0.85, 1.2)),
        "cast": rng.uniform(0.8, 1.15, 3).astype(np.float32).tolist(),
    }


def rgb_low_light(clean: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    """Low light: linear irradiance × ``illumination`` × colour cast, Poisson shot noise at ``peak_photons``
    plus Gaussian read noise (a Poisson–Gaussian sensor), camera gain, then an off-nominal gamma."""
    lut = ((np.arange(256, dtype=np.float32) / 255.0) ** SRGB_GAMMA).astype(np.float32)
    lam = lut[clean] * (np.asarray(p["cast"], np.float32) * np.float32(p["illumination"] * p["peak_photons"]))
    # Poisson where counts are small; its Gaussian limit (same mean and variance) where they are not
    small = lam < 30.0
    electrons = lam + np.sqrt(lam) * rng.standard_normal(lam.shape, dtype=np.float32)
    electrons[small] = rng.poisson(lam[small]).astype(np.float32)
    raw = electrons / np.float32(p["peak_photons"]) + np.float32(p["read_noise"]) * rng.standard_normal(clean.shape, dtype=np.float32)
    out_lut = np.linspace(0, 1, 4096, dtype=np.float32) ** np.float32(1.0 / (SRGB_GAMMA * p["gamma"]))
    idx = np.clip(raw * np.float32(p["gain"] * 4095), 0, 4095).astype(np.int32)
    return np.round(out_lut[idx] * 255).astype(np.uint8)


def shake_rotation(rng: np.random.Generator, T: int, fps: float, amplitude_deg: float) -> np.ndarray:
    """Per-frame camera-shake rotations ``(T, 3, 3)``: smooth random small rotations about the optical centre."""
    t = np.arange(T) / fps
    angles = np.zeros((T, 3))
    for k in range(3):
        f = rng.uniform(0.8, 3.0, 2)
        ph = rng.uniform(0, 2 * np.pi, 2)
        angles[:, k] = np.deg2rad(amplitude_deg) * (0.6 * np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.4 * np.sin(2 * np.pi * f[1] * t + ph[1]))
    angles[:, 2] *= 0.5  # less roll
    return np.stack([cv2.Rodrigues(a)[0] for a in angles])


def warp_rotation(image: np.ndarray, K: np.ndarray, Rs: np.ndarray, nearest: bool = False) -> np.ndarray:
    """The image a camera rotated by ``Rs`` about its centre sees: the homography ``K Rs K⁻¹`` (exact for
    any scene depth; depth values keep the unrotated camera's z, a < 0.1 % error at these angles)."""
    H = K @ Rs @ np.linalg.inv(K)
    h, w = image.shape[:2]
    return cv2.warpPerspective(image, H, (w, h), flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def kinect_depth(z_m: np.ndarray, albedo: np.ndarray | None, rng: np.random.Generator,
                 z_range: tuple[float, float] = (0.5, 4.5), specular: np.ndarray | None = None) -> np.ndarray:
    """A Kinect-like depth image (uint16 mm, 0 = hole) from a hole-free camera-z map in metres.

    Noise grows with distance (σ = 1.43 mm·z², z in metres; Khoshelham & Elberink 2012) and is quantised to
    millimetres. Holes: out of range; at depth edges (the projector's shadow beside nearer surfaces, and
    mixed pixels on the discontinuity); in blobs on dark (low-albedo) surfaces; and on most of a
    ``specular`` surface (glass, phone screens), which reflects the projected pattern away.
    """
    h, w = z_m.shape
    z = z_m + rng.standard_normal(z_m.shape, dtype=np.float32) * (1.43e-3 * z_m**2)
    hole = (z_m < z_range[0]) | (z_m > z_range[1])
    # projector shadow: a pixel whose neighbour a few px to its left is much nearer cannot be lit
    shift = int(rng.integers(1, 4))
    nearer = np.zeros_like(hole)
    for dx in range(1, shift + 1):
        nearer[:, dx:] |= (z_m[:, dx:] - z_m[:, :-dx]) > 0.08
    hole |= nearer & (rng.uniform(size=hole.shape) < 0.85)
    # mixed pixels on discontinuities
    gy, gx = np.gradient(z_m)
    edge = np.hypot(gx, gy) > 0.05
    hole |= edge & (rng.uniform(size=hole.shape) < 0.5)
    if albedo is not None:
        dark = albedo.mean(-1) < 0.12
        blobs = cv2.GaussianBlur(rng.uniform(size=(h, w)).astype(np.float32), (0, 0), 2.0)
        hole |= dark & (blobs > np.quantile(blobs, 0.5))
    if specular is not None:
        hole |= specular & (rng.uniform(size=hole.shape) < 0.9)
    out = np.round(z * 1000.0)
    out[hole] = 0
    return np.clip(out, 0, 65535).astype(np.uint16)


def clean_depth(z_m: np.ndarray) -> np.ndarray:
    """The hole-free, noise-free depth reference: camera z in millimetres, uint16."""
    return np.clip(np.round(z_m * 1000.0), 1, 65535).astype(np.uint16)


def fixed_pattern(rng: np.random.Generator, shape: tuple[int, int]) -> dict:
    """One thermal camera's fixed-pattern noise: column and row offsets, per-pixel gain and offset (°C)."""
    h, w = shape
    return {
        "col": rng.normal(0, 0.15, (1, w)).astype(np.float32),
        "row": rng.normal(0, 0.08, (h, 1)).astype(np.float32),
        "gain": (1 + rng.normal(0, 0.01, (h, w))).astype(np.float32),
        "offset": rng.normal(0, 0.1, (h, w)).astype(np.float32),
    }


def thermal_sensor(temp_c: np.ndarray, fpn: dict, rng: np.random.Generator, blur_sigma: float = 0.8,
                   netd: float = 0.05) -> np.ndarray:
    """A microbolometer frame (float32 °C): optical blur, fixed-pattern noise and temporal noise (NETD)."""
    blurred = cv2.GaussianBlur(temp_c.astype(np.float32), (0, 0), blur_sigma)
    out = blurred * fpn["gain"] + fpn["offset"] + fpn["col"] + fpn["row"]
    return out + np.float32(netd) * rng.standard_normal(temp_c.shape, dtype=np.float32)
