import pytest

from vidssl.train.label_budget import labels_per_class
from vidssl.types import VideoMeta


def _videos(per_class=(5, 5, 2)):
    out = []
    for label, n in enumerate(per_class):
        out += [VideoMeta(f"c{label}_v{i}", f"c{label}_v{i}.mp4", 48, 16.0, label=label) for i in range(n)]
    return [*out, VideoMeta("unlabelled", "u.mp4", 48, 16.0, label=-1)]


def test_k_per_class_stratified_and_seeded():
    vids = _videos()
    a = labels_per_class(vids, 3, seed=0)
    counts = {label: sum(v.label == label for v in a) for label in range(3)}
    assert counts == {0: 3, 1: 3, 2: 2}  # class 2 has only 2 videos: all kept
    assert all(v.label >= 0 for v in a)
    assert [v.video_id for v in a] == [v.video_id for v in vids if v in a]  # original order kept
    assert labels_per_class(vids, 3, seed=0) == a
    seeds = {tuple(v.video_id for v in labels_per_class(vids, 2, seed=s)) for s in range(8)}
    assert len(seeds) > 1  # other seeds draw other subsets


def test_row_order_does_not_matter():
    vids = _videos()
    assert {v.video_id for v in labels_per_class(vids[::-1], 2, seed=3)} == {
        v.video_id for v in labels_per_class(vids, 2, seed=3)}


def test_bad_budgets():
    with pytest.raises(ValueError, match=">= 1"):
        labels_per_class(_videos(), 0)
    with pytest.raises(ValueError, match="labelled"):
        labels_per_class([VideoMeta("u", "u.mp4", 4, 16.0)], 1)
