"""``smartclass metrics fusion|image``: score any image triple or pair from the command line, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from smartclass.errors import InputError


def read_image(path: Path, what: str):
    """Read an 8-bit image as stored (grey stays grey; colour converted to RGB); errors name the file."""
    from smartclass.metrics.image import load_image

    return load_image(path, what)


def check_sizes(images: dict[str, tuple[Path, Any]]) -> None:
    """All images must share one H×W; the error names each file and its size."""
    sizes = {opt: img.shape[:2] for opt, (_, img) in images.items()}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{opt} '{path}' is {sizes[opt][1]}×{sizes[opt][0]}" for opt, (path, _) in images.items())
        raise InputError(f"image sizes differ ({listed}); expected equal sizes")


def emit(out: dict) -> None:
    """Print as strict JSON: a non-finite score (PSNR of identical images, Qabf without edges) becomes null with
    a ``<key>_null_reason`` beside it."""
    from smartclass.io import strict_json

    reasons = {f"{k}_null_reason": "the images are identical (mean squared error 0)"
               for k, v in out.items() if "psnr" in k and v == float("inf")}
    typer.echo(json.dumps(strict_json({**out, **reasons}), indent=2, allow_nan=False))


def register(app: typer.Typer) -> None:
    metrics_app = typer.Typer(help="Image-quality and fusion metrics as JSON.", no_args_is_help=True)

    @metrics_app.command("fusion")
    def fusion(
        vi: Path = typer.Option(..., "--vi", help="visible source image"),
        ir: Path = typer.Option(..., "--ir", help="infrared / thermal source image"),
        fused: Path = typer.Option(..., "--fused", help="fused image"),
        mode: str = typer.Option("standard", help="'standard' or 'vifb' (the VIFB benchmark's MATLAB conventions)"),
    ) -> None:
        """Qabf, MI, EN, EPI (and VIFB's SSIM/PSNR) of a fused image against its two sources."""
        from smartclass.metrics import fusion as F
        from smartclass.metrics.image import entropy

        a, b, f = read_image(vi, "--vi"), read_image(ir, "--ir"), read_image(fused, "--fused")
        check_sizes({"--vi": (vi, a), "--ir": (ir, b), "--fused": (fused, f)})
        out = {
            "qabf": F.qabf(a, b, f, mode=mode),
            "mutual_information": F.mutual_information(a, b, f, mode=mode),
            "entropy": F.vifb_entropy(a, b, f) if mode == "vifb" else entropy(f),
            "epi": F.fusion_epi(a, b, f),
            "vifb_ssim": F.vifb_ssim(a, b, f),
            "vifb_psnr": F.vifb_psnr(a, b, f),
            "mode": mode,
        }
        emit(out)

    @metrics_app.command("image")
    def image(
        ref: Path = typer.Option(..., "--ref", help="reference (clean) image"),
        test: Path = typer.Option(..., "--test", help="image to score"),
    ) -> None:
        """PSNR, SSIM, EPI of a test image against a reference, and the entropy of each (PSNR null if identical)."""
        from smartclass.metrics.fusion import epi
        from smartclass.metrics.image import entropy, psnr, ssim

        r, t = read_image(ref, "--ref"), read_image(test, "--test")
        check_sizes({"--ref": (ref, r), "--test": (test, t)})
        if r.ndim != t.ndim:
            raise InputError(f"--ref '{ref}' and --test '{test}' differ in channels (one grey, one colour); "
                             "expected both grey or both colour")
        out = {"psnr": psnr(r, t), "ssim": ssim(r, t), "epi": epi(r, t),
               "entropy_ref": entropy(r), "entropy_test": entropy(t)}
        emit(out)

    app.add_typer(metrics_app, name="metrics")
