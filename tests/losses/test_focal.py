import numpy as np
import pytest
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.losses.focal import FocalLoss, class_weights_from_counts


def test_class_weights_inverse_frequency_mean_one():
    w = class_weights_from_counts([10, 20, 40, 10])
    torch.testing.assert_close(w.mean(), torch.tensor(1.0))
    torch.testing.assert_close(w[0] / w[2], torch.tensor(4.0))
    assert w.dtype == torch.float32


def test_class_weights_zero_counts_and_inputs():
    w = class_weights_from_counts(np.array([5, 0, 10]))
    assert w[1] == 0
    torch.testing.assert_close(w[[0, 2]].mean(), torch.tensor(1.0))
    torch.testing.assert_close(class_weights_from_counts(torch.tensor([3.0, 3.0])), torch.ones(2))
    with pytest.raises(InputError, match="all zero"):
        class_weights_from_counts([0, 0])
    with pytest.raises(InputError, match="non-negative"):
        class_weights_from_counts([1, -1])
    with pytest.raises(InputError, match="counts"):
        class_weights_from_counts([[1, 2]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_gamma_zero_equals_cross_entropy(reduction, weighted):
    torch.manual_seed(0)
    logits, target = torch.randn(12, 5), torch.randint(0, 5, (12,))
    weight = class_weights_from_counts([1, 2, 3, 4, 5]) if weighted else None
    ours = FocalLoss(gamma=0.0, weight=weight, reduction=reduction)(logits, target)
    ref = F.cross_entropy(logits, target, weight=weight, reduction=reduction)
    torch.testing.assert_close(ours, ref)


def test_larger_gamma_down_weights_easy_examples():
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.2, 0.0, 0.0]])  # easy (p≈0.96) and hard (p≈0.38) samples
    target = torch.tensor([0, 0])
    ce = FocalLoss(0.0, reduction="none")(logits, target)
    prev = None
    for gamma in (1.0, 2.0, 5.0):
        fl = FocalLoss(gamma, reduction="none")(logits, target)
        ratio = fl / ce
        assert torch.all(ratio < 1)
        assert ratio[0] < ratio[1]  # the easy example loses more of its loss
        if prev is not None:
            assert torch.all(fl < prev)
        prev = fl


def test_gradients_and_weight_buffer_moves_with_module():
    loss_fn = FocalLoss(2.0, weight=torch.tensor([1.0, 2.0]))
    assert "weight" in dict(loss_fn.named_buffers())
    logits = torch.randn(4, 2, requires_grad=True)
    loss_fn(logits, torch.tensor([0, 1, 1, 0])).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="logits"):
        FocalLoss()(torch.randn(4), torch.zeros(4, dtype=torch.long))
    with pytest.raises(InputError, match="target"):
        FocalLoss()(torch.randn(4, 3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(InputError, match="weight"):
        FocalLoss(weight=torch.ones(2))(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(InputError, match="reduction"):
        FocalLoss(reduction="avg")
