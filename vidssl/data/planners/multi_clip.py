"""Several clips from one video with bounded temporal distance between them, sampled exactly.

SlowFast's ``get_multiple_start_end_idx`` (used for contrastive multi-view training with ``DELTA_CLIPS_MIN/MAX``)
draws clip starts independently and *rejects* draws that violate the distance bounds, keeping the last try after 100
failures, so tight bounds silently yield violating clips and the accepted distribution is whatever rejection leaves.
Here the starts are drawn **uniformly over exactly the feasible set**

    0 <= s_1 < ... ,  min_gap <= s_{k+1} - s_k <= max_gap,  s_K <= N - span

by counting: ``c_j(G)``, the number of ways ``j`` gaps sum to ``G``, is a banded running sum, so a draw is one
categorical over the total gap ``G`` (weighted by ``c_{K-1}(G) (L - G + 1)`` placements of the first clip) followed
by backward sampling of the gaps. Cost ``O(K N)`` per draw, no retries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.indexing import OutOfRange, clip_indices, last_start
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["MultiClip", "multi_clip", "sample_gapped_starts"]


def _gap_counts(num_gaps: int, total: int, lo: int, hi: int) -> list[np.ndarray]:
    """``counts[j][G]`` ∝ number of ways ``j`` gaps in ``[lo, hi]`` sum to ``G`` (each array rescaled to max 1)."""
    counts = [np.zeros(total + 1)]
    counts[0][0] = 1.0
    for _ in range(num_gaps):
        prev = np.concatenate([[0.0], np.cumsum(counts[-1])])  # prev[i] = sum of counts[-1][:i]
        g = np.arange(total + 1)
        # sum over gap in [lo, hi] of prev_counts[G - gap] = prefix[G - lo + 1] - prefix[G - hi]
        upper = np.clip(g - lo + 1, 0, total + 1)
        lower = np.clip(g - hi, 0, total + 1)
        cur = np.where(g >= lo, prev[upper] - prev[lower], 0.0)
        cur = np.maximum(cur, 0.0)  # cumsum round-off
        peak = cur.max()
        counts.append(cur / peak if peak > 0 else cur)
    return counts


def sample_gapped_starts(
    rng: np.random.Generator, num_starts: int, last: int, min_gap: int, max_gap: int | None = None
) -> np.ndarray | None:
    """Draw ``num_starts`` increasing starts in ``[0, last]`` with consecutive gaps in ``[min_gap, max_gap]``.

    Every feasible tuple has the same probability.

    Args:
        rng: generator.
        num_starts: K >= 1.
        last: largest allowed start (``N - span``).
        min_gap: smallest distance between consecutive starts (>= 0).
        max_gap: largest distance; ``None`` for unbounded.

    Returns:
        int64 ``[K]`` sorted starts, or ``None`` when no tuple fits.
    """
    if num_starts < 1 or min_gap < 0:
        raise ValueError(f"need num_starts >= 1 and min_gap >= 0, got {num_starts}, {min_gap}")
    hi_gap = last if max_gap is None else min(max_gap, max(last, 0))
    if max_gap is not None and max_gap < min_gap:
        raise ValueError(f"max_gap {max_gap} < min_gap {min_gap}")
    if last < 0 or last < (num_starts - 1) * min_gap:
        return None
    if num_starts == 1:
        return np.array([rng.integers(0, last + 1)], dtype=np.int64)
    counts = _gap_counts(num_starts - 1, last, min_gap, hi_gap)
    total_gap = np.arange(last + 1)
    weights = counts[-1] * (last - total_gap + 1)
    remaining = int(rng.choice(last + 1, p=weights / weights.sum()))
    first = int(rng.integers(0, last - remaining + 1))
    gaps = []
    for j in range(num_starts - 1, 0, -1):  # choose gap j given the remaining sum
        cand = np.arange(min_gap, min(hi_gap, remaining) + 1)
        w = counts[j - 1][remaining - cand]
        g = int(rng.choice(cand, p=w / w.sum()))
        gaps.append(g)
        remaining -= g
    return first + np.concatenate([[0], np.cumsum(gaps)]).astype(np.int64)


def multi_clip(
    meta: VideoMeta,
    rng: np.random.Generator,
    num_clips: int,
    num_frames: int,
    stride: int = 1,
    min_gap: int = 0,
    max_gap: int | None = None,
    policy: OutOfRange = "repeat_last",
) -> ClipPlan:
    """``num_clips`` clips in temporal order with start-to-start distances in ``[min_gap, max_gap]`` frames.

    Args:
        meta: the video.
        rng: generator.
        num_clips: K clips.
        num_frames: frames per clip.
        stride: frame step inside a clip.
        min_gap: smallest distance between consecutive clip starts (``span`` gives non-overlapping clips).
        max_gap: largest distance (``None``: unbounded). SlowFast's ``DELTA_CLIPS_MIN/MAX`` bound the same quantity.
        policy: padding when the video is shorter than one clip.

    Returns:
        Plan with ``indices`` int64 ``[K, num_frames]``; ``info["starts"]``, and ``info["fallback"] = True`` when
        the video is too short for the bounds and the clips were spread evenly instead.
    """
    hi = last_start(meta.num_frames, num_frames, stride)
    starts = sample_gapped_starts(rng, num_clips, hi, min_gap, max_gap)
    fallback = starts is None
    if starts is None:
        starts = np.round(np.linspace(0, max(hi, 0), num_clips)).astype(np.int64)
    idx = clip_indices(starts, num_frames, stride, meta.num_frames, policy)
    return ClipPlan(meta.video_id, idx, targets={"label": meta.label}, info={"starts": starts, "fallback": fallback})


@dataclass(frozen=True)
class MultiClip:
    """Planner: :func:`multi_clip` (e.g. two views for contrastive learning, CVRL/ρBYOL)."""

    num_clips: int
    num_frames: int
    stride: int = 1
    min_gap: int = 0
    max_gap: int | None = None
    policy: OutOfRange = "repeat_last"

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one example."""
        return multi_clip(
            meta, rng, self.num_clips, self.num_frames, self.stride, self.min_gap, self.max_gap, self.policy
        )
