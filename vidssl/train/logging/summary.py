"""One-line messages for the console: per-epoch lines, the schedule preview and the final summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HEADLINE_KEYS", "epoch_line", "fmt", "schedule_preview", "summary_line"]

# Metrics named first in the summary when a section has them.
HEADLINE_KEYS = ("video_accuracy", "clip_accuracy", "accuracy", "balanced_accuracy")


def fmt(v: Any) -> str:
    """Floats with 4 significant digits; anything else as ``str``."""
    return f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else str(v)


def epoch_line(epoch: int, epochs: int, values: Mapping[str, Any]) -> str:
    """``epoch 3/10: loss=... val/...=... clips_per_s=... data_wait=...``."""
    keys = ["loss", *[k for k in values if k.startswith("val/")], "clips_per_s", "data_wait"]
    return f"epoch {epoch}/{epochs}: " + " ".join(f"{k}={fmt(values[k])}" for k in keys if k in values)


def summary_line(path: Path, metrics: Mapping[str, Any]) -> str:
    """The last line of a run: epochs, steps, final loss, headline val/test metrics, throughput, run folder."""
    parts = [f"done: {metrics['epochs']} epochs, {metrics['steps']} steps"]
    train = metrics.get("train", {})
    if "loss" in train:
        parts.append(f"final train loss {fmt(train['loss'])}")
    for section in ("val", "test"):
        values = {k: v for k, v in metrics.get(section, {}).items()
                  if isinstance(v, int | float) and not isinstance(v, bool)}
        keys = [k for k in HEADLINE_KEYS if k in values] or list(values)[:3]
        parts += [f"{section} {k} {fmt(values[k])}" for k in keys]
    timing = metrics.get("timing", {})
    if timing.get("clips_per_s"):
        parts.append(f"{timing['clips_per_s']:.1f} clips/s, data wait {100 * (timing.get('data_wait') or 0):.0f}%")
    return "; ".join(parts) + f" -> {path}"


def schedule_preview(lr: np.ndarray) -> str:
    """First, peak and last learning rate, for logs."""
    return f"lr {lr[0]:.3g} -> peak {lr.max():.3g} -> {lr[-1]:.3g} over {len(lr)} steps"
