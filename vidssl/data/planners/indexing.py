"""Index arithmetic shared by planners: clip spans, out-of-range policies, seconds to frames.

A clip of ``num_frames`` frames taken every ``stride`` frames starting at ``start`` covers frames
``start, start + stride, ..., start + (num_frames - 1) * stride``: its *span* is ``(num_frames - 1) * stride + 1``
frames (mmaction2's test-mode ``ori_clip_len``). Using ``num_frames * stride`` instead is the off-by-one that drops
the last valid start (SlowFast #169, pytorchvideo #155).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from vidssl.types import VideoMeta

__all__ = [
    "OutOfRange",
    "clip_indices",
    "clip_span",
    "fit_indices",
    "last_start",
    "seconds_to_frames",
]

OutOfRange = Literal["repeat_last", "loop", "error"]


def clip_span(num_frames: int, stride: int = 1) -> int:
    """Frames covered from the first to the last frame of a clip, both included."""
    if num_frames < 1 or stride < 1:
        raise ValueError(f"num_frames and stride must be >= 1, got {num_frames}, {stride}")
    return (num_frames - 1) * stride + 1


def last_start(total: int, num_frames: int, stride: int = 1) -> int:
    """The largest start whose clip fits in ``total`` frames; negative when no clip fits."""
    return total - clip_span(num_frames, stride)


def fit_indices(indices: np.ndarray, total: int, policy: OutOfRange, video_id: str = "") -> np.ndarray:
    """Map indices ``>= total`` back into the video.

    Args:
        indices: int64 indices of any shape; the last axis is one clip.
        total: frames in the video.
        policy: ``repeat_last`` clamps to the last frame (mmaction2 ``out_of_bound_opt='repeat_last'``, torchcodec
            ``policy="repeat_last"``); ``loop`` wraps modulo ``total``; ``error`` raises.
        video_id: for the error message.

    Raises:
        ValueError: ``total`` is 0, or an index is out of range with ``policy="error"``.
    """
    if total <= 0:
        raise ValueError(f"{video_id}: video has no frames")
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size == 0 or idx.max() < total:
        return idx
    if policy == "repeat_last":
        return np.minimum(idx, total - 1)
    if policy == "loop":
        return idx % total
    raise ValueError(f"{video_id}: frame {int(idx.max())} requested but the video has {total} frames")


def clip_indices(
    start: int | np.ndarray, num_frames: int, stride: int, total: int, policy: OutOfRange = "repeat_last"
) -> np.ndarray:
    """Indices of clips starting at ``start`` (scalar → ``[T]``; array of K starts → ``[K, T]``)."""
    starts = np.asarray(start, dtype=np.int64)
    idx = starts[..., None] + np.arange(num_frames, dtype=np.int64) * stride
    return fit_indices(idx, total, policy)


def seconds_to_frames(meta: VideoMeta, seconds: float, minimum: int = 1) -> int:
    """Round a duration in seconds to a whole number of frames at the video's fps (at least ``minimum``)."""
    return max(minimum, round(seconds * meta.fps))
