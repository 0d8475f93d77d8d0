"""Paper 002's unified multimodal preprocessing and enhancement module (§3.2, Fig. 1): RGB low-light
enhancement, depth restoration and thermal equalisation, each modality on its own sensor grid, then spatial
alignment of depth and thermal onto the RGB pixel grid. It composes the functions of
:mod:`~smartclass.enhance.retinex`, :mod:`~smartclass.enhance.depth`, :mod:`~smartclass.enhance.thermal` and
:mod:`~smartclass.enhance.align`; it re-implements none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from smartclass.enhance.align import align_depth_to_rgb, reference_mapper, remap
from smartclass.enhance.depth import close_small_holes, enhance_depth
from smartclass.enhance.retinex import multiscale_weighted_guided_retinex
from smartclass.enhance.thermal import ThermalEnhanced, enhance_thermal
from smartclass.errors import InputError
from smartclass.geometry import Camera


@dataclass
class RetinexConfig:
    """Parameters of :func:`~smartclass.enhance.retinex.multiscale_weighted_guided_retinex` (eqs. 1–2)."""

    large_radius: int | None = None
    small_radius: int = 4
    eps_large: float = 1e-2
    eps_small: float = 1e-3
    lambda1: float = 0.5
    lambda2: float = 0.5
    scale: int = 4
    target_mean: float = 0.5
    reflect_eps: float = 0.01
    denoise_radius: int = 2
    denoise_eps: float = 2.5e-4


@dataclass
class DepthConfig:
    """Parameters of :func:`~smartclass.enhance.depth.enhance_depth`."""

    smooth: bool = True
    diameter: int = 5
    sigma_space: float = 2.0
    sigma_depth_mm: float = 30.0
    close_kernel: int = 5
    fill_large: bool = True
    jump_mm: float = 150.0


@dataclass
class ThermalConfig:
    """Parameters of :func:`~smartclass.enhance.thermal.enhance_thermal`; ``colormap`` is an OpenCV colour
    map name (``inferno`` → ``cv2.COLORMAP_INFERNO``); ``t_range`` None means the image's percentiles."""

    clip_limit: float = 2.0
    tiles: int = 8
    t_range: tuple[float, float] | None = (15.0, 45.0)
    colormap: str = "inferno"
    nan_policy: Literal["raise", "fill"] = "raise"


@dataclass
class EnhanceConfig:
    """All of the module's parameters. ``plane_depth`` (metres) is the scene distance assumed for the thermal
    homography where no depth is known. ``thermal_maps``: ``'depth'`` warps thermal with the aligned depth
    (exact wherever it is known; maps recomputed per frame), ``'plane'`` with the ``plane_depth`` homography
    only (maps depend on the cameras alone and are cached; parallax ``f·b·|1/z − 1/plane_depth|`` px)."""

    retinex: RetinexConfig = field(default_factory=RetinexConfig)
    depth: DepthConfig = field(default_factory=DepthConfig)
    thermal: ThermalConfig = field(default_factory=ThermalConfig)
    plane_depth: float = 3.0
    thermal_maps: Literal["depth", "plane"] = "depth"


@dataclass(frozen=True)
class Cameras:
    """The rig: the RGB camera is the reference grid; ``depth`` / ``thermal`` are needed to align those."""

    rgb: Camera
    depth: Camera | None = None
    thermal: Camera | None = None


