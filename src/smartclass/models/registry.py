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


def rebuild(ck: dict, path: str = "checkpoint"):
    """The network of checkpoint dict ``ck`` (its ``model`` tag's builder on its ``model_config``, with its
    ``state_dict`` loaded), in eval mode on the CPU; a tag nobody registered, or a config or weights that do not
    fit, is an :class:`InputError` naming ``path``."""
    from smartclass.errors import InputError

    tag = ck["model"]
    build = _BUILDERS.get(tag)
    if build is None:
        raise InputError(f"checkpoint '{path}' holds a '{tag}' model, which this smartclass cannot build "
                         f"(known: {', '.join(registered_models()) or 'none'})")
    try:
        model = build(dict(ck["model_config"]))
        model.load_state_dict(ck["state_dict"])
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise InputError(f"checkpoint '{path}': its '{tag}' model_config or weights do not fit the model "
                         f"({first[:200]})") from None
    return model.eval()
