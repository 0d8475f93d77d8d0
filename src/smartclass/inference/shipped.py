"""Checkpoints shipped with smartclass, found the same way in an editable and a non-editable install.

They live in the package, ``src/smartclass/checkpoints/<task>/<name>.pt`` (the repository's top-level
``checkpoints`` is a link to that folder, so ``checkpoints/mmfg/mmfg.pt`` keeps working in a clone), and are
installed as package data. No torch import here: the CLI can name defaults without loading models.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from smartclass.errors import InputError


def shipped_root() -> Path:
    """The folder of the shipped checkpoints inside the installed package."""
    return Path(str(files("smartclass") / "checkpoints"))


def shipped_checkpoints() -> list[str]:
    """Names (``"<task>/<name>"``) of every shipped checkpoint."""
    root = shipped_root()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.pt"))


def shipped_checkpoint(name: str) -> Path:
    """The path of shipped checkpoint ``name`` (``"mmfg/mmfg"``, ``"detector/cctv"``; a ``.pt`` suffix is
    optional); an unknown name is an :class:`InputError` listing the shipped ones."""
    rel = name[:-3] if name.endswith(".pt") else name
    parts = rel.split("/")
    if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts):
        raise InputError(f"shipped checkpoint '{name}': expected '<task>/<name>', e.g. 'mmfg/mmfg'")
    path = shipped_root() / parts[0] / f"{parts[1]}.pt"
    if not path.is_file():
        raise InputError(f"no shipped checkpoint '{rel}'; shipped: {', '.join(shipped_checkpoints()) or 'none'}")
    return path
