"""Choosing high-motion windows from per-frame motion in the metadata (planners never decode).

``VideoMeta.motion`` is a float32 ``[num_frames]`` motion magnitude per frame, filled either by
``vidssl-data motion`` (stored in the manifest) or by the dataset's optional once-per-video estimate
(:mod:`vidssl.data.datasets.motion`). When it is absent (or flat), windows are chosen uniformly, and the plan's
``info["motion_source"]`` says ``"uniform"`` so a run can report how many tuples were motion-guided.

Window choice (Shuffle and Learn samples tuples "from high-motion windows", PAPERS.md §1.1): score every feasible
window by its mean motion, keep windows scoring at or above the ``quantile`` of all scores, and draw among them with
probability proportional to the score.
"""

from __future__ import annotations

import numpy as np

from vidssl.types import VideoMeta

__all__ = ["choose_window", "window_scores"]


def window_scores(motion: np.ndarray, span: int) -> np.ndarray:
    """Mean motion over every window of ``span`` frames: ``[len(motion) - span + 1]`` (empty when too short)."""
    m = np.asarray(motion, dtype=np.float64)
    if span < 1 or m.size < span:
        return np.zeros(0)
    c = np.concatenate([[0.0], np.cumsum(m)])
    return (c[span:] - c[:-span]) / span


def choose_window(
    meta: VideoMeta, rng: np.random.Generator, span: int, quantile: float = 0.5
) -> tuple[int, str]:
    """Pick the first frame of a ``span``-frame window, preferring high motion.

    Args:
        meta: the video; ``meta.motion`` is used when present.
        rng: generator.
        span: window length in frames (must fit: ``span <= meta.num_frames``).
        quantile: windows scoring below this quantile of all window scores are never chosen; 0 keeps all windows
            (still weighted by motion).

    Returns:
        ``(start, source)`` with ``source`` ``"motion"`` or ``"uniform"``.
    """
    last = meta.num_frames - span
    if last < 0:
        raise ValueError(f"{meta.video_id}: window of {span} frames does not fit in {meta.num_frames} frames")
    motion = meta.motion
    if motion is not None and len(motion) >= meta.num_frames:
        scores = window_scores(np.nan_to_num(motion[: meta.num_frames]), span)
        if scores.size and np.ptp(scores) > 0:
            keep = scores >= np.quantile(scores, quantile)
            weights = np.where(keep, np.maximum(scores, 0.0), 0.0)
            if weights.sum() > 0:
                return int(rng.choice(scores.size, p=weights / weights.sum())), "motion"
    return int(rng.integers(0, last + 1)), "uniform"
