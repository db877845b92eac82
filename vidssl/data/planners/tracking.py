"""Tracking pairs for Wang & Gupta's triplet ranking (ICCV 2015; PAPERS.md §2.1).

Wang & Gupta mine a moving patch at frame ``t`` and track it (KCF) for 30 frames; the first and the tracked last patch
form a positive pair, and negatives are patches of *other* videos in the batch. The planner picks ``t`` and
``t + Δ`` (plus, optionally, the frames between so the task can run a tracker through them) and, when the metadata
carries ground-truth boxes (the synthetic corpus), the moving region itself:

* ``meta.extra["boxes"]``: a mapping ``object id -> float32 [num_frames, 4]`` boxes ``(x0, y0, x1, y1)`` in
  pixels, NaN where the object is absent (loaded once per video by the dataset, see
  :func:`vidssl.data.datasets.ground_truth.attach_boxes`). An object visible at both ends whose box centre moved at
  least ``min_box_motion`` pixels is chosen uniformly; the plan's ``regions`` are its boxes on every planned frame.
* no boxes (or ``use_boxes=False``, or nothing moved): ``regions`` is ``None`` and the task chooses the region after
  decoding (e.g. from frame differences); ``t`` then prefers high-motion windows when ``meta.motion`` exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.motion import choose_window
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["TrackingPairs"]


@dataclass(frozen=True)
class TrackingPairs:
    """Planner for (t, t + Δ) pairs on a moving region.

    Attributes:
        min_delta: smallest Δ in frames at ``reference_fps``.
        max_delta: largest Δ (paper: tracks of 30 frames at ~30 fps).
        reference_fps: fps the deltas are given at; ``None`` uses them as frame counts.
        num_between: frames between ``t`` and ``t + Δ`` to include, evenly spaced; ``None`` includes all of them
            (for running a tracker), 0 only the two ends.
        use_boxes: take the region from ``meta.extra["boxes"]`` when present.
        min_box_motion: pixels the box centre must move for an object to count as moving.
        motion_quantile: window choice when no boxes are used (see :mod:`.motion`).
    """

    min_delta: int = 15
    max_delta: int = 30
    reference_fps: float | None = 30.0
    num_between: int | None = 0
    use_boxes: bool = True
    min_box_motion: float = 1.0
    motion_quantile: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.min_delta <= self.max_delta:
            raise ValueError(f"need 1 <= min_delta <= max_delta, got {self.min_delta}, {self.max_delta}")

    @classmethod
    def tiny(cls, **kw: object) -> TrackingPairs:
        """Preset for 48-frame synthetic clips: Δ in 4..12 frames."""
        return cls(**{"min_delta": 4, "max_delta": 12, "reference_fps": None, **kw})

    def deltas_for(self, meta: VideoMeta) -> tuple[int, int]:
        """``(min Δ, max Δ)`` in this video's frames, capped at ``num_frames - 1``."""
        if meta.num_frames < 2:
            raise ValueError(f"{meta.video_id}: tracking pairs need at least 2 frames, got {meta.num_frames}")
        scale = meta.fps / self.reference_fps if self.reference_fps else 1.0
        hi = min(max(1, round(self.max_delta * scale)), meta.num_frames - 1)
        lo = min(max(1, round(self.min_delta * scale)), hi)
        return lo, hi

    def _between(self, t: int, delta: int) -> np.ndarray:
        if self.num_between is None or self.num_between >= delta - 1:
            return np.arange(t, t + delta + 1)
        inner = np.round(np.linspace(t, t + delta, self.num_between + 2)).astype(np.int64)
        return inner

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one pair.

        Returns:
            Plan with ``indices`` int64 ``[2 + between]`` (``t`` first, ``t + Δ`` last), ``regions`` float32
            ``[len(indices), 4]`` or ``None``, ``info`` with ``t``, ``delta``, ``object`` (or ``None``) and
            ``region_source`` (``"boxes"`` or ``"task"``).
        """
        lo, hi = self.deltas_for(meta)
        delta = int(rng.integers(lo, hi + 1))
        boxes = meta.extra.get("boxes") if self.use_boxes else None
        if isinstance(boxes, Mapping) and boxes:
            picked = self._pick_moving(meta, boxes, delta, rng)
            if picked is not None:
                obj, t = picked
                idx = self._between(t, delta)
                regions = np.asarray(boxes[obj], dtype=np.float32)[idx]
                info = {"t": t, "delta": delta, "object": obj, "region_source": "boxes", "motion_source": "boxes"}
                return ClipPlan(meta.video_id, idx, regions=regions, info=info)
        t, source = choose_window(meta, rng, delta + 1, self.motion_quantile)
        info = {"t": t, "delta": delta, "object": None, "region_source": "task", "motion_source": source}
        return ClipPlan(meta.video_id, self._between(t, delta), info=info)

    def _pick_moving(
        self, meta: VideoMeta, boxes: Mapping[str, np.ndarray], delta: int, rng: np.random.Generator
    ) -> tuple[str, int] | None:
        """A uniformly chosen ``(object, t)`` whose box exists at ``t`` and ``t + Δ`` and moved enough."""
        candidates: list[tuple[str, np.ndarray]] = []
        for obj in sorted(boxes):
            b = np.asarray(boxes[obj], dtype=np.float64)[: meta.num_frames]
            if b.shape[0] <= delta:
                continue
            centre = (b[:, :2] + b[:, 2:]) / 2
            move = np.linalg.norm(centre[delta:] - centre[:-delta], axis=1)  # NaN where absent at either end
            ts = np.flatnonzero(np.nan_to_num(move, nan=-1.0) >= self.min_box_motion)
            if ts.size:
                candidates.append((obj, ts))
        if not candidates:
            return None
        sizes = np.array([ts.size for _, ts in candidates], dtype=np.float64)
        k = int(rng.choice(len(candidates), p=sizes / sizes.sum()))  # uniform over (object, t) pairs
        obj, ts = candidates[k]
        return obj, int(ts[rng.integers(0, ts.size)])
