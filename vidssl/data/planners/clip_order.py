"""Clip order prediction tuples (VCOP: Xu et al., CVPR 2019; PAPERS.md §5.2).

``num_clips`` clips of ``clip_len`` frames separated by ``interval`` frames are cut from a uniformly drawn position,
then shuffled; the label is the index of the permutation among all ``num_clips!`` (lexicographic order, as
``itertools.permutations(range(num_clips))`` lists them). VCOP: 3 clips × 16 frames, interval 8, 6 classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.indexing import OutOfRange, clip_indices
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["ClipOrder", "permutation_index"]


def permutation_index(perm: np.ndarray | list[int]) -> int:
    """Lexicographic rank of ``perm`` among the permutations of ``range(len(perm))`` (Lehmer code)."""
    p = list(perm)
    rank = 0
    for i, v in enumerate(p):
        smaller_after = sum(1 for w in p[i + 1 :] if w < v)
        rank += smaller_after * math.factorial(len(p) - 1 - i)
    return rank


@dataclass(frozen=True)
class ClipOrder:
    """Planner for VCOP tuples.

    Attributes:
        num_clips: clips per tuple (VCOP 3 → 6 classes).
        clip_len: frames per clip (VCOP 16).
        interval: frames skipped between consecutive clips (VCOP 8).
        stride: frame step inside a clip.
        policy: padding when even ``interval = 0`` does not fit (VCOP drops such videos instead).
    """

    num_clips: int = 3
    clip_len: int = 16
    interval: int = 8
    stride: int = 1
    policy: OutOfRange = "repeat_last"

    @classmethod
    def tiny(cls, **kw: object) -> ClipOrder:
        """Preset for 48-frame clips: 3 × 4 frames, interval 2."""
        return cls(**{"num_clips": 3, "clip_len": 4, "interval": 2, **kw})

    @property
    def num_classes(self) -> int:
        """``num_clips!``."""
        return math.factorial(self.num_clips)

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one tuple.

        Returns:
            Plan with ``indices`` int64 ``[num_clips, clip_len]`` *in shuffled order*, ``targets["order"]`` the
            permutation index, and ``info`` with ``starts`` (time order), ``perm`` (row ``i`` is clip ``perm[i]``
            in time order), ``interval`` (shrunk for short videos) and ``fallback``.
        """
        span = (self.clip_len - 1) * self.stride + 1
        interval = self.interval
        need = self.num_clips * span + (self.num_clips - 1) * interval
        if need > meta.num_frames:
            interval = max(0, (meta.num_frames - self.num_clips * span) // max(self.num_clips - 1, 1))
            need = self.num_clips * span + (self.num_clips - 1) * interval
        hi = meta.num_frames - need
        start = int(rng.integers(0, hi + 1)) if hi > 0 else 0
        starts = start + np.arange(self.num_clips, dtype=np.int64) * (span + interval)
        clips = clip_indices(starts, self.clip_len, self.stride, meta.num_frames, self.policy)
        perm = rng.permutation(self.num_clips)
        return ClipPlan(
            meta.video_id,
            clips[perm],
            targets={"order": permutation_index(perm)},
            info={"starts": starts, "perm": perm, "interval": interval, "fallback": hi < 0},
        )
