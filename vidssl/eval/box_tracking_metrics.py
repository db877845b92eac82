"""Single-object box tracking scores, OTB-style (Wu, Lim, Yang, "Online Object Tracking: A Benchmark", CVPR 2013).

One-pass evaluation: the tracker is initialised with the ground-truth box of the first frame and never reset.
Per frame, overlap = IoU of the predicted and true boxes. The *success rate* at threshold θ is the fraction of
frames with IoU > θ; the success plot sweeps θ over 0, 0.05, …, 1 and its area under the curve (AUC, the mean of
the 21 rates) ranks trackers. Frames where the object is fully hidden (no true box) and the initial frame are not
scored. Boxes are ``(x0, y0, x1, y1)`` in pixels, ``x1, y1`` exclusive (the synthetic corpus's convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OTB_THRESHOLDS", "TrackingScores", "box_iou", "evaluate_tracks", "static_tracker", "success_curve"]

OTB_THRESHOLDS = np.linspace(0.0, 1.0, 21)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``[..., 4]`` pairwise along the leading axes (NaN where either box is NaN)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0) + np.where(np.isnan(a).any(-1) | np.isnan(b).any(-1), np.nan, 0)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = OTB_THRESHOLDS) -> np.ndarray:
    """Fraction of (non-NaN) IoUs strictly above each threshold: ``float64 [K]``."""
    v = np.asarray(ious, np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return np.full(len(thresholds), np.nan)
    return (v[None, :] > np.asarray(thresholds)[:, None]).mean(1)


@dataclass(frozen=True)
class TrackingScores:
    """Scores of one tracker over a set of tracks.

    Attributes:
        mean_iou: mean IoU over all scored frames of all tracks.
        auc: area under the success curve (mean success rate over :data:`OTB_THRESHOLDS`).
        success: ``float64 [21]`` success rate per threshold.
        per_track: track name → ``{"mean_iou", "auc"}``.
        num_frames: frames scored.
    """

    mean_iou: float
    auc: float
    success: np.ndarray
    per_track: dict[str, dict[str, float]] = field(default_factory=dict)
    num_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "mean_iou": self.mean_iou,
            "auc": self.auc,
            "success": [round(float(x), 6) for x in self.success],
            "thresholds": [round(float(x), 3) for x in OTB_THRESHOLDS],
            "num_frames": self.num_frames,
            "per_track": self.per_track,
        }


def evaluate_tracks(predictions: Mapping[str, np.ndarray], ground_truth: Mapping[str, np.ndarray]) -> TrackingScores:
    """Score predicted boxes against ground truth, frames pooled over all tracks (OTB convention).

    Args:
        predictions: track name → ``[T, 4]`` predicted boxes (frame 0 is the initialisation).
        ground_truth: track name → ``[T, 4]`` true boxes, NaN rows where the object is hidden.

    Returns:
        :class:`TrackingScores`.
    """
    pooled, per_track = [], {}
    for name, gt in ground_truth.items():
        pred = np.asarray(predictions[name], np.float64)
        if pred.shape != np.shape(gt):
            raise ValueError(f"{name}: predicted boxes {pred.shape} vs ground truth {np.shape(gt)}")
        iou = box_iou(pred[1:], np.asarray(gt, np.float64)[1:])
        iou = iou[~np.isnan(iou)]
        pooled.append(iou)
        per_track[name] = {
            "mean_iou": float(iou.mean()) if iou.size else float("nan"),
            "auc": float(success_curve(iou).mean()) if iou.size else float("nan"),
        }
    allv = np.concatenate(pooled) if pooled else np.zeros(0)
    curve = success_curve(allv)
    return TrackingScores(
        mean_iou=float(allv.mean()) if allv.size else float("nan"),
        auc=float(curve.mean()),
        success=curve,
        per_track=per_track,
        num_frames=int(allv.size),
    )


def static_tracker(num_frames: int, init_box: Sequence[float]) -> np.ndarray:
    """The trivial baseline: the first box, repeated (``float64 [T, 4]``)."""
    return np.repeat(np.asarray(init_box, np.float64)[None], num_frames, axis=0)
