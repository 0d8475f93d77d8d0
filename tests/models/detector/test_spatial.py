import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.detector.spatial import HardWired, Ji3DCNN, SpatioTemporalPyramidPool


def moving_blob(t=7, h=60, w=40, dx=1.0):
    """A smooth blob moving ``dx`` pixels right per frame, grey RGB in [0, 1]."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    frames = [torch.exp(-((xs - 15 - dx * i) ** 2 + (ys - 30) ** 2) / 60.0) for i in range(t)]
    return torch.stack(frames)[None, :, None].expand(1, t, 3, h, w).contiguous()


def test_hardwired_gives_33_maps_for_7_frames_and_flow_direction():
    app, mot = HardWired()(moving_blob())
    assert app.shape == (1, 3, 7, 60, 40) and mot.shape == (1, 2, 6, 60, 40)
    assert app.shape[1] * app.shape[2] + mot.shape[1] * mot.shape[2] == 33
    # flow where the blob has texture: about +1 px/frame in x, about 0 in y
    grad = app[0, 1, 0].abs() + app[0, 2, 0].abs()
    m = grad > grad.max() * 0.3
    u, v = mot[0, 0, 0][m], mot[0, 1, 0][m]
    assert 0.6 < u.median() < 1.4 and v.abs().median() < 0.2
    # a static clip has no flow
    _, still = HardWired()(moving_blob(dx=0.0))
    assert still.abs().max() < 1e-5


def test_stpp_length_is_independent_of_input_size():
    stpp = SpatioTemporalPyramidPool((4, 2, 1), 1)
    a = stpp(torch.randn(2, 5, 3, 21, 12))
    b = stpp(torch.randn(2, 5, 2, 33, 47))
    assert a.shape == b.shape == (2, stpp.output_length(5)) == (2, 5 * 21)
    x = torch.randn(1, 2, 2, 8, 8)
    assert torch.equal(stpp(x)[:, -2:], x.amax((2, 3, 4)))  # the ps = 1 level is the global max


def test_ji_3dcnn_shapes_and_two_sizes_same_length():
    net = Ji3DCNN()
    app, mot = net.c4(torch.rand(1, 7, 3, 60, 40))
    assert app.shape == (1, 18, 3, 21, 12) and mot.shape == (1, 12, 2, 21, 12)  # 13·6 = 78 maps in time
    small = net.vector(net.maps(torch.rand(1, 7, 3, 60, 40)))
    large = net.vector(net.maps(torch.rand(1, 9, 3, 96, 128)))
    assert small.shape == large.shape == (1, 630)
    assert net(torch.rand(2, 7, 3, 40, 60)).shape == (2, 128)
    with pytest.raises(InputError, match="at least 6 frames"):
        net(torch.rand(1, 5, 3, 60, 40))
