"""Benchmark bookkeeping: every result file records the machine, threads, versions and command."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from pathlib import Path
from typing import Any

from smartclass.io import write_json_atomic

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def environment() -> dict[str, Any]:
    """Machine, thread count and library versions, for the header of every result file."""
    import cv2
    import numpy
    import torch

    import smartclass

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()},
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "versions": {
            "python": sys.version.split()[0],
            "smartclass": smartclass.__version__,
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "opencv": cv2.__version__,
        },
    }


def write_results(name: str, results: Any, command: str | None = None, out_dir: str | Path | None = None) -> Path:
    """Write ``benchmarks/results/<name>.json`` atomically: environment + command + results."""
    out = Path(out_dir) if out_dir is not None else RESULTS_DIR
    payload = {
        "benchmark": name,
        "command": command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **environment(),
        "results": results,
    }
    return write_json_atomic(out / f"{name}.json", payload)


def print_table(rows: list[dict[str, Any]], columns: list[str] | None = None, title: str | None = None) -> None:
    """Print ``rows`` as a rich table (numbers to 4 significant figures)."""
    from rich.console import Console
    from rich.table import Table

    if not rows:
        return
    columns = columns or list(rows[0])
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in columns])
    Console().print(table)
