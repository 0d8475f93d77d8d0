import pytest
import torch
import torch.nn.functional as F

from smartclass.errors import InputError
from smartclass.losses.enhancement import EdgeLoss, EnhancementLoss, PerceptualLoss, sobel_gradients


def _image(n=2, c=3, size=48, seed=0):
    """Texture with edges: random blocks plus stripes, values in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    blocks = F.interpolate(torch.rand(n, c, size // 8, size // 8, generator=g), size=size, mode="nearest")
    xx = torch.arange(size).float()
    stripes = (torch.sin(xx / 2)[None, None, None, :] > 0).float()
    return (0.6 * blocks + 0.4 * stripes).clamp(0, 1)


def _blur(img, sigma):
    r = int(3 * sigma) + 1
    x = torch.arange(-r, r + 1).float()
    k = torch.exp(-x**2 / (2 * sigma**2))
    k = k / k.sum()
    c = img.shape[1]
    img = F.conv2d(F.pad(img, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(img, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


@pytest.fixture(scope="module")
def perceptual():
    return PerceptualLoss()


def test_sobel_of_a_ramp_is_its_slope():
    ramp = torch.arange(8.0).repeat(8, 1)[None, None]  # slope 1 along x
    g = sobel_gradients(ramp)
    assert g.shape == (1, 1, 2, 8, 8)
    torch.testing.assert_close(g[0, 0, 0, :, 1:-1], torch.ones(8, 6))
    torch.testing.assert_close(g[0, 0, 1], torch.zeros(8, 8))


def test_edge_loss_zero_for_identical_and_grows_with_blur():
    img = _image()
    edge = EdgeLoss()
    assert edge(img, img) == 0
    assert edge(img + 0.3, img) < 1e-6  # brightness shift has no edges
    losses = [edge(_blur(img, s), img).item() for s in (0.7, 1.5, 3.0)]
    assert 0 < losses[0] < losses[1] < losses[2]


def test_perceptual_zero_for_identical_and_grows_with_blur(perceptual):
    img = _image()
    assert perceptual(img, img) == 0
    losses = [perceptual(_blur(img, s), img).item() for s in (0.7, 1.5, 3.0)]
    assert 0 < losses[0] < losses[1] < losses[2]


def test_perceptual_grey_input_and_gradient_to_enhanced_only(perceptual):
    ref = _image(c=1)
    enh = _blur(ref, 1.0).requires_grad_()
    loss = perceptual(enh, ref)
    loss.backward()
    assert enh.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in perceptual.parameters())


def test_perceptual_backbone_stays_frozen_in_eval(perceptual):
    perceptual.train()
    assert perceptual.training and not perceptual.backbone.training
    before = perceptual.backbone[0][1].running_mean.clone()
    perceptual(_image(), _image(seed=1))
    torch.testing.assert_close(perceptual.backbone[0][1].running_mean, before)


def test_perceptual_uses_pretrained_not_random_features(perceptual):
    # ImageNet BN statistics in the first stage, not the random-init ones (running_var = 1)
    assert not torch.allclose(perceptual.backbone[0][1].running_var, torch.ones(32))
    assert len(perceptual.backbone) == 7


def test_enhancement_loss_mixes_the_two():
    img, enh = _image(), _blur(_image(), 1.0)
    for mu in (0.0, 0.3, 1.0):
        loss = EnhancementLoss(mu)
        ref = mu * loss.perceptual(enh, img) + (1 - mu) * loss.edge(enh, img)
        torch.testing.assert_close(loss(enh, img), ref)
    assert EnhancementLoss(0.5)(img, img) == 0


def test_bad_inputs_raise_input_error(perceptual):
    with pytest.raises(InputError, match="reference"):
        EdgeLoss()(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(InputError, match="enhanced"):
        perceptual(torch.rand(1, 2, 16, 16), torch.rand(1, 2, 16, 16))
    with pytest.raises(InputError, match="mu"):
        EnhancementLoss(1.5)
    with pytest.raises(InputError, match="layers"):
        PerceptualLoss(layers=(19,))
