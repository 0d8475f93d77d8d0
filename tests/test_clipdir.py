"""The on-disk layout: round trip, byte-identical rewrites, and an error naming the file for each corruption."""

import dataclasses
import hashlib
import json
import shutil

import numpy as np
import pytest

from smartclass.clipdir import read_clip, split_clips, thermal_from_png, thermal_to_png, write_clip
from smartclass.errors import DataError
from smartclass.synth.config import SynthConfig
from smartclass.synth.export import export_dataset

CFG = SynthConfig(clips=2, frames=3, students=2, width=128, height=80)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    export_dataset(CFG, root)
    return root


def _digest(root):
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "config.yaml"):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_files(dataset, tmp_path):
    export_dataset(CFG, tmp_path / "again")
    assert _digest(dataset) == _digest(tmp_path / "again")
    export_dataset(dataclasses.replace(CFG, seed=1), tmp_path / "other")
    assert _digest(dataset) != _digest(tmp_path / "other")


def test_round_trip(dataset):
    from smartclass.synth.generator import render_clip

    clip = render_clip(CFG, 1)
    back = read_clip(dataset / "clips" / "train_00001")
    assert np.array_equal(back.rgb, clip.rgb) and np.array_equal(back.rgb_clean, clip.rgb_clean)
    assert np.array_equal(back.depth, clip.depth) and np.array_equal(back.depth_clean, clip.depth_clean)
    assert np.abs(back.thermal - clip.thermal).max() <= 0.005 + 1e-4  # centikelvin steps
    assert back.condition == clip.condition and back.fps == clip.fps
    for a, b in zip(back.students, clip.students):
        assert np.array_equal(a.behaviour, b.behaviour)
        assert np.abs(a.keypoints["thermal"] - b.keypoints["thermal"]).max() <= 0.005
    assert np.allclose(back.cameras["thermal"].K, clip.cameras["thermal"].K)
    assert [p.name for p in split_clips(dataset, "train")] == ["train_00000", "train_00001"]


def test_thermal_png_encoding():
    t = np.array([[-10.0, 22.37, 58.0, np.nan]], np.float32)
    back = thermal_from_png(thermal_to_png(t))
    assert np.allclose(back[0, :3], t[0, :3], atol=0.005) and np.isnan(back[0, 3])


def test_rgb_only_recordings_are_fine(dataset, tmp_path):
    clip_dir = tmp_path / "c"
    shutil.copytree(dataset / "clips" / "train_00000", clip_dir)
    for m in ("depth", "depth_clean", "thermal", "rgb_clean"):
        shutil.rmtree(clip_dir / m)
    clip = read_clip(clip_dir)
    assert clip.depth is None and clip.thermal is None and clip.rgb.shape[0] == 3


@pytest.fixture
def clip_copy(dataset, tmp_path):
    dst = tmp_path / "clip"
    shutil.copytree(dataset / "clips" / "train_00000", dst)
    return dst


def _edit_annotations(folder, fn):
    p = folder / "annotations.json"
    ann = json.loads(p.read_text())
    fn(ann)
    p.write_text(json.dumps(ann))


def test_missing_frame(clip_copy):
    (clip_copy / "depth" / "000002.png").unlink()
    with pytest.raises(DataError, match=r"depth/000002\.png: missing frame 2 of 3"):
        read_clip(clip_copy)


def test_corrupt_image(clip_copy):
    (clip_copy / "rgb" / "000001.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"rgb/000001\.png: not a readable image"):
        read_clip(clip_copy)


def test_wrong_keypoint_count(clip_copy):
    _edit_annotations(clip_copy, lambda a: a["students"][1]["frames"][2]["keypoints"].update(rgb=[[0, 0, 2]] * 16))
    with pytest.raises(DataError, match=r"annotations\.json: students\[1\]: frames\[2\]: keypoints\['rgb'\] has shape \(16, 3\), expected \(17, 3\)"):
        read_clip(clip_copy)


def test_unknown_label(clip_copy):
    _edit_annotations(clip_copy, lambda a: a["students"][0]["frames"][0].update(behaviour="juggling"))
    with pytest.raises(DataError, match="unknown behaviour label 'juggling'"):
        read_clip(clip_copy)


def test_frame_count_mismatch_and_bad_json(clip_copy):
    _edit_annotations(clip_copy, lambda a: a["students"][0]["frames"].pop())
    with pytest.raises(DataError, match="has 2 frame entries, expected num_frames = 3"):
        read_clip(clip_copy)
    (clip_copy / "calibration.json").write_text("{oops")
    with pytest.raises(DataError, match=r"calibration\.json: not valid JSON"):
        read_clip(clip_copy)


def test_wrong_image_size_and_missing_rgb(clip_copy):
    import cv2

    cv2.imwrite(str(clip_copy / "depth" / "000000.png"), np.zeros((10, 10), np.uint16))
    with pytest.raises(DataError, match="frames differ in size"):
        read_clip(clip_copy)
    shutil.rmtree(clip_copy / "rgb")
    with pytest.raises(DataError, match="RGB frames are required"):
        read_clip(clip_copy)


def test_split_list_naming_a_missing_clip(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    (root / "splits" / "val.txt").write_text("train_00000\nval_00007\n")
    with pytest.raises(DataError, match=r"val\.txt:2: clip 'val_00007' has no folder"):
        split_clips(root, "val")
    with pytest.raises(DataError, match=r"test\.txt: missing split list"):
        split_clips(root, "test")
