"""Output folders (check, guard, lock), paths kept inside their root, strict JSON, and worker processes that stop
with their parent."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import yaml

from smartclass.errors import ConfigError, DataError, InputError
from smartclass.io import write_json_atomic
from smartclass.runs import (
    LOCK_NAME, check_out_dir, check_out_file, guard_output, inside_root, interrupt_hint, run_lock, worker_pool,
)


def test_out_that_is_a_file_or_under_one_is_named_before_work(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(InputError, match=r"--out '.*f' is a file; expected a folder"):
        check_out_dir(f)
    with pytest.raises(InputError, match=r"'.*f' is a file, expected a folder"):
        check_out_dir(f / "run")
    with pytest.raises(InputError, match=r"--report '.*r\.txt': expected a file name ending in \.json"):
        check_out_file(tmp_path / "r.txt", "--report", (".json",))
    with pytest.raises(InputError, match="is a folder; expected a file name"):
        check_out_file(tmp_path, "--out")
    assert check_out_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"  # creatable: fine


def test_folder_with_another_config_is_refused_naming_the_keys(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"seed": 0, "train": {"lr": 0.1, "epochs": 5}}))
    same = {"seed": 0, "train": {"lr": 0.1, "epochs": 5}}
    assert guard_output(tmp_path, same) == []
    other = {"seed": 1, "train": {"lr": 0.2, "epochs": 9}}
    with pytest.raises(ConfigError, match=r"different config: seed \(0 → 1\), train\.epochs \(5 → 9\), "
                                          r"train\.lr \(0\.1 → 0\.2\); choose another --out or pass --overwrite"):
        guard_output(tmp_path, other)
    assert guard_output(tmp_path, other, ignore=("seed", "train.")) == []  # ignored keys and prefixes
    assert guard_output(tmp_path, other, overwrite=True) == ["seed", "train.epochs", "train.lr"]


def test_lock_names_the_live_run_and_takes_over_a_stale_one(tmp_path):
    lock = tmp_path / LOCK_NAME
    lock.write_text(f"{os.getppid()}\n")  # a live process other than this one
    with pytest.raises(InputError, match=rf"being written by another smartclass run \(pid {os.getppid()}"):
        with run_lock(tmp_path):
            pass
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid}\n")  # its run is gone
    with run_lock(tmp_path):
        assert lock.read_text().split() == [str(os.getpid())]
    assert not lock.exists()


def test_paths_from_data_files_stay_inside_their_root(tmp_path):
    assert inside_root(tmp_path, "a/b.txt", "x") == tmp_path / "a" / "b.txt"
    for bad in ("../x", "a/../../x", "/etc/passwd", ""):
        with pytest.raises(DataError, match=r"splits/test\.txt:3: .* must be a plain name inside"):
            inside_root(tmp_path, bad, "splits/test.txt:3")


def test_reports_are_strict_json_with_reasons(tmp_path):
    import numpy as np

    p = write_json_atomic(tmp_path / "r.json", {"psnr": float("inf"), "f1": np.float32(0.5),
                                                "per_class": [1.0, float("nan")], "deep": {"x": -float("inf")}})
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    r = json.loads(text)
    assert r["psnr"] is None and r["psnr_null_reason"] == "not finite: inf" and r["f1"] == 0.5
    assert r["per_class"] == [1.0, None] and r["per_class_null_reason"] == "[1] not finite: nan"
    assert r["deep"] == {"x": None, "x_null_reason": "not finite: -inf"}


def test_interrupt_hint_of_the_interrupted_block_is_kept(tmp_path):
    from smartclass import runs

    runs.set_command_line(["synth", "--out", "x y"])
    assert runs.command_line("--resume") == "smartclass synth --out 'x y' --resume"
    with pytest.raises(KeyboardInterrupt), interrupt_hint("outer"), interrupt_hint("inner"):
        raise KeyboardInterrupt
    assert runs.current_interrupt_hint() == "inner"
    runs.set_command_line([])
    assert runs.current_interrupt_hint() is None


def _sleep_and_report(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def _gone(pid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie (dead, not yet reaped by its new parent) counts as stopped
            if open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"):
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def _wait_for(path, within: float = 20.0) -> int:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def test_workers_stop_when_the_block_is_interrupted(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(1) as pool:
            pool.submit(_sleep_and_report, str(tmp_path / "pid"))
            pid = _wait_for(tmp_path / "pid")
            raise KeyboardInterrupt
    assert _gone(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_when_their_parent_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from smartclass.runs import worker_pool
        from tests.test_runs import _sleep_and_report
        with worker_pool(1) as pool:
            pool.submit(_sleep_and_report, {str(tmp_path / 'pid')!r})
            time.sleep(60)
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=root)
    try:
        pid = _wait_for(tmp_path / "pid")
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert _gone(pid), "the worker outlived its killed parent"
