"""Corpus-level random decisions: stratified train/val/test splits and the audio derangement.

Both are seeded from the corpus seed through their own SeedSequence streams, so they never disturb per-video draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_tools.synth.config import STREAM_AUDIO_SWAP, STREAM_SPLIT, rng_for

__all__ = ["SPLITS", "assign_splits", "derangement", "parse_fractions"]

SPLITS = ("train", "val", "test")


def parse_fractions(text: str) -> tuple[float, float, float]:
    """Parse ``"0.7,0.1,0.2"`` into train/val/test fractions.

    Raises:
        ValueError: not three non-negative numbers summing to 1 (within 1e-6).
    """
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--splits must be three numbers like 0.7,0.1,0.2, got {text!r}") from None
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1.0) > 1e-6:
        raise ValueError(f"--splits needs three non-negative fractions (train,val,test) summing to 1, got {text!r}")
    return parts  # type: ignore[return-value]


def assign_splits(labels: Sequence[int], fractions: Sequence[float], seed: int) -> list[str]:
    """Stratified split: exact per-class quotas, with the rounding leftovers spread to keep the totals right.

    Each class (members in a seeded random order) first gets ``floor(fraction * class size)`` videos per split; the
    few leftover videos (fewer than 3 per class) then go, class after class, to the split furthest below its
    corpus-wide quota. So a 1,000-video corpus splits exactly 70/10/20 in every class, and a 12-video corpus still
    splits about 8/1/3 overall.

    Args:
        labels: class index of each video.
        fractions: train, val, test fractions summing to 1.
        seed: corpus seed.

    Returns:
        split name per video.
    """
    labels = np.asarray(labels)
    fractions = np.asarray(fractions, dtype=np.float64)
    out = [""] * len(labels)
    deficit = np.zeros(len(SPLITS))  # corpus-wide quota minus videos assigned so far, per split
    for cls in np.unique(labels):
        members = rng_for(seed, STREAM_SPLIT, int(cls)).permutation(np.flatnonzero(labels == cls))
        quota = fractions * len(members)
        base = np.floor(quota + 1e-9).astype(int)
        deficit += quota - base
        names = [name for name, count in zip(SPLITS, base) for _ in range(count)]
        while len(names) < len(members):  # leftovers of the rounding
            best = int(np.argmax(deficit))
            names.append(SPLITS[best])
            deficit[best] -= 1.0
        for idx, name in zip(members, names):
            out[int(idx)] = name
    return out


def derangement(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of ``range(n)`` with no fixed point: video i takes the audio of video ``perm[i]``.

    Uniform over derangements (rejection of random permutations; ~e tries on average).

    Raises:
        ValueError: ``n < 2``.
    """
    if n < 2:
        raise ValueError("mismatched audio needs at least 2 videos (each takes another video's audio)")
    rng = rng_for(seed, STREAM_AUDIO_SWAP, 0)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return perm
