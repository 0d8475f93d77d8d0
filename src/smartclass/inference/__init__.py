"""Inference: trained networks back from their checkpoints, and what they compute on new data.

* :func:`load_model` — any smartclass checkpoint → ``(model, info)``, dispatching on its model tag.
* :func:`shipped_checkpoint` — the path of a checkpoint shipped in the package (``"mmfg/mmfg"``).
* :mod:`smartclass.inference.students` — per-student recognition with the trimodal recogniser.

``load_model`` is imported on first use, so ``shipped_checkpoint`` does not pull in torch.
"""

from smartclass.inference.shipped import shipped_checkpoint, shipped_checkpoints

__all__ = ["load_model", "shipped_checkpoint", "shipped_checkpoints"]


def __getattr__(name: str):
    if name == "load_model":
        from smartclass.inference.load import load_model

        return load_model
    raise AttributeError(f"module 'smartclass.inference' has no attribute '{name}'")
