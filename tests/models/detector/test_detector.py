import pytest
import torch

from smartclass.errors import ConfigError, InputError
from smartclass.losses.region import RegionLoss
from smartclass.models.detector import ClipDetectorConfig, PaperDetector, build_detector, clip_detector, detector_config
from smartclass.models.registry import model_builder


def clip(n=2, t=7, h=40, w=60):
    return torch.rand(n, t, 3, h, w, generator=torch.Generator().manual_seed(0))


def test_paper_detector_grid_windows_and_stride():
    torch.manual_seed(0)
    m = PaperDetector(ClipDetectorConfig(num_classes=8))
    assert m.head.strides == [(15.0, 10.0)]  # 60×40 input, 4×4 grid
    assert m(clip())[0].shape == (2, 5 * 13, 4, 4)
    w = m.windows(torch.arange(11.0).view(1, 11, 1, 1, 1).expand(1, 11, 3, 1, 1))
    assert w.shape == (1, 3, 7, 3, 1, 1) and w[0, :, :, 0, 0, 0].tolist() == [
        [0, 1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7, 8], [4, 5, 6, 7, 8, 9, 10]]
    fine = PaperDetector(ClipDetectorConfig(pyramid=[8, 4, 2, 1], input_size=[80, 120], cfam=False))
    assert fine(clip(1, 9, 80, 120))[0].shape == (1, 65, 8, 8)
    with pytest.raises(InputError, match=r"input_size = \[40, 60\]"):
        m(clip(1, 7, 60, 40))
    with pytest.raises(InputError, match="T >= 7"):
        m(clip(1, 5))


def test_history_and_skeleton_change_the_output():
    torch.manual_seed(0)
    m = PaperDetector(ClipDetectorConfig(skeleton_layout="upper_body_17")).eval()
    x = clip(1, 9)
    y = x.clone()
    y[:, 0] = 1 - y[:, 0]  # only the oldest window sees frame 0
    sk = {"joints": torch.randn(1, 1, 9, 17, 3), "centres": torch.tensor([[[30.0, 20.0]]])}
    with torch.no_grad():
        base = m(x)[0]
        assert not torch.allclose(base, m(y)[0])
        assert not torch.allclose(base, m(x, sk)[0])


@pytest.mark.parametrize("arch", ["paper", "ms_cnn", "3dcca"])
def test_archs_train_with_the_region_loss_and_rebuild(arch):
    torch.manual_seed(0)
    m = clip_detector(ClipDetectorConfig(arch=arch, num_classes=3, width=8, fused_channels=32))
    loss_fn = RegionLoss.for_head(m.head)
    targets = [{"boxes": torch.tensor([[5.0, 4.0, 20.0, 30.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x = clip()
    first = None
    for _ in range(3):
        loss, parts = loss_fn(m(x), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        fit = parts["coord"] + parts["cls"]  # the rescored objectness target (the IoU) rises as boxes improve
        first = first if first is not None else fit
    assert fit < first
    cfg = detector_config(m)
    assert cfg["arch"] == arch
    rebuilt = model_builder("detector")(cfg)
    rebuilt.load_state_dict(m.state_dict())
    m.eval()
    rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(rebuilt(x)[0], m(x)[0])
    out = m.predict(x, conf=0.0, max_det=5)
    assert len(out) == 2 and out[0]["boxes"].shape == (5, 4) and out[0]["boxes"][:, 2].max() <= 60


def test_clip_config_errors():
    with pytest.raises(ConfigError, match="arch"):
        clip_detector(ClipDetectorConfig(arch="yolo"))
    with pytest.raises(ConfigError, match="pyramid"):
        ClipDetectorConfig(pyramid=[1, 2, 4]).validate()
    with pytest.raises(ConfigError, match="model_config"):
        build_detector({"arch": "paper", "colour": 1})
