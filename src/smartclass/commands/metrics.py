"""``smartclass metrics fusion|image``: score any image triple or pair from the command line, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from smartclass.errors import DataError


def read_image(path: Path, what: str):
    """Read an image as stored (grey stays grey; colour converted to RGB); errors name the file."""
    import cv2

    if not path.is_file():
        raise DataError(f"{what} image '{path}' does not exist")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{what} image '{path}' could not be decoded (not an image, or corrupt)")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img[..., ::-1].copy() if img.ndim == 3 else img


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
        out = {
            "qabf": F.qabf(a, b, f, mode=mode),
            "mutual_information": F.mutual_information(a, b, f, mode=mode),
            "entropy": F.vifb_entropy(a, b, f) if mode == "vifb" else entropy(f),
            "epi": F.fusion_epi(a, b, f),
            "vifb_ssim": F.vifb_ssim(a, b, f),
            "vifb_psnr": F.vifb_psnr(a, b, f),
            "mode": mode,
        }
        typer.echo(json.dumps(out, indent=2))

    @metrics_app.command("image")
    def image(
        ref: Path = typer.Option(..., "--ref", help="reference (clean) image"),
        test: Path = typer.Option(..., "--test", help="image to score"),
    ) -> None:
        """PSNR, SSIM, EPI of a test image against a reference, and the entropy of each."""
        from smartclass.metrics.fusion import epi
        from smartclass.metrics.image import entropy, psnr, ssim

        r, t = read_image(ref, "--ref"), read_image(test, "--test")
        out = {"psnr": psnr(r, t), "ssim": ssim(r, t), "epi": epi(r, t),
               "entropy_ref": entropy(r), "entropy_test": entropy(t)}
        typer.echo(json.dumps(out, indent=2))

    app.add_typer(metrics_app, name="metrics")
