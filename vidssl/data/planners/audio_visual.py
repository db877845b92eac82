"""Audio-visual correspondence pairs (L3: Arandjelović & Zisserman, ICCV 2017; AVTS: Korbar et al., NeurIPS 2018).

A visual clip (one frame for L3, a short clip for AVTS) plus ``window_s`` seconds of audio (1 s in both papers):

* ``aligned`` (label 1): the audio window centred on the visual clip, from the same video;
* ``other`` (label 0, "easy" negative, L3): a window of *another* video's audio (the ``other`` meta the dataset
  passes in; its ``AudioWindow.video_id`` names that video);
* ``shifted`` (label 0, "hard" negative, AVTS): the same video's audio shifted by at least ``min_shift_s`` (default
  one window, so the two windows do not overlap; AVTS found overlapping "super-hard" shifts hurt).

Probabilities are ``p_aligned`` and ``p_shifted``; the rest are ``other`` negatives. L3 uses 0.5 / 0 (PAPERS.md
§4.1); AVTS starts with easy negatives and mixes in hard ones later (a task can raise ``p_shifted`` per epoch).
Times are seconds on each video's own pts clock; visual clips are chosen where the centred window lies inside the
audio stream when possible, so positives never straddle a silent boundary that negatives lack (PAPERS.md §4.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidssl.types import AudioWindow, ClipPlan, VideoMeta

__all__ = ["AudioVisualPairs", "audio_span"]

KINDS = ("aligned", "other", "shifted")


def audio_span(meta: VideoMeta) -> tuple[float, float]:
    """``(first, last)`` audio time in seconds on the file clock (the video's span when audio extent is unknown)."""
    lo = meta.audio_start if meta.audio_start is not None else meta.start_time
    if meta.audio_duration:
        return lo, lo + meta.audio_duration
    return lo, meta.start_time + meta.duration


@dataclass(frozen=True)
class AudioVisualPairs:
    """Planner for audio-visual correspondence/synchronisation examples.

    Attributes:
        num_frames: frames in the visual clip (L3: 1).
        stride: frame step inside the clip.
        window_s: audio seconds (1.0).
        p_aligned: probability of a positive.
        p_shifted: probability of a same-video shifted negative; ``1 - p_aligned - p_shifted`` is the probability of
            an other-video negative.
        min_shift_s: smallest shift of hard negatives (default: ``window_s``, no overlap).
        max_shift_s: largest shift (``None``: anywhere in the audio).
    """

    num_frames: int = 1
    stride: int = 1
    window_s: float = 1.0
    p_aligned: float = 0.5
    p_shifted: float = 0.0
    min_shift_s: float | None = None
    max_shift_s: float | None = None

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.p_aligned < 0 or self.p_shifted < 0 or self.p_aligned + self.p_shifted > 1:
            raise ValueError(f"need window_s > 0 and p_aligned, p_shifted >= 0 summing to <= 1, got {self}")

    @property
    def p_other(self) -> float:
        """Probability of an other-video negative."""
        return max(0.0, 1.0 - self.p_aligned - self.p_shifted)

    def _clip_start(self, meta: VideoMeta, rng: np.random.Generator, span: int) -> int:
        lo, hi = audio_span(meta)
        half = self.window_s / 2
        # clip centre = start_time + (s + span / 2) / fps must lie in [lo + half, hi - half]
        s_lo = int(np.ceil((lo + half - meta.start_time) * meta.fps - span / 2 - 1e-9))
        s_hi = int(np.floor((hi - half - meta.start_time) * meta.fps - span / 2 + 1e-9))
        s_lo, s_hi = max(s_lo, 0), min(s_hi, meta.num_frames - span)
        if s_lo > s_hi:  # audio shorter than a window, or offset: any clip, the window gets clamped
            s_lo, s_hi = 0, max(meta.num_frames - span, 0)
        return int(rng.integers(s_lo, s_hi + 1))

    def _shifted(self, start: float, lo: float, hi: float, rng: np.random.Generator) -> float | None:
        min_shift = self.window_s if self.min_shift_s is None else self.min_shift_s
        max_shift = np.inf if self.max_shift_s is None else self.max_shift_s
        top = hi - self.window_s
        left = (max(lo, start - max_shift), start - min_shift)
        right = (start + min_shift, min(top, start + max_shift))
        lengths = np.array([max(0.0, left[1] - left[0]), max(0.0, right[1] - right[0])])
        if lengths.sum() <= 1e-9:
            return None
        side = left if rng.random() * lengths.sum() < lengths[0] else right
        return float(rng.uniform(side[0], side[1]))

    def __call__(self, meta: VideoMeta, rng: np.random.Generator, other: VideoMeta | None = None) -> ClipPlan:
        """Plan one pair.

        Returns:
            Plan with ``indices`` int64 ``[num_frames]``, one ``AudioWindow`` in ``audio``, ``targets`` with
            ``label`` (1 aligned, 0 not) and ``kind`` (index into ``("aligned", "other", "shifted")``), and ``info``
            with ``kind`` and ``offset_s`` (audio start minus aligned start; ``None`` for other-video audio).

        Raises:
            ValueError: an other-video negative was drawn (or a shifted one did not fit) and ``other`` is ``None``.
        """
        span = (self.num_frames - 1) * self.stride + 1
        s = self._clip_start(meta, rng, span)
        idx = np.minimum(s + np.arange(self.num_frames, dtype=np.int64) * self.stride, meta.num_frames - 1)
        lo, hi = audio_span(meta)
        centre = meta.start_time + (s + span / 2) / meta.fps
        aligned = float(np.clip(centre - self.window_s / 2, lo, max(lo, hi - self.window_s)))
        r = rng.random()
        kind = "aligned" if r < self.p_aligned else "shifted" if r < self.p_aligned + self.p_shifted else "other"
        start, offset, vid = aligned, 0.0, None
        if kind == "shifted":
            shifted = self._shifted(aligned, lo, hi, rng)
            if shifted is None:
                kind = "other"  # video too short for a non-overlapping shift
            else:
                start, offset = shifted, shifted - aligned
        if kind == "other":
            if other is None:
                raise ValueError(
                    f"{meta.video_id}: an other-video negative needs the other video's meta "
                    "(build the dataset with uses_other_video=True)"
                )
            o_lo, o_hi = audio_span(other)
            start = float(rng.uniform(o_lo, max(o_lo, o_hi - self.window_s)))
            offset, vid = None, other.video_id
        window = AudioWindow(start, start + self.window_s, vid)
        return ClipPlan(
            meta.video_id,
            idx,
            audio=(window,),
            targets={"label": int(kind == "aligned"), "kind": KINDS.index(kind)},
            info={"kind": kind, "offset_s": offset},
        )
