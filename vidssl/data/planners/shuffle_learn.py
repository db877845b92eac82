"""Shuffle and Learn tuples (Misra, Zitnick, Hebert, ECCV 2016; PAPERS.md §1.1).

Five frames ``a < b < c < d < e`` are drawn from a high-motion window. The example is three of them:

* positive (label 1, "in order"): ``(b, c, d)`` or its reversal ``(d, c, b)``, each half the time;
* negative (label 0, "shuffled"): ``(b, a, d)`` or ``(b, e, d)``: the *same endpoints* ``b, d`` with only the middle
  frame replaced by one outside them, so endpoint statistics cannot solve the task (PAPERS.md §1.3).

Gaps: ``d - b <= tau_max`` (the positive's frames stay related) and ``b - a, e - d`` in ``[tau_min, tau_max]`` (the
out-of-place frame is genuinely elsewhere). The paper's ``tau_max = 60, tau_min = 15`` frames are at ~30 fps; with
``reference_fps=30`` they scale to each video's fps (a 16 fps video uses 32 / 8). ``neg_ratio`` (paper 0.75) is the
probability of a negative. Rejecting ambiguous tuples by pixel similarity (the paper's SSD test) needs pixels, so it
belongs to the task after decoding, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidssl.data.planners.motion import choose_window
from vidssl.types import ClipPlan, VideoMeta

__all__ = ["ShuffleAndLearn"]


@dataclass(frozen=True)
class ShuffleAndLearn:
    """Planner for Shuffle and Learn triplets.

    Attributes:
        tau_max: largest gap ``d - b`` (and ``b - a``, ``e - d``), frames at ``reference_fps``.
        tau_min: smallest gap ``b - a`` and ``e - d``, frames at ``reference_fps``.
        neg_ratio: probability of a negative tuple (paper: 0.75, i.e. 25 % positives).
        reference_fps: fps the taus are given at; ``None`` uses them as frame counts for every video.
        motion_quantile: windows below this motion quantile are never used (see :mod:`.motion`).
        reverse_negatives: also emit negatives reversed (``(d, a, b)``) half the time, so that the direction of the
            endpoints carries no label information. Off by default (the paper's negatives are ``(b, a, d)`` and
            ``(b, e, d)``).

    Example:
        >>> plan = ShuffleAndLearn.tiny()(meta, np.random.default_rng(0))    # doctest: +SKIP
        >>> plan.indices, plan.targets["label"], plan.info["abcde"]          # doctest: +SKIP
        (array([17, 11, 24]), 0, (11, 17, 20, 24, 30))
    """

    tau_max: int = 60
    tau_min: int = 15
    neg_ratio: float = 0.75
    reference_fps: float | None = 30.0
    motion_quantile: float = 0.5
    reverse_negatives: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.neg_ratio <= 1.0:
            raise ValueError(f"neg_ratio must be in [0, 1], got {self.neg_ratio}")
        if self.tau_min < 1 or self.tau_max < max(2, self.tau_min):
            raise ValueError(f"need 1 <= tau_min <= tau_max and tau_max >= 2, got {self.tau_min}, {self.tau_max}")

    @classmethod
    def tiny(cls, **kw: float) -> ShuffleAndLearn:
        """Preset for short clips (48 frames at 16 fps): gaps 3..12 frames, no fps scaling."""
        return cls(**{"tau_max": 12, "tau_min": 3, "reference_fps": None, **kw})

    def gaps_for(self, meta: VideoMeta) -> tuple[int, int]:
        """``(tau_min, tau_max)`` in this video's frames, shrunk to fit short videos.

        Raises:
            ValueError: the video has fewer than 5 frames.
        """
        scale = meta.fps / self.reference_fps if self.reference_fps else 1.0
        tmin = max(1, round(self.tau_min * scale))
        tmax = max(2, round(self.tau_max * scale), tmin)
        if meta.num_frames < 5:
            raise ValueError(f"{meta.video_id}: Shuffle and Learn needs at least 5 frames, got {meta.num_frames}")
        # a..e spans at least 2 * tmin + 2 frames; shrink tmin (then tmax) for short videos rather than fail
        tmin = min(tmin, (meta.num_frames - 3) // 2)
        return tmin, max(tmax, tmin, 2)

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one tuple.

        Returns:
            Plan with ``indices`` int64 ``[3]`` in the order the model sees them, ``targets["label"]`` (1 in order,
            0 shuffled) and ``info`` holding ``abcde`` (the five frames), ``kind`` (``bcd``, ``dcb``, ``bad``,
            ``bed``, or ``dab``/``deb`` when reversed) and ``motion_source``.
        """
        tmin, tmax = self.gaps_for(meta)
        budget = meta.num_frames - 1  # e - a <= budget
        g_bd = int(rng.integers(2, min(tmax, budget - 2 * tmin) + 1))
        rest = budget - g_bd
        g_out1 = int(rng.integers(tmin, min(tmax, rest - tmin) + 1))
        g_out2 = int(rng.integers(tmin, min(tmax, rest - g_out1) + 1))
        # the second outer gap has less room; swap sides at random so neither side is systematically shorter
        g_ab, g_de = (g_out1, g_out2) if rng.random() < 0.5 else (g_out2, g_out1)
        span = g_ab + g_bd + g_de + 1
        a, source = choose_window(meta, rng, span, self.motion_quantile)
        b = a + g_ab
        d = b + g_bd
        e = d + g_de
        c = int(rng.integers(b + 1, d))
        if rng.random() < self.neg_ratio:
            label = 0
            mid, kind = (a, "bad") if rng.random() < 0.5 else (e, "bed")
            triple = [b, mid, d]
            if self.reverse_negatives and rng.random() < 0.5:
                triple, kind = triple[::-1], kind[::-1]
        else:
            label = 1
            triple, kind = ([b, c, d], "bcd") if rng.random() < 0.5 else ([d, c, b], "dcb")
        return ClipPlan(
            meta.video_id,
            np.array(triple, dtype=np.int64),
            targets={"label": label},
            info={"abcde": (a, b, c, d, e), "kind": kind, "motion_source": source},
        )
