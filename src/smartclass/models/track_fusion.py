"""Late fusion of two per-student behaviour estimates: the track's (the detector's classes through the track
temporal model or the window vote, ``C`` classes) and paper 002's trimodal recogniser's on the student's crops
(its own ``F`` fine-grained classes: paper 002's 10 beside paper 000's 8).

The recogniser's classes are first carried into the track's by the vocabularies' correspondence ``m(f)``
(:func:`smartclass.labels.class_mapping`: ``head_down_writing`` and ``note_taking`` → ``write``, …). Track classes
the recogniser cannot see (paper 000's ``stand`` and ``sleep``) are left to the track: the recogniser abstains,
so its distribution there is the track's own, and the rest is shared out as the recogniser says::

    U = {c : no f with m(f) = c},   u = Σ_{c∈U} p_track[c]
    q[c] = p_track[c]                                        for c ∈ U
    q[c] = (1 − u) · Σ_{f: m(f)=c} p_rec[f] / Σ_{f: m(f)≠−1} p_rec[f]   otherwise

and the two are combined log-linearly (a product of experts with two fitted exponents)::

    p = softmax(a · log max(p_track, ε) + w · log max(q, ε))

``a`` and ``w`` start at 1 and 0 (the track unchanged) and are fitted on held-out classrooms
(:mod:`smartclass.training.track_fusion`). Two numbers, not a full matrix: a free ``C × (C + F)`` log-linear
model fitted on the same validation classrooms learned their class priors (decision accuracy 0.84 on the
classrooms it was fitted on, 0.65 on held-out ones, below the track alone), while these two numbers
generalise (benchmarks/results/analyze_fusion_synth8.json). Registered as ``"track_fusion"``.
"""

from __future__ import annotations

import torch
from torch import nn

from smartclass.errors import InputError
from smartclass.models.registry import register_model

TAG = "track_fusion"


class TrackFusion(nn.Module):
    """``(p_track (N, C), p_rec (N, F))`` → fused probabilities ``(N, C)`` (module doc). ``mapping``: for each
    recogniser class the index of its track class or −1 (default: :func:`smartclass.labels.class_mapping`)."""

    def __init__(self, class_names: list[str], recogniser_classes: list[str], mapping: list[int] | None = None,
                 floor: float = 1e-4) -> None:
        super().__init__()
        from smartclass.labels import class_mapping

        C, F = len(class_names), len(recogniser_classes)
        if C < 2 or F < 2 or not 0 < floor < 1:
            raise InputError(f"TrackFusion: ≥ 2 classes on each side and 0 < floor < 1 expected, got {C}, {F}, {floor}")
        mapping = class_mapping(recogniser_classes, class_names) if mapping is None else [int(m) for m in mapping]
        if len(mapping) != F or any(not -1 <= m < C for m in mapping) or all(m < 0 for m in mapping):
            raise InputError(f"TrackFusion: mapping must give, for each of the {F} recogniser classes, a track class "
                             f"index in 0..{C - 1} or −1 (and not all −1), got {mapping}")
        self.class_names, self.recogniser_classes = list(class_names), list(recogniser_classes)
        self.mapping, self.floor = mapping, float(floor)
        M = torch.zeros(C, F)
        for f, c in enumerate(mapping):
            if c >= 0:
                M[c, f] = 1.0
        self.register_buffer("M", M, persistent=False)
        self.register_buffer("uncovered", M.sum(1) == 0, persistent=False)
        self.a = nn.Parameter(torch.tensor(1.0))
        self.w = nn.Parameter(torch.tensor(0.0))

    def recogniser_view(self, p_track: torch.Tensor, p_rec: torch.Tensor) -> torch.Tensor:
        """``q (N, C)``: the recogniser's probabilities in the track's classes (module doc)."""
        C, F = len(self.class_names), len(self.recogniser_classes)
        if p_track.dim() != 2 or p_track.shape[1] != C or p_rec.shape != (p_track.shape[0], F):
            raise InputError(f"TrackFusion: expected p_track (N, {C}) and p_rec (N, {F}), got "
                             f"{tuple(p_track.shape)} and {tuple(p_rec.shape)}")
        mapped = p_rec @ self.M.T
        mapped = mapped / mapped.sum(1, keepdim=True).clamp_min(1e-12)
        u = (p_track * self.uncovered).sum(1, keepdim=True)
        return torch.where(self.uncovered, p_track, (1 - u) * mapped)

    def logits(self, p_track: torch.Tensor, p_rec: torch.Tensor) -> torch.Tensor:
        q = self.recogniser_view(p_track, p_rec)
        return self.a * p_track.clamp_min(self.floor).log() + self.w * q.clamp_min(self.floor).log()

    def forward(self, p_track: torch.Tensor, p_rec: torch.Tensor) -> torch.Tensor:
        return self.logits(p_track, p_rec).softmax(1)

    def config(self) -> dict:
        return {"class_names": list(self.class_names), "recogniser_classes": list(self.recogniser_classes),
                "mapping": list(self.mapping), "floor": self.floor}


register_model(TAG, lambda cfg: TrackFusion(**cfg))
