import pytest
import torch

from smartclass.errors import InputError
from smartclass.models.detector.anchors import anchors_for_levels, kmeans_anchors, mean_best_iou


def planted(gen, centres, n=60):
    c = torch.tensor(centres)
    return torch.cat([ci * (1 + 0.05 * torch.randn(n, 2, generator=gen)) for ci in c])


def test_kmeans_recovers_planted_clusters_sorted_by_area():
    centres = [[10.0, 12.0], [30.0, 20.0], [60.0, 90.0]]
    sizes = planted(torch.Generator().manual_seed(0), centres)
    a = kmeans_anchors(sizes, k=3, seed=0)
    assert a.shape == (3, 2)
    assert torch.allclose(a, torch.tensor(centres), rtol=0.05)
    assert mean_best_iou(sizes, a) > 0.85


def test_kmeans_deterministic_for_a_seed():
    sizes = torch.rand(200, 2, generator=torch.Generator().manual_seed(3)) * 50 + 1
    assert torch.equal(kmeans_anchors(sizes, 5, seed=7), kmeans_anchors(sizes, 5, seed=7))
    areas = kmeans_anchors(sizes, 5, seed=7).prod(1)
    assert torch.all(areas[1:] >= areas[:-1])


def test_anchors_for_levels_split_smallest_first():
    centres = [[8.0, 8.0], [12.0, 16.0], [40.0, 40.0], [60.0, 80.0]]
    levels = anchors_for_levels(planted(torch.Generator().manual_seed(1), centres), [8, 32], per_level=2)
    assert len(levels) == 2 and all(len(lv) == 2 for lv in levels)
    assert max(w * h for w, h in levels[0]) < min(w * h for w, h in levels[1])


def test_kmeans_errors():
    with pytest.raises(InputError, match="k = 5"):
        kmeans_anchors([[1.0, 2.0], [3.0, 4.0]], k=5)
    with pytest.raises(InputError, match=r"\(N, 2\)"):
        kmeans_anchors([1.0, 2.0, 3.0])
