"""The official DAVIS semi-supervised metrics: region similarity J, boundary accuracy F, and J&F.

Re-implemented from the definitions of ``davisvideochallenge/davis2017-evaluation`` (``davis2017/metrics.py``,
``utils.py``, ``evaluation.py``; PAPERS.md §6.4), so scores are comparable with published numbers:

* J = |pred ∩ gt| / |pred ∪ gt| per object and frame; an empty union scores 1.
* F = boundary F-measure. Boundaries are 1-px maps (``_seg2bmap``: a pixel is on the boundary when it differs from
  its east, south or south-east neighbour); each boundary is dilated with a disk of radius
  ``ceil(0.008 · image diagonal)`` px (8 px at 854×480, 1 px at 64×64). Precision = predicted boundary pixels
  within the GT tolerance / predicted boundary pixels; recall likewise for GT. Edge cases: both boundaries empty
  → 1; empty prediction with non-empty GT → 0; non-empty prediction with empty GT → 0.
* The first and last frames of a sequence are not scored. With sparse annotations only annotated frames are
  scored (the official code requires every frame to be annotated; recall would count missing frames as failures).
* Per object: Mean, Recall (fraction of frames > 0.5) and Decay (mean of the first quarter of the scored frames
  minus mean of the last quarter, with the official bin edges).
* Global: means over **all objects** (not sequences); J&F-Mean = (J-Mean + F-Mean) / 2.

Known differences from the official code, both harmless: the decay bin indices are ``int64`` (the official
``uint8`` overflows past 256 frames), and GT value 255 is read as background by the mask reader, as the official
reader does (its ``void_masks`` test therefore never fires).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = [
    "DavisSummary",
    "ObjectScores",
    "boundary_f_measure",
    "boundary_tolerance",
    "evaluate_sequence",
    "region_similarity",
    "seg2bmap",
    "statistics",
    "summarize",
]

BOUND_TH = 0.008  # fraction of the image diagonal (official default)


def region_similarity(gt: np.ndarray, pred: np.ndarray) -> np.ndarray | float:
    """Jaccard index J of binary masks ``[..., H, W]``; an empty union gives 1.

    Returns:
        A float for ``[H, W]`` inputs, else ``float64 [...]``.
    """
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    if gt.shape != pred.shape:
        raise ValueError(f"gt {gt.shape} and prediction {pred.shape} differ in shape")
    inter = np.sum(gt & pred, axis=(-2, -1))
    union = np.sum(gt | pred, axis=(-2, -1))
    j = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(j) if j.ndim == 0 else j


def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """1-px boundary map of a binary mask ``[H, W]`` (official ``_seg2bmap``, same size in and out).

    A pixel is a boundary pixel when it differs from its east, south or south-east neighbour; on the last row
    only the east neighbour counts, on the last column only the south one, and the bottom-right pixel never.
    """
    seg = np.asarray(seg, bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def boundary_tolerance(shape: Sequence[int], bound_th: float = BOUND_TH) -> int:
    """Dilation radius in pixels: ``bound_th`` itself when ≥ 1, else ``ceil(bound_th · ‖(H, W)‖)``."""
    if bound_th >= 1:
        return int(bound_th)
    return math.ceil(bound_th * math.hypot(shape[-2], shape[-1]))


def _disk(radius: int) -> np.ndarray:
    """``skimage.morphology.disk``: pixels with x² + y² ≤ r²."""
    r = np.arange(-radius, radius + 1)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius**2).astype(np.uint8)


def boundary_f_measure(gt: np.ndarray, pred: np.ndarray, bound_th: float = BOUND_TH) -> float:
    """Boundary F-measure of binary masks ``[H, W]`` (official ``f_measure``; edge cases in the module docstring)."""
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    if gt.shape != pred.shape or gt.ndim != 2:
        raise ValueError(f"expected two [H, W] masks of the same shape, got {gt.shape} and {pred.shape}")
    disk = _disk(boundary_tolerance(gt.shape, bound_th))
    fg_b, gt_b = seg2bmap(pred), seg2bmap(gt)
    n_fg, n_gt = int(fg_b.sum()), int(gt_b.sum())
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision 1 / recall 0, or precision 0 / recall 1: F = 0 either way
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), disk).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), disk).astype(bool)
    precision = float(np.sum(fg_b & gt_dil)) / n_fg
    recall = float(np.sum(gt_b & fg_dil)) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def statistics(values: np.ndarray) -> tuple[float, float, float]:
    """Official ``db_statistics``: (mean, recall = fraction > 0.5, decay over 4 bins) of per-frame scores."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.nanmean(v))
    recall = float(np.nanmean(v > 0.5))
    ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(np.int64)
    bins = [v[ids[i] : ids[i + 1] + 1] for i in range(4)]
    decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return mean, recall, decay


