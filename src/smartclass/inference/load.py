"""``load_model(checkpoint)``: any smartclass checkpoint back as a network, by its ``model`` tag.

The checkpoint is read with ``weights_only=True`` (:func:`smartclass.checkpoint.read_checkpoint`), its tag
looked up in :mod:`smartclass.models.registry`, the network rebuilt from its ``model_config`` and its weights
loaded. Model families register themselves when their module is imported; the imports below are the
families this package ships (a new family adds one line here).
"""

from __future__ import annotations

import os
from pathlib import Path

import smartclass.models.detector  # noqa: F401 - registers "detector"
import smartclass.models.gcn  # noqa: F401 - registers "gcn"
import smartclass.models.recognizer  # noqa: F401 - registers "mmfg"
import smartclass.models.track_fusion  # noqa: F401 - registers "track_fusion"
import smartclass.models.track_temporal  # noqa: F401 - registers "track_temporal"
from smartclass.checkpoint import read_checkpoint
from smartclass.models.registry import rebuild

_RUN_STATE = ("state_dict", "optimizer", "scheduler", "rng", "task")


def load_model(checkpoint: str | os.PathLike, device: str = "cpu", expected: str | tuple[str, ...] | None = None):
    """``(model, info)`` of ``checkpoint``: the network in eval mode on ``device``, and the checkpoint's plain
    values (``model`` tag, ``model_config``, ``config``, ``history``, ``epoch``, ``metrics``…; no weights or
    optimiser state) plus ``path``. ``expected``: the tag(s) the caller can use; another is an
    :class:`InputError` naming the file."""
    path = Path(checkpoint)
    ck = read_checkpoint(path, expected)
    model = rebuild(ck, str(path))
    info = {k: v for k, v in ck.items() if k not in _RUN_STATE}
    info["path"] = str(path)
    return model.to(device).eval(), info
