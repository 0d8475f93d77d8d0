"""On-disk data sets (``docs/data-format.md``) as a PyTorch dataset of per-student clips
(:mod:`smartclass.crops` describes a sample)."""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.data import Dataset

from smartclass.clip import Clip
from smartclass.crops import student_sample
from smartclass.labels import class_names


class DiskStudentClips(Dataset):
    """Per-student samples of the clips listed in ``root/splits/<split>.txt`` (the on-disk layout)."""

    def __init__(self, root: str | os.PathLike, split: str, crop: int = 96, vocabulary: str = "fine"):
        from smartclass.clipdir import read_clip, read_student_count, split_clips

        class_names(vocabulary)
        self.root, self.crop, self.vocabulary = Path(root), crop, vocabulary
        self.clips = split_clips(root, split)
        self._read = read_clip
        self.index: list[tuple[int, int]] = []
        for c, folder in enumerate(self.clips):
            self.index += [(c, k) for k in range(read_student_count(folder))]
        self._cache: tuple[int, Clip] | None = None

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        c, k = self.index[i]
        if self._cache is None or self._cache[0] != c:
            self._cache = (c, self._read(self.clips[c]))
        clip = self._cache[1]
        return student_sample(clip, clip.students[k], self.crop, self.vocabulary)
