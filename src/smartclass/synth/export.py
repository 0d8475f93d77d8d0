"""Write a SmartClass-Synth data set to the on-disk layout (``docs/data-format.md``), in parallel.

Clips are rendered in worker processes and written atomically, one folder per clip, so an interrupted run
resumes where it stopped (complete clips are skipped; the temporary folders of clips a killed run was writing
are removed) and the same config gives byte-identical files. The split list exists from the start and lists
the complete clips as they land.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from smartclass.synth.config import SynthConfig


def _render_and_write(args: tuple[SynthConfig, int, str]) -> tuple[int, int]:
    cfg, index, root = args
    import cv2

    from smartclass.clipdir import clip_id, write_clip
    from smartclass.synth.generator import render_clip

    cv2.setNumThreads(1)
    folder = write_clip(render_clip(cfg, index), root, clip_id(cfg.split, index))
    return index, sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def export_dataset(cfg: SynthConfig, out: str | os.PathLike, workers: int = 1,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Render ``cfg.clips`` clips of ``cfg.split`` into ``out``; returns counts and bytes written."""
    from smartclass.clipdir import clip_id, remove_partial_clips, write_dataset_info, write_split_list
    from smartclass.runs import worker_pool
    from smartclass.synth.generator import GENERATOR_VERSION, _check

    _check(cfg)
    out = Path(out)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    remove_partial_clips(out)  # temporary folders of clips a killed run was writing
    write_dataset_info(out, asdict(cfg) | {"conditions": list(cfg.conditions)}, GENERATOR_VERSION)
    write_split_list(out, cfg.split)  # from the start: the complete clips, updated as each one lands
    todo = [i for i in range(cfg.clips) if not (out / "clips" / clip_id(cfg.split, i)).is_dir()]
    done, nbytes = cfg.clips - len(todo), 0
    if progress:
        progress(done, cfg.clips)
    jobs = [(cfg, i, str(out)) for i in todo]
    def landed(results) -> None:
        nonlocal done, nbytes
        for _, b in results:
            done, nbytes = done + 1, nbytes + b
            write_split_list(out, cfg.split)
            if progress:
                progress(done, cfg.clips)

    if workers <= 1:
        landed(map(_render_and_write, jobs))
    else:
        with worker_pool(workers) as pool:  # workers stop with this process (Ctrl-C or killed)
            landed(pool.map(_render_and_write, jobs))
    return {"clips": cfg.clips, "rendered": len(todo), "skipped": cfg.clips - len(todo), "bytes": nbytes,
            "samples": len(todo) * cfg.students}
