import numpy as np
import torch

from smartclass.data.students import DiskStudentClips
from smartclass.synth.config import SynthConfig
from smartclass.synth.dataset import SynthStudentClips
from smartclass.synth.export import export_dataset

CFG = SynthConfig(students=3, width=160, height=96)


def test_streamed_samples_are_deterministic_and_shaped():
    ds = SynthStudentClips(CFG, 4, frames=3, crop=32)
    a, b = ds[3], SynthStudentClips(CFG, 4, frames=3, crop=32)[3]
    assert torch.equal(a["rgb"], b["rgb"]) and a["label"] == b["label"]
    assert a["rgb"].shape == (3, 3, 32, 32) and a["depth"].shape == (3, 1, 32, 32) and a["thermal"].shape == (3, 1, 32, 32)
    assert a["keypoints"].shape == (3, 17, 3) and a["labels"].shape == (3,)
    assert 0 <= a["rgb"].min() and a["rgb"].max() <= 1
    vis = a["keypoints"][..., 2] == 2
    kp = a["keypoints"][..., :2][vis]
    assert ((kp > -0.05) & (kp < 1.05)).all()  # visible keypoints fall inside the student crop
    assert a["thermal"].max() > 30  # the student's face is in the thermal crop


def test_materialise_matches_indexing():
    ds = SynthStudentClips(CFG, 5, frames=2, crop=24)
    calls = []
    items = ds.materialise(progress=lambda done, total: calls.append((done, total)))
    assert len(items) == 5 and calls == [(1, 2), (2, 2)]  # 5 samples of 3 students: 2 clips
    assert torch.equal(items[4]["rgb"], ds[4]["rgb"])
    assert [x["label"] for x in items] == [ds[i]["label"] for i in range(5)]
    pooled = ds.materialise(workers=2)  # rendered in worker processes, passed back as arrays
    assert all(torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["keypoints"], b["keypoints"]) for a, b in zip(items, pooled))


def test_disk_samples_match_streamed(tmp_path):
    cfg = SynthConfig(clips=1, frames=2, students=3, width=160, height=96)
    export_dataset(cfg, tmp_path)
    disk = DiskStudentClips(tmp_path, "train", crop=24)
    streamed = SynthStudentClips(cfg, 3, frames=2, crop=24)
    assert len(disk) == 3
    for i in range(3):
        # boxes are stored to 0.01 px, so crops agree to interpolation precision
        assert (disk[i]["rgb"] - streamed[i]["rgb"]).abs().mean() < 2e-3 and disk[i]["label"] == streamed[i]["label"]
        assert (disk[i]["thermal"] - streamed[i]["thermal"]).abs().mean() < 0.02


def test_bad_vocabulary_and_missing_dataset_are_named(tmp_path):
    import pytest

    from smartclass.errors import DataError

    with pytest.raises(ValueError, match="unknown label vocabulary 'verbs'"):
        SynthStudentClips(CFG, 2, vocabulary="verbs")
    with pytest.raises(DataError, match="data set folder not found"):
        DiskStudentClips(tmp_path / "absent", "test")