@dataclass(frozen=True)
class EnhancedFrame:
    """Output of :class:`TrimodalEnhancer`; ``None`` for a modality that was not given.

    Without cameras every image stays on its own grid (which must be the RGB grid). With cameras, depth and
    thermal are on the RGB grid: ``depth_mm`` is 0 where the depth camera sees nothing (outside its view,
    disocclusions wider than the closing kernel), and ``thermal.temperature`` is NaN where the thermal
    camera sees nothing (``thermal_valid`` False there)."""

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
    """``enhancer(rgb, depth_mm=None, thermal_c=None, cameras=None) -> EnhancedFrame``.

    rgb: ``(H, W, 3)`` uint8 (or float in [0, 1]); depth_mm: ``(H_d, W_d)`` uint16 mm, 0 = hole, not all
    zero; thermal_c: ``(H_t, W_t)`` float °C. Wrong dtypes, channel counts, NaN temperatures (unless
    ``nan_policy='fill'``), all-zero depth and sizes that match neither the RGB image (no cameras) nor their
    camera raise :class:`~smartclass.errors.InputError` naming the argument."""

    def __init__(self, config: EnhanceConfig | None = None):
        self.config = config or EnhanceConfig()
        name = self.config.thermal.colormap.upper()
        if not hasattr(cv2, f"COLORMAP_{name}"):
            raise InputError(f"thermal.colormap {self.config.thermal.colormap!r} is not an OpenCV colour map "
                             "(expected e.g. 'inferno', 'jet', 'turbo')")
        self._colormap = getattr(cv2, f"COLORMAP_{name}")

    def __call__(self, rgb: np.ndarray, depth_mm: np.ndarray | None = None, thermal_c: np.ndarray | None = None,
                 cameras: Cameras | None = None) -> EnhancedFrame:
        cfg = self.config
        r = cfg.retinex
        rgb_out = multiscale_weighted_guided_retinex(  # validates rgb first
            rgb, large_radius=r.large_radius, small_radius=r.small_radius, eps_large=r.eps_large,
            eps_small=r.eps_small, lambda1=r.lambda1, lambda2=r.lambda2, scale=r.scale, target_mean=r.target_mean,
            reflect_eps=r.reflect_eps, denoise_radius=r.denoise_radius, denoise_eps=r.denoise_eps)
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

        depth = thermal = None
        if depth_mm is not None:
            d = cfg.depth
            depth = enhance_depth(depth_mm, smooth=d.smooth, diameter=d.diameter, sigma_space=d.sigma_space,
                                  sigma_depth_mm=d.sigma_depth_mm, close_kernel=d.close_kernel,
                                  fill_large=d.fill_large, jump_mm=d.jump_mm)
        if thermal_c is not None:
            t = cfg.thermal
            thermal = enhance_thermal(thermal_c, clip_limit=t.clip_limit, tiles=t.tiles, t_range=t.t_range,
                                      colormap=self._colormap, nan_policy=t.nan_policy, name="thermal_c")

        thermal_valid = None if thermal is None else np.ones(rgb_shape[:2], bool)
        if cameras is not None:
            if depth is not None:
                depth = align_depth_to_rgb(depth, cameras.depth, cameras.rgb)
                if cfg.depth.close_kernel > 1 and depth.any():  # seams the forward projection opened
                    depth = close_small_holes(depth, cfg.depth.close_kernel, cfg.depth.jump_mm)
            if thermal is not None:
                thermal, thermal_valid = self._align_thermal(thermal, depth, cameras)
        return EnhancedFrame(rgb_out, depth, thermal, thermal_valid, aligned=cameras is not None)

    def _align_thermal(self, thermal: ThermalEnhanced, depth_rgb_mm: np.ndarray | None,
                       cameras: Cameras) -> tuple[ThermalEnhanced, np.ndarray]:
        """Warp every thermal product onto the RGB grid: exactly where the aligned depth is known, through the
        ``plane_depth`` plane elsewhere (and everywhere when ``thermal_maps='plane'`` or without depth).

        The maps come from :meth:`~smartclass.enhance.align.ReferenceMapper.fixed_maps` (per-calibration
        part cached; plane maps cached whole) as 1/32-pixel fixed-point maps shared by all products."""
        mapper = reference_mapper(cameras.thermal, cameras.rgb)
        use_depth = depth_rgb_mm is not None and self.config.thermal_maps == "depth"
        maps = mapper.fixed_maps(depth_rgb_mm if use_depth else None, self.config.plane_depth)

        def warp(image: np.ndarray, interpolation: int, fill: float) -> np.ndarray:
            return remap(image, maps, interpolation, fill)

        temperature = warp(thermal.temperature, cv2.INTER_LINEAR, np.nan)
        # a bilinear sample is finite only when its four neighbours lie in the thermal image: the valid mask
        valid = np.isfinite(temperature)
        aligned = ThermalEnhanced(
            temperature=temperature,
            equalised=warp(thermal.equalised, cv2.INTER_LINEAR, 0),
            pseudo_colour=warp(thermal.pseudo_colour, cv2.INTER_LINEAR, 0),
            t_range=thermal.t_range,
            filled=(warp(thermal.filled.view(np.uint8), cv2.INTER_NEAREST, 0).view(bool) if thermal.filled.any()
                    else np.zeros(valid.shape, bool)),
        )
        return aligned, valid
