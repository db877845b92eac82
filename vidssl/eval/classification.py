"""Action-classification evaluation: clip and video accuracy, top-k, per-class accuracy, confusion matrix.

Protocol (PAPERS.md §6.1; torchvision's reference aggregation): each test video gives ``K`` uniformly spaced clips
with a centre crop; *clip accuracy* scores every clip on its own, *video accuracy* averages the K clip logits (or
softmax probabilities) and scores the video. Both are reported, with the number of videos and clips, because papers
mix them up. Under DDP every process scores its shard of the videos (no padding, so nothing is counted twice) and
the per-video results are gathered before the metrics are computed.

Example:
    >>> import numpy as np
    >>> logits = np.array([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 3.0], [0.0, 1.0]]])  # 2 videos x 2 clips x 2 classes
    >>> r = classification_report(logits, np.array([0, 1]))
    >>> r.clip_accuracy, r.video_accuracy
    (0.75, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from vidssl.train.distributed import DistInfo, all_gather_objects
from vidssl.train.loop import to_device
from vidssl.train.precision import Precision
from vidssl.train.run_dir import atomic_write, atomic_write_text

__all__ = [
    "ClassificationReport",
    "aggregate_clips",
    "classification_report",
    "confusion_matrix",
    "per_class_accuracy",
    "plot_confusion_matrix",
    "predict_videos",
    "topk_accuracy",
    "write_predictions",
]


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose true label is among the ``k`` highest scores (ties broken by index)."""
    if len(labels) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``int64 [C, C]``: row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels.astype(np.int64), pred.astype(np.int64)), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (diagonal / row sum); ``nan`` for classes with no examples."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def aggregate_clips(clip_logits: np.ndarray, how: Literal["logits", "softmax"] = "logits") -> np.ndarray:
    """Video scores ``[V, C]`` from clip logits ``[V, K, C]``: mean logits (VCOP) or mean softmax probabilities."""
    if how == "logits":
        return clip_logits.mean(axis=1)
    if how == "softmax":
        z = clip_logits - clip_logits.max(axis=2, keepdims=True)
        p = np.exp(z)
        return (p / p.sum(axis=2, keepdims=True)).mean(axis=1)
    raise ValueError(f"aggregate must be 'logits' or 'softmax', got {how!r}")


@dataclass
class ClassificationReport:
    """Metrics of one evaluation.

    Attributes:
        clip_accuracy: top-1 over every clip.
        clip_topk: top-k over every clip.
        video_accuracy: top-1 of the aggregated video scores.
        video_topk: top-k of the aggregated video scores.
        mean_class_accuracy: mean of the per-class video accuracies (classes present only).
        per_class_accuracy: video accuracy per class (``nan`` when a class has no test video).
        confusion: video-level confusion matrix (rows true, columns predicted).
        k: the k of the top-k values.
        num_videos: videos scored.
        num_clips: clips scored.
    """

    clip_accuracy: float
    clip_topk: float
    video_accuracy: float
    video_topk: float
    mean_class_accuracy: float
    per_class_accuracy: list[float]
    confusion: list[list[int]]
    k: int
    num_videos: int
    num_clips: int

    def summary(self) -> dict[str, float]:
        """The scalar metrics (for logs and progress lines)."""
        return {"video_accuracy": self.video_accuracy, f"video_top{self.k}": self.video_topk,
                "clip_accuracy": self.clip_accuracy, f"clip_top{self.k}": self.clip_topk,
                "mean_class_accuracy": self.mean_class_accuracy}

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``nan`` per-class values become ``None``)."""
        out = asdict(self)
        out["per_class_accuracy"] = [None if np.isnan(v) else v for v in self.per_class_accuracy]
        return out


def classification_report(
    clip_logits: np.ndarray, labels: np.ndarray, *, num_classes: int | None = None, k: int = 5,
    aggregate: Literal["logits", "softmax"] = "logits",
) -> ClassificationReport:
    """Compute every metric from per-clip logits ``[V, K, C]`` and video labels ``[V]``."""
    clip_logits = np.asarray(clip_logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if clip_logits.ndim == 2:
        clip_logits = clip_logits[:, None]
    v, kc, c = clip_logits.shape
    num_classes = num_classes or c
    clips = clip_logits.reshape(v * kc, c)
    clip_labels = np.repeat(labels, kc)
    video = aggregate_clips(clip_logits, aggregate)
    cm = confusion_matrix(video.argmax(axis=1), labels, num_classes)
    per_class = per_class_accuracy(cm)
    present = per_class[~np.isnan(per_class)]
    return ClassificationReport(
        clip_accuracy=topk_accuracy(clips, clip_labels, 1),
        clip_topk=topk_accuracy(clips, clip_labels, k),
        video_accuracy=topk_accuracy(video, labels, 1),
        video_topk=topk_accuracy(video, labels, k),
        mean_class_accuracy=float(present.mean()) if present.size else float("nan"),
        per_class_accuracy=[float(x) for x in per_class],
        confusion=cm.tolist(),
        k=k,
        num_videos=v,
        num_clips=v * kc,
    )


def plot_confusion_matrix(
    confusion: np.ndarray | Sequence[Sequence[int]], class_names: Sequence[str], path: str | Path, *, title: str = ""
) -> Path:
    """Row-normalised confusion matrix with counts as a PNG (matplotlib Agg, written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(cm)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * n + 2), max(3.5, 0.5 * n + 1.5)))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    names = list(class_names) if len(class_names) == n else [str(i) for i in range(n)]
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix (videos)")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)


