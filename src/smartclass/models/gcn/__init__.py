"""Graph convolutional recognisers on skeleton sequences ``(N, C, T, V)``."""

from smartclass.models.gcn.mstgcn import MSTGCN
from smartclass.models.gcn.stgcn import STGCN

__all__ = ["MSTGCN", "STGCN"]
