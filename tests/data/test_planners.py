"""Property tests for the generic planners: bounds, spacing, tail coverage, exact gap sampling."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from vidssl.data.planners import (
    ConstantClips,
    MultiClip,
    RandomClip,
    TSNSegments,
    clip_span,
    constant_clips,
    fit_indices,
    last_start,
    random_clip,
    sample_gapped_starts,
    sliding_clips,
    tsn_segments,
)
from vidssl.types import VideoMeta


def meta(n: int = 48, fps: float = 16.0, **kw) -> VideoMeta:
    return VideoMeta(video_id=f"v{n}", path=f"/x/v{n}.mp4", num_frames=n, fps=fps, **kw)


def test_span_and_last_start_are_inclusive():
    assert clip_span(16, 2) == 31
    assert last_start(48, 16, 2) == 17  # start 17 → frames 17..47
    assert last_start(31, 16, 2) == 0


@pytest.mark.parametrize("n,t,stride", [(48, 8, 1), (48, 16, 2), (31, 16, 2), (10, 16, 1), (1, 4, 3)])
def test_random_clip_bounds_and_every_start_reachable(n, t, stride):
    m = meta(n)
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(400):
        p = random_clip(m, rng, t, stride)
        assert p.indices.shape == (t,)
        assert p.indices.min() >= 0 and p.indices.max() <= n - 1
        assert np.all(np.diff(p.indices) >= 0)
        starts.add(p.info["start"])
    hi = last_start(n, t, stride)
    assert starts == set(range(max(hi, 0) + 1))  # the last valid start is drawn too (no off-by-one)


def test_random_clip_padding_policies():
    m = meta(5)
    rng = np.random.default_rng(0)
    assert random_clip(m, rng, 8, 1, "repeat_last").indices.tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    assert random_clip(m, rng, 8, 1, "loop").indices.tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    with pytest.raises(ValueError, match="5 frames"):
        random_clip(m, rng, 8, 1, "error")
    with pytest.raises(ValueError, match="no frames"):
        fit_indices(np.array([0]), 0, "repeat_last")


@pytest.mark.parametrize("n,k,t,stride", [(48, 10, 8, 1), (300, 10, 16, 2), (17, 3, 16, 1), (100, 1, 16, 1)])
def test_constant_clips_cover_head_and_tail(n, k, t, stride):
    p = constant_clips(meta(n), k, t, stride)
    assert p.indices.shape == (k, t)
    if k > 1:
        assert p.indices[0, 0] == 0
        assert p.indices[-1, -1] == n - 1  # the tail is covered (SlowFast #169)
        gaps = np.diff(p.info["starts"])
        assert gaps.max() - gaps.min() <= 1  # evenly spaced up to rounding
    else:
        hi = last_start(n, t, stride)
        assert p.info["starts"][0] == hi // 2
    assert p.indices.max() <= n - 1


def test_constant_clips_are_deterministic_planner():
    planner = ConstantClips(4, 8)
    a = planner(meta(), np.random.default_rng(1)).indices
    b = planner(meta(), np.random.default_rng(2)).indices
    np.testing.assert_array_equal(a, b)


def test_sliding_clips_backpad_last():
    p = sliding_clips(meta(48), 16, 1)
    assert p.info["starts"].tolist() == [0, 16, 32]
    p = sliding_clips(meta(50), 16, 1)
    assert p.info["starts"].tolist() == [0, 16, 32, 34]  # extra clip ends on frame 49
    assert p.indices[-1, -1] == 49
    p = sliding_clips(meta(50), 16, 1, backpad_last=False)
    assert p.indices[-1, -1] == 47


@pytest.mark.parametrize("n,k", [(48, 8), (100, 3), (5, 8), (8, 8)])
def test_tsn_segments_one_frame_inside_each_segment(n, k):
    m = meta(n)
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = tsn_segments(m, rng, k)
        edges = p.info["segment_edges"]
        first = p.indices[:, 0]
        assert p.indices.shape == (k, 1)
        assert np.all(first >= np.floor(edges[:-1])) and np.all(first <= np.minimum(np.ceil(edges[1:]), n) - 1 + 1e-9)
        assert np.all(np.diff(first) >= 0)
    test = TSNSegments(k, test_mode=True)(m, rng).indices[:, 0]
    centres = np.minimum(np.floor((edges[:-1] + edges[1:]) / 2), n - 1)
    np.testing.assert_array_equal(test, centres)


def test_gapped_starts_are_exactly_uniform_over_the_feasible_set():
    rng = np.random.default_rng(0)
    last, k, lo, hi = 12, 3, 2, 5
    grid = itertools.product(range(last + 1), repeat=k)
    feasible = [s for s in grid if all(lo <= s[i + 1] - s[i] <= hi for i in range(k - 1))]
    draws = 12000
    counts = collections.Counter(tuple(sample_gapped_starts(rng, k, last, lo, hi).tolist()) for _ in range(draws))
    assert set(counts) == set(feasible)  # nothing infeasible, nothing feasible missed
    expected = draws / len(feasible)
    chi2 = sum((counts[s] - expected) ** 2 / expected for s in feasible)
    assert chi2 < len(feasible) + 5 * np.sqrt(2 * len(feasible))  # ~5 sigma above the chi-square mean


def test_gapped_starts_infeasible_and_single():
    rng = np.random.default_rng(0)
    assert sample_gapped_starts(rng, 3, 5, 3) is None
    assert sample_gapped_starts(rng, 1, 0, 3).tolist() == [0]
    with pytest.raises(ValueError):
        sample_gapped_starts(rng, 2, 10, 5, 4)


@pytest.mark.parametrize("min_gap,max_gap", [(0, None), (8, 8), (8, 20), (30, 33)])
def test_multi_clip_respects_gaps(min_gap, max_gap):
    planner = MultiClip(num_clips=2, num_frames=8, stride=1, min_gap=min_gap, max_gap=max_gap)
    rng = np.random.default_rng(5)
    for _ in range(200):
        p = planner(meta(48), rng)
        starts = p.info["starts"]
        assert not p.info["fallback"]
        gap = int(np.diff(starts)[0])
        assert gap >= min_gap and (max_gap is None or gap <= max_gap)
        assert p.indices.shape == (2, 8) and p.indices.max() <= 47


def test_multi_clip_short_video_falls_back_evenly():
    p = MultiClip(num_clips=3, num_frames=8, min_gap=20)(meta(30), np.random.default_rng(0))
    assert p.info["fallback"]
    assert p.indices[0, 0] == 0 and p.indices[-1, -1] == 29


def test_random_clip_planner_carries_label():
    p = RandomClip(4)(meta(label=3), np.random.default_rng(0))
    assert p.targets["label"] == 3
