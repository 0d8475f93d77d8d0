"""``load_model(checkpoint)``: any smartclass checkpoint back as a network, by its ``model`` tag.

The checkpoint is read with ``weights_only=True`` (:func:`smartclass.checkpoint.read_checkpoint`), its tag
looked up in :mod:`smartclass.models.registry`, the network rebuilt from its ``model_config`` and its weights
loaded. Model families register themselves when their module is imported; the imports below are the
families this package ships (a new family adds one line here).
"""

from __future__ import annotations

import os
from pathlib import Path

import smartclass.models.gcn  # noqa: F401 - registers "gcn"
import smartclass.models.recognizer  # noqa: F401 - registers "mmfg"
from smartclass.checkpoint import read_checkpoint
from smartclass.errors import InputError
from smartclass.models.registry import model_builder, registered_models

_RUN_STATE = ("state_dict", "optimizer", "scheduler", "rng", "task")


def load_model(checkpoint: str | os.PathLike, device: str = "cpu", expected: str | tuple[str, ...] | None = None):
    """``(model, info)`` of ``checkpoint``: the network in eval mode on ``device``, and the checkpoint's plain
    values (``model`` tag, ``model_config``, ``config``, ``history``, ``epoch``, ``metrics``…; no weights or
    optimiser state) plus ``path``. ``expected``: the tag(s) the caller can use; another is an
    :class:`InputError` naming the file."""
    path = Path(checkpoint)
    ck = read_checkpoint(path, expected)
    tag = ck["model"]
    build = model_builder(tag)
    if build is None:
        raise InputError(f"checkpoint '{path}' holds a '{tag}' model, which this smartclass cannot build "
                         f"(known: {', '.join(registered_models())})")
    try:
        model = build(dict(ck["model_config"]))
        model.load_state_dict(ck["state_dict"])
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise InputError(f"checkpoint '{path}': its '{tag}' model_config or weights do not fit the model "
                         f"({first[:200]})") from None
    info = {k: v for k, v in ck.items() if k not in _RUN_STATE}
    info["path"] = str(path)
    return model.to(device).eval(), info
