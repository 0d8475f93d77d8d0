"""smartclass.enhance — paper 002's unified multimodal preprocessing and enhancement module (§3.2).

* :mod:`~smartclass.enhance.guided` — He's guided filter and Li's weighted guided image filter (O(N) box means).
* :mod:`~smartclass.enhance.retinex` — RGB low-light enhancement: Retinex with multi-scale weighted guided
  filtering (eqs. 1–2) and the baselines gamma, CLAHE, MSR / MSRCR and single-scale guided Retinex.
* :mod:`~smartclass.enhance.depth` — depth restoration: bilateral filtering of valid pixels, closing of small
  holes, background-preferring region filling of large ones; Telea / Navier–Stokes inpainting baselines.
* :mod:`~smartclass.enhance.thermal` — CLAHE and RGB pseudo-colour of thermal images, °C values kept.
* :mod:`~smartclass.enhance.align` — depth and thermal onto the RGB pixel grid (z-buffered forward projection,
  depth-based backward warping, plane homographies).
* :mod:`~smartclass.enhance.pipeline` — :class:`~smartclass.enhance.pipeline.TrimodalEnhancer` composing them.
* :mod:`~smartclass.enhance.differentiable` — PyTorch twins of the filters and of the Retinex for end-to-end training.
* :mod:`~smartclass.enhance._workspace` — per-thread scratch arrays reused across calls (video-rate paths).

Images: RGB ``(H, W, 3)`` uint8 (or float in [0, 1]); depth ``(H, W)`` uint16 mm, 0 = hole; thermal
``(H, W)`` float32 °C. Bad input raises :class:`smartclass.errors.InputError` naming the argument.
"""
