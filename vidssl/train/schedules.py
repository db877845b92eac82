"""Per-iteration schedules as precomputed arrays (DINO's ``cosine_scheduler``).

The loop indexes ``lr[step]``: resuming needs only the step counter, and the whole schedule can be plotted or
tested before training starts.

Example:
    >>> lr = cosine_schedule(0.1, 0.0, epochs=10, iters_per_epoch=100, warmup_epochs=1)
    >>> len(lr), round(float(lr[0]), 6), round(float(lr[99]), 6), round(float(lr[100]), 6)
    (1000, 0.001, 0.1, 0.1)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["build_lr_schedule", "constant_schedule", "cosine_schedule", "one_cycle_schedule"]


def _warmup(base: float, iters: int, start: float = 0.0) -> np.ndarray:
    # start + (base - start) * (i + 1) / iters: the first step already moves (no wasted lr=0 step) and the last
    # warmup step reaches the peak.
    return np.linspace(start, base, iters + 1)[1:] if iters > 0 else np.zeros(0)


def cosine_schedule(
    base: float,
    final: float,
    epochs: int,
    iters_per_epoch: int,
    warmup_epochs: float = 0.0,
    warmup_start: float = 0.0,
) -> np.ndarray:
    """Linear warmup from ``warmup_start`` to ``base``, then half a cosine from ``base`` to ``final``.

    Args:
        base: value at the end of warmup (peak).
        final: value at the last iteration.
        epochs: training epochs.
        iters_per_epoch: optimizer steps per epoch.
        warmup_epochs: epochs of linear warmup (fractions allowed).
        warmup_start: value the warmup ramps from (step ``i`` of ``W`` gets ``start + (base - start)(i + 1) / W``).

    Returns:
        ``float64 [epochs * iters_per_epoch]``.
    """
    total = epochs * iters_per_epoch
    if total <= 0:
        raise ValueError(f"schedule needs epochs * iters_per_epoch > 0, got {epochs} x {iters_per_epoch}")
    warm = min(round(warmup_epochs * iters_per_epoch), total)
    rest = total - warm
    t = np.arange(rest) / max(rest - 1, 1)  # 0 .. 1 inclusive, so the last step is exactly `final`
    cos = final + 0.5 * (base - final) * (1 + np.cos(math.pi * t))
    if rest == 1:
        cos = np.array([base])
    return np.concatenate([_warmup(base, warm, warmup_start), cos])


def constant_schedule(value: float, epochs: int, iters_per_epoch: int, warmup_epochs: float = 0.0) -> np.ndarray:
    """``value`` everywhere, after an optional linear warmup from 0."""
    total = epochs * iters_per_epoch
    warm = min(round(warmup_epochs * iters_per_epoch), total)
    return np.concatenate([_warmup(value, warm), np.full(total - warm, float(value))])


def one_cycle_schedule(
    peak: float,
    epochs: int,
    iters_per_epoch: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> np.ndarray:
    """One-cycle policy (Smith 2018; ULMFiT fine-tuning): ramp up to ``peak``, then anneal far below it.

    Cosine up from ``peak / div_factor`` to ``peak`` over ``pct_start`` of training, then cosine down to
    ``peak / div_factor / final_div_factor``.

    Matches ``torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="cos")`` step for step.
    """
    total = epochs * iters_per_epoch
    if total <= 0:
        raise ValueError(f"schedule needs epochs * iters_per_epoch > 0, got {epochs} x {iters_per_epoch}")
    start = peak / div_factor
    end = start / final_div_factor
    up_end = float(pct_start * total) - 1  # OneCycleLR's phase boundary (a step index)
    steps = np.arange(total, dtype=np.float64)

    def anneal(a: float, b: float, pct: np.ndarray) -> np.ndarray:
        return b + (a - b) / 2.0 * (np.cos(math.pi * pct) + 1)

    out = np.empty(total)
    up = steps <= up_end
    out[up] = anneal(start, peak, steps[up] / up_end) if up_end > 0 else peak
    down_len = total - 1 - up_end
    out[~up] = anneal(peak, end, (steps[~up] - up_end) / down_len)
    return out


def build_lr_schedule(
    kind: str,
    *,
    lr: float,
    min_lr: float,
    epochs: int,
    iters_per_epoch: int,
    warmup_epochs: float = 0.0,
    one_cycle_pct: float = 0.3,
    one_cycle_div: float = 25.0,
    one_cycle_final_div: float = 1e4,
) -> np.ndarray:
    """The learning-rate array for ``optim.schedule`` (``cosine``, ``constant`` or ``one_cycle``)."""
    if kind == "cosine":
        return cosine_schedule(lr, min_lr, epochs, iters_per_epoch, warmup_epochs)
    if kind == "constant":
        return constant_schedule(lr, epochs, iters_per_epoch, warmup_epochs)
    if kind == "one_cycle":
        return one_cycle_schedule(lr, epochs, iters_per_epoch, one_cycle_pct, one_cycle_div, one_cycle_final_div)
    raise ValueError(f"unknown schedule {kind!r}; choose cosine, constant or one_cycle")
