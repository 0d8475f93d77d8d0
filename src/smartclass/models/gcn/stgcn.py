"""ST-GCN baseline (Yan et al., AAAI 2018): spatial-partition graph conv + 9×1 temporal conv blocks."""

from __future__ import annotations

import torch
from torch import nn

from smartclass.layouts import Layout
from smartclass.models.gcn.graph import spatial_partition


class GraphConv(nn.Module):
    """``(N, C, T, V)`` → ``(N, C', T, V)``: ``Σ_k W_k · X · (A_k ⊙ M_k)`` with a learnable edge importance M."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("A", A)
        self.importance = nn.Parameter(torch.ones_like(A))
        self.conv = nn.Conv2d(in_channels, out_channels * A.shape[0], 1)
        self.k = A.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.k, -1, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, self.A * self.importance)


class STGCNBlock(nn.Module):
    def __init__(self, cin: int, cout: int, A: torch.Tensor, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.gcn = GraphConv(cin, cout, A)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, (9, 1), (stride, 1), (4, 0)), nn.BatchNorm2d(cout), nn.Dropout(dropout),
        )
        if cin == cout and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.tcn(self.gcn(x)) + self.residual(x))


class STGCN(nn.Module):
    """``(N, C, T, V)`` or ``(N, M, C, T, V)`` (persons averaged) → logits ``(N, num_classes)``."""

    def __init__(self, layout: Layout, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] = (32, 32, 64, 64), dropout: float = 0.0) -> None:
        super().__init__()
        A = torch.from_numpy(spatial_partition(layout))
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_node)
        blocks, cin = [], in_channels
        for i, c in enumerate(channels):
            blocks.append(STGCNBlock(cin, c, A, stride=2 if (i > 0 and c != cin) else 1, dropout=dropout))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = cin
        self.fc = nn.Linear(cin, num_classes)

    def features(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """``(N·M, C_out, T', V)`` features before pooling; ``pos`` is accepted and ignored (the fixed graph
        needs no positions), so ST-GCN drops in where :meth:`MSTGCN.features` is called."""
        if x.dim() == 5:
            n, m, c, t, v = x.shape
            x = x.reshape(n * m, c, t, v)
        nm, c, t, v = x.shape
        x = self.data_bn(x.permute(0, 3, 1, 2).reshape(nm, v * c, t)).view(nm, v, c, t).permute(0, 2, 3, 1)
        for b in self.blocks:
            x = b(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.shape[1] if x.dim() == 5 else 1
        f = self.features(x).mean((2, 3))
        return self.fc(f.view(-1, m, f.shape[1]).mean(1))
