"""Adaptive multi-task weighting of paper 002 eqs. 10 and 17.

``λ_k = exp(L_k / T) / Σ_i exp(L_i / T)`` (eq. 17, a softmax-temperature form of dynamic weight averaging,
Liu et al. 2019) and ``L_total = Σ_k λ_k L_k`` (eq. 10), with T = 0.1 in the paper.

The weights are computed from *detached* losses: they are constants in the backward pass, so
``∂L_total/∂L_k = λ_k`` and the weighting only decides how much each task's gradient counts. Without the
detach the softmax itself would be differentiated, which for small T pushes gradient into whichever loss is
largest through the weights instead of through the task, and can make the total non-monotone in a task's loss.

``MultiTaskLoss(adaptive=False)`` is paper 002's Table 6 ablation "without adaptive loss weights": fixed equal
weights ``λ_k = 1/K`` (with ``primary``: 1 for the primary task and ``1/(K − 1)`` for each other), whatever the
losses do.

With losses on different scales (an enhancement loss of 0.05 against a cross-entropy of 2.3) a temperature of
0.1 makes the weights nearly one-hot; ``MultiTaskLoss(relative=True)`` feeds the softmax each loss divided by
its value at the first call instead, so that the task whose loss has fallen least gets the most weight.
``momentum`` smooths the losses behind the weights over calls (per-batch losses are noisy, and at T = 0.1 noise
decides); ``primary`` keeps one task (e.g. classification) at weight 1 and lets eq. 17 share a weight of 1
among the others, since a fast-falling primary task would otherwise be weighted down to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from smartclass.errors import InputError


def adaptive_task_weights(losses: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Eq. 17: ``softmax(L / T)`` of the detached losses ``(K,)``; returns ``(K,)`` weights summing to 1."""
    if losses.dim() != 1 or losses.numel() == 0:
        raise InputError(f"losses must be a non-empty (K,) vector, got shape {tuple(losses.shape)}")
    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(losses.detach() / temperature, dim=0)


class MultiTaskLoss(nn.Module):
    """Eq. 10 with the eq. 17 weights.

    ``forward(losses)``: a sequence of K scalar losses (or a ``(K,)`` tensor), e.g.
    ``(L_enh, L_fus, L_rec)``; returns ``(total, weights (K,))``. ``relative=True`` uses ``L_k / L_k(0)``
    (the first call's values, kept in the ``initial`` buffer so that checkpoints resume) for the weights;
    ``momentum`` in [0, 1) averages the losses behind the weights exponentially (buffer ``smoothed``);
    ``primary`` (a task index) is weighted 1 and the others share eq. 17's weights. ``adaptive=False``: fixed
    equal weights instead of eq. 17 (the ablation; see the module docstring).
    """

    def __init__(self, num_tasks: int = 3, temperature: float = 0.1, relative: bool = False, momentum: float = 0.0,
                 primary: int | None = None, adaptive: bool = True) -> None:
        super().__init__()
        if num_tasks < 1:
            raise InputError(f"num_tasks must be ≥ 1, got {num_tasks}")
        if temperature <= 0:
            raise InputError(f"temperature must be > 0, got {temperature}")
        if not 0 <= momentum < 1:
            raise InputError(f"momentum must be in [0, 1), got {momentum}")
        if primary is not None and not (0 <= primary < num_tasks and num_tasks > 1):
            raise InputError(f"primary must index one of {num_tasks} (> 1) tasks, got {primary}")
        self.num_tasks, self.temperature, self.relative = num_tasks, temperature, relative
        self.momentum, self.primary, self.adaptive = momentum, primary, adaptive
        self.register_buffer("initial", torch.zeros(num_tasks))  # 0 = not seen yet
        self.register_buffer("smoothed", torch.zeros(num_tasks))

    def forward(self, losses: Sequence[torch.Tensor] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stacked = losses if torch.is_tensor(losses) else torch.stack([torch.as_tensor(l) for l in losses])
        if stacked.shape != (self.num_tasks,):
            raise InputError(f"losses must be {self.num_tasks} scalars, got shape {tuple(stacked.shape)}")
        if not self.adaptive:
            rest = self.num_tasks - (self.primary is not None)
            weights = torch.full_like(stacked.detach(), 1.0 / rest)
            if self.primary is not None:
                weights[self.primary] = 1.0
            return (weights * stacked).sum(), weights
        signal = stacked.detach()
        if self.momentum > 0:
            if torch.all(self.smoothed == 0):
                self.smoothed.copy_(signal)
            self.smoothed.mul_(self.momentum).add_((1 - self.momentum) * signal)
            signal = self.smoothed.clone()
        if self.relative:
            if torch.all(self.initial == 0):
                self.initial.copy_(signal.clamp(min=1e-12))
            signal = signal / self.initial
        if self.primary is None:
            weights = adaptive_task_weights(signal, self.temperature)
        else:
            rest = [k for k in range(self.num_tasks) if k != self.primary]
            weights = torch.ones_like(signal)
            weights[rest] = adaptive_task_weights(signal[rest], self.temperature)
        return (weights * stacked).sum(), weights
