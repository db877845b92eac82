"""Small label budgets: keep K labelled training videos per class (seeded, stratified).

``data.labels_per_class=K`` simulates having few labels (PAPERS.md §7.2: pretrained should beat scratch at 1-10
labels per class). The choice depends only on the seed and the video ids, not on the manifest's row order, so the
same K videos are picked on every machine and every rank.

Example:
    >>> from vidssl.types import VideoMeta
    >>> vids = [VideoMeta(f"v{i}", f"v{i}.mp4", 48, 16.0, label=i % 3) for i in range(12)]
    >>> sorted(m.label for m in labels_per_class(vids, 2, seed=0))
    [0, 0, 1, 1, 2, 2]
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from vidssl.data.seeding import stable_hash
from vidssl.types import VideoMeta

__all__ = ["labels_per_class"]

log = logging.getLogger(__name__)


def labels_per_class(videos: Sequence[VideoMeta], k: int, seed: int = 0) -> list[VideoMeta]:
    """``k`` videos of every class, drawn without replacement with a generator seeded by ``seed``.

    Args:
        videos: labelled training videos (``label >= 0``; unlabelled ones are dropped).
        k: videos per class; classes with fewer keep all of theirs (with a warning).
        seed: selection seed (the run seed: change it to draw another subset).

    Returns:
        The selected videos, in their original order.

    Raises:
        ValueError: ``k < 1`` or no labelled videos.
    """
    if k < 1:
        raise ValueError(f"labels_per_class must be >= 1, got {k}")
    by_class: dict[int, list[VideoMeta]] = defaultdict(list)
    for v in videos:
        if v.label >= 0:
            by_class[v.label].append(v)
    if not by_class:
        raise ValueError("labels_per_class needs labelled videos (label_index >= 0 in the manifest)")
    keep: set[str] = set()
    for label in sorted(by_class):
        members = sorted(by_class[label], key=lambda m: m.video_id)  # row order must not matter
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(label), stable_hash("labels_per_class")]))
        picked = rng.permutation(len(members))[:k]
        if len(members) < k:
            log.warning("class %d has only %d training videos (< labels_per_class=%d); using all", label,
                        len(members), k)
        keep.update(members[i].video_id for i in picked)
    return [v for v in videos if v.video_id in keep]
