"""Generic clip planners: one random clip, K evenly spaced clips, sliding windows, TSN segments.

All are pure functions of ``(VideoMeta, rng)`` returning a :class:`~vidssl.types.ClipPlan`; the dataclass wrappers
(``RandomClip(16, stride=2)``...) give the ``plan(meta, rng, other=None)`` signature datasets and tasks use.
Semantics follow mmaction2 ``SampleFrames`` / ``UniformSample`` and pytorchvideo's samplers (PEERS.md §6), with
their known off-by-ones fixed: the last valid start is ``num_frames_total - span`` (see :mod:`.indexing`), and
evenly spaced test clips end exactly on the last frame instead of skipping the tail (SlowFast #169).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.indexing import OutOfRange, clip_indices, fit_indices, last_start
from vidssl.types import ClipPlan, VideoMeta

__all__ = [
    "ConstantClips",
    "RandomClip",
    "SlidingClips",
    "TSNSegments",
    "constant_clips",
    "random_clip",
    "sliding_clips",
    "tsn_segments",
]


def _targets(meta: VideoMeta) -> dict[str, int]:
    return {"label": meta.label}


def random_clip(
    meta: VideoMeta, rng: np.random.Generator, num_frames: int, stride: int = 1, policy: OutOfRange = "repeat_last"
) -> ClipPlan:
    """One clip with a uniformly random start (mmaction2 train mode with ``num_clips=1``).

    Returns:
        Plan with ``indices`` int64 ``[num_frames]``; ``info["start"]`` the first frame. Videos shorter than the
        span start at 0 and are padded by ``policy``.
    """
    hi = last_start(meta.num_frames, num_frames, stride)
    start = int(rng.integers(0, hi + 1)) if hi > 0 else 0
    idx = clip_indices(start, num_frames, stride, meta.num_frames, policy)
    return ClipPlan(meta.video_id, idx, targets=_targets(meta), info={"start": start})


def constant_clips(
    meta: VideoMeta, num_clips: int, num_frames: int, stride: int = 1, policy: OutOfRange = "repeat_last"
) -> ClipPlan:
    """``num_clips`` clips evenly spaced over the whole video, for testing (video-level accuracy, retrieval).

    Start ``k`` is ``round(k * L / (K - 1))`` with ``L`` the last valid start, so the first clip starts on frame 0
    and the last ends on the last frame (mmaction2 test mode / pytorchvideo ``ConstantClipsPerVideoSampler``);
    one clip is centred. Deterministic.

    Returns:
        Plan with ``indices`` int64 ``[num_clips, num_frames]``; ``info["starts"]``.
    """
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    hi = max(last_start(meta.num_frames, num_frames, stride), 0)
    if num_clips == 1:
        starts = np.array([hi // 2], dtype=np.int64)
    else:
        starts = np.round(np.arange(num_clips) * hi / (num_clips - 1)).astype(np.int64)
    idx = clip_indices(starts, num_frames, stride, meta.num_frames, policy)
    return ClipPlan(meta.video_id, idx, targets=_targets(meta), info={"starts": starts})


def sliding_clips(
    meta: VideoMeta,
    num_frames: int,
    stride: int = 1,
    step: int | None = None,
    backpad_last: bool = True,
    policy: OutOfRange = "repeat_last",
) -> ClipPlan:
    """Consecutive windows every ``step`` frames (pytorchvideo ``UniformClipSampler``).

    Args:
        meta: the video.
        num_frames: frames per clip.
        stride: frame step inside a clip.
        step: frames between clip starts; defaults to the span (non-overlapping clips).
        backpad_last: add a final clip ending on the last frame when the regular grid stops short of it, so the
            tail is covered (pytorchvideo ``backpad_last``).
        policy: padding for videos shorter than one clip.

    Returns:
        Plan with ``indices`` int64 ``[K, num_frames]``; ``info["starts"]``.
    """
    hi = last_start(meta.num_frames, num_frames, stride)
    step = step or (num_frames - 1) * stride + 1
    if hi <= 0:
        starts = np.zeros(1, dtype=np.int64)
    else:
        starts = np.arange(0, hi + 1, step, dtype=np.int64)
        if backpad_last and starts[-1] != hi:
            starts = np.append(starts, hi)
    idx = clip_indices(starts, num_frames, stride, meta.num_frames, policy)
    return ClipPlan(meta.video_id, idx, targets=_targets(meta), info={"starts": starts})


def tsn_segments(
    meta: VideoMeta,
    rng: np.random.Generator,
    num_segments: int,
    frames_per_segment: int = 1,
    test_mode: bool = False,
    policy: OutOfRange = "repeat_last",
) -> ClipPlan:
    """Temporal Segment Network sampling: split the video into equal segments, take a snippet from each.

    Segment ``k`` covers frames ``[k N / K, (k + 1) N / K)``; training draws one random frame inside each segment,
    test mode takes each segment's centre (Wang et al., TSN, ECCV 2016; mmaction2 ``UniformSample``). Each snippet is
    ``frames_per_segment`` consecutive frames from there. Videos with fewer frames than segments repeat frames.

    Returns:
        Plan with ``indices`` int64 ``[num_segments, frames_per_segment]``.
    """
    if num_segments < 1:
        raise ValueError(f"num_segments must be >= 1, got {num_segments}")
    n = meta.num_frames
    edges = np.linspace(0.0, n, num_segments + 1)
    lo, width = edges[:-1], np.diff(edges)
    offset = np.full(num_segments, 0.5) if test_mode else rng.random(num_segments)
    first = np.minimum(np.floor(lo + offset * width).astype(np.int64), max(n - 1, 0))
    idx = fit_indices(first[:, None] + np.arange(frames_per_segment), n, policy, meta.video_id)
    return ClipPlan(meta.video_id, idx, targets=_targets(meta), info={"segment_edges": edges})


@dataclass(frozen=True)
class RandomClip:
    """Planner: :func:`random_clip` with fixed settings (e.g. ``RandomClip(16, stride=2)``)."""

    num_frames: int
    stride: int = 1
    policy: OutOfRange = "repeat_last"

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example."""
        return random_clip(meta, rng, self.num_frames, self.stride, self.policy)


@dataclass(frozen=True)
class ConstantClips:
    """Planner: :func:`constant_clips` (test-time K clips per video)."""

    num_clips: int
    num_frames: int
    stride: int = 1
    policy: OutOfRange = "repeat_last"

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example (``rng`` unused: test clips are deterministic)."""
        return constant_clips(meta, self.num_clips, self.num_frames, self.stride, self.policy)


@dataclass(frozen=True)
class SlidingClips:
    """Planner: :func:`sliding_clips` (every window of a video, e.g. for feature extraction)."""

    num_frames: int
    stride: int = 1
    step: int | None = None
    backpad_last: bool = True
    policy: OutOfRange = "repeat_last"

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example (deterministic)."""
        return sliding_clips(meta, self.num_frames, self.stride, self.step, self.backpad_last, self.policy)


@dataclass(frozen=True)
class TSNSegments:
    """Planner: :func:`tsn_segments`."""

    num_segments: int
    frames_per_segment: int = 1
    test_mode: bool = False
    policy: OutOfRange = "repeat_last"

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example."""
        return tsn_segments(meta, rng, self.num_segments, self.frames_per_segment, self.test_mode, self.policy)
