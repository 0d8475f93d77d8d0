import pytest
import torch

from smartclass.errors import InputError
from smartclass.losses.task_weights import MultiTaskLoss, adaptive_task_weights


def test_weights_sum_to_one_and_follow_the_losses():
    w = adaptive_task_weights(torch.tensor([0.3, 0.5, 0.2]))
    torch.testing.assert_close(w.sum(), torch.tensor(1.0))
    assert w[1] > w[0] > w[2]
    torch.testing.assert_close(w, torch.softmax(torch.tensor([3.0, 5.0, 2.0]), 0))  # T = 0.1


def test_temperature_limits():
    losses = torch.tensor([1.0, 2.0, 4.0])
    torch.testing.assert_close(adaptive_task_weights(losses, 1e6), torch.full((3,), 1 / 3))
    assert adaptive_task_weights(losses, 1e-3)[2] > 0.999


def test_weights_are_detached():
    losses = torch.tensor([0.3, 0.5], requires_grad=True)
    assert not adaptive_task_weights(losses).requires_grad
    total, w = MultiTaskLoss(2)(losses)
    total.backward()
    torch.testing.assert_close(losses.grad, w)  # ∂total/∂L_k = λ_k


def test_multitask_total_from_a_list_of_scalars():
    a, b, c = torch.tensor(0.2), torch.tensor(0.4), torch.tensor(0.1)
    total, w = MultiTaskLoss()([a, b, c])
    torch.testing.assert_close(total, (w * torch.stack([a, b, c])).sum())
    assert w.shape == (3,) and w.argmax() == 1


def test_relative_mode_starts_uniform_and_favours_the_slowest_task():
    mtl = MultiTaskLoss(3, relative=True)
    _, w0 = mtl([torch.tensor(0.05), torch.tensor(2.3), torch.tensor(1.0)])
    torch.testing.assert_close(w0, torch.full((3,), 1 / 3))
    _, w1 = mtl([torch.tensor(0.025), torch.tensor(2.2), torch.tensor(0.9)])  # ratios 0.5, 0.96, 0.9
    assert w1.argmax() == 1 and w1.argmin() == 0
    assert torch.all(mtl.state_dict()["initial"] > 0)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="losses"):
        adaptive_task_weights(torch.ones(2, 2))
    with pytest.raises(InputError, match="temperature"):
        adaptive_task_weights(torch.ones(3), 0.0)
    with pytest.raises(InputError, match="3 scalars"):
        MultiTaskLoss(3)([torch.tensor(1.0), torch.tensor(2.0)])


def test_primary_task_keeps_weight_one_and_momentum_smooths():
    from smartclass.losses.task_weights import MultiTaskLoss

    mt = MultiTaskLoss(3, temperature=0.1, relative=True, momentum=0.9, primary=0)
    _, w = mt(torch.tensor([2.0, 1.0, 1.0]))
    assert w[0] == 1 and torch.allclose(w[1:].sum(), torch.tensor(1.0))
    _, w = mt(torch.tensor([0.1, 0.1, 10.0]))  # the weights follow the exponential average of the losses
    assert torch.allclose(mt.smoothed, torch.tensor([1.81, 0.91, 1.9]))
    assert w[0] == 1 and w[2] > w[1]
    with pytest.raises(InputError, match="primary"):
        MultiTaskLoss(3, primary=3)


def test_fixed_equal_weights_when_not_adaptive():
    fixed = MultiTaskLoss(3, adaptive=False)
    losses = torch.tensor([0.1, 5.0, 2.0], requires_grad=True)
    total, w = fixed(losses)
    torch.testing.assert_close(w, torch.full((3,), 1 / 3))
    torch.testing.assert_close(total, losses.sum() / 3)
    _, w2 = fixed(torch.tensor([9.0, 0.1, 0.1]))  # whatever the losses do
    torch.testing.assert_close(w2, w)
    _, wp = MultiTaskLoss(4, primary=0, adaptive=False)(torch.ones(4))
    torch.testing.assert_close(wp, torch.tensor([1.0, 1 / 3, 1 / 3, 1 / 3]))
    _, wa = MultiTaskLoss(3)(torch.tensor([0.1, 5.0, 2.0]))
    assert not torch.allclose(wa, w)  # the adaptive default differs
