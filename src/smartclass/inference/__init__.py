"""Inference: trained networks back from their checkpoints, and what they compute on new data.

* :func:`load_model` — any smartclass checkpoint → ``(model, info)``, dispatching on its model tag.
"""

from smartclass.inference.load import load_model

__all__ = ["load_model"]
