"""Planners decide *which* frames (and audio) an example needs; they never decode.

A planner is any callable ``plan(meta, rng, other=None) -> ClipPlan``: a pure function of the video's metadata and a
``np.random.Generator`` (datasets seed it from ``(seed, epoch, index)``, see :mod:`vidssl.data.seeding`). Generic
planners (random clip, K evenly spaced clips, sliding windows, TSN segments, gap-bounded multi-clip) and one planner
per pretext task (Shuffle and Learn, tracking pairs, colorization, audio-visual pairs, clip order) live here::

    from vidssl.data.planners import ShuffleAndLearn
    plan = ShuffleAndLearn(neg_ratio=0.75)(meta, np.random.default_rng(0))
    plan.indices          # int64 [3], the tuple in model order
    plan.targets          # {"label": 0 or 1}
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vidssl.data.planners.audio_visual import AudioVisualPairs, audio_span
from vidssl.data.planners.clip_order import ClipOrder, permutation_index
from vidssl.data.planners.clips import (
    ConstantClips,
    RandomClip,
    SlidingClips,
    TSNSegments,
    constant_clips,
    random_clip,
    sliding_clips,
    tsn_segments,
)
from vidssl.data.planners.colorization import ColorizationFrames
from vidssl.data.planners.indexing import clip_indices, clip_span, fit_indices, last_start, seconds_to_frames
from vidssl.data.planners.motion import choose_window, window_scores
from vidssl.data.planners.multi_clip import MultiClip, multi_clip, sample_gapped_starts
from vidssl.data.planners.shuffle_learn import ShuffleAndLearn
from vidssl.data.planners.tracking import TrackingPairs
from vidssl.types import ClipPlan, VideoMeta

__all__ = [
    "AudioVisualPairs",
    "ClipOrder",
    "ColorizationFrames",
    "ConstantClips",
    "MultiClip",
    "Planner",
    "RandomClip",
    "ShuffleAndLearn",
    "SlidingClips",
    "TSNSegments",
    "TrackingPairs",
    "audio_span",
    "choose_window",
    "clip_indices",
    "clip_span",
    "constant_clips",
    "fit_indices",
    "last_start",
    "multi_clip",
    "permutation_index",
    "random_clip",
    "sample_gapped_starts",
    "seconds_to_frames",
    "sliding_clips",
    "tsn_segments",
    "window_scores",
]


class Planner(Protocol):
    """What datasets call: ``plan(meta, rng, other=None) -> ClipPlan`` (``Task.plan`` has this signature)."""

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example for ``meta`` (``other`` is a second video for tasks that need one)."""
        ...
