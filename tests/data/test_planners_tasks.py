"""Property tests for the pretext-task planners: ordering, gaps, labels, class ratios, regions, audio windows."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from vidssl.data.planners import (
    AudioVisualPairs,
    ClipOrder,
    ColorizationFrames,
    ShuffleAndLearn,
    TrackingPairs,
    choose_window,
    permutation_index,
    window_scores,
)
from vidssl.types import VideoMeta


def meta(n: int = 48, fps: float = 16.0, vid: str = "v", **kw) -> VideoMeta:
    return VideoMeta(video_id=vid, path=f"/x/{vid}.mp4", num_frames=n, fps=fps, **kw)


# ---------------------------------------------------------------- Shuffle and Learn
@pytest.mark.parametrize(
    "planner,m",
    [
        (ShuffleAndLearn.tiny(), meta(48)),
        (ShuffleAndLearn(), meta(300, fps=30.0)),
        (ShuffleAndLearn(), meta(300, fps=15.0)),
        (ShuffleAndLearn(), meta(40, fps=30.0)),  # too short for the paper gaps: shrinks, still valid
    ],
)
def test_shuffle_learn_tuples_are_valid(planner, m):
    rng = np.random.default_rng(0)
    tmin, tmax = planner.gaps_for(m)
    kinds = collections.Counter()
    for _ in range(2000):
        p = planner(m, rng)
        a, b, c, d, e = p.info["abcde"]
        assert 0 <= a < b < c < d < e <= m.num_frames - 1
        assert d - b <= tmax
        assert tmin <= b - a <= tmax and tmin <= e - d <= tmax
        kind = p.info["kind"]
        kinds[kind] += 1
        expected = {"bcd": [b, c, d], "dcb": [d, c, b], "bad": [b, a, d], "bed": [b, e, d]}[kind]
        assert p.indices.tolist() == expected
        assert p.targets["label"] == int(kind in ("bcd", "dcb"))
    assert set(kinds) == {"bcd", "dcb", "bad", "bed"}


def test_shuffle_learn_gaps_scale_with_fps():
    assert ShuffleAndLearn().gaps_for(meta(600, fps=30.0)) == (15, 60)
    assert ShuffleAndLearn().gaps_for(meta(600, fps=15.0)) == (8, 30)
    assert ShuffleAndLearn(reference_fps=None).gaps_for(meta(600, fps=15.0)) == (15, 60)


@pytest.mark.parametrize("neg_ratio", [0.75, 0.5, 0.0, 1.0])
def test_shuffle_learn_class_ratio(neg_ratio):
    planner = ShuffleAndLearn.tiny(neg_ratio=neg_ratio)
    rng = np.random.default_rng(1)
    n = 4000
    negatives = sum(planner(meta(), rng).targets["label"] == 0 for _ in range(n))
    sigma = np.sqrt(n * neg_ratio * (1 - neg_ratio))
    assert abs(negatives - n * neg_ratio) <= 4 * sigma + 1e-9


def test_shuffle_learn_reverse_negatives_keeps_endpoints():
    planner = ShuffleAndLearn.tiny(neg_ratio=1.0, reverse_negatives=True)
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(400):
        p = planner(meta(), rng)
        a, b, _c, d, e = p.info["abcde"]
        seen.add(p.info["kind"])
        assert sorted([p.indices[0], p.indices[2]]) == [b, d] and p.indices[1] in (a, e)
    assert seen == {"bad", "bed", "dab", "deb"}


def test_shuffle_learn_prefers_high_motion():
    motion = np.zeros(200, np.float32)
    motion[120:170] = 5.0  # only frames 120..169 move
    m = meta(200, motion=motion)
    planner = ShuffleAndLearn.tiny(motion_quantile=0.8)
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = planner(m, rng)
        assert p.info["motion_source"] == "motion"
        a, _b, _c, _d, e = p.info["abcde"]
        assert 120 <= e and a < 170  # the window overlaps the moving part
        overlap = min(e, 169) - max(a, 120) + 1
        assert overlap >= 0.8 * min(e - a + 1, 50) - 1
    assert planner(meta(200), rng).info["motion_source"] == "uniform"


def test_shuffle_learn_rejects_tiny_video():
    with pytest.raises(ValueError, match="at least 5 frames"):
        ShuffleAndLearn.tiny()(meta(4), np.random.default_rng(0))


def test_window_scores_and_choose_window_bounds():
    np.testing.assert_allclose(window_scores(np.array([0, 1, 2, 3.0]), 2), [0.5, 1.5, 2.5])
    m = meta(10, motion=np.ones(10, np.float32))
    assert choose_window(m, np.random.default_rng(0), 10)[0] == 0
    with pytest.raises(ValueError):
        choose_window(m, np.random.default_rng(0), 11)


# ---------------------------------------------------------------- tracking
def _moving_boxes(n: int = 48) -> dict[str, np.ndarray]:
    t = np.arange(n, dtype=np.float32)
    still = np.tile(np.array([2, 2, 10, 10], np.float32), (n, 1))
    moving = np.stack([t, 20 + 0 * t, t + 8, 28 + 0 * t], axis=1)
    moving[:5] = np.nan  # absent at the start
    return {"still": still, "ball": moving}


def test_tracking_pairs_with_boxes_pick_the_moving_object():
    planner = TrackingPairs.tiny(num_between=None)
    m = meta(extra={"boxes": _moving_boxes()})
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = planner(m, rng)
        t, delta = p.info["t"], p.info["delta"]
        assert 4 <= delta <= 12 and p.info["object"] == "ball"
        assert p.indices.tolist() == list(range(t, t + delta + 1))
        assert t >= 5 and t + delta <= 47
        assert p.regions.shape == (delta + 1, 4) and not np.isnan(p.regions).any()
        np.testing.assert_allclose(p.regions[:, 0], p.indices)  # the box of each planned frame


def test_tracking_pairs_without_boxes_leave_region_to_task():
    planner = TrackingPairs.tiny(num_between=2)
    rng = np.random.default_rng(0)
    for _ in range(100):
        p = planner(meta(), rng)
        assert p.regions is None and p.info["region_source"] == "task"
        assert len(p.indices) == 4 and p.indices[-1] - p.indices[0] == p.info["delta"]
        assert np.all(np.diff(p.indices) > 0) and p.indices[-1] <= 47
    still_only = meta(extra={"boxes": {"still": _moving_boxes()["still"]}})
    assert planner(still_only, rng).info["region_source"] == "task"
    assert TrackingPairs.tiny(num_between=0)(meta(), rng).indices.shape == (2,)


# ---------------------------------------------------------------- colorization
def test_colorization_frames_refs_then_target():
    planner = ColorizationFrames(num_refs=3, min_skip=1, max_skip=5, target_skip=None)
    rng = np.random.default_rng(0)
    skips = set()
    for _ in range(300):
        p = planner(meta(), rng)
        idx = p.indices
        assert idx.shape == (4,) and np.all(np.diff(idx) == p.info["skip"])
        assert idx.min() >= 0 and idx.max() <= 47
        skips.add(p.info["skip"])
    assert skips == {1, 2, 3, 4, 5}
    p = ColorizationFrames(num_refs=3, min_skip=2, max_skip=2, target_skip=10)(meta(), rng)
    assert np.diff(p.indices).tolist() == [2, 2, 10]
    assert ColorizationFrames(max_skip=10)(meta(8), rng).indices.max() <= 7  # skip shrinks to fit
    with pytest.raises(ValueError):
        ColorizationFrames()(meta(3), rng)


# ---------------------------------------------------------------- audio-visual
def _av_meta(vid: str, n: int = 48, fps: float = 16.0, start: float = 0.0) -> VideoMeta:
    return meta(n, fps, vid, has_audio=True, audio_start=start, audio_duration=n / fps, start_time=start)


def test_av_pairs_windows_and_labels():
    planner = AudioVisualPairs(num_frames=1, p_aligned=0.5, p_shifted=0.25)
    m, o = _av_meta("v", start=0.5), _av_meta("o", n=32)
    rng = np.random.default_rng(0)
    kinds = collections.Counter()
    for _ in range(2000):
        p = planner(m, rng, o)
        (w,) = p.audio
        kinds[p.info["kind"]] += 1
        assert abs(w.seconds - 1.0) < 1e-9
        assert p.targets["label"] == int(p.info["kind"] == "aligned")
        frame_mid = m.frame_time(p.indices[0]) + 0.5 / m.fps
        if p.info["kind"] == "aligned":
            assert w.video_id is None and abs((w.start_s + w.end_s) / 2 - frame_mid) < 1e-9
            assert 0.5 - 1e-9 <= w.start_s and w.end_s <= 3.5 + 1e-9  # inside the audio stream
        elif p.info["kind"] == "shifted":
            assert w.video_id is None and abs(p.info["offset_s"]) >= 1.0 - 1e-9
            assert 0.5 - 1e-9 <= w.start_s and w.end_s <= 3.5 + 1e-9
        else:
            assert w.video_id == "o" and 0 <= w.start_s and w.end_s <= 2.0 + 1e-9
    for kind, p_kind in [("aligned", 0.5), ("shifted", 0.25), ("other", 0.25)]:
        assert abs(kinds[kind] / 2000 - p_kind) < 0.05


def test_av_pairs_clip_and_missing_other():
    planner = AudioVisualPairs(num_frames=4, stride=2, p_aligned=0.0)
    with pytest.raises(ValueError, match="uses_other_video"):
        planner(_av_meta("v"), np.random.default_rng(0), None)
    p = AudioVisualPairs(num_frames=4, stride=2, p_aligned=1.0)(_av_meta("v"), np.random.default_rng(0))
    assert np.diff(p.indices).tolist() == [2, 2, 2]
    # a shifted negative that cannot fit (1.5 s of audio) becomes an other-video negative
    short = _av_meta("s", n=24)
    p = AudioVisualPairs(p_aligned=0.0, p_shifted=1.0)(short, np.random.default_rng(0), _av_meta("o"))
    assert p.info["kind"] == "other"


# ---------------------------------------------------------------- clip order (VCOP)
def test_permutation_index_matches_itertools():
    for k in (2, 3, 4):
        for rank, perm in enumerate(itertools.permutations(range(k))):
            assert permutation_index(perm) == rank


def test_clip_order_tuples():
    planner = ClipOrder.tiny()
    assert planner.num_classes == 6
    rng = np.random.default_rng(0)
    labels = collections.Counter()
    for _ in range(1200):
        p = planner(meta(), rng)
        idx, perm = p.indices, p.info["perm"]
        assert idx.shape == (3, 4)
        ordered = idx[np.argsort(perm)]
        assert np.all(np.diff(ordered, axis=1) == 1)
        assert np.all(ordered[1:, 0] - ordered[:-1, -1] == 1 + 2)  # interval of 2 frames between clips
        assert p.targets["order"] == permutation_index(perm)
        labels[p.targets["order"]] += 1
    assert set(labels) == set(range(6)) and min(labels.values()) > 120
    short = ClipOrder(3, 16, 8)(meta(50), rng)
    assert short.info["interval"] == 1 and short.indices.max() <= 49
