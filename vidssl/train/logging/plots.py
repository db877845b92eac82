"""Training curves from ``log.jsonl`` as a PNG (matplotlib, Agg backend: works without a display)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from vidssl.train.run_dir import atomic_write, read_jsonl

__all__ = ["plot_training_curves"]

_SKIP = {"kind", "epoch", "step", "time", "lr", "wd", "clips_per_s", "data_wait", "time_s", "grad_norm"}


def plot_training_curves(log_path: str | Path, out_path: str | Path, keys: Sequence[str] | None = None) -> Path | None:
    """Plot loss (per logging step and per epoch), validation metrics and the learning rate.

    Args:
        log_path: a run's ``log.jsonl``.
        out_path: PNG to write (atomically).
        keys: epoch metrics to plot besides the loss; default: every numeric epoch key.

    Returns:
        The PNG path, or ``None`` when the log has no records yet.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_jsonl(log_path)
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    if not steps and not epochs:
        return None
    if keys is None:
        keys = sorted({k for r in epochs for k, v in r.items() if k not in _SKIP and _is_num(v) and k != "loss"})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    if steps:
        ax.plot([r["step"] for r in steps if "loss" in r], [r["loss"] for r in steps if "loss" in r],
                lw=0.8, alpha=0.6, label="train loss (step)")
    train_ep = [r for r in epochs if _is_num(r.get("loss"))]
    if train_ep:
        ax.plot([r["step"] for r in train_ep], [r["loss"] for r in train_ep], "o-", label="train loss (epoch)")
    for key in (k for k in keys if "loss" in k):
        pts = [(r["step"], r[key]) for r in epochs if _is_num(r.get(key))]
        if pts:
            ax.plot(*zip(*pts), "s--", label=key)
    ax.set(xlabel="step", ylabel="loss", title="loss")
    ax.legend(fontsize=8)
    ax = axes[1]
    for key in (k for k in keys if "loss" not in k):
        pts = [(r["epoch"], r[key]) for r in epochs if _is_num(r.get(key))]
        if pts:
            ax.plot(*zip(*pts), "o-", label=key if "/" in key else f"train {key}")
    ax.set(xlabel="epoch", title="metrics")
    if ax.lines:
        ax.legend(fontsize=8)
    ax = axes[2]
    lr = [(r["step"], r["lr"]) for r in steps if _is_num(r.get("lr"))]
    if lr:
        ax.plot(*zip(*lr))
    ax.set(xlabel="step", ylabel="lr", title="learning rate")
    fig.tight_layout()

    def write(tmp: str) -> None:
        fig.savefig(tmp, dpi=100, format="png")

    try:
        return atomic_write(out_path, write)
    finally:
        plt.close(fig)


def _is_num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
