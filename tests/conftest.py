"""Shared fixtures."""

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _write_msr(path: Path, frames: int, rng: np.random.Generator) -> Path:
    """An MSR Action3D-style file: 20 lines of ``x y z confidence`` per frame."""
    rows = rng.normal(size=(frames * 20, 3))
    path.write_text("\n".join(f"{x:.6f} {y:.6f} {z:.6f} 1.000000" for x, y, z in rows) + "\n")
    return path


@pytest.fixture
def write_msr():
    return _write_msr
