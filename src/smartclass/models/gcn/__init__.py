"""Graph convolutional recognisers on skeleton sequences ``(N, C, T, V)``."""

from smartclass.layouts import get_layout
from smartclass.models.gcn.mstgcn import MSTGCN
from smartclass.models.gcn.stgcn import STGCN
from smartclass.models.registry import register_model

__all__ = ["MSTGCN", "STGCN", "build_gcn", "gcn_config"]

MODEL_TAG = "gcn"
"""Checkpoint tag of both GCNs; ``model_config["kind"]`` says which."""


def gcn_config(kind: str, layout: str, in_channels: int, num_classes: int, **kwargs) -> dict:
    """The plain ``model_config`` of a GCN: ``kind`` ("mstgcn" or "stgcn"), the layout's name and the
    constructor's keyword arguments (tuples as lists)."""
    return {"kind": kind, "layout": layout, "in_channels": in_channels, "num_classes": num_classes,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}


def build_gcn(model_config: dict) -> MSTGCN | STGCN:
    """The GCN of a :func:`gcn_config` dict."""
    cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in model_config.items()}
    kind = cfg.pop("kind")
    if kind not in ("mstgcn", "stgcn"):
        raise ValueError(f"unknown GCN kind '{kind}'; expected 'mstgcn' or 'stgcn'")
    cls = MSTGCN if kind == "mstgcn" else STGCN
    return cls(get_layout(cfg.pop("layout")), **cfg)


register_model(MODEL_TAG, build_gcn)
