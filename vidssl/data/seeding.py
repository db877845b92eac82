"""Per-sample random generators that do not depend on the number of DataLoader workers.

Every random choice a dataset makes for sample ``index`` of epoch ``epoch`` comes from one generator seeded with
``np.random.SeedSequence([seed, epoch, index])`` (plus an attempt counter when a bad file forces a retry). Worker
processes, their number and the order they run in therefore never change what a sample contains: sample 17 of
epoch 3 is the same clip with 0, 1 or 8 workers, on one GPU or many (PEERS.md §3 item 9).
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["sample_rng", "stable_hash"]


def sample_rng(seed: int, epoch: int, index: int, attempt: int = 0) -> np.random.Generator:
    """The generator for one sample.

    Args:
        seed: run seed.
        epoch: epoch number (``set_epoch``).
        index: sample index within the epoch (or a stable per-sample hash for streamed data).
        attempt: retry counter; 0 for the first try, so the common case uses ``[seed, epoch, index]``.

    Returns:
        A fresh ``np.random.Generator`` (PCG64) owned by the caller.
    """
    entropy = [int(seed), int(epoch), int(index)] + ([int(attempt)] if attempt else [])
    if min(entropy) < 0:
        raise ValueError(f"seed, epoch, index and attempt must be >= 0, got {entropy}")
    return np.random.default_rng(np.random.SeedSequence(entropy))


def stable_hash(text: str) -> int:
    """A 32-bit hash of ``text`` that is identical in every process (unlike ``hash()``, which is salted)."""
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF
