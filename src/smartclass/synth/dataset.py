"""SmartClass-Synth as a PyTorch dataset of per-student clips (:mod:`smartclass.crops` describes a sample).

Sample ``i`` of :class:`SynthStudentClips` is rendered the same way every time (no disk needed); students of
one clip are consecutive samples and the last clip is cached, so iterate in order (or use ``materialise``).
"""

from __future__ import annotations

from typing import Callable, Iterable

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from smartclass.crops import student_sample
from smartclass.labels import class_names
from smartclass.synth.config import SynthConfig


class SynthStudentClips(Dataset):
    """``length`` per-student samples streamed from SmartClass-Synth (deterministic per index).

    ``cfg.frames`` is overridden by ``frames``; classes are balanced by the generator for ``vocabulary``.
    """

    def __init__(self, cfg: SynthConfig, length: int, frames: int = 16, crop: int = 96, vocabulary: str = "fine"):
        import dataclasses

        class_names(vocabulary)
        self.cfg = dataclasses.replace(cfg, frames=frames, vocabulary=vocabulary)
        self.length, self.crop, self.vocabulary = length, crop, vocabulary
        self._cache: tuple[int, list[dict]] | None = None

    def __len__(self) -> int:
        return self.length

    def clip_samples(self, clip_index: int) -> list[dict]:
        from smartclass.synth.generator import render_clip

        if self._cache is None or self._cache[0] != clip_index:
            clip = render_clip(self.cfg, clip_index)
            self._cache = (clip_index, [student_sample(clip, s, self.crop, self.vocabulary) for s in clip.students])
        return self._cache[1]

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.length:
            raise IndexError(f"sample {i} out of range for {self.length} samples")
        k = self.cfg.students
        return self.clip_samples(i // k)[i % k]

    def materialise(self, workers: int = 1, progress: Callable[[int, int], None] | None = None) -> list[dict]:
        """Every sample, rendered once (in ``workers`` processes) and kept in memory; ``progress(done, total)``
        is called after each clip."""
        k = self.cfg.students
        n_clips = -(-self.length // k)
        per_clip = []

        def collect(clips: Iterable[list[dict]]) -> None:
            for clip in clips:
                per_clip.append(clip)
                if progress:
                    progress(len(per_clip), n_clips)

        if workers <= 1:
            collect(self.clip_samples(c) for c in range(n_clips))
        else:
            from smartclass.runs import worker_pool

            with worker_pool(workers) as pool:  # workers stop with this process (Ctrl-C or killed)
                jobs = [(self.cfg, c, self.crop, self.vocabulary) for c in range(n_clips)]
                collect([{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()} for s in clip]
                        for clip in pool.map(_render_samples, jobs))
        return [s for clip in per_clip for s in clip][: self.length]


def _render_samples(args: tuple[SynthConfig, int, int, str]) -> list[dict]:
    from smartclass.synth.generator import render_clip

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    cfg, index, crop, vocabulary = args
    clip = render_clip(cfg, index)
    # tensors as numpy arrays: torch would pass each through a shared-memory file descriptor, and thousands
    # of samples then exhaust the process's descriptors ("received 0 items of ancdata")
    return [{k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in student_sample(clip, s, crop, vocabulary).items()}
            for s in clip.students]
