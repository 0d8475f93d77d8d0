"""Model families by checkpoint tag: how to rebuild a network from the ``model_config`` a checkpoint carries.

A family registers a builder once, at import of its module::

    register_model("mmfg", lambda cfg: TrimodalRecognizer(RecognizerConfig(**cfg)))

and :func:`smartclass.inference.load_model` rebuilds any checkpoint from its ``model`` tag. The registry is a
low layer: models register into it, inference reads it; it imports neither.
"""

from __future__ import annotations

from typing import Any, Callable

Builder = Callable[[dict], Any]  # model_config → torch.nn.Module

_BUILDERS: dict[str, Builder] = {}


def register_model(tag: str, build: Builder) -> Builder:
    """Register ``build(model_config) -> nn.Module`` for checkpoints tagged ``tag``; a second, different
    builder for the same tag is an error (two families would claim one name)."""
    old = _BUILDERS.get(tag)
    if old is not None and old is not build and getattr(old, "__qualname__", None) != getattr(build, "__qualname__", 0):
        raise ValueError(f"model tag '{tag}' is already registered by {old.__module__}.{old.__qualname__}")
    _BUILDERS[tag] = build
    return build


def model_builder(tag: str) -> Builder | None:
    """The builder registered for ``tag``, or ``None``."""
    return _BUILDERS.get(tag)


def registered_models() -> list[str]:
    return sorted(_BUILDERS)
