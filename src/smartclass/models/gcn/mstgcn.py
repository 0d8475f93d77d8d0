"""MST-GCN, the multi-scale spatio-temporal graph convolutional network of paper 002 §3.4.

Input contract: node features ``x`` of shape ``(N, C, T, V)`` (or ``(N, M, C, T, V)`` with M persons, averaged
at the end) for any :class:`~smartclass.layouts.Layout`, and optionally keypoint positions ``pos`` of shape
``(N, T, V, D)`` (D = 2 or 3) for the distance term of the dynamic graph. C is arbitrary: joint coordinates on
skeleton data, or per-keypoint fused features (eq. 6) in the trimodal recogniser.

Blocks: dynamic spatial graph (eq. 7: distance and feature similarity, refined by attention) + the fixed
layout graph; multi-scale temporal convolution with dilations 1, 2, 4, summed, then ReLU and BN (eq. 8);
spatio-temporal attention (eq. 9); residual connections; a fully connected classifier.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from smartclass.layouts import Layout
from smartclass.models.gcn.graph import spatial_partition


def hop_distance(layout: Layout) -> np.ndarray:
    """``(V, V)`` shortest-path hop counts on the layout graph."""
    v = layout.num_node
    d = np.full((v, v), np.inf)
    np.fill_diagonal(d, 0)
    for i, j in layout.inward:
        d[i, j] = d[j, i] = 1
    for k in range(v):  # Floyd–Warshall; V ≤ 25
        d = np.minimum(d, d[:, k : k + 1] + d[k : k + 1, :])
    return d


class DynamicGraph(nn.Module):
    """Eq. 7: ``w_ij = α·exp(−‖p_i − p_j‖²/σ²) + (1 − α)·cos(f_i, f_j)``, refined by attention
    (a row softmax with a learnable temperature). Returns ``(N, V, V)`` row-stochastic weights."""

    def __init__(self, channels: int, embed: int, layout: Layout) -> None:
        super().__init__()
        self.embed = nn.Conv2d(channels, embed, 1)
        self.alpha_logit = nn.Parameter(torch.zeros(()))  # α = sigmoid(·), starts at 0.5
        self.log_sigma = nn.Parameter(torch.zeros(()))  # σ in position units (or hops without positions)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(5.0)))
        self.register_buffer("hops", torch.from_numpy(hop_distance(layout)).float())

    def forward(self, x: torch.Tensor, sqdist: torch.Tensor | None) -> torch.Tensor:
        f = F.normalize(self.embed(x).mean(2), dim=1)  # (N, E, V)
        sim = torch.einsum("nev,new->nvw", f, f)
        d2 = sqdist if sqdist is not None else self.hops.pow(2).expand_as(sim)
        sigma2 = torch.exp(2 * self.log_sigma)
        alpha = torch.sigmoid(self.alpha_logit)
        w = alpha * torch.exp(-d2 / sigma2) + (1 - alpha) * sim
        return torch.softmax(w * torch.exp(self.log_temperature), dim=-1)


class DynamicGraphConv(nn.Module):
    """Layout graph (3 partitions, learnable edge importance) + the dynamic graph of eq. 7."""

    def __init__(self, cin: int, cout: int, layout: Layout, dynamic: bool = True) -> None:
        super().__init__()
        A = torch.from_numpy(spatial_partition(layout))
        self.register_buffer("A", A)
        self.importance = nn.Parameter(torch.ones_like(A))
        self.k = A.shape[0] + int(dynamic)
        self.conv = nn.Conv2d(cin, cout * self.k, 1)
        self.graph = DynamicGraph(cin, max(cin // 4, 8), layout) if dynamic else None
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor, sqdist: torch.Tensor | None = None) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.k, -1, t, v)
        out = torch.einsum("nkctv,kvw->nctw", y[:, : self.A.shape[0]], self.A * self.importance)
        if self.graph is not None:
            dyn = self.graph(x, sqdist)  # (N, V, V): row w holds the weights node w aggregates with
            out = out + torch.einsum("nctv,nwv->nctw", y[:, -1], dyn)
        return self.bn(out)


class MultiScaleTemporalConv(nn.Module):
    """Eq. 8: parallel branches (1×1 conv → BN → ReLU → k×1 conv with dilation d) for d in ``dilations``,
    summed, then ReLU, then BN. Padding ``(k − 1)·d / 2`` keeps T (divided by ``stride``)."""

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 1, dilations: tuple[int, ...] = (1, 2, 4)):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, (kernel, 1), (stride, 1), ((kernel - 1) * d // 2, 0), (d, 1)),
            )
            for d in dilations
        )
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(sum(b(x) for b in self.branches)))


class SpatioTemporalAttention(nn.Module):
    """Eq. 9: ``F_att = softmax(W_att · F) · F`` — a softmax over all (t, v) positions of a 1×1 projection,
    rescaled by T·V so that uniform attention leaves F unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.w_att = nn.Conv2d(channels, 1, 1)
        nn.init.zeros_(self.w_att.weight)
        nn.init.zeros_(self.w_att.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        a = torch.softmax(self.w_att(x).view(n, 1, t * v), dim=-1).view(n, 1, t, v)
        return x * a * (t * v)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, V)`` attention weights (sum to 1), for interpretation."""
        n, _, t, v = x.shape
        return torch.softmax(self.w_att(x).view(n, t * v), dim=-1).view(n, t, v)


class MSTGCNBlock(nn.Module):
    def __init__(self, cin: int, cout: int, layout: Layout, stride: int = 1, dilations=(1, 2, 4),
                 dynamic: bool = True, attention: bool = True, dropout: float = 0.0, kernel: int = 5) -> None:
        super().__init__()
        self.gcn = DynamicGraphConv(cin, cout, layout, dynamic)
        self.tcn = MultiScaleTemporalConv(cout, cout, kernel, stride, dilations)
        self.att = SpatioTemporalAttention(cout) if attention else nn.Identity()
        self.drop = nn.Dropout(dropout)
        if cin == cout and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor, sqdist: torch.Tensor | None) -> torch.Tensor:
        y = self.att(self.tcn(F.relu(self.gcn(x, sqdist))))
        return F.relu(self.drop(y) + self.residual(x))


class MSTGCN(nn.Module):
    """Multi-scale spatio-temporal GCN (paper 002 §3.4).

    ``forward(x, pos=None)``: ``x`` ``(N, C, T, V)`` or ``(N, M, C, T, V)``; ``pos`` ``(N, T, V, D)`` or
    ``(N, M, T, V, D)`` keypoint positions for eq. 7 (hop distances on the layout graph are used without
    them). Returns logits ``(N, num_classes)``. Ablations: ``dilations=(1,)`` removes the multi-scale
    temporal convolution; ``dynamic=False`` keeps only the fixed layout graph; ``attention=False`` drops eq. 9.
    ``kernel`` is the temporal kernel size of every branch (odd; the paper gives none): with 5 the branches
    see 5, 9 and 17 frames, with 3 (MS-G3D's) 3, 5 and 9.
    """

    def __init__(self, layout: Layout, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] = (32, 32, 64, 64), dilations: tuple[int, ...] = (1, 2, 4),
                 dynamic: bool = True, attention: bool = True, dropout: float = 0.0, kernel: int = 5) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"MSTGCN kernel must be a positive odd number (it keeps T), got {kernel}")
        self.layout = layout
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_node)
        blocks, cin = [], in_channels
        for i, c in enumerate(channels):
            stride = 2 if (i > 0 and c != cin) else 1
            blocks.append(MSTGCNBlock(cin, c, layout, stride, dilations, dynamic, attention, dropout, kernel))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = cin
        self.fc = nn.Linear(cin, num_classes)

    def features(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """``(N·M, C_out, T', V)`` features before pooling."""
        if x.dim() == 5:
            n, m, c, t, v = x.shape
            x = x.reshape(n * m, c, t, v)
            if pos is not None:
                pos = pos.reshape(n * m, *pos.shape[2:])
        nm, c, t, v = x.shape
        if v != self.layout.num_node:
            raise ValueError(f"MSTGCN for layout '{self.layout.name}' expects V = {self.layout.num_node}, got {v}")
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(nm, v * c, t)).view(nm, v, c, t).permute(0, 2, 3, 1)
        sqdist = None
        if pos is not None:
            sqdist = (pos[:, :, :, None, :] - pos[:, :, None, :, :]).pow(2).sum(-1).mean(1)  # (N, V, V)
        for b in self.blocks:
            x = b(x, sqdist)
        return x

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        m = x.shape[1] if x.dim() == 5 else 1
        f = self.features(x, pos).mean((2, 3))
        return self.fc(f.view(-1, m, f.shape[1]).mean(1))
