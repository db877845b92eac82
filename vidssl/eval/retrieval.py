"""Video retrieval top-k, VCOP protocol (PAPERS.md §6.3).

1. Every video of the query split (test) and the gallery split (train) gives ``K`` uniformly spaced clips, centre
   crop; a clip's feature is the last feature map max-pooled with kernel (1, 2, 2) and flattened (``"vcop"``) or
   globally averaged (``"pool"``); a video's feature is the mean of its clip features.
2. Each query ranks the gallery by cosine similarity.
3. Top-k accuracy = fraction of queries whose ``k`` nearest gallery videos contain *at least one* video of the query's
   class, for k in {1, 5, 10, 20, 50}.

Unlike the reference code (``drop_last=True``), every video is evaluated.

Example:
    >>> import numpy as np
    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]]); g = np.array([[0.9, 0.1], [0.1, 0.9], [1.0, 0.2]])
    >>> retrieval_topk(q, np.array([0, 0]), g, np.array([0, 1, 1]), ks=(1, 2))
    {'top1': 0.5, 'top2': 0.5}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidssl.data.transforms.color import normalize
from vidssl.models import ClipEncoder
from vidssl.train.distributed import DistInfo, all_gather_objects
from vidssl.train.loop import to_device

__all__ = ["FeatureMode", "clip_features", "extract_video_features", "retrieval_topk"]

FeatureMode = Literal["vcop", "pool"]


def retrieval_topk(
    query: np.ndarray, query_labels: np.ndarray, gallery: np.ndarray, gallery_labels: np.ndarray,
    ks: Sequence[int] = (1, 5, 10, 20, 50),
) -> dict[str, float]:
    """Any-of-k retrieval accuracy with cosine similarity.

    Args:
        query: ``[Q, D]`` query features.
        query_labels: ``[Q]`` classes.
        gallery: ``[G, D]`` gallery features.
        gallery_labels: ``[G]`` classes.
        ks: the k values; a k larger than the gallery uses the whole gallery.

    Returns:
        ``{"top1": ..., "top5": ...}`` fractions in [0, 1]. Ties in similarity are broken by gallery order.
    """
    q = torch.as_tensor(np.asarray(query), dtype=torch.float64)
    g = torch.as_tensor(np.asarray(gallery), dtype=torch.float64)
    sim = F.normalize(q, dim=1) @ F.normalize(g, dim=1).T  # [Q, G] cosine similarity
    order = torch.sort(-sim, dim=1, stable=True).indices.numpy()
    hits = np.asarray(gallery_labels)[order] == np.asarray(query_labels)[:, None]  # [Q, G] in rank order
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1), np.iinfo(np.int64).max)
    return {f"top{k}": float(np.mean(first_hit < k)) for k in ks}


def clip_features(encoder: ClipEncoder, clips: torch.Tensor, mode: FeatureMode = "vcop") -> torch.Tensor:
    """Per-clip features ``[N, F]`` from normalised clips ``[N, T, 3, H, W]``.

    ``vcop``: dense map ``[N, D, T', H', W']`` max-pooled over (1, 2, 2) windows and flattened (VCOP's conv5 feature);
    ``pool``: global average, ``[N, D]``.
    """
    dense = encoder.forward_features(clips)
    if mode == "pool":
        return dense.flatten(2).mean(dim=2)
    if mode == "vcop":
        if dense.shape[-1] >= 2 and dense.shape[-2] >= 2:
            dense = F.max_pool3d(dense, kernel_size=(1, 2, 2), stride=(1, 2, 2))
        return dense.flatten(1)
    raise ValueError(f"feature mode must be 'vcop' or 'pool', got {mode!r}")


@torch.no_grad()
def extract_video_features(
    backbone: nn.Module,
    loader: Any,
    *,
    num_frames: int,
    mean: Sequence[float],
    std: Sequence[float],
    mode: FeatureMode,
    dist_info: DistInfo,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Mean clip feature of every video in ``loader``, gathered from every process.

    Args:
        backbone: a registry backbone (2D or 3D); kept in eval mode.
        loader: yields ``{"clip": uint8 [B, K, T, 3, H, W], "label": [B], "video_id": [...]}``.
        num_frames: T.
        mean: normalisation mean.
        std: normalisation std.
        mode: ``vcop`` or ``pool``.
        dist_info: every rank extracts its shard.

    Returns:
        ``(features [V, F] float32, labels [V], video_ids)`` sorted by id, each video once.
    """
    encoder = ClipEncoder(backbone, pooling="mean", num_frames=num_frames).to(dist_info.device).eval()
    rows: list[tuple[str, int, np.ndarray]] = []
    for batch in loader:
        batch = to_device(batch, dist_info.device)
        clip = batch["clip"]  # [B, K, T, 3, H, W]
        b, k = clip.shape[:2]
        feats = clip_features(encoder, normalize(clip.flatten(0, 1), mean, std), mode).float()
        feats = feats.reshape(b, k, -1).mean(dim=1).cpu().numpy()
        for vid, label, f in zip(batch["video_id"], batch["label"].tolist(), feats):
            rows.append((str(vid), int(label), f))
    merged: dict[str, tuple[int, np.ndarray]] = {}
    for part in all_gather_objects(rows):
        for vid, label, f in part:
            merged.setdefault(vid, (label, f))
    ids = sorted(merged)
    if not ids:
        raise ValueError("no videos were read for retrieval (empty split, or every video failed to decode)")
    return np.stack([merged[i][1] for i in ids]), np.array([merged[i][0] for i in ids]), ids
