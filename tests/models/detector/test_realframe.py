import pytest
import torch

from smartclass.errors import ConfigError, InputError
from smartclass.models.detector import build_detector, detector_config
from smartclass.models.detector.realframe import RealFrameConfig, RealFrameDetector
from smartclass.models.registry import model_builder


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return RealFrameDetector(RealFrameConfig(num_classes=3, pretrained=False)).eval()


def test_levels_and_shapes(model):
    x = torch.rand(2, 3, 64, 96)
    raws = model(x)
    assert [tuple(r.shape) for r in raws] == [(2, 40, 8, 12), (2, 40, 4, 6), (2, 40, 2, 3)]


def test_image_mode_equals_one_frame_clip_and_new_temporal_branch_adds_nothing(model):
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a = model(x)
        b = model(x[:, None])
        clip = torch.cat([torch.rand(1, 2, 3, 64, 64), x[:, None]], 1)  # key frame last
        c = model(clip)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    # the temporal projection starts at zero, so an untrained clip model equals the image model
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(a, c))
    with torch.no_grad():
        model.temporal_proj.bias.fill_(0.5)
        d = model(clip)
        model.temporal_proj.bias.zero_()
    assert not torch.allclose(a[0], d[0])


def test_predict_format(model):
    out = model.predict(torch.rand(2, 3, 64, 96), conf=0.0, max_det=7)
    assert len(out) == 2 and model.training is False
    for d in out:
        assert d["boxes"].shape == (7, 4) and d["scores"].shape == (7,) and d["labels"].dtype == torch.long
        assert d["boxes"][:, 0::2].min() >= 0 and d["boxes"][:, 0::2].max() <= 96
        assert torch.all(d["scores"][1:] <= d["scores"][:-1])


def test_configurations():
    single = RealFrameDetector(RealFrameConfig(num_classes=2, neck=False, cfam=False, temporal=False, pretrained=False))
    raws = single(torch.rand(1, 3, 64, 64))
    assert len(raws) == 1 and raws[0].shape == (1, 5 * 7, 2, 2) and single.head.strides == [32]
    with pytest.raises(InputError, match="temporal=False"):
        single(torch.rand(1, 2, 3, 64, 64))
    two = RealFrameDetector(RealFrameConfig(num_classes=2, strides=[8, 16], pretrained=False))
    assert [r.shape[-1] for r in two(torch.rand(1, 3, 64, 64))] == [8, 4]
    with pytest.raises(ConfigError, match="strides"):
        RealFrameConfig(strides=[4, 8]).validate()
    with pytest.raises(ConfigError, match="anchor sets"):
        RealFrameConfig(anchors=[[[10.0, 10.0]]]).validate()
    with pytest.raises(InputError, match=r"\(N, 3, H, W\)"):
        single(torch.rand(1, 1, 64, 64))


def test_registry_rebuilds_from_plain_config(model):
    cfg = detector_config(model)
    assert "arch" not in cfg and cfg["pretrained"] is False
    rebuilt = model_builder("detector")(cfg)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x)[0], model(x)[0])
    with pytest.raises(ConfigError, match="model_config"):
        build_detector({"nope": 1})
    legacy = build_detector({"kind": "realframe", **cfg})  # first-version checkpoints
    assert isinstance(legacy, RealFrameDetector)
    with pytest.raises(ConfigError, match="kind"):
        build_detector({"kind": "nope"})
