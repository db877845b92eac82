"""Reference and target frames for colorization-as-tracking (Vondrick et al., ECCV 2018; PAPERS.md §3.1).

The model sees ``num_refs`` gray reference frames and one gray target frame and must copy colours from the references
to the target through attention. Vondrick trains with 3 references + 1 target. Frames are ``skip`` frames apart
(one value drawn per tuple from ``[min_skip, max_skip]``); the target follows the last reference after
``target_skip`` frames (``None``: the same skip), so a larger target skip asks for longer-range correspondence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.motion import choose_window
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["ColorizationFrames"]


@dataclass(frozen=True)
class ColorizationFrames:
    """Planner: ``num_refs`` references then one target.

    Attributes:
        num_refs: reference frames (Vondrick: 3).
        min_skip: smallest distance between consecutive references.
        max_skip: largest distance between consecutive references.
        target_skip: distance from the last reference to the target; ``None`` reuses the drawn skip.
        motion_quantile: prefer moving windows when ``meta.motion`` exists (0 disables the cut-off).
    """

    num_refs: int = 3
    min_skip: int = 1
    max_skip: int = 4
    target_skip: int | None = None
    motion_quantile: float = 0.0

    def __post_init__(self) -> None:
        if self.num_refs < 1 or not 1 <= self.min_skip <= self.max_skip:
            raise ValueError(f"need num_refs >= 1 and 1 <= min_skip <= max_skip, got {self}")

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one tuple.

        Returns:
            Plan with ``indices`` int64 ``[num_refs + 1]`` (references in time order, target last) and ``info`` with
            ``skip`` and ``target_skip``. When the video is too short for the drawn skip the skip shrinks (down to
            1); ``ValueError`` when even consecutive frames do not fit.
        """
        n = meta.num_frames
        skip = int(rng.integers(self.min_skip, self.max_skip + 1))
        tskip = self.target_skip if self.target_skip is not None else skip
        while skip > 1 and (self.num_refs - 1) * skip + tskip + 1 > n:
            skip -= 1
            tskip = self.target_skip if self.target_skip is not None else skip
        span = (self.num_refs - 1) * skip + tskip + 1
        if span > n:
            raise ValueError(f"{meta.video_id}: {self.num_refs} refs + target need {span} frames, video has {n}")
        start, source = choose_window(meta, rng, span, self.motion_quantile)
        refs = start + np.arange(self.num_refs, dtype=np.int64) * skip
        idx = np.append(refs, refs[-1] + tskip)
        return ClipPlan(
            meta.video_id, idx, info={"skip": skip, "target_skip": tskip, "motion_source": source}
        )