@dataclass(frozen=True)
class ObjectScores:
    """Per-frame J and F of one object in one sequence.

    Attributes:
        sequence: sequence name.
        object_id: object id in the annotation.
        frames: scored frame indices ``[N]``.
        j: ``float64 [N]`` region similarity per scored frame.
        f: ``float64 [N]`` boundary F-measure per scored frame.
    """

    sequence: str
    object_id: int
    frames: np.ndarray
    j: np.ndarray
    f: np.ndarray

    def stats(self) -> dict[str, float]:
        """``J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay`` of this object."""
        jm, jr, jd = statistics(self.j)
        fm, fr, fd = statistics(self.f)
        return {"J-Mean": jm, "J-Recall": jr, "J-Decay": jd, "F-Mean": fm, "F-Recall": fr, "F-Decay": fd}


def evaluate_sequence(
    name: str,
    gt: Mapping[int, np.ndarray],
    pred: Mapping[int, np.ndarray] | np.ndarray,
    *,
    num_frames: int,
    object_ids: Iterable[int] | None = None,
    bound_th: float = BOUND_TH,
) -> list[ObjectScores]:
    """Score one sequence's predictions against its annotations.

    Args:
        name: sequence name (recorded in the scores).
        gt: frame index → ``[H, W]`` object ids, for the annotated frames.
        pred: frame index → ``[H, W]`` predicted object ids, or an array ``[num_frames, H, W]``.
        num_frames: frames in the sequence; the first annotated frame (the reference) and frame
            ``num_frames - 1`` are never scored.
        object_ids: objects to score; default: those in the first annotated frame.
        bound_th: boundary tolerance (fraction of the diagonal, or pixels when ≥ 1).

    Returns:
        One :class:`ObjectScores` per object (in id order).

    Raises:
        ValueError: a prediction is missing for a scored frame or has another size than its annotation.
    """
    first = min(gt)  # the reference frame (0 in DAVIS) is given, never scored
    frames = [t for t in sorted(gt) if first < t < num_frames - 1]
    if object_ids is None:
        object_ids = [int(i) for i in np.unique(gt[first]) if i != 0]
    ids = sorted(int(i) for i in object_ids)
    j = np.zeros((len(ids), len(frames)))
    f = np.zeros((len(ids), len(frames)))
    for col, t in enumerate(frames):
        if isinstance(pred, np.ndarray):
            p = pred[t]
        elif t in pred:
            p = pred[t]
        else:
            raise ValueError(f"{name}: no prediction for annotated frame {t}")
        g = gt[t]
        if p.shape != g.shape:
            raise ValueError(f"{name} frame {t}: prediction {p.shape} vs annotation {g.shape}; predict at full size")
        for row, k in enumerate(ids):
            j[row, col] = region_similarity(g == k, p == k)
            f[row, col] = boundary_f_measure(g == k, p == k, bound_th)
    idx = np.asarray(frames, dtype=np.int64)
    return [ObjectScores(name, k, idx, j[row], f[row]) for row, k in enumerate(ids)]


@dataclass(frozen=True)
class DavisSummary:
    """Global DAVIS scores over all objects, plus per-sequence and per-object means.

    Attributes:
        scores: ``J&F-Mean, J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay`` averaged over objects.
        per_sequence: sequence → the same keys averaged over that sequence's objects.
        per_object: ``"<seq>_<id>"`` → ``{"J-Mean", "F-Mean"}``.
        num_objects: objects averaged.
    """

    scores: dict[str, float]
    per_sequence: dict[str, dict[str, float]]
    per_object: dict[str, dict[str, float]]
    num_objects: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "num_objects": self.num_objects,
            "mean": self.scores,
            "per_sequence": self.per_sequence,
            "per_object": self.per_object,
        }


def _mean_stats(objects: Sequence[ObjectScores]) -> dict[str, float]:
    rows = [o.stats() for o in objects]
    keys = ("J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")
    out = {k: float(np.mean([r[k] for r in rows])) if rows else math.nan for k in keys}
    return {"J&F-Mean": (out["J-Mean"] + out["F-Mean"]) / 2, **out}


def summarize(objects: Sequence[ObjectScores]) -> DavisSummary:
    """Average per-object statistics over all objects (official global means) and per sequence."""
    by_seq: dict[str, list[ObjectScores]] = {}
    for o in objects:
        by_seq.setdefault(o.sequence, []).append(o)
    per_object = {}
    for o in objects:
        s = o.stats()
        per_object[f"{o.sequence}_{o.object_id}"] = {"J-Mean": s["J-Mean"], "F-Mean": s["F-Mean"]}
    return DavisSummary(
        scores=_mean_stats(objects),
        per_sequence={name: _mean_stats(objs) for name, objs in by_seq.items()},
        per_object=per_object,
        num_objects=len(objects),
    )
