"""The DAVIS J&F metric against hand-computed cases and a brute-force boundary reference (PAPERS.md §6.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidssl.eval.davis_metrics import (
    ObjectScores,
    boundary_f_measure,
    boundary_tolerance,
    evaluate_sequence,
    region_similarity,
    seg2bmap,
    statistics,
    summarize,
)


def square(size: int = 64, x0: int = 20, y0: int = 20, side: int = 10) -> np.ndarray:
    m = np.zeros((size, size), bool)
    m[y0 : y0 + side, x0 : x0 + side] = True
    return m


def test_ground_truth_scores_one():
    gt = square()
    assert region_similarity(gt, gt) == 1.0
    assert boundary_f_measure(gt, gt) == 1.0


def test_empty_vs_empty_scores_one():
    empty = np.zeros((64, 64), bool)
    assert region_similarity(empty, empty) == 1.0
    assert boundary_f_measure(empty, empty) == 1.0


def test_empty_prediction_with_object_scores_zero():
    gt, empty = square(), np.zeros((64, 64), bool)
    assert region_similarity(gt, empty) == 0.0
    assert boundary_f_measure(gt, empty) == 0.0  # precision 1, recall 0
    assert boundary_f_measure(empty, gt) == 0.0  # non-empty prediction, empty ground truth


def test_one_pixel_shift_lowers_j_but_not_f_within_tolerance():
    gt, pred = square(x0=20), square(x0=21)
    # 10x10 squares overlapping on 9 columns: 90 / 110.
    assert region_similarity(gt, pred) == pytest.approx(90 / 110)
    assert boundary_tolerance(gt.shape) == 1  # ceil(0.008 * 90.5)
    assert boundary_f_measure(gt, pred) == 1.0


def test_shift_beyond_tolerance_lowers_f():
    gt, pred = square(x0=20), square(x0=23)
    f = boundary_f_measure(gt, pred)
    assert 0.0 < f < 1.0


def test_tolerance_is_eight_pixels_at_480p():
    assert boundary_tolerance((480, 854)) == 8
    assert boundary_tolerance((480, 854), bound_th=3) == 3  # >= 1 means pixels


def test_seg2bmap_hand_computed():
    seg = np.zeros((5, 5), bool)
    seg[1:4, 1:4] = True
    # A pixel is on the boundary when it differs from its east, south or south-east neighbour.
    expected = np.array(
        [
            [1, 1, 1, 1, 0],
            [1, 0, 0, 1, 0],
            [1, 0, 0, 1, 0],
            [1, 1, 1, 1, 0],
            [0, 0, 0, 0, 0],
        ],
        bool,
    )
    np.testing.assert_array_equal(seg2bmap(seg), expected)


def test_seg2bmap_last_row_and_column_rules():
    seg = np.ones((3, 3), bool)
    seg[2, 0] = False  # bottom-left: last row compares with its east neighbour only
    b = seg2bmap(seg)
    assert b[2, 0] and not b[2, 2]
    assert not b[0, 2]  # last column compares with the south neighbour only (equal here)


def brute_force_f(gt: np.ndarray, pred: np.ndarray) -> float:
    """F from definitions: boundary pixels matched if a boundary pixel of the other map is within the disk."""
    r = boundary_tolerance(gt.shape)
    bg, bp = seg2bmap(gt), seg2bmap(pred)
    pg, pp = np.argwhere(bg), np.argwhere(bp)
    if len(pg) == 0 and len(pp) == 0:
        return 1.0
    if len(pg) == 0 or len(pp) == 0:
        return 0.0
    d2 = ((pp[:, None, :] - pg[None, :, :]) ** 2).sum(-1)
    precision = float((d2.min(1) <= r * r).mean())
    recall = float((d2.min(0) <= r * r).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("seed", range(6))
def test_boundary_f_matches_brute_force_on_random_blobs(seed):
    rng = np.random.default_rng(seed)
    size = (40, 150)  # diagonal 155 → tolerance 2 px
    yy, xx = np.mgrid[: size[0], : size[1]]

    def blob() -> np.ndarray:
        cy, cx, r = rng.uniform(10, 30), rng.uniform(20, 130), rng.uniform(4, 15)
        return (yy - cy) ** 2 + ((xx - cx) * rng.uniform(0.5, 1.5)) ** 2 < r * r

    gt, pred = blob() | blob(), blob()
    assert boundary_f_measure(gt, pred) == pytest.approx(brute_force_f(gt, pred))


def test_statistics_mean_recall_decay_hand_computed():
    values = np.array([1, 1, 1, 1, 0, 0, 0, 0], float)
    mean, recall, decay = statistics(values)
    assert mean == 0.5 and recall == 0.5
    # Official bins: ids = round(linspace(1, 8, 5)) - 1 = [0, 2, 4, 5, 7] → first bin [1,1,1], last bin [0,0,0].
    assert decay == 1.0


def test_evaluate_sequence_skips_first_and_last_frames():
    gt = {t: square().astype(np.uint8) for t in range(4)}
    pred = np.zeros((4, 64, 64), np.uint8)
    pred[1] = pred[2] = square()  # frames 0 and 3 are wrong but never scored
    (obj,) = evaluate_sequence("s", gt, pred, num_frames=4)
    np.testing.assert_array_equal(obj.frames, [1, 2])
    assert obj.stats()["J-Mean"] == 1.0 and obj.stats()["F-Mean"] == 1.0


def test_evaluate_sequence_scores_only_annotated_frames_and_each_object():
    two = square().astype(np.uint8)
    two[40:50, 40:50] = 2
    gt = {0: two, 2: two, 4: two}  # sparse; frame 4 is the last of 5 and not scored
    pred = {t: two.copy() for t in range(5)}
    pred[2][two == 2] = 0  # object 2 lost on frame 2
    objs = evaluate_sequence("s", gt, pred, num_frames=5)
    assert [o.object_id for o in objs] == [1, 2]
    assert [o.frames.tolist() for o in objs] == [[2], [2]]
    assert objs[0].j[0] == 1.0 and objs[1].j[0] == 0.0 and objs[1].f[0] == 0.0


def test_prediction_must_have_full_resolution():
    gt = {0: np.zeros((8, 8), np.uint8), 1: np.zeros((8, 8), np.uint8), 2: np.zeros((8, 8), np.uint8)}
    with pytest.raises(ValueError, match="full size"):
        evaluate_sequence("s", gt, {1: np.zeros((4, 4), np.uint8)}, num_frames=3, object_ids=[1])


def _obj(seq: str, k: int, j: float, f: float) -> ObjectScores:
    return ObjectScores(seq, k, np.arange(1, 3), np.full(2, j), np.full(2, f))


def test_global_means_average_objects_not_sequences():
    objs = [_obj("a", 1, 1.0, 1.0), _obj("a", 2, 0.0, 0.0), _obj("b", 1, 1.0, 0.5)]
    s = summarize(objs)
    assert s.scores["J-Mean"] == pytest.approx(2 / 3)  # per sequence it would be (0.5 + 1) / 2 = 0.75
    assert s.scores["F-Mean"] == pytest.approx(0.5)
    assert s.scores["J&F-Mean"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert s.per_sequence["a"]["J-Mean"] == 0.5 and s.num_objects == 3
    assert set(s.per_object) == {"a_1", "a_2", "b_1"}


def test_no_scored_frames_gives_nan_not_crash():
    assert all(math.isnan(v) for v in statistics(np.zeros(0)))
