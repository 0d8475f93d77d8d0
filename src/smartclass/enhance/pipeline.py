"""Paper 002's unified multimodal preprocessing and enhancement module (§3.2, Fig. 1): RGB low-light
enhancement, depth restoration and thermal equalisation, each modality on its own sensor grid, then spatial
alignment of depth and thermal onto the RGB pixel grid. It composes the functions of
:mod:`~smartclass.enhance.retinex`, :mod:`~smartclass.enhance.depth`, :mod:`~smartclass.enhance.thermal` and
:mod:`~smartclass.enhance.align`; it re-implements none of them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from smartclass.enhance.align import align_depth_to_rgb, reference_mapper, remap
from smartclass.enhance.depth import close_small_holes, enhance_depth
from smartclass.enhance.config import DepthConfig, EnhanceConfig, RetinexConfig, ThermalConfig
from smartclass.enhance.differentiable import illumination_gate
from smartclass.enhance.retinex import check_rgb, multiscale_weighted_guided_retinex
from smartclass.enhance.thermal import ThermalEnhanced, colormap_rgb, enhance_thermal
from smartclass.errors import InputError
from smartclass.geometry import Camera


@dataclass(frozen=True)
class Cameras:
    """The rig: the RGB camera is the reference grid; ``depth`` / ``thermal`` are needed to align those."""

    rgb: Camera
    depth: Camera | None = None
    thermal: Camera | None = None


@dataclass(frozen=True)
class EnhancedFrame:
    """Output of :class:`TrimodalEnhancer`; ``None`` for a modality that was not given.

    Without cameras every image stays on its own grid (which must be the RGB grid); so does it with cameras
    and ``align=False`` (each on its own sensor grid). Otherwise depth and thermal are on the RGB grid:
    ``depth_mm`` is 0 where the depth camera sees nothing (outside its view, disocclusions), and
    ``thermal.temperature`` is NaN where the thermal camera sees nothing (``thermal_valid`` False there)."""

    rgb: np.ndarray  #: ``(H, W, 3)``, the kind of the input (uint8, or float32 in [0, 1])
    depth_mm: np.ndarray | None  #: ``(H, W)`` uint16 mm
    thermal: ThermalEnhanced | None  #: °C kept, CLAHE ``equalised``, RGB ``pseudo_colour``
    thermal_valid: np.ndarray | None  #: ``(H, W)`` bool: pixels with a thermal measurement
    aligned: bool  #: True when depth / thermal were warped onto the RGB grid


def _same_grid(image: np.ndarray, rgb_shape: tuple[int, ...], name: str) -> None:
    if np.ndim(image) >= 2 and np.shape(image)[:2] != rgb_shape[:2]:
        raise InputError(f"{name} has size {np.shape(image)[1]}×{np.shape(image)[0]} but rgb is "
                         f"{rgb_shape[1]}×{rgb_shape[0]}; expected equal sizes, or pass cameras to align them")


class TrimodalEnhancer:
    """``enhancer(rgb, depth_mm=None, thermal_c=None, cameras=None, align=True) -> EnhancedFrame``.

    rgb: ``(H, W, 3)`` uint8 (or float in [0, 1]); depth_mm: ``(H_d, W_d)`` uint16 mm, 0 = hole, not all
    zero; thermal_c: ``(H_t, W_t)`` float °C. Wrong dtypes, channel counts, NaN temperatures (unless
    ``nan_policy='fill'``), all-zero depth and sizes that match neither the RGB image (no cameras) nor their
    camera raise :class:`~smartclass.errors.InputError` naming the argument. With cameras and
    ``align=False`` every modality is enhanced on its own sensor grid and returned there (``aligned``
    False; ``thermal_valid`` on the thermal grid).

    Speed: the per-calibration parts of the alignment are cached across calls
    (:func:`~smartclass.enhance.align.depth_projector`, :func:`~smartclass.enhance.align.reference_mapper`)
    and full-size temporaries are reused per thread (:mod:`smartclass.enhance._workspace`); one instance may
    be called from several threads at once."""

    def __init__(self, config: EnhanceConfig | None = None):
        self.config = config or EnhanceConfig()
        name = self.config.thermal.colormap.upper()
        if not hasattr(cv2, f"COLORMAP_{name}"):
            raise InputError(f"thermal.colormap {self.config.thermal.colormap!r} is not an OpenCV colour map "
                             "(expected e.g. 'inferno', 'jet', 'turbo')")
        if self.config.workers not in (1, 2):
            raise InputError(f"workers must be 1 or 2, got {self.config.workers}")
        self._colormap = getattr(cv2, f"COLORMAP_{name}")
        self._pool: ThreadPoolExecutor | None = None

    def _enhance_rgb(self, rgb: np.ndarray) -> np.ndarray:
        r = self.config.retinex
        g = illumination_gate(rgb, r.gate_dark, r.gate_bright) if r.gate else 1.0
        if g == 0.0:  # the kind retinex returns: uint8 stays uint8, float becomes float32
            return np.array(rgb, dtype=np.uint8 if rgb.dtype == np.uint8 else np.float32, copy=True)
        enhanced = self._retinex(rgb)
        if g == 1.0:
            return enhanced
        blend = rgb.astype(np.float32) + np.float32(g) * (enhanced.astype(np.float32) - rgb.astype(np.float32))
        return np.clip(np.rint(blend), 0, 255).astype(np.uint8) if rgb.dtype == np.uint8 else blend

    def _retinex(self, rgb: np.ndarray) -> np.ndarray:
        r = self.config.retinex
        return multiscale_weighted_guided_retinex(
            rgb, large_radius=r.large_radius, small_radius=r.small_radius, eps_large=r.eps_large,
            eps_small=r.eps_small, lambda1=r.lambda1, lambda2=r.lambda2, scale=r.scale, target_mean=r.target_mean,
            gamma=r.gamma, reflect_eps=r.reflect_eps, denoise_radius=r.denoise_radius, denoise_eps=r.denoise_eps,
            denoise_k=r.denoise_k, work_scale=r.work_scale)

    def __call__(self, rgb: np.ndarray, depth_mm: np.ndarray | None = None, thermal_c: np.ndarray | None = None,
                 cameras: Cameras | None = None, align: bool = True) -> EnhancedFrame:
        cfg = self.config
        check_rgb(rgb)  # validates rgb before anything else
        rgb_shape = np.shape(rgb)
        if cameras is None:
            for image, name in ((depth_mm, "depth_mm"), (thermal_c, "thermal_c")):
                if image is not None:
                    _same_grid(image, rgb_shape, name)
        else:
            if rgb_shape[:2] != (cameras.rgb.height, cameras.rgb.width):
                raise InputError(f"rgb has size {rgb_shape[1]}×{rgb_shape[0]} but cameras.rgb is "
                                 f"{cameras.rgb.width}×{cameras.rgb.height}; expected equal sizes")
            for image, cam, name in ((depth_mm, cameras.depth, "depth"), (thermal_c, cameras.thermal, "thermal")):
                if image is None:
                    continue
                if cam is None:
                    raise InputError(f"cameras.{name} is None but a {name} image was given; expected its camera "
                                     "to align it (or pass cameras=None for images already on the RGB grid)")
                arg = "depth_mm" if name == "depth" else "thermal_c"
                if np.ndim(image) >= 2 and np.shape(image)[:2] != (cam.height, cam.width):
                    raise InputError(f"{arg} has size {np.shape(image)[1]}×{np.shape(image)[0]} but cameras.{name} "
                                     f"is {cam.width}×{cam.height}; expected equal sizes")

        rgb_job = None
        if cfg.workers == 2 and (depth_mm is not None or thermal_c is not None):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="smartclass-enhance")
            rgb_job = self._pool.submit(self._enhance_rgb, rgb)
            rgb_out = None
        else:
            rgb_out = self._enhance_rgb(rgb)
        try:
            depth, thermal, thermal_valid = self._depth_thermal(depth_mm, thermal_c, cameras if align else None,
                                                                rgb_shape)
        finally:
            if rgb_job is not None:
                rgb_out = rgb_job.result()
        return EnhancedFrame(rgb_out, depth, thermal, thermal_valid, aligned=cameras is not None and align)

    def _depth_thermal(self, depth_mm: np.ndarray | None, thermal_c: np.ndarray | None, cameras: Cameras | None,
                       rgb_shape: tuple[int, ...]) -> tuple[np.ndarray | None, ThermalEnhanced | None,
                                                            np.ndarray | None]:
        cfg = self.config
        depth = thermal = None
        if depth_mm is not None:
            d = cfg.depth
            depth = enhance_depth(depth_mm, smooth=d.smooth, diameter=d.diameter, sigma_space=d.sigma_space,
                                  sigma_depth_mm=d.sigma_depth_mm, close_kernel=d.close_kernel,
                                  fill_large=d.fill_large, jump_mm=d.jump_mm, surface_gap=d.surface_gap)
        if thermal_c is not None:
            t = cfg.thermal
            thermal = enhance_thermal(thermal_c, clip_limit=t.clip_limit, tiles=t.tiles, t_range=t.t_range,
                                      colormap=self._colormap, nan_policy=t.nan_policy, name="thermal_c")
        thermal_valid = None if thermal is None else np.ones(thermal.temperature.shape, bool)
        if cameras is not None:
            if depth is not None:
                depth = align_depth_to_rgb(depth, cameras.depth, cameras.rgb)
                if cfg.depth.close_after_align and cfg.depth.close_kernel > 1 and depth.any():
                    depth = close_small_holes(depth, cfg.depth.close_kernel, cfg.depth.jump_mm)
            if thermal is not None:
                thermal, thermal_valid = self._align_thermal(thermal, depth, cameras)
        return depth, thermal, thermal_valid

    def _align_thermal(self, thermal: ThermalEnhanced, depth_rgb_mm: np.ndarray | None,
                       cameras: Cameras) -> tuple[ThermalEnhanced, np.ndarray]:
        """Warp the thermal products onto the RGB grid: exactly where the aligned depth is known, through the
        ``plane_depth`` plane elsewhere (and everywhere when ``thermal_maps='plane'`` or without depth).

        Per-calibration parts of the maps are cached (:func:`~smartclass.enhance.align.reference_mapper`;
        plane maps whole). °C and the equalised levels are sampled bilinearly; the pseudo-colour is the
        colour map of the aligned levels (``pseudo_colour == colormap(equalised)`` holds after alignment as
        before it), black where the thermal camera sees nothing."""
        mapper = reference_mapper(cameras.thermal, cameras.rgb)
        if depth_rgb_mm is not None and self.config.thermal_maps == "depth":
            maps = mapper.depth_maps(depth_rgb_mm, self.config.plane_depth)  # scratch: used right here
        else:
            maps = mapper.maps(plane_depth=self.config.plane_depth)
        temperature = remap(thermal.temperature, maps, cv2.INTER_LINEAR, np.nan)
        # a bilinear sample is finite only when its four neighbours lie in the thermal image: the valid mask
        valid = np.isfinite(temperature)
        equalised = remap(thermal.equalised, maps, cv2.INTER_LINEAR, 0)
        pseudo = cv2.applyColorMap(equalised, colormap_rgb(self._colormap))
        invalid = ~valid
        pseudo[invalid] = 0
        equalised[invalid] = 0
        filled = (remap(thermal.filled.view(np.uint8), maps, cv2.INTER_NEAREST, 0).view(bool)
                  if thermal.filled.any() else np.zeros(valid.shape, bool))
        return ThermalEnhanced(temperature, equalised, pseudo, thermal.t_range, filled), valid
