"""Checkpoint files: plain dicts written atomically with ``torch.save``, read with ``weights_only=True``.

A checkpoint holds only tensors and plain Python values (dict, list, str, int, float, bool, None), so
reading one never runs code from the file. Every checkpoint carries::

    model         str    the model family tag, e.g. "mmfg", "gcn", "detector" (see models/registry.py)
    model_config  dict   the keyword arguments that rebuild the network (plain values)
    state_dict    dict   the network's weights
    config        dict   the merged run config (may be empty)
    history       list   per-epoch dicts of plain floats

The training engine adds its resume state (optimizer, RNG, epoch, best) to ``last.pt``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smartclass.errors import InputError
from smartclass.io import atomic_path

REQUIRED_KEYS = ("model", "model_config", "state_dict")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, tuples and 0-d tensors turned into plain Python values (lists,
    floats, ints), so that it survives ``torch.load(weights_only=True)`` and JSON; non-finite floats stay
    floats (JSON writers must handle them)."""
    import torch

    if isinstance(value, dict):
        return {str(k) if not isinstance(k, (str, int)) else k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.dim() == 0 else value.tolist()
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar or array
        return value.item() if getattr(value, "ndim", 0) == 0 else value.tolist()
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value
    raise TypeError(f"checkpoint value of type {type(value).__name__} is not a plain value")


def save_checkpoint(path: str | os.PathLike, ck: dict) -> Path:
    """Write checkpoint dict ``ck`` to ``path`` atomically (a crash never leaves half a file)."""
    import torch

    missing = [k for k in REQUIRED_KEYS if k not in ck]
    if missing:
        raise ValueError(f"checkpoint lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(ck, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike, expected: str | tuple[str, ...] | None = None) -> dict:
    """The checkpoint dict at ``path``, read with ``weights_only=True``; ``expected``: the model tag(s) it must
    carry. Every failure is an :class:`InputError` naming the file."""
    import pickle
    import warnings

    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint '{path}' does not exist")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of foreign files
            warnings.simplefilter("ignore")
            ck = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        lines = [x.strip() for x in str(e).splitlines() if x.strip()]
        # torch's message: a preamble, "WeightsUnpickler error:", the reason, a pointer to the docs
        first = next((x for x in lines if "nsupported" in x), lines[-1] if lines else "")
        raise InputError(f"checkpoint '{path}' holds something other than tensors and plain values; refused "
                         f"without running it ({first[:160]})") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file
        raise InputError(f"checkpoint '{path}' is not a readable PyTorch checkpoint ({e.__class__.__name__})") from None
    tags = (expected,) if isinstance(expected, str) else tuple(expected or ())
    if tags and isinstance(ck, dict) and isinstance(ck.get("model"), str) and ck["model"] not in tags:
        raise InputError(f"checkpoint '{path}' holds a '{ck['model']}' model, expected "
                         + " or ".join(f"'{t}'" for t in tags))
    if not isinstance(ck, dict) or not all(k in ck for k in REQUIRED_KEYS):
        what = f"keys {sorted(map(str, ck))[:8]}" if isinstance(ck, dict) else type(ck).__name__
        raise InputError(f"checkpoint '{path}' is not a smartclass checkpoint (expected keys {list(REQUIRED_KEYS)}, "
                         f"found {what})")
    return ck

