"""Bad input through every entry point: exit status 2 and one line naming the file, field or argument and what
was expected — never a traceback, never exit 0. Each class of bad input found by fuzzing the CLI has cases
here; every case fails before any heavy work (no training, no rendering), so the whole file runs in seconds."""

import pickle
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from smartclass.cli import main

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = next((p for p in (REPO / "checkpoints" / "mmfg" / "mmfg.pt",
                               REPO / "src" / "smartclass" / "checkpoints" / "mmfg" / "mmfg.pt") if p.is_file()), None)


class _CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: the file appearing means code from the checkpoint ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    t = tmp_path_factory.mktemp("bad")
    img = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(t / "a.png"), img)
    cv2.imwrite(str(t / "grey.png"), img[..., 0])
    cv2.imwrite(str(t / "small.png"), img[:24, :32])
    cv2.imwrite(str(t / "a.jpg"), img)
    for name in ("a.png", "a.jpg"):
        data = (t / name).read_bytes()
        (t / f"cut{Path(name).suffix}").write_bytes(data[: len(data) // 2])
    cv2.imwrite(str(t / "u16.png"), img.astype(np.uint16) * 257)
    f = img[..., 0].astype(np.float32) / 255
    f[3, 3] = np.nan
    cv2.imwrite(str(t / "nan.tiff"), f)
    (t / "text.png").write_text("not an image")
    (t / "empty.png").write_bytes(b"")
    (t / "afile").write_text("x")
    (t / "adir").mkdir()
    (t / "bad.yaml").write_text("synth: [unclosed\n")
    (t / "list.yaml").write_text("- 1\n")
    (t / "nan.yaml").write_text("train:\n  lr: .nan\n")
    # checkpoints: one that would create a file when unpickled (raw pickle and torch's zip format), garbage
    with open(t / "evil.pt", "wb") as fh:
        pickle.dump({"model": "mmfg", "x": _CreatesAFile(t / "PLANTED")}, fh)
    torch.save({"model": "mmfg", "x": _CreatesAFile(t / "PLANTED")}, t / "evil_zip.pt")
    (t / "random.pt").write_bytes(np.random.default_rng(1).bytes(300))
    torch.save([1, 2], t / "list.pt")
    for name in ("evil.pt", "evil_zip.pt"):  # a run folder whose last.pt is crafted
        (t / f"run_{name}").mkdir()
        (t / f"run_{name}" / "last.pt").write_bytes((t / name).read_bytes())
    # skeleton data
    rng = np.random.default_rng(0)
    for folder, subjects in (("utk", (1, 2)), ("utk_one", (1,)), ("utk_nan", (1, 2)), ("utk_frame", (1, 2)),
                             ("utk_dup", (1, 2))):
        root = t / folder
        root.mkdir()
        labels = []
        for s in subjects:
            rows = [f"{f} " + " ".join(f"{v:.4f}" for v in rng.normal(size=60)) for f in range(1, 61)]
            if folder == "utk_nan":
                rows[4] = rows[4].replace(rows[4].split()[7], "NaN", 1)
            if folder == "utk_frame":
                rows[6] = "7.5" + rows[6][1:]
            (root / f"joints_s{s:02d}_e01.txt").write_text("\n".join(rows) + "\n")
            labels += [f"s{s:02d}_e01", "walk: 1 30", "sitDown: 31 60"]
            labels += ["walk: 31 40"] if folder == "utk_dup" else []
        (root / "actionLabel.txt").write_text("\n".join(labels) + "\n")
    # data sets whose split list leaves the root
    for folder, entry in (("ds_up", "../../etc"), ("ds_abs", "/etc")):
        (t / folder / "splits").mkdir(parents=True)
        (t / folder / "clips").mkdir()
        (t / folder / "splits" / "test.txt").write_text(entry + "\n")
    return t


# (argv with {t} for the fixture folder, expected fragment of the one-line error)
IMAGE = ["metrics", "image", "--ref", "{t}/a.png", "--test"]
FUSION = ["metrics", "fusion", "--vi"]
BENCH = ["skeleton-bench", "--dataset", "utkinect", "--root"]
CASES = {
    # config keys: ranges, types, choices, non-finite values, files
    "count < 1": (["config", "show", "synth.frames=0"], "config key 'synth.frames': expected ≥ 1, got 0"),
    "lr = 0": (["config", "show", "train.lr=0"], "config key 'train.lr': expected > 0, got 0"),
    "lr NaN": (["config", "show", "train.lr=.nan"], "config key 'train.lr': expected a finite number, got nan"),
    "dropout 1": (["config", "show", "model.dropout=1"], "config key 'model.dropout': expected ≥ 0 and < 1, got 1"),
    "patience 0": (["config", "show", "train.patience=0"], "config key 'train.patience': expected ≥ 1, got 0"),
    "seed < 0": (["config", "show", "seed=-1"], "config key 'seed': expected ≥ 0, got -1"),
    "list item": (["config", "show", "model.gcn_channels=[8,0]"], "'model.gcn_channels': expected every item ≥ 1"),
    "wrong type": (["config", "show", "synth.frames=many"], "'synth.frames': expected an integer, got 'many'"),
    "fraction": (["config", "show", "synth.clips=1.5"], "config key 'synth.clips': expected an integer, got 1.5"),
    "choice": (["config", "show", "synth.split=dev"], "expected one of ['train', 'val', 'test'], got 'dev'"),
    "unknown key": (["config", "show", "train.learning_rate=1"], "unknown config key 'train.learning_rate'"),
    "not key=value": (["config", "show", "frames"], "override 'frames' is not of the form key=value"),
    "section scalar": (["config", "show", "synth=3"], "config key 'synth': expected a mapping of fields, got 3"),
    "yaml syntax": (["config", "show", "-c", "{t}/bad.yaml"], "bad.yaml:2:1' is not valid YAML (expected ',' or ']'"),
    "yaml folder": (["config", "show", "-c", "{t}/adir"], "config file '{t}/adir' is a folder; expected a YAML file"),
    "yaml binary": (["config", "show", "-c", "{t}/a.png"], "config file '{t}/a.png' is not text (expected YAML)"),
    "yaml list": (["config", "show", "-c", "{t}/list.yaml"], "list.yaml' must hold a mapping at the top level"),
    "yaml NaN": (["config", "show", "-c", "{t}/nan.yaml"], "config key 'train.lr': expected a finite number"),
    "yaml missing": (["config", "show", "-c", "{t}/none.yaml"], "config file '{t}/none.yaml' does not exist"),
    # command options
    "option range": (["synth", "--out", "{t}/s", "--workers", "0"], "Invalid value for '--workers'"),
    "option type": (["synth", "--out", "{t}/s", "--clips", "many"], "Invalid value for '--clips'"),
    "missing option": (["synth"], "Missing option '--out'"),
    "unknown option": (["train", "--bogus"], "No such option: --bogus"),
    "size": (["synth", "--out", "{t}/s", "--size", "10x10"], "--size: expected at least 64x48, got '10x10'"),
    "option → key": (["synth", "--out", "{t}/s", "--students", "99"], "'synth.students': expected ≥ 1 and ≤ 16"),
    "lr option": (BENCH + ["{t}/utk", "--lr", "nan"],
                  "--lr must be a positive finite number, got nan"),
    "eval spec": (["eval", "--checkpoint", "{ck}", "--data", "synth:samples=0", "--out", "{t}/e/r.json"],
                  "--data synth:samples=0: samples must be an integer ≥ 1, got '0'"),
    # outputs found unusable before any work
    "out is a file": (["synth", "--out", "{t}/afile"], "--out '{t}/afile' is a file; expected a folder"),
    "out under a file": (["train", "--out", "{t}/afile/run"], "'{t}/afile' is a file, expected a folder"),
    "cache is a file": (["train", "--out", "{t}/t", "train.cache_dir={t}/afile"],
                        "train.cache_dir '{t}/afile' is a file; expected a folder"),
    "report name": (["eval", "--checkpoint", "{ck}", "--out", "{t}/r.txt"], "expected a file name ending in .json"),
    "predictions": (["eval", "--checkpoint", "{ck}", "--out", "{t}/e/r.json", "--predictions", "{t}/p.txt"],
                    "--predictions '{t}/p.txt': expected a file name ending in .csv or .jsonl"),
    "bench out": (BENCH + ["{t}/utk", "--out", "{t}/afile/r.json"],
                  "'{t}/afile' is a file, expected a folder"),
    # checkpoints
    "checkpoint missing": (["eval", "--checkpoint", "{t}/none.pt"], "checkpoint '{t}/none.pt' does not exist"),
    "checkpoint garbage": (["eval", "--checkpoint", "{t}/random.pt"], "'{t}/random.pt' holds something other"),
    "checkpoint text": (["eval", "--checkpoint", "{t}/text.png"], "checkpoint '{t}/text.png' holds something other"),
    "checkpoint empty": (["eval", "--checkpoint", "{t}/empty.png"], "checkpoint '{t}/empty.png' is not a readable"),
    "checkpoint list": (["eval", "--checkpoint", "{t}/list.pt"], "'{t}/list.pt' is not a smartclass checkpoint"),
    # images
    "image missing": (IMAGE + ["{t}/none.png"], "--test image '{t}/none.png' does not exist"),
    "image folder": (IMAGE + ["{t}/adir"], "--test image '{t}/adir' is a folder"),
    "not an image": (IMAGE + ["{t}/text.png"], "'{t}/text.png' could not be decoded"),
    "empty image": (IMAGE + ["{t}/empty.png"], "'{t}/empty.png' could not be decoded"),
    "truncated PNG": (IMAGE + ["{t}/cut.png"], "'{t}/cut.png' is a truncated PNG"),
    "truncated JPEG": (FUSION + ["{t}/a.jpg", "--ir", "{t}/cut.jpg", "--fused", "{t}/a.jpg"],
                       "--ir image '{t}/cut.jpg' is a truncated JPEG"),
    "16-bit image": (IMAGE + ["{t}/u16.png"],
                     "'{t}/u16.png' holds uint16 values; expected an 8-bit image"),
    "float NaN image": (FUSION + ["{t}/grey.png", "--ir", "{t}/nan.tiff", "--fused", "{t}/grey.png"],
                        "'{t}/nan.tiff' holds float32 values, some of them NaN or inf; expected an 8-bit image"),
    "image sizes": (IMAGE + ["{t}/small.png"], "image sizes differ"),
    "image channels": (IMAGE + ["{t}/grey.png"], "differ in channels"),
    "fusion mode": (FUSION + ["{t}/a.png", "--ir", "{t}/a.png", "--fused", "{t}/a.png", "--mode", "x"],
                    "mode must be 'standard' or 'vifb', got 'x'"),
    # skeleton data and protocols
    "NaN joints": (BENCH + ["{t}/utk_nan", "--model", "so3-svm"],
                   "joints_s01_e01.txt:5: expected finite numbers, got NaN or inf"),
    "frame number": (BENCH + ["{t}/utk_frame", "--model", "so3-svm"],
                     "joints_s01_e01.txt:7: frame number 7.5 is not a whole number"),
    "duplicate action": (BENCH + ["{t}/utk_dup", "--model", "so3-svm"],
                         "actionLabel.txt:4: action 'walk' appears twice for s01_e01"),
    "no test subject": (BENCH + ["{t}/utk_one", "--model", "so3-svm"],
                        "the data has 1 subject [1]; expected at least 2"),
    "labels outside": (BENCH + ["{t}/utk", "--labels", "../utk/actionLabel.txt"],
                       "--labels: '../utk/actionLabel.txt' must be a plain name inside '{t}/utk'"),
    "labels absolute": (BENCH + ["{t}/utk", "--labels", "/etc/passwd"],
                        "--labels: '/etc/passwd' must be a plain name inside"),
    "root is a file": (BENCH + ["{t}/afile"], "UTKinect root '{t}/afile' is not a directory"),
    "demo root file": (["demo", "--out", "{t}/demo", "--root", "{t}/afile", "--frames", "1"],
                       "'{t}/afile' is a file; expected the UTKinect-Action3D folder"),
    # data-set split lists that leave their root
    "split id ..": (["eval", "--checkpoint", "{ck}", "--data", "{t}/ds_up", "--out", "{t}/e/r.json"],
                    "splits/test.txt:1: '../../etc' must be a plain name inside"),
    "split id /": (["eval", "--checkpoint", "{ck}", "--data", "{t}/ds_abs", "--out", "{t}/e/r.json"],
                   "splits/test.txt:1: '/etc' must be a plain name inside"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_naming_it_with_exit_2(name, files, capsys):
    argv, expected = CASES[name]
    if any("{ck}" in a for a in argv) and CHECKPOINT is None:
        pytest.skip("no shipped recogniser checkpoint")
    fill = lambda s: s.replace("{t}", str(files)).replace("{ck}", str(CHECKPOINT))  # noqa: E731
    assert main([fill(a) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert fill(expected) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and err.startswith("error: ")


@pytest.mark.parametrize("argv", [
    ["eval", "--checkpoint", "{t}/evil.pt"], ["eval", "--checkpoint", "{t}/evil_zip.pt"],
    ["train", "--out", "{t}/run_evil.pt", "--resume", "train.train_samples=2", "train.val_samples=1",
     "train.cache_dir={t}/cache"],
    ["train", "--out", "{t}/run_evil_zip.pt", "--resume", "train.train_samples=2", "train.val_samples=1",
     "train.cache_dir={t}/cache"],
])
def test_crafted_checkpoint_is_refused_before_any_of_its_code_runs(argv, files, capsys, monkeypatch):
    import smartclass.training.recognizer as recognizer

    # resume must read the checkpoint before rendering any data: fail loudly if it tried
    monkeypatch.setattr(recognizer, "synth_data", lambda *a, **k: pytest.fail("rendered data before reading last.pt"))
    argv = [a.replace("{t}", str(files)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    name = "last.pt" if argv[0] == "train" else Path(argv[2]).name
    assert f"{name}' holds something other than tensors and plain values; refused without running it" in err
    assert len(err.strip().splitlines()) == 1
    assert not (files / "PLANTED").exists(), "unpickling the checkpoint ran its code"


def test_crafted_checkpoint_through_the_loader(files):
    from smartclass.errors import InputError
    from smartclass.training.recognizer import load_checkpoint

    for name in ("evil.pt", "evil_zip.pt"):
        with pytest.raises(InputError, match=rf"{name}' holds something other than tensors.*refused without running"):
            load_checkpoint(files / name)
    assert not (files / "PLANTED").exists()


def test_bad_input_creates_no_output_folder(files, capsys):
    for argv in (["synth", "--out", f"{files}/s1", "--students", "99"], ["train", "--out", f"{files}/t1", "train.lr=0"],
                 ["eval", "--checkpoint", f"{files}/none.pt", "--out", f"{files}/e1/r.json"],
                 ["demo", "--out", f"{files}/d1", "--frames", "0"]):
        assert main(argv) == 2
    assert not any((files / d).exists() for d in ("s1", "t1", "e1", "d1"))


def _edit_annotations(edit):
    def apply(clip: Path) -> None:
        import json

        a = json.loads((clip / "annotations.json").read_text())
        edit(a)
        (clip / "annotations.json").write_text(json.dumps(a))
    return apply


def _rewrite(name: str, fn):
    return lambda clip: (clip / name).write_bytes(fn((clip / name).read_bytes()))


DATASET_CASES = {
    "NaN in JSON": (_rewrite("annotations.json", lambda b: b.replace(b'"fps":', b'"x":NaN,"fps":', 1)),
                    "annotations.json: holds NaN, which is not JSON"),
    "not JSON": (_rewrite("annotations.json", lambda b: b"{"), "annotations.json: not valid JSON"),
    "JSON list": (_rewrite("calibration.json", lambda b: b"[]"), "calibration.json: expected a JSON object"),
    "num_frames": (_edit_annotations(lambda a: a.update(num_frames=1.5)), "num_frames = 1.5; expected a whole number"),
    "fps": (_edit_annotations(lambda a: a.update(fps=0)), "fps = 0; expected a finite number > 0"),
    "students": (_edit_annotations(lambda a: a.update(students=3)), "'students' must be a list of student tracks"),
    "track id": (_edit_annotations(lambda a: a["students"][0].update(track_id="a")),
                 "students[0]: malformed (ValueError"),
    "box": (_edit_annotations(lambda a: a["students"][0]["frames"][0]["boxes"].update(rgb=["x", 1, 2, 3])),
            "students[0]: malformed (ValueError: could not convert string to float"),
    "infinite box": (_rewrite("annotations.json",  # 1e999 is valid JSON syntax, and infinite
                              lambda b: re.sub(rb'("boxes":\{"rgb":\[)[^,]+', rb"\g<1>1e999", b, count=1)),
                     "students[0]: frames[0]: boxes['rgb'] holds NaN or inf"),
    "truncated frame": (_rewrite("rgb/000000.png", lambda b: b[:300]), "rgb/000000.png: truncated PNG"),
    "16-bit RGB": (lambda c: cv2.imwrite(str(c / "rgb" / "000000.png"), np.zeros((48, 64, 3), np.uint16)),
                   "rgb/000000.png: uint16 pixels; expected uint8"),
    "8-bit depth": (lambda c: cv2.imwrite(str(c / "depth" / "000000.png"), np.zeros((24, 32), np.uint8)),
                    "depth/000000.png: uint8 pixels; expected uint16"),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ds") / "ok"
    assert main(["synth", "--out", str(root), "--clips", "1", "--frames", "1", "--students", "1", "--size", "64x48",
                 "--split", "test"]) == 0
    return root


@pytest.mark.parametrize("name", list(DATASET_CASES))
def test_bad_data_set_files_are_named(name, dataset, tmp_path):
    import shutil

    from smartclass.clipdir import read_clip
    from smartclass.errors import DataError

    edit, expected = DATASET_CASES[name]
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    clip = root / "clips" / "test_00000"
    edit(clip)
    with pytest.raises(DataError) as e:
        read_clip(clip)
    assert str(clip) in str(e.value) and expected in str(e.value)
