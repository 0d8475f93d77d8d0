"""A clip missing one modality inside a batch is handled per sample (issue 16): the other clips keep that
modality, and what the absent modality's slot holds does not reach the clip without it."""

import torch

from smartclass.models.recognizer import TrimodalRecognizer
from smartclass.models.recognizer_config import RecognizerConfig
from smartclass.training.recognizer import predict


def _data(n: int = 3, t: int = 2, s: int = 32) -> dict:
    g = torch.Generator().manual_seed(0)
    img = lambda: torch.randint(0, 255, (n, t, 3, s, s), dtype=torch.uint8, generator=g)  # noqa: E731
    return {"rgb": img(), "rgb_clean": img(), "depth": torch.rand(n, t, 1, s, s, generator=g).half(),
            "thermal": torch.rand(n, t, 1, s, s, generator=g).half(), "keypoints": torch.rand(n, t, 17, 3, generator=g),
            "label": torch.arange(n), "condition": torch.zeros(n, dtype=torch.long),
            "has_depth": torch.ones(n, dtype=torch.bool), "has_thermal": torch.tensor([True, True, False])}


def test_a_clip_without_thermal_does_not_drop_thermal_for_its_batch():
    torch.manual_seed(0)
    model = TrimodalRecognizer(RecognizerConfig(width=8, keypoint_channels=8, gcn_channels=(8,))).eval()
    with torch.no_grad():  # zero-initialised gates leave thermal without effect at first; give every weight one
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    data = _data()
    mixed = predict(model, data, batch_size=3)
    with_thermal = predict(model, {k: v[:2] for k, v in data.items()}, batch_size=2)
    torch.testing.assert_close(mixed[:2], with_thermal)  # the batch-wide drop changed these
    noise = dict(data, thermal=data["thermal"].clone())
    noise["thermal"][2] = torch.rand_like(noise["thermal"][2]) * 50  # whatever the absent modality's slot holds
    torch.testing.assert_close(predict(model, noise, batch_size=3), mixed)
    dropped = dict(data, has_thermal=torch.zeros(3, dtype=torch.bool))
    assert (predict(model, dropped, batch_size=3)[:2] - with_thermal).abs().max() > 1e-5  # thermal matters here
