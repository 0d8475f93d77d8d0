"""RGB temporal features of paper 000 §2.2 (eqs. 1–9): an LSTM over the per-frame spatial features with
attention of the current state over its history.

Input ``U`` ``(N, T, D)``: the spatial feature vector of each frame (the STPP vector of §2.1, or a pooled
backbone map). Eqs. 1–6 are the LSTM update (input, forget, memory and output gates ``i, f, q, z``;
``c_τ = f_τ∗c_{τ−1} + i_τ∗q_τ``, ``h_τ = z_τ∗tanh(c_τ)``), computed by :class:`torch.nn.LSTM`, whose gates
are exactly these. For the current step ``τ = T``:

- eq. 8: ``μ_k = softmax_k(h_τᵀ ϖ_s h_k)``, ``k = 1 … τ−1`` (a bilinear score, ``ϖ_s`` a linear layer);
- eq. 7: context ``s_τ = Σ_k μ_k h_k``;
- eq. 9: ``X′ = softmax(ϖ_out(s_τ ⊕ h_τ))``, the RGB temporal feature ``(N, out_features)``.

With ``T = 1`` there is no history: ``s_τ = 0``.
"""

from __future__ import annotations

import torch
from torch import nn

from smartclass.errors import InputError


class AttentionLSTM(nn.Module):
    """``(N, T, in_features)`` → ``(N, out_features)`` (eq. 9); :meth:`attention` gives ``μ`` ``(N, T−1)``."""

    def __init__(self, in_features: int, hidden: int = 128, out_features: int = 128) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, batch_first=True)  # eqs. 1–6
        self.score = nn.Linear(hidden, hidden, bias=False)  # ϖ_s, eq. 8
        self.out = nn.Linear(2 * hidden, out_features)  # ϖ_out, eq. 9

    def states(self, u: torch.Tensor) -> torch.Tensor:
        """Hidden states ``h_1 … h_T`` ``(N, T, hidden)`` (eqs. 1–6)."""
        if u.dim() != 3:
            raise InputError(f"AttentionLSTM input must be (N, T, D) per-frame features, got shape {tuple(u.shape)}")
        return self.lstm(u)[0]

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        """Eq. 8 weights ``μ`` ``(N, T−1)`` of the history ``h_1 … h_{T−1}`` for the current state ``h_T``."""
        cur, hist = h[:, -1], h[:, :-1]
        return torch.softmax(torch.einsum("nd,ntd->nt", self.score(cur), hist), -1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = self.states(u)
        cur = h[:, -1]
        if h.shape[1] > 1:
            context = torch.einsum("nt,ntd->nd", self.attention(h), h[:, :-1])  # eq. 7
        else:
            context = torch.zeros_like(cur)
        return torch.softmax(self.out(torch.cat([context, cur], -1)), -1)  # eq. 9
