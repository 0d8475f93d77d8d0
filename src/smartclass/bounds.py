"""Numeric ranges of config keys, declared where a config section is defined and checked by
:mod:`smartclass.config` for every section alike.

``count: int = ranged(4, ge=1)`` is a dataclass field whose metadata holds its bounds, and
``split: str = one_of("train", ("train", "val", "test"))`` one whose value must be listed; for a tuple field
they apply to every item (and a tuple of choices must not be empty). Every float key must also be finite (no
``.nan``/``.inf`` in YAML) unless declared with ``finite=False``.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from smartclass.errors import ConfigError

_OPS = {"ge": ("≥", lambda v, b: v >= b), "gt": (">", lambda v, b: v > b),
        "le": ("≤", lambda v, b: v <= b), "lt": ("<", lambda v, b: v < b)}


def ranged(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None, finite: bool = True) -> Any:
    """A dataclass field with default ``default`` whose value (each item, for a tuple) must satisfy the bounds."""
    meta = {k: v for k, v in dict(ge=ge, gt=gt, le=le, lt=lt).items() if v is not None}
    meta["finite"] = finite
    return _field(default, meta)


def one_of(default: Any, choices: tuple) -> Any:
    """A dataclass field whose value (each item, for a tuple) must be one of ``choices``."""
    return _field(default, {"choices": tuple(choices), "finite": True})


def _field(default: Any, meta: dict) -> Any:
    """A tuple (immutable) stays a plain default, so ``Section.key`` still reads it on the class; a list needs
    a factory."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"range": meta})
    return field(default=default, metadata={"range": meta})


def describe(meta: dict) -> str:
    """``{"ge": 0, "lt": 1}`` → ``"≥ 0 and < 1"``."""
    return " and ".join(f"{_OPS[k][0]} {meta[k]:g}" for k in ("ge", "gt", "le", "lt") if k in meta)


def check(value: Any, meta: dict | None, key: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` when ``value`` (or an item of it) is outside ``meta``'s range or
    a non-finite float."""
    meta = meta or {"finite": True}
    items = value if isinstance(value, (list, tuple)) else (value,)
    if "choices" in meta and any(v not in meta["choices"] for v in items):
        bad = next(v for v in items if v not in meta["choices"])
        raise ConfigError(f"config key '{key}': expected {'items' if value is not items[0] else 'one'} of "
                          f"{list(meta['choices'])}, got {bad!r}")
    if "choices" in meta and isinstance(value, (list, tuple)) and not value:
        raise ConfigError(f"config key '{key}': expected at least one of {list(meta['choices'])}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if isinstance(v, float) and not math.isfinite(v) and meta.get("finite", True):
            raise ConfigError(f"config key '{key}': expected a finite number, got {v}")
        bad = [k for k in ("ge", "gt", "le", "lt") if k in meta and not _OPS[k][1](v, meta[k])]
        if bad:
            what = "every item " if isinstance(value, (list, tuple)) else ""
            raise ConfigError(f"config key '{key}': expected {what}{describe(meta)}, got {v:g}")