@torch.no_grad()
def predict_videos(
    task: nn.Module, loader: Any, *, dist_info: DistInfo, precision: Precision | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Clip logits of every video in ``loader``, gathered from all processes.

    Args:
        task: has ``clip_logits(clip) -> [B, K, C]`` (``ActionClassification``); put in eval mode here and restored.
        loader: yields ``{"clip": uint8 [B, K, T, 3, H, W], "label": [B], "video_id": [...]}``.
        dist_info: every rank calls this with its own shard.
        precision: autocast settings (``None``: fp32).

    Returns:
        ``(clip_logits [V, K, C] float32, labels [V], video_ids)`` sorted by video id, each video once (a replacement
        drawn by a skipping dataset for an unreadable video is dropped as a duplicate).
    """
    was_training = task.training
    task.eval()
    rows: list[tuple[str, int, np.ndarray]] = []
    try:
        for batch in loader:
            batch = to_device(batch, dist_info.device)
            ctx = precision.autocast() if precision is not None else torch.autocast("cpu", enabled=False)
            with ctx:
                logits = task.clip_logits(batch["clip"]).float()
            if logits.ndim == 2:
                logits = logits[:, None]
            ids = batch.get("video_id") or [f"#{len(rows) + i}" for i in range(len(logits))]
            for vid, label, lg in zip(ids, batch["label"].tolist(), logits.cpu().numpy()):
                rows.append((str(vid), int(label), lg))
    finally:
        task.train(was_training)
    merged: dict[str, tuple[int, np.ndarray]] = {}
    for part in all_gather_objects(rows):
        for vid, label, lg in part:
            merged.setdefault(vid, (label, lg))
    ids = sorted(merged)
    if not ids:
        raise ValueError("no videos were evaluated (empty split, or every video failed to decode)")
    return np.stack([merged[i][1] for i in ids]), np.array([merged[i][0] for i in ids]), ids


def write_predictions(path: str | Path, ids: Sequence[str], labels: np.ndarray, scores: np.ndarray,
                      class_names: Sequence[str]) -> Path:
    """``video_id,label,prediction,score`` per video (CSV), for error analysis."""
    pred = scores.argmax(axis=1)

    def name(i: int) -> str:
        return class_names[i] if i < len(class_names) else str(i)

    lines = ["video_id,label,prediction,score"]
    lines += [f"{v},{name(int(t))},{name(int(p))},{s[p]:.4f}" for v, t, p, s in zip(ids, labels, pred, scores)]
    return atomic_write_text(path, "\n".join(lines) + "\n")
