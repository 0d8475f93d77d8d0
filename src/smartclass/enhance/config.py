"""Settings of the enhancement module (a section of :class:`smartclass.config.Config`, ``enhance:``), and the
constants their defaults come from. No numpy, OpenCV or torch import: ``smartclass config show`` stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from smartclass.bounds import ranged

#: the illumination exponent of the re-lighting ``L' = k·L^γ``: 0.8 as in LIME (Guo et al., IEEE TIP 2017)
DEFAULT_GAMMA = 0.8
#: noise-adaptive denoising: ``ε_d = (DENOISE_K·σ)²``, σ the estimated input noise (chosen on the val split)
DENOISE_K = 6.0
FRAME_GATE = (0.40, 0.46)
"""``(dark, bright)`` mean-luma thresholds of :func:`~smartclass.enhance.differentiable.illumination_gate` for
whole frames. On SmartClass-Synth (``benchmarks/enhance.py --only quality``, ``luma_ranges``; 640×360) low-light
frames have a mean luma of at most 0.36 (train) / 0.28 (test) and normal frames at least 0.50 / 0.50; the ramp
lies in the gap, nearer the normal side so that every dark frame gets the full enhancement."""


@dataclass
class RetinexConfig:
    """Parameters of :func:`~smartclass.enhance.retinex.multiscale_weighted_guided_retinex` (eqs. 1–2);
    ``denoise_eps`` None estimates the noise per frame (``(denoise_k·σ)²``). ``gate`` (default on): the
    output is ``I + g·(E(I) − I)`` with ``g`` the :func:`~smartclass.enhance.differentiable.illumination_gate`
    of the frame between the mean-luma thresholds ``gate_dark`` and ``gate_bright``, so a well-lit frame
    passes through unchanged (it is not enhanced at all) and a dark one is fully enhanced."""

    large_radius: int | None = ranged(None, ge=1)
    small_radius: int = ranged(4, ge=1)
    eps_large: float = ranged(1e-2, gt=0)
    eps_small: float = ranged(1e-3, gt=0)
    lambda1: float = ranged(0.5, ge=0)
    lambda2: float = ranged(0.5, ge=0)
    scale: int = ranged(4, ge=1)
    target_mean: float | None = ranged(0.5, gt=0, le=1)
    gamma: float = ranged(DEFAULT_GAMMA, gt=0)
    reflect_eps: float = ranged(0.01, gt=0)
    denoise_radius: int = ranged(2, ge=0)
    denoise_eps: float | None = ranged(None, ge=0)
    denoise_k: float = ranged(DENOISE_K, gt=0)
    work_scale: int = ranged(2, ge=1)
    gate: bool = True
    gate_dark: float = ranged(FRAME_GATE[0], ge=0, le=1)
    gate_bright: float = ranged(FRAME_GATE[1], ge=0, le=1)


@dataclass
class DepthConfig:
    """Parameters of :func:`~smartclass.enhance.depth.enhance_depth`; ``close_after_align`` also closes small
    holes on the RGB grid after alignment. It is off by default: the sub-pixel splatting leaves no cracks,
    and the closing filled 2.3 of 354 remaining holes per 640×360 SmartClass-Synth frame (some with the
    wrong surface, 382 mm off) for 0.7 ms."""

    smooth: bool = True
    diameter: int = ranged(5, ge=1)
    sigma_space: float = ranged(2.0, gt=0)
    sigma_depth_mm: float = ranged(30.0, gt=0)
    close_kernel: int = ranged(5, ge=1)
    fill_large: bool = True
    jump_mm: float = ranged(150.0, gt=0)
    surface_gap: int = ranged(8, ge=0)
    close_after_align: bool = False


@dataclass
class ThermalConfig:
    """Parameters of :func:`~smartclass.enhance.thermal.enhance_thermal`; ``colormap`` is an OpenCV colour
    map name (``inferno`` → ``cv2.COLORMAP_INFERNO``); ``t_range`` None means the image's percentiles."""

    clip_limit: float = ranged(2.0, gt=0)
    tiles: int = ranged(8, ge=1)
    t_range: tuple[float, float] | None = (15.0, 45.0)
    colormap: str = "inferno"
    nan_policy: Literal["raise", "fill"] = "raise"


@dataclass
class EnhanceConfig:
    """All of the module's parameters. ``plane_depth`` (metres) is the scene distance assumed for the thermal
    homography where no depth is known. ``thermal_maps``: ``'depth'`` warps thermal with the aligned depth
    (exact wherever it is known; maps recomputed per frame), ``'plane'`` with the ``plane_depth`` homography
    only (maps depend on the cameras alone and are cached; parallax ``f·b·|1/z − 1/plane_depth|`` px).
    ``workers`` 2 runs the RGB enhancement in a background thread while depth and thermal are processed
    (OpenCV and numpy release the GIL in their array work); 1 runs everything in the calling thread."""

    retinex: RetinexConfig = field(default_factory=RetinexConfig)
    depth: DepthConfig = field(default_factory=DepthConfig)
    thermal: ThermalConfig = field(default_factory=ThermalConfig)
    plane_depth: float = ranged(3.0, gt=0)
    thermal_maps: Literal["depth", "plane"] = "depth"
    workers: int = ranged(1, ge=1, le=2)
