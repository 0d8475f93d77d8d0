"""Ctrl-C on a real long command: exit status 130, one line saying what was kept and how to resume, no worker
left running, and the next run picks up where it stopped."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _cmdlines_mentioning(text: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if text in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    state = (d / "stat").read_text().split(") ")[1][0]
                    if state != "Z":
                        pids.append(int(d.name))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_in_synth_exits_130_with_a_resume_hint_and_no_orphans(tmp_path):
    out = tmp_path / "interrupted-synth"
    args = [sys.executable, "-m", "smartclass.cli", "synth", "--out", str(out), "--clips", "40", "--frames", "6",
            "--students", "2", "--size", "128x96", "--workers", "2"]
    # a shell that started us in the background may ignore SIGINT; Ctrl-C reaches a foreground command
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    split = out / "splits" / "train.txt"
    deadline = time.monotonic() + 60
    while not (split.is_file() and split.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert split.is_file(), "the split list must exist from the start of the run"
    assert (out / "config.yaml").is_file(), "the config must exist from the start of the run"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"interrupted; kept: the complete clips in {out}/clips")
    assert f"resume with: smartclass synth --out {out} --clips 40" in line
    time.sleep(0.2)
    assert _cmdlines_mentioning(str(out)) == [], "a worker outlived the interrupted run"
    kept = split.read_text().split()
    assert kept and all((out / "clips" / c / "annotations.json").is_file() for c in kept)
    assert not (out / ".smartclass.lock").exists()


def test_a_killed_clips_temporary_folder_is_removed_by_the_next_run(tmp_path):
    from smartclass.cli import main

    out = tmp_path / "ds"
    partial = out / "clips" / f".train_00001.tmp-{os.getpid() + 100000}"
    (partial / "rgb").mkdir(parents=True)
    args = ["synth", "--out", str(out), "--clips", "1", "--frames", "1", "--students", "1", "--size", "64x48"]
    assert main(args) == 0
    assert not partial.exists()
    assert (out / "splits" / "train.txt").read_text().split() == ["train_00000"]


def test_a_second_run_on_a_locked_folder_is_refused_naming_the_pid(tmp_path, capsys):
    from smartclass.cli import main

    out = tmp_path / "ds"
    out.mkdir()
    (out / ".smartclass.lock").write_text(f"{os.getppid()}\n")
    assert main(["synth", "--out", str(out), "--clips", "1"]) == 2
    assert f"being written by another smartclass run (pid {os.getppid()}" in capsys.readouterr().err


def test_a_folder_with_another_runs_config_is_refused_unless_overwrite(tmp_path, capsys):
    from smartclass.cli import main

    out = tmp_path / "ds"
    base = ["synth", "--out", str(out), "--clips", "1", "--frames", "1", "--students", "1", "--size", "64x48"]
    assert main(base) == 0
    assert main(base + ["--seed", "3"]) == 2
    assert "holds another run's outputs with a different config: synth.seed (0 → 3)" in capsys.readouterr().err
    assert main(base + ["--clips", "2"]) == 0  # more clips of the same data set are fine
    assert main(base + ["--seed", "3", "--overwrite"]) == 0
    assert "synth:\n  clips: 1\n" in (out / "config.yaml").read_text()
    assert "  seed: 3\n" in (out / "config.yaml").read_text()
    assert (out / "splits" / "train.txt").read_text().split() == ["train_00000"]  # the old clips went
