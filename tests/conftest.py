"""Shared fixtures."""

from pathlib import Path

import numpy as np
import pytest
import torch

# tests use tiny tensors: one intra-op thread avoids oversubscribing CI's two cores (and pytest-xdist-free runs)
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _write_msr(path: Path, frames: int, rng: np.random.Generator) -> Path:
    """An MSR Action3D-style file: 20 lines of ``x y z confidence`` per frame."""
    rows = rng.normal(size=(frames * 20, 3))
    path.write_text("\n".join(f"{x:.6f} {y:.6f} {z:.6f} 1.000000" for x, y, z in rows) + "\n")
    return path


def _write_utkinect(root: Path, subjects=(1, 2), rng=None) -> Path:
    rng = rng or np.random.default_rng(0)
    labels = []
    for s in subjects:
        seq = f"s{s:02d}_e01"
        lines = [f"{f} " + " ".join(f"{v:.5f}" for v in rng.normal(size=60)) for f in range(1, 101)]
        (root / f"joints_{seq}.txt").write_text("\n".join(lines) + "\n")
        labels += [seq, "walk: 1 40", "sitDown: 41 80", "carry:  NaN NaN"]
    (root / "actionLabel.txt").write_text("\n".join(labels) + "\n")
    return root


@pytest.fixture
def write_utkinect():
    return _write_utkinect


@pytest.fixture
def write_msr():
    return _write_msr


def _detector_fixtures():
    """tests/training/detector_fixtures.py (tiny YOLO split and training overrides), loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("detector_fixtures", Path(__file__).parent / "training" /
                                                  "detector_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_detector(tmp_path_factory):
    """A detector trained for a few steps on coloured squares: ``(yolo_root, shipped_checkpoint)``, trained once
    for every command test that needs one."""
    from smartclass.config import load_config
    from smartclass.training.detector import ship_checkpoint, train_detector

    fx = _detector_fixtures()
    root = fx.write_yolo_split(tmp_path_factory.mktemp("yolo"))
    out = tmp_path_factory.mktemp("run")
    train_detector(load_config(None, fx.tiny_overrides(root)), out, log=lambda s: None)
    return root, ship_checkpoint(out / "best.pt", out / "d.pt")
