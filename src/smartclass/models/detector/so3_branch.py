"""Skeleton features of paper 000 §2.3 for the detector: the SO(3) Lie-algebra representation
(:mod:`smartclass.skeleton.so3`, Vemulapalli et al. 2014) of each person, placed on the detector's grid.

For a person's 3-D joint sequence ``(T, V, 3)``, :func:`smartclass.skeleton.so3.relative_rotations` gives, per
frame, the log map of the rotation between every ordered pair of bones, ``(T, B·(B−1), 3)`` (a point of
SO(3) × … × SO(3) mapped to its Lie algebra, the paper's ``A′``). The curve is summarised by its temporal mean
and its last (key) frame and embedded by a small MLP → ``(E,)``. :meth:`SO3Branch.forward` scatters each
person's embedding into the grid cell holding the person's centre (image pixels), summing persons that share a
cell: ``(N, E, Gh, Gw)``. Without skeletons (``None``, or no valid person) the map is zero, so the fusion
sees no skeleton evidence rather than failing.

Skeleton input: ``{"joints": (N, P, T, V, 3) camera-space 3-D joints, "centres": (N, P, 2) (x, y) pixels of
the person in the key frame, "valid": (N, P) bool}`` (``valid`` optional: all true). Non-finite joints count
as missing: their frame's features are zero.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from smartclass.errors import InputError
from smartclass.layouts import get_layout
from smartclass.skeleton.so3 import bones, relative_rotations


def so3_vectors(joints: torch.Tensor | np.ndarray, layout_name: str) -> torch.Tensor:
    """``(..., T, V, 3)`` joints → ``(..., T, B·(B−1)·3)`` float32 Lie-algebra vectors (non-finite → 0)."""
    layout = get_layout(layout_name)
    j = joints.detach().cpu().numpy() if torch.is_tensor(joints) else np.asarray(joints)
    if j.ndim < 3 or j.shape[-1] != 3 or j.shape[-2] != layout.num_node:
        raise InputError(f"skeleton joints must be (..., T, {layout.num_node}, 3) for layout '{layout_name}', "
                         f"got shape {j.shape}")
    bad = ~np.isfinite(j).all((-1, -2))  # (..., T)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = relative_rotations(np.where(np.isfinite(j), j, 0.0), layout)
    f = np.nan_to_num(f.reshape(*f.shape[:-2], -1), nan=0.0, posinf=0.0, neginf=0.0)
    f[bad] = 0.0
    return torch.from_numpy(f.astype(np.float32))


class SO3Branch(nn.Module):
    """Per-person SO(3) embedding ``(N, P, E)`` and its grid map ``(N, E, Gh, Gw)``."""

    def __init__(self, layout: str, out_features: int = 64, hidden: int = 128) -> None:
        super().__init__()
        self.layout = layout
        b = len(bones(get_layout(layout)))
        self.in_features = b * (b - 1) * 3
        self.out_features = int(out_features)
        self.mlp = nn.Sequential(nn.Linear(2 * self.in_features, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, out_features))

    def person_features(self, joints: torch.Tensor) -> torch.Tensor:
        """``(N, P, T, V, 3)`` → ``(N, P, E)``: MLP of [temporal mean, key frame] of the SO(3) vectors."""
        f = so3_vectors(joints, self.layout).to(self.mlp[0].weight.device)  # (N, P, T, D)
        return self.mlp(torch.cat([f.mean(-2), f[..., -1, :]], -1))

    def forward(self, skeletons: dict | None, batch: int, grid: tuple[int, int], stride: tuple[float, float]) -> torch.Tensor:
        """Grid map ``(batch, E, Gh, Gw)``; ``stride = (sx, sy)`` pixels per cell."""
        gh, gw = grid
        dev = self.mlp[0].weight.device
        out = torch.zeros(batch, self.out_features, gh * gw, device=dev)
        if skeletons is None:
            return out.view(batch, -1, gh, gw)
        joints = torch.as_tensor(skeletons["joints"])
        centres = torch.as_tensor(skeletons["centres"], dtype=torch.float32, device=dev)
        if joints.dim() != 5 or joints.shape[0] != batch or centres.shape != (*joints.shape[:2], 2):
            raise InputError(f"skeletons: joints must be (N={batch}, P, T, V, 3) and centres (N, P, 2), got "
                             f"{tuple(joints.shape)} and {tuple(centres.shape)}")
        valid = torch.as_tensor(skeletons.get("valid", torch.ones(joints.shape[:2], dtype=torch.bool)),
                                dtype=torch.bool, device=dev)
        if joints.shape[1] == 0 or not valid.any():
            return out.view(batch, -1, gh, gw)
        emb = self.person_features(joints)  # (N, P, E)
        col = (centres[..., 0] / stride[0]).floor().long().clamp(0, gw - 1)
        row = (centres[..., 1] / stride[1]).floor().long().clamp(0, gh - 1)
        n_idx, p_idx = torch.nonzero(valid, as_tuple=True)
        cell = row[n_idx, p_idx] * gw + col[n_idx, p_idx]
        flat = out.permute(0, 2, 1).reshape(-1, self.out_features)  # (N·G, E)
        flat = flat.index_add(0, n_idx * gh * gw + cell, emb[n_idx, p_idx])
        return flat.view(batch, gh * gw, -1).permute(0, 2, 1).reshape(batch, -1, gh, gw)
